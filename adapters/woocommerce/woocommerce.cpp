#include "adapters/woocommerce/woocommerce.hpp"

namespace sb::adapters::woocommerce {

adapter_info info() {
  adapter_info i;
  i.type = "woocommerce";
  i.display_name = "WooCommerce";
  i.schema.type = "woocommerce";
  return i;
}

}  // namespace sb::adapters::woocommerce

#include "adapters/instagram/instagram.hpp"

#include "adapters/meta/meta.hpp"

namespace sb::adapters::instagram {

// Verification, handshake and the entry[].messaging[] parser are shared with the other
// Meta platform and live in adapters/meta/.
adapter_info info() {
  return meta::page_info("instagram", [](const config::channel_config& cfg) {
    return meta::make_page_adapter(cfg, "instagram", "instagram");
  });
}

}  // namespace sb::adapters::instagram

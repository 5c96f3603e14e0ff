#include "adapters/email/email.hpp"

namespace sb::adapters::email {

adapter_info info() {
  adapter_info i;
  i.type = "email";
  i.display_name = "E-mail";
  i.schema.type = "email";
  return i;
}

}  // namespace sb::adapters::email

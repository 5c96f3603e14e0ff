#include "adapters/messenger/messenger.hpp"

#include "adapters/meta/meta.hpp"

namespace sb::adapters::messenger {

// Verification, handshake and the entry[].messaging[] parser are shared with the other
// Meta platform and live in adapters/meta/.
adapter_info info() {
  return meta::page_info("messenger", [](const config::channel_config& cfg) {
    return meta::make_page_adapter(cfg, "messenger", "page");
  });
}

}  // namespace sb::adapters::messenger

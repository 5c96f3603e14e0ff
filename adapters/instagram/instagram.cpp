#include "adapters/instagram/instagram.hpp"

#include <memory>

#include "adapters/meta/meta.hpp"
#include "adapters/meta/outbound.hpp"

namespace sb::adapters::instagram {

// Verification, handshake, signing, the data-deletion callback and the entry[].messaging[]
// parser are shared with the other Meta platforms and live in adapters/meta/.
adapter_info info() {
  adapter_info i = meta::page_info("instagram", "Instagram", [](const config::channel_config& cfg) {
    return meta::make_page_adapter(cfg, "instagram", "instagram");
  });
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<meta::page_sender>(cfg, meta::page_sender::page_window("Instagram"),
                                               true);
  };
  i.synthesize = [](const synthetic_spec& spec) {
    return meta::synthesize_page(spec, "instagram");
  };
  return i;
}

}  // namespace sb::adapters::instagram

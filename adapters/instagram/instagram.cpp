#include "adapters/instagram/instagram.hpp"

#include "adapters/meta/meta.hpp"

namespace sb::adapters::instagram {

// Verification, handshake and the entry[].messaging[] parser are shared with the other
// Meta platform and live in adapters/meta/.
adapter_info info() {
  adapter_info i;
  i.type = "instagram";
  i.schema = meta::page_schema("instagram");
  i.headers = {meta::k_signature_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return meta::make_page_adapter(cfg, "instagram", "instagram");
  };
  i.account = [](const config::channel_config& cfg) { return cfg.get("page_id"); };
  return i;
}

}  // namespace sb::adapters::instagram

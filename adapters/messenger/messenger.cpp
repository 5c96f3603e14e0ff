#include "adapters/messenger/messenger.hpp"

#include <charconv>
#include <memory>

#include "adapters/meta/meta.hpp"
#include "adapters/meta/outbound.hpp"

namespace sb::adapters::messenger {

std::optional<std::int64_t> receipt_watermark(const event& e) {
  if (!e.status) {
    return std::nullopt;
  }
  const std::string& key = e.dedupe_key;
  if (key.rfind("read:", 0) == 0 || key.rfind("dlv:", 0) == 0) {
    std::int64_t ms = 0;
    const char* first = key.data() + key.rfind(':') + 1;
    const char* last = key.data() + key.size();
    auto [end, ec] = std::from_chars(first, last, ms);
    if (ec == std::errc{} && end == last && ms > 0) {
      return ms;
    }
  }
  // No watermark recorded: a receipt that names no message covers what was sent before it.
  if (e.status->message_id.empty() && !e.occurred_at.empty()) {
    return e.occurred_at.unix_ms;
  }
  return std::nullopt;
}

// Verification, handshake, signing, the data-deletion callback and the entry[].messaging[]
// parser are shared with the other Meta platforms and live in adapters/meta/.
adapter_info info() {
  adapter_info i = meta::page_info("messenger", "Messenger", [](const config::channel_config& cfg) {
    return meta::make_page_adapter(cfg, "messenger", "page");
  });
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<meta::page_sender>(cfg, meta::page_sender::page_window("Messenger"),
                                               false);
  };
  i.receipt_watermark = receipt_watermark;
  i.synthesize = [](const synthetic_spec& spec) { return meta::synthesize_page(spec, "page"); };
  return i;
}

}  // namespace sb::adapters::messenger

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"

/// Web chat sends (docs/outbound.md "Web chat"): the gateway is the platform, so an agent's
/// reply accepted by `POST /v1/messages` is delivered by storing it as a `message` event of the
/// visitor's conversation (`local_delivery`), which the visitor's stream then carries to the
/// widget. No API call, no secret, no conversation window. Reached through `webchat::info()`.
namespace sb::adapters::webchat {

/// A web chat channel's sending side: its name, title and text limit, read once.
class sender final : public outbound_channel {
 public:
  explicit sender(const config::channel_config& cfg);

  /// `to` a visitor id ("vis_" + 26 Crockford base-32 characters), `text` 1 to the channel's
  /// `max_message_bytes` bytes (default 4096); no media and no `reply_to` (the widget shows
  /// text only).
  status check(const outbound_message& m) const override;
  /// Never an API call: `errc::bad_request` when `m` does not pass `check`, else
  /// `errc::unavailable` saying that the message is delivered by `local_delivery`.
  result<platform_request> encode(const outbound_message& m) const override;
  /// The agent's `message` event of the conversation "<channel>:<to>": `peer` and
  /// `subject_source` the visitor, `sender` the channel (its name and `title`), `content.text`,
  /// `content.echo` true (the business's own message, as Messenger echoes it); `id`
  /// "evt_" + the ULID of `outbound_id` and `platform_event_id` the same, `dedupe_key`
  /// "out:<outbound_id>". nullopt when `m` does not pass `check`.
  std::optional<event> local_delivery(const outbound_message& m,
                                      std::string_view outbound_id) const override;
  /// The store's outcome as the sender reports it (adapters/outbound.hpp `local_delivery`):
  /// a 2xx → sent, `platform_message_id` the body's "id" (the stored event's id); 503, 0 or any
  /// other status → as `classify_status` says (transient: retried), with the body's message as
  /// `error_title`.
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;

  /// No conversation window: the gateway is the platform.
  static window_policy type_window();

  /// The event id `local_delivery` gives the message accepted as `outbound_id`.
  static std::string event_id_of(std::string_view outbound_id);

 private:
  std::string title_;
  std::size_t max_text_;
};

/// 100 messages a second per channel (burst 100), not configurable; no per-visitor limit.
rate_limits default_limits();

}  // namespace sb::adapters::webchat

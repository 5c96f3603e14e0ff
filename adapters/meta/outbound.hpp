#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"

/// Outbound pieces the Meta platforms share: the Graph API error envelope, and the Messenger /
/// Instagram Send API (`POST {api_base}/me/messages`, `Authorization: Bearer {access_token}`).
/// Only the Meta adapters include this header.
namespace sb::adapters::meta {

/// Graph API's error envelope: `{"error":{"message","type","code","error_subcode",
/// "error_data":{"details"},"fbtrace_id"}}`.
struct graph_error {
  std::int64_t code = 0;
  std::int64_t subcode = 0;
  std::string message;
  std::string details;  ///< error_data.details (WhatsApp), "" when absent

  /// "message: details", or whichever is there.
  std::string title() const;
};

/// The `error` member of a parsed Graph API answer; nullopt when there is none.
std::optional<graph_error> read_graph_error(simdjson::dom::element root);

/// Parses a platform answer body (need not be padded); nullopt when it is not JSON.
std::optional<simdjson::dom::element> parse_answer(simdjson::dom::parser& parser,
                                                   std::string_view body);

/// A Messenger or Instagram channel's sending side: its access token and API base, read once;
/// `human_agent_tag` from the common settings.
class page_sender final : public outbound_channel {
 public:
  /// `instagram_rules`: Instagram's limits (1000-byte text, no documents, HUMAN_AGENT the only
  /// tag) instead of Messenger's.
  page_sender(const config::channel_config& cfg, window_policy window, bool instagram_rules);

  status check(const outbound_message& m) const override;
  /// messaging_type RESPONSE when the message has none.
  void apply_defaults(outbound_message& m) const override;
  result<platform_request> encode(const outbound_message& m) const override;
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;

  /// The Send API's window: 24 h, Meta's message tags outside it, HUMAN_AGENT up to 7 days.
  static window_policy page_window(std::string platform);

 private:
  bool instagram_;
  std::string access_token_;
  std::string api_base_;
};

/// Send API: 300 calls/s per Page or Instagram account for text (10/s for audio and video, left
/// to the platform's rate-limit answers); no documented per-recipient rate: 0 = none.
rate_limits page_default_limits();

}  // namespace sb::adapters::meta

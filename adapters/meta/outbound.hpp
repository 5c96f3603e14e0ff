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

/// Messenger and Instagram (`cfg.type` tells which).
status check_page(const config::channel_config& cfg, const outbound_message& m);
result<platform_request> encode_page(const config::channel_config& cfg, const outbound_message& m);
send_result interpret_page(const config::channel_config& cfg, int http_status,
                           std::string_view body, std::optional<std::string_view> retry_after);

/// Send API: 300 calls/s per Page or Instagram account for text (10/s for audio and video, left
/// to the platform's rate-limit answers); no documented per-recipient rate: 0 = none.
rate_limits page_default_limits();

}  // namespace sb::adapters::meta

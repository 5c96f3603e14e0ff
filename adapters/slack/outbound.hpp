#pragma once

#include <string>

#include "adapters/adapter.hpp"

/// Slack Web API sends: `POST {api_base}/chat.postMessage` with `Authorization: Bearer
/// <bot_token>` and a JSON body {"channel", "text", "thread_ts"} (docs/outbound.md). Text only:
/// files need the files.upload v2 flow (three calls), which this channel does not make. The token
/// is in the Authorization header only. Reached through `slack::info()`.
namespace sb::adapters::slack {

/// A Slack channel's sending side: its bot token and API base, read once.
class sender final : public outbound_channel {
 public:
  explicit sender(const config::channel_config& cfg);

  /// `to` a conversation or user id (C…, D…, G…, U…, W…), text 1-40000 characters, `thread` a
  /// message ts; no media, no `reply_to` (Slack replies are thread posts: use `thread`).
  status check(const outbound_message& m) const override;
  result<platform_request> encode(const outbound_message& m) const override;
  /// HTTP 429 and the `ratelimited` error → rate_limited (per recipient); {"ok":true} → sent
  /// with the message's `ts`; {"ok":false,"error":…}: internal_error, fatal_error,
  /// service_unavailable, request_timeout → transient, every other error → permanent, with
  /// `error_code` = Slack's error string.
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;

  /// No conversation window on Slack.
  static window_policy type_window();

 private:
  std::string bot_token_;
  std::string api_base_;
};

/// Slack allows about one message per second per conversation (short bursts tolerated) and far
/// more per workspace.
rate_limits default_limits();

}  // namespace sb::adapters::slack

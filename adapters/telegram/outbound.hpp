#pragma once

#include <string>

#include "adapters/adapter.hpp"

/// Telegram Bot API sends: `POST {api_base}/bot{bot_token}/sendMessage` (sendPhoto, sendVideo,
/// sendAudio, sendDocument, sendSticker for media) with a JSON body (docs/outbound.md). The bot
/// token is part of the URL: the URL is a secret. Reached through `telegram::info()`.
namespace sb::adapters::telegram {

/// A Telegram channel's sending side: its bot token and API base, read once.
class sender final : public outbound_channel {
 public:
  explicit sender(const config::channel_config& cfg);

  status check(const outbound_message& m) const override;
  result<platform_request> encode(const outbound_message& m) const override;
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;
  /// A negative chat id: a group, supergroup or channel.
  bool is_group_recipient(std::string_view to) const override;

  /// No conversation window on Telegram.
  static window_policy type_window();

 private:
  std::string bot_token_;
  std::string api_base_;
};

/// Bot API FAQ: about 30 messages/s per bot, 1 message/s per chat, 20 messages/min per group.
rate_limits default_limits();

}  // namespace sb::adapters::telegram

#pragma once

#include "adapters/adapter.hpp"

/// Telegram Bot API sends: `POST {api_base}/bot{bot_token}/sendMessage` (sendPhoto, sendVideo,
/// sendAudio, sendDocument, sendSticker for media) with a JSON body (docs/outbound.md). The bot
/// token is part of the URL: the URL is a secret. Reached through `telegram::info()`.
namespace sb::adapters::telegram {

status check(const config::channel_config& cfg, const outbound_message& m);
result<platform_request> encode(const config::channel_config& cfg, const outbound_message& m);
send_result interpret(const config::channel_config& cfg, int http_status, std::string_view body,
                      std::optional<std::string_view> retry_after);

/// Bot API FAQ: about 30 messages/s per bot, 1 message/s per chat, 20 messages/min per group.
rate_limits default_limits();

}  // namespace sb::adapters::telegram

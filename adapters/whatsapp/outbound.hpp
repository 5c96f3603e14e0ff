#pragma once

#include <string>

#include "adapters/adapter.hpp"

/// WhatsApp Cloud API sends: `POST {api_base}/{phone_number_id}/messages` with
/// `Authorization: Bearer {access_token}` (docs/outbound.md "Per platform"). Reached through
/// `whatsapp::info()`; the contracts are those of `outbound_channel`.
namespace sb::adapters::whatsapp {

/// A WhatsApp channel's sending side: its access token, phone number id and API base, read once.
class sender final : public outbound_channel {
 public:
  explicit sender(const config::channel_config& cfg);

  status check(const outbound_message& m) const override;
  result<platform_request> encode(const outbound_message& m) const override;
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;

  /// Free-form messages within 24 h of the person's last message; templates at any time.
  static window_policy type_window();

 private:
  std::string access_token_;
  std::string phone_number_id_;
  std::string api_base_;
};

/// 80 messages/s per business phone number (Cloud API default throughput); per recipient 10 per
/// minute (1 per 6 s) with bursts up to 45 (the pair rate limit behind error 131056).
rate_limits default_limits();

}  // namespace sb::adapters::whatsapp

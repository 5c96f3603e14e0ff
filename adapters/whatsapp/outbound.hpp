#pragma once

#include "adapters/adapter.hpp"

/// WhatsApp Cloud API sends: `POST {api_base}/{phone_number_id}/messages` with
/// `Authorization: Bearer {access_token}` (docs/outbound.md "Per platform"). Reached through
/// `whatsapp::info()`; the contracts are those of `adapter_info::check`, `encode`, `interpret`.
namespace sb::adapters::whatsapp {

status check(const config::channel_config& cfg, const outbound_message& m);
result<platform_request> encode(const config::channel_config& cfg, const outbound_message& m);
send_result interpret(const config::channel_config& cfg, int http_status, std::string_view body,
                      std::optional<std::string_view> retry_after);

/// 80 messages/s per business phone number (Cloud API default throughput); per recipient 10 per
/// minute (1 per 6 s) with bursts up to 45 (the pair rate limit behind error 131056).
rate_limits default_limits();

}  // namespace sb::adapters::whatsapp

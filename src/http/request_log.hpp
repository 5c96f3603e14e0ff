#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/log.hpp"

/// What the gateway logs about a request (docs/operations.md, "Logs"): its `X-Request-Id`, which
/// its response echoes (a client's or a proxy's id is kept when it is safe to log and to send
/// back; otherwise the gateway makes one), and the access log's line. Plain code: the unit tests
/// call it.
namespace sb::http {

/// The longest client id kept.
constexpr std::size_t k_max_request_id = 128;

/// Whether a client's `X-Request-Id` value is kept: 1 to 128 visible ASCII characters
/// (0x21..0x7e: no space, no control character, no byte >= 0x80), so it is one token in a text
/// log line and a valid header value as it is.
inline bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > k_max_request_id) {
    return false;
  }
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

/// A new id, unique within the process and (by its random prefix) across restarts and replicas:
/// "<16 hex digits chosen once per process>-<decimal counter>". Thread-safe; no system call
/// after the first (one relaxed atomic add).
inline std::string new_request_id() {
  static const std::string prefix = [] {
    std::uint8_t bytes[8];
    crypto::random_bytes(bytes, sizeof bytes);
    return crypto::to_hex(bytes, sizeof bytes);
  }();
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  std::string id;
  id.reserve(prefix.size() + 21);
  id.append(prefix).push_back('-');
  id.append(std::to_string(n));
  return id;
}

/// The id of a request whose `X-Request-Id` header is `client_value` ("" when absent): that
/// value when `valid_request_id`, else a `new_request_id`.
inline std::string request_id_for(std::string_view client_value) {
  return valid_request_id(client_value) ? std::string(client_value) : new_request_id();
}

/// One finished request as the access log (`log.access`) records it. Views, valid for the call.
struct access_entry {
  std::string_view request_id;
  std::string_view method;
  std::string_view route;  ///< the handler list's pattern, "unmatched": never the raw path
  int status = 0;
  std::int64_t duration_us = 0;  ///< from its first header byte read to its response written
  std::string_view tenant;       ///< "" until the request named a configured tenant (path, token)
  std::string_view channel;      ///< "" unless the route is a channel's (webhooks, visitors)
  std::string_view remote;       ///< the TCP peer's address
};

/// Writes `e` as one info line of component "http", message "request", with the fields
/// request_id, method, route, status, duration_us, tenant, channel, remote (in that order).
inline void log_access(const access_entry& e) {
  log::record(log::level::info, "http", "request",
              {{"request_id", e.request_id},
               {"method", e.method},
               {"route", e.route},
               {"status", e.status},
               {"duration_us", e.duration_us},
               {"tenant", e.tenant},
               {"channel", e.channel},
               {"remote", e.remote}});
}

}  // namespace sb::http

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

/// Request routing and parameter parsing for the HTTP layer, as plain functions (no Beast) so
/// that they are unit-tested without sockets. The session only moves bytes and calls these.
namespace sb::http {

enum class route_kind {
  none,     ///< no route: see `route::err` (404 not_found or 405 method_not_allowed)
  webhook,  ///< POST|GET /webhooks/{tenant}/{channel}
  events,   ///< GET /v1/events
  stream,   ///< GET /v1/stream
  healthz,  ///< GET /healthz
  readyz,   ///< GET /readyz
};

struct route {
  route_kind kind = route_kind::none;
  std::string tenant;      ///< webhook: the percent-decoded path segment
  std::string channel;     ///< webhook: the percent-decoded path segment
  std::string_view query;  ///< raw query string without '?', a view into the target
  error err;               ///< when `kind == none`
  std::string_view allow;  ///< the Allow header of a 405
};

/// Matches a method and request-target (origin form, or absolute form whose scheme and
/// authority are ignored) to a route. Unknown paths give 404 `not_found`; a known path with
/// another method gives 405 `method_not_allowed` and `allow`.
route match_route(std::string_view method, std::string_view target);

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 1000;

/// Parameters of `GET /v1/events` and `GET /v1/stream`.
struct stream_params {
  std::uint64_t after = 0;            ///< deliver events with seq > after
  std::size_t limit = default_limit;  ///< events only; above `max_limit` is clamped to it
  std::vector<std::string> types;     ///< empty = every type
  std::string tenant;                 ///< `?tenant=`, empty when absent
};

/// `after`, `limit`, `types`, `tenant` from a raw query string. A malformed number or escape is
/// `errc::bad_request` with a message naming the parameter.
result<stream_params> parse_events_params(std::string_view query);

/// As `parse_events_params` without `limit`; a non-empty `last_event_id` (the header an
/// EventSource sends when it reconnects) takes precedence over `?after=`.
result<stream_params> parse_stream_params(std::string_view query, std::string_view last_event_id);

/// Tenants and channels of a config, indexed for the I/O threads. Holds pointers into `cfg`:
/// the config must outlive the directory. Immutable; safe from any thread.
class channel_directory {
 public:
  explicit channel_directory(const config::config& cfg);

  /// The channel, or `errc::unknown_tenant` / `errc::unknown_channel`.
  result<const config::channel_config*> find(const std::string& tenant,
                                             const std::string& channel) const;

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, const config::channel_config*>>
      tenants_;
};

}  // namespace sb::http

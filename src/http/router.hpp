#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "http/auth.hpp"
#include "http/auth_failures.hpp"

/// Request routing and parameter parsing for the HTTP layer, as plain functions (no Beast) so
/// that they are unit-tested without sockets. The session only moves bytes and calls these.
namespace sb::http {

enum class route_kind {
  none,          ///< no route: see `route::err` (404 not_found or 405 method_not_allowed)
  webhook,       ///< POST|GET /webhooks/{tenant}/{channel}
  events,        ///< GET /v1/events
  stream,        ///< GET /v1/stream
  healthz,       ///< GET /healthz
  readyz,        ///< GET /readyz
  dead_letters,  ///< GET /v1/subscribers/{name}/dead-letters
  redrive,       ///< POST /v1/subscribers/{name}/redrive
  metrics,       ///< GET /metrics (no authentication; see docs/operations.md)
  api,           ///< one of `api_routes()`: handed to the gateway as an `actors::api_call`
};

/// An API route the gateway dispatches by name. The HTTP layer only authenticates (when `scope`
/// is set) and forwards; what the call does lives with the actors.
struct api_route {
  std::string_view method;
  /// Path template; "{}" matches one non-empty, percent-decoded segment.
  std::string_view path;
  std::string_view op;      ///< `actors::api_call::op`
  std::string_view metric;  ///< the route label of metrics, e.g. "/v1/subjects/{subject}"
  /// The scope the token needs (a `config::scope` bit); 0 = no token: the route is a platform
  /// callback or a public status page and its handler checks what applies.
  unsigned scope = 0;
};

/// Every API route, in match order. The one place these paths are written.
const std::vector<api_route>& api_routes();

/// The route's template for metric labels: "/webhooks/{tenant}/{channel}", "/v1/events", ..;
/// "unmatched" for `none`. Never request text.
std::string_view route_template(route_kind k) noexcept;

/// Counts one answered request in `switchboard_http_requests_total{route,status}`. Thread-safe;
/// after the first request of a (route, status) pair it is one relaxed atomic add. `api` is the
/// matched API route of a `route_kind::api` request (its `metric` is the label).
void count_request(route_kind k, int status, const api_route* api = nullptr);

struct route {
  route_kind kind = route_kind::none;
  std::string tenant;      ///< webhook: the percent-decoded path segment
  std::string channel;     ///< webhook: the percent-decoded path segment
  std::string subscriber;  ///< dead_letters, redrive: the percent-decoded {name}
  std::string_view query;  ///< raw query string without '?', a view into the target
  error err;               ///< when `kind == none`
  std::string_view allow;  ///< the Allow header of a 405
  const api_route* api = nullptr;   ///< `kind == api`: the matched route
  std::vector<std::string> params;  ///< `kind == api`: decoded path parameters
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

/// Parameters of `GET /v1/subscribers/{name}/dead-letters`.
struct dead_letter_params {
  std::uint64_t after = 0;            ///< letters with id > after
  std::size_t limit = default_limit;  ///< 1..max_limit; above `max_limit` is clamped to it
  std::string tenant;                 ///< `?tenant=`, empty when absent
};

/// `after`, `limit`, `tenant` from a raw query string; malformed values are `errc::bad_request`.
result<dead_letter_params> parse_dead_letter_params(std::string_view query);

/// The body of `POST /v1/subscribers/{name}/redrive`: `{"all":true}` or `{"ids":[1,2]}`.
struct redrive_body {
  bool all = false;
  std::vector<std::uint64_t> ids;  ///< when not `all`: 1..max_limit positive ids
};

/// Parses a redrive body strictly: a JSON object with exactly one of `all` (true) or `ids` (a
/// non-empty array of at most `max_limit` positive integers); anything else, unknown members
/// included, is `errc::bad_request` with a message saying what is expected.
result<redrive_body> parse_redrive_body(std::string_view body);

/// Who may call the dead-letter API of push subscriber `subscriber` (docs/operations.md): a
/// token of the tenant with the `admin` scope, or that subscriber's own token with `stream` (a
/// backend may inspect and redrive what was meant for it, and nothing else). Errors as
/// `token_index::authenticate`: 401 `unauthorized` without a valid token, 403 `forbidden` for
/// another tenant (`requested_tenant`, when given) or a token with neither right.
result<const principal*> authorize_subscriber_call(const token_index& tokens,
                                                   std::string_view authorization,
                                                   std::string_view requested_tenant,
                                                   std::string_view subscriber);

/// One configured channel as the HTTP edge sees it.
struct channel_entry {
  const config::channel_config* cfg = nullptr;
  /// The channel type's entry of adapters/registry.cpp; nullptr when the type has none.
  const adapters::adapter_info* info = nullptr;
  /// The channel's adapter, built once at server start and used only through its const members
  /// (`verify`, `handshake`), from every I/O thread at once (adapters/adapter.hpp says why that
  /// is safe). nullptr when the channel's type has no adapter.
  std::unique_ptr<const adapters::adapter> verifier;
  /// Failed verifications of this channel from all sources (`limits.auth_failures_per_channel`);
  /// nullptr when that budget is off (rps 0).
  std::unique_ptr<shared_bucket> failures;
};

/// The one answer for a webhook, handshake or data-deletion call to a tenant or channel that is
/// not configured: the same code and message for both, so that names cannot be enumerated.
error unknown_endpoint();

/// Tenants and channels of a config, indexed for the I/O threads. Holds pointers into `cfg`:
/// the config must outlive the directory. Immutable after construction (but for the channels'
/// failure buckets, which lock); safe from any thread.
class channel_directory {
 public:
  explicit channel_directory(const config::config& cfg);

  /// The channel, or `unknown_endpoint()` when the tenant or the channel is not configured.
  result<const channel_entry*> find(const std::string& tenant, const std::string& channel) const;

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, channel_entry>> tenants_;
};

}  // namespace sb::http

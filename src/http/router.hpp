#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "http/auth.hpp"
#include "http/auth_failures.hpp"
#include "http/routes.hpp"

/// Parameters and credentials of the routes (src/http/routes.hpp) and the channels of the
/// webhook routes, as plain functions (no Beast) so that they are unit-tested without sockets.
/// The session only moves bytes and calls these.
namespace sb::http {

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

/// The credentials check of a route, as its entry in the handler list says (`route_def::who`):
/// - `access::token`: `tokens.authenticate` with the route's `scope` and `requested_tenant`;
/// - `access::subscriber`: `authorize_subscriber_call` for `subscriber` (the path's {name});
/// - `access::metrics`: `metrics.check`;
/// - `access::open`, `access::platform`: nothing here (a platform's signature is checked with the
///   channel's adapter, src/http/platform_gate.hpp).
/// Passing yields the token's principal, or nullptr for a route without a token. Errors as
/// `token_index::authenticate`: 401 `unauthorized`, 403 `forbidden`.
result<const principal*> authorize_route(const route_def& def, const token_index& tokens,
                                         const metrics_access& metrics,
                                         std::string_view authorization,
                                         std::string_view requested_tenant,
                                         std::string_view subscriber);

/// One configured channel as the HTTP edge sees it. Its own: a reload that leaves the channel as
/// it was hands the same entry to the next directory (`channel_directory`'s `previous`).
struct channel_entry {
  /// A copy of the channel's config, so the entry outlives the config it was built from.
  std::shared_ptr<const config::channel_config> cfg;
  /// The channel type's entry of adapters/registry.cpp; nullptr when the type has none.
  const adapters::adapter_info* info = nullptr;
  /// The channel's adapter, built once at server start and used only through its const members
  /// (`verify`, `handshake`), from every I/O thread at once (adapters/adapter.hpp says why that
  /// is safe). nullptr when the channel's type has no adapter.
  std::unique_ptr<const adapters::adapter> verifier;
  /// Secret rotation (config/config.hpp `with_previous_secrets`): the channel's config with each
  /// secret `K` replaced by its `K_previous`, and an adapter built from it, tried only when
  /// `verifier` refuses a signature or token. Empty / nullptr when no `K_previous` is set.
  std::optional<config::channel_config> previous_cfg;
  std::unique_ptr<const adapters::adapter> previous_verifier;
  /// `switchboard_webhook_previous_secret_total` of this channel.
  metrics::counter* previous_matched = nullptr;
  /// `switchboard_webhook_rejections_total` of this channel (core/metrics.hpp).
  const metrics::catalog::webhook_rejection_set* rejections = nullptr;
  /// Failed verifications of this channel from all sources (`limits.auth_failures_per_channel`);
  /// nullptr when that budget is off (rps 0).
  std::unique_ptr<shared_bucket> failures;
};

/// The one answer for a webhook, handshake or data-deletion call to a tenant or channel that is
/// not configured: the same code and message for both, so that names cannot be enumerated.
error unknown_endpoint();

/// Tenants and channels of a config, indexed for the I/O threads. Immutable after construction
/// (but for the channels' failure buckets, which lock); safe from any thread.
class channel_directory {
 public:
  /// `previous`: the directory this one replaces (a reload), or null. A channel whose type and
  /// settings are as they were there (and `limits.auth_failures_per_channel` too) keeps its
  /// entry: its verifiers, metric series and failure budget. A change to one tenant of 10,000
  /// builds that tenant's verifiers, not 30,000.
  explicit channel_directory(const config::config& cfg,
                             const channel_directory* previous = nullptr);

  /// The channel, or `unknown_endpoint()` when the tenant or the channel is not configured.
  result<const channel_entry*> find(const std::string& tenant, const std::string& channel) const;

  /// The rejection counters for a webhook to `tenant`/`channel` as the request names them: the
  /// channel's own when it is configured, else the set of unknown endpoints (tenant="",
  /// channel=""), so no label value ever comes from the request.
  const metrics::catalog::webhook_rejection_set& rejections(const std::string& tenant,
                                                            const std::string& channel) const;

 private:
  /// The entry of `previous` for `tenant`/`c`, when it can serve `c` as it is; else nullptr.
  static std::shared_ptr<const channel_entry> reusable(const channel_directory* previous,
                                                       const std::string& tenant,
                                                       const config::channel_config& c);

  std::unordered_map<std::string,
                     std::unordered_map<std::string, std::shared_ptr<const channel_entry>>>
      tenants_;
  config::rate_limit_config per_channel_;  ///< `limits.auth_failures_per_channel` built with
};

}  // namespace sb::http

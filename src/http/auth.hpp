#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

/// Bearer-token authentication for the backend APIs (docs/DESIGN.md §6). Plain code, no Beast:
/// the HTTP session calls it and maps the error to the wire.
namespace sb::http {

/// Who a token belongs to: one subscriber of one tenant, with its scopes; or an operator
/// (`config::operator_config`) acting on one tenant, with every scope.
struct principal {
  std::string tenant;
  /// The subscriber's name; for an operator "operator:<name>" (no subscriber name has a ':',
  /// so it names no configured subscriber: a stream gets the default purposes, and the audit
  /// log records the caller as it is).
  std::string subscriber;
  unsigned scopes = 0;  ///< bit set of `config::scope`
  bool is_operator = false;

  bool has_scope(config::scope s) const { return (scopes & static_cast<unsigned>(s)) != 0; }
};

/// The token of an `Authorization: Bearer <token>` header value, or an empty view when the
/// value is absent, uses another scheme, or carries no token. The scheme is case-insensitive.
std::string_view bearer_token(std::string_view authorization);

/// Index of API tokens, built once from the config: SHA-256(token) hex -> principal. The
/// config stores only the hashes (`subscribers[].token_sha256`), so the index never holds a
/// token. Immutable after construction; `authenticate` is safe from any thread.
///
/// Lookups are keyed by the token's SHA-256: hash-table timing can at most reveal something
/// about a digest, which does not help anyone forge the token behind it. Operator tokens
/// (`operators[].token_sha256`, a short list) are compared with every configured digest in
/// constant time.
class token_index {
 public:
  explicit token_index(const config::config& cfg);

  /// Checks an `Authorization` header value for a call that needs `needed` and, when
  /// `requested_tenant` is non-empty, addresses that tenant. An operator's token has every
  /// scope on every tenant: its principal is the one of `requested_tenant`, or of the only
  /// tenant when none is requested. Errors:
  /// - `errc::unauthorized`: no bearer token, or a token no subscriber or operator holds;
  /// - `errc::forbidden`: the token lacks `needed`, or belongs to another tenant than
  ///   `requested_tenant` (a token never reaches another tenant's data);
  /// - `errc::bad_request`: an operator's token without `requested_tenant` while the config
  ///   has several tenants;
  /// - `errc::unknown_tenant`: an operator's token with a `requested_tenant` not configured.
  /// The returned pointer lives as long as the index.
  result<const principal*> authenticate(std::string_view authorization, config::scope needed,
                                        std::string_view requested_tenant = {}) const;

  /// The principal of a raw subscriber token, or nullptr (operators' tokens included: nullptr).
  const principal* find(std::string_view token) const;

  /// The name of the operator whose token an `Authorization` header value carries, or nullptr.
  /// Lives as long as the index.
  const std::string* find_operator(std::string_view authorization) const;

  /// Subscriber tokens indexed (operators not counted).
  std::size_t size() const noexcept { return by_digest_.size(); }

 private:
  /// One operator: the raw SHA-256 of the token, and a principal per tenant (config order).
  struct operator_entry {
    std::string name;
    std::string digest;  ///< 32 raw bytes
    std::vector<principal> as;
  };
  /// The operator whose digest `token` hashes to, or nullptr: compares with every operator.
  const operator_entry* match_operator(std::string_view token) const;
  /// `e` on `requested_tenant` (see `authenticate`).
  result<const principal*> operator_on(const operator_entry& e,
                                       std::string_view requested_tenant) const;

  std::vector<std::string> tenant_ids_;  ///< config order
  std::vector<operator_entry> operators_;
  std::unordered_map<std::string, principal> by_digest_;
  /// Digests configured on more than one subscriber: refused rather than guessed, since
  /// picking one could hand a caller another subscriber's (or tenant's) data.
  std::unordered_set<std::string> ambiguous_;
};

/// Who may read `GET /metrics` (`server.metrics.token_sha256`, docs/operations.md): with a
/// configured digest, only a caller whose bearer token hashes to it. Immutable; any thread.
class metrics_access {
 public:
  explicit metrics_access(const config::server_config& server);

  /// Whether a token is required at all.
  bool token_required() const noexcept { return !digest_.empty(); }

  /// Checks an `Authorization` header value: `errc::unauthorized` when a token is required and
  /// the header carries none, or one whose SHA-256 differs (compared in constant time, as raw
  /// digests).
  status check(std::string_view authorization) const;

 private:
  std::string digest_;  ///< the configured SHA-256, 32 raw bytes; empty = no token
};

}  // namespace sb::http

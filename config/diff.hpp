#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

/// What changes between the running config and a new one (a reload: SIGHUP, later the control
/// plane). Pure functions over two immutable configs; the gateway and the HTTP server act on the
/// result (docs/operations.md, "Reloading the config"; docs/architecture.md, "Reconfigure").
namespace sb::config {

/// What changed in one tenant present in both configs. Names are in the new config's order
/// (added, changed) or the running one's (removed).
struct tenant_diff {
  std::string id;
  std::vector<std::string> channels_added;
  std::vector<std::string> channels_removed;
  /// Type or any setting (secrets included) differs: the channel gets a new `channel_logic`.
  std::vector<std::string> channels_changed;
  std::vector<std::string> subscribers_added;
  std::vector<std::string> subscribers_removed;
  /// Any field differs (token, scopes, purposes, push endpoint or knobs, send rate limit).
  std::vector<std::string> subscribers_changed;
  /// Among `subscribers_changed`: the token's digest or scopes differ.
  std::vector<std::string> tokens_changed;
  bool rate_limit_changed = false;  ///< `rate_limit`
  bool privacy_changed = false;     ///< any `privacy.*` key

  /// True when anything above changed (the tenant must be told its new config).
  bool changed() const;
};

/// The difference between a running config and a new one.
struct config_diff {
  /// Keys read only at start (`server.listen`, thread counts, `storage.*`, ...) whose value
  /// differs, as their YAML path ("server.listen"), in declaration order. They keep their
  /// running value (`keep_restart_keys`); the new value takes effect at the next restart.
  std::vector<std::string> restart_keys;
  std::vector<std::string> tenants_added;    ///< new config's order
  std::vector<std::string> tenants_removed;  ///< running config's order
  std::vector<tenant_diff> tenants_changed;  ///< new config's order
  bool operators_changed = false;            ///< `operators` (names or token digests)
  /// Top-level keys that reload and apply to every tenant: `limits.events_per_webhook`,
  /// `limits.auth_failures_per_*`, `limits.sse_streams_per_token`, `server.trusted_proxies`,
  /// `server.metrics.token_sha256`, `server.public_url`, `privacy.retention_days`,
  /// `control_plane.secret_grace_seconds`, `control_plane.manage_file_tenants`: their paths.
  std::vector<std::string> global_keys;

  /// Nothing differs (a reload of the same file).
  bool empty() const;
  /// One line for the log: counts of what changed, never a value (secrets).
  std::string summary() const;
};

/// Compares `running` with `next`. Tenants, channels and subscribers are matched by id / name.
config_diff diff(const config& running, const config& next);

/// Compares one tenant's two versions (same id), as `diff` does for each tenant in both.
tenant_diff diff_tenant(const tenant_config& running, const tenant_config& next);

/// The paths of every key that is read only at start, in declaration order (what `diff` reports
/// in `restart_keys`; documented in docs/operations.md).
std::vector<std::string> restart_only_keys();

/// `next` with every restart-only key set to its value in `running` (`restart_only_keys`), so
/// the running process keeps serving the way it started. `storage.root_key` is the running one
/// too (the store's, read at start), and every channel's derived settings
/// (`setting_spec::derived`, e.g. web chat's session-token key) are derived from it, so a channel
/// keeps its value and a new channel gets the one it will have after a restart.
std::shared_ptr<const config> keep_restart_keys(const config& running, const config& next,
                                                const std::vector<channel_schema>& schemas);

}  // namespace sb::config

#include "config/diff.hpp"

#include "config/loader.hpp"

#include <algorithm>
#include <functional>
#include <sstream>
#include <tuple>

namespace sb::config {

namespace {

// Field-wise equality of the config's parts (the structs declare no operator==: the config is a
// plain aggregate, and only a reload compares two of them).

bool same(const rate_limit_config& a, const rate_limit_config& b) {
  return a.rps == b.rps && a.burst == b.burst;
}

bool same(const privacy_config& a, const privacy_config& b) {
  return a.pseudonymize == b.pseudonymize && a.redact_card_numbers == b.redact_card_numbers &&
         a.retention_days == b.retention_days && a.opt_out_keywords == b.opt_out_keywords &&
         a.opt_in_keywords == b.opt_in_keywords &&
         a.allow_replies_after_opt_out == b.allow_replies_after_opt_out;
}

bool same(const channel_config& a, const channel_config& b) {
  // `source` (file:line) is where it is written, not what it is: moving a channel in the file
  // does not change it.
  return a.name == b.name && a.type == b.type && a.settings == b.settings;
}

bool same(const std::optional<push_config>& a, const std::optional<push_config>& b) {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  if (!a) {
    return true;
  }
  return a->url == b->url && a->secret == b->secret && a->secret_previous == b->secret_previous &&
         a->timeout_ms == b->timeout_ms && a->max_in_flight == b->max_in_flight &&
         a->retry_schedule_ms == b->retry_schedule_ms;
}

bool same(const subscriber_config& a, const subscriber_config& b) {
  return a.name == b.name && a.token_sha256 == b.token_sha256 && a.scopes == b.scopes &&
         a.purposes == b.purposes && same(a.push, b.push) &&
         same(a.send_rate_limit, b.send_rate_limit);
}

template <class T>
const T* find_named(const std::vector<T>& v, const std::string& name) {
  for (const auto& x : v) {
    if (x.name == name) {
      return &x;
    }
  }
  return nullptr;
}

/// Added, removed and changed members of two named lists (channels, subscribers).
template <class T>
void diff_named(const std::vector<T>& running, const std::vector<T>& next,
                std::vector<std::string>& added, std::vector<std::string>& removed,
                std::vector<std::string>& changed) {
  for (const auto& n : next) {
    const T* r = find_named(running, n.name);
    if (r == nullptr) {
      added.push_back(n.name);
    } else if (!same(*r, n)) {
      changed.push_back(n.name);
    }
  }
  for (const auto& r : running) {
    if (find_named(next, r.name) == nullptr) {
      removed.push_back(r.name);
    }
  }
}

/// One top-level key compared and copied as a whole: its path and an accessor that works on a
/// const and a mutable config alike (the one place each key of these lists is written).
struct key_access {
  std::string path;
  std::function<bool(const config&, const config&)> same;
  std::function<void(const config&, config&)> copy;
};

template <class Get>
key_access key(std::string path, Get get) {
  return key_access{
      std::move(path),
      [get](const config& a, const config& b) { return get(a) == get(b); },
      [get](const config& from, config& to) { get(to) = get(from); },
  };
}

#define SB_KEY(path, expr) \
  key(                     \
      path, [](auto& c) -> auto& { return c.expr; })

/// Read once at start: the listeners, threads, timeouts and connection bounds of the HTTP
/// server (src/http/server.cpp), the actor system's scheduler and mailbox bound, the stores, the
/// cluster identity, and the bounds the root and the tenants size themselves with at spawn.
const std::vector<key_access>& restart_table() {
  static const std::vector<key_access> table = {
      SB_KEY("server.listen", server.listen),
      SB_KEY("server.io_threads", server.io_threads),
      SB_KEY("server.max_body_bytes", server.max_body_bytes),
      SB_KEY("server.max_header_bytes", server.max_header_bytes),
      SB_KEY("server.header_timeout_ms", server.header_timeout_ms),
      SB_KEY("server.body_timeout_ms", server.body_timeout_ms),
      SB_KEY("server.idle_timeout_ms", server.idle_timeout_ms),
      SB_KEY("server.write_timeout_ms", server.write_timeout_ms),
      SB_KEY("server.shutdown_grace_ms", server.shutdown_grace_ms),
      SB_KEY("server.max_connections", server.max_connections),
      SB_KEY("server.mailbox_high_water", server.mailbox_high_water),
      SB_KEY("server.metrics.listen", server.metrics.listen),
      SB_KEY("server.tls.cert", server.tls.cert),
      SB_KEY("server.tls.key", server.tls.key),
      SB_KEY("server.scheduler.max_threads", server.scheduler.max_threads),
      SB_KEY("server.scheduler.max_throughput", server.scheduler.max_throughput),
      SB_KEY("server.scheduler.poll_sleep", server.scheduler.poll_sleep),
      SB_KEY("storage.backend", storage.backend),
      SB_KEY("storage.path", storage.path),
      SB_KEY("storage.postgres.dsn", storage.postgres.dsn),
      SB_KEY("storage.postgres.pool", storage.postgres.pool),
      SB_KEY("storage.durability", storage.durability),
      SB_KEY("storage.master_key", storage.master_key),
      SB_KEY("cluster.node_id", cluster.node_id),
      SB_KEY("cluster.lease_ms", cluster.lease_ms),
      SB_KEY("limits.conversations_per_tenant", limits.conversations_per_tenant),
      SB_KEY("limits.sse_streams_per_token", limits.sse_streams_per_token),
      SB_KEY("limits.quarantine_bytes_per_channel", limits.quarantine_bytes_per_channel),
      SB_KEY("limits.privacy_workers", limits.privacy_workers),
      SB_KEY("limits.privacy_queue", limits.privacy_queue),
  };
  return table;
}

bool same_limit(const rate_limit_config& a, const rate_limit_config& b) {
  return same(a, b);
}

/// Reloaded top-level keys that apply to every tenant (reported in `global_keys`).
const std::vector<key_access>& global_table() {
  static const std::vector<key_access> table = {
      SB_KEY("server.trusted_proxies", server.trusted_proxies),
      SB_KEY("server.metrics.token_sha256", server.metrics.token_sha256),
      SB_KEY("server.public_url", server.public_url),
      SB_KEY("limits.events_per_webhook", limits.events_per_webhook),
      key_access{"limits.auth_failures_per_source",
                 [](const config& a, const config& b) {
                   return same_limit(a.limits.auth_failures_per_source,
                                     b.limits.auth_failures_per_source);
                 },
                 [](const config& from, config& to) {
                   to.limits.auth_failures_per_source = from.limits.auth_failures_per_source;
                 }},
      key_access{"limits.auth_failures_per_channel",
                 [](const config& a, const config& b) {
                   return same_limit(a.limits.auth_failures_per_channel,
                                     b.limits.auth_failures_per_channel);
                 },
                 [](const config& from, config& to) {
                   to.limits.auth_failures_per_channel = from.limits.auth_failures_per_channel;
                 }},
      SB_KEY("privacy.retention_days", privacy.retention_days),
      SB_KEY("control_plane.secret_grace_seconds", control_plane.secret_grace_seconds),
      SB_KEY("control_plane.manage_file_tenants", control_plane.manage_file_tenants),
  };
  return table;
}

#undef SB_KEY

bool same_operators(const std::vector<operator_config>& a, const std::vector<operator_config>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].token_sha256 != b[i].token_sha256) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool tenant_diff::changed() const {
  return !channels_added.empty() || !channels_removed.empty() || !channels_changed.empty() ||
         !subscribers_added.empty() || !subscribers_removed.empty() ||
         !subscribers_changed.empty() || rate_limit_changed || privacy_changed;
}

bool config_diff::empty() const {
  return restart_keys.empty() && tenants_added.empty() && tenants_removed.empty() &&
         tenants_changed.empty() && !operators_changed && global_keys.empty();
}

std::string config_diff::summary() const {
  if (empty()) {
    return "no change";
  }
  std::size_t ch_added = 0, ch_removed = 0, ch_changed = 0, sub_added = 0, sub_removed = 0,
              sub_changed = 0;
  for (const auto& t : tenants_changed) {
    ch_added += t.channels_added.size();
    ch_removed += t.channels_removed.size();
    ch_changed += t.channels_changed.size();
    sub_added += t.subscribers_added.size();
    sub_removed += t.subscribers_removed.size();
    sub_changed += t.subscribers_changed.size();
  }
  std::ostringstream out;
  out << "tenants +" << tenants_added.size() << " -" << tenants_removed.size() << " ~"
      << tenants_changed.size() << "; channels +" << ch_added << " -" << ch_removed << " ~"
      << ch_changed << "; subscribers +" << sub_added << " -" << sub_removed << " ~" << sub_changed;
  if (operators_changed) {
    out << "; operators changed";
  }
  for (const auto& k : global_keys) {
    out << "; " << k << " changed";
  }
  return out.str();
}

std::vector<std::string> restart_only_keys() {
  std::vector<std::string> out;
  for (const auto& k : restart_table()) {
    out.push_back(k.path);
  }
  return out;
}

tenant_diff diff_tenant(const tenant_config& running, const tenant_config& next) {
  tenant_diff t;
  t.id = next.id;
  diff_named(running.channels, next.channels, t.channels_added, t.channels_removed,
             t.channels_changed);
  diff_named(running.subscribers, next.subscribers, t.subscribers_added, t.subscribers_removed,
             t.subscribers_changed);
  for (const auto& name : t.subscribers_changed) {
    const auto* a = find_named(running.subscribers, name);
    const auto* b = find_named(next.subscribers, name);
    if (a->token_sha256 != b->token_sha256 || a->scopes != b->scopes) {
      t.tokens_changed.push_back(name);
    }
  }
  t.rate_limit_changed = !same(running.rate_limit, next.rate_limit);
  t.privacy_changed = !same(running.privacy, next.privacy);
  return t;
}

config_diff diff(const config& running, const config& next) {
  config_diff d;
  for (const auto& k : restart_table()) {
    if (!k.same(running, next)) {
      d.restart_keys.push_back(k.path);
    }
  }
  for (const auto& k : global_table()) {
    if (!k.same(running, next)) {
      d.global_keys.push_back(k.path);
    }
  }
  d.operators_changed = !same_operators(running.operators, next.operators);
  const auto running_by_id = tenants_by_id(running);
  const auto next_by_id = tenants_by_id(next);
  for (const auto& n : next.tenants) {
    const auto found = running_by_id.find(n.id);
    const tenant_config* r = found == running_by_id.end() ? nullptr : found->second;
    if (r == nullptr) {
      d.tenants_added.push_back(n.id);
      continue;
    }
    auto t = diff_tenant(*r, n);
    if (t.changed()) {
      d.tenants_changed.push_back(std::move(t));
    }
  }
  for (const auto& r : running.tenants) {
    if (next_by_id.count(r.id) == 0) {
      d.tenants_removed.push_back(r.id);
    }
  }
  return d;
}

std::shared_ptr<const config> keep_restart_keys(const config& running, const config& next,
                                                const std::vector<channel_schema>& schemas) {
  auto out = std::make_shared<config>(next);
  for (const auto& k : restart_table()) {
    k.copy(running, *out);
  }
  // The root key is the store's, read at start: the loader derived the channels' derived keys
  // from the file's master key, which may be another (a new key applies at a restart, and after
  // a rotation the root key is not the master key at all). Derive them from the running one.
  if (out->storage.root_key != running.storage.root_key) {
    set_root_key(*out, running.storage.root_key, schemas);
  }
  return out;
}

}  // namespace sb::config

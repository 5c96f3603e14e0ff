// The root supervisor and the CAF side of the HTTP bridge.
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/actors.hpp"
#include "actors/api.hpp"
#include "actors/gateway_impl.hpp"
#include "actors/privacy_jobs.hpp"
#include "actors/sweeper.hpp"
#include "actors/visitor_stream.hpp"
#include "config/diff.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/restart_policy.hpp"
#include "core/time.hpp"
#include "outbound/conversation_state.hpp"
#include "outbound/window_rows.hpp"
#include "privacy/replicas.hpp"
#include "store/live_tail.hpp"
#include "store/pg/lease_keeper.hpp"
#include "store/pg/listener.hpp"
#include "store/pg/stores.hpp"
#include "store/sqlite_log.hpp"

namespace sb::actors {

/// tenant id -> current tenant actor; written by the root on (re)spawn, read by I/O threads.
class tenant_registry {
 public:
  tenant_actor find(const std::string& id) const {
    std::shared_lock lock(mutex_);
    auto it = map_.find(id);
    return it == map_.end() ? tenant_actor{} : it->second;
  }
  void set(const std::string& id, tenant_actor a) {
    std::unique_lock lock(mutex_);
    if (a) {
      map_[id] = std::move(a);
    } else {
      map_.erase(id);
    }
  }
  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return map_.size();
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, tenant_actor> map_;
};

/// The lease on the retention sweeper (several replicas: one sweeps).
constexpr const char* k_retention_lease = "retention";

struct root_state {
  gateway_options opts;
  std::shared_ptr<tenant_registry> registry;
  history_reader_actor history;  // the catch-up reader, handed to every tenant
  store_writer_actor store;
  restart_policy store_restarts;
  // The one outbox writer of every tenant (actors/outbox_writer.hpp), made once `opts.outbox`
  // exists; null before, or while it restarts.
  outbox_writer_actor outbox;
  restart_policy outbox_restarts;
  sweeper_actor sweeper;
  restart_policy sweeper_restarts;
  std::shared_ptr<privacy_jobs::job_pool> privacy_jobs;  // shared by every tenant
  std::vector<privacy_worker_actor> privacy_workers;
  // By tenant id, not config index: a reconfigure adds and removes tenants.
  std::unordered_map<caf::actor_addr, std::string> tenant_by_addr;  // -> tenant id
  std::unordered_map<std::string, tenant_actor> tenants;            // absent while restarting
  std::unordered_map<std::string, restart_policy> restarts;
  bool stopping = false;
  static inline const char* name = "gateway";
};

namespace {

using root_ptr = root_actor::stateful_pointer<root_state>;

void spawn_tenant(root_ptr self, const config::tenant_config& tenant);

void spawn_tenant(root_ptr self, const std::string& id) {
  if (const auto* t = self->state.opts.cfg->find_tenant(id)) {
    spawn_tenant(self, *t);
  }  // else removed by a reconfigure meanwhile
}

/// `tenant`: one of `opts.cfg`'s.
void spawn_tenant(root_ptr self, const config::tenant_config& tenant) {
  auto& st = self->state;
  const std::string id = tenant.id;
  tenant_init init;
  init.cfg = config::for_tenant(*st.opts.cfg, tenant);  // the globals and this tenant only
  init.tenant_index = 0;
  init.stores = st.opts.stores;
  init.store = st.store;
  init.adapters = st.opts.adapters;
  init.settings = st.opts.settings;
  init.http = st.opts.http;
  init.delivery = st.opts.delivery;
  init.store_blocks = st.opts.store_blocks;
  init.outbox = st.opts.outbox;
  init.outbox_writer = st.outbox;
  init.senders = st.opts.senders;
  init.consents = st.opts.consents;
  init.privacy_jobs = st.privacy_jobs;
  init.history = st.history;
  if (auto leases = st.opts.leases) {
    init.holds_lease = [leases](const std::string& name) { return leases->holds(name); };
  }
  auto t = spawn_tenant_actor(self, std::move(init));
  st.tenant_by_addr[t.address()] = id;
  st.registry->set(id, t);
  st.tenants[id] = std::move(t);
}

store_writer_actor spawn_store(root_ptr self) {
  auto& st = self->state;
  return spawn_store_writer(self, st.opts.stores.log, st.opts.store_blocks,
                            st.opts.settings.mailbox_high_water,
                            st.opts.cfg->limits.quarantine_bytes_per_channel);
}

/// Makes the gateway's outbox writer when there is an outbox and no writer, and hands it to
/// every running tenant (a tenant started later gets it in its `tenant_init`).
void ensure_outbox_writer(root_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.outbox || !st.opts.outbox) {
    return;
  }
  st.outbox = spawn_outbox_writer(self, st.opts.outbox, st.opts.outbox_blocks);
  for (auto& [id, t] : st.tenants) {
    self->send(t, outbox_atom::value, st.outbox);
  }
}

/// One of the root's singletons (`handle`: the sweeper, the store or outbox writer) went down:
/// its handle is cleared and `(restart_atom, which)` arrives after `policy`'s back-off, counted
/// as `switchboard_actor_restarts_total{kind}` and logged as "<what> went down".
template <class Handle, class Atom>
void restart_later(root_ptr self, Handle& handle, restart_policy& policy, const char* kind,
                   const char* what, const caf::error& reason, Atom which) {
  auto delay = policy.on_crash(restart_policy::clock::now());
  metrics::catalog::actor_restarts(kind).inc();
  log::warn("gateway", what, " went down (", caf::to_string(reason), "); restarting in ",
            delay.count(), " ms");
  handle = Handle{};
  self->delayed_send(self, delay, restart_atom::value, which);
}

sweeper_actor start_sweeper(root_ptr self) {
  auto& st = self->state;
  sweeper_init sw;
  sw.cfg = st.opts.cfg;
  sw.privacy = st.opts.stores.privacy;
  sw.outbox = st.opts.outbox;  // outbound messages expire by the same retention
  sw.clock = st.opts.clock;
  sw.interval = st.opts.retention_sweep_interval;
  if (auto leases = st.opts.leases) {
    sw.holds_lease = [leases] { return leases->holds(k_retention_lease); };
    sw.lease_recheck = leases->ttl();
  }
  return spawn_sweeper(self, std::move(sw));
}

/// The privacy workers (actors/privacy_jobs.hpp): `limits.privacy_workers` threads in all, for
/// every tenant, with at most `limits.privacy_queue` jobs waiting.
void start_privacy_workers(root_ptr self) {
  auto& st = self->state;
  const auto& limits = st.opts.cfg->limits;
  st.privacy_jobs = std::make_shared<privacy_jobs::job_pool>(
      static_cast<std::size_t>(std::max(limits.privacy_queue, 1)));
  st.privacy_workers.resize(static_cast<std::size_t>(std::max(limits.privacy_workers, 1)));
  for (std::size_t i = 0; i < st.privacy_workers.size(); ++i) {
    st.privacy_workers[i] = privacy_jobs::spawn_worker(self, st.privacy_jobs);
    st.privacy_jobs->set_worker(i, st.privacy_workers[i]);
  }
}

/// How long the root waits for each tenant to apply a reconfigure.
constexpr std::chrono::seconds k_tenant_reconfigure_timeout{5};

/// Whether the retention sweeper must start over with `next`: it holds the config it started
/// with (the tenants it sweeps and their `retention_days`).
bool sweeper_outdated(const config::config& running, const config::config& next) {
  if (running.tenants.size() != next.tenants.size()) {
    return true;
  }
  const auto running_by_id = config::tenants_by_id(running);
  for (const auto& t : next.tenants) {
    const auto it = running_by_id.find(t.id);
    const auto* r = it == running_by_id.end() ? nullptr : it->second;
    if (r == nullptr || r->privacy.retention_days != t.privacy.retention_days) {
      return true;
    }
  }
  return running.privacy.retention_days != next.privacy.retention_days;
}

/// The root's part of a reconfigure (root_actor.hpp, `reconfig_atom`).
caf::result<bool> reconfigure_root(root_ptr self, reconfigure_msg m) {
  auto& st = self->state;
  if (st.stopping || !m.cfg) {
    return false;
  }
  auto running = st.opts.cfg;
  st.opts.cfg = m.cfg;
  if (m.http) {
    st.opts.http = m.http;
  }
  if (m.outbox) {
    st.opts.outbox = m.outbox;
  }
  // The first sendable channel of a reload brings the outbox: its writer reaches the running
  // tenants before the reconfigure below (one sender, ordered mailbox).
  ensure_outbox_writer(self);
  // Removed: out of the registry first (the bridge answers unknown_tenant from now on), then
  // stopped with their children; their streams end. Their down message is then ignored.
  const auto running_by_id = config::tenants_by_id(*running);
  const auto next_by_id = config::tenants_by_id(*m.cfg);
  for (const auto& t : running->tenants) {
    if (next_by_id.count(t.id) != 0) {
      continue;
    }
    st.registry->set(t.id, tenant_actor{});
    st.restarts.erase(t.id);
    if (auto it = st.tenants.find(t.id); it != st.tenants.end()) {
      self->send_exit(it->second, caf::exit_reason::user_shutdown);
      st.tenants.erase(it);
    }
    log::info("gateway", "tenant ", t.id, " removed by a reconfigure; stopped");
  }
  // Kept: handed the config, never restarted (a restart would end their streams).
  auto pending = std::make_shared<std::size_t>(0);
  auto all_ok = std::make_shared<bool>(true);
  auto rp = self->make_response_promise<bool>();
  auto done = [pending, all_ok, rp]() mutable {
    if (--*pending == 0) {
      rp.deliver(*all_ok);
    }
  };
  ++*pending;  // held until every request below is out
  for (const auto& t : m.cfg->tenants) {
    if (running_by_id.count(t.id) == 0) {
      continue;
    }
    if (!m.globals_changed && m.changed_tenants.count(t.id) == 0) {
      continue;  // nothing it holds changed (its config is its own copy: config::for_tenant)
    }
    auto it = st.tenants.find(t.id);
    if (it == st.tenants.end()) {
      continue;  // restarting: it starts with the new config
    }
    ++*pending;
    self->request(it->second, k_tenant_reconfigure_timeout, reconfig_atom::value, m)
        .then([done](bool) mutable { done(); },
              [done, all_ok, id = t.id](caf::error& e) mutable {
                log::warn("gateway", "tenant ", id, " did not confirm the reconfigure (",
                          caf::to_string(e), ")");
                *all_ok = false;
                done();
              });
  }
  // Added: spawned with the new config. One line each, unless there are many (the control
  // plane's stored tenants joining at start: 10,000 lines would bury the log).
  constexpr std::size_t k_added_named = 10;
  std::vector<std::string_view> added;
  for (const auto& t : m.cfg->tenants) {
    if (running_by_id.count(t.id) == 0 && st.tenants.count(t.id) == 0) {
      spawn_tenant(self, t);
      added.push_back(t.id);
    }
  }
  if (added.size() <= k_added_named) {
    for (auto id : added) {
      log::info("gateway", "tenant ", id, " added by a reconfigure; started");
    }
  } else {
    std::string first;
    for (std::size_t i = 0; i < k_added_named; ++i) {
      first.append(i == 0 ? "" : ", ").append(added[i]);
    }
    log::info("gateway", added.size(), " tenants added by a reconfigure; started (", first,
              ", ...)");
  }
  if (st.sweeper && sweeper_outdated(*running, *m.cfg)) {
    // The sweeper takes the new tenants; it sweeps at once only when a retention got shorter.
    // (Restarting it swept every tenant at once: with 10,000 tenants, each tenant added through
    // the control plane cost a full sweep.)
    reconfigure_msg for_sweeper;
    for_sweeper.cfg = m.cfg;
    for_sweeper.outbox = st.opts.outbox;
    self->send(st.sweeper, reconfig_atom::value, std::move(for_sweeper));
  }
  done();
  return rp;
}

root_actor::behavior_type root_behavior(root_ptr self, gateway_options opts,
                                        std::shared_ptr<tenant_registry> registry,
                                        history_reader_actor history) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.history = std::move(history);
  st.registry = std::move(registry);
  st.store = spawn_store(self);
  ensure_outbox_writer(self);
  st.sweeper = start_sweeper(self);
  start_privacy_workers(self);
  for (const auto& t : st.opts.cfg->tenants) {
    spawn_tenant(self, t);
  }
  self->set_down_handler([=](caf::down_msg& m) {
    auto& st = self->state;
    auto worker =
        std::find_if(st.privacy_workers.begin(), st.privacy_workers.end(),
                     [&](const privacy_worker_actor& w) { return w.address() == m.source; });
    if (worker != st.privacy_workers.end()) {
      if (!st.stopping) {
        // A worker has no state of its own: a new one takes the next job at once. The jobs it
        // was running end with it (their requests are answered 503 and retried).
        metrics::catalog::actor_restarts("privacy_worker").inc();
        log::warn("gateway", "a privacy worker went down (", caf::to_string(m.reason),
                  "); restarting it");
        const auto i = static_cast<std::size_t>(worker - st.privacy_workers.begin());
        *worker = privacy_jobs::spawn_worker(self, st.privacy_jobs);
        st.privacy_jobs->set_worker(i, *worker);
      }
      return;
    }
    auto it = st.tenant_by_addr.find(m.source);
    if (it == st.tenant_by_addr.end()) {
      if (st.stopping) {
        return;
      }
      if (m.source == st.sweeper.address()) {
        // Sweeps are idempotent: a fresh sweeper starts over (and sweeps at once).
        restart_later(self, st.sweeper, st.sweeper_restarts, "sweeper", "retention sweeper",
                      m.reason, sweep_atom::value);
      } else if (m.source == st.store.address()) {
        // The log object outlives its writer: a new writer continues from the committed state.
        // Appends in the dead writer's mailbox are lost; their requests get 503 and the
        // platforms retry (dedupe makes the retry safe).
        restart_later(self, st.store, st.store_restarts, "store_writer", "store writer", m.reason,
                      store_atom::value);
      } else if (m.source == st.outbox.address()) {
        // The outbox outlives its writer: a new one continues from what was committed. Writes
        // in the dead one's mailbox fail their requests (503 to a send, retried by senders).
        restart_later(self, st.outbox, st.outbox_restarts, "outbox_writer", "outbox writer",
                      m.reason, outbox_atom::value);
      }
      return;
    }
    const std::string id = it->second;
    st.tenant_by_addr.erase(it);
    auto current = st.tenants.find(id);
    if (current == st.tenants.end() || current->second.address() != m.source) {
      return;  // stopped by a reconfigure that removed it (maybe already added again)
    }
    st.tenants.erase(current);
    st.registry->set(id, tenant_actor{});
    if (st.stopping || st.opts.cfg->find_tenant(id) == nullptr) {
      return;
    }
    auto delay = st.restarts[id].on_crash(restart_policy::clock::now());
    metrics::catalog::actor_restarts("tenant").inc();
    log::warn("gateway", "tenant ", id, " went down (", caf::to_string(m.reason),
              "); restarting in ", delay.count(), " ms");
    self->delayed_send(self, delay, restart_atom::value, id);
  });
  self->set_exit_handler([=](caf::exit_msg& m) {
    auto& st = self->state;
    st.stopping = true;
    for (auto& [id, t] : st.tenants) {
      self->send_exit(t, m.reason);
    }
    if (st.store) {
      self->send_exit(st.store, m.reason);
    }
    if (st.outbox) {
      self->send_exit(st.outbox, m.reason);
    }
    if (st.sweeper) {
      self->send_exit(st.sweeper, m.reason);
    }
    st.privacy_jobs->close();
    for (auto& w : st.privacy_workers) {
      self->send_exit(w, m.reason);
    }
    self->quit(m.reason);
  });
  return {
      // Answered after initialization: the bridge waits for it once, at start-up.
      [=](stats_atom) -> std::size_t { return self->state.tenants.size(); },
      [=](restart_atom, store_atom) {
        auto& st = self->state;
        if (st.stopping || st.store) {
          return;
        }
        st.store = spawn_store(self);
        for (auto& [id, t] : st.tenants) {
          self->send(t, store_atom::value, st.store);
        }
      },
      [=](restart_atom, outbox_atom) { ensure_outbox_writer(self); },
      [=](find_outbox_atom) -> caf::result<outbox_writer_actor> {
        if (!self->state.outbox) {
          return caf::make_error(caf::sec::runtime_error);
        }
        return self->state.outbox;
      },
      // Introspection for tests and operations: the current store writer and sweeper.
      [=](find_store_atom) -> caf::result<store_writer_actor> {
        if (!self->state.store) {
          return caf::make_error(caf::sec::runtime_error);
        }
        return self->state.store;
      },
      [=](find_sweep_atom) -> caf::result<sweeper_actor> {
        if (!self->state.sweeper) {
          return caf::make_error(caf::sec::runtime_error);
        }
        return self->state.sweeper;
      },
      [=](restart_atom, sweep_atom) {
        auto& st = self->state;
        if (!st.stopping && !st.sweeper) {
          st.sweeper = start_sweeper(self);
        }
      },
      [=](restart_atom, const std::string& id) {
        if (!self->state.stopping && self->state.tenants.count(id) == 0) {
          spawn_tenant(self, id);
        }
      },
      [=](reconfig_atom, reconfigure_msg& m) -> caf::result<bool> {
        return reconfigure_root(self, std::move(m));
      },
      // API calls that name no tenant (actors/api.hpp).
      [=](api_atom, api_msg& m) {
        handle_root_api(self, self->state.opts.stores.privacy, self->state.privacy_jobs, m.c);
      },
  };
}

/// Several replicas on one PostgreSQL (docs/scale-out.md, "Streams from any replica"): follows
/// every tenant's head as the listener hears of commits (other replicas' and this one's), applies
/// the consent changes among the new events (privacy/replicas.hpp), then tells the tenant actor,
/// which announces them to its readers. Used on the listener's thread only, but for `reconfigure`.
class replica_follower {
 public:
  /// `current`: the gateway's config now (a reconfigure changes it).
  replica_follower(const gateway_options& opts, std::shared_ptr<tenant_registry> registry,
                   std::function<std::shared_ptr<const config::config>()> current)
      : opts_(opts), registry_(std::move(registry)), current_(std::move(current)) {
    for (const auto& t : opts_.cfg->tenants) {
      seen_[t.id] = opts_.stores.log->head(t.id);  // what the tenants announce at start
    }
  }

  /// A reconfigure added tenants (any thread): followed from their head now, which is where
  /// their new tenant actors start announcing.
  void add(const std::vector<std::string>& tenants) {
    std::lock_guard<std::mutex> lock(added_m_);
    for (const auto& id : tenants) {
      added_[id] = opts_.stores.log->head(id);
    }
  }

  void heads(const std::map<std::string, std::uint64_t>& heads) {
    take_added();
    for (const auto& [tenant, head] : heads) {
      follow(tenant, head);
    }
  }

  /// After a (re)connect: notifications sent meanwhile are lost, so each head is read again.
  void reconnected() {
    take_added();
    auto cfg = current_();
    for (const auto& t : cfg->tenants) {
      follow(t.id, opts_.stores.log->head(t.id));
    }
  }

 private:
  void take_added() {
    std::lock_guard<std::mutex> lock(added_m_);
    for (auto& [id, head] : added_) {
      seen_.emplace(id, head);
    }
    added_.clear();
  }

  void follow(const std::string& tenant, std::uint64_t head) {
    auto seen = seen_.find(tenant);
    auto cfg = current_();
    const auto* t = cfg->find_tenant(tenant);
    if (seen == seen_.end() || t == nullptr || head <= seen->second) {
      return;  // a tenant this replica does not serve, or nothing new
    }
    replica_commits commits;
    event facts;
    auto done = privacy::follow_commits(
        *opts_.stores.log, *opts_.consents, *t, seen->second, head,
        [&](const store::stored_event& e) {
          if (e.type == event_type::message && !e.conversation.empty()) {
            commits.messages.emplace_back(e.conversation, e.seq);
          }
          if (e.type != event_type::message || e.conversation.empty() ||
              !outbound::window_facts(e, facts) || !outbound::opens_window(facts)) {
            return;
          }
          commits.windows.emplace_back(
              e.conversation, conversation_event{e.seq, e.type, true, outbound::window_time(facts)});
        });
    if (!done) {
      // The next notification (or the reconnect after a lost connection) tries again; until
      // then the tenant's settle tick keeps its readers from waiting forever.
      log::warn("replicas", "tenant ", tenant, ": cannot read events ", seen->second + 1, "..",
                head, ": ", done.err().message);
      return;
    }
    seen->second = done->through;
    commits.through = done->through;
    commits.erasures = done->erasures > 0;
    if (auto actor = registry_->find(tenant)) {
      caf::anon_send(actor, replica_atom::value, std::move(commits));
    }
  }

  const gateway_options& opts_;
  std::shared_ptr<tenant_registry> registry_;
  std::function<std::shared_ptr<const config::config>()> current_;
  std::unordered_map<std::string, std::uint64_t> seen_;  // tenant -> applied through
  std::mutex added_m_;
  std::unordered_map<std::string, std::uint64_t> added_;  // from `add`, for the listener thread
};

/// What `gateway::overview` collects for one tenant (docs/console.md). The actors' answers
/// fill the optional parts; the rest comes from the config and the metrics registry.
struct overview_tenant {
  const config::tenant_config* cfg = nullptr;
  std::optional<tenant_stats> stats;
  std::map<std::string, subscriber_stats> push;  // push subscriber -> its answer
};

/// One metric's value per (tenant, name) of a family labelled {tenant, <name_label>}: read
/// under the family's lock, without creating children.
template <class Family>
std::map<std::pair<std::string, std::string>, std::int64_t> overview_counts(
    const Family& f, const char* name_label) {
  std::map<std::pair<std::string, std::string>, std::int64_t> out;
  f.for_each([&](const metrics::labels& l, const auto& m) {
    std::string tenant, name;
    for (const auto& [k, v] : l.pairs()) {
      if (k == "tenant") {
        tenant = v;
      } else if (k == name_label) {
        name = v;
      }
    }
    out[{tenant, name}] += static_cast<std::int64_t>(m.value());
  });
  return out;
}

std::int64_t overview_count(const std::map<std::pair<std::string, std::string>, std::int64_t>& m,
                            const std::string& tenant, const std::string& name) {
  auto it = m.find({tenant, name});
  return it == m.end() ? 0 : it->second;
}

/// The overview's JSON (the shape `gateway::overview` documents).
std::string render_overview(const std::vector<overview_tenant>& tenants) {
  namespace cat = metrics::catalog;
  const auto stored = overview_counts(cat::events_stored(), "channel");
  const auto duplicates = overview_counts(cat::events_duplicate(), "channel");
  const auto out_queue = overview_counts(cat::outbound_queue(), "channel");
  const auto delivered = overview_counts(cat::push_delivered(), "subscriber");
  const auto failures = overview_counts(cat::push_failures(), "subscriber");
  static const char* const scope_names[] = {"stream", "send", "privacy", "admin"};
  std::string body;
  json::writer w(body);
  w.begin_object().key("tenants").begin_array();
  for (const auto& t : tenants) {
    const auto& id = t.cfg->id;
    w.begin_object().key("id").value(id);
    w.key("head");
    t.stats ? w.value(t.stats->head) : w.null();
    w.key("streams");
    t.stats ? w.value(static_cast<std::uint64_t>(t.stats->streams)) : w.null();
    std::int64_t tenant_queued = 0;
    w.key("channels").begin_array();
    for (const auto& ch : t.cfg->channels) {
      w.begin_object().key("name").value(ch.name).key("type").value(ch.type);
      w.key("events_total").value(overview_count(stored, id, ch.name));
      w.key("duplicates_total").value(overview_count(duplicates, id, ch.name));
      const auto queued = overview_count(out_queue, id, ch.name);
      tenant_queued += queued;
      w.key("outbound").begin_object().key("queued").value(queued);
      for (auto state : metrics::catalog::k_outbound_states) {
        if (state == "queued") {
          continue;  // the messages held now, above; the counters are the states reached
        }
        w.key(std::string(state) + "_total")
            .value(static_cast<std::uint64_t>(cat::outbound_messages(id, ch.name, state).value()));
      }
      w.end_object().end_object();
    }
    w.end_array();
    w.key("subscribers").begin_array();
    for (const auto& sub : t.cfg->subscribers) {
      w.begin_object().key("name").value(sub.name).key("push").value(sub.push.has_value());
      w.key("scopes").begin_array();
      for (unsigned i = 0; i < 4; ++i) {
        if ((sub.scopes & (1u << i)) != 0) {
          w.value(scope_names[i]);
        }
      }
      w.end_array();
      auto st = t.push.find(sub.name);
      if (!sub.push || st == t.push.end()) {
        // A pull subscriber has no cursor here; a push subscriber that did not answer in time
        // has no numbers this time.
        for (const char* k : {"cursor", "lag", "queue", "in_flight", "dead_letters"}) {
          w.key(k).null();
        }
        w.key("disabled").value(false);
      } else {
        const auto& s = st->second;
        const std::uint64_t head = t.stats ? t.stats->head : s.cursor;
        w.key("cursor").value(s.cursor);
        w.key("lag").value(head > s.cursor ? head - s.cursor : std::uint64_t{0});
        w.key("queue").value(static_cast<std::uint64_t>(s.tracked));
        w.key("in_flight").value(static_cast<std::uint64_t>(s.in_flight));
        w.key("dead_letters")
            .value(s.dead_lettered > s.redriven ? s.dead_lettered - s.redriven : std::uint64_t{0});
        w.key("disabled").value(s.disabled);
        w.key("last_error").value(s.last_error);
      }
      w.key("delivered_total").value(overview_count(delivered, id, sub.name));
      w.key("failures_total").value(overview_count(failures, id, sub.name));
      w.end_object();
    }
    w.end_array();
    w.key("outbound").begin_object().key("queued").value(tenant_queued).end_object();
    w.end_object();
  }
  w.end_array().key("at").value(to_rfc3339(sb::now())).end_object();
  return body;
}

/// The one-shot actor behind `gateway::overview`: asks each tenant for its stats and each push
/// subscriber for its own (a short timeout each), then answers and quits.
caf::behavior overview_collector(caf::event_based_actor* self,
                                 std::shared_ptr<std::vector<overview_tenant>> tenants,
                                 std::vector<tenant_actor> actors, responder_ptr reply,
                                 std::shared_ptr<const config::config> cfg) {
  (void)cfg;  // held only: `tenants` point into it, and a reconfigure may replace it meanwhile
  constexpr auto k_timeout = std::chrono::seconds{2};
  auto pending = std::make_shared<std::size_t>(0);
  auto finish = [self, tenants, pending, reply] {
    if (*pending == 0) {
      http_response res;
      res.body = render_overview(*tenants);
      reply->answer(std::move(res));
      self->quit();
    }
  };
  for (std::size_t i = 0; i < tenants->size(); ++i) {
    const auto& a = actors[i];
    if (!a) {
      continue;  // restarting: its fields stay null
    }
    ++*pending;
    self->request(a, k_timeout, stats_atom::value)
        .then(
            [tenants, pending, finish, i](tenant_stats& s) {
              (*tenants)[i].stats = s;
              --*pending;
              finish();
            },
            [pending, finish](caf::error&) {
              --*pending;
              finish();
            });
    for (const auto& sub : (*tenants)[i].cfg->subscribers) {
      if (!sub.push) {
        continue;
      }
      ++*pending;
      self->request(a, k_timeout, push_stats_atom::value, sub.name)
          .then(
              [tenants, pending, finish, i, name = sub.name](subscriber_stats& s) {
                (*tenants)[i].push[name] = std::move(s);
                --*pending;
                finish();
              },
              [pending, finish](caf::error&) {
                --*pending;
                finish();
              });
    }
  }
  if (*pending == 0) {
    finish();
    return {};
  }
  return {[](caf::atom_value) {}};  // nothing to do but wait for the answers above
}

class gateway_impl final : public gateway_with_actors {
 public:
  explicit gateway_impl(gateway_options opts) : opts_(std::move(opts)), cfg_(opts_.cfg) {
    const auto& sched = opts_.cfg->server.scheduler;
    caf_cfg_.set("scheduler.max-threads", static_cast<std::size_t>(sched.max_threads));
    caf_cfg_.set("scheduler.max-throughput", static_cast<std::size_t>(sched.max_throughput));
    if (!sched.poll_sleep) {
      // Idle workers otherwise poll with 50 us sleeps, adding ~90 us per hop at low load.
      caf_cfg_.set("work-stealing.moderate-poll-attempts", std::size_t{0});
    }
    system_ = std::make_unique<caf::actor_system>(caf_cfg_);
    registry_ = std::make_shared<tenant_registry>();
    history_ = spawn_history_reader(*system_, opts_.stores.log);
    root_ = system_->spawn(root_behavior, opts_, registry_, history_);
    // Actors initialize asynchronously; wait (start-up only, never on an I/O thread) until the
    // root has spawned every tenant, so the first request finds them.
    bool up = false;
    {
      caf::scoped_actor self{*system_};
      self->request(root_, std::chrono::seconds{10}, stats_atom::value)
          .receive([&](std::size_t n) { up = n == opts_.cfg->tenants.size(); },
                   [&](caf::error&) {});
    }
    if (!up) {
      shutdown();
      throw std::runtime_error("the actor system did not start");
    }
    if (!opts_.replicas_dsn.empty()) {
      follower_ =
          std::make_unique<replica_follower>(opts_, registry_, [this] { return current_cfg(); });
      store::pg::listener::callbacks cb;
      cb.heads = [this](const std::map<std::string, std::uint64_t>& heads) {
        follower_->heads(heads);
      };
      cb.control = [this] { definitions_changed(); };
      cb.connected = [this] {
        definitions_changed();  // changes notified while the connection was down were missed
        follower_->reconnected();
        rescan_senders({});  // puts notified while the connection was down were missed
      };
      cb.outbox = [this](const std::set<std::pair<std::string, std::string>>& channels) {
        rescan_senders(channels);
      };
      listener_ = store::pg::listener::start(opts_.replicas_dsn, std::move(cb));
      want_leases(*opts_.cfg);
      // Ready once it listens (the database was reached moments ago, by the migration): a
      // replica that says ready hears every other replica's commits from then on.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{5};
      while (!listener_->connected() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
    }
    ready_.store(true);
  }

  ~gateway_impl() override { shutdown(); }

  void submit(webhook_submission w) override {
    // 404 for a tenant a reconfigure removed after the HTTP edge routed the request.
    if (auto t = tenant_for(w.tenant, *w.reply)) {
      caf::anon_send(t, webhook_atom::value, webhook_msg{std::move(w)});
    }
  }

  void read_events(events_query q) override {
    if (auto t = tenant_for(q.tenant, *q.reply)) {
      caf::anon_send(t, read_atom::value, read_msg{std::move(q)});
    }
  }

  std::shared_ptr<stream_handle> open_stream(stream_request r) override {
    auto t = registry_->find(r.tenant);
    if (!t || stopping_.load()) {
      return nullptr;  // the session answers 503 with Retry-After
    }
    if (r.of == stream_request::kind::visitor) {
      // The visitor's conversation only, read through the subject index of the privacy store.
      if (!opts_.stores.privacy || r.subject.empty() || r.conversation.empty()) {
        return nullptr;
      }
      auto s = spawn_visitor_stream(*system_, opts_.stores.privacy, std::move(r), t,
                                    opts_.consents, history_);
      return std::make_shared<actor_stream_handle>(std::move(s));
    }
    // The subscriber's purposes decide which events it may see (privacy/consent.hpp); a stream
    // that names no configured subscriber (in-process tools) gets the config default, support.
    privacy::purpose_set purposes = privacy::bit(privacy::purpose::support);
    if (const auto* tenant = current_cfg()->find_tenant(r.tenant)) {
      if (const auto* sub = privacy::find_subscriber(*tenant, r.subscriber)) {
        purposes = privacy::purposes_of(sub->purposes);
      }
    }
    auto s = spawn_stream_actor(*system_, opts_.stores.log, std::move(r), t, opts_.consents,
                                purposes, history_);
    return std::make_shared<actor_stream_handle>(std::move(s));
  }

  bool visitor_revoked(const std::string& tenant, const std::string& subject) const override {
    return opts_.consents && opts_.consents->revoked(tenant, subject);
  }

  bool ready() const override {
    // With several replicas, also while this one can reach the database they share.
    return ready_.load() && !stopping_.load() && (!listener_ || listener_->connected());
  }

  void shutdown() override {
    std::lock_guard<std::mutex> guard(shutdown_mutex_);
    if (!system_) {
      return;
    }
    stopping_.store(true);
    listener_.reset();  // joins its thread, the follower's only user
    if (opts_.leases) {
      opts_.leases->stop();  // hands this replica's singleton work over at once
    }
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
    root_ = actors::root_actor{};
    caf::anon_send_exit(history_, caf::exit_reason::user_shutdown);
    history_ = history_reader_actor{};
    system_->await_all_actors_done();
    // Pending deliveries' callbacks hold actor handles: run and drop them while the system lives.
    if (opts_.http) {
      opts_.http->stop();
    }
    system_.reset();
  }

  tenant_actor tenant_actor_of(const std::string& id) const override { return registry_->find(id); }

  std::shared_ptr<store::definition_store> definitions() const override {
    return opts_.stores.definitions;
  }

  result<store::erase_outcome> erase_tenant(const std::string& tenant,
                                            const std::vector<std::string>& channels) override {
    store::erase_outcome sum;
    auto& privacy = opts_.stores.privacy;
    if (!privacy) {
      return sum;
    }
    for (const auto& channel : channels) {
      auto erased = privacy->erase_channel(tenant, channel);
      if (!erased) {
        return erased.err();
      }
      sum.events += erased->events;  // its dedupe keys stay as tombstones until the sweep below
      sum.dead_letters += erased->dead_letters;
      sum.key_destroyed = sum.key_destroyed || erased->key_destroyed;
      sum.subjects.insert(sum.subjects.end(), erased->subjects.begin(), erased->subjects.end());
    }
    // What no channel named still goes: a cutoff a day ahead covers every row of the tenant.
    timestamp cutoff = now();
    cutoff.unix_ms += 86400000;
    auto swept = privacy->expire(tenant, cutoff);
    if (!swept) {
      return swept.err();
    }
    sum.events += swept->events;
    sum.dedupe_keys += swept->dedupe_keys;
    sum.dead_letters += swept->dead_letters;
    return sum;
  }

  void on_definitions_changed(std::function<void()> f) override {
    std::lock_guard<std::mutex> lock(definitions_m_);
    definitions_changed_ = std::move(f);
  }

  status reconfigure(std::shared_ptr<const config::config> cfg) override {
    // With `shutdown`'s lock: the two never overlap, and reconfigures run one at a time.
    std::lock_guard<std::mutex> guard(shutdown_mutex_);
    if (!cfg) {
      return {errc::internal, "no config to apply"};
    }
    if (!system_ || stopping_.load()) {
      return {errc::unavailable, "the gateway is shutting down"};
    }
    auto running = current_cfg();
    // The tenants it adds: their consent is loaded before any of their events is read (as at
    // start); a failure refuses the whole config.
    std::vector<std::string> added;
    const auto running_by_id = config::tenants_by_id(*running);
    for (const auto& t : cfg->tenants) {
      if (running_by_id.count(t.id) != 0) {
        continue;
      }
      added.push_back(t.id);
      if (opts_.consents) {
        if (auto s = opts_.consents->load(t.id); !s) {
          return {errc::unavailable,
                  "cannot load the consent of tenant " + t.id + ": " + s.err().message};
        }
      }
    }
    reconfigure_msg m;
    m.cfg = cfg;
    {
      const auto changes = config::diff(*running, *cfg);
      m.globals_changed = !changes.global_keys.empty();
      for (const auto& t : changes.tenants_changed) {
        m.changed_tenants.insert(t.id);
      }
    }
    // A gateway started without push subscribers or sendable channels has no HTTP client
    // (and, in memory, no outbox): made now for the first one a reload adds.
    bool sendable = false;
    bool push = false;
    for (const auto& t : cfg->tenants) {
      for (const auto& ch : t.channels) {
        const auto* info = opts_.adapters(ch.type);
        sendable = sendable || (info != nullptr && info->outbound != nullptr);
      }
      for (const auto& sub : t.subscribers) {
        push = push || sub.push.has_value();
      }
    }
    if (sendable && !opts_.outbox) {
      opts_.outbox = store::make_memory_outbox();
      m.outbox = opts_.outbox;
    }
    if ((push || sendable) && !opts_.http) {
      auto client = delivery::http_client::start(opts_.delivery.client);
      if (!client) {
        return {errc::unavailable,
                "cannot start the push delivery client: " + client.err().message};
      }
      opts_.http = std::move(client.value());
      m.http = opts_.http;
    }
    bool confirmed = false;
    caf::error failed;
    {
      caf::scoped_actor self{*system_};
      self->request(root_, std::chrono::seconds{15}, reconfig_atom::value, std::move(m))
          .receive([&](bool ok) { confirmed = ok; }, [&](caf::error& e) { failed = e; });
    }
    // From here on the bridge answers by the new config (unknown_tenant for removed tenants).
    std::atomic_store(&cfg_, cfg);
    if (follower_) {
      follower_->add(added);
    }
    want_leases(*cfg, running.get());
    if (failed) {
      log::warn("gateway", "the reconfigure was not confirmed (", caf::to_string(failed),
                "); the actors apply it when they get to it");
    } else if (!confirmed) {
      log::warn("gateway",
                "not every tenant confirmed the reconfigure in time; the late ones "
                "apply it when they get to it");
    }
    return {};
  }

  void list_dead_letters(const std::string& tenant, const std::string& subscriber,
                         std::uint64_t after, std::size_t limit, responder_ptr reply) override {
    if (auto t = tenant_for(tenant, *reply)) {
      caf::anon_send(t, deadlist_atom::value,
                     dead_letters_query{tenant, subscriber, after, limit, std::move(reply)});
    }
  }

  void redrive(const std::string& tenant, const std::string& subscriber, bool all,
               std::vector<std::uint64_t> ids, responder_ptr reply) override {
    if (auto t = tenant_for(tenant, *reply)) {
      caf::anon_send(t, redrive_atom::value,
                     redrive_request{tenant, subscriber, all, std::move(ids), std::move(reply)});
    }
  }
  void call(api_call c) override {
    if (c.handler.in_root != nullptr) {  // e.g. a deletion-status page: names no tenant
      if (stopping_.load()) {
        c.reply->answer(error_response(errc::unavailable, "shutting down; retry", 1));
        return;
      }
      caf::anon_send(root_, api_atom::value, api_msg{std::move(c)});
      return;
    }
    if (auto t = tenant_for(c.tenant, *c.reply)) {
      caf::anon_send(t, api_atom::value, api_msg{std::move(c)});
    }
  }

  void overview(std::vector<std::string> tenants, responder_ptr reply) override {
    if (stopping_.load() || !system_) {
      reply->answer(error_response(errc::unavailable, "shutting down; retry", 1));
      return;
    }
    auto collected = std::make_shared<std::vector<overview_tenant>>();
    std::vector<tenant_actor> actors;
    auto cfg = current_cfg();  // kept alive by the collector: `overview_tenant::cfg` points in
    for (const auto& id : tenants) {
      const auto* t = cfg->find_tenant(id);
      if (t == nullptr) {
        continue;  // the HTTP layer names configured tenants only
      }
      collected->push_back(overview_tenant{t, std::nullopt, {}});
      actors.push_back(registry_->find(id));
    }
    system_->spawn(overview_collector, std::move(collected), std::move(actors), std::move(reply),
                   std::move(cfg));
  }

  caf::actor_system& system() override { return *system_; }
  actors::root_actor root_actor() const override { return root_; }

 private:
  /// The config the bridge answers by now (`reconfigure` replaces it). Any thread.
  std::shared_ptr<const config::config> current_cfg() const { return std::atomic_load(&cfg_); }

  /// Several replicas: another replica stored outbound messages for `channels` (empty: for any
  /// channel); the senders this replica runs (it holds their lease) read them in.
  void rescan_senders(const std::set<std::pair<std::string, std::string>>& channels) {
    if (!opts_.leases) {
      return;
    }
    auto cfg = current_cfg();
    for (const auto& t : cfg->tenants) {
      for (const auto& ch : t.channels) {
        if (!channels.empty() && channels.count({t.id, ch.name}) == 0) {
          continue;
        }
        if (!opts_.leases->holds(sender_lease(t.id, ch.name))) {
          continue;
        }
        if (auto a = registry_->find(t.id)) {
          caf::anon_send(a, lease_atom::value, send_atom::value, ch.name, true);
        }
      }
    }
  }

  /// Several replicas: asks for the leases of this gateway's singleton work. Asked only now that
  /// every tenant is in the registry, so no grant finds its tenant missing; a tenant (re)started
  /// later asks the keeper itself (`tenant_init::holds_lease`). On a reconfigure (`previous`:
  /// the config it replaces), only for the push subscribers and channels `cfg` adds.
  void want_leases(const config::config& cfg, const config::config* previous = nullptr) {
    if (!opts_.leases) {
      return;
    }
    auto had = [previous](const std::string& tenant, const std::string& name, bool channel) {
      const auto* t = previous != nullptr ? previous->find_tenant(tenant) : nullptr;
      if (t == nullptr) {
        return false;
      }
      if (channel) {
        return t->find_channel(name) != nullptr;
      }
      return std::any_of(
          t->subscribers.begin(), t->subscribers.end(),
          [&](const config::subscriber_config& s) { return s.name == name && s.push; });
    };
    for (const auto& t : cfg.tenants) {
      for (const auto& sub : t.subscribers) {
        if (!sub.push || had(t.id, sub.name, false)) {
          continue;
        }
        opts_.leases->want(push_lease(t.id, sub.name),
                           [registry = registry_, tenant = t.id, name = sub.name](bool held) {
                             if (auto a = registry->find(tenant)) {
                               caf::anon_send(a, lease_atom::value, push_atom::value, name, held);
                             }
                           });
      }
    }
    // A sender lease for every channel that can send (the tenant spawned a sender for it); the
    // keeper asks for all, and a channel without a sender ignores its grant.
    for (const auto& t : cfg.tenants) {
      for (const auto& ch : t.channels) {
        const auto* info = opts_.adapters(ch.type);
        if (info == nullptr || info->outbound == nullptr || !opts_.outbox ||
            had(t.id, ch.name, true)) {
          continue;
        }
        opts_.leases->want(sender_lease(t.id, ch.name),
                           [registry = registry_, tenant = t.id, name = ch.name](bool held) {
                             if (auto a = registry->find(tenant)) {
                               caf::anon_send(a, lease_atom::value, send_atom::value, name, held);
                             }
                           });
      }
    }
    if (previous == nullptr) {
      opts_.leases->want(k_retention_lease, nullptr);  // the sweeper asks `holds` on each tick
    }
  }

  /// The tenant's current actor, or null after answering `reply` (unknown or restarting).
  tenant_actor tenant_for(const std::string& tenant, responder& reply) {
    auto t = registry_->find(tenant);
    if (!t) {
      reply.answer(current_cfg()->find_tenant(tenant) != nullptr
                       ? error_response(errc::unavailable, "tenant is restarting; retry", 1)
                       : error_response(errc::unknown_tenant, "no such tenant"));
    }
    return t;
  }

  class actor_stream_handle final : public stream_handle {
   public:
    explicit actor_stream_handle(stream_actor a) : actor_(std::move(a)) {}
    void cancel() override {
      if (actor_) {
        caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
      }
    }

   private:
    stream_actor actor_;
  };

  // `opts_.cfg` is the config it started with; `cfg_` the current one, only through
  // std::atomic_load / std::atomic_store.
  gateway_options opts_;
  std::shared_ptr<const config::config> cfg_;
  caf::actor_system_config caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::shared_ptr<tenant_registry> registry_;
  actors::root_actor root_;
  history_reader_actor history_;  // catch-up reads of the streams (actors/history_reader.hpp)
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::mutex shutdown_mutex_;
  std::unique_ptr<replica_follower> follower_;       // several replicas only
  std::unique_ptr<store::pg::listener> listener_;  // its thread calls follower_

  void definitions_changed() {
    std::function<void()> f;
    {
      std::lock_guard<std::mutex> lock(definitions_m_);
      f = definitions_changed_;
    }
    if (f) {
      f();
    }
  }
  std::mutex definitions_m_;
  std::function<void()> definitions_changed_;  // the control plane's, set once
};

}  // namespace

std::unique_ptr<gateway_with_actors> start_gateway(gateway_options opts) {
  if (!opts.stores.log) {
    opts.stores = store::make_memory_stores();
  }
  // Live readers (streams, pull, push) read new events from memory, rendered once
  // (store/live_tail.hpp).
  opts.stores = store::with_live_tail(std::move(opts.stores));
  if (!opts.consents) {
    // Start-up: load every tenant's consent before the first event is read.
    opts.consents = std::make_shared<privacy::consent_registry>(opts.stores.privacy);
    for (const auto& t : opts.cfg->tenants) {
      if (auto s = opts.consents->load(t.id); !s) {
        throw std::runtime_error("cannot load the consent of tenant " + t.id + ": " +
                                 s.err().message);
      }
    }
  }
  if (!opts.adapters) {
    opts.adapters = [](std::string_view type) { return adapters::find(type); };
  }
  std::size_t sendable = 0;  // channels with a sender (adapters that encode outbound messages)
  std::vector<std::string> windowed;  // tenants with one: their commits write window rows
  for (const auto& t : opts.cfg->tenants) {
    const std::size_t before = sendable;
    for (const auto& ch : t.channels) {
      const auto* info = opts.adapters(ch.type);
      sendable += info != nullptr && info->outbound != nullptr;
    }
    if (sendable > before) {
      windowed.push_back(t.id);
    }
  }
  if (sendable > 0 && !opts.outbox) {
    opts.outbox = store::make_memory_outbox();
  }
  // Window rows a power cut took (they commit without a sync): written again before the
  // tenants take traffic (outbound/window_rows.hpp).
  for (const auto& tenant : windowed) {
    auto repaired = outbound::repair_windows(*opts.stores.log, *opts.outbox, tenant);
    if (!repaired) {
      throw std::runtime_error("cannot repair the window rows of tenant " + tenant + ": " +
                               repaired.err().message);
    }
    if (repaired.value().events > 0) {
      log::info("outbox", "tenant ", tenant, ": window rows of events ", repaired.value().from + 1,
                "..", repaired.value().to, " written again (", repaired.value().rows, " rows)");
    }
  }
  if (!opts.http) {
    std::size_t push = 0;
    std::size_t in_flight = 0;  // every push subscriber's attempts at once
    for (const auto& t : opts.cfg->tenants) {
      for (const auto& sub : t.subscribers) {
        if (sub.push) {
          ++push;
          in_flight += sub.push->max_in_flight ? static_cast<std::size_t>(*sub.push->max_in_flight)
                                               : opts.delivery.max_in_flight;
        }
      }
    }
    in_flight += sendable * opts.senders.max_in_flight;
    if (push > 0 || sendable > 0) {
      // Room for every subscriber's and sender's attempts at once: a backend or platform that
      // holds all of its requests open never takes a slot another one needs.
      auto& client_opts = opts.delivery.client;
      client_opts.max_active = std::max(client_opts.max_active, in_flight);
      auto client = delivery::http_client::start(client_opts);
      if (!client) {
        throw std::runtime_error("cannot start the push delivery client: " + client.err().message);
      }
      opts.http = std::move(client.value());
    }
  }
  return std::make_unique<gateway_impl>(std::move(opts));
}

std::unique_ptr<gateway> gateway::start(std::shared_ptr<const config::config> cfg) {
  gateway_options opts;
  if (cfg->storage.backend == "sqlite") {
    auto stores = store::make_sqlite_stores(cfg->storage.path, cfg->storage.durability,
                                            cfg->storage.master_key);
    if (!stores) {
      throw std::runtime_error("cannot open the store in " + cfg->storage.path + ": " +
                               stores.err().message);
    }
    opts.stores = std::move(stores.value());
    opts.store_blocks = true;
    // Outbound messages live in their own database beside the event log (store/outbox.hpp).
    auto box = store::make_sqlite_outbox(cfg->storage.path, cfg->storage.durability,
                                         cfg->storage.root_key);
    if (!box) {
      throw std::runtime_error("cannot open the outbox in " + cfg->storage.path + ": " +
                               box.err().message);
    }
    opts.outbox = std::move(box.value());
    opts.outbox_blocks = true;
  } else if (cfg->storage.backend == "postgres") {
    // The replica's name in the database (who migrated, who holds a lease): unique per replica.
    const std::string node = !cfg->cluster.node_id.empty()
                                 ? cfg->cluster.node_id
                                 : cfg->server.listen + "-" + ids::make("").substr(20);
    auto opened = store::pg::open_stores(cfg->storage, node);
    if (!opened) {
      throw std::runtime_error("cannot open the PostgreSQL store: " + opened.err().message);
    }
    if (!opened->schema.applied.empty()) {
      log::info("store", "PostgreSQL schema migrated from version ", opened->schema.found, " to ",
                opened->schema.now);
    }
    opts.stores = std::move(opened->stores);
    opts.outbox = std::move(opened->outbox);
    opts.store_blocks = true;
    opts.outbox_blocks = true;
    opts.replicas_dsn = cfg->storage.postgres.dsn;
    auto keeper = std::shared_ptr<store::pg::lease_keeper>(store::pg::lease_keeper::start(
        opened->connections, node, std::chrono::milliseconds{cfg->cluster.lease_ms}));
    // Push cursors are saved only by the holder of the subscriber's lease, in its generation. A
    // weak reference: the keeper is stopped and released at shutdown before the stores go.
    opened->fenced->held = [weak = std::weak_ptr<store::pg::lease_keeper>(keeper)](
                               const std::string& name) -> std::optional<store::pg::lease> {
      auto k = weak.lock();
      return k ? k->held(name) : std::nullopt;
    };
    opts.leases = std::move(keeper);
  }
  opts.cfg = std::move(cfg);
  opts.settings.mailbox_high_water = static_cast<std::size_t>(opts.cfg->server.mailbox_high_water);
  return start_gateway(std::move(opts));
}

}  // namespace sb::actors

#pragma once

// The retention sweeper (docs/DESIGN.md §3, §7; docs/privacy.md): a child of the root that
// deletes what each tenant's `privacy.retention_days` no longer allows keeping.

#include <chrono>
#include <functional>
#include <memory>

#include "actors/messages.hpp"
#include "actors/reconfigure.hpp"
#include "config/config.hpp"
#include "core/time.hpp"
#include "store/outbox.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

struct sweeper_init {
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<store::privacy_store> privacy;  ///< does the deleting; null = no retention
  /// The outbox (store/outbox.hpp), whose finished messages and window rows expire by the same
  /// retention; null = none (no sendable channel).
  std::shared_ptr<store::outbox> outbox;
  std::function<timestamp()> clock;  ///< null = `sb::now`; tests move time
  /// Time between periodic sweeps; the first runs at start. Zero: no periodic sweep at all, only
  /// sweeps asked for with `sweep_atom` (tests).
  std::chrono::milliseconds interval{std::chrono::hours{1}};
  /// Several replicas: whether this one holds the retention lease (docs/scale-out.md); a
  /// periodic sweep runs only then, and a replica without it looks again after
  /// `lease_recheck`. Null = always (one gateway). Sweeps asked for with `sweep_atom` run anyway.
  std::function<bool()> holds_lease;
  std::chrono::milliseconds lease_recheck{std::chrono::seconds{5}};
};

/// One sweep, as plain code: for each tenant, `expire(tenant, now - retention_days)` of the store
/// and, when given, of the outbox (finished outbound messages last updated before the cutoff, and
/// the window rows of people who last wrote before it); and an audit entry (actor
/// "system:retention", action "retention") for each tenant where it deleted something or failed.
/// Blocks on the stores: call it off the scheduler's threads.
sweep_report sweep_retention(const config::config& cfg, store::privacy_store& store, timestamp now,
                             store::outbox* outbox = nullptr);

/// The sweeper, in pseudo-code:
///
///   interface sweeper {
///     // Sweeps at once (tests, operations) and says what it deleted.
///     (sweep_atom) -> sweep_report
///     // Internal: the periodic sweep is due (every `sweeper_init::interval`).
///     (tick_atom) -> void
///     // The tenants or their retention changed (the root's reconfigure): sweeps with this
///     // config from now on, and at once when a retention got shorter (a tenant's, or the
///     // default's) and sweeps are periodic, so what it no longer allows does not wait for the
///     // next tick. A tenant only added waits: it has nothing old yet.
///     (reconfig_atom, reconfigure_msg) -> void
///   }
using sweeper_actor =
    caf::typed_actor<caf::replies_to<sweep_atom>::with<sweep_report>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<reconfig_atom, reconfigure_msg>>;

/// The sweeper actor: detached (its own thread, since expiry deletes on disk), monitored by
/// `parent`, which stops it on shutdown. Without a privacy store (null) it is a no-op that logs
/// once.
sweeper_actor spawn_sweeper(caf::local_actor* parent, sweeper_init init);

}  // namespace sb::actors

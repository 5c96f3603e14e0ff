#pragma once

// The CAF-facing extension of `gateway` for in-process tests and tools: injectable event log and
// adapters, and access to the actor system. Includes CAF; the HTTP layer must not include it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/gateway.hpp"
#include "actors/root_actor.hpp"

namespace sb::store::pg {
class lease_keeper;
}

namespace sb::actors {

struct gateway_options {
  std::shared_ptr<const config::config> cfg;
  /// The event log, delivery and privacy stores (store/stores.hpp); no `log` = new in-memory
  /// stores (`store::make_memory_stores`).
  store::stores stores;
  adapter_lookup adapters;  ///< null = adapters::find
  /// The log's appends block on disk (fsync): run the store writer on its own thread so that no
  /// scheduler thread waits for the disk.
  bool store_blocks = false;
  actor_settings settings;
  delivery::settings delivery;  ///< push delivery knobs (tests shorten the retry schedule)
  /// The HTTP client push subscribers and senders share; null = one is started (from
  /// `delivery.client`) when a tenant has a push subscriber or a channel that can send. Stopped
  /// by `shutdown` once every actor is done.
  std::shared_ptr<delivery::http_client> http;
  /// Every subject's consent (privacy/consent.hpp); null = one is made over `stores.privacy` and
  /// loaded for every tenant at start.
  std::shared_ptr<privacy::consent_registry> consents;
  /// The retention sweeper's clock; null = `sb::now`. Tests sweep "in the future" with it.
  std::function<timestamp()> clock;
  /// Time between retention sweeps (the first runs at start); zero = only sweeps asked for with
  /// `sweep_atom` (the root answers `find_sweep_atom` with the sweeper).
  std::chrono::milliseconds retention_sweep_interval{std::chrono::hours{1}};
  /// The outbox of outbound messages (store/outbox.hpp); null = an in-memory one when some
  /// tenant has a channel that can send. `outbox_blocks`: its writes block on disk, so each
  /// tenant's outbox writer runs on its own thread.
  std::shared_ptr<store::outbox> outbox;
  bool outbox_blocks = false;
  sender_settings senders;  ///< outbound send knobs (tests shorten the backoff)
  /// Several replicas (`storage.backend: postgres`, docs/scale-out.md): the database the stores
  /// share with other replicas. The gateway then listens there for their commits, applies the
  /// consent changes among them and lets its readers read them (privacy/replicas.hpp), and
  /// answers `/readyz` with 503 while that connection is down. "" = the stores are this
  /// gateway's alone.
  std::string replicas_dsn;
  /// Several replicas: this one's leases on singleton work (store/pg/lease_keeper.hpp). Push
  /// delivery per subscriber and the retention sweeper run only where their lease is held.
  /// Null = one gateway: all of it runs here.
  std::shared_ptr<store::pg::lease_keeper> leases;
};

class gateway_with_actors : public gateway {
 public:
  /// The current actor of a tenant (changes when it restarts).
  virtual tenant_actor tenant_actor_of(const std::string& id) const = 0;
  virtual caf::actor_system& system() = 0;
  /// The root supervisor (answers `find_store_atom` with the current store writer and
  /// `find_sweep_atom` with the retention sweeper).
  virtual actors::root_actor root_actor() const = 0;

  // `list_dead_letters` and `redrive` are part of `gateway` (gateway.hpp).
};

std::unique_ptr<gateway_with_actors> start_gateway(gateway_options opts);

}  // namespace sb::actors

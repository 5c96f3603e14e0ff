#pragma once

// The CAF-facing extension of `gateway` for in-process tests and tools: injectable event log and
// adapters, and access to the actor system. Includes CAF; the HTTP layer must not include it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/gateway.hpp"

namespace sb::actors {

struct gateway_options {
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<store::event_log> log;  ///< null = a new in-memory log
  adapter_lookup adapters;                ///< null = adapters::find
  /// The log's appends block on disk (fsync): run the store writer on its own thread so that no
  /// scheduler thread waits for the disk.
  bool store_blocks = false;
  actor_settings settings;
  delivery::settings delivery;  ///< push delivery knobs (tests shorten the retry schedule)
  /// The HTTP client push subscribers share; null = one is started (from `delivery.client`) when
  /// a tenant has a push subscriber. Stopped by `shutdown` once every actor is done.
  std::shared_ptr<delivery::http_client> http;
};

class gateway_with_actors : public gateway {
 public:
  /// The current actor of a tenant (changes when it restarts).
  virtual caf::actor tenant_actor_of(const std::string& id) const = 0;
  virtual caf::actor_system& system() = 0;
  /// The root supervisor (answers `lookup_atom, "store"` with the current store writer).
  virtual caf::actor root_actor() const = 0;

  // `list_dead_letters` and `redrive` are part of `gateway` (gateway.hpp).
};

/// As `spawn_store_writer` (actors.hpp), with the load-shedding bound: an append that finds the
/// writer's backlog (appends waiting for a commit plus its mailbox) above `high_water` is answered
/// at once with `append_reply::shed`, which the channel turns into 503 `overloaded` with
/// Retry-After, instead of queueing memory without bound.
caf::actor spawn_store_writer(caf::event_based_actor* parent, std::shared_ptr<store::event_log> log,
                              bool detached, std::size_t high_water);

std::unique_ptr<gateway_with_actors> start_gateway(gateway_options opts);

}  // namespace sb::actors

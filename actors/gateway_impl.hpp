#pragma once

// The CAF-facing extension of `gateway` for in-process tests and tools: injectable event log and
// adapters, and access to the actor system. Includes CAF; the HTTP layer must not include it.

#include <memory>

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
};

class gateway_with_actors : public gateway {
 public:
  /// The current actor of a tenant (changes when it restarts).
  virtual caf::actor tenant_actor_of(const std::string& id) const = 0;
  virtual caf::actor_system& system() = 0;
};

std::unique_ptr<gateway_with_actors> start_gateway(gateway_options opts);

}  // namespace sb::actors

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

  // Backend API of push subscribers (docs/DESIGN.md §6); the HTTP layer's routes call these once
  // it has checked the token (tenant, `admin` scope). Never block; answered through `reply`.

  /// `GET /v1/subscribers/{name}/dead-letters?after=<id>&limit=<n>`: 200
  /// {"dead_letters":[{"id","seq","event_id","attempts","last_error","failed_at"}],"next":<id>};
  /// 404 when the tenant has no push subscriber `name`.
  virtual void list_dead_letters(const std::string& tenant, const std::string& subscriber,
                                 std::uint64_t after, std::size_t limit, responder_ptr reply) = 0;

  /// `POST /v1/subscribers/{name}/redrive` with {"ids":[...]} or {"all":true}: takes the dead
  /// letters and delivers them again; 202 {"redriven":[ids],"not_found":[ids],"event_gone":[ids],
  /// "skipped":[ids],"more":bool}. Re-enables a subscriber that a 410 disabled.
  virtual void redrive(const std::string& tenant, const std::string& subscriber, bool all,
                       std::vector<std::uint64_t> ids, responder_ptr reply) = 0;
};

std::unique_ptr<gateway_with_actors> start_gateway(gateway_options opts);

}  // namespace sb::actors

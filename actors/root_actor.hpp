#pragma once

// The root actor's interface: the gateway's supervisor (actors/gateway.cpp), one per gateway.

#include <cstddef>

#include "actors/messages.hpp"
#include "actors/store_writer.hpp"
#include "actors/sweeper.hpp"

namespace sb::actors {

/// The root, in pseudo-code:
///
///   interface root {
///     // The number of tenants it started; answered once they are all spawned (the bridge asks
///     // once, at start-up, before it serves a request).
///     (stats_atom) -> size_t
///     // An API call that names no tenant (e.g. a deletion-status page), answered through its
///     // responder by its root handler (actors/api.hpp).
///     (api_atom, api_msg) -> void
///     // Introspection for tests and operations: the current store writer and retention
///     // sweeper (an error while one restarts).
///     (find_store_atom) -> store_writer_actor
///     (find_sweep_atom) -> sweeper_actor
///     // Internal: restarts after a crash's back-off, of the store writer, the sweeper, or the
///     // tenant at this index of the config.
///     (restart_atom, store_atom) -> void
///     (restart_atom, sweep_atom) -> void
///     (restart_atom, size_t tenant_index) -> void
///   }
///
/// It supervises (monitors, restarts) the store writer, the retention sweeper, the privacy
/// workers and every tenant; an exit message stops them all, then the root.
using root_actor = caf::typed_actor<
    caf::replies_to<stats_atom>::with<std::size_t>, caf::reacts_to<api_atom, api_msg>,
    caf::replies_to<find_store_atom>::with<store_writer_actor>,
    caf::replies_to<find_sweep_atom>::with<sweeper_actor>, caf::reacts_to<restart_atom, store_atom>,
    caf::reacts_to<restart_atom, sweep_atom>, caf::reacts_to<restart_atom, std::size_t>>;

}  // namespace sb::actors

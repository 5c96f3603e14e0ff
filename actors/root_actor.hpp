#pragma once

// The root actor's interface: the gateway's supervisor (actors/gateway.cpp), one per gateway.

#include <cstddef>
#include <string>

#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/reconfigure.hpp"
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
///     // Introspection for tests and operations: the current store writer, outbox writer and
///     // retention sweeper (an error while one restarts, or when there is no outbox).
///     (find_store_atom) -> store_writer_actor
///     (find_outbox_atom) -> outbox_writer_actor
///     (find_sweep_atom) -> sweeper_actor
///     // A reconfigure (gateway::reconfigure): spawns the tenants the config adds, stops those it
///     // removes (their streams end), hands every other one the config (`tenant`'s
///     // `reconfig_atom`: never restarted), updates the bridge's registry, and hands the
///     // retention sweeper the config when the tenants or their retention changed. True once
///     // every tenant kept answered (false when one did not, within the timeout: it still
///     // applies it later).
///     (reconfig_atom, reconfigure_msg) -> bool
///     // Internal: restarts after a crash's back-off, of the store writer, the outbox writer,
///     // the sweeper, or the tenant with this id (unless a reconfigure removed it meanwhile).
///     (restart_atom, store_atom) -> void
///     (restart_atom, outbox_atom) -> void
///     (restart_atom, sweep_atom) -> void
///     (restart_atom, std::string tenant_id) -> void
///   }
///
/// It supervises (monitors, restarts) the store writer, the outbox writer (one for every
/// tenant, made once the gateway has an outbox), the retention sweeper, the privacy workers
/// and every tenant; an exit message stops them all, then the root.
using root_actor = caf::typed_actor<
    caf::replies_to<stats_atom>::with<std::size_t>, caf::reacts_to<api_atom, api_msg>,
    caf::replies_to<find_store_atom>::with<store_writer_actor>,
    caf::replies_to<find_outbox_atom>::with<outbox_writer_actor>,
    caf::replies_to<find_sweep_atom>::with<sweeper_actor>, caf::reacts_to<restart_atom, store_atom>,
    caf::reacts_to<restart_atom, outbox_atom>, caf::reacts_to<restart_atom, sweep_atom>,
    caf::reacts_to<restart_atom, std::string>,
    caf::replies_to<reconfig_atom, reconfigure_msg>::with<bool>>;

}  // namespace sb::actors

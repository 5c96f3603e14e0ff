#pragma once

// The conversation actor's interface: one per live conversation of a tenant.

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"

namespace sb::actors {

/// A conversation, in pseudo-code:
///
///   interface conversation {
///     // A stored event of the conversation (the tenant, in commit order).
///     (event_atom, conversation_event) -> void
///     // The person's last inbound message, Unix ms (0 = none known), restored from the outbox
///     // (through the writer given) first; an invalid writer = the gateway keeps no outbox.
///     // An error when the restore did not answer in time (the next query tries again).
///     (window_atom, outbox_writer_actor) -> int64_t
///     // Internal: the restore's answer (-1 = failed or timed out), by restore number.
///     (restored_atom, uint64_t which, int64_t last_inbound_ms) -> void
///     // Events seen since it started, for tests and operations.
///     (stats_atom) -> uint64_t
///     // The tenant needs room: quit once no window query waits.
///     (evict_atom) -> void
///   }
///
/// Spawned by its tenant on the first event (or outbound send), monitored by it; gone after
/// `idle` without messages. Everything it holds is durable or an introspection counter, so the
/// tenant may stop it at any time.
using conversation_actor =
    caf::typed_actor<caf::reacts_to<event_atom, conversation_event>,
                     caf::replies_to<window_atom, outbox_writer_actor>::with<std::int64_t>,
                     caf::reacts_to<restored_atom, std::uint64_t, std::int64_t>,
                     caf::replies_to<stats_atom>::with<std::uint64_t>, caf::reacts_to<evict_atom>>;

/// Spawns a conversation as a monitored child of `parent`.
conversation_actor spawn_conversation_actor(caf::local_actor* parent, std::string tenant,
                                            std::string key, std::chrono::milliseconds idle);

}  // namespace sb::actors

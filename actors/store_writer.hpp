#pragma once

// The event store writer's interface: the one actor that writes the event log (group commit).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "actors/messages.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// The event store writer, in pseudo-code:
///
///   interface store_writer {
///     // One request's events, all or nothing, committed with whatever else waits in the
///     // mailbox (one transaction, one disk sync). Past the high-water mark of its backlog the
///     // answer is at once `append_reply{shed = true}`, nothing stored.
///     (append_atom, append_job) -> append_reply
///     // Keeps an unparseable body; its id, or `quarantine_full_error()` past the channel's
///     // quota (nothing written), or another error when the write failed.
///     (quarant_atom, quarantine_job) -> uint64_t
///     // Internal: the writer's own group-commit tick.
///     (flush_atom) -> void
///   }
///
/// Its clients are channels (webhooks), `emit_events` (events the gateway makes) and senders
/// (`outbound.status`). The root supervises it; on a restart the new handle reaches every client
/// as `(store_atom, store_writer_actor)`.
using store_writer_actor =
    caf::typed_actor<caf::replies_to<append_atom, append_job>::with<append_reply>,
                     caf::replies_to<quarant_atom, quarantine_job>::with<std::uint64_t>,
                     caf::reacts_to<flush_atom>>;

/// Spawns the store writer as a monitored child of `parent`. `detached`: on its own OS thread,
/// for logs whose appends block on the disk. `high_water`: the backlog (appends waiting for a
/// commit plus its mailbox) past which appends are shed. `quarantine_quota`: bytes of quarantine
/// per channel (`limits.quarantine_bytes_per_channel`).
store_writer_actor spawn_store_writer(caf::local_actor* parent,
                                      std::shared_ptr<store::event_log> log, bool detached,
                                      std::size_t high_water, std::uint64_t quarantine_quota);

/// As above with the defaults of `server.mailbox_high_water` and
/// `limits.quarantine_bytes_per_channel`.
store_writer_actor spawn_store_writer(caf::local_actor* parent,
                                      std::shared_ptr<store::event_log> log, bool detached);

}  // namespace sb::actors

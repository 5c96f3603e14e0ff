#pragma once

// The outbox writer's interface: the one actor of the gateway that touches the outbox.

#include <memory>

#include "actors/messages.hpp"
#include "store/outbox.hpp"

namespace sb::actors {

/// The outbox writer, in pseudo-code:
///
///   interface outbox_writer {
///     // Writes applied in order, in one transaction with whatever else waits (group commit);
///     // a `store::window_only` batch waits up to 5 ms for more to join it. The same batch
///     // with its results, `st` ok; or `st` with the error, nothing stored.
///     (write_atom, outbox_batch) -> outbox_batch
///     // Runs `task.run` with the outbox on the writer's thread, after the writes queued before
///     // it (lingering ones too) are committed; the task answers by itself.
///     (task_atom, outbox_task) -> void
///     // What `POST /v1/messages` must know before judging a message: the message an
///     // idempotency key created, the real peer of a pseudonymous conversation.
///     (resolve_atom, outbox_lookup) -> outbox_lookup
///     // Internal: the writer's own group-commit tick.
///     (flush_atom) -> void
///   }
///
/// One per gateway (once it has an outbox), a child of the root, shared by every tenant: one
/// thread however many tenants, and commits grouped across them. The root restarts it and
/// hands the new handle to every tenant as `(outbox_atom, outbox_writer_actor)`; a tenant
/// forwards it to its senders.
using outbox_writer_actor =
    caf::typed_actor<caf::replies_to<write_atom, outbox_batch>::with<outbox_batch>,
                     caf::reacts_to<task_atom, outbox_task>,
                     caf::replies_to<resolve_atom, outbox_lookup>::with<outbox_lookup>,
                     caf::reacts_to<flush_atom>>;

/// Spawns the outbox writer as a monitored child of `parent`. `detached` (own OS thread) when
/// the outbox's writes block on disk, so no scheduler thread ever waits for an fsync.
outbox_writer_actor spawn_outbox_writer(caf::local_actor* parent,
                                        std::shared_ptr<store::outbox> box, bool detached);

}  // namespace sb::actors

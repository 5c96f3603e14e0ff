#pragma once

// The SSE stream actor's interface: one per open `GET /v1/events/stream` connection.

#include <cstdint>
#include <memory>

#include "actors/messages.hpp"
#include "privacy/consent.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// A live stream, in pseudo-code:
///
///   interface stream {
///     // The tenant's announced head: every event up to it may be read (sent once when the
///     // stream registers, then on every announcement).
///     (head_atom, uint64_t head) -> void
///     // Internal: read the next batch after the cursor.
///     (pump_atom) -> void
///     // Internal: the connection's sink wrote the last batch (posted from the I/O thread).
///     (written_atom) -> void
///   }
///
/// Not a child of anyone: spawned by the bridge, it registers with its tenant, which monitors
/// it and stops it on shutdown; it stops itself when the tenant goes down or the client leaves.
using stream_actor = caf::typed_actor<caf::reacts_to<head_atom, std::uint64_t>,
                                      caf::reacts_to<pump_atom>, caf::reacts_to<written_atom>>;

/// stream -> tenant (`register_atom`, stream_actor): a live stream wants head notifications; the
/// tenant monitors it and answers with `head_atom` at once.

}  // namespace sb::actors

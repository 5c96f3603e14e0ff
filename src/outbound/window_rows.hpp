#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event.hpp"
#include "store/event_log.hpp"
#include "store/outbox.hpp"

/// The window rows of the outbox (`store::outbox::last_inbound`, `peer_of`), derived from the
/// events a tenant commits, and their repair after a power cut.
///
/// The rows are written after each commit of the event log, in a batch of their own that the
/// outbox commits without a disk sync (`store::outbox::apply`): with it, every webhook under
/// `durability: fsync` paid two syncs. The batch also raises the tenant's window head, the seq the
/// rows are written up to; at start `repair_windows` reads the log after that head again, so the
/// rows a power cut took are written again before the tenant takes traffic.
namespace sb::outbound {

/// The outbox writes for committed `events` of `tenant`: one `last_inbound` per conversation
/// with a message from the person (its newest window time), the real peer of a pseudonymous
/// conversation (`pseudonymous`: the tenant pseudonymizes, so a conversation is named by a keyed
/// hash of the peer, and a reply needs the peer), and one `window_head` at the highest seq of
/// `events` (none when no event has a seq).
std::vector<store::outbox_write> window_writes(const std::string& tenant, bool pseudonymous,
                                               const std::vector<event>& events);

/// What `repair_windows` did.
struct window_repair {
  std::uint64_t from = 0;    ///< the window head found (0: none recorded)
  std::uint64_t to = 0;      ///< the window head written
  std::uint64_t events = 0;  ///< events read from the log
  std::uint64_t rows = 0;    ///< window rows written
};

/// Writes again the window rows of `tenant`'s events after the outbox's window head, read from
/// `log` in pages, and raises the head to the log's. Peers are not in the log (a pseudonymous
/// event names the conversation by its digest): their batches are synced, so none needs a
/// repair. A tenant with no head recorded (its rows were written by a version that synced each
/// batch, or it had no sendable channel) gets the log's head and nothing is read. Call it before
/// the tenant's actors start; each page is one outbox batch.
result<window_repair> repair_windows(store::event_log& log, store::outbox& box,
                                     const std::string& tenant);

/// The window facts of one stored event's JSON (schema v1, docs/DESIGN.md §5): `type`,
/// `conversation`, `subject`, `occurred_at`, `received_at`, `content.echo`. False when the JSON is
/// not an object (the caller skips the event).
bool window_facts(const store::stored_event& stored, event& out);

}  // namespace sb::outbound

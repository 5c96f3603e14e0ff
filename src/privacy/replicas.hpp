#pragma once

// Consent across replicas (docs/scale-out.md, "Consent across replicas"): what the events other
// replicas committed change in this replica's consent registry, applied before this replica's
// readers may read them.
//
// Every consent change is in the log, in commit order with the events it governs: an opt-out or
// opt-in keyword is the person's message itself, an API change and a keyword's durable record are
// `consent.changed` events, an erasure is a `privacy.erased` receipt. A replica that applies them
// in seq order, and announces a seq to its readers only after applying everything up to it, never
// forwards an event under consent older than that event's commit, whichever replica stored what.

#include <cstdint>
#include <functional>

#include "config/config.hpp"
#include "core/error.hpp"
#include "privacy/consent.hpp"
#include "store/event_log.hpp"

namespace sb::privacy {

/// What `follow_commits` read and applied.
struct followed_commits {
  std::uint64_t through = 0;  ///< every event of the tenant up to here is applied
  std::uint64_t changes = 0;  ///< consent changes applied (keywords, consent.changed)
  std::uint64_t erasures = 0;  ///< privacy.erased receipts applied
};

/// Reads the tenant's events after `after` up to `head` (from the store; the live tail answers
/// what this replica appended itself) and applies, in seq order, what they change:
/// - a `message` whose text is one of the tenant's keywords: the keyword's change, as the
///   replica that stored it applied it (`keyword_change`);
/// - `consent.changed`: the change it records (its `consent` block);
/// - `privacy.erased`: the subject's state is dropped and its events up to the receipt are no
///   longer forwarded (`consent_registry::mark_erased`), and the log's memory of the tenant is
///   dropped (`event_log::drop_cached`), so no erased event is served from it.
/// Memory only: the replica that committed each change stored it. Applying a change twice (this
/// replica's own commits, read again) leaves the same state. On a read error, what was applied
/// before it stays applied and `through` says how far; the error is returned only when nothing
/// could be read. `each` (optional) sees every event read, after its change is applied.
result<followed_commits> follow_commits(
    store::event_log& log, consent_registry& consents, const config::tenant_config& tenant,
    std::uint64_t after, std::uint64_t head,
    const std::function<void(const store::stored_event&)>& each = {});

}  // namespace sb::privacy

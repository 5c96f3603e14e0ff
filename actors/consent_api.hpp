#pragma once

// Consent and restriction served through the actors (docs/DESIGN.md §6, §7): the two API calls
// and the opt-out/opt-in keywords of inbound messages. The policy itself is plain code in
// src/privacy (consent.hpp, requests.hpp); these are the thin shells that persist, audit and
// announce a change.
//
// Every handler answers its call exactly once. Store work (the consent record, the audit entry)
// runs on the privacy workers (actors/privacy_jobs.hpp), so neither the tenant's mailbox nor a
// scheduler thread waits on the disk, and no thread is started per call. The registry's memory is
// changed first, so every event read after the change is judged with it, whatever the store's
// speed.

#include <vector>

#include "actors/api.hpp"
#include "actors/api_handlers.hpp"
#include "core/event.hpp"
#include "privacy/consent.hpp"

namespace sb::actors {

// The API handlers of this file (`put_consent`, `restrict_subject`) are declared in
// actors/api_handlers.hpp.

/// The one-shot job that makes a request's keyword consent changes durable, in pseudo-code:
///
///   interface keyword_job {
///     // Start: queue the writes on the privacy workers; true once every consent write and
///     // event is stored, false otherwise (at once when the workers' queue is full). It quits
///     // after answering.
///     (save_atom) -> bool
///     // Internal: the worker's report (posted from the worker).
///     (save_atom, bool durable) -> void
///   }
using keyword_job_actor =
    caf::typed_actor<caf::replies_to<save_atom>::with<bool>, caf::reacts_to<save_atom, bool>>;

/// In the tenant actor, for newly stored events (`commit_atom`), before they are announced: an
/// inbound message whose whole text is an opt-out/opt-in keyword changes its subject's consent
/// in the registry at once (`privacy::keyword_change`), so the message itself is judged with the
/// new state.
///
/// `duplicates` are keyword messages of the same request that the store already held (a
/// platform's retry; `seq` = the original's). Their change may never have been stored: the
/// gateway may have crashed between storing the message and writing the consent, before it
/// acknowledged. A duplicate whose change the subject's state already shows is written again
/// (idempotent); one whose subject has no state, or a state older than the message's
/// `occurred_at`, is applied now; one whose subject changed its choice since (a later keyword or
/// API call) changes nothing.
///
/// Returns the one-shot job (`keyword_job_actor`, which hands the writes to the privacy workers)
/// that makes the changes durable, or a null handle when there is none. The job starts when it
/// receives `save_atom` (answering `false` at once when the workers' queue is full): it writes each
/// changed subject's state to the store, audits each change (actor "platform:<channel>", action
/// opt_out/opt_in), stores one `consent.changed` per message (same channel, conversation and
/// subject; source "keyword"; deduplicated per message, so a retry stores it once), answers
/// `true` when every consent write and the events were stored (`false` otherwise; an audit
/// failure is logged) and quits. The channel's request for a keyword batch is delegated to it,
/// so the platform's 200 follows the consent write (actors/channel.cpp).
keyword_job_actor on_committed_keywords(const tenant_api_env& env, const std::vector<event>& events,
                                        const std::vector<event>& duplicates = {});

/// The `consent.changed` event for a change of `subject`; channel, conversation (and the dedupe
/// key, "consent:" + the trigger's dedupe key) from `trigger` when a message caused it, else
/// none.
event consent_changed_event(const std::string& tenant, const std::string& subject,
                            const privacy::consent_change& change, const char* source,
                            const event* trigger);

}  // namespace sb::actors

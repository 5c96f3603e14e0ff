#pragma once

// The privacy duties of docs/DESIGN.md §7 served through the actors: export (portability) and
// erasure of a subject, the audit log, platform privacy requests (`adapters::privacy_hooks`:
// privacy webhooks, data-deletion callbacks and their status page). docs/privacy.md maps each
// duty to its feature and test.
//
// Every handler answers its call exactly once. Store work (export, erase, audit) runs on the
// gateway's privacy workers (actors/privacy_jobs.hpp: a few threads, a bounded queue; past it
// 503 with Retry-After), so neither the tenant's mailbox nor a scheduler thread waits on the
// disk, and no call starts a thread. Platform privacy requests (privacy webhooks, deletion
// callbacks) are carried out once: the store records each by a keyed digest
// of its signed bytes (store::privacy_store::claim_privacy_request), and the same request again
// is answered as before without erasing or auditing anything again. The steps of an erasure are
// the plain state machine `privacy::erasure_flow` (privacy/erasure_flow.hpp), which the handlers
// drive.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/api.hpp"
#include "actors/api_handlers.hpp"
#include "actors/messages.hpp"
#include "actors/subscriber_actor.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

/// Most events an export lists; beyond it the export says "truncated": true.
inline constexpr std::size_t k_export_limit = 10000;

// The API handlers of this file (export, erasure, audit, Meta's data-deletion callback and its
// status page) are declared in actors/api_handlers.hpp.

// -- privacy webhooks (routed here by the tenant actor) -------------------------------------

/// True when `w` is a privacy request that arrives as a webhook for a channel of `tenant`: a
/// POST whose `adapters::privacy_hooks::request_header` names a request the adapter's
/// `request_action` knows (Shopify's mandatory privacy webhooks customers/redact,
/// customers/data_request, shop/redact), or, for types that name requests inside the body, whose
/// body holds one (`privacy_hooks::requests_in_body`: HubSpot's contact.privacyDeletion).
bool is_privacy_webhook(const config::tenant_config& tenant, const webhook_submission& w);

/// Handles such a webhook: verifies it as the channel does (signature, account; 401/403 and
/// nothing done otherwise) and has the adapter check that the body is exactly a request of its
/// kind for the channel's account (400 or 403, nothing done or kept otherwise), then acts on its
/// `privacy_action`: erase_person erases the person's subject, erase_channel every event and
/// subject of the channel (its earlier privacy receipts stay), export_person builds the
/// subject's export; then stores the receipt event (`privacy.redact` / `privacy.data_request`)
/// and answers 200 only once the erasure is done and the receipt durable. The same body again
/// (the platform's retry, or a replay under another delivery id) is answered as a duplicate
/// ({"events":0,"duplicates":1}) and does nothing again.
///
/// A body of several events (requests named inside the body) stores its other events first, as
/// a channel would, then carries out each request in turn as above, each claimed by the body's
/// hash and its event's dedupe key; 200 with the summed counts once all of it is durable, else
/// the first failure's answer (the platform's retry finds what was done as duplicates).
void privacy_webhook(const tenant_api_env& env, webhook_submission w);

// -- in the tenant and subscribers ---------------------------------------------------------

/// The tenant's part of an erasure (`erased_atom`): every push subscriber drops the subjects'
/// events from its in-memory window; the promise is delivered (with how many were dropped) once
/// every subscriber has answered or timed out.
caf::result<std::uint64_t> on_subjects_erased(tenant_actor::pointer self,
                                              const std::vector<subscriber_actor>& subscribers,
                                              const erased_notice& n);

// -- plain logic (tested without actors) ---------------------------------------------------

/// The export of a subject: {"subject","tenant","identifiers":[{"channel","type",
/// "platform_id","name"?}],"consent":<consent_json>,"events":[...],"truncated"?,"exported_at"}.
/// `identifiers` are the distinct (channel, platform_id) of the events' `sender` blocks.
/// `events` holds at most `limit` events; with more, "truncated": true.
std::string export_json(const std::string& tenant, const std::string& subject,
                        const std::vector<store::stored_event>& events, std::size_t limit,
                        const std::string& consent_json, timestamp exported_at);

/// A new erasure receipt id: "era_" + ULID (`privacy::new_receipt_id`).
std::string new_receipt_id();

/// A new deletion confirmation code: "del_" + ULID + 16 random Crockford characters (80 more
/// random bits), unguessable.
std::string new_deletion_code();

/// The receipt event of an erasure or platform request: `type`, the tenant, the channel when
/// one is given, and the privacy block; no `subject` (sealed under the tenant's key, so it
/// survives the erasure it reports), no sender, conversation or content.
event privacy_receipt(std::string type, const std::string& tenant, privacy_info info);

}  // namespace sb::actors

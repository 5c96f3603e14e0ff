#pragma once

// Every handler of an API call in the actor tree, declared once, each defined in the file its
// area lives in. The HTTP layer binds each to its route in the one handler list
// (src/http/routes.cpp: method, path pattern, scope, handler); an `api_call` carries the bound
// handler (`actors::api_handler`, gateway.hpp), so nothing is dispatched by name. CAF-free: the
// handler list includes this header without the actor system.
//
// A handler of the tenant (`api_handler::tenant_fn`) runs in the tenant actor of
// `api_call::tenant` (actors/api.hpp, `tenant_api_env`); a handler of the root
// (`api_handler::root_fn`) in the root actor, for a call that names no tenant (`root_api_env`).
// Every handler answers its call exactly once, and never blocks the actor it runs in: it answers
// at once or hands the work to a one-shot actor or the privacy workers. The scope a call needs
// has been checked by the HTTP layer before the handler runs.

#include "actors/gateway.hpp"

namespace sb::actors {

// -- web chat visitors (actors/visitor_api.cpp, docs/webchat.md) ------------------------------
// The HTTP layer's visitor gate (src/http/visitor_gate.hpp) has checked the Origin, the session
// token (but for a new session) and the visitor limits. `api_call::params` are
// {tenant, channel}; `api_call::caller` is the visitor id.

/// `POST /chat/{tenant}/{channel}/sessions` with a body: records what the visitor gave (name,
/// e-mail: a `customer` event of the visitor; purposes: consent changes, audited, with their
/// `consent.changed`), then answers 201 with `api_call::body`'s `answer`. The gate has minted
/// the session already and validated every member (src/http/visitor_gate.hpp
/// `parse_session_body`); `api_call::body` is the JSON object
///   {"visitor":"vis_…","name":"…","email":"…","purposes":{"marketing":false,…},
///    "answer":{"visitor":"vis_…","token":"…","expires_at":"<RFC 3339>"}}
/// where `name`, `email` and `purposes` appear only when the visitor gave them (at least one
/// does; `purposes` holds only "support", "ai", "analytics" and "marketing", each once, as
/// booleans) and `answer` is the 201 body to send as it is once the rest is recorded.
void start_visitor_session(const tenant_api_env& env, api_call& c);

/// `POST /chat/{tenant}/{channel}/read` {"up_to":<seq>}: the widget showed the agent's
/// messages up to that seq; they become `read` (`visitor_receipt`). 202.
void visitor_read(const tenant_api_env& env, api_call& c);

// -- privacy (actors/privacy_api.cpp, docs/privacy.md) ---------------------------------------

/// `GET /v1/subjects/{subject}` (scope privacy): the subject's export (`export_json`), audited
/// as `export`. An unknown or erased subject exports empty (200): subject ids are per tenant,
/// so another tenant's subject is simply unknown here.
void export_subject(const tenant_api_env& env, api_call& c);

/// `DELETE /v1/subjects/{subject}` (scope privacy): erases the subject (store, consent
/// registry, push windows), stores a `privacy.erased` receipt and answers
/// 200 {"receipt":"era_<ULID>","subject":..,"erased":{"events":n,"dedupe_keys":n,
/// "dead_letters":n,"key_destroyed":bool}}, where `dedupe_keys` counts the erased events' dedupe
/// keys, kept as content-free tombstones so that retries and replays stay duplicates
/// (store/privacy_store.hpp). Idempotent: erasing an unknown or already erased subject answers
/// 200 with zeros (and a receipt), as GDPR requests are retried.
void erase_subject(const tenant_api_env& env, api_call& c);

/// `GET /v1/audit?after=<id>&limit=<n>` (scope admin): the tenant's audit entries after `after`,
/// oldest first: {"entries":[{id,at,tenant,actor,action,subject,outcome,detail}],"next":<id>}.
void list_audit(const tenant_api_env& env, api_call& c);

/// `POST /webhooks/{tenant}/{channel}/data-deletion` (no token): the data-deletion callback of a
/// channel whose adapter has one (`adapters::privacy_hooks::deletion_enabled`; Meta's for the
/// Meta types, 404 otherwise). Has the adapter verify it with the channel's secret (401 and
/// nothing done when it does not hold) and its freshness (400 `stale_request` when more than an
/// hour old or more than five minutes ahead), erases the subject of the user id, stores the
/// deletion request and a `privacy.redact` receipt, and answers
/// {"url":"<public url>/v1/deletion-status/<code>","confirmation_code":"<code>"}. The same
/// signed_request again is answered with the same code, and nothing is erased or audited again.
void meta_data_deletion(const tenant_api_env& env, api_call& c);

/// `GET /v1/deletion-status/{code}` (no token; the code is the capability), in the root:
/// {"confirmation_code","status","requested_at","completed_at"} or 404. The lookup runs on the
/// privacy workers (`env.jobs`), so a flood of this public route starts no thread and holds no
/// scheduler thread on the disk; past the workers' queue it is answered 503.
void deletion_status(const root_api_env& env, api_call& c);

// -- consent (actors/consent_api.cpp) --------------------------------------------------------

/// `PUT /v1/subjects/{subject}/consent` (scope privacy) with {"purpose":"marketing",
/// "granted":false}: sets the subject's choice for that purpose, writes it to the store, audits
/// it (actor "subscriber:<name>", action "consent"), emits `consent.changed` (source "api") and
/// answers 200 with the subject's consent state (`privacy::to_json`). 400 for a bad subject id
/// or body (naming the member); 503 when the store, the audit or the event could not be
/// written (the call is idempotent: retry). A subject the tenant never saw is accepted: a person
/// may object before writing, and subject ids are per tenant, so another tenant's subject is
/// never touched.
void put_consent(const tenant_api_env& env, api_call& c);

/// `POST /v1/subjects/{subject}/restrict` (scope privacy) with {"restricted":true|false}: sets
/// or lifts restriction of processing as `put_consent` does (audit action "restrict",
/// `consent.changed` carrying {"restricted":…,"source":"api"}). A restricted subject's events
/// are still stored, but reach no subscriber (except consent.changed and privacy.*) until the
/// restriction is lifted; then every stored event reaches them again on the next read.
void restrict_subject(const tenant_api_env& env, api_call& c);

// -- outbound (actors/outbound_api.cpp, docs/outbound.md) ------------------------------------

/// `POST /v1/messages` (scope send): validates, checks consent and the window, stores the
/// message through the channel's sender and answers 202 {"id","state"}.
void send_message(const tenant_api_env& env, api_call& c);

/// `GET /v1/messages/{id}` (scope send): 200 {"id","state","channel","conversation","purpose",
/// "attempts","platform_message_id","error","created_at","updated_at"}, or 404 (unknown id, or
/// another tenant's).
void get_message(const tenant_api_env& env, api_call& c);

// -- quarantine and push subscribers (actors/quarantine_api.cpp; scope admin) ----------------

/// `GET /v1/quarantine?channel=<name>&after=<id>&limit=<n>`: the tenant's quarantined bodies
/// with id > `after`, oldest first, of one channel or all: {"quarantined":[{"id","channel",
/// "reason","received_at","bytes"}],"next":<last id>}; with `channel`, also "used_bytes" (what
/// the channel's quarantine holds against its quota) and "quota_bytes".
void list_quarantine(const tenant_api_env& env, api_call& c);

/// `GET /v1/quarantine/{id}`: the body exactly as received (`application/octet-stream`);
/// `GET /v1/quarantine/{id}?meta`: {"id","channel","reason","received_at","bytes","headers":
/// {name: value}} (the headers kept with it). Audited as `quarantine_download`.
void get_quarantined(const tenant_api_env& env, api_call& c);

/// `POST /v1/quarantine/{id}/reingest`: parses the body again with the channel's running adapter
/// (without verifying it again: it was verified when it arrived, and the secret may have been
/// rotated since) and stores its events as a webhook's, through the channel (dedupe, consent
/// keywords, conversations, streams, push); then deletes the quarantined row and answers 200
/// {"status":"ok","events":n,"duplicates":d}. Still unparseable: 400 `malformed_body` with the
/// parser's message, and the body stays. A Shopify privacy request (customers/redact, ...) is
/// refused (400): re-ingesting it would store it without acting on it. Audited as
/// `quarantine_reingest`.
void reingest_quarantined(const tenant_api_env& env, api_call& c);

/// `DELETE /v1/quarantine/{id}`: deletes one body: 200 {"purged":1,"bytes":n}, or 404.
/// `DELETE /v1/quarantine?channel=<name>`: deletes every body of the channel (also of a channel
/// no longer configured): 200 {"purged":n,"bytes":b}; without `channel`, 400. Both audited as
/// `quarantine_purge`.
void purge_quarantined(const tenant_api_env& env, api_call& c);
void purge_quarantine_of_channel(const tenant_api_env& env, api_call& c);

/// `POST /v1/subscribers/{name}/enable`: a push subscriber whose receiver answered 410 Gone
/// delivers again, from its cursor (actors/messages.hpp `enable_request`). 404 for a name that is
/// not a push subscriber of the tenant, 503 while it restarts. Served by the subscriber actor
/// (actors/subscriber.cpp), which also keeps the durable 410 record.
void enable_subscriber(const tenant_api_env& env, api_call& c);

}  // namespace sb::actors

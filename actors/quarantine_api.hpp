#pragma once

// The quarantine's admin API (docs/operations.md, "Quarantine"): list, download, re-ingest and
// purge the signed but unparseable bodies the channels kept, so a full quota
// (`limits.quarantine_bytes_per_channel`) is never permanent. Every call is of the token's tenant
// and needs the `admin` scope (checked by the HTTP layer).
//
// Every handler answers its call exactly once. Store work runs in a one-shot detached actor (its
// own thread, gone when the call is answered), never in the tenant's mailbox. Purges, downloads
// and re-ingests are written to the tenant's audit log (`GET /v1/audit`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/api.hpp"
#include "core/error.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

// -- API calls (dispatched by actors/api.cpp) ------------------------------------------------

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

// -- plain logic (tested without actors) ---------------------------------------------------

/// The query of `GET` and `DELETE /v1/quarantine`.
struct quarantine_query {
  std::string channel;      ///< "" = every channel
  std::uint64_t after = 0;  ///< bodies with id > after
  std::size_t limit = 100;  ///< 1..1000 (above: clamped)
};

/// Parses `channel`, `after` and `limit` (`tenant` is the HTTP layer's); a malformed value is
/// `errc::bad_request` naming the parameter.
result<quarantine_query> parse_quarantine_query(std::string_view query);

/// The `{id}` path parameter: a positive decimal; else `errc::bad_request`.
result<std::uint64_t> parse_quarantine_id(const std::vector<std::string>& params);

/// The list answer. `usage` = {used, quota} when one channel was asked for.
std::string quarantine_list_json(const std::vector<store::quarantine_entry>& entries,
                                 std::uint64_t next,
                                 std::optional<std::pair<std::uint64_t, std::uint64_t>> usage);

/// The `?meta` answer of one body.
std::string quarantine_meta_json(const store::quarantined_body& b);

}  // namespace sb::actors

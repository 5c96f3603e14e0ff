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
#include "actors/api_handlers.hpp"
#include "core/error.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

// The API handlers of this file (the quarantine's calls and `enable_subscriber`) are declared in
// actors/api_handlers.hpp.

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

#pragma once

// The privacy store on PostgreSQL (issue 13; schema version 4): the same contract as the SQLite
// store (store/privacy_store.hpp), over the event log's tables. What differs (docs/scale-out.md):
// - An erasure locks its tenant's head row first, as appends do: it waits for appends of the
//   tenant in flight and they wait for it, so no append stores an event under the key the erasure
//   destroys (the foreign key would refuse it, and the erasure would fail instead).
// - Privacy requests being carried out are claimed in this replica's memory, as on one node. Two
//   replicas that receive the same request at the same moment may both carry it out; what they do
//   (erase, export) is idempotent, and the record of it is stored once.
// - Retention deletes in batches of a few thousand rows, each its own transaction.
// Each call borrows a connection from the pool: thread-safe.

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/pg/pool.hpp"
#include "store/privacy_store.hpp"

namespace sb::store::pg {

/// The store over `connections` (a database at schema version 4 or later), opening what the
/// event log sealed: data keys wrapped under a key derived from `master_key` (the current one),
/// privacy-request digests keyed by one derived from `root_key` (the store's, for life:
/// store/root_key.hpp). 32 raw bytes each, else `errc::internal`.
result<std::shared_ptr<privacy_store>> make_privacy_store(std::shared_ptr<pool> connections,
                                                          const std::string& root_key,
                                                          const std::string& master_key);

}  // namespace sb::store::pg

#pragma once

// The event log on PostgreSQL (issue 13; schema version 2, store/pg/schema.cpp): the same
// contract as the SQLite log (store/event_log.hpp) and the same sealed values, for replicas that
// share one database. What differs, and why (docs/scale-out.md):
// - An append locks its tenants' head rows (in name order, so two replicas never deadlock) until
//   COMMIT: a tenant's seqs are issued in commit order across replicas, without gaps, and its
//   dedupe keys are claimed one transaction at a time (a retry on another replica waits for the
//   original's commit, then finds it).
// - The key an event is sealed under is a foreign key of the event: the database refuses an
//   event under a key an erasure has deleted.
// - A quarantine locks its channel's usage row: concurrent quarantines on several replicas never
//   take a channel past its quota together.
// Each call borrows a connection from the pool: thread-safe.

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/event_log.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

/// The log over `connections` (a database at schema version 2 or later: `migrate` first). The
/// data keys are wrapped under a key derived from `master_key` (the current one), the dedupe
/// digests keyed by one derived from `root_key` (the store's, for life: store/root_key.hpp; the
/// master key itself until the first rotation). 32 raw bytes each, else `errc::internal`. Neither
/// is checked here: `open_stores` unlocks the root key with the master key first.
result<std::shared_ptr<event_log>> make_event_log(std::shared_ptr<pool> connections,
                                                  const std::string& root_key,
                                                  const std::string& master_key);

}  // namespace sb::store::pg

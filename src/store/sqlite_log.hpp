#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "store/stores.hpp"

/// The durable store: one SQLite database, `<dir>/switchboard.db`, in WAL mode, with every event
/// payload and quarantined body encrypted (docs/operations.md, "Storage and encryption at rest").
namespace sb::store {

/// Opens (or creates, with `dir`) the database and returns its `event_log`, `delivery_store` and
/// `privacy_store`, all three over it. One process at a time: a second open of the same `dir`, in
/// this or another process, fails until every member of the first bundle is destroyed.
///
/// `master_key` (`storage.master_key`, 32 raw bytes) wraps the data keys. Each event's JSON and
/// conversation are sealed with AES-256-GCM under its subject's data key (the tenant's own key,
/// subject "", for events without a subject and for quarantined bodies); dedupe keys are stored
/// as keyed digests. A store remembers a check value of the
/// key it was created with: opening it with another key fails with "storage.master_key does not
/// match the key this store was created with" and changes nothing. A store of schema version 1
/// (plaintext, the previous release) is migrated on open, in one transaction: its rows are sealed
/// under their subjects' keys.
///
/// Durability of a successful `append` (and of every other write): `fsync` = on disk (the WAL is
/// fsynced at each commit); `os` = survives a crash of the process, not of the machine; `none` =
/// no syncs at all, the database may be corrupted by a power loss (tests and benchmarks).
///
/// Deleted rows (erasure, retention) are overwritten with zeros in the database file (SQLite
/// `secure_delete`), and an erasure ends with a checkpoint that truncates the WAL when no reader
/// holds an older snapshot, so a copy of the files taken after an erasure holds neither the
/// subject's rows nor its wrapped key.
///
/// Threading as `event_log`, `delivery_store` and `privacy_store` document. Appends and the other
/// writes go through one writer connection, one at a time; reads use a small pool of read-only
/// connections and see a committed snapshot, never a partly written batch, and do not wait for
/// the writer. Unwrapped data keys are cached in memory (bounded, least recently used first out);
/// an erasure evicts the subject's key.
///
/// Errors (at open: a master key that is not 32 bytes or not this store's, unreadable or newer
/// schema, directory not writable, store in use; later: I/O failures, disk full, a row that does
/// not decrypt) are returned as `errc::internal` or `errc::unavailable` (busy) values.
[[nodiscard]] result<stores> make_sqlite_stores(const std::string& dir,
                                                config::durability durability,
                                                const std::string& master_key);

}  // namespace sb::store

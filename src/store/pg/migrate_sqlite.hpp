#pragma once

// `switchboard migrate --from sqlite:DIR --to postgres`: a single-node store (the SQLite event
// log, delivery and privacy stores in `<DIR>/switchboard.db`, the outbox in `<DIR>/outbox.db`)
// copied into an empty PostgreSQL database, for a move from one machine to several replicas
// (docs/operations.md, "Moving from one machine to several replicas").
//
// The sealed values are the same bytes in both backends (store/codec.hpp, store/outbox_codec.hpp),
// so rows are copied as they are: nothing is decrypted or sealed again, and the same master key
// opens the copy. What differs is laid out again on the way:
// - an event names the row of the data key it is sealed under (`events.subject_key`, a foreign
//   key on PostgreSQL), also when it has no subject (the tenant's own key, subject "");
// - the dedupe keys the SQLite writer had claimed but not merged into its table yet
//   (store/sqlite/dedupe_claims.hpp; `tenant_heads.deduped`) are taken from their events;
// - SQLite's own bookkeeping (the subject index, the dedupe generations, the merge and index
//   watermarks) has no counterpart and is left behind;
// - ids keep their values (dead letters, quarantined bodies and audit entries are named by them),
//   and each identity sequence continues past the highest id SQLite ever issued, deleted or not.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

/// What a copy did.
struct migration_report {
  struct table {
    std::string name;        ///< the PostgreSQL table
    std::uint64_t rows = 0;  ///< rows inserted into it
  };
  std::vector<table> tables;  ///< in the order copied
  bool outbox = false;        ///< `<DIR>/outbox.db` existed (else no outbound state was copied)
  std::chrono::milliseconds elapsed{0};

  /// The rows copied into `name`; 0 for a table not copied.
  std::uint64_t rows(std::string_view name) const;
};

/// Copies the SQLite store in `sqlite_dir` into the database of `target`, all or nothing.
///
/// 1. `<sqlite_dir>/switchboard.db` must exist (no store is created). Both SQLite stores are opened
///    as the gateway opens them (`make_sqlite_stores`, `make_sqlite_outbox` when `outbox.db`
///    exists): they take the directory's locks, so a gateway still running on it is refused (and
///    cannot start during the copy), bring an older schema to the current one, and check
///    `master_key` against the store's key check (and its root record, when it was rotated: only
///    its current master key opens it). A wrong key is refused before anything is written
///    anywhere. The files are then read through read-only connections of their own, each in one
///    snapshot.
/// 2. The PostgreSQL schema is brought to this build's version (`migrate`, recorded as done by
///    `node`).
/// 3. One transaction: the tables are locked against writers, a database that holds any Switchboard
///    data already (a root record included) is refused (`errc::bad_request`, nothing copied), an
///    outbox key check found there must be the store's root key's, then every table is copied in
///    batches (arrays through `unnest`), the identity sequences are set past the copied ids, and
///    the transaction commits. Any failure rolls it back: the database is left empty, as it was.
///
/// Copied: tenant heads (seqs), data keys, events, dedupe keys (tombstones of erased events
/// included), quarantined bodies and each channel's quarantine usage, cursors, dead letters,
/// disabled subscribers, consent, the audit log, deletion and privacy requests, outbound messages,
/// the 24-hour window rows, window heads, the outbox's key check (written afresh under the root
/// key when there is no `outbox.db`) and the root record of a store that was rotated
/// (store/root_key.hpp: the data keys stay wrapped under `master_key`, the record with them, so
/// the copy opens under the same master key, and its root key is the store's). Leases are not:
/// no work is held during a move.
///
/// Errors name what failed: `errc::not_found` for a directory without a store, `errc::unavailable`
/// for a store in use (or PostgreSQL gone), `errc::bad_request` for a database not empty,
/// `errc::internal` for a wrong master key or a row that cannot be copied.
result<migration_report> copy_sqlite_store(const std::string& sqlite_dir, connection& target,
                                           const std::string& master_key,
                                           std::string_view node = "switchboard migrate");

}  // namespace sb::store::pg

#pragma once

// Backups of a single gateway's SQLite store (`switchboard backup` / `switchboard restore`,
// docs/operations.md "Backup and restore"): a consistent copy of each database file taken while
// the gateway runs, a manifest that says what the copy holds, and the checked way back.
//
// The store is two databases in `storage.path`: `switchboard.db` (events, dedupe, delivery
// cursors and dead letters, subject keys, consent, audit, deletion and privacy requests) and
// `outbox.db` (outbound messages and the 24-hour windows). Each is copied with SQLite's online
// backup API inside a read transaction of its own, so each copy is one committed state of its
// file: WAL readers never wait for the writer, nor the writer for them.
//
// Across the two files: the event log's snapshot begins first, the outbox's right after (within
// a millisecond or so), and the copies are made afterwards. The gateway writes an outbound
// message to the outbox before the event log says anything of it, so every message the copied
// log mentions is in the copied outbox; the skew goes one way only: the outbox may hold messages
// (or states of them) a few milliseconds newer than the log. The 24-hour windows are rebuilt from
// the log at start-up.
//
// Threading: the functions block on disk I/O; call them from a command, not from the gateway.
// Errors are values: `errc::not_found` (no store, no backup), `errc::bad_request` (a target that
// is not empty, a manifest that is not one, a checksum that differs, another master key),
// `errc::unavailable` (the store is in use where it must not be), `errc::internal` (I/O, SQL).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace sb::store::backup {

/// The manifest's format version; `parse_manifest` refuses any other.
inline constexpr int k_manifest_version = 1;
/// The manifest's file name in a backup directory: written last, so a directory without it is
/// an unfinished backup.
inline constexpr std::string_view k_manifest_name = "manifest.json";

/// One database file of a backup.
struct file_entry {
  std::string name;                 ///< "switchboard.db" or "outbox.db" (no directory)
  std::uint64_t bytes = 0;          ///< its size
  std::string sha256;               ///< lower-case hex of its SHA-256
  std::int64_t schema_version = 0;  ///< its `PRAGMA user_version`
};

/// What a backup holds (`<DIR>/manifest.json`). Holds no secret: the master key is named by its
/// fingerprint only.
struct manifest {
  int version = k_manifest_version;
  /// When the snapshots began (Unix ms, read just before the first one): everything committed
  /// before this instant is in the backup; some of what committed after it may be too.
  std::int64_t created_at_ms = 0;
  std::string created_at;       ///< the same as RFC 3339
  std::string source;           ///< the store directory it was taken from
  std::string key_fingerprint;  ///< `key_fingerprint(storage.master_key)`
  std::vector<file_entry> files;
  /// Each tenant's last issued seq in the copy, by tenant.
  std::vector<std::pair<std::string, std::uint64_t>> heads;
  std::uint64_t audit_last_id = 0;  ///< the newest audit entry in the copy (0: none)
};

/// The manifest as JSON (one object, keys in a fixed order, a trailing newline).
std::string to_json(const manifest& m);

/// Reads a manifest written by `to_json`. `errc::bad_request` naming the problem when `text` is
/// not JSON, lacks a field, has another version, or names a file other than the two databases
/// (a manifest must not steer a restore outside the store directory).
result<manifest> parse_manifest(std::string_view text);

/// Names a master key without revealing it: the first 16 bytes of HMAC-SHA256(key,
/// "switchboard/backup/key-fingerprint/v1") as 32 hex characters.
std::string key_fingerprint(std::string_view master_key);

/// The SHA-256 of a file's bytes, lower-case hex; `errc::internal` when it cannot be read.
result<std::string> file_sha256(const std::string& path);

/// Copies the store in `store_dir` into `out_dir` (created when missing; must hold nothing) while
/// a gateway may be writing to it, checks the copy (`PRAGMA quick_check`) and writes the
/// manifest last. `master_key` (32 raw bytes) must be the store's (its key check is opened,
/// so a backup names the right key): else `errc::bad_request`. Returns the manifest written. On
/// failure it removes what it wrote (and `out_dir`, if it made it).
result<manifest> take_backup(const std::string& store_dir, const std::string& out_dir,
                             const std::string& master_key);

/// An erasure-type audit entry of the store a restore replaced, newer than the backup: what an
/// operator must carry out again on the restored store (docs/operations.md, "Erasure and
/// backups").
struct erasure_entry {
  std::uint64_t id = 0;
  std::string tenant;
  std::int64_t at_ms = 0;
  std::string actor;
  std::string action;   ///< erase, redact, deletion_callback or shop_redact
  std::string subject;  ///< "" for shop_redact (the channel is in `detail`)
  std::string detail;
};

/// What a restore did.
struct restore_report {
  manifest restored;
  /// Where the store that was in the target directory went (`--force`), or "" when it was empty.
  std::string moved_aside;
  /// The erasures the replaced store recorded at or after the backup's `created_at_ms`, oldest
  /// first (empty when there was no store to replace).
  std::vector<erasure_entry> erasures_after_backup;
};

/// Puts the backup in `backup_dir` into `store_dir`. In order: reads the manifest, checks that
/// `master_key` has its fingerprint, checks every file's size and SHA-256, takes the store's
/// lock files (`errc::unavailable` while a gateway runs on `store_dir`), refuses a directory
/// that already holds a store unless `force` (then moves its files into
/// `<store_dir>/pre-restore-<time>/`, after reading its erasures newer than the backup), copies
/// each file in under a temporary name and renames it into place (stale `-wal`/`-shm` files are
/// never left beside a restored database), and opens the restored store's key check. Nothing in
/// `store_dir` changes unless every check before the copy passed.
result<restore_report> restore_backup(const std::string& backup_dir, const std::string& store_dir,
                                      const std::string& master_key, bool force);

}  // namespace sb::store::backup

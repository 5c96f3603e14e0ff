#pragma once

// The two keys behind a store, and how the master key is replaced.
//
// - The master key (`storage.master_key`) is the operator's. The data keys (one per tenant and
//   subject, which seal the events and the other personal data) are wrapped under a key derived
//   from it, and so is the store's key check. `switchboard rotate-master-key` re-wraps them under
//   a new one, without re-encrypting any event; the old key opens nothing afterwards.
// - The root key is the store's own, for its whole life. What is stored or handed out as a
//   digest or a derived key comes from it and so cannot change: the dedupe and privacy-request
//   digests, the outbox's seal and lookup keys, the subjects' pseudonyms and the channels'
//   derived keys (a web chat's session-token key). A store that was never rotated has no root
//   record and its root key is the master key it was created with; the first rotation writes the
//   record, the root key wrapped under the new master key, and each later one re-wraps it.
//
// Internal to sb_store but for `unlock_root_key` and `rotate_master_key`, which main calls.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"

struct sqlite3;

namespace sb::store {

/// The root record: `root_key` wrapped under a key derived from `master_key` (both 32 raw bytes).
result<std::string> seal_root_key(std::string_view master_key, std::string_view root_key);

/// The root key of a store whose root record is `record` (none: never rotated, so the root key is
/// `master_key` itself). `errc::unauthorized` when the record does not open under `master_key`:
/// a wrong key, or one a rotation replaced.
result<std::string> root_key_of(const std::string& master_key,
                                const std::optional<std::string>& record);

/// The message of that refusal: one text for both backends and every command.
inline constexpr const char* k_root_key_refused =
    "storage.master_key does not open this store: it is not the store's current master key "
    "(after `switchboard rotate-master-key`, only the new key opens it)";

/// The root key of the store `storage` names, read before any store opens it (a gateway is
/// started with it: `config::set_root_key`). The memory backend's is `storage.master_key`; a
/// SQLite store that does not exist yet has none either. `errc::unauthorized` as `root_key_of`;
/// `errc::unavailable` when PostgreSQL cannot be reached; `errc::internal` when the store cannot
/// be read.
result<std::string> unlock_root_key(const config::storage_config& storage);

/// What `rotate_master_key` did.
struct rotation_report {
  std::uint64_t data_keys = 0;  ///< data keys re-wrapped
  bool first = false;           ///< the store had no root record before (never rotated)
};

/// Replaces the master key of the store `storage` names (`storage.master_key`, its current one)
/// by `new_key` (32 raw bytes, not the current key), in one transaction: every data key and the
/// key check re-wrapped, the root record written. No event is re-encrypted. Refused, with nothing
/// changed, while a gateway has the store open (SQLite: the store's lock; PostgreSQL: a replica's
/// lease that has not expired), when the current key does not open the store, and for the memory
/// backend (nothing to rotate). A crash before the commit leaves the old key in force.
result<rotation_report> rotate_master_key(const config::storage_config& storage,
                                          const std::string& new_key);

namespace sqlite {
/// The root record in `db`'s `meta` (none: never rotated, or no `meta` table yet).
result<std::optional<std::string>> read_root_record(sqlite3* db);
/// The root record of `<dir>/switchboard.db` (none: no such store, or never rotated). Opens the
/// file read-only, so it works while a gateway runs.
result<std::optional<std::string>> read_root_record(const std::string& dir);
/// `rotate_master_key` for the SQLite store in `dir`.
result<rotation_report> rotate_master_key(const std::string& dir, const std::string& old_key,
                                          const std::string& new_key);
}  // namespace sqlite

namespace pg {
/// The root record of the database `dsn` names (none: no schema yet, or never rotated).
result<std::optional<std::string>> read_root_record(const std::string& dsn);
/// `rotate_master_key` for the PostgreSQL database `dsn` names.
result<rotation_report> rotate_master_key(const std::string& dsn, const std::string& old_key,
                                          const std::string& new_key);
}  // namespace pg

}  // namespace sb::store

#pragma once

// The root record of a PostgreSQL database (`store_meta.root_key`, schema version 7;
// store/root_key.hpp) on a connection the caller already holds: what `open_stores` reads to
// unlock the store, and what `switchboard migrate` writes when the SQLite store it copies was
// rotated. Internal to sb_store; implemented in store/pg/rotate.cpp.

#include <optional>
#include <string>

#include "core/error.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

/// The root record (none: no `store_meta` table yet, or never rotated). In the caller's
/// transaction, if any. `errc::unavailable` when the connection is gone.
result<std::optional<std::string>> read_root_record(connection& c);

/// Writes `record` (a root key sealed by `seal_root_key`) as the root record, replacing one there,
/// in the caller's transaction. The table must exist (`migrate` first).
status write_root_record(connection& c, const std::string& record);

}  // namespace sb::store::pg

#pragma once

// The PostgreSQL schema's versions, applied by whichever replica starts first (issue 13).
// Replicas may start together: the migration is serialized across them by an advisory lock that
// lives as long as its transaction. Rolling upgrades work because each version only adds to the
// one before it (new tables, new nullable columns, new indexes), so replicas of version N keep
// running on a database at N + 1. A database more than one version ahead is refused.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

/// One version of the schema: the SQL (one or more statements, no parameters) that takes a
/// database from the version before to `version`. Versions start at 1 and go up by one.
struct migration {
  int version = 0;
  const char* sql = "";
};

/// What `migrate` found and did.
struct schema_state {
  int found = 0;              ///< the database's version before (0: a new database)
  int now = 0;                ///< its version after: the newest known, or found when one ahead
  std::vector<int> applied;   ///< the versions this call applied (empty when another replica did)
};

/// Switchboard's own schema, version by version (schema.cpp). Version 1: the leases of
/// singleton work (store/pg/lease.hpp). Version 2: the event log (store/pg/event_log.hpp).
/// Version 3: push delivery (store/pg/delivery_store.hpp). Version 4: the privacy store
/// (store/pg/privacy_store.hpp) and the indexes retention and channel erasure use. Version 5: the
/// outbox (store/pg/outbox.hpp). Version 6: the erased subjects (store/privacy_store.hpp).
/// Version 7: `store_meta`, the root record (store/root_key.hpp, store/pg/root_record.hpp).
const std::vector<migration>& schema_versions();

/// The key of the advisory lock that serializes migrations (pg_advisory_xact_lock).
inline constexpr long long k_migration_lock = 0x53425f736368656dLL;  // "SB_schem"

/// Brings the database to the newest version of `migrations`, in one transaction: the advisory
/// lock, the versions table `switchboard_schema` (version, when, which `node`), every missing
/// version, and its row. All or nothing: a failing version leaves the database as it was, and
/// the error names the version and the server's reason.
///
/// - A database at the newest version, or at one version past it (a newer replica migrated it
///   during a rolling upgrade), is left as it is.
/// - A database two or more versions past it is refused, with a message that says this replica
///   is too old to run on it.
/// - `migrations` not numbered 1, 2, 3, ... is refused (`errc::internal`) before anything runs.
result<schema_state> migrate(connection& c, const std::vector<migration>& migrations,
                             std::string_view node);

}  // namespace sb::store::pg

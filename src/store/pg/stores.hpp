#pragma once

// A replica's stores on its PostgreSQL database (`storage.backend: postgres`; docs/scale-out.md):
// what `gateway::start` opens, as `make_sqlite_stores` and `make_sqlite_outbox` do for one
// machine.

#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"
#include "store/outbox.hpp"
#include "store/pg/lease.hpp"
#include "store/pg/pool.hpp"
#include "store/pg/schema.hpp"
#include "store/stores.hpp"

namespace sb::store::pg {

/// Everything a replica keeps on PostgreSQL. The members share `connections`.
struct replica_stores {
  store::stores stores;            ///< event log, delivery, privacy
  std::shared_ptr<store::outbox> outbox;  ///< outbound messages and the 24-hour windows
  std::shared_ptr<pool> connections;
  /// What the stores fence singleton work's writes with (push cursors, senders' outcomes): set
  /// `held` once the lease keeper runs.
  std::shared_ptr<fences> fenced;
  schema_state schema;  ///< what the start found and migrated
};

/// Connects to `storage.postgres.dsn` (a pool of `storage.postgres.pool` connections), brings
/// the schema to this build's version (`migrate`, recorded as done by `node`), unlocks the root
/// key with `storage.master_key` (the root record, `store_meta.root_key`: store/root_key.hpp) and
/// opens every store under the two. `errc::unavailable` when the server cannot be reached (the
/// message names the redacted DSN); `errc::unauthorized` (`k_root_key_refused`) when the database
/// has a root record that `storage.master_key` does not open (a wrong key, or one a rotation
/// replaced); `errc::internal` when the schema is too new or, in a database never rotated, the
/// master key is not the one the database was written with (the outbox's key check).
result<replica_stores> open_stores(const config::storage_config& storage, std::string_view node);

}  // namespace sb::store::pg

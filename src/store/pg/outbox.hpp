#pragma once

// The outbox on PostgreSQL (issue 13; schema version 5, store/pg/schema.cpp): the same contract
// as the SQLite outbox (store/outbox.hpp) and the same sealed values and lookup digests, byte for
// byte (store/outbox_codec.hpp), for replicas that share one database. What differs, and why:
// - An idempotent put claims its (tenant, caller, key digest) with INSERT ... ON CONFLICT DO
//   NOTHING: the same key sent through two replicas at once is stored once (the second insert
//   waits for the first transaction, then answers with its message).
// - An update locks its row (SELECT ... FOR UPDATE) before judging `forward_only`: receipts of
//   one message handled by two replicas never move it backwards.
// - `seq` (put order) is issued when a row is inserted, not when it commits: two replicas' puts
//   committing in the other order may show the later seq first. `unfinished` is oldest first
//   among what is committed.
// - Durability is the server's (`synchronous_commit`); a `window_only` batch commits with
//   `synchronous_commit = off`, for the reason outbox.hpp gives.
// - Deleted rows stay in the table's pages as dead tuples until VACUUM reclaims them (there is no
//   equivalent of the SQLite outbox's WAL truncation); they were sealed and digested like every
//   row.
// Each call borrows a connection from the pool: thread-safe.

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/outbox.hpp"
#include "store/pg/lease.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

/// The outbox over `connections` (a database at schema version 5 or later: `migrate` first),
/// sealed and digested under keys derived from `root_key`, the store's root key (32 raw bytes,
/// else `errc::bad_request`; store/root_key.hpp: the master key itself until the first rotation,
/// which changes none of the outbox's keys). The first open writes the key check; every open
/// verifies it, so a replica with another root key is refused (`errc::internal`,
/// "storage.master_key does not match the key this outbox was created with").
/// `errc::unavailable` when the server cannot be reached. `fenced` (optional): an update
/// `by_sender` is applied only under the channel's sender lease
/// ("sender/<tenant>/<channel>") in the generation this replica holds it, checked and locked for
/// sharing in the update's transaction (`outbound_update::by_sender`).
result<std::shared_ptr<outbox>> make_outbox(std::shared_ptr<pool> connections,
                                            const std::string& root_key,
                                            std::shared_ptr<const fences> fenced = {});

}  // namespace sb::store::pg

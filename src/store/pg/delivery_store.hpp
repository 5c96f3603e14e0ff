#pragma once

// Push delivery's state on PostgreSQL (issue 13; schema version 3): the same contract as the
// SQLite store (store/delivery_store.hpp), shared by every replica. Nothing here is sealed. Each
// call borrows a connection from the pool: thread-safe.

#include <memory>

#include "store/delivery_store.hpp"
#include "store/pg/lease.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

/// The store over `connections` (a database at schema version 3 or later).
/// `fences` (optional): a cursor is saved only while this replica holds the subscriber's push lease
/// ("push/<tenant>/<subscriber>") in the generation it holds it now, checked in the same statement
/// (a replica that lost the lease cannot move the new holder's cursor); otherwise
/// `errc::unavailable` and nothing is written.
std::shared_ptr<delivery_store> make_delivery_store(std::shared_ptr<pool> connections,
                                                    std::shared_ptr<const fences> fenced = {});

}  // namespace sb::store::pg

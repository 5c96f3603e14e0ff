#pragma once

// Push delivery's state on PostgreSQL (issue 13; schema version 3): the same contract as the
// SQLite store (store/delivery_store.hpp), shared by every replica. Nothing here is sealed. Each
// call borrows a connection from the pool: thread-safe.

#include <memory>

#include "store/delivery_store.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

/// The store over `connections` (a database at schema version 3 or later).
std::shared_ptr<delivery_store> make_delivery_store(std::shared_ptr<pool> connections);

}  // namespace sb::store::pg

#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"

/// The durable store: one SQLite database, `<dir>/switchboard.db`, in WAL mode.
namespace sb::store {

/// Opens (or creates, with `dir`) the database and returns it as an `event_log`; the same object
/// is also the `delivery_store` (`delivery_store_of`). One process at a time: a second open of
/// the same `dir`, in this or another process, fails until the first log is destroyed.
///
/// Durability of a successful `append` (and of every other write): `fsync` = on disk (the WAL is
/// fsynced at each commit); `os` = survives a crash of the process, not of the machine; `none` =
/// no syncs at all, the database may be corrupted by a power loss (tests and benchmarks).
///
/// Threading as `event_log` and `delivery_store` document. Appends and the other writes go
/// through one writer connection, one at a time; reads use a small pool of read-only connections
/// and see a committed snapshot, never a partly written batch, and do not wait for the writer.
///
/// Errors (at open: unreadable or newer schema, directory not writable, store in use; later: I/O
/// failures, disk full) are returned as `errc::internal` or `errc::unavailable` (busy) values.
result<std::shared_ptr<event_log>> make_sqlite_log(const std::string& dir,
                                                   config::durability durability);

}  // namespace sb::store

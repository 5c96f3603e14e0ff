#pragma once

// What the outbox tests (outbox_test.cpp, outbox_lookup_test.cpp, outbox_at_rest_test.cpp,
// pg_outbox_test.cpp) share: the master key, opening a SQLite outbox in a directory or a
// PostgreSQL one on a database, reading its files' bytes, a connection of the test's own to the
// database file, and running a body against every outbox.

#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "store/outbox.hpp"
#include "store/pg/outbox.hpp"
#include "store/pg/pool.hpp"
#include "store/pg/schema.hpp"
#include "support/fixtures.hpp"
#include "support/pg_cluster.hpp"
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"

namespace sb::test::outbox {

inline const std::string k_master_key(32, 'k');

/// The SQLite outbox in `dir` (created when new); fails the test when it cannot be opened.
inline std::shared_ptr<store::outbox> open_sqlite(const std::string& dir,
                                                  config::durability d = config::durability::fsync,
                                                  const std::string& key = k_master_key) {
  auto box = store::make_sqlite_outbox(dir, d, key);
  INFO((box ? std::string() : box.err().message));
  REQUIRE(box.ok());
  return box.value();
}

/// Brings `cluster`'s database to Switchboard's schema, as the first replica to start does.
inline void migrate_pg(const pg_cluster& cluster) {
  auto conns = store::pg::pool::make(cluster.dsn(), 1);
  auto c = conns->take();
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c);
  auto st = store::pg::migrate(**c, store::pg::schema_versions(), "test");
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st);
}

/// One replica's PostgreSQL outbox over a pool of `connections` of its own, on `cluster`'s
/// database (migrated first); fails the test when it cannot be opened.
inline std::shared_ptr<store::outbox> open_pg(const pg_cluster& cluster,
                                              std::size_t connections = 2,
                                              const std::string& key = k_master_key) {
  migrate_pg(cluster);
  auto box = store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), connections), key);
  INFO((box ? std::string() : box.err().message));
  REQUIRE(box.ok());
  return box.value();
}

/// The bytes of a file; empty when it does not exist.
inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using test::all_file_bytes;
using test::blob;
using test::null;
using test::raw_value;
using test::text;

/// A connection of the test's own to `<dir>/outbox.db` (inspection, tampering, building a file
/// of an older schema).
struct raw_db : test::raw_db {
  explicit raw_db(const std::string& dir) : test::raw_db(dir, "outbox.db") {}
};

/// Runs `body` against every outbox: in-memory, SQLite in a fresh directory, and PostgreSQL on a
/// fresh database (one SECTION each).
template <class Body>
void both(Body body) {
  SECTION("memory") {
    body(store::make_memory_outbox());
  }
  SECTION("sqlite") {
    temp_dir dir{"sb-outbox"};
    body(open_sqlite(dir.path));
  }
  SECTION("postgres") {
    pg_cluster cluster;
    body(open_pg(cluster));
  }
}

}  // namespace sb::test::outbox

#pragma once

// What the outbox tests (outbox_test.cpp, outbox_lookup_test.cpp, outbox_at_rest_test.cpp) share:
// the master key, opening a SQLite outbox in a directory, reading its files' bytes, a connection
// of the test's own to the database file, and running a body against both outboxes.

#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "store/outbox.hpp"
#include "support/fixtures.hpp"
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

/// Runs `body` against both outboxes: in-memory, and SQLite in a fresh directory (one SECTION
/// each).
template <class Body>
void both(Body body) {
  SECTION("memory") {
    body(store::make_memory_outbox());
  }
  SECTION("sqlite") {
    temp_dir dir{"sb-outbox"};
    body(open_sqlite(dir.path));
  }
}

}  // namespace sb::test::outbox

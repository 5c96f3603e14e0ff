#pragma once

// What the outbox tests (outbox_test.cpp, outbox_lookup_test.cpp, outbox_at_rest_test.cpp) share:
// the master key, opening a SQLite outbox in a directory, reading its files' bytes, a connection
// of the test's own to the database file, and running a body against both outboxes.

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "store/outbox.hpp"
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

/// Every byte of every file in `dir` (the database, its WAL and shared-memory index, the lock),
/// as they are now: what a crash or a file backup would keep.
inline std::string all_file_bytes(const std::string& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out += file_bytes(entry.path().string());
    }
  }
  return out;
}

/// A value to bind: text, a blob, or NULL (nullopt).
struct raw_value {
  std::optional<std::string> bytes;
  bool blob = false;
};
inline raw_value text(std::string v) {
  return {std::move(v), false};
}
inline raw_value blob(std::string v) {
  return {std::move(v), true};
}
inline raw_value null() {
  return {};
}

/// A connection of the test's own to `<dir>/outbox.db` (inspection, tampering, building a file
/// of an older schema).
struct raw_db {
  sqlite3* db = nullptr;
  explicit raw_db(const std::string& dir) {
    int rc = sqlite3_open_v2((dir + "/outbox.db").c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~raw_db() { sqlite3_close(db); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(rc == SQLITE_OK);
  }
  /// The first column of the first row, as bytes ("" when there is no row or it is NULL).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 0));
      out.assign(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
    sqlite3_finalize(s);
    return out;
  }
  /// Runs one statement with `values` bound in order.
  void run(const std::string& sql, const std::vector<raw_value>& values) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      const auto& v = values[i];
      if (!v.bytes) {
        sqlite3_bind_null(s, at);
      } else if (v.blob) {
        sqlite3_bind_blob(s, at, v.bytes->data(), static_cast<int>(v.bytes->size()),
                          SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_text(s, at, v.bytes->data(), static_cast<int>(v.bytes->size()),
                          SQLITE_TRANSIENT);
      }
    }
    int rc = sqlite3_step(s);
    INFO(sql << ": " << sqlite3_errmsg(db));
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
  }
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

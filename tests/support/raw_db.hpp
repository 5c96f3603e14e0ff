#pragma once

// A connection of a test's own to a store's SQLite file: inspection, tampering, and building a
// file as an older release wrote it. Every statement that fails fails the test.

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sb::test {

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

/// `<dir>/<file>`, opened read-write (created when absent) with a busy timeout, so that it can be
/// used beside the store's own connection.
struct raw_db {
  sqlite3* db = nullptr;

  explicit raw_db(const std::string& dir, const std::string& file = "switchboard.db") {
    int rc = sqlite3_open_v2((dir + "/" + file).c_str(), &db,
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

  /// Every row's columns as bytes (a NULL as "").
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = prepare(sql);
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        row.push_back(column(s, i));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    return out;
  }

  /// The first column of the first row, as bytes ("" when there is no row or it is NULL).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* s = prepare(sql);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = column(s, 0);
    }
    sqlite3_finalize(s);
    return out;
  }

  std::int64_t number(const std::string& sql) { return std::stoll(scalar(sql)); }

  /// Runs one statement with `values` bound in order.
  void run(const std::string& sql, const std::vector<raw_value>& values) {
    sqlite3_stmt* s = prepare(sql);
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

  /// Inserts one row: each value is bound as a blob when `blobs` says so, else as text.
  void insert(const std::string& sql, const std::vector<std::string>& values,
              const std::vector<bool>& blobs = {}) {
    std::vector<raw_value> bound;
    for (std::size_t i = 0; i < values.size(); ++i) {
      bound.push_back(i < blobs.size() && blobs[i] ? blob(values[i]) : text(values[i]));
    }
    run(sql, bound);
  }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(rc == SQLITE_OK);
    return s;
  }
  static std::string column(sqlite3_stmt* s, int i) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
    return std::string(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
  }
};

}  // namespace sb::test

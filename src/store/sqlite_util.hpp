#pragma once

// The SQLite plumbing shared by the event log (src/store/sqlite/) and the outbox
// (sqlite_outbox.cpp): error values, owning handles, a bind/step/read helper, the writer's
// pragmas, an advisory file lock, the master-key check and the WAL truncation after deletes.
// Internal to sb_store.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/aead.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace sb::store::sqlite {

/// An SQLite failure as an error value: busy/locked -> `errc::unavailable`, else internal.
/// `prefix` names the database in the message ("sqlite", "outbox sqlite").
inline error sql_error(sqlite3* db, int rc, std::string_view what,
                       std::string_view prefix = "sqlite") {
  const int primary = rc & 0xff;
  const errc code =
      (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? errc::unavailable : errc::internal;
  std::string message(prefix);
  message.append(": ");
  message.append(what).append(": ").append(sqlite3_errstr(rc));
  if (db != nullptr) {
    const char* detail = sqlite3_errmsg(db);
    if (detail != nullptr && std::strcmp(detail, sqlite3_errstr(rc)) != 0) {
      message.append(" (").append(detail).append(")");
    }
  }
  return {code, std::move(message)};
}

/// An open database handle; closed on destruction (after its statements, declared later).
struct connection {
  sqlite3* db = nullptr;

  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (db != nullptr) {
      sqlite3_close_v2(db);
    }
  }
};

/// A prepared statement owned for the life of its connection.
class stmt {
 public:
  stmt() = default;
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;
  ~stmt() { sqlite3_finalize(s_); }

  sqlite3_stmt* get() const { return s_; }
  sqlite3_stmt** out() { return &s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

/// One use of a cached statement: binds, steps and reads columns; on scope exit resets it and
/// clears its bindings, so it is ready for the next use and a reader's snapshot is released.
/// Text and blobs are bound without copying: the bound strings must outlive the query.
class query {
 public:
  explicit query(const stmt& s) : s_(s.get()) {}
  query(const query&) = delete;
  query& operator=(const query&) = delete;
  ~query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  query& text(int i, std::string_view v) {
    keep(sqlite3_bind_text64(s_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC,
                             SQLITE_UTF8));
    return *this;
  }
  /// Binds NULL for an empty string.
  query& text_or_null(int i, std::string_view v) {
    if (v.empty()) {
      keep(sqlite3_bind_null(s_, i));
      return *this;
    }
    return text(i, v);
  }
  query& blob(int i, std::string_view v) {
    keep(sqlite3_bind_blob64(s_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC));
    return *this;
  }
  query& int64(int i, std::int64_t v) {
    keep(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  query& uint64(int i, std::uint64_t v) { return int64(i, static_cast<std::int64_t>(v)); }

  /// SQLITE_ROW, SQLITE_DONE or an error code (a failed bind reports here).
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }

  std::int64_t col_int64(int c) const { return sqlite3_column_int64(s_, c); }
  std::uint64_t col_uint64(int c) const { return static_cast<std::uint64_t>(col_int64(c)); }
  std::string col_text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, c));
  }
  /// A blob or text column without copying: valid until the next step or the end of the query.
  std::string_view col_view(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s_, c));
  }
  std::string col_blob(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, c));
  }

 private:
  void keep(int rc) {
    if (bind_rc_ == SQLITE_OK) {
      bind_rc_ = rc;
    }
  }

  sqlite3_stmt* s_;
  int bind_rc_ = SQLITE_OK;
};

/// Opens `path` (no SQLite mutex: each connection is used by one thread at a time), with
/// extended result codes and a busy timeout.
inline status open_connection(const std::string& path, int flags, connection& out,
                              int busy_timeout_ms, std::string_view prefix = "sqlite") {
  int rc = sqlite3_open_v2(path.c_str(), &out.db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(out.db, rc, "open " + path, prefix);
  }
  sqlite3_extended_result_codes(out.db, 1);
  sqlite3_busy_timeout(out.db, busy_timeout_ms);
  return {};
}

inline status prepare(sqlite3* db, const char* sql, stmt& out, std::string_view prefix = "sqlite") {
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out.out(), nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, std::string("prepare ") + sql, prefix);
  }
  return {};
}

inline status exec(sqlite3* db, const char* sql, std::string_view prefix = "sqlite") {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, sql, prefix);
  }
  return {};
}

/// Rolls back the transaction a failure interrupted. The caller returns that failure; a rollback
/// that fails as well is logged, not returned, so it cannot hide the cause (and the connection's
/// next BEGIN reports a transaction left open).
inline void rollback_after_failure(sqlite3* db, std::string_view prefix = "sqlite") {
  if (auto st = exec(db, "ROLLBACK", prefix); !st) {
    log::warn("store", "rollback after a failure failed too: ", st.err().message);
  }
}

/// Runs a statement that must answer one row with one text column (e.g. a PRAGMA).
inline result<std::string> scalar_text(sqlite3* db, const char* sql) {
  stmt s;
  if (auto st = prepare(db, sql, s); !st) {
    return st.err();
  }
  query q(s);
  int rc = q.step();
  if (rc != SQLITE_ROW) {
    return sql_error(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, sql);
  }
  return q.col_text(0);
}

/// The `synchronous` pragma `durability` asks for: `fsync` = FULL (the WAL is fsynced at each
/// commit), `os` = NORMAL, `none` = OFF. SQLite applies it when the statement is prepared: run it
/// with `exec`, not as a kept statement.
inline const char* synchronous_pragma(config::durability durability) {
  return durability == config::durability::fsync ? "PRAGMA synchronous = FULL"
         : durability == config::durability::os  ? "PRAGMA synchronous = NORMAL"
                                                 : "PRAGMA synchronous = OFF";
}

/// Sets the pragmas of a writing connection (in WAL mode already): `synchronous` as `durability`
/// asks (`synchronous_pragma`); the WAL truncated to 64 MiB after a checkpoint, so one burst does
/// not keep a large file forever; and deleted content overwritten with zeros, also on free-list
/// pages, so that erased and expired rows do not linger in the database file.
inline status set_writer_pragmas(sqlite3* db, config::durability durability,
                                 std::string_view prefix = "sqlite") {
  for (const char* pragma : {synchronous_pragma(durability),
                             "PRAGMA journal_size_limit = 67108864", "PRAGMA secure_delete = ON"}) {
    if (auto st = exec(db, pragma, prefix); !st) {
      return st;
    }
  }
  return {};
}

/// Writes the key check of a new store into its `meta` table (`name` 'key_check'): `text` sealed
/// under `key` with `aad`. A store opened later with another master key fails to open it
/// (`verify_key_check`) before anything is read or written. `what` names the step in an SQLite
/// error.
inline status write_key_check(sqlite3* db, std::string_view key, std::string_view text,
                              std::string_view aad, std::string_view what = "write key check",
                              std::string_view prefix = "sqlite") {
  auto check = crypto::seal(key, text, aad);
  if (!check) {
    return check.err();
  }
  stmt put;
  if (auto st = prepare(db, "INSERT INTO meta (name, value) VALUES ('key_check', ?1)", put, prefix);
      !st) {
    return st;
  }
  query q(put);
  q.blob(1, check.value());
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return sql_error(db, rc, what, prefix);
  }
  return {};
}

/// Checks the key check `write_key_check` wrote: `errc::internal` with `missing` when the store
/// has none, with `wrong` when it does not open under `key` to `text`; `what` names the step in
/// an SQLite error.
inline status verify_key_check(sqlite3* db, std::string_view key, std::string_view text,
                               std::string_view aad, std::string missing, std::string wrong,
                               std::string_view what = "read key check",
                               std::string_view prefix = "sqlite") {
  stmt get;
  if (auto st = prepare(db, "SELECT value FROM meta WHERE name = 'key_check'", get, prefix); !st) {
    return st;
  }
  query q(get);
  int rc = q.step();
  if (rc == SQLITE_DONE) {
    return {errc::internal, std::move(missing)};
  }
  if (rc != SQLITE_ROW) {
    return sql_error(db, rc, what, prefix);
  }
  auto opened = crypto::open(key, q.col_view(0), aad);
  if (!opened || *opened != text) {
    return {errc::internal, std::move(wrong)};
  }
  return {};
}

/// Checkpoints the WAL of `db` into the database file and truncates the WAL to zero bytes, so that
/// the frames holding deleted rows (older versions of their pages) leave the files: what a crash,
/// a kill or a file backup would otherwise keep. Waits at most `wait_ms` for readers of older
/// snapshots, then restores `busy_timeout_ms`. Call it with no write transaction open on `db`. A
/// busy answer (a reader kept an old snapshot) is an error value: later commits overwrite those
/// frames instead, and the next truncation removes them.
inline status truncate_wal(sqlite3* db, int wait_ms, int busy_timeout_ms,
                           std::string_view prefix = "sqlite") {
  sqlite3_busy_timeout(db, wait_ms);
  int log_frames = 0;
  int checkpointed = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                           &checkpointed);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, "checkpoint (truncate)", prefix);
  }
  return {};
}

/// An exclusive advisory lock on a file, released when destroyed (also when the process dies).
struct file_lock {
  int fd = -1;

  file_lock() = default;
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  ~file_lock() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

/// Takes `out`, an exclusive lock on `path` (created when missing), without waiting: one store
/// per directory and process. `errc::internal` with `in_use` when another holder has it.
inline status lock_file(const std::string& path, file_lock& out, std::string in_use) {
  out.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (out.fd < 0) {
    return {errc::internal, "cannot open " + path + ": " + std::strerror(errno)};
  }
  if (::flock(out.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return {errc::internal, std::move(in_use)};
    }
    return {errc::internal, "cannot lock " + path + ": " + std::strerror(errno)};
  }
  return {};
}

}  // namespace sb::store::sqlite

#pragma once

// The SQLite plumbing shared by the event log (sqlite_log.cpp) and the outbox
// (sqlite_outbox.cpp): error values, owning handles, a bind/step/read helper, an advisory file
// lock, keyed digests of identifiers, and the WAL truncation after deletes. Internal to sb_store.

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/error.hpp"

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

inline status prepare(sqlite3* db, const char* sql, stmt& out,
                      std::string_view prefix = "sqlite") {
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

/// Deleted content is overwritten with zeros, also on free-list pages, so that erased and expired
/// rows do not linger in the database file (set on every writing connection).
inline constexpr const char* secure_delete_pragma = "PRAGMA secure_delete = ON";

/// The stored form of an identifier that a store must find again but never read back (a dedupe
/// key, a recipient, a platform message id): HMAC-SHA256 under `secret` of `parts` joined with NUL
/// bytes, cut to `size` bytes (at most 32). Equality is all a lookup needs; the value itself, when
/// it is needed, is kept sealed elsewhere. (The event log's dedupe digests are this construction
/// over tenant, channel and key, 16 bytes.)
inline std::string keyed_digest(std::string_view secret,
                                std::initializer_list<std::string_view> parts, std::size_t size) {
  std::string material;
  std::size_t n = 0;
  for (auto p : parts) {
    n += p.size() + 1;
  }
  material.reserve(n);
  bool first = true;
  for (auto p : parts) {
    if (!first) {
      material.push_back('\0');
    }
    first = false;
    material.append(p);
  }
  const auto mac = crypto::hmac_sha256(secret, material);
  return std::string(reinterpret_cast<const char*>(mac.data()), std::min(size, mac.size()));
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

}  // namespace sb::store::sqlite

#include "store/sqlite_log.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.hpp"

namespace sb::store {

namespace {

constexpr int k_schema_version = 1;

// Bounds the work of one read call when a type filter skips most events (as memory_log).
constexpr std::size_t k_max_examined = 10000;

// How long a connection waits for a lock before answering busy. Only the writer can be kept
// waiting for long (by a checkpoint); readers in WAL mode wait only in rare recovery cases.
constexpr int k_busy_timeout_ms = 5000;

// Read connections kept open between calls; more are opened when more threads read at once and
// closed again afterwards.
constexpr std::size_t k_max_idle_readers = 8;

// After a checkpoint the WAL file is truncated to this size, so one burst does not keep a large
// file forever.
constexpr const char* k_journal_size_limit = "PRAGMA journal_size_limit = 67108864";

// Version 1. `tenant_heads` keeps each tenant's last seq even when retention has deleted all of
// its events, so a seq is never issued twice. `dedupe` is separate from `events` so retention can
// expire keys and events independently. AUTOINCREMENT: a quarantine or dead-letter id is never
// reused after its row is deleted (redrive refers to dead letters by id).
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  channel TEXT NOT NULL,
  dedupe_key TEXT,
  type TEXT NOT NULL,
  conversation TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX events_received_at ON events (received_at_ms);
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE dedupe (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel, key)
) WITHOUT ROWID;
CREATE INDEX dedupe_created_at ON dedupe (created_at_ms);
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  body BLOB
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
CREATE TABLE cursors (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, subscriber)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at_ms INTEGER NOT NULL
);
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
PRAGMA user_version = 1;
)sql";

error sql_error(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const errc code =
      (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? errc::unavailable : errc::internal;
  std::string message = "sqlite: ";
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

status open_connection(const std::string& path, int flags, connection& out) {
  int rc = sqlite3_open_v2(path.c_str(), &out.db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(out.db, rc, "open " + path);
  }
  sqlite3_extended_result_codes(out.db, 1);
  sqlite3_busy_timeout(out.db, k_busy_timeout_ms);
  return {};
}

status prepare(sqlite3* db, const char* sql, stmt& out) {
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out.out(), nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, std::string("prepare ") + sql);
  }
  return {};
}

status exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, sql);
  }
  return {};
}

/// Runs a statement that must answer one row with one text column (e.g. a PRAGMA).
result<std::string> scalar_text(sqlite3* db, const char* sql) {
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

status lock_file(const std::string& path, file_lock& out) {
  out.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (out.fd < 0) {
    return {errc::internal, "cannot open " + path + ": " + std::strerror(errno)};
  }
  if (::flock(out.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return {errc::internal,
              "store " + path + " is in use by another event log (this or another process)"};
    }
    return {errc::internal, "cannot lock " + path + ": " + std::strerror(errno)};
  }
  return {};
}

std::string subscriber_label(const std::string& tenant, const std::string& subscriber) {
  return tenant + "/" + subscriber;
}

class sqlite_log final : public event_log, public delivery_store {
 public:
  status open(const std::string& dir, config::durability durability) {
    if (sqlite3_threadsafe() == 0) {
      return {errc::internal, "the SQLite library was built without thread support"};
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return {errc::internal, "cannot create " + dir + ": " + ec.message()};
    }
    if (auto st = lock_file(dir + "/switchboard.lock", lock_); !st) {
      return st;
    }
    path_ = dir + "/switchboard.db";
    if (auto st = open_connection(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_);
        !st) {
      return st;
    }
    auto mode = scalar_text(writer_.db, "PRAGMA journal_mode = WAL");
    if (!mode) {
      return mode.err();
    }
    if (*mode != "wal") {
      return {errc::internal, path_ + ": cannot use WAL mode (journal_mode is " + *mode + ")"};
    }
    const char* sync = durability == config::durability::fsync ? "PRAGMA synchronous = FULL"
                       : durability == config::durability::os  ? "PRAGMA synchronous = NORMAL"
                                                               : "PRAGMA synchronous = OFF";
    if (auto st = exec(writer_.db, sync); !st) {
      return st;
    }
    if (auto st = exec(writer_.db, k_journal_size_limit); !st) {
      return st;
    }
    if (auto st = migrate(); !st) {
      return st;
    }
    if (auto st = prepare_writer(); !st) {
      return st;
    }
    if (auto st = load_heads(); !st) {
      return st;
    }
    // Opens the first read connection now, so a store that cannot be read fails at start-up.
    auto r = lease_reader();
    if (!r) {
      return r.err();
    }
    return {};
  }

  // -- event_log ------------------------------------------------------------------------------

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    outcomes.clear();
    outcomes.resize(requests.size());
    std::lock_guard lock(write_mutex_);
    // The batch's seq counters: published to `heads_` only after COMMIT, dropped on failure, so a
    // failed batch leaves the counters as they were.
    std::unordered_map<std::string, std::uint64_t> batch_heads;
    auto st = append_locked(requests, outcomes, batch_heads);
    if (!st) {
      rollback();
      for (auto& req : requests) {
        for (auto& ev : req.events) {
          ev.seq = 0;
        }
      }
      for (auto& out : outcomes) {
        out.clear();
      }
      return st;
    }
    std::lock_guard heads_lock(heads_mutex_);
    for (auto& [tenant, seq] : batch_heads) {
      heads_[tenant] = seq;
    }
    return {};
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types) override {
    read_result r;
    r.next = after;
    if (limit == 0) {
      return r;
    }
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    // One statement = one read transaction: a consistent snapshot of committed batches.
    query q((*lease)->read_events);
    q.text(1, tenant).uint64(2, after).uint64(3, k_max_examined);
    int rc = SQLITE_DONE;
    while (r.events.size() < limit && (rc = q.step()) == SQLITE_ROW) {
      std::uint64_t seq = q.col_uint64(0);
      std::string type = q.col_text(1);
      r.next = seq;
      if (types.empty() || std::find(types.begin(), types.end(), type) != types.end()) {
        stored_event e;
        e.seq = seq;
        e.type = std::move(type);
        e.conversation = q.col_text(2);
        e.json = q.col_text(3);
        r.events.push_back(std::move(e));
      }
    }
    if (r.events.size() < limit && rc != SQLITE_DONE) {
      return sql_error((*lease)->conn.db, rc, "read events");
    }
    return r;
  }

  std::uint64_t head(const std::string& tenant) override {
    std::lock_guard lock(heads_mutex_);
    auto it = heads_.find(tenant);
    return it == heads_.end() ? 0 : it->second;
  }

  result<std::uint64_t> quarantine(quarantined_body body) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.insert_quarantine);
    q.text(1, body.tenant).text(2, body.channel).text(3, body.reason);
    q.int64(4, body.received_at.unix_ms).blob(5, body.body);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "quarantine");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(writer_.db));
  }

  std::vector<quarantined_body> quarantined(const std::string& tenant) override {
    std::vector<quarantined_body> out;
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "quarantined(", tenant, "): ", lease.err().message);
      return out;
    }
    query q((*lease)->quarantined);
    q.text(1, tenant);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      quarantined_body b;
      b.id = q.col_uint64(0);
      b.tenant = tenant;
      b.channel = q.col_text(1);
      b.reason = q.col_text(2);
      b.received_at = timestamp::from_millis(q.col_int64(3));
      b.body = q.col_blob(4);
      out.push_back(std::move(b));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "quarantined(", tenant,
                 "): ", sql_error((*lease)->conn.db, rc, "read quarantine").message);
    }
    return out;
  }

  // -- delivery_store -------------------------------------------------------------------------

  status save_cursor(const std::string& tenant, const std::string& subscriber,
                     std::uint64_t seq) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.upsert_cursor);
    q.text(1, tenant).text(2, subscriber).uint64(3, seq);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "save cursor");
    }
    return {};
  }

  std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) override {
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "cursor(", subscriber_label(tenant, subscriber),
                 "): ", lease.err().message);
      return 0;
    }
    query q((*lease)->cursor);
    q.text(1, tenant).text(2, subscriber);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return q.col_uint64(0);
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "cursor(", subscriber_label(tenant, subscriber),
                 "): ", sql_error((*lease)->conn.db, rc, "read cursor").message);
    }
    return 0;
  }

  result<std::uint64_t> add_dead_letter(dead_letter letter) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.insert_dead_letter);
    q.text(1, letter.tenant).text(2, letter.subscriber).uint64(3, letter.seq);
    q.text(4, letter.event_id).int64(5, letter.attempts).text(6, letter.last_error);
    q.int64(7, letter.failed_at.unix_ms);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "add dead letter");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(writer_.db));
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::vector<dead_letter> out;
    if (limit == 0) {
      return out;
    }
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "dead_letters(", subscriber_label(tenant, subscriber),
                 "): ", lease.err().message);
      return out;
    }
    query q((*lease)->dead_letters);
    q.text(1, tenant).text(2, subscriber).uint64(3, after_id);
    q.int64(4, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      dead_letter d;
      d.id = q.col_uint64(0);
      d.tenant = tenant;
      d.subscriber = subscriber;
      d.seq = q.col_uint64(1);
      d.event_id = q.col_text(2);
      d.attempts = static_cast<std::uint32_t>(q.col_int64(3));
      d.last_error = q.col_text(4);
      d.failed_at = timestamp::from_millis(q.col_int64(5));
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "dead_letters(", subscriber_label(tenant, subscriber),
                 "): ", sql_error((*lease)->conn.db, rc, "read dead letters").message);
    }
    return out;
  }

  result<dead_letter> take_dead_letter(const std::string& tenant, const std::string& subscriber,
                                       std::uint64_t id) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.take_dead_letter);
    q.uint64(1, id).text(2, tenant).text(3, subscriber);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return {errc::not_found, "no dead letter " + std::to_string(id) + " for subscriber " +
                                   subscriber_label(tenant, subscriber)};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(writer_.db, rc, "take dead letter");
    }
    dead_letter d;
    d.id = id;
    d.tenant = tenant;
    d.subscriber = subscriber;
    d.seq = q.col_uint64(0);
    d.event_id = q.col_text(1);
    d.attempts = static_cast<std::uint32_t>(q.col_int64(2));
    d.last_error = q.col_text(3);
    d.failed_at = timestamp::from_millis(q.col_int64(4));
    // The statement commits when it completes.
    rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "take dead letter");
    }
    return d;
  }

 private:
  /// A read-only connection with its cached statements; used by one thread at a time.
  struct reader {
    connection conn;
    stmt read_events;
    stmt quarantined;
    stmt cursor;
    stmt dead_letters;
  };

  /// A reader borrowed from the pool; returned to it when the lease ends.
  class reader_lease {
   public:
    reader_lease(sqlite_log* owner, std::unique_ptr<reader> r)
        : owner_(owner), reader_(std::move(r)) {}
    reader_lease(reader_lease&&) noexcept = default;
    reader_lease& operator=(reader_lease&&) noexcept = default;
    ~reader_lease() {
      if (reader_ != nullptr) {
        owner_->release_reader(std::move(reader_));
      }
    }
    reader* operator->() const { return reader_.get(); }

   private:
    sqlite_log* owner_;
    std::unique_ptr<reader> reader_;
  };

  /// The writer connection's cached statements.
  struct writer_statements {
    stmt begin;
    stmt commit;
    stmt rollback;
    stmt insert_dedupe;
    stmt find_dedupe;
    stmt insert_event;
    stmt upsert_head;
    stmt insert_quarantine;
    stmt upsert_cursor;
    stmt insert_dead_letter;
    stmt take_dead_letter;
  };

  status migrate() {
    if (auto st = exec(writer_.db, "BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto st = migrate_locked();
    if (!st) {
      exec(writer_.db, "ROLLBACK");
      return st;
    }
    if (auto c = exec(writer_.db, "COMMIT"); !c) {
      exec(writer_.db, "ROLLBACK");
      return c;
    }
    return {};
  }

  status migrate_locked() {
    auto version = scalar_text(writer_.db, "PRAGMA user_version");
    if (!version) {
      return version.err();
    }
    int v = std::atoi(version->c_str());
    if (v > k_schema_version) {
      return {errc::internal, path_ + ": schema version " + *version +
                                  " is newer than this build understands (" +
                                  std::to_string(k_schema_version) + ")"};
    }
    if (v == 0) {
      return exec(writer_.db, k_schema_v1);
    }
    // Later versions migrate here, one step at a time: `if (v < 2) { ... }`.
    return {};
  }

  status prepare_writer() {
    auto* db = writer_.db;
    const std::pair<stmt*, const char*> statements[] = {
        {&w_.begin, "BEGIN IMMEDIATE"},
        {&w_.commit, "COMMIT"},
        {&w_.rollback, "ROLLBACK"},
        {&w_.insert_dedupe,
         "INSERT INTO dedupe (tenant, channel, key, seq, created_at_ms) VALUES (?1, ?2, ?3, ?4, "
         "?5) "
         "ON CONFLICT DO NOTHING"},
        {&w_.find_dedupe, "SELECT seq FROM dedupe WHERE tenant = ?1 AND channel = ?2 AND key = ?3"},
        {&w_.insert_event,
         "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
         "received_at_ms, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
        {&w_.upsert_head,
         "INSERT INTO tenant_heads (tenant, seq) VALUES (?1, ?2) "
         "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq"},
        {&w_.insert_quarantine,
         "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body) "
         "VALUES (?1, ?2, ?3, ?4, ?5)"},
        {&w_.upsert_cursor,
         "INSERT INTO cursors (tenant, subscriber, seq) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (tenant, subscriber) DO UPDATE SET seq = excluded.seq"},
        {&w_.insert_dead_letter,
         "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
         "failed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&w_.take_dead_letter,
         "DELETE FROM dead_letters WHERE id = ?1 AND tenant = ?2 AND subscriber = ?3 "
         "RETURNING seq, event_id, attempts, last_error, failed_at_ms"},
    };
    for (const auto& [s, sql] : statements) {
      if (auto st = prepare(db, sql, *s); !st) {
        return st;
      }
    }
    return {};
  }

  /// Each tenant's last issued seq. `tenant_heads` is written in the same transaction as the
  /// events; the events' own maximum is consulted too, as a cheap (indexed) cross-check.
  status load_heads() {
    stmt heads;
    stmt max_seq;
    if (auto st = prepare(writer_.db, "SELECT tenant, seq FROM tenant_heads", heads); !st) {
      return st;
    }
    if (auto st = prepare(writer_.db, "SELECT MAX(seq) FROM events WHERE tenant = ?1", max_seq);
        !st) {
      return st;
    }
    std::unordered_map<std::string, std::uint64_t> loaded;
    {
      query q(heads);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        loaded[q.col_text(0)] = q.col_uint64(1);
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "load tenant heads");
      }
    }
    for (auto& [tenant, seq] : loaded) {
      query q(max_seq);
      q.text(1, tenant);
      int rc = q.step();
      if (rc != SQLITE_ROW) {
        return sql_error(writer_.db, rc, "load tenant heads");
      }
      seq = std::max(seq, q.col_uint64(0));
    }
    std::lock_guard lock(heads_mutex_);
    heads_ = std::move(loaded);
    return {};
  }

  status append_locked(std::vector<append_request>& requests,
                       std::vector<std::vector<append_outcome>>& outcomes,
                       std::unordered_map<std::string, std::uint64_t>& batch_heads) {
    {
      query q(w_.begin);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "begin append");
      }
    }
    const std::int64_t now_ms = now().unix_ms;
    std::string json;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& req = requests[i];
      auto& out = outcomes[i];
      out.reserve(req.events.size());
      auto [it, fresh] = batch_heads.try_emplace(req.tenant, 0);
      if (fresh) {
        it->second = head(req.tenant);
      }
      std::uint64_t& last = it->second;
      for (auto& ev : req.events) {
        if (!ev.dedupe_key.empty()) {
          // Claims the key for the next seq; if it is taken (by an earlier batch or earlier in
          // this one: the transaction sees its own rows), the event is a duplicate.
          query claim(w_.insert_dedupe);
          claim.text(1, req.tenant).text(2, ev.channel.name).text(3, ev.dedupe_key);
          claim.uint64(4, last + 1).int64(5, now_ms);
          if (int rc = claim.step(); rc != SQLITE_DONE) {
            return sql_error(writer_.db, rc, "claim dedupe key");
          }
          if (sqlite3_changes(writer_.db) == 0) {
            query find(w_.find_dedupe);
            find.text(1, req.tenant).text(2, ev.channel.name).text(3, ev.dedupe_key);
            int rc = find.step();
            if (rc != SQLITE_ROW) {
              return sql_error(writer_.db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                               "find dedupe key");
            }
            out.push_back({true, find.col_uint64(0)});
            continue;
          }
        }
        ev.seq = ++last;
        json.clear();
        append_json(json, ev);
        query ins(w_.insert_event);
        ins.text(1, req.tenant).uint64(2, ev.seq).text(3, ev.channel.name);
        ins.text_or_null(4, ev.dedupe_key).text(5, ev.type).text(6, ev.conversation);
        ins.text(7, ev.id).int64(8, ev.received_at.unix_ms).text(9, json);
        if (int rc = ins.step(); rc != SQLITE_DONE) {
          return sql_error(writer_.db, rc, "insert event");
        }
        out.push_back({false, ev.seq});
      }
    }
    for (const auto& [tenant, seq] : batch_heads) {
      query q(w_.upsert_head);
      q.text(1, tenant).uint64(2, seq);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "update tenant head");
      }
    }
    query q(w_.commit);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "commit append");
    }
    return {};
  }

  void rollback() {
    // A failed COMMIT may already have rolled back (e.g. on an I/O error).
    if (sqlite3_get_autocommit(writer_.db) != 0) {
      return;
    }
    query q(w_.rollback);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      log::error("store", sql_error(writer_.db, rc, "rollback").message);
    }
  }

  result<reader_lease> lease_reader() {
    {
      std::lock_guard lock(readers_mutex_);
      if (!idle_readers_.empty()) {
        auto r = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return reader_lease(this, std::move(r));
      }
    }
    auto r = std::make_unique<reader>();
    if (auto st = open_connection(path_, SQLITE_OPEN_READONLY, r->conn); !st) {
      return st.err();
    }
    auto* db = r->conn.db;
    const std::pair<stmt*, const char*> statements[] = {
        {&r->read_events,
         "SELECT seq, type, conversation, json FROM events WHERE tenant = ?1 AND seq > ?2 "
         "ORDER BY seq LIMIT ?3"},
        {&r->quarantined,
         "SELECT id, channel, reason, received_at_ms, body FROM quarantine WHERE tenant = ?1 "
         "ORDER BY id"},
        {&r->cursor, "SELECT seq FROM cursors WHERE tenant = ?1 AND subscriber = ?2"},
        {&r->dead_letters,
         "SELECT id, seq, event_id, attempts, last_error, failed_at_ms FROM dead_letters "
         "WHERE tenant = ?1 AND subscriber = ?2 AND id > ?3 ORDER BY id LIMIT ?4"},
    };
    for (const auto& [s, sql] : statements) {
      if (auto st = prepare(db, sql, *s); !st) {
        return st.err();
      }
    }
    return reader_lease(this, std::move(r));
  }

  void release_reader(std::unique_ptr<reader> r) {
    std::lock_guard lock(readers_mutex_);
    if (idle_readers_.size() < k_max_idle_readers) {
      idle_readers_.push_back(std::move(r));
    }
  }

  // Declaration order is destruction order reversed: readers close first, then the writer
  // (which checkpoints the WAL), and the directory lock is released last.
  file_lock lock_;
  std::string path_;

  std::mutex write_mutex_;  // guards writer_ and w_: appends and every other write
  connection writer_;
  writer_statements w_;

  std::mutex heads_mutex_;  // guards heads_: committed seqs only
  std::unordered_map<std::string, std::uint64_t> heads_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<reader>> idle_readers_;
};

}  // namespace

result<std::shared_ptr<event_log>> make_sqlite_log(const std::string& dir,
                                                   config::durability durability) {
  auto log = std::make_shared<sqlite_log>();
  if (auto st = log->open(dir, durability); !st) {
    return st.err();
  }
  return std::shared_ptr<event_log>(std::move(log));
}

}  // namespace sb::store

// The durable outbox: `<dir>/outbox.db`, its own SQLite database beside the event log's, so an
// outbound write never waits behind an event-log commit (and the reverse).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "core/aead.hpp"
#include "store/outbox.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store {

namespace {

constexpr int k_schema_version = 2;
constexpr int k_busy_timeout_ms = 5000;

// `seq` keeps put order across restarts (resume order = acceptance order; ids made on different
// threads in one millisecond need not sort). `message` is sealed (AES-256-GCM, bound to tenant
// and id). `platform_message_id` and `idempotency_key` are NULL when absent so their partial
// unique/lookup indexes skip them. `last_inbound` is the 24-hour window table.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  conversation TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  purpose TEXT NOT NULL,
  message BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  platform_message_id TEXT,
  error_code TEXT NOT NULL,
  error_title TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  caller TEXT NOT NULL,
  idempotency_key TEXT
);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (tenant, caller, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX outbox_unfinished ON outbox (tenant, channel, seq)
  WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_platform_id ON outbox (tenant, channel, platform_message_id)
  WHERE platform_message_id IS NOT NULL;
CREATE INDEX outbox_subject ON outbox (tenant, subject);
CREATE INDEX outbox_updated ON outbox (tenant, updated_at_ms);
CREATE TABLE last_inbound (
  tenant TEXT NOT NULL,
  conversation TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  subject TEXT NOT NULL,
  PRIMARY KEY (tenant, conversation)
) WITHOUT ROWID;
CREATE INDEX last_inbound_subject ON last_inbound (tenant, subject);
PRAGMA user_version = 1;
)sql";

// v2: the window table keeps, for a pseudonymizing tenant, the real peer of each pseudonymous
// conversation ("<channel>:anon_…"), sealed like the messages (bound to tenant and conversation);
// NULL for every other conversation.
constexpr const char* k_schema_v2 = R"sql(
ALTER TABLE last_inbound ADD COLUMN peer BLOB;
PRAGMA user_version = 2;
)sql";

constexpr const char* k_columns =
    "id, tenant, channel, conversation, recipient, subject, purpose, message, state, attempts, "
    "platform_message_id, error_code, error_title, created_at_ms, updated_at_ms, caller, "
    "idempotency_key";

using sqlite::connection;
using sqlite::file_lock;
using sqlite::query;
using sqlite::stmt;

// The shared SQLite plumbing (sqlite_util.hpp), naming this database in its errors.
constexpr std::string_view k_prefix = "outbox sqlite";

error sql_error(sqlite3* db, int rc, std::string_view what) {
  return sqlite::sql_error(db, rc, what, k_prefix);
}

status open_connection(const std::string& path, int flags, connection& out) {
  return sqlite::open_connection(path, flags, out, k_busy_timeout_ms, k_prefix);
}

status prepare(sqlite3* db, const std::string& sql, stmt& out) {
  return sqlite::prepare(db, sql.c_str(), out, k_prefix);
}

status exec(sqlite3* db, const char* sql) {
  return sqlite::exec(db, sql, k_prefix);
}

status expect_done(sqlite3* db, int rc, std::string_view what) {
  return rc == SQLITE_DONE ? status{} : status{sql_error(db, rc, what)};
}

int rank(outbound_state s) {
  return static_cast<int>(s);
}

/// The writer's statements (owned by the writer connection's lifetime).
struct writer_statements {
  stmt begin, commit, rollback;
  stmt insert, find_idempotent, select_state, update;
  stmt upsert_inbound;
};

/// The reader's statements.
struct reader_statements {
  stmt get, unfinished_from, unfinished_after, by_platform, last_inbound, by_idempotency, peer;
};

class sqlite_outbox final : public outbox {
 public:
  status open(const std::string& dir, config::durability durability,
              const std::string& master_key) {
    if (master_key.size() != crypto::aead_key_size) {
      return {errc::bad_request, "outbox: storage.master_key must be 32 bytes"};
    }
    key_ = outbox_key(master_key);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return {errc::internal, "cannot create " + dir + ": " + ec.message()};
    }
    const std::string lock_path = dir + "/outbox.lock";
    lock_.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_.fd < 0) {
      return {errc::internal, "cannot open " + lock_path + ": " + std::strerror(errno)};
    }
    if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
      return {errc::internal, errno == EWOULDBLOCK
                                  ? "outbox " + lock_path + " is in use (this or another process)"
                                  : "cannot lock " + lock_path + ": " + std::strerror(errno)};
    }
    const std::string path = dir + "/outbox.db";
    if (auto st = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_); !st) {
      return st;
    }
    if (auto st = exec(writer_.db, "PRAGMA journal_mode = WAL"); !st) {
      return st;
    }
    const char* sync = durability == config::durability::fsync ? "PRAGMA synchronous = FULL"
                       : durability == config::durability::os  ? "PRAGMA synchronous = NORMAL"
                                                               : "PRAGMA synchronous = OFF";
    if (auto st = exec(writer_.db, sync); !st) {
      return st;
    }
    if (auto st = exec(writer_.db, "PRAGMA journal_size_limit = 67108864"); !st) {
      return st;
    }
    if (auto st = migrate(path); !st) {
      return st;
    }
    if (auto st = open_connection(path, SQLITE_OPEN_READONLY, reader_); !st) {
      return st;
    }
    return prepare_all();
  }

  status apply(std::vector<outbox_write>& batch) override {
    std::lock_guard lock(write_mutex_);
    if (auto st = run(w_.begin, "begin"); !st) {
      return st;
    }
    for (auto& w : batch) {
      status st;
      switch (w.what) {
        case outbox_write::kind::put:
          st = put_one(w);
          break;
        case outbox_write::kind::update:
          st = update_one(w);
          break;
        case outbox_write::kind::last_inbound:
          st = upsert_inbound(w);
          break;
      }
      if (!st) {
        run(w_.rollback, "rollback");
        return st;
      }
    }
    if (auto st = run(w_.commit, "commit"); !st) {
      run(w_.rollback, "rollback");
      return st;
    }
    return {};
  }

  result<outbound_record> get(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(read_mutex_);
    query q(r_.get);
    q.text(1, id).text(2, tenant);
    return one(q);
  }

  result<std::vector<outbound_record>> unfinished(const std::string& tenant,
                                                  const std::string& channel, std::size_t limit,
                                                  const std::string& after_id) override {
    std::lock_guard lock(read_mutex_);
    const stmt& s = after_id.empty() ? r_.unfinished_from : r_.unfinished_after;
    query q(s);
    q.text(1, tenant).text(2, channel).int64(3, static_cast<std::int64_t>(limit));
    if (!after_id.empty()) {
      q.text(4, after_id);
    }
    std::vector<outbound_record> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto r = row(q);
      if (!r) {
        return r.err();
      }
      out.push_back(std::move(r.value()));
    }
    if (rc != SQLITE_DONE) {
      return sql_error(reader_.db, rc, "unfinished");
    }
    return out;
  }

  result<outbound_record> find_by_platform_id(const std::string& tenant, const std::string& channel,
                                              const std::string& platform_message_id) override {
    if (platform_message_id.empty()) {
      return error{errc::not_found, "no message with that platform id"};
    }
    std::lock_guard lock(read_mutex_);
    query q(r_.by_platform);
    q.text(1, tenant).text(2, channel).text(3, platform_message_id);
    return one(q);
  }

  result<std::uint64_t> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (subject.empty()) {
      return std::uint64_t{0};
    }
    return delete_where("DELETE FROM outbox WHERE tenant = ?1 AND subject = ?2",
                        "DELETE FROM last_inbound WHERE tenant = ?1 AND subject = ?2", tenant,
                        [&](query& q) { q.text(2, subject); });
  }

  result<std::uint64_t> expire(const std::string& tenant, timestamp cutoff) override {
    return delete_where(
        "DELETE FROM outbox WHERE tenant = ?1 AND updated_at_ms < ?2 AND "
        "state NOT IN ('queued', 'sending')",
        "DELETE FROM last_inbound WHERE tenant = ?1 AND at_ms < ?2", tenant,
        [&](query& q) { q.int64(2, cutoff.unix_ms); });
  }

  result<std::int64_t> last_inbound(const std::string& tenant,
                                    const std::string& conversation) override {
    std::lock_guard lock(read_mutex_);
    query q(r_.last_inbound);
    q.text(1, tenant).text(2, conversation);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return q.col_int64(0);
    }
    if (rc == SQLITE_DONE) {
      return std::int64_t{0};
    }
    return sql_error(reader_.db, rc, "last_inbound");
  }

  result<outbound_record> find_by_idempotency_key(const std::string& tenant,
                                                  const std::string& caller,
                                                  const std::string& key) override {
    if (key.empty()) {
      return error{errc::not_found, "no message with that idempotency key"};
    }
    std::lock_guard lock(read_mutex_);
    query q(r_.by_idempotency);
    q.text(1, tenant).text(2, caller).text(3, key);
    return one(q);
  }

  result<std::string> peer_of(const std::string& tenant,
                              const std::string& conversation) override {
    std::lock_guard lock(read_mutex_);
    query q(r_.peer);
    q.text(1, tenant).text(2, conversation);
    int rc = q.step();
    if (rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_type(r_.peer.get(), 0) ==
                                                      SQLITE_NULL)) {
      return error{errc::not_found, "no peer known for that conversation"};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(reader_.db, rc, "peer");
    }
    auto opened = crypto::open(key_, q.col_blob(0), peer_aad(tenant, conversation));
    if (!opened) {
      return error{errc::internal, "outbox: the peer of a conversation cannot be decrypted"};
    }
    return std::move(opened.value());
  }

 private:
  status migrate(const std::string& path) {
    stmt s;
    if (auto st = prepare(writer_.db, "PRAGMA user_version", s); !st) {
      return st;
    }
    int version = 0;
    {
      query q(s);
      if (q.step() == SQLITE_ROW) {
        version = static_cast<int>(q.col_int64(0));
      }
    }
    if (version > k_schema_version) {
      return {errc::internal, path + " has schema version " + std::to_string(version) +
                                  ", newer than this build's " + std::to_string(k_schema_version)};
    }
    if (version == k_schema_version) {
      return {};
    }
    // One transaction from whatever version the file has to the current one.
    if (auto st = exec(writer_.db, "BEGIN IMMEDIATE"); !st) {
      return st;
    }
    for (const auto& [from, sql] : {std::pair<int, const char*>{0, k_schema_v1}, {1, k_schema_v2}}) {
      if (version > from) {
        continue;
      }
      if (auto st = exec(writer_.db, sql); !st) {
        exec(writer_.db, "ROLLBACK");
        return st;
      }
    }
    return exec(writer_.db, "COMMIT");
  }

  status prepare_all() {
    const std::string cols = k_columns;
    auto p = [](sqlite3* db, const std::string& sql, stmt& s) { return prepare(db, sql, s); };
    sqlite3* w = writer_.db;
    sqlite3* r = reader_.db;
    for (auto st : {
             p(w, "BEGIN IMMEDIATE", w_.begin),
             p(w, "COMMIT", w_.commit),
             p(w, "ROLLBACK", w_.rollback),
             p(w,
               "INSERT INTO outbox (" + cols +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                   "?16, ?17)",
               w_.insert),
             p(w,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND caller = ?2 AND idempotency_key = ?3",
               w_.find_idempotent),
             p(w, "SELECT state FROM outbox WHERE id = ?1 AND tenant = ?2", w_.select_state),
             p(w,
               "UPDATE outbox SET state = ?3, attempts = coalesce(?4, attempts), "
               "platform_message_id = CASE WHEN ?5 IS NULL THEN platform_message_id "
               "WHEN ?5 = '' THEN NULL ELSE ?5 END, "
               "error_code = coalesce(?6, error_code), error_title = coalesce(?7, error_title), "
               "updated_at_ms = ?8 WHERE id = ?1 AND tenant = ?2",
               w_.update),
             p(w,
               "INSERT INTO last_inbound (tenant, conversation, at_ms, subject, peer) "
               "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, conversation) DO UPDATE SET "
               "at_ms = max(at_ms, excluded.at_ms), "
               "subject = CASE WHEN excluded.subject = '' THEN subject ELSE excluded.subject END, "
               "peer = coalesce(excluded.peer, peer)",
               w_.upsert_inbound),
             p(r, "SELECT " + cols + " FROM outbox WHERE id = ?1 AND tenant = ?2", r_.get),
             p(r,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND channel = ?2 AND state IN ('queued', "
                   "'sending') ORDER BY seq LIMIT ?3",
               r_.unfinished_from),
             p(r,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND channel = ?2 AND state IN ('queued', "
                   "'sending') AND seq > coalesce((SELECT seq FROM outbox WHERE id = ?4), 0) "
                   "ORDER BY seq LIMIT ?3",
               r_.unfinished_after),
             p(r,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND channel = ?2 AND platform_message_id = ?3",
               r_.by_platform),
             p(r, "SELECT at_ms FROM last_inbound WHERE tenant = ?1 AND conversation = ?2",
               r_.last_inbound),
             p(r,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND caller = ?2 AND idempotency_key = ?3",
               r_.by_idempotency),
             p(r, "SELECT peer FROM last_inbound WHERE tenant = ?1 AND conversation = ?2",
               r_.peer),
         }) {
      if (!st) {
        return st;
      }
    }
    return {};
  }

  status run(const stmt& s, std::string_view what) {
    query q(s);
    return expect_done(writer_.db, q.step(), what);
  }

  static std::string aad(const std::string& tenant, const std::string& id) {
    std::string a = tenant;
    a.push_back('\0');
    a += id;
    return a;
  }

  /// The peer of a pseudonymous conversation is bound to its row (a sealed value copied to
  /// another row does not open); the prefix keeps it apart from the messages' `aad`.
  static std::string peer_aad(const std::string& tenant, const std::string& conversation) {
    std::string a = "peer";
    a.push_back('\0');
    a += tenant;
    a.push_back('\0');
    a += conversation;
    return a;
  }

  status upsert_inbound(const outbox_write& w) {
    std::string sealed;
    if (!w.peer.empty()) {
      auto s = crypto::seal(key_, w.peer, peer_aad(w.tenant, w.conversation));
      if (!s) {
        return s.err();
      }
      sealed = std::move(s.value());
    }
    query q(w_.upsert_inbound);
    q.text(1, w.tenant).text(2, w.conversation).int64(3, w.at_ms).text(4, w.subject);
    if (!sealed.empty()) {
      q.blob(5, sealed);  // unbound stays NULL: the stored peer is kept
    }
    return expect_done(writer_.db, q.step(), "last_inbound");
  }

  /// Reads the current row of a query over `k_columns`, opening the sealed message.
  result<outbound_record> row(const query& q) const {
    outbound_record r;
    r.id = q.col_text(0);
    r.tenant = q.col_text(1);
    r.channel = q.col_text(2);
    r.conversation = q.col_text(3);
    r.recipient = q.col_text(4);
    r.subject = q.col_text(5);
    r.purpose = q.col_text(6);
    auto opened = crypto::open(key_, q.col_blob(7), aad(r.tenant, r.id));
    if (!opened) {
      return error{errc::internal, "outbox: message " + r.id + " cannot be decrypted"};
    }
    r.message = std::move(opened.value());
    r.state = parse_outbound_state(q.col_text(8)).value_or(outbound_state::failed);
    r.attempts = static_cast<std::uint32_t>(q.col_int64(9));
    r.platform_message_id = q.col_text(10);
    r.error_code = q.col_text(11);
    r.error_title = q.col_text(12);
    r.created_at = timestamp::from_millis(q.col_int64(13));
    r.updated_at = timestamp::from_millis(q.col_int64(14));
    r.caller = q.col_text(15);
    r.idempotency_key = q.col_text(16);
    return r;
  }

  result<outbound_record> one(query& q) const {
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return row(q);
    }
    if (rc == SQLITE_DONE) {
      return error{errc::not_found, "no such message"};
    }
    return sql_error(reader_.db, rc, "select");
  }

  status put_one(outbox_write& w) {
    auto& r = w.record;
    if (!r.idempotency_key.empty()) {
      query q(w_.find_idempotent);
      q.text(1, r.tenant).text(2, r.caller).text(3, r.idempotency_key);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        auto earlier = row(q);
        if (!earlier) {
          return earlier.err();
        }
        r = std::move(earlier.value());
        w.created = false;
        return {};
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "idempotency lookup");
      }
    }
    w.created = true;
    auto sealed = crypto::seal(key_, r.message, aad(r.tenant, r.id));
    if (!sealed) {
      return sealed.err();
    }
    query q(w_.insert);
    q.text(1, r.id).text(2, r.tenant).text(3, r.channel).text(4, r.conversation);
    q.text(5, r.recipient).text(6, r.subject).text(7, r.purpose).blob(8, sealed.value());
    q.text(9, to_string(r.state)).int64(10, r.attempts).text_or_null(11, r.platform_message_id);
    q.text(12, r.error_code).text(13, r.error_title).int64(14, r.created_at.unix_ms);
    q.int64(15, r.updated_at.unix_ms).text(16, r.caller).text_or_null(17, r.idempotency_key);
    return expect_done(writer_.db, q.step(), "insert");
  }

  status update_one(outbox_write& w) {
    const auto& u = w.update;
    w.applied = false;
    {
      query q(w_.select_state);
      q.text(1, u.id).text(2, u.tenant);
      int rc = q.step();
      if (rc == SQLITE_DONE) {
        return {};
      }
      if (rc != SQLITE_ROW) {
        return sql_error(writer_.db, rc, "select state");
      }
      const auto current = parse_outbound_state(q.col_text(0)).value_or(outbound_state::queued);
      if (u.forward_only && rank(u.state) <= rank(current)) {
        return {};
      }
    }
    query q(w_.update);
    q.text(1, u.id).text(2, u.tenant).text(3, to_string(u.state));
    if (u.attempts) {
      q.int64(4, *u.attempts);
    }
    if (u.platform_message_id) {
      q.text(5, *u.platform_message_id);  // "" clears it (bound as '' -> NULL by the SQL)
    }
    if (u.error_code) {
      q.text(6, *u.error_code);
    }
    if (u.error_title) {
      q.text(7, *u.error_title);
    }
    q.int64(8, u.updated_at.unix_ms);
    if (auto st = expect_done(writer_.db, q.step(), "update"); !st) {
      return st;
    }
    w.applied = true;
    return {};
  }

  template <class Bind>
  result<std::uint64_t> delete_where(const char* outbox_sql, const char* inbound_sql,
                                     const std::string& tenant, Bind bind) {
    std::lock_guard lock(write_mutex_);
    // Rare operations: prepared per call.
    stmt a, b;
    if (auto st = prepare(writer_.db, outbox_sql, a); !st) {
      return st.err();
    }
    if (auto st = prepare(writer_.db, inbound_sql, b); !st) {
      return st.err();
    }
    if (auto st = run(w_.begin, "begin"); !st) {
      return st.err();
    }
    std::uint64_t n = 0;
    status st;
    {
      query q(a);
      q.text(1, tenant);
      bind(q);
      st = expect_done(writer_.db, q.step(), "delete");
      n = static_cast<std::uint64_t>(sqlite3_changes(writer_.db));
    }
    if (st) {
      query q(b);
      q.text(1, tenant);
      bind(q);
      st = expect_done(writer_.db, q.step(), "delete");
    }
    if (st) {
      st = run(w_.commit, "commit");
    }
    if (!st) {
      run(w_.rollback, "rollback");
      return st.err();
    }
    return n;
  }

  std::string key_;
  file_lock lock_;
  std::mutex write_mutex_;
  std::mutex read_mutex_;
  // Connections before their statements: members are destroyed in reverse order.
  connection writer_;
  connection reader_;
  writer_statements w_;
  reader_statements r_;
};

}  // namespace

result<std::shared_ptr<outbox>> make_sqlite_outbox(const std::string& dir,
                                                   config::durability durability,
                                                   const std::string& master_key) {
  if (sqlite3_threadsafe() == 0) {
    return error{errc::internal, "the SQLite library was built without thread support"};
  }
  auto box = std::make_shared<sqlite_outbox>();
  if (auto st = box->open(dir, durability, master_key); !st) {
    return st.err();
  }
  return std::shared_ptr<outbox>(std::move(box));
}

}  // namespace sb::store

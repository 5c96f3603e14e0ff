// The durable outbox: `<dir>/outbox.db`, its own SQLite database beside the event log's, so an
// outbound write never waits behind an event-log commit (and the reverse).
//
// Nothing that names a person is in clear in its files: recipients, conversations, subjects,
// idempotency keys and the platforms' message ids are sealed (AES-256-GCM, bound to their row),
// and the columns the lookups need hold keyed digests of them. Deleted rows are zeroed
// (`secure_delete`) and the WAL is truncated after an erasure and after retention deletes.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <utility>

#include "core/aead.hpp"
#include "core/log.hpp"
#include "store/outbox.hpp"
#include "store/outbox_codec.hpp"
#include "store/sealed.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store {

namespace {

constexpr int k_schema_version = 4;
constexpr int k_busy_timeout_ms = 5000;

// The WAL truncation after an erasure or a retention sweep waits this long at most (it holds the
// writer, and this process's reader is kept out meanwhile, so only a reader of another process,
// e.g. an operator's sqlite3 shell, can make it wait).
constexpr int k_truncate_wait_ms = 200;

// What the outbox seals and digests, and how (the PostgreSQL outbox's rows are the same bytes).
using outbox_codec::k_key_check_aad;
using outbox_codec::k_key_check_text;
using outbox_codec::k_kind_conversation;
using outbox_codec::k_kind_idempotency;
using outbox_codec::k_kind_platform_id;
using outbox_codec::k_kind_subject;
using outbox_codec::rank;

// Version 1 (the first release), kept verbatim: a v1 file is migrated through v2 to v3.
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

// Version 2: the window table keeps the sealed real peer of a pseudonymous conversation.
constexpr const char* k_schema_v2 = R"sql(
ALTER TABLE last_inbound ADD COLUMN peer BLOB;
PRAGMA user_version = 2;
)sql";

// Version 3: no identifier in clear. `seq` keeps put order across restarts (resume order =
// acceptance order; ids made on different threads in one millisecond need not sort). `record` is
// sealed (bound to tenant and id): conversation, recipient, subject, idempotency key and the
// message JSON. `platform_message_id` and `error_title` are sealed apart (they change after the
// put), NULL when empty. The `*_digest` columns are keyed digests for the lookups, NULL when the
// value is empty, so their partial indexes skip them. `last_inbound` is the 24-hour window table,
// by conversation digest; `peer` is a pseudonymous conversation's sealed real peer (bound to
// tenant and conversation). The tables are created under other names (the migration fills them
// from the v2 tables) and renamed by `k_schema_v3_finish`.
constexpr const char* k_schema_v3_tables = R"sql(
CREATE TABLE outbox_v3 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  purpose TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  error_code TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  caller TEXT NOT NULL,
  record BLOB NOT NULL,
  platform_message_id BLOB,
  error_title BLOB,
  subject_digest BLOB,
  idempotency_digest BLOB,
  platform_digest BLOB
);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE last_inbound_v3 (
  tenant TEXT NOT NULL,
  conversation_digest BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  subject_digest BLOB,
  peer BLOB,
  PRIMARY KEY (tenant, conversation_digest)
) WITHOUT ROWID;
)sql";

constexpr const char* k_schema_v3_finish = R"sql(
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS last_inbound;
ALTER TABLE outbox_v3 RENAME TO outbox;
ALTER TABLE last_inbound_v3 RENAME TO last_inbound;
CREATE UNIQUE INDEX outbox_idempotency ON outbox (tenant, caller, idempotency_digest)
  WHERE idempotency_digest IS NOT NULL;
CREATE INDEX outbox_unfinished ON outbox (tenant, channel, seq)
  WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_platform_id ON outbox (tenant, channel, platform_digest)
  WHERE platform_digest IS NOT NULL;
CREATE INDEX outbox_subject ON outbox (tenant, subject_digest);
CREATE INDEX outbox_updated ON outbox (tenant, updated_at_ms);
CREATE INDEX last_inbound_subject ON last_inbound (tenant, subject_digest);
PRAGMA user_version = 3;
)sql";

// Version 4: the window head of each tenant (`outbox::window_head`): the event seq up to which its
// window rows are written, in the same transaction as those rows.
constexpr const char* k_schema_v4 = R"sql(
CREATE TABLE window_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 4;
)sql";

// The columns `row` reads, in this order.
constexpr const char* k_columns =
    "id, tenant, channel, purpose, state, attempts, error_code, created_at_ms, updated_at_ms, "
    "caller, record, platform_message_id, error_title";

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

/// The v1/v2 binding of the sealed message JSON (read by the migration only).
std::string v2_message_aad(const std::string& tenant, const std::string& id) {
  return sealed::join({tenant, id});
}

/// The writer's statements (owned by the writer connection's lifetime).
struct writer_statements {
  stmt begin, commit, rollback;
  stmt insert, find_idempotent, select_state, update;
  stmt upsert_inbound, raise_window_head;
};

/// The reader's statements.
struct reader_statements {
  stmt get, unfinished_from, unfinished_after, by_platform, last_inbound, by_idempotency, peer;
  stmt window_head;
};

class sqlite_outbox final : public outbox {
 public:
  status open(const std::string& dir, config::durability durability, const std::string& root_key) {
    if (auto st = keys_.derive(root_key); !st) {
      return st;
    }
    durability_ = durability;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return {errc::internal, "cannot create " + dir + ": " + ec.message()};
    }
    const std::string lock_path = dir + "/outbox.lock";
    if (auto st = sqlite::lock_file(lock_path, lock_,
                                    "outbox " + lock_path + " is in use (this or another process)");
        !st) {
      return st;
    }
    const std::string path = dir + "/outbox.db";
    if (auto st = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_); !st) {
      return st;
    }
    if (auto st = exec(writer_.db, "PRAGMA journal_mode = WAL"); !st) {
      return st;
    }
    if (auto st = sqlite::set_writer_pragmas(writer_.db, durability, k_prefix); !st) {
      return st;
    }
    bool rewritten = false;
    if (auto st = migrate(path, rewritten); !st) {
      return st;
    }
    if (rewritten) {
      // The identifiers an older file held in clear are gone from its pages (zeroed or rewritten);
      // copy those pages into the file and drop the WAL frames that still hold them.
      purge_wal("migration");
    }
    if (auto st = open_connection(path, SQLITE_OPEN_READONLY, reader_); !st) {
      return st;
    }
    return prepare_all();
  }

  status apply(std::vector<outbox_write>& batch) override {
    std::lock_guard lock(write_mutex_);
    // Window rows are derived from the event log (repaired from it at start), so a batch of
    // them alone needs no disk sync of its own: under `fsync` it would be the second sync of
    // every webhook commit (docs/performance.md, step 5).
    const bool unsynced = durability_ == config::durability::fsync && window_only(batch);
    if (auto st = set_unsynced(unsynced); !st) {
      return st;
    }
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
        case outbox_write::kind::window_head: {
          query q(w_.raise_window_head);
          q.text(1, w.tenant).int64(2, static_cast<std::int64_t>(w.seq));
          st = expect_done(writer_.db, q.step(), "window head");
          break;
        }
      }
      if (!st) {
        rollback_after_failure();
        return st;
      }
    }
    if (auto st = run(w_.commit, "commit"); !st) {
      rollback_after_failure();
      return st;
    }
    return {};
  }

  result<outbound_record> get(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(read_mutex_);
    query q(r_.get);
    q.text(1, id).text(2, tenant);
    return one(q, reader_.db);
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
    const auto digest = keys_.digest_of(k_kind_platform_id, tenant, channel, platform_message_id);
    std::lock_guard lock(read_mutex_);
    query q(r_.by_platform);
    q.text(1, tenant).text(2, channel).blob(3, digest);
    return first_matching(
        q, [&](const outbound_record& r) { return r.platform_message_id == platform_message_id; });
  }

  result<std::uint64_t> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (subject.empty()) {
      return std::uint64_t{0};
    }
    const auto digest = keys_.digest_of(k_kind_subject, tenant, subject);
    return delete_where("DELETE FROM outbox WHERE tenant = ?1 AND subject_digest = ?2",
                        "DELETE FROM last_inbound WHERE tenant = ?1 AND subject_digest = ?2",
                        tenant, "erasure", true, [&](query& q) { q.blob(2, digest); });
  }

  result<std::uint64_t> expire(const std::string& tenant, timestamp cutoff) override {
    return delete_where(
        "DELETE FROM outbox WHERE tenant = ?1 AND updated_at_ms < ?2 AND "
        "state NOT IN ('queued', 'sending')",
        "DELETE FROM last_inbound WHERE tenant = ?1 AND at_ms < ?2", tenant, "retention", false,
        [&](query& q) { q.int64(2, cutoff.unix_ms); });
  }

  result<std::optional<std::uint64_t>> window_head(const std::string& tenant) override {
    std::lock_guard lock(read_mutex_);
    query q(r_.window_head);
    q.text(1, tenant);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return std::optional<std::uint64_t>{static_cast<std::uint64_t>(q.col_int64(0))};
    }
    if (rc == SQLITE_DONE) {
      return std::optional<std::uint64_t>{};
    }
    return sql_error(reader_.db, rc, "window head");
  }

  result<std::int64_t> last_inbound(const std::string& tenant,
                                    const std::string& conversation) override {
    const auto digest = keys_.digest_of(k_kind_conversation, tenant, conversation);
    std::lock_guard lock(read_mutex_);
    query q(r_.last_inbound);
    q.text(1, tenant).blob(2, digest);
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
    const auto digest = keys_.digest_of(k_kind_idempotency, tenant, caller, key);
    std::lock_guard lock(read_mutex_);
    query q(r_.by_idempotency);
    q.text(1, tenant).text(2, caller).blob(3, digest);
    return first_matching(q, [&](const outbound_record& r) { return r.idempotency_key == key; });
  }

  result<std::string> peer_of(const std::string& tenant, const std::string& conversation) override {
    const auto digest = keys_.digest_of(k_kind_conversation, tenant, conversation);
    std::lock_guard lock(read_mutex_);
    query q(r_.peer);
    q.text(1, tenant).blob(2, digest);
    int rc = q.step();
    if (rc == SQLITE_DONE ||
        (rc == SQLITE_ROW && sqlite3_column_type(r_.peer.get(), 0) == SQLITE_NULL)) {
      return error{errc::not_found, "no peer known for that conversation"};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(reader_.db, rc, "peer");
    }
    return keys_.open_peer(tenant, conversation, q.col_view(0));
  }

 private:
  status migrate(const std::string& path, bool& rewritten) {
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
      return check_key(path);
    }
    // One transaction from whatever version the file has to the current one.
    if (auto st = exec(writer_.db, "BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto st = migrate_locked(version);
    if (st) {
      st = exec(writer_.db, "COMMIT");
    }
    if (!st) {
      sqlite::rollback_after_failure(writer_.db, k_prefix);
      return st;
    }
    rewritten = version > 0 && version < 3;  // v1 and v2 held identifiers in clear
    return {};
  }

  status migrate_locked(int version) {
    if (version < 3) {
      if (auto st = migrate_to_v3(version); !st) {
        return st;
      }
    }
    return exec(writer_.db, k_schema_v4);
  }

  status migrate_to_v3(int version) {
    if (version == 1) {
      if (auto st = exec(writer_.db, k_schema_v2); !st) {
        return st;
      }
    }
    if (auto st = exec(writer_.db, k_schema_v3_tables); !st) {
      return st;
    }
    if (version > 0) {
      if (auto st = rewrite_v2_rows(); !st) {
        return st;
      }
    }
    if (auto st = exec(writer_.db, k_schema_v3_finish); !st) {
      return st;
    }
    return sqlite::write_key_check(writer_.db, keys_.sealing_key(), k_key_check_text,
                                   k_key_check_aad, "key check", k_prefix);
  }

  /// The key check of a v3 file: refuses another master key before anything is read or written.
  status check_key(const std::string& path) {
    return sqlite::verify_key_check(writer_.db, keys_.sealing_key(), k_key_check_text,
                                    k_key_check_aad, path + " has no key check",
                                    std::string(outbox_codec::k_key_mismatch), "key check",
                                    k_prefix);
  }

  /// v2 -> v3: every message and window row again, identifiers sealed and digested. The old
  /// tables are dropped afterwards (their pages zeroed: `secure_delete`).
  status rewrite_v2_rows() {
    stmt read, insert, read_inbound, insert_inbound;
    for (auto st : {
             prepare(writer_.db,
                     "SELECT seq, id, tenant, channel, conversation, recipient, subject, purpose, "
                     "message, state, attempts, platform_message_id, error_code, error_title, "
                     "created_at_ms, updated_at_ms, caller, idempotency_key FROM outbox ORDER BY "
                     "seq",
                     read),
             prepare(writer_.db,
                     "INSERT INTO outbox_v3 (seq, " + std::string(k_columns) +
                         ", subject_digest, idempotency_digest, platform_digest) VALUES (?1, ?2, "
                         "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                     insert),
             prepare(writer_.db,
                     "SELECT tenant, conversation, at_ms, subject, peer FROM last_inbound",
                     read_inbound),
             prepare(writer_.db,
                     "INSERT INTO last_inbound_v3 (tenant, conversation_digest, at_ms, "
                     "subject_digest, peer) VALUES (?1, ?2, ?3, ?4, ?5)",
                     insert_inbound),
         }) {
      if (!st) {
        return st;
      }
    }
    {
      query q(read);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        outbound_record r;
        const std::int64_t seq = q.col_int64(0);
        r.id = q.col_text(1);
        r.tenant = q.col_text(2);
        r.channel = q.col_text(3);
        r.conversation = q.col_text(4);
        r.recipient = q.col_text(5);
        r.subject = q.col_text(6);
        r.purpose = q.col_text(7);
        auto message =
            crypto::open(keys_.sealing_key(), q.col_view(8), v2_message_aad(r.tenant, r.id));
        if (!message) {
          return {errc::internal, "outbox migration: message " + r.id +
                                      " cannot be decrypted (another storage.master_key?)"};
        }
        r.message = std::move(message.value());
        r.state = parse_outbound_state(q.col_text(9)).value_or(outbound_state::failed);
        r.attempts = static_cast<std::uint32_t>(q.col_int64(10));
        r.platform_message_id = q.col_text(11);
        r.error_code = q.col_text(12);
        r.error_title = q.col_text(13);
        r.created_at = timestamp::from_millis(q.col_int64(14));
        r.updated_at = timestamp::from_millis(q.col_int64(15));
        r.caller = q.col_text(16);
        r.idempotency_key = q.col_text(17);
        if (auto st = insert_record(insert, r, seq); !st) {
          return st;
        }
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "outbox migration: read messages");
      }
    }
    query q(read_inbound);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      const std::string tenant = q.col_text(0);
      const std::string conversation = q.col_text(1);
      const std::string subject = q.col_text(3);
      const auto conversation_digest = keys_.digest_of(k_kind_conversation, tenant, conversation);
      const auto subject_digest = keys_.digest_or_empty(k_kind_subject, tenant, subject);
      query ins(insert_inbound);
      // The peer was sealed bound to tenant and conversation already (v2): kept as it is.
      ins.text(1, tenant).blob(2, conversation_digest).int64(3, q.col_int64(2));
      bind_blob_or_null(ins, 4, subject_digest);
      if (sqlite3_column_type(read_inbound.get(), 4) != SQLITE_NULL) {
        ins.blob(5, q.col_view(4));
      }
      if (auto st = expect_done(writer_.db, ins.step(), "outbox migration: window row"); !st) {
        return st;
      }
    }
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "outbox migration: read window rows");
    }
    return {};
  }

  static void bind_blob_or_null(query& q, int i, const std::string& v) {
    if (!v.empty()) {
      q.blob(i, v);  // unbound stays NULL
    }
  }

  /// Inserts `r` with statement `s` (the columns of `k_columns`, then the three digests; with
  /// `seq` first when `seq` > 0).
  status insert_record(const stmt& s, const outbound_record& r, std::int64_t seq = 0) {
    auto sealed = keys_.seal(r);
    if (!sealed) {
      return sealed.err();
    }
    const auto& c = sealed.value();
    query q(s);
    int i = 1;
    if (seq > 0) {
      q.int64(i++, seq);
    }
    q.text(i, r.id).text(i + 1, r.tenant).text(i + 2, r.channel).text(i + 3, r.purpose);
    q.text(i + 4, to_string(r.state)).int64(i + 5, r.attempts).text(i + 6, r.error_code);
    q.int64(i + 7, r.created_at.unix_ms).int64(i + 8, r.updated_at.unix_ms).text(i + 9, r.caller);
    q.blob(i + 10, c.record);
    bind_blob_or_null(q, i + 11, c.platform_message_id);
    bind_blob_or_null(q, i + 12, c.error_title);
    bind_blob_or_null(q, i + 13, c.subject_digest);
    bind_blob_or_null(q, i + 14, c.idempotency_digest);
    bind_blob_or_null(q, i + 15, c.platform_digest);
    return expect_done(writer_.db, q.step(), "insert");
  }

  /// Copies the pages of the committed deletes into the database file and truncates the WAL, so
  /// that no frame of the deleted rows is left. Holds the writer (the caller does) and this
  /// process's reader (none of its snapshots can keep the truncation waiting).
  void purge_wal(std::string_view after) {
    std::lock_guard lock(read_mutex_);
    if (auto st = sqlite::truncate_wal(writer_.db, k_truncate_wait_ms, k_busy_timeout_ms, k_prefix);
        !st) {
      log::warn("outbox", "WAL not truncated after ", after, " (", st.err().message,
                "); later commits overwrite its frames");
    }
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
                   ", subject_digest, idempotency_digest, platform_digest) VALUES (?1, ?2, ?3, ?4, "
                   "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
               w_.insert),
             p(w,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND caller = ?2 AND idempotency_digest = ?3",
               w_.find_idempotent),
             p(w, "SELECT state, channel FROM outbox WHERE id = ?1 AND tenant = ?2",
               w_.select_state),
             // ?5/?6: the platform id's digest and sealed value; a zero-length ?5 clears both.
             // ?8: the sealed error title; zero-length = "" (NULL).
             p(w,
               "UPDATE outbox SET state = ?3, attempts = coalesce(?4, attempts), "
               "platform_digest = CASE WHEN ?5 IS NULL THEN platform_digest "
               "WHEN length(?5) = 0 THEN NULL ELSE ?5 END, "
               "platform_message_id = CASE WHEN ?5 IS NULL THEN platform_message_id "
               "WHEN length(?5) = 0 THEN NULL ELSE ?6 END, "
               "error_code = coalesce(?7, error_code), "
               "error_title = CASE WHEN ?8 IS NULL THEN error_title "
               "WHEN length(?8) = 0 THEN NULL ELSE ?8 END, "
               "updated_at_ms = ?9 WHERE id = ?1 AND tenant = ?2",
               w_.update),
             p(w,
               "INSERT INTO last_inbound (tenant, conversation_digest, at_ms, subject_digest, "
               "peer) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, conversation_digest) DO "
               "UPDATE SET at_ms = max(at_ms, excluded.at_ms), "
               "subject_digest = coalesce(excluded.subject_digest, subject_digest), "
               "peer = coalesce(excluded.peer, peer)",
               w_.upsert_inbound),
             p(w,
               "INSERT INTO window_heads (tenant, seq) VALUES (?1, ?2) ON CONFLICT (tenant) DO "
               "UPDATE SET seq = max(seq, excluded.seq)",
               w_.raise_window_head),
             p(r, "SELECT seq FROM window_heads WHERE tenant = ?1", r_.window_head),
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
                   " FROM outbox WHERE tenant = ?1 AND channel = ?2 AND platform_digest = ?3",
               r_.by_platform),
             p(r, "SELECT at_ms FROM last_inbound WHERE tenant = ?1 AND conversation_digest = ?2",
               r_.last_inbound),
             p(r,
               "SELECT " + cols +
                   " FROM outbox WHERE tenant = ?1 AND caller = ?2 AND idempotency_digest = ?3",
               r_.by_idempotency),
             p(r, "SELECT peer FROM last_inbound WHERE tenant = ?1 AND conversation_digest = ?2",
               r_.peer),
         }) {
      if (!st) {
        return st;
      }
    }
    return {};
  }

  /// Switches the writer's `synchronous` for the next transactions: NORMAL for window rows
  /// only (`apply`), else what `durability` says. Holds the writer (the caller does).
  status set_unsynced(bool unsynced) {
    if (unsynced == unsynced_) {
      return {};
    }
    // NORMAL: in WAL mode a commit writes the WAL without syncing it (checkpoints still sync).
    if (auto st = exec(writer_.db,
                       sqlite::synchronous_pragma(unsynced ? config::durability::os : durability_));
        !st) {
      return st;
    }
    unsynced_ = unsynced;
    return {};
  }

  status run(const stmt& s, std::string_view what) {
    query q(s);
    return expect_done(writer_.db, q.step(), what);
  }

  /// Rolls back the transaction a failure interrupted; the caller returns that failure. A
  /// rollback that fails as well is logged, not returned, so it cannot hide the cause.
  void rollback_after_failure() {
    if (auto st = run(w_.rollback, "rollback"); !st) {
      log::warn("outbox", "rollback after a failure failed too: ", st.err().message);
    }
  }

  status upsert_inbound(const outbox_write& w) {
    auto sealed = keys_.seal_inbound(w);
    if (!sealed) {
      return sealed.err();
    }
    const auto& s = sealed.value();
    query q(w_.upsert_inbound);
    q.text(1, w.tenant).blob(2, s.conversation_digest).int64(3, w.at_ms);
    bind_blob_or_null(q, 4, s.subject_digest);  // NULL keeps the stored subject
    bind_blob_or_null(q, 5, s.peer);            // NULL keeps the stored peer
    return expect_done(writer_.db, q.step(), "last_inbound");
  }

  /// Reads the current row of a query over `k_columns`, opening the sealed values.
  result<outbound_record> row(const query& q) const {
    outbound_record r;
    r.id = q.col_text(0);
    r.tenant = q.col_text(1);
    r.channel = q.col_text(2);
    r.purpose = q.col_text(3);
    r.state = parse_outbound_state(q.col_text(4)).value_or(outbound_state::failed);
    r.attempts = static_cast<std::uint32_t>(q.col_int64(5));
    r.error_code = q.col_text(6);
    r.created_at = timestamp::from_millis(q.col_int64(7));
    r.updated_at = timestamp::from_millis(q.col_int64(8));
    r.caller = q.col_text(9);
    // NULL columns read as empty: none.
    if (auto st = keys_.open(r, q.col_view(10), q.col_view(11), q.col_view(12)); !st) {
      return st.err();
    }
    return r;
  }

  result<outbound_record> one(query& q, sqlite3* db) const {
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return row(q);
    }
    if (rc == SQLITE_DONE) {
      return error{errc::not_found, "no such message"};
    }
    return sql_error(db, rc, "select");
  }

  /// The first row of `q` whose opened record satisfies `matches` (a digest matched: this rules
  /// out a collision), or `errc::not_found`.
  template <class Match>
  result<outbound_record> first_matching(query& q, Match matches) const {
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto r = row(q);
      if (!r) {
        return r.err();
      }
      if (matches(r.value())) {
        return r;
      }
    }
    if (rc != SQLITE_DONE) {
      return sql_error(reader_.db, rc, "select");
    }
    return error{errc::not_found, "no such message"};
  }

  status put_one(outbox_write& w) {
    auto& r = w.record;
    if (!r.idempotency_key.empty()) {
      const auto digest =
          keys_.digest_of(k_kind_idempotency, r.tenant, r.caller, r.idempotency_key);
      query q(w_.find_idempotent);
      q.text(1, r.tenant).text(2, r.caller).blob(3, digest);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        auto earlier = row(q);
        if (!earlier) {
          return earlier.err();
        }
        return outbox_codec::replay(w, std::move(earlier).value());
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "idempotency lookup");
      }
    }
    w.created = true;
    return insert_record(w_.insert, r);
  }

  status update_one(outbox_write& w) {
    const auto& u = w.update;
    w.applied = false;
    std::string channel;  // the platform id's digest names it; the update does not carry it
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
      channel = q.col_text(1);
    }
    auto sealed = keys_.seal(u, channel);
    if (!sealed) {
      return sealed.err();
    }
    const auto& c = sealed.value();
    query q(w_.update);
    q.text(1, u.id).text(2, u.tenant).text(3, to_string(u.state));
    if (u.attempts) {
      q.int64(4, *u.attempts);
    }
    if (u.platform_message_id) {
      q.blob(5, c.platform_digest);  // zero-length clears it
      q.blob(6, c.platform_message_id);
    }
    if (u.error_code) {
      q.text(7, *u.error_code);
    }
    if (u.error_title) {
      q.blob(8, c.error_title);  // zero-length = ""
    }
    q.int64(9, u.updated_at.unix_ms);
    if (auto st = expect_done(writer_.db, q.step(), "update"); !st) {
      return st;
    }
    w.applied = true;
    return {};
  }

  /// Deletes with both statements in one transaction, then truncates the WAL: after an erasure
  /// always (`always_purge`: also a retry of one whose truncation was kept waiting), after
  /// retention when it deleted anything.
  template <class Bind>
  result<std::uint64_t> delete_where(const char* outbox_sql, const char* inbound_sql,
                                     const std::string& tenant, std::string_view what,
                                     bool always_purge, Bind bind) {
    std::lock_guard lock(write_mutex_);
    if (auto st = set_unsynced(false); !st) {
      return st.err();
    }
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
    std::uint64_t windows = 0;
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
      windows = static_cast<std::uint64_t>(sqlite3_changes(writer_.db));
    }
    if (st) {
      st = run(w_.commit, "commit");
    }
    if (!st) {
      rollback_after_failure();
      return st.err();
    }
    if (always_purge || n + windows > 0) {
      // The deleted rows are zeroed in their pages (secure_delete); older versions of those
      // pages are still in WAL frames until the WAL is truncated.
      purge_wal(what);
    }
    return n;
  }

  outbox_codec::keys keys_;
  config::durability durability_ = config::durability::fsync;
  bool unsynced_ = false;  // the writer runs at synchronous NORMAL (`set_unsynced`)
  file_lock lock_;
  std::mutex write_mutex_;  // taken before read_mutex_ where both are held
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
                                                   const std::string& root_key) {
  if (sqlite3_threadsafe() == 0) {
    return error{errc::internal, "the SQLite library was built without thread support"};
  }
  auto box = std::make_shared<sqlite_outbox>();
  if (auto st = box->open(dir, durability, root_key); !st) {
    return st.err();
  }
  return std::shared_ptr<outbox>(std::move(box));
}

}  // namespace sb::store

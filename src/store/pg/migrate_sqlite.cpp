#include "store/pg/migrate_sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "core/log.hpp"
#include "core/time.hpp"
#include "store/outbox.hpp"
#include "store/outbox_codec.hpp"
#include "store/pg/root_record.hpp"
#include "store/pg/schema.hpp"
#include "store/root_key.hpp"
#include "store/sqlite_log.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::pg {

namespace {

// A batch goes to PostgreSQL once it holds this many rows or this many bytes of values: a few
// round trips per hundred thousand events, and a few MiB per statement (bytea travels as hex).
constexpr std::size_t k_batch_rows = 2000;
constexpr std::size_t k_batch_bytes = std::size_t{8} << 20;

constexpr int k_busy_timeout_ms = 5000;

// A large table's copy says how far it got every this many rows.
constexpr std::uint64_t k_progress_rows = 100000;

// How long the copy waits for the tables' locks: a replica writing to the database holds them.
constexpr const char* k_lock_timeout = "SET LOCAL lock_timeout = '10s'";

/// How a column travels from SQLite to PostgreSQL.
enum class kind {
  text,     ///< NOT NULL text: an element of a text[] array
  integer,  ///< NOT NULL integer: an element of a bigint[] (or integer[]) array, as text
  bytes,    ///< a blob, NULL allowed where the target column allows it: a bytea[] element
};

enum class source { store, outbox };

/// One table's copy: the rows of `select` (SQLite, in `from`; `?1`, where used, is the copy's
/// time in Unix ms) inserted by `insert` (PostgreSQL; `$n` is the nth column, as an array).
struct table_copy {
  const char* name;  ///< the PostgreSQL table
  source from;
  const char* select;
  const char* insert;
  std::vector<kind> columns;
  /// The identity column (`id_column` of the row, PostgreSQL's `id_name`) whose sequence must
  /// continue past the highest id, copied or once issued by SQLite (AUTOINCREMENT never reuses
  /// an id: dead letters, quarantined bodies and audit entries are named by theirs).
  int id_column = -1;
  const char* id_name = nullptr;
};

using k = kind;

// In foreign-key order: the data keys before the events that name them.
const std::vector<table_copy>& copies() {
  static const std::vector<table_copy> tables = {
      {"subject_keys",
       source::store,
       "SELECT id, tenant, subject, channel, wrapped_key, created_at_ms FROM subject_keys "
       "ORDER BY id",
       "INSERT INTO subject_keys (id, tenant, subject, channel, wrapped, created_at_ms) "
       "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], "
       "$6::bigint[])",
       {k::integer, k::text, k::text, k::text, k::bytes, k::integer},
       0,
       "id"},
      // A head is never below its tenant's last event (as the SQLite store loads it).
      {"tenant_heads",
       source::store,
       "SELECT tenant, MAX(seq) FROM (SELECT tenant, seq FROM tenant_heads UNION ALL "
       "SELECT tenant, MAX(seq) FROM events GROUP BY tenant) GROUP BY tenant ORDER BY tenant",
       "INSERT INTO tenant_heads (tenant, seq) SELECT * FROM unnest($1::text[], $2::bigint[])",
       {k::text, k::integer}},
      // The key row by (tenant, subject), as the SQLite store finds an event's key when it reads
      // it: an event without a subject is sealed under its tenant's own key (subject "").
      {"events",
       source::store,
       "SELECT e.tenant, e.seq, e.channel, e.type, e.event_id, e.subject, k.id, "
       "e.received_at_ms, e.dedupe_key, e.json FROM events e LEFT JOIN subject_keys k "
       "ON k.tenant = e.tenant AND k.subject = e.subject ORDER BY e.tenant, e.seq",
       "INSERT INTO events (tenant, seq, channel, type, event_id, subject, subject_key, "
       "received_at_ms, dedupe_digest, body) SELECT * FROM unnest($1::text[], $2::bigint[], "
       "$3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], "
       "$9::bytea[], $10::bytea[])",
       {k::text, k::integer, k::text, k::text, k::text, k::text, k::integer, k::integer, k::bytes,
        k::bytes}},
      // The merged keys (tombstones of erased events among them), and the keys claimed since the
      // last merge, which live in the SQLite writer's memory and in their events only: dated by
      // the copy, as a merge dates them. A key merged by a round cut short is in both.
      {"dedupe",
       source::store,
       "SELECT key, tenant, channel, seq, created_at_ms FROM dedupe UNION ALL "
       "SELECT e.dedupe_key, e.tenant, e.channel, e.seq, ?1 FROM events e JOIN tenant_heads h "
       "ON h.tenant = e.tenant WHERE e.seq > h.deduped AND e.dedupe_key IS NOT NULL",
       "INSERT INTO dedupe (digest, tenant, channel, seq, created_at_ms) SELECT * FROM "
       "unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) "
       "ON CONFLICT (digest) DO NOTHING",
       {k::bytes, k::text, k::text, k::integer, k::integer}},
      {"quarantine",
       source::store,
       "SELECT id, tenant, channel, reason, received_at_ms, COALESCE(body, x''), bytes, charged, "
       "headers FROM quarantine ORDER BY id",
       "INSERT INTO quarantine (id, tenant, channel, reason, received_at_ms, body, bytes, charge, "
       "headers) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
       "$5::bigint[], $6::bytea[], $7::bigint[], $8::bigint[], $9::bytea[])",
       {k::integer, k::text, k::text, k::text, k::integer, k::bytes, k::integer, k::integer,
        k::bytes},
       0,
       "id"},
      {"quarantine_usage",
       source::store,
       "SELECT tenant, channel, bytes FROM quarantine_usage ORDER BY tenant, channel",
       "INSERT INTO quarantine_usage (tenant, channel, bytes) SELECT * FROM unnest($1::text[], "
       "$2::text[], $3::bigint[])",
       {k::text, k::text, k::integer}},
      {"cursors",
       source::store,
       "SELECT tenant, subscriber, seq FROM cursors",
       "INSERT INTO cursors (tenant, subscriber, seq) SELECT * FROM unnest($1::text[], "
       "$2::text[], $3::bigint[])",
       {k::text, k::text, k::integer}},
      {"dead_letters",
       source::store,
       "SELECT id, tenant, subscriber, seq, event_id, attempts, last_error, failed_at_ms, subject "
       "FROM dead_letters ORDER BY id",
       "INSERT INTO dead_letters (id, tenant, subscriber, seq, event_id, attempts, last_error, "
       "failed_at_ms, subject) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
       "$4::bigint[], $5::text[], $6::integer[], $7::text[], $8::bigint[], $9::text[])",
       {k::integer, k::text, k::text, k::integer, k::text, k::integer, k::text, k::integer,
        k::text},
       0,
       "id"},
      {"subscriber_disabled",
       source::store,
       "SELECT tenant, subscriber, reason, disabled_at_ms FROM subscriber_disabled",
       "INSERT INTO subscriber_disabled (tenant, subscriber, reason, disabled_at_ms) SELECT * "
       "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])",
       {k::text, k::text, k::text, k::integer}},
      {"consent",
       source::store,
       "SELECT tenant, subject, granted, restricted, updated_at_ms FROM consent",
       "INSERT INTO consent (tenant, subject, granted, restricted, updated_at_ms) "
       "SELECT t, s, g, r <> 0, u FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
       "$5::bigint[]) AS n (t, s, g, r, u)",
       {k::text, k::text, k::text, k::integer, k::integer}},
      {"audit",
       source::store,
       "SELECT id, tenant, at_ms, actor, action, subject, outcome, detail FROM audit ORDER BY id",
       "INSERT INTO audit (id, tenant, at_ms, actor, action, subject, outcome, detail) "
       "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], "
       "$6::text[], $7::text[], $8::text[])",
       {k::integer, k::text, k::integer, k::text, k::text, k::text, k::text, k::text},
       0,
       "id"},
      {"deletion_requests",
       source::store,
       "SELECT code, tenant, channel, subject, state, requested_at_ms, completed_at_ms "
       "FROM deletion_requests",
       "INSERT INTO deletion_requests (code, tenant, channel, subject, state, requested_at_ms, "
       "completed_at_ms) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
       "$5::text[], $6::bigint[], $7::bigint[])",
       {k::text, k::text, k::text, k::text, k::text, k::integer, k::integer}},
      {"privacy_requests",
       source::store,
       "SELECT digest, tenant, channel, kind, code, done_at_ms FROM privacy_requests",
       "INSERT INTO privacy_requests (digest, tenant, channel, kind, code, done_at_ms) "
       "SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], "
       "$6::bigint[])",
       {k::bytes, k::text, k::text, k::text, k::text, k::integer}},
      {"erased_subjects",
       source::store,
       "SELECT tenant, subject, erased_at_ms FROM erased_subjects",
       "INSERT INTO erased_subjects (tenant, subject, erased_at_ms) SELECT * FROM "
       "unnest($1::text[], $2::text[], $3::bigint[])",
       {k::text, k::text, k::integer}},
      // The control plane's tenants (store/definitions.hpp): sealed under the control key,
      // which both stores derive alike from the root key the copy carries over.
      {"control_tenants",
       source::store,
       "SELECT tenant, document, updated_at_ms FROM control_tenants",
       "INSERT INTO control_tenants (tenant, document, updated_at_ms) SELECT * FROM "
       "unnest($1::text[], $2::bytea[], $3::bigint[])",
       {k::text, k::bytes, k::integer}},
      {"outbox",
       source::outbox,
       "SELECT seq, id, tenant, channel, purpose, state, attempts, error_code, created_at_ms, "
       "updated_at_ms, caller, record, platform_message_id, error_title, subject_digest, "
       "idempotency_digest, platform_digest FROM outbox ORDER BY seq",
       "INSERT INTO outbox (seq, id, tenant, channel, purpose, state, attempts, error_code, "
       "created_at_ms, updated_at_ms, caller, record, platform_message_id, error_title, "
       "subject_digest, idempotency_digest, platform_digest) SELECT * FROM unnest("
       "$1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], "
       "$8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bytea[], $13::bytea[], "
       "$14::bytea[], $15::bytea[], $16::bytea[], $17::bytea[])",
       {k::integer, k::text, k::text, k::text, k::text, k::text, k::integer, k::text, k::integer,
        k::integer, k::text, k::bytes, k::bytes, k::bytes, k::bytes, k::bytes, k::bytes},
       0,
       "seq"},
      {"last_inbound",
       source::outbox,
       "SELECT tenant, conversation_digest, at_ms, subject_digest, peer FROM last_inbound",
       "INSERT INTO last_inbound (tenant, conversation_digest, at_ms, subject_digest, peer) "
       "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[])",
       {k::text, k::bytes, k::integer, k::bytes, k::bytes}},
      {"window_heads",
       source::outbox,
       "SELECT tenant, seq FROM window_heads",
       "INSERT INTO window_heads (tenant, seq) SELECT * FROM unnest($1::text[], $2::bigint[])",
       {k::text, k::integer}},
      // The outbox's key check (verified by the SQLite outbox's open). One already there was
      // checked against the master key before the copy began.
      {"outbox_meta",
       source::outbox,
       "SELECT name, value FROM meta",
       "INSERT INTO outbox_meta (name, value) SELECT * FROM unnest($1::text[], $2::bytea[]) "
       "ON CONFLICT (name) DO NOTHING",
       {k::text, k::bytes}},
  };
  return tables;
}

/// Rows of one table on their way to PostgreSQL: one array per column.
class batch {
 public:
  explicit batch(const table_copy& t)
      : t_(t), values_(t.columns.size()), nulls_(t.columns.size()) {}

  /// Adds the current row of `s`.
  status add(sqlite3_stmt* s) {
    for (std::size_t i = 0; i < t_.columns.size(); ++i) {
      const int col = static_cast<int>(i);
      const bool null = sqlite3_column_type(s, col) == SQLITE_NULL;
      if (null && t_.columns[i] != kind::bytes) {
        return {errc::internal, std::string(t_.name) + ": a row has no value in column " +
                                    std::to_string(i + 1) + " (" + sqlite3_column_name(s, col) +
                                    ")"};
      }
      std::string v;
      if (t_.columns[i] == kind::integer) {
        const std::int64_t n = sqlite3_column_int64(s, col);
        if (static_cast<int>(i) == t_.id_column) {
          max_id_ = std::max(max_id_, n);
        }
        v = std::to_string(n);
      } else if (!null) {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
        v.assign(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
      }
      bytes_ += v.size();
      values_[i].push_back(std::move(v));
      nulls_[i].push_back(null);
    }
    ++rows_;
    return {};
  }

  bool full() const { return rows_ >= k_batch_rows || bytes_ >= k_batch_bytes; }

  /// Inserts the rows held, in the caller's transaction; the rows PostgreSQL inserted.
  result<std::uint64_t> flush(connection& c) {
    if (rows_ == 0) {
      return std::uint64_t{0};
    }
    std::vector<std::string> arrays;
    arrays.reserve(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (t_.columns[i] == kind::bytes) {
        std::vector<const std::string*> elements;
        elements.reserve(values_[i].size());
        for (std::size_t r = 0; r < values_[i].size(); ++r) {
          elements.push_back(nulls_[i][r] ? nullptr : &values_[i][r]);
        }
        arrays.push_back(bytea_array(elements));
      } else {
        arrays.push_back(text_array(values_[i]));
      }
    }
    std::vector<param> params;
    params.reserve(arrays.size());
    for (const auto& a : arrays) {
      params.emplace_back(a);
    }
    auto r = c.exec(t_.insert, params);
    if (!r) {
      return error{r.err().code, std::string(t_.name) + ": " + r.err().message};
    }
    for (std::size_t i = 0; i < values_.size(); ++i) {
      values_[i].clear();
      nulls_[i].clear();
    }
    rows_ = 0;
    bytes_ = 0;
    return r->affected();
  }

  /// The highest id seen in the identity column (0: none, or no such column).
  std::int64_t max_id() const { return max_id_; }

 private:
  const table_copy& t_;
  std::vector<std::vector<std::string>> values_;
  std::vector<std::vector<bool>> nulls_;
  std::size_t rows_ = 0;
  std::size_t bytes_ = 0;
  std::int64_t max_id_ = 0;
};

/// A read-only connection to one SQLite file, in one snapshot from its first read to the end.
struct snapshot {
  sqlite::connection conn;
  std::string path;
  /// SQLite's AUTOINCREMENT high-water marks: the highest id each table ever issued.
  std::map<std::string, std::int64_t> issued;

  status open(const std::string& file) {
    path = file;
    if (auto st = sqlite::open_connection(path, SQLITE_OPEN_READONLY, conn, k_busy_timeout_ms);
        !st) {
      return st;
    }
    if (auto st = sqlite::exec(conn.db, "BEGIN"); !st) {
      return st;
    }
    sqlite::stmt s;
    if (auto st = sqlite::prepare(conn.db, "SELECT name, seq FROM sqlite_sequence", s); !st) {
      return st;
    }
    sqlite::query q(s);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      issued[q.col_text(0)] = q.col_int64(1);
    }
    if (rc != SQLITE_DONE) {
      return sqlite::sql_error(conn.db, rc, path + ": read sqlite_sequence");
    }
    return {};
  }
};

/// Copies one table; the rows inserted. Sets the identity sequence past its ids.
result<std::uint64_t> copy_table(const table_copy& t, snapshot& from, connection& to,
                                 std::int64_t now_ms) {
  sqlite::stmt s;
  if (auto st = sqlite::prepare(from.conn.db, t.select, s); !st) {
    return error{st.err().code, std::string(t.name) + ": " + st.err().message};
  }
  sqlite::query q(s);
  if (sqlite3_bind_parameter_count(s.get()) > 0) {
    q.int64(1, now_ms);
  }
  batch b(t);
  std::uint64_t copied = 0;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    if (auto st = b.add(s.get()); !st) {
      return st.err();
    }
    if (b.full()) {
      auto n = b.flush(to);
      if (!n) {
        return n.err();
      }
      if ((copied + *n) / k_progress_rows > copied / k_progress_rows) {
        log::info("store", "migrate: ", t.name, ": ", copied + *n, " rows so far");
      }
      copied += *n;
    }
  }
  if (rc != SQLITE_DONE) {
    return sqlite::sql_error(from.conn.db, rc, from.path + ": read " + t.name);
  }
  auto n = b.flush(to);
  if (!n) {
    return n.err();
  }
  copied += *n;
  if (t.id_name != nullptr) {
    std::int64_t last = b.max_id();
    if (auto it = from.issued.find(t.name); it != from.issued.end()) {
      last = std::max(last, it->second);
    }
    if (last > 0) {
      auto r = to.exec("SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint)",
                       {t.name, t.id_name, bigint(last)});
      if (!r) {
        return error{r.err().code,
                     std::string(t.name) + ": set its id sequence: " + r.err().message};
      }
    }
  }
  return copied;
}

/// The first event that has no data key in the store (it cannot be read there either): a store
/// with one is not copied.
status check_event_keys(snapshot& store) {
  sqlite::stmt s;
  if (auto st = sqlite::prepare(
          store.conn.db,
          "SELECT e.tenant, e.seq, (SELECT COUNT(*) FROM events x WHERE NOT EXISTS (SELECT 1 "
          "FROM subject_keys k WHERE k.tenant = x.tenant AND k.subject = x.subject)) FROM events "
          "e WHERE NOT EXISTS (SELECT 1 FROM subject_keys k WHERE k.tenant = e.tenant AND "
          "k.subject = e.subject) LIMIT 1",
          s);
      !st) {
    return st;
  }
  sqlite::query q(s);
  const int rc = q.step();
  if (rc == SQLITE_DONE) {
    return {};
  }
  if (rc != SQLITE_ROW) {
    return sqlite::sql_error(store.conn.db, rc, store.path + ": check the events' keys");
  }
  return {errc::internal, store.path + ": " + q.col_text(2) + " events have no data key (event " +
                              q.col_text(1) + " of tenant " + q.col_text(0) +
                              " among them): they cannot be decrypted on SQLite either; the "
                              "store is damaged"};
}

/// Refuses a store a gateway (or another copy) holds: its lock files are taken, as the stores
/// take them, and let go at once (the stores take them again for the copy's duration).
status check_not_in_use(const std::string& dir, bool outbox) {
  std::vector<std::string> locks{dir + "/switchboard.lock"};
  if (outbox) {
    locks.push_back(dir + "/outbox.lock");
  }
  for (const auto& path : locks) {
    sqlite::file_lock lock;
    if (auto st = sqlite::lock_file(path, lock, path + " is locked"); !st) {
      return {errc::unavailable, "the SQLite store in " + dir +
                                     " is in use: stop the gateway running on it first (" +
                                     st.err().message + ")"};
    }
  }
  return {};
}

/// Refuses a database that holds any of Switchboard's data, naming the tables that do (a root
/// record among them: a database rotated while empty has a root key of its own, which the copied
/// rows would not open under), and an outbox key check of another root key.
status check_empty(connection& c, const std::string& root_key) {
  std::vector<std::string> holding;
  for (const auto& t : copies()) {
    if (std::string_view(t.name) == "outbox_meta") {
      continue;
    }
    const std::string sql = std::string("SELECT EXISTS (SELECT 1 FROM ") + t.name + ")";
    auto r = c.exec(sql.c_str());  // no parameters: not prepared, the text may be temporary
    if (!r) {
      return r.err();
    }
    if (r->text(0, 0) == "t") {
      holding.emplace_back(t.name);
    }
  }
  auto record = read_root_record(c);
  if (!record) {
    return record.err();
  }
  if (record->has_value()) {
    holding.emplace_back("store_meta");
  }
  if (!holding.empty()) {
    std::string names;
    for (const auto& n : holding) {
      names += (names.empty() ? "" : ", ") + n;
    }
    return {errc::bad_request,
            "the PostgreSQL database is not empty (rows in " + names +
                "): switchboard migrate copies a store into an empty database only, never over "
                "or beside another store's data"};
  }
  auto check = c.exec("SELECT value FROM outbox_meta WHERE name = 'key_check'", {});
  if (!check) {
    return check.err();
  }
  if (check->size() == 0) {
    return {};
  }
  auto stored = check->bytes(0, 0);
  if (!stored) {
    return stored.err();
  }
  outbox_codec::keys keys;
  if (auto st = keys.derive(root_key); !st) {
    return st;
  }
  if (auto st = keys.verify_key_check(*stored); !st) {
    return {errc::internal,
            "the PostgreSQL database was opened by a gateway with another storage.master_key "
            "(its outbox key check does not open with this one)"};
  }
  return {};
}

/// The copy's transaction: every table, or nothing. `root_key`: the SQLite store's (its outbox's
/// keys); `root_record`: its root record, copied as it is (none: never rotated).
status copy_all(snapshot& store, snapshot* outbox_file, connection& c, const std::string& root_key,
                const std::optional<std::string>& root_record, migration_report& report) {
  transaction tx(c);
  if (auto st = tx.begin(); !st) {
    return st;
  }
  if (auto r = c.exec(k_lock_timeout); !r) {
    return r.err();
  }
  // Writers (a replica started too early, another copy) wait for the commit, or make this wait
  // and give up: no row lands between the check below and the copy.
  std::string lock = "LOCK TABLE ";
  for (const auto& t : copies()) {
    lock += std::string(&t == &copies().front() ? "" : ", ") + t.name;
  }
  lock += ", store_meta IN SHARE ROW EXCLUSIVE MODE";
  if (auto r = c.exec(lock.c_str()); !r) {
    return {r.err().code,
            "cannot lock Switchboard's tables in PostgreSQL (is a gateway running "
            "on this database? stop it first): " +
                r.err().message};
  }
  if (auto st = check_empty(c, root_key); !st) {
    return st;
  }
  const std::int64_t now_ms = now().unix_ms;
  for (const auto& t : copies()) {
    snapshot* from = t.from == source::store ? &store : outbox_file;
    if (from == nullptr) {
      continue;
    }
    auto n = copy_table(t, *from, c, now_ms);
    if (!n) {
      return n.err();
    }
    log::info("store", "migrate: ", t.name, ": ", *n, " rows");
    report.tables.push_back({t.name, *n});
  }
  // The data keys are copied wrapped as they are, under the current master key: the root record
  // that goes with them (wrapped under the same key) comes along, or the copy would open under
  // the master key as its root key and compute none of the store's digests.
  if (root_record) {
    if (auto st = write_root_record(c, *root_record); !st) {
      return st;
    }
    report.tables.push_back({"store_meta", 1});
  }
  if (outbox_file == nullptr) {
    // No outbox to copy: the database is bound to the root key all the same.
    outbox_codec::keys keys;
    if (auto st = keys.derive(root_key); !st) {
      return st;
    }
    auto check = keys.key_check();
    if (!check) {
      return check.err();
    }
    auto r = c.exec(
        "INSERT INTO outbox_meta (name, value) VALUES ('key_check', $1) "
        "ON CONFLICT (name) DO NOTHING",
        {param::bytes(*check)});
    if (!r) {
      return r.err();
    }
  }
  return tx.commit();
}

}  // namespace

std::uint64_t migration_report::rows(std::string_view name) const {
  for (const auto& t : tables) {
    if (t.name == name) {
      return t.rows;
    }
  }
  return 0;
}

result<migration_report> copy_sqlite_store(const std::string& sqlite_dir, connection& target,
                                           const std::string& master_key, std::string_view node) {
  const auto started = std::chrono::steady_clock::now();
  namespace fs = std::filesystem;
  const std::string store_path = sqlite_dir + "/switchboard.db";
  const std::string outbox_path = sqlite_dir + "/outbox.db";
  std::error_code ec;
  if (!fs::is_regular_file(store_path, ec)) {
    return error{errc::not_found,
                 "no SQLite store in " + sqlite_dir + " (" + store_path + " does not exist)"};
  }
  migration_report report;
  report.outbox = fs::is_regular_file(outbox_path, ec);
  if (auto st = check_not_in_use(sqlite_dir, report.outbox); !st) {
    return st.err();
  }
  // Opened as a gateway opens them: locked for the copy's duration, brought to the current
  // schema, and refused under another master key before anything is written.
  auto stores = make_sqlite_stores(sqlite_dir, config::durability::fsync, master_key);
  if (!stores) {
    return error{stores.err().code,
                 "the SQLite store in " + sqlite_dir + ": " + stores.err().message};
  }
  // Read under the store's lock, which a rotation takes too: the record cannot change during the
  // copy. `make_sqlite_stores` has unlocked it with `master_key` already.
  auto root_record = sqlite::read_root_record(sqlite_dir);
  if (!root_record) {
    return error{root_record.err().code,
                 "the SQLite store in " + sqlite_dir + ": " + root_record.err().message};
  }
  auto root = root_key_of(master_key, *root_record);
  if (!root) {
    return error{root.err().code, "the SQLite store in " + sqlite_dir + ": " + root.err().message};
  }
  std::shared_ptr<outbox> box;
  if (report.outbox) {
    auto opened = make_sqlite_outbox(sqlite_dir, config::durability::fsync, *root);
    if (!opened) {
      return error{opened.err().code,
                   "the SQLite outbox in " + sqlite_dir + ": " + opened.err().message};
    }
    box = std::move(opened).value();
  }
  snapshot store;
  if (auto st = store.open(store_path); !st) {
    return st.err();
  }
  snapshot outbox_file;
  if (report.outbox) {
    if (auto st = outbox_file.open(outbox_path); !st) {
      return st.err();
    }
  }
  if (auto st = check_event_keys(store); !st) {
    return st.err();
  }
  auto schema = migrate(target, schema_versions(), node);
  if (!schema) {
    return error{schema.err().code,
                 "the PostgreSQL schema could not be brought up to date: " + schema.err().message};
  }
  if (auto st = copy_all(store, report.outbox ? &outbox_file : nullptr, target, *root, *root_record,
                         report);
      !st) {
    return st.err();
  }
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

}  // namespace sb::store::pg

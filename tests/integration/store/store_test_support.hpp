#pragma once

// What the store tests (event_log, sqlite_log, privacy_store, privacy_requests, quarantine_store,
// subject_index) share: the master key, the event-log backends (memory, SQLite, PostgreSQL),
// checked calls of the store's interfaces, and a writer that builds a store byte for byte as
// version 2 or 3 wrote it, with the version 3 schema (the migration tests of version 3 start
// from it).

#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "store/event_log.hpp"
#include "store/outbox.hpp"
#include "store/pg/definitions.hpp"
#include "store/pg/delivery_store.hpp"
#include "store/pg/event_log.hpp"
#include "store/pg/privacy_store.hpp"
#include "store/pg/schema.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"
#include "store/stores.hpp"
#include "support/pg_cluster.hpp"
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"

namespace sb::test::store_support {

inline const std::string k_master_key(32, '\x5a');

/// `PRAGMA user_version` of a store this build made or migrated (store/sqlite/schema.cpp).
inline const std::string k_schema_version = "10";

/// The SQLite stores in `dir` (created when new); fails the test when they cannot be opened.
inline store::stores open_sqlite(const std::string& dir, const std::string& key = k_master_key,
                                 config::durability d = config::durability::none) {
  auto stores = store::make_sqlite_stores(dir, d, key);
  INFO((stores ? std::string() : stores.err().message));
  REQUIRE(stores.ok());
  return stores.value();
}

/// The backends a TEMPLATE_TEST_CASE runs against: `open()` gives the stores (again, for
/// `durable` ones, over the same data: a restart).
struct memory_backend {
  store::stores open() { return store::make_memory_stores(); }
  static constexpr bool durable = false;
};

struct sqlite_backend {
  temp_dir dir{"sb-store"};
  store::stores open() { return open_sqlite(dir.path); }
  static constexpr bool durable = true;
};

/// The `storage:` of a replica on `cluster` under `master_key` (its root key too: never rotated).
inline config::storage_config storage_of(const pg_cluster& cluster, const std::string& master_key) {
  config::storage_config s;
  s.backend = "postgres";
  s.postgres.dsn = cluster.dsn();
  s.postgres.pool = 2;
  s.master_key = master_key;
  s.root_key = master_key;
  return s;
}

/// The PostgreSQL stores (issue 13) on a throwaway cluster of their own.
/// One replica's PostgreSQL stores (event log, delivery, privacy, definitions) over a pool of
/// `connections` of its own, on `cluster`'s database, migrated to Switchboard's schema first.
inline store::stores open_pg(const pg_cluster& cluster, std::size_t connections) {
  auto conns = store::pg::pool::make(cluster.dsn(), connections);
  {
    auto c = conns->take();
    REQUIRE(c);
    auto st = store::pg::migrate(**c, store::pg::schema_versions(), "test");
    INFO((st ? std::string() : st.err().message));
    REQUIRE(st);
  }
  // Never rotated: the root key is the master key (store/root_key.hpp).
  auto log = store::pg::make_event_log(conns, k_master_key, k_master_key);
  INFO((log ? std::string() : log.err().message));
  REQUIRE(log);
  auto privacy = store::pg::make_privacy_store(conns, k_master_key, k_master_key);
  INFO((privacy ? std::string() : privacy.err().message));
  REQUIRE(privacy);
  auto definitions = store::pg::make_definition_store(conns, k_master_key, k_master_key);
  REQUIRE(definitions);
  store::stores s;
  s.log = std::move(log).value();
  s.delivery = store::pg::make_delivery_store(conns);
  s.privacy = std::move(privacy).value();
  s.definitions = std::move(definitions).value();
  return s;
}

struct pg_backend {
  pg_cluster cluster;
  store::stores open() { return open_pg(cluster, 4); }
  static constexpr bool durable = true;
};

inline std::shared_ptr<store::privacy_store> privacy(const store::stores& stores) {
  REQUIRE(stores.privacy != nullptr);
  return stores.privacy;
}

/// An outbound WhatsApp message of tenant acme to one person (subject sub-1), with idempotency
/// key `key` ("" for none): what the outbox tests put.
inline store::outbound_record outbound(const std::string& id, const std::string& key) {
  store::outbound_record r;
  r.id = id;
  r.tenant = "acme";
  r.channel = "wa";
  r.recipient = "16505551234";
  r.conversation = "wa:16505551234";
  r.subject = "sub-1";
  r.purpose = "support";
  r.message = R"({"to":"16505551234","text":"Marzipan )" + id + R"("})";
  r.caller = "helpdesk";
  r.idempotency_key = key;
  r.created_at = timestamp::from_millis(1700000000000);
  r.updated_at = r.created_at;
  return r;
}

/// A message of `subject` ("" = none) on `channel` of a test platform, received at
/// `received_ms`; its dedupe key is `key`.
inline event make_event(const std::string& tenant, const std::string& channel,
                        const std::string& key, const std::string& subject,
                        std::int64_t received_ms = 1764392400123,
                        const char* type = event_type::message) {
  event e;
  e.id = "evt_" + tenant + "_" + channel + "_" + key;
  e.tenant = tenant;
  e.channel = {channel, "test", "acct"};
  e.type = type;
  e.conversation = channel + ":peer-" + subject;
  e.subject = subject;
  e.platform_event_id = key;
  e.dedupe_key = key;
  e.content.text = "text of " + key;
  e.received_at = timestamp::from_millis(received_ms);
  return e;
}

/// Appends `reqs`; fails the test unless the append succeeds with one outcome list per request.
inline std::vector<std::vector<store::append_outcome>> append(
    store::event_log& log, std::vector<store::append_request> reqs) {
  std::vector<std::vector<store::append_outcome>> outcomes;
  auto st = log.append(reqs, outcomes);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st.ok());
  REQUIRE(outcomes.size() == reqs.size());
  return outcomes;
}

/// Every event of a tenant, paging with `next` as a consumer does.
inline std::vector<store::stored_event> read_all(store::event_log& log, const std::string& tenant) {
  std::vector<store::stored_event> out;
  std::uint64_t after = 0;
  for (;;) {
    auto r = log.read(tenant, after, 1000, {});
    INFO((r ? std::string() : r.err().message));
    REQUIRE(r.ok());
    if (r->next == after) {
      return out;
    }
    after = r->next;
    for (auto& e : r->events) {
      out.push_back(std::move(e));
    }
  }
}

inline std::vector<std::uint64_t> seqs(const std::vector<store::stored_event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) {
    out.push_back(e.seq);
  }
  return out;
}

/// The subject's export; fails the test when the store fails.
inline std::vector<store::stored_event> export_of(store::privacy_store& p,
                                                  const std::string& tenant,
                                                  const std::string& subject,
                                                  std::size_t limit = 100000) {
  auto r = p.subject_events(tenant, subject, limit);
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  return r.value();
}

/// The subject's erasure; fails the test when the store fails.
inline store::erase_outcome erase(store::privacy_store& p, const std::string& tenant,
                                  const std::string& subject) {
  auto r = p.erase_subject(tenant, subject);
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  return r.value();
}

// -- stores of earlier versions ---------------------------------------------------------------

/// A key the store derives from the master key for `label`.
inline std::string derive(const std::string& label) {
  const auto mac = crypto::hmac_sha256(k_master_key, label);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

/// `parts` joined by NUL bytes, as the store builds associated data and digest inputs.
inline std::string joined(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out.push_back('\0');
    }
    out.append(p);
  }
  return out;
}

// The schema the store wrote as version 3, verbatim (sqlite3 .schema of such a store, without
// the internal sqlite_sequence table).
constexpr const char* k_v3_schema = R"sql(
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  channel TEXT NOT NULL,
  dedupe_key TEXT,
  type TEXT NOT NULL,
  conversation TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', subject_key INTEGER,
  PRIMARY KEY (tenant, seq)
);
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
, indexed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
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
, subject TEXT NOT NULL DEFAULT '');
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
CREATE INDEX events_received_at ON events (tenant, received_at_ms);
CREATE INDEX dead_letters_subject ON dead_letters (tenant, subject) WHERE subject <> '';
CREATE INDEX dead_letters_failed_at ON dead_letters (tenant, failed_at_ms);
CREATE INDEX quarantine_received_at ON quarantine (tenant, received_at_ms);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE consent (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  granted TEXT NOT NULL,
  restricted INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, id);
CREATE TABLE deletion_requests (
  code TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  subject TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS "subject_keys" (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  channel TEXT NOT NULL,
  wrapped_key BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  UNIQUE (tenant, subject)
);
CREATE INDEX subject_keys_channel ON subject_keys (tenant, channel) WHERE subject <> '';
CREATE TABLE subject_events (
  subject_key INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (subject_key, seq)
) WITHOUT ROWID;
CREATE TRIGGER events_unindex AFTER DELETE ON events WHEN old.subject_key IS NOT NULL BEGIN
  DELETE FROM subject_events WHERE subject_key = old.subject_key AND seq = old.seq;
END;
CREATE TABLE IF NOT EXISTS "dedupe" (
  key BLOB PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedupe_created_at ON dedupe (tenant, channel, created_at_ms);
PRAGMA user_version = 3;
)sql";

/// Writes into a store of version 2 or 3 as that version did. Events: payload = conversation
/// length (4 bytes, little endian), conversation, JSON; sealed under the subject's data key bound
/// to (tenant, seq). Data keys: wrapped under the key-wrap key, bound to (tenant, subject).
/// Dedupe keys: 16-byte digests. Quarantined bodies: sealed under the tenant's own data key
/// (subject ""), bound to (tenant, channel). Version 3 also gives each data key a row id that
/// its events name (`subject_key`) and the subject index lists, makes the digest the dedupe
/// table's key, and records the index as up to date (`tenant_heads.indexed`).
class old_store_writer {
 public:
  struct key_row {
    std::string key;
    std::int64_t id = 0;  ///< version 3 only
  };

  old_store_writer(raw_db& raw, int version) : raw_(raw), version_(version) {}

  /// The data key of (tenant, subject), made and stored on first use.
  const key_row& key_of(const std::string& tenant, const std::string& subject,
                        const std::string& channel) {
    auto [it, fresh] = keys_.try_emplace(joined({tenant, subject}));
    if (fresh) {
      it->second.key = crypto::generate_aead_key();
      auto wrapped =
          crypto::wrap_key(wrap_key_, it->second.key, joined({"data_key", tenant, subject}));
      REQUIRE(wrapped.ok());
      raw_.insert(
          "INSERT INTO subject_keys (tenant, subject, channel, wrapped_key, created_at_ms) "
          "VALUES (?1, ?2, ?3, ?4, 1764392400000)",
          {tenant, subject, channel, *wrapped}, {false, false, false, true});
      if (version_ >= 3) {
        it->second.id = sqlite3_last_insert_rowid(raw_.db);
      }
    }
    return it->second;
  }

  /// Stores `e` (its seq assigned here) and returns the JSON a read must give back.
  std::string put(event& e) {
    e.seq = ++heads_[e.tenant];
    const std::string json = to_json(e);
    std::string payload;
    const auto n = static_cast<std::uint32_t>(e.conversation.size());
    for (int i = 0; i < 4; ++i) {
      payload.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    payload.append(e.conversation).append(json);
    const auto& k = key_of(e.tenant, e.subject, e.channel.name);
    auto sealed = crypto::seal(k.key, payload, joined({"event", e.tenant, std::to_string(e.seq)}));
    REQUIRE(sealed.ok());
    const auto mac =
        crypto::hmac_sha256(dedupe_key_, joined({e.tenant, e.channel.name, e.dedupe_key}));
    const std::string d(reinterpret_cast<const char*>(mac.data()), 16);
    const std::string seq = std::to_string(e.seq);
    const std::string at = std::to_string(e.received_at.unix_ms);
    if (version_ < 3) {
      raw_.insert(
          "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
          "received_at_ms, json, subject) VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, ?9)",
          {e.tenant, seq, e.channel.name, d, e.type, e.id, at, *sealed, e.subject},
          {false, false, false, true, false, false, false, true, false});
      raw_.insert(
          "INSERT INTO dedupe (tenant, channel, key, seq, created_at_ms) "
          "VALUES (?1, ?2, ?3, ?4, 1764392400000)",
          {e.tenant, e.channel.name, d, seq}, {false, false, true, false});
      return json;
    }
    const std::string key_id = e.subject.empty() ? std::string() : std::to_string(k.id);
    raw_.insert(
        "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
        "received_at_ms, json, subject, subject_key) VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, "
        "?9, NULLIF(?10, ''))",
        {e.tenant, seq, e.channel.name, d, e.type, e.id, at, *sealed, e.subject, key_id},
        {false, false, false, true, false, false, false, true, false, false});
    if (!e.subject.empty()) {
      raw_.insert("INSERT INTO subject_events (subject_key, seq) VALUES (?1, ?2)", {key_id, seq});
    }
    raw_.insert(
        "INSERT INTO dedupe (key, tenant, channel, seq, created_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, 1764392400000)",
        {d, e.tenant, e.channel.name, seq}, {true, false, false, false});
    return json;
  }

  /// Stores a quarantined body received at `received_at_ms`.
  void quarantine(const std::string& tenant, const std::string& channel, const std::string& reason,
                  const std::string& received_at_ms, const std::string& body) {
    const auto& k = key_of(tenant, "", "");
    auto sealed = crypto::seal(k.key, body, joined({"quarantine", tenant, channel}));
    REQUIRE(sealed.ok());
    raw_.insert(
        "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        {tenant, channel, reason, received_at_ms, *sealed}, {false, false, false, false, true});
  }

  /// The tenants' heads and the key check that binds the store to its master key.
  void finish() {
    for (const auto& [tenant, seq] : heads_) {
      raw_.insert(version_ < 3 ? "INSERT INTO tenant_heads (tenant, seq) VALUES (?1, ?2)"
                               : "INSERT INTO tenant_heads (tenant, seq, indexed) VALUES (?1, ?2, ?2)",
                  {tenant, std::to_string(seq)});
    }
    auto check = crypto::seal(wrap_key_, "switchboard store key check v1", "key_check");
    REQUIRE(check.ok());
    raw_.insert("INSERT INTO meta (name, value) VALUES ('key_check', ?1)", {*check}, {true});
  }

 private:
  raw_db& raw_;
  int version_;
  std::string wrap_key_ = derive("switchboard/store/key-wrap/v1");
  std::string dedupe_key_ = derive("switchboard/store/dedupe/v1");
  std::map<std::string, key_row> keys_;  // tenant \0 subject -> data key and its row
  std::map<std::string, std::uint64_t> heads_;
};

/// Builds `<dir>/switchboard.db` as a store of `version` with `schema` (its SQL, verbatim) left
/// it: `fill` writes the content through the writer (and the connection, for rows the writer
/// does not know); then the tenants' heads and the key check are written.
template <class Fill>
void build_old_store(const std::string& dir, int version, const char* schema, Fill fill) {
  raw_db raw(dir);
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec(schema);
  old_store_writer w(raw, version);
  fill(w, raw);
  w.finish();
}

}  // namespace sb::test::store_support

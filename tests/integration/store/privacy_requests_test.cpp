// What the store keeps so that an erased person stays erased and a platform's privacy request
// is carried out once: dedupe tombstones (keyed digests only, removed by retention) and the
// privacy requests carried out (keyed digests, kept for good), on the in-memory and the SQLite
// log; and the migration of a version 3 store, built here byte for byte as that version wrote
// it, to version 4. Real database files in fresh temporary directories.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/aead.hpp"
#include "core/crypto.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;
using claim_state = store::privacy_request_claim::state;

namespace {

const std::string k_master_key(32, '\x6d');

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
struct temp_dir {
  std::string path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/sb-requests-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::shared_ptr<store::event_log> open_sqlite(const std::string& dir) {
  auto log = store::make_sqlite_log(dir, config::durability::none, k_master_key);
  INFO((log ? std::string() : log.err().message));
  REQUIRE(log.ok());
  return log.value();
}

struct memory_backend {
  std::shared_ptr<store::event_log> open() { return store::make_memory_log(); }
};

struct sqlite_backend {
  temp_dir dir;
  std::shared_ptr<store::event_log> open() { return open_sqlite(dir.path); }
};

std::shared_ptr<store::privacy_store> privacy(const std::shared_ptr<store::event_log>& log) {
  auto p = store::privacy_store_of(log);
  REQUIRE(p != nullptr);
  return p;
}

// A WhatsApp message id: base64 of a structure that holds the sender's phone number.
const std::string k_wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdFQjZCNEU2MDJGNTM1RTFGNQA=";
const std::string k_phone = "16505551234";

event make_event(const std::string& tenant, const std::string& channel, const std::string& key,
                 const std::string& subject, std::int64_t received_ms = 1764392400123) {
  event e;
  e.id = "evt_" + tenant + "_" + channel + "_" + key;
  e.tenant = tenant;
  e.channel = {channel, "whatsapp", "106540352242922"};
  e.type = event_type::message;
  e.conversation = channel + ":" + k_phone;
  e.subject = subject;
  e.platform_event_id = key;
  e.dedupe_key = key;
  e.content.text = "text of " + key;
  e.received_at = timestamp::from_millis(received_ms);
  return e;
}

std::vector<std::vector<store::append_outcome>> append(store::event_log& log,
                                                       std::vector<store::append_request> reqs) {
  std::vector<std::vector<store::append_outcome>> outcomes;
  auto st = log.append(reqs, outcomes);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st.ok());
  return outcomes;
}

bool stored_as_duplicate(store::event_log& log, event e) {
  const auto tenant = e.tenant;
  return append(log, {{tenant, {std::move(e)}}})[0][0].duplicate;
}

std::vector<store::stored_event> read_all(store::event_log& log, const std::string& tenant) {
  auto r = log.read(tenant, 0, 100000, {});
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  return r->events;
}

store::privacy_request_claim claim(store::privacy_store& p, const std::string& request,
                                   const std::string& kind = "customers/redact",
                                   const std::string& tenant = "acme",
                                   const std::string& channel = "shop") {
  auto c = p.claim_privacy_request(tenant, channel, kind, request);
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c.ok());
  return c.value();
}

void finish(store::privacy_store& p, const store::privacy_request_claim& c, const std::string& code,
            const std::string& kind = "customers/redact", const std::string& tenant = "acme",
            const std::string& channel = "shop") {
  store::privacy_request r;
  r.tenant = tenant;
  r.channel = channel;
  r.kind = kind;
  r.code = code;
  r.done_at = timestamp::from_millis(1764392400999);
  auto st = p.finish_privacy_request(c, r);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st.ok());
}

/// Every byte of every file in `dir`.
std::string all_file_bytes(const std::string& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

/// A connection of the test's own to the database file.
struct raw_db {
  sqlite3* db = nullptr;
  explicit raw_db(const std::string& dir) {
    int rc = sqlite3_open_v2((dir + "/switchboard.db").c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~raw_db() { sqlite3_close(db); }
  void exec(const std::string& sql) {
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(rc == SQLITE_OK);
  }
  /// Every row's columns as bytes.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
        row.emplace_back(p == nullptr ? "" : p,
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string scalar(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() ? std::string() : r[0][0];
  }
  /// Inserts one row: each value is bound as a blob when `blobs` says so, else as text.
  void insert(const std::string& sql, const std::vector<std::string>& values,
              const std::vector<bool>& blobs = {}) {
    sqlite3_stmt* s = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int n = static_cast<int>(i + 1);
      if (i < blobs.size() && blobs[i]) {
        sqlite3_bind_blob(s, n, values[i].data(), static_cast<int>(values[i].size()),
                          SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_text(s, n, values[i].data(), static_cast<int>(values[i].size()),
                          SQLITE_TRANSIENT);
      }
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
  }
};

}  // namespace

// -- dedupe tombstones --------------------------------------------------------------------------

TEMPLATE_TEST_CASE(
    "an erased event's retry or replay stays a duplicate until retention removes "
    "its tombstone",
    "[privacy][tombstone]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  auto p = privacy(log);
  append(*log, {{"acme",
                 {make_event("acme", "wa", k_wamid, "sub_a"),
                  make_event("acme", "wa", "wamid.other", "sub_b")}}});
  auto out = p->erase_subject("acme", "sub_a");
  REQUIRE(out.ok());
  CHECK(out->events == 1);
  CHECK(out->dedupe_keys == 1);

  // The platform's retry, or an attacker's replay of the signed webhook: a duplicate of the
  // erased seq, nothing stored, nothing to export.
  auto retry = append(*log, {{"acme", {make_event("acme", "wa", k_wamid, "sub_a")}}});
  CHECK(retry[0][0].duplicate);
  CHECK(retry[0][0].seq == 1);
  CHECK(read_all(*log, "acme").size() == 1);
  auto exported = p->subject_events("acme", "sub_a", 100);
  REQUIRE(exported.ok());
  CHECK(exported->empty());
  // The same key on another channel or tenant is another event.
  CHECK_FALSE(stored_as_duplicate(*log, make_event("acme", "wa2", k_wamid, "sub_a")));
  CHECK_FALSE(stored_as_duplicate(*log, make_event("globex", "wa", k_wamid, "sub_a")));

  // Retention removes tombstones with the other dedupe keys (by when the key was first seen):
  // from then on the event is new.
  auto swept = p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000));
  REQUIRE(swept.ok());
  CHECK(swept->dedupe_keys == 3);
  CHECK_FALSE(stored_as_duplicate(*log, make_event("acme", "wa", k_wamid, "sub_a")));
}

TEST_CASE("a tombstone holds only a keyed digest of the dedupe key, tenant, channel and a seq",
          "[privacy][tombstone]") {
  temp_dir dir;
  auto log = open_sqlite(dir.path);
  auto p = privacy(log);
  append(*log, {{"acme", {make_event("acme", "wa", k_wamid, "sub_a")}}});
  REQUIRE(p->erase_subject("acme", "sub_a").ok());
  raw_db raw(dir.path);
  auto rows = raw.rows("SELECT key, tenant, channel, seq, created_at_ms FROM dedupe");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].size() == 16);  // HMAC-SHA256 under a key of the master key, cut to 16
  CHECK(rows[0][1] == "acme");
  CHECK(rows[0][2] == "wa");
  CHECK(rows[0][3] == "1");
  CHECK(raw.scalar("SELECT COUNT(*) FROM events") == "0");
  // Not the key, the phone number or the base64 run that encodes it, anywhere in the files.
  const auto bytes = all_file_bytes(dir.path);
  CHECK(bytes.find(k_wamid) == std::string::npos);
  CHECK(bytes.find("HBgLMTY1MDU1NTEyMzQ") == std::string::npos);
  CHECK(bytes.find(k_phone) == std::string::npos);
}

// -- privacy requests ---------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a privacy request is carried out once: claimed, in progress, then done",
                   "[privacy][requests]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  auto p = privacy(log);
  const std::string body = R"({"shop_id":1,"shop_domain":"acme.myshopify.com"})";

  auto first = claim(*p, body, "shop/redact");
  CHECK(first.st == claim_state::claimed);
  // The same request while the first is carried out: in progress (the platform retries).
  CHECK(claim(*p, body, "shop/redact").st == claim_state::in_progress);
  // Abandoned (the erasure failed): the retry claims it again.
  p->abandon_privacy_request(first);
  auto second = claim(*p, body, "shop/redact");
  REQUIRE(second.st == claim_state::claimed);
  finish(*p, second, "era_01JDX3V7Q4K9M2T8R6W5Y0ZB1C", "shop/redact");

  // Replayed later, under any webhook id: done, with what the first answer named.
  auto replay = claim(*p, body, "shop/redact");
  REQUIRE(replay.st == claim_state::done);
  CHECK(replay.done.tenant == "acme");
  CHECK(replay.done.channel == "shop");
  CHECK(replay.done.kind == "shop/redact");
  CHECK(replay.done.code == "era_01JDX3V7Q4K9M2T8R6W5Y0ZB1C");
  CHECK(replay.done.done_at.unix_ms == 1764392400999);

  // The same bytes as another kind, on another channel or tenant, are another request.
  CHECK(claim(*p, body, "customers/redact").st == claim_state::claimed);
  CHECK(claim(*p, body, "shop/redact", "acme", "shop2").st == claim_state::claimed);
  CHECK(claim(*p, body, "shop/redact", "globex").st == claim_state::claimed);
  CHECK(claim(*p, body + " ", "shop/redact").st == claim_state::claimed);

  // Nothing else the store does forgets it: retention, erasures.
  REQUIRE(p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000)).ok());
  REQUIRE(p->erase_channel("acme", "shop").ok());
  CHECK(claim(*p, body, "shop/redact").st == claim_state::done);

  for (auto [tenant, channel, kind] :
       {std::make_tuple("", "shop", "shop/redact"), std::make_tuple("acme", "", "shop/redact"),
        std::make_tuple("acme", "shop", "")}) {
    auto bad = p->claim_privacy_request(tenant, channel, kind, body);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().code == errc::bad_request);
  }
}

TEST_CASE(
    "a privacy request carried out is recognised after a restart, and only its digest is "
    "stored",
    "[privacy][requests]") {
  temp_dir dir;
  const std::string signed_request = "c2lnbmF0dXJlX29mX2FfcmVxdWVzdA.eyJ1c2VyX2lkIjoiNzAwMDAwIn0";
  {
    auto log = open_sqlite(dir.path);
    auto p = privacy(log);
    auto c = claim(*p, signed_request, "data_deletion", "acme", "fb");
    REQUIRE(c.st == claim_state::claimed);
    finish(*p, c, "del_01JDX3V7Q4K9M2T8R6W5Y0ZB1CABCDEFGHJKMNPQRS", "data_deletion", "acme", "fb");
    // A claim held when the process ends is gone with it.
    REQUIRE(claim(*p, "another request", "data_deletion", "acme", "fb").st == claim_state::claimed);
  }
  auto log = open_sqlite(dir.path);
  auto p = privacy(log);
  auto replay = claim(*p, signed_request, "data_deletion", "acme", "fb");
  REQUIRE(replay.st == claim_state::done);
  CHECK(replay.done.code == "del_01JDX3V7Q4K9M2T8R6W5Y0ZB1CABCDEFGHJKMNPQRS");
  CHECK(claim(*p, "another request", "data_deletion", "acme", "fb").st == claim_state::claimed);

  raw_db raw(dir.path);
  auto rows = raw.rows("SELECT digest, tenant, channel, kind FROM privacy_requests");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].size() == 32);
  CHECK(rows[0][1] == "acme");
  CHECK(rows[0][2] == "fb");
  CHECK(rows[0][3] == "data_deletion");
  CHECK(all_file_bytes(dir.path).find(signed_request) == std::string::npos);
}

// -- migration from version 3 -------------------------------------------------------------------

namespace {

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

std::string derive(const std::string& label) {
  const auto mac = crypto::hmac_sha256(k_master_key, label);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

std::string joined(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out.push_back('\0');
    }
    out.append(p);
  }
  return out;
}

/// Writes events into a version 3 store as that version did: payload = conversation length
/// (4 bytes, little endian), conversation, JSON; sealed under the subject's data key bound to
/// (tenant, seq); data keys wrapped bound to (tenant, subject), each with a row id the events
/// name (`subject_key`) and the subject index lists; dedupe keys as 16-byte digests, the dedupe
/// table's key.
struct v3_writer {
  explicit v3_writer(raw_db& r) : raw(r) {}

  raw_db& raw;
  std::string wrap_key = derive("switchboard/store/key-wrap/v1");
  std::string dedupe_key = derive("switchboard/store/dedupe/v1");
  struct key_row {
    std::string key;
    std::int64_t id = 0;
  };
  std::map<std::string, key_row> keys;  // tenant \0 subject -> data key and its row
  std::map<std::string, std::uint64_t> heads;

  const key_row& key_of(const std::string& tenant, const std::string& subject,
                        const std::string& channel) {
    auto [it, fresh] = keys.try_emplace(joined({tenant, subject}));
    if (fresh) {
      it->second.key = crypto::generate_aead_key();
      auto wrapped =
          crypto::wrap_key(wrap_key, it->second.key, joined({"data_key", tenant, subject}));
      REQUIRE(wrapped.ok());
      raw.insert(
          "INSERT INTO subject_keys (tenant, subject, channel, wrapped_key, created_at_ms) "
          "VALUES (?1, ?2, ?3, ?4, 1764392400000)",
          {tenant, subject, channel, *wrapped}, {false, false, false, true});
      it->second.id = sqlite3_last_insert_rowid(raw.db);
    }
    return it->second;
  }

  /// Stores `e` (its seq assigned here) and returns the JSON a read must give back.
  std::string put(event& e) {
    e.seq = ++heads[e.tenant];
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
        crypto::hmac_sha256(dedupe_key, joined({e.tenant, e.channel.name, e.dedupe_key}));
    const std::string d(reinterpret_cast<const char*>(mac.data()), 16);
    const std::string key_id = e.subject.empty() ? std::string() : std::to_string(k.id);
    raw.insert(
        "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
        "received_at_ms, json, subject, subject_key) VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, "
        "?9, NULLIF(?10, ''))",
        {e.tenant, std::to_string(e.seq), e.channel.name, d, e.type, e.id,
         std::to_string(e.received_at.unix_ms), *sealed, e.subject, key_id},
        {false, false, false, true, false, false, false, true, false, false});
    if (!e.subject.empty()) {
      raw.insert("INSERT INTO subject_events (subject_key, seq) VALUES (?1, ?2)",
                 {key_id, std::to_string(e.seq)});
    }
    raw.insert(
        "INSERT INTO dedupe (key, tenant, channel, seq, created_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, 1764392400000)",
        {d, e.tenant, e.channel.name, std::to_string(e.seq)}, {true, false, false, false});
    return json;
  }

  void finish() {
    for (const auto& [tenant, seq] : heads) {
      raw.insert("INSERT INTO tenant_heads (tenant, seq, indexed) VALUES (?1, ?2, ?2)",
                 {tenant, std::to_string(seq)});
    }
    auto check = crypto::seal(wrap_key, "switchboard store key check v1", "key_check");
    REQUIRE(check.ok());
    raw.insert("INSERT INTO meta (name, value) VALUES ('key_check', ?1)", {*check}, {true});
  }
};

}  // namespace

TEST_CASE(
    "a version 3 store is migrated to the current version: privacy requests added, its "
    "data and its other tables kept",
    "[privacy][requests]") {
  temp_dir dir;
  std::vector<event> events{
      make_event("acme", "wa", k_wamid, "sub_a"), make_event("acme", "wa", "wamid.two", "sub_b"),
      make_event("acme", "shop", "w:1", ""), make_event("globex", "wa", k_wamid, "sub_a")};
  std::vector<std::string> json;
  std::vector<std::vector<std::string>> schema_before;
  {
    raw_db raw(dir.path);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(k_v3_schema);
    v3_writer w(raw);
    w.key_of("acme", "", "wa");  // the tenant's own key
    for (auto& e : events) {
      json.push_back(w.put(e));
    }
    w.finish();
    raw.insert(
        "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
        "VALUES ('acme', 5, 'subscriber:dpo', 'erase', 'sub_z', 'ok', 'events=0')",
        {});
    schema_before = raw.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");
  }

  {
    auto log = open_sqlite(dir.path);
    auto p = privacy(log);
    auto acme = read_all(*log, "acme");
    REQUIRE(acme.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(acme[i].seq == i + 1);
      CHECK(acme[i].json == json[i]);
    }
    CHECK(read_all(*log, "globex").at(0).json == json[3]);
    CHECK(log->head("acme") == 3);
    auto exported = p->subject_events("acme", "sub_a", 100);
    REQUIRE(exported.ok());
    REQUIRE(exported->size() == 1);
    CHECK(exported->at(0).json == json[0]);
    REQUIRE(p->audit_log("acme", 0, 10).size() == 1);

    // The new table works; the old dedupe keys still dedupe, and become tombstones on erasure.
    auto c = claim(*p, "body of a shop/redact", "shop/redact");
    REQUIRE(c.st == claim_state::claimed);
    finish(*p, c, "era_1", "shop/redact");
    CHECK(stored_as_duplicate(*log, make_event("acme", "wa", "wamid.two", "sub_b")));
    auto out = p->erase_subject("acme", "sub_a");
    REQUIRE(out.ok());
    CHECK(out->events == 1);
    CHECK(out->dedupe_keys == 1);
    CHECK(stored_as_duplicate(*log, make_event("acme", "wa", k_wamid, "sub_a")));
  }

  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == "5");
  // Additive: every object of version 3 is as it was, but the quarantine table (which version 5
  // gives columns), and what is new belongs to the new tables.
  auto after = raw.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");
  std::vector<std::vector<std::string>> kept;
  std::vector<std::vector<std::string>> added;
  schema_before.erase(std::remove_if(schema_before.begin(), schema_before.end(),
                                     [](const std::vector<std::string>& row) {
                                       return row[1] == "quarantine";
                                     }),
                      schema_before.end());
  for (auto& row : after) {
    if (row[1] == "quarantine") {
      continue;  // ALTERed by version 5
    }
    if (std::find(schema_before.begin(), schema_before.end(), row) != schema_before.end()) {
      kept.push_back(row);
    } else {
      added.push_back(row);
    }
  }
  CHECK(kept == schema_before);
  REQUIRE_FALSE(added.empty());
  for (const auto& row : added) {
    CAPTURE(row[1]);
    // privacy_requests (and its primary key's automatic index), or version 5's objects.
    const std::vector<std::string> new_tables{"privacy_requests", "quarantine",
                                              "quarantine_usage", "subscriber_disabled"};
    CHECK(std::find(new_tables.begin(), new_tables.end(), row[2]) != new_tables.end());
  }
  CHECK(std::any_of(added.begin(), added.end(), [](const std::vector<std::string>& row) {
    return row[0] == "table" && row[1] == "privacy_requests";
  }));
  // Opened again (already current): nothing to migrate, the request is still known.
  auto log = open_sqlite(dir.path);
  CHECK(claim(*privacy(log), "body of a shop/redact", "shop/redact").st == claim_state::done);
}

// The quarantine's quota and admin operations, and the durable 410 record of push subscribers,
// against every event-log implementation (in memory; SQLite on a real file); the SQLite store's
// schema version 4 and the migration from version 3, whose store is built here byte for byte as
// that version wrote it.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/aead.hpp"
#include "core/crypto.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;

namespace {

const std::string k_master_key(32, 'q');

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
struct temp_dir {
  std::string path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/sb-quarantine-XXXXXX";
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
  static constexpr bool durable = false;
};

struct sqlite_backend {
  temp_dir dir;
  std::shared_ptr<store::event_log> open() { return open_sqlite(dir.path); }
  static constexpr bool durable = true;
};

store::quarantined_body body_of(const std::string& tenant, const std::string& channel,
                                std::string body, std::int64_t received_ms = 1764392400000,
                                std::vector<store::kept_header> headers = {}) {
  store::quarantined_body b;
  b.tenant = tenant;
  b.channel = channel;
  b.reason = "not JSON";
  b.received_at = timestamp::from_millis(received_ms);
  b.body = std::move(body);
  b.headers = std::move(headers);
  return b;
}

std::uint64_t used(store::event_log& log, const std::string& tenant, const std::string& channel) {
  auto u = log.quarantine_used(tenant, channel);
  REQUIRE(u.ok());
  return *u;
}

std::vector<store::quarantine_entry> list(store::event_log& log, const std::string& tenant,
                                          const std::string& channel = "", std::uint64_t after = 0,
                                          std::size_t limit = 100) {
  auto l = log.quarantine_list(tenant, channel, after, limit);
  INFO((l ? std::string() : l.err().message));
  REQUIRE(l.ok());
  return l.value();
}

std::vector<std::uint64_t> ids_of(const std::vector<store::quarantine_entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) {
    out.push_back(e.id);
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "a channel's quarantine refuses bodies past its quota and takes them again "
    "after a purge",
    "[store][quarantine]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  const auto a = body_of("acme", "tg", std::string(1000, 'a'));
  const std::uint64_t charge = store::quarantine_charge(a);
  CHECK(charge == 1000 + a.reason.size() + store::k_quarantine_row_bytes);
  const std::uint64_t quota = 3 * charge + 10;  // three such bodies, not four

  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = log->quarantine(a, quota);
    INFO((id ? std::string() : id.err().message));
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  CHECK(used(*log, "acme", "tg") == 3 * charge);
  auto full = log->quarantine(a, quota);
  REQUIRE_FALSE(full.ok());
  CHECK(full.err().code == errc::quarantine_full);
  CHECK(full.err().message.find("channel tg") != std::string::npos);
  CHECK(list(*log, "acme").size() == 3);
  // Even an empty body costs its row; a body larger than the quota never fits, not even into an
  // empty quarantine.
  CHECK(log->quarantine(body_of("acme", "tg", ""), quota).err().code == errc::quarantine_full);
  CHECK(log->quarantine(body_of("acme", "big", std::string(quota, 'x')), quota).err().code ==
        errc::quarantine_full);
  CHECK(list(*log, "acme", "big").empty());
  // Quotas are per channel and per tenant.
  REQUIRE(log->quarantine(a, quota).err().code == errc::quarantine_full);
  REQUIRE(log->quarantine(body_of("acme", "wa", std::string(1000, 'w')), quota).ok());
  REQUIRE(log->quarantine(body_of("globex", "tg", std::string(1000, 'g')), quota).ok());

  // Deleting one body gives its charge back; purging the channel gives everything back.
  auto dropped = log->drop_quarantined("acme", ids[1]);
  REQUIRE(dropped.ok());
  CHECK(dropped->id == ids[1]);
  CHECK(dropped->channel == "tg");
  CHECK(dropped->bytes == 1000);
  CHECK(used(*log, "acme", "tg") == 2 * charge);
  CHECK(log->drop_quarantined("acme", ids[1]).err().code == errc::not_found);
  // Another tenant's id is not found either, and nothing of it is deleted.
  CHECK(log->drop_quarantined("globex", ids[0]).err().code == errc::not_found);
  CHECK(log->quarantined_one("globex", ids[0]).err().code == errc::not_found);
  auto again = log->quarantine(a, quota);
  REQUIRE(again.ok());
  CHECK(*again > ids.back());  // ids are never reused

  auto purged = log->drop_quarantine_of("acme", "tg");
  REQUIRE(purged.ok());
  CHECK(purged->bodies == 3);
  CHECK(purged->bytes == 3000);
  CHECK(used(*log, "acme", "tg") == 0);
  CHECK(list(*log, "acme", "tg").empty());
  CHECK(list(*log, "acme", "wa").size() == 1);
  CHECK(list(*log, "globex").size() == 1);
  for (int i = 0; i < 3; ++i) {
    CHECK(log->quarantine(a, quota).ok());
  }
}

TEMPLATE_TEST_CASE(
    "quarantined bodies are listed by page and channel and read back with their "
    "headers",
    "[store][quarantine]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  const std::vector<store::kept_header> headers{{"x-shopify-topic", "orders/create"},
                                                {"x-shopify-webhook-id", "b54557e4-bdd9"}};
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto b = body_of("acme", i % 2 == 0 ? "shop" : "tg", "body " + std::to_string(i),
                     1764392400000 + i, i % 2 == 0 ? headers : std::vector<store::kept_header>{});
    auto id = log->quarantine(std::move(b));
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  const auto all = list(*log, "acme");
  REQUIRE(ids_of(all) == ids);
  CHECK(all[2].channel == "shop");
  CHECK(all[2].reason == "not JSON");
  CHECK(all[2].received_at.unix_ms == 1764392400002);
  CHECK(all[2].bytes == 6);
  CHECK(ids_of(list(*log, "acme", "", ids[1], 2)) == std::vector<std::uint64_t>{ids[2], ids[3]});
  CHECK(ids_of(list(*log, "acme", "shop")) == std::vector<std::uint64_t>{ids[0], ids[2], ids[4]});
  CHECK(ids_of(list(*log, "acme", "shop", ids[2])) == std::vector<std::uint64_t>{ids[4]});
  CHECK(list(*log, "acme", "nope").empty());
  CHECK(list(*log, "globex").empty());

  auto one = log->quarantined_one("acme", ids[2]);
  REQUIRE(one.ok());
  CHECK(one->body == "body 2");
  CHECK(one->channel == "shop");
  REQUIRE(one->headers.size() == 2);
  CHECK(one->headers[0].name == "x-shopify-topic");
  CHECK(one->headers[0].value == "orders/create");
  CHECK(one->headers[1].value == "b54557e4-bdd9");
  auto plain = log->quarantined_one("acme", ids[1]);
  REQUIRE(plain.ok());
  CHECK(plain->headers.empty());
  CHECK(log->quarantined("acme")[4].headers.size() == 2);
}

TEMPLATE_TEST_CASE("concurrent quarantines never take a channel past its quota",
                   "[store][quarantine]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  const auto b = body_of("acme", "tg", std::string(500, 'c'));
  const std::uint64_t charge = store::quarantine_charge(b);
  const std::uint64_t quota = 25 * charge;
  std::atomic<int> kept{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto id = log->quarantine(b, quota);
        if (id) {
          ++kept;
        } else if (id.err().code == errc::quarantine_full) {
          ++refused;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(failed == 0);
  CHECK(kept == 25);
  CHECK(refused == 55);
  CHECK(used(*log, "acme", "tg") == 25 * charge);
  CHECK(list(*log, "acme", "tg", 0, 1000).size() == 25);
}

TEMPLATE_TEST_CASE("retention and a channel erasure give the quarantine's quota back",
                   "[store][quarantine]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  auto p = store::privacy_store_of(log);
  REQUIRE(p);
  const auto old_body = body_of("acme", "tg", "old", 1000);
  const auto new_body = body_of("acme", "tg", "new", 5000);
  REQUIRE(log->quarantine(old_body).ok());
  REQUIRE(log->quarantine(new_body).ok());
  REQUIRE(log->quarantine(body_of("acme", "wa", "other", 1000)).ok());
  auto swept = p->expire("acme", timestamp::from_millis(2000));
  REQUIRE(swept.ok());
  CHECK(swept->quarantined == 2);
  CHECK(used(*log, "acme", "tg") == store::quarantine_charge(new_body));
  CHECK(used(*log, "acme", "wa") == 0);
  REQUIRE(p->erase_channel("acme", "tg").ok());
  CHECK(used(*log, "acme", "tg") == 0);
  CHECK(list(*log, "acme").empty());
}

TEMPLATE_TEST_CASE("a subscriber disabled by a 410 stays disabled until enabled",
                   "[store][delivery]", memory_backend, sqlite_backend) {
  TestType backend;
  auto log = backend.open();
  auto d = store::delivery_store_of(log);
  REQUIRE(d);
  auto none = d->disabled("acme", "hook");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(d->disable("acme", "hook", {"HTTP 410", timestamp::from_millis(1764392400123)}).ok());
  auto off = d->disabled("acme", "hook");
  REQUIRE(off.ok());
  REQUIRE(off->has_value());
  CHECK((*off)->reason == "HTTP 410");
  CHECK((*off)->since.unix_ms == 1764392400123);
  // Per tenant and subscriber.
  CHECK_FALSE(d->disabled("acme", "other")->has_value());
  CHECK_FALSE(d->disabled("globex", "hook")->has_value());
  if constexpr (TestType::durable) {
    log.reset();
    d.reset();
    log = backend.open();
    d = store::delivery_store_of(log);
    REQUIRE(d->disabled("acme", "hook")->has_value());
  }
  REQUIRE(d->enable("acme", "hook").ok());
  CHECK_FALSE(d->disabled("acme", "hook")->has_value());
  CHECK(d->enable("acme", "hook").ok());  // nothing to enable: fine
}

TEST_CASE("quarantined headers are sealed like the body: none is readable in the store's files",
          "[store][quarantine][privacy]") {
  temp_dir dir;
  const std::string secret_value = "Marzipan-topic-7731";
  {
    auto log = open_sqlite(dir.path);
    REQUIRE(log->quarantine(body_of("acme", "shop", "{\"Quokka-body-1187\"", 1000,
                                    {{"x-shopify-topic", secret_value}}))
                .ok());
    REQUIRE(log->quarantined_one("acme", 1)->headers.at(0).value == secret_value);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path());
    CHECK(bytes.find(secret_value) == std::string::npos);
    CHECK(bytes.find("Quokka-body-1187") == std::string::npos);
  }
}

namespace {

/// A connection of the test's own to the database file.
struct raw_db {
  sqlite3* db = nullptr;
  explicit raw_db(const std::string& dir) {
    REQUIRE(sqlite3_open_v2((dir + "/switchboard.db").c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~raw_db() { sqlite3_close(db); }
  void exec(const std::string& sql) {
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      out.assign(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
    sqlite3_finalize(s);
    return out;
  }
  /// Inserts one row; each value is bound as a blob when `blobs` says so, else as text.
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
    const int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
  }
};

// The schema the store wrote as version 3, verbatim (its sqlite_master, as `.schema` prints it,
// without the internal sqlite_sequence table).
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
CREATE TABLE "subject_keys" (
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
CREATE TABLE "dedupe" (
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

}  // namespace

TEST_CASE(
    "a version 3 store is migrated to the current version: its quarantined bodies count "
    "against the quota and stay readable, subscribers can be disabled",
    "[store][quarantine]") {
  temp_dir dir;
  const std::string body1 = "{\"update_id\":12";
  const std::string body2(3000, 'z');
  {
    // As version 3 wrote a store holding quarantined bodies of two channels: the tenant's own
    // data key (subject ""), wrapped under the master key; each body sealed under it, bound to
    // (tenant, channel).
    raw_db raw(dir.path);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(k_v3_schema);
    const std::string wrap_key = derive("switchboard/store/key-wrap/v1");
    const std::string data_key = crypto::generate_aead_key();
    auto wrapped = crypto::wrap_key(wrap_key, data_key, joined({"data_key", "acme", ""}));
    REQUIRE(wrapped.ok());
    raw.insert(
        "INSERT INTO subject_keys (tenant, subject, channel, wrapped_key, created_at_ms) "
        "VALUES ('acme', '', '', ?1, 1764392400000)",
        {*wrapped}, {true});
    auto put = [&](const std::string& channel, const std::string& body, const std::string& at) {
      auto sealed = crypto::seal(data_key, body, joined({"quarantine", "acme", channel}));
      REQUIRE(sealed.ok());
      raw.insert(
          "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body) "
          "VALUES ('acme', ?1, 'unexpected end', ?2, ?3)",
          {channel, at, *sealed}, {false, false, true});
    };
    put("tg", body1, "1764392400100");
    put("tg", body2, "1764392400200");
    put("wa", "[", "1764392400300");
    raw.insert("INSERT INTO cursors (tenant, subscriber, seq) VALUES ('acme', 'hook', 7)", {});
    auto check = crypto::seal(wrap_key, "switchboard store key check v1", "key_check");
    REQUIRE(check.ok());
    raw.insert("INSERT INTO meta (name, value) VALUES ('key_check', ?1)", {*check}, {true});
  }

  const std::uint64_t sealed_overhead = 28;  // nonce and tag: v3 rows count their stored size
  const std::uint64_t old_tg =
      (body1.size() + sealed_overhead) + (body2.size() + sealed_overhead) +
      2 * (std::string("unexpected end").size() + store::k_quarantine_row_bytes);
  {
    auto log = open_sqlite(dir.path);
    auto entries = list(*log, "acme");
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].channel == "tg");
    CHECK(entries[0].bytes == body1.size() + sealed_overhead);
    CHECK(entries[0].received_at.unix_ms == 1764392400100);
    CHECK(entries[1].bytes == body2.size() + sealed_overhead);
    auto one = log->quarantined_one("acme", entries[1].id);
    REQUIRE(one.ok());
    CHECK(one->body == body2);
    CHECK(one->headers.empty());
    CHECK(used(*log, "acme", "tg") == old_tg);
    CHECK(used(*log, "acme", "wa") == 1 + sealed_overhead + 14 + store::k_quarantine_row_bytes);

    // The bodies of before count against the quota of now.
    const auto next = body_of("acme", "tg", "x");
    const std::uint64_t charge = store::quarantine_charge(next);
    CHECK(log->quarantine(next, old_tg + charge - 1).err().code == errc::quarantine_full);
    auto id = log->quarantine(next, old_tg + charge);
    REQUIRE(id.ok());
    CHECK(*id == 4);
    REQUIRE(log->drop_quarantined("acme", entries[0].id).ok());
    CHECK(used(*log, "acme", "tg") == old_tg + charge - (entries[0].bytes + 14 + 256));

    auto d = store::delivery_store_of(log);
    CHECK(d->cursor("acme", "hook") == 7);
    REQUIRE(d->disable("acme", "hook", {"HTTP 410", now()}).ok());
    CHECK(d->disabled("acme", "hook")->has_value());
  }
  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == "5");
  CHECK(raw.scalar("SELECT COUNT(*) FROM subscriber_disabled") == "1");
  CHECK(raw.scalar("SELECT SUM(charged) FROM quarantine WHERE channel = 'tg'") ==
        raw.scalar("SELECT bytes FROM quarantine_usage WHERE channel = 'tg'"));
}

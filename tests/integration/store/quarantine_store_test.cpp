// The quarantine's quota and admin operations, and the durable 410 record of push subscribers,
// against every event-log implementation (in memory; SQLite on a real file); the SQLite store's
// schema version 4 and the migration from version 3, whose store is built here byte for byte as
// that version wrote it.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"

using namespace sb;

namespace {

using test::raw_db;
using test::store_support::build_old_store;
using test::store_support::k_v3_schema;
using test::store_support::memory_backend;
using test::store_support::pg_backend;
using test::store_support::old_store_writer;
using test::store_support::open_sqlite;
using test::store_support::sqlite_backend;

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("sb-quarantine") {}
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
    "[store][quarantine]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
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
    "[store][quarantine]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
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
                   "[store][quarantine]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
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
                   "[store][quarantine]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = stores.privacy;
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
                   "[store][delivery]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto d = stores.delivery;
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
    stores = {};
    d.reset();
    stores = backend.open();
    d = stores.delivery;
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
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
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

TEST_CASE(
    "a version 3 store is migrated to the current version: its quarantined bodies count "
    "against the quota and stay readable, subscribers can be disabled",
    "[store][quarantine]") {
  temp_dir dir;
  const std::string body1 = "{\"update_id\":12";
  const std::string body2(3000, 'z');
  // As version 3 wrote a store holding quarantined bodies of two channels: the tenant's own data
  // key (subject ""), wrapped under the master key; each body sealed under it, bound to (tenant,
  // channel).
  build_old_store(dir.path, 3, k_v3_schema, [&](old_store_writer& w, raw_db& raw) {
    w.quarantine("acme", "tg", "unexpected end", "1764392400100", body1);
    w.quarantine("acme", "tg", "unexpected end", "1764392400200", body2);
    w.quarantine("acme", "wa", "unexpected end", "1764392400300", "[");
    raw.insert("INSERT INTO cursors (tenant, subscriber, seq) VALUES ('acme', 'hook', 7)", {});
  });

  const std::uint64_t sealed_overhead = 28;  // nonce and tag: v3 rows count their stored size
  const std::uint64_t old_tg =
      (body1.size() + sealed_overhead) + (body2.size() + sealed_overhead) +
      2 * (std::string("unexpected end").size() + store::k_quarantine_row_bytes);
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
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

    auto d = stores.delivery;
    CHECK(d->cursor("acme", "hook") == 7);
    REQUIRE(d->disable("acme", "hook", {"HTTP 410", now()}).ok());
    CHECK(d->disabled("acme", "hook")->has_value());
  }
  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == test::store_support::k_schema_version);
  CHECK(raw.scalar("SELECT COUNT(*) FROM subscriber_disabled") == "1");
  CHECK(raw.scalar("SELECT SUM(charged) FROM quarantine WHERE channel = 'tg'") ==
        raw.scalar("SELECT bytes FROM quarantine_usage WHERE channel = 'tg'"));
}

// The control plane's definitions in the store (store/definitions.hpp), on SQLite and on
// PostgreSQL: a document round-trips, sealed (its secret is not in the database's bytes), with its
// audit entry in the same transaction; a removal is audited too; the file's import stores only
// the tenants not stored yet; a change to a document replaced meanwhile is refused (conflict); on
// PostgreSQL every change
// notifies `switchboard_control`, which a replica's listener hears.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include "integration/store/store_test_support.hpp"
#include "store/definitions.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/listener.hpp"
#include "store/pg/stores.hpp"
#include "support/raw_db.hpp"

using namespace sb;
using namespace sb::test::store_support;
using test::pg_cluster;
using test::temp_dir;

namespace {

const std::string k_secret = "a-channel-secret-that-must-be-sealed";

store::audit_entry entry(const std::string& tenant, const std::string& action) {
  store::audit_entry e;
  e.at = now();
  e.tenant = tenant;
  e.actor = "operator:ops";
  e.action = action;
  e.outcome = "ok";
  return e;
}

/// Put, load, replace, remove: what every backend must do alike.
void exercise(store::definition_store& defs, store::privacy_store& privacy) {
  REQUIRE(defs.load_all()->empty());
  const std::string doc = R"({"secret_token":")" + k_secret + R"("})";
  REQUIRE(defs.put({"bistro", doc, 1000}, entry("bistro", "tenant_create"), std::nullopt));
  REQUIRE(defs.put({"abc", "{}", 2000}, entry("abc", "tenant_create"), std::nullopt));
  auto all = defs.load_all();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].tenant == "abc");  // by id
  CHECK((*all)[1].document == doc);
  CHECK((*all)[1].updated_at_ms == 1000);
  REQUIRE(defs.put({"bistro", "{}", 3000}, entry("bistro", "channel_update"), 1000));
  CHECK(defs.load_all()->at(1).document == "{}");
  // A change made to a document another call replaced meanwhile, or a tenant created twice, is
  // refused whole: nothing stored, nothing audited.
  auto stale = defs.put({"bistro", "{\"stale\":1}", 3001}, entry("bistro", "tenant_update"), 1000);
  REQUIRE_FALSE(stale);
  CHECK(stale.err().code == errc::conflict);
  auto twice =
      defs.put({"abc", "{\"again\":1}", 3002}, entry("abc", "tenant_create"), std::nullopt);
  REQUIRE_FALSE(twice);
  CHECK(twice.err().code == errc::conflict);
  CHECK(defs.load_all()->at(1).document == "{}");
  CHECK(defs.load_all()->at(0).document == "{}");
  REQUIRE(defs.remove("abc", entry("abc", "tenant_delete")));
  REQUIRE(defs.remove("never-there", entry("never-there", "tenant_delete")));
  CHECK(defs.load_all()->size() == 1);
  auto audit = privacy.audit_log("bistro", 0, 10);
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].action == "tenant_create");
  CHECK(audit[1].action == "channel_update");
  CHECK(privacy.audit_log("abc", 0, 10).size() == 2);

  // The file's import: the tenants not stored yet, in one transaction; a stored one is kept.
  auto imported = defs.insert_absent(
      {{{"bistro", R"({"imported":true})", 4000}, entry("bistro", "tenant_import")},
       {{"cafe", R"({"imported":true})", 4000}, entry("cafe", "tenant_import")}});
  REQUIRE(imported);
  CHECK(*imported == std::vector<std::string>{"cafe"});
  all = defs.load_all();
  REQUIRE(all->size() == 2);
  CHECK(all->at(0).document == "{}");  // bistro, as it was
  CHECK(all->at(1).document == R"({"imported":true})");
  CHECK(privacy.audit_log("bistro", 0, 10).size() == 2);  // no entry for what was not stored
  auto cafe = privacy.audit_log("cafe", 0, 10);
  REQUIRE(cafe.size() == 1);
  CHECK(cafe[0].action == "tenant_import");
  REQUIRE(defs.remove("cafe", entry("cafe", "tenant_delete")));
}

}  // namespace

TEST_CASE("the SQLite store keeps the control plane's documents sealed and audited",
          "[store][control]") {
  temp_dir dir("sb-definitions");
  {
    auto stores = open_sqlite(dir.path);
    REQUIRE(stores.definitions);
    exercise(*stores.definitions, *stores.privacy);
    REQUIRE(stores.definitions->put({"bistro", R"({"secret_token":")" + k_secret + R"("})", 1},
                                    entry("bistro", "channel_update"), 3000));
  }
  for (const char* file : {"/switchboard.db", "/switchboard.db-wal"}) {
    std::ifstream in(dir.path + file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find(k_secret) == std::string::npos);
  }
  // Reopened, the document opens again; a row moved to another tenant does not.
  auto stores = open_sqlite(dir.path);
  auto all = stores.definitions->load_all();
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(all->at(0).document.find(k_secret) != std::string::npos);
  test::raw_db raw(dir.path);
  raw.exec("UPDATE control_tenants SET tenant = 'other'");
  auto moved = stores.definitions->load_all();
  CHECK_FALSE(moved);
}

TEST_CASE("the PostgreSQL store keeps the documents and notifies every replica",
          "[store][control][pg]") {
  pg_cluster cluster;
  auto opened = store::pg::open_stores(storage_of(cluster, k_master_key), "test");
  INFO((opened ? std::string() : opened.err().message));
  REQUIRE(opened);
  auto& stores = opened->stores;
  REQUIRE(stores.definitions);

  std::atomic<int> notices{0};
  std::atomic<bool> listening{false};
  store::pg::listener::callbacks cb;
  cb.control = [&] { ++notices; };
  cb.connected = [&] { listening = true; };
  auto ear = store::pg::listener::start(cluster.dsn(), cb);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!listening && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(listening);

  exercise(*stores.definitions, *stores.privacy);
  while (notices < 5 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(notices >= 1);  // notifications read together are one call

  auto c = store::pg::connection::open(cluster.dsn(), "switchboard-test");
  REQUIRE(c);
  auto raw = c->exec("SELECT document FROM control_tenants");
  REQUIRE(raw);
  REQUIRE(raw->size() == 1);
  auto bytes = raw->bytes(0, 0);
  REQUIRE(bytes);
  CHECK(bytes->find(k_secret) == std::string::npos);
}

// The lease keeper (store/pg/lease_keeper.hpp) on a real PostgreSQL: of two replicas wanting the
// same work, one holds it while it lives, and the other gets it when the first gives it up.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>

#include "store/pg/delivery_store.hpp"
#include "store/pg/lease_keeper.hpp"
#include "store/pg/outbox.hpp"
#include "store/pg/pool.hpp"
#include "store/pg/schema.hpp"
#include "support/eventually.hpp"
#include "support/pg_cluster.hpp"

using namespace sb;
using sb::test::eventually;
using sb::test::pg_cluster;
using std::chrono::milliseconds;

namespace {

std::shared_ptr<store::pg::pool> migrated_pool(const pg_cluster& db) {
  auto p = store::pg::pool::make(db.dsn(), 2);
  auto c = p->take();
  REQUIRE(c);
  REQUIRE(store::pg::migrate(**c, store::pg::schema_versions(), "test"));
  return p;
}

}  // namespace

TEST_CASE("a lease is held by one keeper while it lives, then handed to the other",
          "[store][pg][leases][integration]") {
  pg_cluster db;
  auto pool = migrated_pool(db);
  const milliseconds ttl{300};
  std::atomic<int> a_changes{0}, b_changes{0};
  std::atomic<bool> a_held{false}, b_held{false};

  auto a = store::pg::lease_keeper::start(pool, "gw-a", ttl);
  a->want("push/acme/crm", [&](bool held) {
    a_held = held;
    ++a_changes;
  });
  REQUIRE(eventually([&] { return a_held.load(); }));
  CHECK(a->holds("push/acme/crm"));

  auto b = store::pg::lease_keeper::start(pool, "gw-b", ttl);
  b->want("push/acme/crm", [&](bool held) {
    b_held = held;
    ++b_changes;
  });
  // Several lifetimes of the lease pass: A renews it, B never gets it.
  const auto until = std::chrono::steady_clock::now() + 4 * ttl;
  while (std::chrono::steady_clock::now() < until) {
    CHECK_FALSE(b_held.load());
    std::this_thread::sleep_for(milliseconds{20});
  }
  CHECK(a->holds("push/acme/crm"));
  CHECK(a_changes.load() == 1);

  // A stops (a replica shutting down): it reports the loss first, releases, and B takes over.
  a->stop();
  CHECK_FALSE(a_held.load());
  CHECK(a_changes.load() == 2);
  REQUIRE(eventually([&] { return b_held.load(); }));
  CHECK(b->holds("push/acme/crm"));
  CHECK_FALSE(a->holds("push/acme/crm"));
}

TEST_CASE("a keeper gives its leases up before they expire when PostgreSQL is unreachable",
          "[store][pg][leases][integration]") {
  pg_cluster db(true);  // its own: the test stops the server
  auto pool = migrated_pool(db);
  std::atomic<bool> held{false};
  std::atomic<int> changes{0};
  auto k = store::pg::lease_keeper::start(pool, "gw-a", milliseconds{600});
  k->want("retention", [&](bool h) {
    held = h;
    ++changes;
  });
  REQUIRE(eventually([&] { return held.load(); }));
  // The database goes away: renewals fail, and the work stops within two thirds of a lifetime
  // (plus a round), before another replica could take the lease.
  db.pause();
  REQUIRE(eventually([&] { return !held.load(); }, std::chrono::seconds{5}));
  CHECK(changes.load() == 2);
  db.resume();
  REQUIRE(eventually([&] { return held.load(); }, std::chrono::seconds{10}));
}

TEST_CASE("a push cursor is saved only by the holder of its lease, in its generation",
          "[store][pg][leases][integration]") {
  pg_cluster db;
  auto pool = migrated_pool(db);
  auto c = pool->take();
  REQUIRE(c);
  auto mine = store::pg::acquire(**c, "push/acme/crm", "gw-a", std::chrono::seconds{30});
  REQUIRE(mine);
  REQUIRE(mine->granted);

  auto fenced = std::make_shared<store::pg::fences>();
  std::optional<store::pg::lease> held = *mine->granted;
  fenced->held = [&](const std::string& name) {
    return name == "push/acme/crm" ? held : std::nullopt;
  };
  auto delivery = store::pg::make_delivery_store(pool, fenced);
  REQUIRE(delivery->save_cursor("acme", "crm", 41));
  CHECK(delivery->cursor("acme", "crm") == 41);

  // Another replica takes the lease over (this one was paused past its expiry and has not
  // noticed yet): this one's save is refused, the new holder's cursor stays.
  REQUIRE(store::pg::release(**c, *mine->granted).value());
  auto theirs = store::pg::acquire(**c, "push/acme/crm", "gw-b", std::chrono::seconds{30});
  REQUIRE(theirs);
  REQUIRE(theirs->granted);
  CHECK(theirs->granted->generation > mine->granted->generation);
  auto refused = delivery->save_cursor("acme", "crm", 99);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unavailable);
  CHECK(delivery->cursor("acme", "crm") == 41);
  // A replica that knows it holds nothing writes nothing either.
  held.reset();
  CHECK_FALSE(delivery->save_cursor("acme", "crm", 100));
  CHECK(delivery->cursor("acme", "crm") == 41);
}

TEST_CASE("a sender's outcome is written only by the holder of its lease, a receipt by anyone",
          "[store][pg][leases][integration]") {
  pg_cluster db;
  auto pool = migrated_pool(db);
  auto c = pool->take();
  REQUIRE(c);
  auto mine = store::pg::acquire(**c, "sender/acme/tg", "gw-a", std::chrono::seconds{30});
  REQUIRE(mine);
  REQUIRE(mine->granted);
  auto fenced = std::make_shared<store::pg::fences>();
  std::optional<store::pg::lease> held = *mine->granted;
  fenced->held = [&](const std::string& name) {
    return name == "sender/acme/tg" ? held : std::nullopt;
  };
  auto box = store::pg::make_outbox(pool, std::string(32, 'k'), fenced);
  REQUIRE(box);

  store::outbound_record r;
  r.id = "out_01JDZQ3W8X5V6N7M8K9P0Q1R2S";
  r.tenant = "acme";
  r.channel = "tg";
  r.conversation = "tg:532189746";
  r.recipient = "532189746";
  r.purpose = "support";
  r.message = R"({"channel":"tg","to":"532189746","text":"hello"})";
  r.created_at = r.updated_at = timestamp::from_millis(1764392400000);
  REQUIRE(box.value()->put(r));
  auto outcome = [&](store::outbound_state s, bool by_sender) {
    store::outbound_update u;
    u.tenant = "acme";
    u.id = r.id;
    u.state = s;
    u.forward_only = true;
    u.by_sender = by_sender;
    u.updated_at = timestamp::from_millis(1764392401000);
    auto applied = box.value()->update(u);
    REQUIRE(applied);
    return applied.value();
  };
  CHECK(outcome(store::outbound_state::sending, true));

  // The lease passes to another replica: this one's late outcome is not written...
  REQUIRE(store::pg::release(**c, *mine->granted).value());
  auto theirs = store::pg::acquire(**c, "sender/acme/tg", "gw-b", std::chrono::seconds{30});
  REQUIRE(theirs);
  REQUIRE(theirs->granted);
  CHECK_FALSE(outcome(store::outbound_state::failed, true));
  CHECK(box.value()->get("acme", r.id)->state == store::outbound_state::sending);
  // ... while a delivery receipt, which any replica's webhook brings, is.
  CHECK(outcome(store::outbound_state::delivered, false));
  CHECK(box.value()->get("acme", r.id)->state == store::outbound_state::delivered);
}

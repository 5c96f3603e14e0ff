// Leases on singleton work across replicas (store/pg/lease.hpp) against a real server: one
// holder at a time, takeover after expiry with a new generation, and the fence that keeps a
// replica that lost its lease from writing as its holder.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/pg/lease.hpp"
#include "store/pg/schema.hpp"
#include "support/pg_cluster.hpp"

using namespace std::chrono_literals;
using sb::store::pg::acquire;
using sb::store::pg::connection;
using sb::store::pg::hold;
using sb::store::pg::lease;
using sb::store::pg::release;
using sb::store::pg::renew;

namespace {

/// A connection to a database at Switchboard's schema.
connection replica(const sb::test::pg_cluster& cluster) {
  auto c = connection::open(cluster.dsn());
  REQUIRE(c);
  auto st = sb::store::pg::migrate(*c, sb::store::pg::schema_versions(), "test");
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st);
  return std::move(c).value();
}

lease take(connection& c, const std::string& name, const std::string& node,
           std::chrono::milliseconds ttl) {
  auto a = acquire(c, name, node, ttl);
  INFO((a ? std::string() : a.err().message));
  REQUIRE(a);
  REQUIRE(a->granted);
  return *a->granted;
}

}  // namespace

TEST_CASE("a lease has one holder until it expires or is released", "[store][pg][lease]") {
  sb::test::pg_cluster cluster;
  auto a = replica(cluster);
  auto b = replica(cluster);

  const lease first = take(a, "push/acme/crm", "gw-1", 60s);
  CHECK(first.generation == 1);
  CHECK(first.holder == "gw-1");

  auto refused = acquire(b, "push/acme/crm", "gw-2", 60s);
  REQUIRE(refused);
  CHECK_FALSE(refused->granted);
  CHECK(refused->holder == "gw-1");
  CHECK(refused->expires_in_ms > 50'000);
  CHECK(refused->expires_in_ms <= 60'000);

  // Its holder taking it again renews it in the same generation.
  CHECK(take(a, "push/acme/crm", "gw-1", 60s).generation == 1);
  CHECK(renew(a, first, 60s).value());
  // Other names are other leases.
  CHECK(take(b, "sender/acme/wa-main", "gw-2", 60s).generation == 1);

  // Released: the next replica takes it at once, in a new generation; the old holder's renew
  // and fence now fail.
  CHECK(release(a, first).value());
  const lease second = take(b, "push/acme/crm", "gw-2", 60s);
  CHECK(second.generation == 2);
  CHECK_FALSE(renew(a, first, 60s).value());
  CHECK_FALSE(release(a, first).value());
  REQUIRE(a.exec("BEGIN"));
  CHECK_FALSE(hold(a, first).value());
  REQUIRE(a.exec("ROLLBACK"));
}

TEST_CASE("an expired lease is taken over in a new generation and the old holder is fenced",
          "[store][pg][lease]") {
  sb::test::pg_cluster cluster;
  auto a = replica(cluster);
  auto b = replica(cluster);

  const lease old = take(a, "sweeper", "gw-1", 200ms);
  auto early = acquire(b, "sweeper", "gw-2", 200ms);
  REQUIRE(early);
  CHECK_FALSE(early->granted);

  std::this_thread::sleep_for(300ms);  // gw-1 stalls past its expiry (a pause, a partition)
  const lease taken = take(b, "sweeper", "gw-2", 60s);
  CHECK(taken.generation == old.generation + 1);

  CHECK_FALSE(renew(a, old, 60s).value());  // gw-1 learns it lost the lease
  REQUIRE(a.exec("BEGIN"));
  CHECK_FALSE(hold(a, old).value());  // and its fenced write is refused
  REQUIRE(a.exec("ROLLBACK"));
  REQUIRE(b.exec("BEGIN"));
  CHECK(hold(b, taken).value());
  REQUIRE(b.exec("COMMIT"));

  // A holder whose lease expired without anyone taking it may renew it: nobody acted on it.
  const lease lone = take(a, "outbox-resume", "gw-1", 100ms);
  std::this_thread::sleep_for(200ms);
  CHECK(renew(a, lone, 60s).value());
  // But taking it again after its expiry starts a new generation.
  const lease mine = take(a, "resume-2", "gw-1", 100ms);
  std::this_thread::sleep_for(200ms);
  CHECK(take(a, "resume-2", "gw-1", 60s).generation == mine.generation + 1);
}

TEST_CASE("a takeover waits for the old holder's fenced transaction to end",
          "[store][pg][lease]") {
  sb::test::pg_cluster cluster;
  auto a = replica(cluster);
  auto b = replica(cluster);
  REQUIRE(a.exec("CREATE TABLE work (n INTEGER)"));

  const lease held = take(a, "push/acme/crm", "gw-1", 200ms);
  REQUIRE(a.exec("BEGIN"));
  REQUIRE(hold(a, held).value());  // gw-1 is inside a fenced write
  std::this_thread::sleep_for(300ms);  // ... that outlives its lease

  std::atomic<bool> committed{false};
  std::atomic<bool> granted_before_commit{false};
  std::int64_t generation = 0;
  std::thread takeover([&] {
    auto got = acquire(b, "push/acme/crm", "gw-2", 60s);
    if (got && got->granted) {
      generation = got->granted->generation;
      granted_before_commit = !committed.load();
    }
  });
  std::this_thread::sleep_for(300ms);  // gw-2 is blocked on the row gw-1 holds for sharing
  REQUIRE(a.exec("INSERT INTO work VALUES (1)"));
  committed = true;
  REQUIRE(a.exec("COMMIT"));
  takeover.join();
  CHECK(generation == held.generation + 1);
  CHECK_FALSE(granted_before_commit.load());
}

TEST_CASE("of replicas racing for a free lease exactly one gets it", "[store][pg][lease]") {
  sb::test::pg_cluster cluster;
  constexpr int k_replicas = 6;
  std::vector<connection> conns;
  for (int i = 0; i < k_replicas; ++i) {
    conns.push_back(replica(cluster));
  }
  for (int round = 1; round <= 3; ++round) {
    std::vector<int> won(k_replicas, 0);
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int i = 0; i < k_replicas; ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) {
          std::this_thread::yield();
        }
        auto a = acquire(conns[i], "sender/acme/tg", "gw-" + std::to_string(i), 100ms);
        won[i] = (a && a->granted) ? 1 : 0;
      });
    }
    go = true;
    for (auto& t : threads) {
      t.join();
    }
    int winners = 0;
    for (int w : won) {
      winners += w;
    }
    INFO("round " << round);
    CHECK(winners == 1);
    std::this_thread::sleep_for(150ms);  // the winner's lease expires before the next round
  }
}

// The PostgreSQL schema's versions (store/pg/schema.hpp) against a real server: applied once, all
// or nothing, by one of several replicas starting together, and refused when the database is
// more than one version ahead of the replica.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/pg/schema.hpp"
#include "support/pg_cluster.hpp"

using sb::store::pg::connection;
using sb::store::pg::migrate;
using sb::store::pg::migration;

namespace {

const std::vector<migration> k_three = {
    {1, "CREATE TABLE t1 (k TEXT PRIMARY KEY)"},
    {2, "CREATE TABLE t2 (k TEXT PRIMARY KEY, n BIGINT NOT NULL)"},
    {3, "ALTER TABLE t1 ADD COLUMN note TEXT; CREATE INDEX t2_n ON t2 (n)"},
};

connection open(const sb::test::pg_cluster& cluster) {
  auto c = connection::open(cluster.dsn());
  REQUIRE(c);
  return std::move(c).value();
}

std::int64_t count(connection& c, const char* sql) {
  auto r = c.exec(sql);
  REQUIRE(r);
  return r->int64(0, 0).value();
}

bool table_exists(connection& c, const std::string& name) {
  auto r = c.exec("SELECT to_regclass($1) IS NOT NULL", {name});
  REQUIRE(r);
  return r->text(0, 0) == "t";
}

}  // namespace

TEST_CASE("schema versions are applied once, in order, and recorded", "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = open(cluster);

  auto first = migrate(c, k_three, "gw-1");
  REQUIRE(first);
  CHECK(first->found == 0);
  CHECK(first->now == 3);
  CHECK(first->applied == std::vector<int>{1, 2, 3});
  CHECK(table_exists(c, "t1"));
  CHECK(table_exists(c, "t2"));
  CHECK(count(c, "SELECT COUNT(*) FROM information_schema.columns "
                 "WHERE table_name = 't1' AND column_name = 'note'") == 1);
  auto who = c.exec("SELECT version, node FROM switchboard_schema ORDER BY version");
  REQUIRE(who);
  REQUIRE(who->size() == 3);
  CHECK(who->text(2, 0) == "3");
  CHECK(who->text(2, 1) == "gw-1");

  auto again = migrate(c, k_three, "gw-2");
  REQUIRE(again);
  CHECK(again->found == 3);
  CHECK(again->now == 3);
  CHECK(again->applied.empty());

  // The next release adds a version: only that one runs.
  auto four = k_three;
  four.push_back({4, "CREATE TABLE t4 (k TEXT)"});
  auto upgraded = migrate(c, four, "gw-3");
  REQUIRE(upgraded);
  CHECK(upgraded->applied == std::vector<int>{4});
  CHECK(count(c, "SELECT COUNT(*) FROM switchboard_schema") == 4);
}

TEST_CASE("a replica runs on a schema one version ahead, not two", "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = open(cluster);
  auto four = k_three;
  four.push_back({4, "CREATE TABLE t4 (k TEXT)"});
  auto five = four;
  five.push_back({5, "CREATE TABLE t5 (k TEXT)"});

  REQUIRE(migrate(c, four, "new"));
  // A replica of the release before (versions 1 to 3) during a rolling upgrade.
  auto old = migrate(c, k_three, "old");
  REQUIRE(old);
  CHECK(old->found == 4);
  CHECK(old->now == 4);
  CHECK(old->applied.empty());

  REQUIRE(migrate(c, five, "newer"));
  auto too_old = migrate(c, k_three, "old");
  REQUIRE_FALSE(too_old);
  CHECK_THAT(too_old.err().message, Catch::Contains("version 5") &&
                                        Catch::Contains("this gateway's 3") &&
                                        Catch::Contains("upgrade this replica"));
  CHECK(c.ok());
  CHECK(count(c, "SELECT COUNT(*) FROM switchboard_schema") == 5);
}

TEST_CASE("a version that fails leaves the database as it was", "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = open(cluster);
  const std::vector<migration> broken = {
      {1, "CREATE TABLE t1 (k TEXT PRIMARY KEY)"},
      {2, "CREATE TABLE t2 (k TEXT PRIMARY KEY); CREATE TABL oops (k TEXT)"},
  };
  auto r = migrate(c, broken, "gw-1");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.err().message, Catch::Contains("version 2") && Catch::Contains("42601"));
  // Version 1 ran in the same transaction: rolled back with the rest.
  CHECK_FALSE(table_exists(c, "t1"));
  CHECK_FALSE(table_exists(c, "t2"));
  CHECK_FALSE(table_exists(c, "switchboard_schema"));
  // The connection is usable, and a fixed list then applies from scratch.
  auto fixed = migrate(c, k_three, "gw-1");
  REQUIRE(fixed);
  CHECK(fixed->applied == std::vector<int>{1, 2, 3});
}

TEST_CASE("schema versions numbered other than 1, 2, 3, ... are refused before anything runs",
          "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = open(cluster);
  const std::vector<migration> gap = {{1, "CREATE TABLE t1 (k TEXT)"},
                                      {3, "CREATE TABLE t3 (k TEXT)"}};
  auto r = migrate(c, gap, "gw-1");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.err().message, Catch::Contains("entry 2 is version 3"));
  CHECK_FALSE(table_exists(c, "t1"));
}

TEST_CASE("replicas that start together apply each version exactly once", "[store][pg]") {
  sb::test::pg_cluster cluster;
  // Version 1 holds its transaction (and the lock) for a while, so the others queue on the lock
  // instead of finding the work done.
  const std::vector<migration> slow = {
      {1, "CREATE TABLE t1 (k TEXT PRIMARY KEY); SELECT pg_sleep(0.3)"},
      {2, "CREATE TABLE t2 (k TEXT PRIMARY KEY)"},
      {3, "INSERT INTO t1 (k) VALUES ('applied once')"},
  };
  constexpr int k_replicas = 4;
  std::vector<connection> conns;
  for (int i = 0; i < k_replicas; ++i) {
    conns.push_back(open(cluster));
  }
  std::vector<std::vector<int>> applied(k_replicas);
  std::vector<std::string> errors(k_replicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < k_replicas; ++i) {
    replicas.emplace_back([&, i] {
      auto r = migrate(conns[i], slow, "gw-" + std::to_string(i));
      if (r) {
        applied[i] = r->applied;
      } else {
        errors[i] = r.err().message;
      }
    });
  }
  for (auto& t : replicas) {
    t.join();
  }
  int appliers = 0;
  for (int i = 0; i < k_replicas; ++i) {
    INFO("replica " << i << ": " << errors[i]);
    CHECK(errors[i].empty());
    if (!applied[i].empty()) {
      ++appliers;
      CHECK(applied[i] == std::vector<int>{1, 2, 3});
    }
  }
  CHECK(appliers == 1);
  CHECK(count(conns[0], "SELECT COUNT(*) FROM t1") == 1);
  CHECK(count(conns[0], "SELECT COUNT(*) FROM switchboard_schema") == 3);
}

TEST_CASE("Switchboard's own schema applies to a new database, then is left as it is",
          "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = open(cluster);
  const auto& versions = sb::store::pg::schema_versions();
  REQUIRE_FALSE(versions.empty());
  auto first = migrate(c, versions, "gw-1");
  REQUIRE(first);
  CHECK(first->now == versions.back().version);
  CHECK(static_cast<int>(first->applied.size()) == versions.back().version);
  CHECK(table_exists(c, "switchboard_leases"));
  auto second = migrate(c, versions, "gw-2");
  REQUIRE(second);
  CHECK(second->applied.empty());
}

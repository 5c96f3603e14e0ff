// The libpq connection of the PostgreSQL stores (issue 13) against a real server: a throwaway
// cluster this test starts itself (tests/support/pg_cluster.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "store/pg/connection.hpp"
#include "support/pg_cluster.hpp"

using sb::errc;
using sb::store::pg::connection;
using sb::store::pg::param;

TEST_CASE("a PostgreSQL connection binds parameters and reads rows back exactly",
          "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = connection::open(cluster.dsn());
  REQUIRE(c);
  CHECK(c->ok());
  CHECK(c->server_major_version() >= 15);

  REQUIRE(c->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, body BYTEA)"));
  // Every byte value, NULs included, goes in and out of a bytea unchanged.
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) {
    all_bytes.push_back(static_cast<char>(b));
  }
  // A value is never SQL: this one is stored as the text it is.
  const std::string hostile = "x'); DROP TABLE t; --";
  auto ins = c->exec("INSERT INTO t (id, name, body) VALUES ($1, $2, $3), ($4, $5, $6)",
                     {"9007199254740993", hostile, param::bytes(all_bytes), "2",
                      param::null_value(), param::bytes("")});
  REQUIRE(ins);
  CHECK(ins->affected() == 2);

  auto rows = c->exec("SELECT id, name, body FROM t ORDER BY id");
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK(rows->columns() == 3);
  CHECK(rows->int64(0, 0).value() == 2);
  CHECK(rows->is_null(0, 1));
  CHECK(rows->text(0, 1).empty());
  CHECK(rows->bytes(0, 2).value() == "");
  CHECK(rows->int64(1, 0).value() == 9007199254740993);  // above 2^53: no floating point on the way
  CHECK(rows->text(1, 1) == hostile);
  CHECK(rows->bytes(1, 2).value() == all_bytes);
  CHECK_FALSE(rows->int64(1, 1));  // text that is not a number is an error, not 0

  auto upd = c->exec("UPDATE t SET name = $1 WHERE id > $2", {"renamed", "0"});
  REQUIRE(upd);
  CHECK(upd->affected() == 2);
}

TEST_CASE("PostgreSQL errors are values with the server's reason", "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = connection::open(cluster.dsn());
  REQUIRE(c);

  auto bad = c->exec("SELEC 1");
  REQUIRE_FALSE(bad);
  CHECK(bad.err().code == errc::internal);
  CHECK_THAT(bad.err().message, Catch::Contains("syntax error") && Catch::Contains("42601"));

  REQUIRE(c->exec("CREATE TABLE u (k TEXT PRIMARY KEY)"));
  REQUIRE(c->exec("INSERT INTO u VALUES ($1)", {"a"}));
  auto dup = c->exec("INSERT INTO u VALUES ($1)", {"a"});
  REQUIRE_FALSE(dup);
  CHECK_THAT(dup.err().message, Catch::Contains("23505"));  // unique_violation
  CHECK(c->ok());  // a failed statement leaves the connection usable
  CHECK(c->exec("SELECT 1"));
}

TEST_CASE("a PostgreSQL connection that is gone answers unavailable", "[store][pg]") {
  sb::test::pg_cluster cluster;

  SECTION("no server where the connection string points: the message names it, not its password") {
    auto c = connection::open("host=" + cluster.dir() +
                              "/nowhere port=5432 dbname=sb user=gw password=hunter2");
    REQUIRE_FALSE(c);
    CHECK(c.err().code == errc::unavailable);
    CHECK_THAT(c.err().message, Catch::Contains("password=***") &&
                                    Catch::Contains(cluster.dir() + "/nowhere"));
    CHECK(c.err().message.find("hunter2") == std::string::npos);
  }

  SECTION("the server ends the session: the next statement is unavailable, not internal") {
    auto victim = connection::open(cluster.dsn());
    auto admin = connection::open(cluster.dsn());
    REQUIRE(victim);
    REQUIRE(admin);
    auto pid = victim->exec("SELECT pg_backend_pid()");
    REQUIRE(pid);
    REQUIRE(admin->exec("SELECT pg_terminate_backend($1)", {pid->text(0, 0)}));
    auto after = victim->exec("SELECT 1");
    REQUIRE_FALSE(after);
    CHECK(after.err().code == errc::unavailable);
    CHECK_FALSE(victim->ok());
  }
}

TEST_CASE("a whole batch goes through array parameters unchanged", "[store][pg]") {
  sb::test::pg_cluster cluster;
  auto c = connection::open(cluster.dsn());
  REQUIRE(c);
  REQUIRE(c->exec("CREATE TABLE b (n BIGINT, t TEXT, d BYTEA)"));
  const std::vector<std::string> texts = {R"(say "hi")", R"(a\b)", "x,y", "{z}", "NULL", "",
                                          "\xd0\x9f\xd1\x80\xd0\xb8", " pad "};
  std::vector<std::string> numbers;
  std::vector<std::string> blobs;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    numbers.push_back(std::to_string(i));
    blobs.push_back(std::string("\0", 1) + texts[i] + "\xff");
  }
  std::vector<const std::string*> blob_ptrs;
  for (const auto& b : blobs) {
    blob_ptrs.push_back(&b);
  }
  blob_ptrs.back() = nullptr;  // a NULL element
  auto ins = c->exec("INSERT INTO b SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])",
                     {sb::store::pg::text_array(numbers), sb::store::pg::text_array(texts),
                      sb::store::pg::bytea_array(blob_ptrs)});
  INFO((ins ? std::string() : ins.err().message));
  REQUIRE(ins);
  CHECK(ins->affected() == texts.size());
  auto rows = c->exec("SELECT n, t, d FROM b ORDER BY n");
  REQUIRE(rows);
  REQUIRE(rows->size() == static_cast<int>(texts.size()));
  for (int i = 0; i < rows->size(); ++i) {
    INFO(i);
    CHECK(rows->text(i, 1) == texts[static_cast<std::size_t>(i)]);
    if (i + 1 < rows->size()) {
      CHECK(rows->bytes(i, 2).value() == blobs[static_cast<std::size_t>(i)]);
    } else {
      CHECK(rows->is_null(i, 2));
    }
  }
  // The same statement again, with other values (prepared on this connection by now).
  auto again = c->exec("INSERT INTO b SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])",
                       {sb::store::pg::text_array({"100"}), sb::store::pg::text_array({"x"}),
                        sb::store::pg::bytea_array({nullptr})});
  REQUIRE(again);
  CHECK(again->affected() == 1);
}

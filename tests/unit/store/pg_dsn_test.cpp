// What the PostgreSQL connection's messages and logs may show of a connection string: never its
// password, in either form libpq takes.
#include <catch2/catch.hpp>

#include "store/pg/connection.hpp"

using sb::store::pg::redact_dsn;

TEST_CASE("redact_dsn hides the password of a key/value connection string", "[store][pg]") {
  CHECK(redact_dsn("host=db dbname=sb user=gw password=hunter2 sslmode=require") ==
        "host=db dbname=sb user=gw password=*** sslmode=require");
  CHECK(redact_dsn("password = hunter2 host=db") == "password = *** host=db");
  CHECK(redact_dsn("host=db password='two words \\' and a quote' user=gw") ==
        "host=db password=*** user=gw");
  CHECK(redact_dsn("host=/run/postgresql dbname=switchboard user=switchboard") ==
        "host=/run/postgresql dbname=switchboard user=switchboard");
  CHECK(redact_dsn("host=db password=") == "host=db password=***");
}

TEST_CASE("redact_dsn hides the password of a connection URI", "[store][pg]") {
  CHECK(redact_dsn("postgresql://gw:hunter2@db:5432/sb?sslmode=require") ==
        "postgresql://gw:***@db:5432/sb?sslmode=require");
  CHECK(redact_dsn("postgres://db/sb?user=gw&password=hunter2&sslmode=require") ==
        "postgres://db/sb?user=gw&password=***&sslmode=require");
  CHECK(redact_dsn("postgresql://gw@db/sb") == "postgresql://gw@db/sb");
  CHECK(redact_dsn("postgresql:///sb?host=/run/postgresql") ==
        "postgresql:///sb?host=/run/postgresql");
}

TEST_CASE("array literals quote every element and escape what the array syntax reads",
          "[store][pg]") {
  using sb::store::pg::bytea_array;
  using sb::store::pg::text_array;
  CHECK(text_array({}) == "{}");
  CHECK(text_array({"a", ""}) == R"({"a",""})");
  // Quotes and backslashes escaped; commas, braces, NULL and spaces quoted as they are.
  CHECK(text_array({R"(say "hi")", R"(a\b)", "x,y", "{z}", "NULL", " pad "}) ==
        R"({"say \"hi\"","a\\b","x,y","{z}","NULL"," pad "})");
  const std::string ab = "AB";
  const std::string zero("\0\xff", 2);
  CHECK(bytea_array({&ab, nullptr, &zero}) == R"({"\\x4142",NULL,"\\x00ff"})");
}

#include "store/pg/listener.hpp"

TEST_CASE("a head notification names the tenant and its new head", "[store][pg]") {
  std::string tenant;
  std::uint64_t head = 0;
  REQUIRE(sb::store::pg::parse_head_notice("acme 42", tenant, head));
  CHECK(tenant == "acme");
  CHECK(head == 42);
  REQUIRE(sb::store::pg::parse_head_notice("acme-eu 18446744073709551615", tenant, head));
  CHECK(tenant == "acme-eu");
  CHECK(head == 18446744073709551615ull);
  for (const char* bad : {"", "acme", "acme ", " 42", "acme 4x2", "acme -1", "acme 99999999999999999999"}) {
    CAPTURE(bad);
    CHECK_FALSE(sb::store::pg::parse_head_notice(bad, tenant, head));
  }
}

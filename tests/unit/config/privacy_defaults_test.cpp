// The keys helper pc owns in the loader: the top-level privacy.retention_days default and
// server.public_url.
#include <catch2/catch.hpp>

#include <string>

#include "unit/config/config_test_support.hpp"

using sb::test::config::load;
using sb::test::config::problems;

namespace {

const std::string k_storage =
    "storage:\n  master_key: "
    "\"6f1c2a9b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8\"\n";

std::string tenants() {
  return "tenants:\n"
         "  - id: own\n"
         "    privacy: {retention_days: 7}\n"
         "  - id: inherits\n"
         "  - id: inherits-too\n"
         "    privacy: {pseudonymize: true}\n";
}

}  // namespace

TEST_CASE("the top-level retention default applies to tenants without their own",
          "[config][privacy]") {
  for (const bool privacy_first : {true, false}) {  // the order of the keys does not matter
    CAPTURE(privacy_first);
    const std::string global = "privacy:\n  retention_days: 90\n";
    auto r = load(k_storage + (privacy_first ? global + tenants() : tenants() + global));
    INFO(r.errors.to_string());
    REQUIRE(r.cfg);
    CHECK(r.cfg->privacy.retention_days == 90);
    CHECK(r.cfg->tenants[0].privacy.retention_days == 7);
    CHECK(r.cfg->tenants[1].privacy.retention_days == 90);
    CHECK(r.cfg->tenants[2].privacy.retention_days == 90);
    CHECK(r.cfg->tenants[2].privacy.pseudonymize);
  }
}

TEST_CASE("without a top-level default a tenant keeps 30 days", "[config][privacy]") {
  auto r = load(k_storage + tenants());
  REQUIRE(r.cfg);
  CHECK(r.cfg->privacy.retention_days == 30);
  CHECK(r.cfg->tenants[1].privacy.retention_days == 30);
}

TEST_CASE("a bad top-level retention is reported with its line", "[config][privacy]") {
  auto p = problems(k_storage + "privacy:\n  retention_days: 0\n  retain: 3\n" + tenants());
  REQUIRE(p.size() == 2);
  CHECK(p[0] == "test.yaml:4: privacy.retention_days: must be an integer from 1 to 3650 (got '0')");
  CHECK(p[1].rfind("test.yaml:5: privacy.retain: unknown key", 0) == 0);
}

TEST_CASE("server.public_url is an http(s) URL and defaults to the listen address",
          "[config][privacy]") {
  auto plain = load(k_storage + tenants());
  REQUIRE(plain.cfg);
  CHECK(plain.cfg->public_url() == "http://127.0.0.1:8080");
  auto set =
      load("server:\n  public_url: \"https://hooks.example.com/\"\n" + k_storage + tenants());
  REQUIRE(set.cfg);
  CHECK(set.cfg->public_url() == "https://hooks.example.com");
  auto bad = problems("server:\n  public_url: \"hooks.example.com\"\n" + k_storage + tenants());
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].rfind("test.yaml:2: server.public_url: must be an http:// or https:// URL", 0) == 0);
}

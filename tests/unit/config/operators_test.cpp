// The top-level `operators` list (docs/configuration.md, docs/console.md).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config_test_support.hpp"

using sb::test::config::load;
using sb::test::config::problems;

namespace {

const std::string k_storage =
    "storage:\n  master_key: "
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n";
const char* k_sub_token = "faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e";
const char* k_op_token = "1111111111111111111111111111111111111111111111111111111111111111";

/// storage (lines 1-2), a tenant with one subscriber (lines 3-7), then `ops` from line 8.
std::string file(const std::string& ops) {
  return k_storage + "tenants:\n  - id: acme\n    subscribers:\n      - name: backend\n" +
         "        token_sha256: " + k_sub_token + "\n" + ops;
}

bool mentions(const std::vector<std::string>& ps, const std::string& text) {
  for (const auto& p : ps) {
    if (p.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("operators are read with their names and lower-case token digests", "[config][console]") {
  auto r = load(file(std::string("operators:\n  - name: ops\n    token_sha256: ") +
                     "ABCDEF1111111111111111111111111111111111111111111111111111111111\n"));
  REQUIRE(r.errors.problems == std::vector<std::string>{});
  REQUIRE(r.cfg->operators.size() == 1);
  CHECK(r.cfg->operators[0].name == "ops");
  CHECK(r.cfg->operators[0].token_sha256 ==
        "abcdef1111111111111111111111111111111111111111111111111111111111");
  CHECK(load(file("")).cfg->operators.empty());
}

TEST_CASE("an operator needs a name and a digest no one else holds", "[config][console]") {
  CHECK(mentions(problems(file("operators:\n  - name: ops\n")), "operators[0].token_sha256"));
  CHECK(mentions(problems(file("operators:\n  - name: ops\n    token_sha256: nothex\n")),
                 "64 hex characters"));
  CHECK(mentions(problems(file(std::string("operators:\n  - name: Ops!\n    token_sha256: ") +
                               k_op_token + "\n")),
                 "must match"));
  CHECK(mentions(problems(file(std::string("operators:\n  - name: ops\n    token_sha256: ") +
                               k_sub_token + "\n")),
                 "same token as"));
  CHECK(
      mentions(problems(file(std::string("operators:\n  - name: ops\n    token_sha256: ") +
                             k_op_token + "\n  - name: ops\n    token_sha256: " +
                             "2222222222222222222222222222222222222222222222222222222222222222\n")),
               "duplicate operator name"));
}

// The tenant-level keys of outbound sending: `privacy.allow_replies_after_opt_out` and a
// subscriber's `send_rate_limit` (docs/configuration.md, docs/outbound.md "Limits").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config_test_support.hpp"

using sb::test::config::load;
using sb::test::config::problems;
using strings = std::vector<std::string>;

namespace {

const std::string k_hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const char* k_token = "faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e";

/// Storage (lines 1-2), tenant `acme` (lines 3-4), then `body` from line 5 on.
std::string with_tenant(const std::string& body) {
  return "storage:\n  master_key: \"" + k_hex_key + "\"\ntenants:\n  - id: acme\n" + body;
}

/// `with_tenant` with one subscriber `helpdesk` (lines 5-8) followed by `extra` from line 9 on.
std::string with_subscriber(const std::string& extra) {
  return with_tenant(std::string("    subscribers:\n      - name: helpdesk\n") +
                     "        token_sha256: \"" + k_token + "\"\n" + "        scopes: [send]\n" +
                     extra);
}

}  // namespace

TEST_CASE("replies to opted-out subjects are allowed unless the tenant turns them off",
          "[config][outbound]") {
  auto defaults = load(with_tenant(""));
  REQUIRE(defaults.ok());
  CHECK(defaults.cfg->tenants[0].privacy.allow_replies_after_opt_out);

  auto off = load(with_tenant("    privacy:\n      allow_replies_after_opt_out: false\n"));
  REQUIRE(off.ok());
  CHECK_FALSE(off.cfg->tenants[0].privacy.allow_replies_after_opt_out);

  CHECK(problems(with_tenant("    privacy:\n      allow_replies_after_opt_out: sometimes\n")) ==
        strings{"test.yaml:6: tenants[0].privacy.allow_replies_after_opt_out: must be true or "
                "false (got 'sometimes')"});
}

TEST_CASE("a subscriber's send rate limit defaults to unlimited and burst to rps",
          "[config][outbound]") {
  auto none = load(with_subscriber(""));
  REQUIRE(none.ok());
  CHECK(none.cfg->tenants[0].subscribers[0].send_rate_limit.rps == 0);
  CHECK(none.cfg->tenants[0].subscribers[0].send_rate_limit.burst == 0);

  auto rps_only = load(with_subscriber("        send_rate_limit: {rps: 5}\n"));
  REQUIRE(rps_only.ok());
  CHECK(rps_only.cfg->tenants[0].subscribers[0].send_rate_limit.rps == 5);
  CHECK(rps_only.cfg->tenants[0].subscribers[0].send_rate_limit.burst == 5);

  auto both = load(with_subscriber("        send_rate_limit: {rps: 0.5, burst: 3}\n"));
  REQUIRE(both.ok());
  CHECK(both.cfg->tenants[0].subscribers[0].send_rate_limit.rps == 0.5);
  CHECK(both.cfg->tenants[0].subscribers[0].send_rate_limit.burst == 3);
}

TEST_CASE("a bad send rate limit names the key and the value", "[config][outbound]") {
  CHECK(problems(with_subscriber("        send_rate_limit: {rps: -2}\n")) ==
        strings{"test.yaml:9: tenants[0].subscribers[0].send_rate_limit.rps: must be a number "
                ">= 0 (got '-2')"});
  CHECK(problems(with_subscriber("        send_rate_limit: {rps: 10, burst: 0.5}\n")) ==
        strings{"test.yaml:9: tenants[0].subscribers[0].send_rate_limit.burst: must be at least "
                "1 when rps > 0"});
  CHECK(problems(with_subscriber("        send_rate_limit: {rsp: 10}\n")) ==
        strings{"test.yaml:9: tenants[0].subscribers[0].send_rate_limit.rsp: unknown key; did "
                "you mean 'rps'?"});
}

// End-to-end: `--listen HOST:PORT` overrides `server.listen` (docs/operations.md "Running").
#include <catch2/catch.hpp>

#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"

using namespace sb::test;

namespace {

const test_tenant acme{"acme", "sbt_e2e_listen_4c81d0e3"};

/// The standard config, its listener moved to an address no test machine can bind (TEST-NET-1):
/// the gateway can only start when the command line's address wins.
std::string unbindable_config() {
  std::string yaml = test_config({acme});
  const std::string from = "listen: \"127.0.0.1:0\"";
  const auto at = yaml.find(from);
  REQUIRE(at != std::string::npos);
  yaml.replace(at, from.size(), "listen: \"192.0.2.1:1\"");
  return yaml;
}

}  // namespace

TEST_CASE("the listen flag overrides server.listen", "[e2e][cli]") {
  process_options options;
  options.extra_args = {"--listen", "127.0.0.1:0"};
  gateway_process gw(unbindable_config(), options);
  CHECK(gw.host() == "127.0.0.1");
  CHECK(gw.port() != 0);
  CHECK(request("GET", gw.base_url() + "/healthz").status == 200);
}

TEST_CASE("a malformed --listen is refused before anything starts", "[e2e][cli]") {
  for (const char* bad : {"8080", "127.0.0.1:99999", "::1:8080", "127.0.0.1:http"}) {
    auto r = run_switchboard({"--listen", bad}, std::chrono::seconds(20));
    INFO(bad << ": " << r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find("switchboard: --listen: must be host:port") != std::string::npos);
  }
  auto missing = run_switchboard({"--listen"}, std::chrono::seconds(20));
  CHECK(missing.code == 2);
  CHECK(missing.output.find("--listen needs a value") != std::string::npos);
}

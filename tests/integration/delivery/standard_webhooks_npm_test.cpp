// The signatures the gateway sends, checked by the reference implementation of Standard Webhooks
// (the npm package `standardwebhooks`, pinned in tests/tools/package.json) rather than by our
// own reading of the specification.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "delivery/standard_webhooks.hpp"
#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"

using namespace sb;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

struct verify_case {
  std::string name;
  std::string secret;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string body;
  std::string mode;  // "verify" or "sign"
  bool expect = true;
};

std::string to_json(const std::vector<verify_case>& cases) {
  std::string out;
  json::writer w(out);
  w.begin_array();
  for (const auto& c : cases) {
    w.begin_object().key("name").value(c.name).key("secret").value(c.secret);
    w.key("headers").begin_object();
    w.key("webhook-id").value(c.id).key("webhook-timestamp").value(c.timestamp);
    w.key("webhook-signature").value(c.signature).end_object();
    w.key("body").value(c.body).key("mode").value(c.mode).key("expect").value(c.expect);
    w.end_object();
  }
  w.end_array();
  return out;
}

/// Runs a command; its exit code and what it printed.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return {-1, "popen failed"};
  }
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) {
    out.append(buf, n);
  }
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("deliveries verify with the reference standardwebhooks package",
          "[integration][delivery][push][npm]") {
  const std::string tools = std::string(SB_SOURCE_DIR) + "/tests/tools";
  if (run("command -v node").first != 0) {
    WARN("SKIPPED: node is not installed; the Standard Webhooks cross-check did not run");
    return;
  }
  if (!std::filesystem::exists(tools + "/node_modules/standardwebhooks/package.json")) {
    WARN(
        "SKIPPED: tests/tools/node_modules is missing (run `npm ci --prefix tests/tools`); the "
        "Standard Webhooks cross-check did not run");
    return;
  }

  // Real deliveries, as a backend receives them.
  test::receiver rx;
  std::vector<test::received_request> got;
  {
    harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
    REQUIRE(h.post("alice:m1:plain text|bob:m2:h\xc3\xa9llo \"quoted\" \\ \xe2\x9c\x93").status ==
            200);
    REQUIRE(rx.wait_for_count(2));
    got = rx.requests();
  }
  std::vector<verify_case> cases;
  for (const auto& r : got) {
    verify_case c{"delivery " + r.header("webhook-id"),
                  k_secret,
                  r.header("webhook-id"),
                  r.header("webhook-timestamp"),
                  r.header("webhook-signature"),
                  r.body,
                  "verify",
                  true};
    cases.push_back(c);
    // The same delivery altered in any part must fail.
    auto tampered = c;
    tampered.name += " with a changed body";
    tampered.body.insert(1, " ");
    tampered.expect = false;
    cases.push_back(tampered);
    tampered = c;
    tampered.name += " with another webhook-id";
    tampered.id += "x";
    tampered.expect = false;
    cases.push_back(tampered);
    tampered = c;
    tampered.name += " under another secret";
    tampered.secret = "whsec_" + crypto::base64_encode(std::string(32, 'k'));
    tampered.expect = false;
    cases.push_back(tampered);
  }
  // The signer directly: the specification's vector (fixed, old timestamp: sign mode).
  auto s = delivery::signer::from_secret(k_secret);
  REQUIRE(s.ok());
  const std::string spec_body = R"({"test": 2432232314})";
  cases.push_back({"specification vector", k_secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                   s->signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, spec_body), spec_body,
                   "sign", true});

  const auto file = std::filesystem::temp_directory_path() /
                    ("sb-swh-cases-" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(file);
    out << to_json(cases);
  }
  auto [code, output] = run("node " + tools + "/verify_standard_webhooks.mjs " + file.string());
  std::filesystem::remove(file);
  INFO(output);
  CHECK(code == 0);
  CHECK(output.find(std::to_string(cases.size()) + " of " + std::to_string(cases.size()) +
                    " cases as expected") != std::string::npos);
}

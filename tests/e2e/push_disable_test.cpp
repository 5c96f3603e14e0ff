// End-to-end: a 410 Gone from a push receiver disables the subscriber durably (issue "Hostile
// edges": it used to last only until the next restart). The real binary on the SQLite store is
// stopped with SIGTERM and started again on the same directory: the subscriber is still disabled
// and delivers nothing, until `POST /v1/subscribers/{name}/enable`, after which delivery resumes
// from its cursor (the event answered 410 first).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "integration/delivery/receiver.hpp"
#include "support/contract_log.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"
#include "support/eventually.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_disable_admin_9c3e51"};
const std::string k_reader_token = "sbt_e2e_disable_reader_41d7aa";

/// acme on the SQLite store in `dir`: channel tg; `ops` (stream, admin), `reader` (stream) and
/// the push subscriber `hook` to `url`, retrying once.
std::string config(const std::string& dir, const std::string& url) {
  return yaml_config()
      .sqlite(dir)
      .tenant("acme")
      .telegram(acme)
      .subscriber("ops", acme.token, "[stream, admin]")
      .subscriber("reader", k_reader_token, "[stream]")
      .subscriber("hook", "", "",
                  push_settings(url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                "          retry_schedule_ms: [0, 100]\n"))
      .str();
}

void post_update(const gateway_process& gw, std::uint64_t update_id, const std::string& text) {
  const std::string body = R"({"update_id":)" + std::to_string(update_id) +
                           R"(,"message":{"message_id":)" + std::to_string(update_id) +
                           R"(,"from":{"id":42,"is_bot":false,"first_name":"Ada"},)"
                           R"("chat":{"id":42,"type":"private"},"date":1749416383,"text":")" +
                           text + R"("}})";
  auto r = request("POST", gw.base_url() + "/webhooks/acme/tg",
                   signing::telegram(acme.tg_secret_token()), body);
  INFO(r.body);
  REQUIRE(r.status == 200);
}


http_result enable(const gateway_process& gw, const std::string& name, const std::string& token) {
  return request("POST", gw.base_url() + "/v1/subscribers/" + name + "/enable", bearer(token));
}

}  // namespace

TEST_CASE("a subscriber disabled by a 410 stays disabled across a restart until it is enabled",
          "[e2e][delivery]") {
  temp_dir store("sb-e2e-disable");
  std::atomic<bool> gone{true};
  receiver rx([&](const received_request& req, std::size_t) {
    contract::record_push(req.target, req.headers, req.body);  // tests/contract/events.test.mjs
    reply r;
    r.status = gone ? 410 : 200;
    return r;
  });
  {
    gateway_process gw(config(store.path, rx.url()));
    post_update(gw, 6001, "first");
    REQUIRE(rx.wait_for_count(1));
    // Logged once the disable is stored.
    INFO(gw.output());
    REQUIRE(eventually([&] {
      return gw.output().find("push delivery is disabled until POST /v1/subscribers/hook/enable") !=
             std::string::npos;
    }));
    auto stopped = gw.terminate();
    REQUIRE(stopped.exited);
    CHECK(stopped.code == 0);
  }

  gateway_process gw(config(store.path, rx.url()));
  INFO(gw.output());
  // The subscriber read its record at start, before its first read of the log.
  REQUIRE(eventually([&] {
    return gw.output().find("acme/hook: push delivery is disabled since") != std::string::npos;
  }));
  post_update(gw, 6002, "second");
  CHECK(rx.count() == 1);

  // Only an admin of the tenant enables; only a push subscriber can be.
  auto forbidden = enable(gw, "hook", k_reader_token);
  CHECK(forbidden.status == 403);
  auto unknown = enable(gw, "reader", acme.token);
  CHECK(unknown.status == 404);
  CHECK(json::parse(unknown.body)["error"].str() == "not_found");

  gone = false;
  auto r = enable(gw, "hook", acme.token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto answer = json::parse(r.body);
  CHECK(answer["subscriber"].str() == "hook");
  CHECK(answer["enabled"].boolean());
  CHECK(answer["was_disabled"].boolean());
  CHECK(answer["reason"].str() == "HTTP 410");
  CHECK(answer["disabled_since"].str().size() == 24);

  // Delivery resumes from the cursor: the event answered 410, then the one after it.
  REQUIRE(rx.wait_for_count(3));
  const auto reqs = rx.requests();
  CHECK(reqs[1].has("\"text\":\"first\""));
  CHECK(reqs[2].has("\"text\":\"second\""));
  CHECK(gw.terminate().exited);
}

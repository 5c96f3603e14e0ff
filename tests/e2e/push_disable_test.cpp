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
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_disable_admin_9c3e51"};
const std::string k_reader_token = "sbt_e2e_disable_reader_41d7aa";

std::string config(const std::string& dir, const std::string& url) {
  return "server:\n"
         "  listen: \"127.0.0.1:0\"\n"
         "storage:\n"
         "  backend: sqlite\n"
         "  path: \"" +
         dir +
         "\"\n"
         "  durability: fsync\n"
         "  master_key: \"" +
         std::string(test_master_key) +
         "\"\n"
         "tenants:\n"
         "  - id: acme\n"
         "    channels:\n"
         "      - name: tg\n"
         "        type: telegram\n"
         "        secret_token: \"" +
         acme.tg_secret_token() +
         "\"\n"
         "    subscribers:\n"
         "      - name: ops\n"
         "        token_sha256: \"" +
         token_sha256(acme.token) +
         "\"\n"
         "        scopes: [stream, admin]\n"
         "      - name: reader\n"
         "        token_sha256: \"" +
         token_sha256(k_reader_token) +
         "\"\n"
         "        scopes: [stream]\n"
         "      - name: hook\n"
         "        push:\n"
         "          url: \"" +
         url +
         "\"\n"
         "          secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
         "          retry_schedule_ms: [0, 100]\n";
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

/// Bounded polling: `pred()` within `bound`, checked every 10 ms.
template <class Pred>
bool eventually(Pred pred, milliseconds bound = seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

http_result enable(const gateway_process& gw, const std::string& name, const std::string& token) {
  return request("POST", gw.base_url() + "/v1/subscribers/" + name + "/enable", bearer(token));
}

}  // namespace

TEST_CASE("a subscriber disabled by a 410 stays disabled across a restart until it is enabled",
          "[e2e][delivery]") {
  temp_dir store("sb-e2e-disable");
  std::atomic<bool> gone{true};
  receiver rx([&](const received_request&, std::size_t) {
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

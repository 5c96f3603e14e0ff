// End-to-end: push delivery configured in YAML (DESIGN §6, docs/delivery.md) from the real
// binary to a receiver on 127.0.0.1, and the dead-letter API over HTTP.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "integration/delivery/receiver.hpp"
#include "support/contract_log.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/eventually.hpp"
#include "e2e/checks.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
using e2e_checks::require_error;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_delivery_admin_51c8e0"};
const std::string k_reader_token = "sbt_e2e_delivery_reader_a9d2f4";
const std::string k_hook_token = "sbt_e2e_delivery_hook_3be71c";
const std::string k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Tenant acme: channel tg; `admin` (stream, admin); `reader` (stream only); push subscriber
/// `hook` to `url` with its own token (stream) and `retry_schedule_ms`.
std::string push_config(const std::string& url, const std::string& schedule) {
  return yaml_config()
      .tenant("acme")
      .telegram(acme)
      .subscriber("admin", acme.token, "[stream, admin]")
      .subscriber("reader", k_reader_token, "[stream]")
      .subscriber("hook", k_hook_token, "[stream]",
                  push_settings(url, k_secret,
                                "          timeout_ms: 5000\n"
                                "          max_in_flight: 4\n"
                                "          retry_schedule_ms: " +
                                    schedule + "\n"))
      .str();
}

std::string tg_update(std::uint64_t update_id, std::uint64_t chat, const std::string& text) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" +
         std::to_string(update_id) + R"(,"from":{"id":)" + std::to_string(chat) +
         R"(,"is_bot":false,"first_name":"Ada"},"chat":{"id":)" + std::to_string(chat) +
         R"(,"first_name":"Ada","type":"private"},"date":1749416383,"text":)" + '"' + text +
         R"("}})";
}

void post_update(const gateway_process& gw, std::uint64_t update_id, std::uint64_t chat,
                 const std::string& text) {
  auto r = request("POST", gw.base_url() + "/webhooks/acme/tg",
                   signing::telegram(acme.tg_secret_token()), tg_update(update_id, chat, text));
  INFO(r.body);
  REQUIRE(r.status == 200);
}

/// The Standard Webhooks signature the receiver must accept (docs/delivery.md).
std::string expected_signature(const received_request& r) {
  auto key = sb::crypto::base64_decode(k_secret.substr(6));
  REQUIRE(key);
  const std::string signed_text =
      r.header("webhook-id") + "." + r.header("webhook-timestamp") + "." + r.body;
  return "v1," + sb::crypto::base64_encode(sb::crypto::hmac_sha256(*key, signed_text));
}

http_result api(const gateway_process& gw, const std::string& method, const std::string& path,
                const std::string& token, const std::string& body = {}) {
  header_list h = token.empty() ? header_list{} : bearer(token);
  if (!body.empty()) {
    h.emplace_back("Content-Type", "application/json");
  }
  return request(method, gw.base_url() + path, h, body);
}



}  // namespace

TEST_CASE(
    "a YAML push subscriber gets a conversation's events in order, signed, after two "
    "failed attempts",
    "[e2e][delivery]") {
  // The first two requests fail; the rest succeed.
  receiver rx([](const received_request& r, std::size_t index) {
    contract::record_push(r.target, r.headers, r.body);  // tests/contract/events.test.mjs
    return index < 2 ? reply{500, {}, "down"} : reply{};
  });
  gateway_process gw(push_config(rx.url(), "[0, 100, 100, 100, 100]"));

  const std::vector<std::string> texts{"first", "second", "third"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    post_update(gw, 5001 + i, 42, texts[i]);
  }
  REQUIRE(rx.wait_for_count(5));
  const auto reqs = rx.requests();

  // Attempts 1-3 are the first event (two failures, then success), then the others in order.
  std::vector<std::string> ids;
  for (const auto& r : reqs) {
    ids.push_back(r.header("webhook-id"));
  }
  CHECK(ids[0] == ids[1]);
  CHECK(ids[1] == ids[2]);
  std::uint64_t last_seq = 0;
  for (std::size_t i = 2; i < 5; ++i) {
    const auto& r = reqs[i];
    CAPTURE(i, r.body);
    CHECK(r.method == "POST");
    CHECK(r.target == "/hook");
    CHECK(r.header("content-type") == "application/json");
    json e = json::parse(r.body);
    CHECK(r.header("webhook-id") == e["id"].str());
    CHECK(r.header("webhook-signature") == expected_signature(r));
    CHECK(e["content"]["text"].str() == texts[i - 2]);
    CHECK(e["platform_event_id"].str() == std::to_string(5001 + i - 2));
    CHECK(e["conversation"].str() == "tg:42");
    CHECK(e["seq"].u64() > last_seq);
    last_seq = e["seq"].u64();
  }
  // Every attempt is signed afresh, the failed ones too.
  CHECK(reqs[0].header("webhook-signature") == expected_signature(reqs[0]));

  // Nothing ran out of retries.
  auto list = api(gw, "GET", "/v1/subscribers/hook/dead-letters", acme.token);
  REQUIRE(list.status == 200);
  CHECK(json::parse(list.body)["dead_letters"].size() == 0);
}

TEST_CASE("exhausted deliveries are listed as dead letters and a redrive delivers them",
          "[e2e][delivery][dead-letters]") {
  std::atomic<bool> failing{true};
  std::mutex m;
  std::vector<std::string> delivered;  // webhook-ids answered 200
  receiver rx([&](const received_request& r, std::size_t) {
    contract::record_push(r.target, r.headers, r.body);
    if (failing.load()) {
      return reply{500, {}, "down"};
    }
    std::lock_guard<std::mutex> lock(m);
    delivered.push_back(r.header("webhook-id"));
    return reply{};
  });
  auto delivered_ids = [&] {
    std::lock_guard<std::mutex> lock(m);
    return delivered;
  };
  // Two attempts each, then a dead letter.
  gateway_process gw(push_config(rx.url(), "[0, 50]"));
  post_update(gw, 7001, 1001, "lost one");
  post_update(gw, 7002, 1002, "lost two");

  const std::string path = "/v1/subscribers/hook/dead-letters";
  json letters;
  REQUIRE(eventually([&] {
    auto r = api(gw, "GET", path, acme.token);
    REQUIRE(r.status == 200);
    letters = json::parse(r.body)["dead_letters"];
    return letters.size() == 2;
  }));
  CHECK(rx.count() == 4);
  std::set<std::string> event_ids;
  for (const auto& d : letters.items()) {
    CHECK(d["id"].u64() > 0);
    CHECK(d["seq"].u64() > 0);
    CHECK(d["attempts"].u64() == 2);
    CHECK(d["last_error"].str() == "HTTP 500");
    CHECK(d["failed_at"].str().size() == 24);  // 2026-11-29T05:00:00.123Z
    event_ids.insert(d["event_id"].str());
  }
  REQUIRE(event_ids.size() == 2);
  const std::uint64_t first = letters[0]["id"].u64();
  const std::uint64_t second = letters[1]["id"].u64();
  REQUIRE(first < second);

  // Paging: limit and after=next.
  {
    auto page = json::parse(api(gw, "GET", path + "?limit=1", acme.token).body);
    REQUIRE(page["dead_letters"].size() == 1);
    CHECK(page["dead_letters"][0]["id"].u64() == first);
    CHECK(page["next"].u64() == first);
    auto rest = json::parse(
        api(gw, "GET", path + "?after=" + std::to_string(first) + "&limit=10", acme.token).body);
    REQUIRE(rest["dead_letters"].size() == 1);
    CHECK(rest["dead_letters"][0]["id"].u64() == second);
  }

  // Who may call: admin of the tenant, or the subscriber's own token; JSON errors otherwise.
  require_error(api(gw, "GET", path, ""), 401, "unauthorized");
  require_error(api(gw, "GET", path, "sbt_not_a_token"), 401, "unauthorized");
  require_error(api(gw, "GET", path, k_reader_token), 403, "forbidden");
  require_error(api(gw, "POST", "/v1/subscribers/hook/redrive", k_reader_token, R"({"all":true})"),
                403, "forbidden");
  require_error(api(gw, "GET", path + "?tenant=globex", acme.token), 403, "forbidden");
  CHECK(api(gw, "GET", path, k_hook_token).status == 200);
  CHECK(api(gw, "GET", path + "?tenant=acme", acme.token).status == 200);
  require_error(api(gw, "GET", "/v1/subscribers/nobody/dead-letters", acme.token), 404,
                "not_found");
  // `reader` exists but has no push: no dead letters to speak of.
  require_error(api(gw, "GET", "/v1/subscribers/reader/dead-letters", acme.token), 404,
                "not_found");
  require_error(api(gw, "GET", path + "?limit=0", acme.token), 400, "bad_request");
  require_error(api(gw, "GET", path + "?after=x", acme.token), 400, "bad_request");
  require_error(api(gw, "GET", "/v1/subscribers/hook/redrive", acme.token), 405,
                "method_not_allowed");
  for (const std::string bad : {"", "{}", R"({"all":false})", R"({"ids":[]})", R"({"ids":[0]})",
                                R"({"ids":[1],"all":true})", R"({"ids":"1"})", R"({"id":[1]})",
                                R"({"all":true} x)", "[1]"}) {
    CAPTURE(bad);
    require_error(api(gw, "POST", "/v1/subscribers/hook/redrive", acme.token, bad), 400,
                  "bad_request");
  }
  CHECK(delivered_ids().empty());

  // The receiver is back. Redrive one letter by id (with the subscriber's own token)...
  failing.store(false);
  auto one = api(gw, "POST", "/v1/subscribers/hook/redrive", k_hook_token,
                 R"({"ids":[)" + std::to_string(first) + R"(, 999999]})");
  INFO(one.body);
  REQUIRE(one.status == 202);
  json taken = json::parse(one.body);
  REQUIRE(taken["redriven"].size() == 1);
  CHECK(taken["redriven"][0].u64() == first);
  REQUIRE(taken["not_found"].size() == 1);
  CHECK(taken["not_found"][0].u64() == 999999);
  CHECK_FALSE(taken["more"].boolean());
  const std::string first_event = letters[0]["event_id"].str();
  REQUIRE(eventually([&] { return delivered_ids().size() >= 1; }));
  CHECK(delivered_ids().front() == first_event);

  // ...and the rest with "all" (admin).
  auto all = api(gw, "POST", "/v1/subscribers/hook/redrive", acme.token, R"({"all":true})");
  INFO(all.body);
  REQUIRE(all.status == 202);
  json rest = json::parse(all.body);
  REQUIRE(rest["redriven"].size() == 1);
  CHECK(rest["redriven"][0].u64() == second);
  REQUIRE(eventually([&] { return delivered_ids().size() >= 2; }));
  const auto both = delivered_ids();
  CHECK(std::set<std::string>(both.begin(), both.end()) == event_ids);

  // Redriven letters leave the list; asking again finds nothing.
  auto list = api(gw, "GET", path, acme.token);
  REQUIRE(list.status == 200);
  CHECK(json::parse(list.body)["dead_letters"].size() == 0);
  auto again = api(gw, "POST", "/v1/subscribers/hook/redrive", acme.token,
                   R"({"ids":[)" + std::to_string(first) + "]}");
  REQUIRE(again.status == 202);
  CHECK(json::parse(again.body)["redriven"].size() == 0);
  CHECK(json::parse(again.body)["not_found"].size() == 1);
}

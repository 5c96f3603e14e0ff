// End-to-end: the privacy attacks of issue 10 run against the real binary over real sockets
// (loopback only, bounded), each answered as docs/security.md says:
// - row 1: a captured Shopify webhook re-posted under a privacy topic (the topic header is not
//   signed) erases nothing; a privacy request replayed under a new webhook id does nothing
//   again; shop/redact keeps the receipts of earlier requests;
// - row 4: a retry or replay of an erased person's webhook stays a duplicate, also after a
//   restart: the person stays erased;
// - row 5: Meta's data-deletion callback refuses a stale issued_at, answers replays with the
//   first code (one erasure, one audit entry), and calls start no threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "e2e/checks.hpp"
#include "e2e/payloads.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_attacks_acme_4e5f6a7b8c9d"};
const std::string k_customer = "9007199254740993";  // the orders fixture's customer

using e2e_checks::require_error;
using e2e_checks::require_status;

/// A Shopify fixture as Shopify sends it to acme's shop (the fixtures name acme-dev's).
std::string shop_fixture(const std::string& name) {
  std::string body = fixture("shopify/" + name);
  const std::string fixture_shop = "acme-dev.myshopify.com";
  for (auto at = body.find(fixture_shop); at != std::string::npos; at = body.find(fixture_shop)) {
    body.replace(at, fixture_shop.size(), acme.shop_domain());
  }
  return body;
}

/// Posts a Shopify webhook signed with acme's client secret, with or without the (unsigned)
/// shop-domain header.
http_result post_shopify(const gateway_process& gw, const std::string& topic,
                         const std::string& body, const std::string& webhook_id,
                         bool shop_header = true) {
  auto headers =
      signing::shopify(acme.shop_client_secret(), body, topic, webhook_id, acme.shop_domain());
  if (!shop_header) {
    header_list kept;
    for (auto& h : headers) {
      if (h.first != "x-shopify-shop-domain") {
        kept.push_back(h);
      }
    }
    headers = kept;
  }
  return request("POST", gw.base_url() + "/webhooks/acme/shop", headers, body);
}

json all_events(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token, "after=0&limit=1000")["events"];
}

std::vector<json> of_type(const json& events, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : events.items()) {
    if (e["type"].str() == type) {
      out.push_back(e);
    }
  }
  return out;
}

/// The subject of the first stored event whose sender is `platform_id`.
std::string subject_of_sender(const gateway_process& gw, const std::string& platform_id) {
  const json events = all_events(gw);  // items() refers into it
  for (const auto& e : events.items()) {
    if (e["sender"]["platform_id"].str() == platform_id && e["subject"].is_string()) {
      return e["subject"].str();
    }
  }
  FAIL("no stored event from " << platform_id);
  return {};
}

/// How many events the export of `subject` holds.
std::size_t exported_events(const gateway_process& gw, const std::string& subject) {
  auto r = request("GET", gw.base_url() + "/v1/subjects/" + subject, bearer(acme.token));
  require_status(r, 200);
  return json::parse(r.body)["events"].size();
}

/// Audit entries of `action`.
std::size_t audited(const gateway_process& gw, const std::string& action) {
  auto r = request("GET", gw.base_url() + "/v1/audit?after=0&limit=1000", bearer(acme.token));
  require_status(r, 200);
  std::size_t n = 0;
  const json entries = json::parse(r.body)["entries"];
  for (const auto& e : entries.items()) {
    n += e["action"].str() == action ? 1 : 0;
  }
  return n;
}

long long now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Meta's signed_request for `user_id` issued at `issued_at`, signed with acme's fb app secret
/// (by the platform's own signing, tests/support/signing.hpp).
std::string signed_request(const std::string& user_id, long long issued_at) {
  return signing::deletion_request("messenger", acme.fb_app_secret(), user_id, issued_at);
}

http_result data_deletion(const gateway_process& gw, const std::string& signed_value) {
  return request("POST", gw.base_url() + "/webhooks/acme/fb/data-deletion",
                 {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "signed_request=" + signed_value);
}

void post_messenger(const gateway_process& gw, const std::string& psid, const std::string& mid,
                    const std::string& text) {
  const std::string body = R"({"object":"page","entry":[{"id":")" + acme.fb_page_id() +
                           R"(","time":1749416383000,"messaging":[{"sender":{"id":")" + psid +
                           R"("},"recipient":{"id":")" + acme.fb_page_id() +
                           R"("},"timestamp":1749416383000,"message":{"mid":")" + mid +
                           R"(","text":)" + pl::quoted(text) + "}}]}]}";
  require_status(request("POST", gw.base_url() + "/webhooks/acme/fb",
                         signing::messenger(acme.fb_app_secret(), body), body),
                 200);
}

/// The process's thread count (/proc/<pid>/status "Threads:").
int threads_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      return std::stoi(line.substr(8));
    }
  }
  return -1;
}

/// Every byte of the event log's files in `dir` (switchboard.db and its WAL and index).
std::string event_log_bytes(const std::string& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("switchboard.db", 0) == 0) {
      std::ifstream in(entry.path(), std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a signed Shopify webhook re-posted under a privacy topic is refused and erases "
    "nothing, with or without the shop-domain header",
    "[e2e][privacy][attack][shopify]") {
  gateway_process gw(test_config({acme}));
  const std::vector<std::pair<std::string, std::string>> captured{
      {"orders/create", fixture("shopify/orders__create.json")},
      {"products/update", fixture("shopify/products__update.json")},
      {"customers/create", fixture("shopify/customers__create.json")}};
  int n = 0;
  for (const auto& [topic, body] : captured) {
    require_status(post_shopify(gw, topic, body, "wh-genuine-" + std::to_string(++n)), 200);
  }
  const auto customer = subject_of_sender(gw, k_customer);
  const auto stored = all_events(gw).size();
  REQUIRE(stored == 3);
  REQUIRE(exported_events(gw, customer) == 1);

  // The attack: each captured body, signed by Shopify, posted again under each privacy topic
  // with a new webhook id, with and without the shop-domain header.
  for (const auto& [topic, body] : captured) {
    for (const char* privacy : {"shop/redact", "customers/redact", "customers/data_request"}) {
      for (bool header : {true, false}) {
        CAPTURE(topic, privacy, header);
        auto r = post_shopify(gw, privacy, body, "wh-attack-" + std::to_string(++n), header);
        require_error(r, 400, "bad_request");
        const auto message = json::parse(r.body)["message"].str();
        CHECK(message.find(std::string("not a ") + privacy + " request") != std::string::npos);
        CHECK(message.find("nothing was done or kept") != std::string::npos);
      }
    }
  }
  // A genuine privacy request of another shop (the app's secret signs every shop's webhooks),
  // without the header that would name it: refused by the body's shop_domain.
  std::string other = fixture("shopify/customers__redact.json");
  other.replace(other.find("acme-dev.myshopify.com"), 22, "globex-test.myshopify.com");
  require_error(post_shopify(gw, "customers/redact", other, "wh-other-shop", false), 403,
                "forbidden");

  // Nothing was erased, stored or audited.
  CHECK(all_events(gw).size() == stored);
  CHECK(exported_events(gw, customer) == 1);
  for (const char* action : {"shop_redact", "redact", "data_request"}) {
    CHECK(audited(gw, action) == 0);
  }
}

TEST_CASE(
    "a Shopify privacy request replayed under a new webhook id does nothing again, and "
    "shop/redact keeps the receipts of earlier requests",
    "[e2e][privacy][attack][shopify]") {
  gateway_process gw(test_config({acme}));
  const auto order = fixture("shopify/orders__create.json");
  require_status(post_shopify(gw, "orders/create", order, "wh-order-1"), 200);
  const auto customer = subject_of_sender(gw, k_customer);

  const auto redact = shop_fixture("customers__redact.json");
  auto first = post_shopify(gw, "customers/redact", redact, "wh-redact-1");
  require_status(first, 200);
  CHECK(json::parse(first.body)["events"].u64() == 1);
  CHECK(exported_events(gw, customer) == 0);

  // The customer comes back and orders again: data held lawfully after the erasure.
  std::string second_order = order;
  const std::string order_id = "820982911946154508";
  second_order.replace(second_order.find(order_id), order_id.size(), "820982911946154999");
  require_status(post_shopify(gw, "orders/create", second_order, "wh-order-2"), 200);
  REQUIRE(exported_events(gw, customer) == 1);

  // The captured redact request replayed under new webhook ids: a duplicate each time.
  for (bool header : {true, false}) {
    CAPTURE(header);
    auto replay = post_shopify(gw, "customers/redact", redact,
                               header ? "wh-replay-1" : "wh-replay-2", header);
    require_status(replay, 200);
    CHECK(json::parse(replay.body)["events"].u64() == 0);
    CHECK(json::parse(replay.body)["duplicates"].u64() == 1);
  }
  CHECK(exported_events(gw, customer) == 1);
  CHECK(audited(gw, "redact") == 1);
  CHECK(of_type(all_events(gw), "privacy.redact").size() == 1);

  // shop/redact erases the shop's data but not the proof of the earlier request.
  const auto shop_redact = shop_fixture("shop__redact.json");
  require_status(post_shopify(gw, "shop/redact", shop_redact, "wh-shop-1"), 200);
  CHECK(exported_events(gw, customer) == 0);
  auto receipts = of_type(all_events(gw), "privacy.redact");
  REQUIRE(receipts.size() == 2);
  CHECK(receipts[0]["kind"].str() == "customers/redact");
  CHECK(receipts[0]["privacy"]["subject"].str() == customer);
  CHECK(receipts[1]["kind"].str() == "shop/redact");
  // Replayed, it does nothing again; and what the shop held stays erased when retried.
  auto again = post_shopify(gw, "shop/redact", shop_redact, "wh-shop-2", false);
  require_status(again, 200);
  CHECK(json::parse(again.body)["duplicates"].u64() == 1);
  CHECK(audited(gw, "shop_redact") == 1);
  CHECK(of_type(all_events(gw), "privacy.redact").size() == 2);
  auto retried = post_shopify(gw, "orders/create", order, "wh-order-1");
  require_status(retried, 200);
  CHECK(json::parse(retried.body)["duplicates"].u64() == 1);
  CHECK(exported_events(gw, customer) == 0);
}

TEST_CASE(
    "a retried or replayed webhook of an erased person is a duplicate, also after a "
    "restart: the person stays erased",
    "[e2e][privacy][attack][erasure]") {
  temp_dir data("sb-e2e-erased");
  std::string yaml = test_config({acme});
  const std::string memory = "  backend: memory\n";
  yaml.replace(yaml.find(memory), memory.size(),
               "  backend: sqlite\n  path: \"" + data.path + "\"\n  durability: fsync\n");
  const std::string phone = "16505551234";
  const std::string secret = "my door code is 4711-OCTOPUS";
  const auto body = pl::wa_text_webhook(pl::wamid(1), phone, "Sheena Nelson", secret);
  auto post = [&](const gateway_process& gw, const std::string& b) {
    auto r = request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                     signing::whatsapp(acme.wa_app_secret(), b), b);
    require_status(r, 200);
    return json::parse(r.body);
  };
  std::string subject;
  {
    gateway_process gw(yaml);
    CHECK(post(gw, body)["events"].u64() == 1);
    subject = subject_of_sender(gw, phone);
    REQUIRE(exported_events(gw, subject) == 1);
    auto erased = request("DELETE", gw.base_url() + "/v1/subjects/" + subject, bearer(acme.token));
    require_status(erased, 200);
    CHECK(json::parse(erased.body)["erased"]["events"].u64() == 1);
    CHECK(json::parse(erased.body)["erased"]["dedupe_keys"].u64() == 1);

    // The platform's retry, or anyone's replay of the signed webhook: a duplicate.
    auto replay = post(gw, body);
    CHECK(replay["events"].u64() == 0);
    CHECK(replay["duplicates"].u64() == 1);
    CHECK(exported_events(gw, subject) == 0);
    auto events =
        request("GET", gw.base_url() + "/v1/events?after=0&limit=1000", bearer(acme.token));
    CHECK(events.body.find("4711-OCTOPUS") == std::string::npos);
    CHECK(events.body.find(phone) == std::string::npos);
  }
  // What stays of the erased message's id in the event log is a keyed digest: no phone number,
  // no wamid. (The outbox keeps its own copy of the conversation; issue 10, row 8.)
  const auto bytes = event_log_bytes(data.path);
  REQUIRE_FALSE(bytes.empty());
  CHECK(bytes.find(phone) == std::string::npos);
  CHECK(bytes.find(pl::wamid(1)) == std::string::npos);
  CHECK(bytes.find("HBgLMTY1MDU1NTEyMzQ") == std::string::npos);

  // After a restart, still a duplicate; a new message of the person is stored as usual.
  gateway_process gw(yaml);
  auto replay = post(gw, body);
  CHECK(replay["duplicates"].u64() == 1);
  CHECK(exported_events(gw, subject) == 0);
  CHECK(post(gw, pl::wa_text_webhook(pl::wamid(2), phone, "Sheena Nelson", "hello again"))["events"]
            .u64() == 1);
  CHECK(exported_events(gw, subject) == 1);
}

TEST_CASE(
    "Meta's data-deletion callback refuses a stale issued_at and answers 200 replays with "
    "one code, one erasure and one audit entry",
    "[e2e][privacy][attack][meta]") {
  gateway_process gw(test_config({acme}));
  post_messenger(gw, "7000000000000001", "m_one", "delete me RUBY-3");
  const auto subject = subject_of_sender(gw, "7000000000000001");

  // Signed, but issued in 1970, two hours ago, or an hour ahead: refused, nothing done.
  for (long long issued : {1LL, now_s() - 7200, now_s() + 3600}) {
    CAPTURE(issued);
    require_error(data_deletion(gw, signed_request("7000000000000001", issued)), 400,
                  "stale_request");
  }
  CHECK(exported_events(gw, subject) == 1);
  CHECK(audited(gw, "deletion_callback") == 0);

  const auto value = signed_request("7000000000000001", now_s());
  auto first = data_deletion(gw, value);
  require_status(first, 200);
  const auto code = json::parse(first.body)["confirmation_code"].str();
  REQUIRE(code.rfind("del_", 0) == 0);
  CHECK(exported_events(gw, subject) == 0);

  // 200 replays, from four connections at once: the same code every time.
  std::vector<std::string> codes(200);
  std::vector<long> statuses(200);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = t; i < 200; i += 4) {
        auto r = data_deletion(gw, value);
        statuses[i] = r.status;
        codes[i] = r.status == 200 ? json::parse(r.body)["confirmation_code"].str() : r.body;
      }
    });
  }
  for (auto& c : clients) {
    c.join();
  }
  for (int i = 0; i < 200; ++i) {
    CAPTURE(i, codes[i]);
    CHECK(statuses[i] == 200);
    CHECK(codes[i] == code);
  }
  CHECK(audited(gw, "deletion_callback") == 1);
  std::size_t receipts = 0;
  const auto redacts = of_type(all_events(gw), "privacy.redact");
  for (const auto& e : redacts) {
    receipts += e["kind"].str() == "data_deletion" ? 1 : 0;
  }
  CHECK(receipts == 1);
  auto status = request("GET", gw.base_url() + "/v1/deletion-status/" + code);
  require_status(status, 200);
  CHECK(json::parse(status.body)["status"].str() == "completed");
}

TEST_CASE("500 data-deletion calls leave the process's thread count where it was",
          "[e2e][privacy][attack][meta]") {
  gateway_process gw(test_config({acme}));
  require_status(data_deletion(gw, signed_request("7100000000000000", now_s())), 200);
  const int baseline = threads_of(gw.pid());
  REQUIRE(baseline > 0);

  std::atomic<bool> done{false};
  std::atomic<int> most{baseline};
  std::thread sampler([&] {
    while (!done.load()) {
      const int n = threads_of(gw.pid());
      int seen = most.load();
      while (n > seen && !most.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(2ms);  // sampling, not waiting for anything
    }
  });
  constexpr int k_clients = 8;
  constexpr int k_calls = 500;
  std::vector<long> statuses(k_calls);
  std::vector<std::thread> clients;
  for (int t = 0; t < k_clients; ++t) {
    clients.emplace_back([&, t] {
      for (int i = t; i < k_calls; i += k_clients) {
        // A distinct person each time: every call is a new erasure, a job on the workers.
        statuses[i] =
            data_deletion(gw, signed_request(std::to_string(7200000000000000LL + i), now_s()))
                .status;
      }
    });
  }
  for (auto& c : clients) {
    c.join();
  }
  done = true;
  sampler.join();
  for (int i = 0; i < k_calls; ++i) {
    CAPTURE(i);
    CHECK(statuses[i] == 200);
  }
  // The privacy workers were started with the gateway; no call starts another thread.
  INFO("threads: " << baseline << " before, at most " << most.load() << " during the calls");
  CHECK(most.load() <= baseline + 2);
  CHECK(threads_of(gw.pid()) <= baseline + 2);
  CHECK(audited(gw, "deletion_callback") == k_calls + 1);
}

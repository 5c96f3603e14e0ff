// End-to-end: what one signed webhook body can make the gateway hold (issue "Hostile edges"):
// `limits.events_per_webhook` (past it 413, nothing stored) and `limits.conversations_per_tenant`
// (past it the least recently used conversation actors are stopped), against the real binary,
// observed on /v1/events and /metrics.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/checks.hpp"
#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_limits_acme_7e1d3c5b9a"};

constexpr int k_events_per_webhook = 150;
constexpr int k_conversations = 100;  // the loader's minimum

std::string limits_config() {
  return test_config({acme}) +
         "limits:\n  events_per_webhook: " + std::to_string(k_events_per_webhook) +
         "\n  conversations_per_tenant: " + std::to_string(k_conversations) + "\n";
}

/// One WhatsApp body with `n` text messages, each from a different person (wamids from `first`).
std::string many_senders(int n, int first = 0) {
  std::vector<std::string> contacts;
  std::vector<std::string> messages;
  for (int i = first; i < first + n; ++i) {
    const std::string from = std::to_string(4915100000000LL + i);
    contacts.push_back(pl::wa_contact(from, "Person " + std::to_string(i)));
    messages.push_back(pl::wa_text(pl::wamid(i), from, "hello " + std::to_string(i), 1749416383));
  }
  return pl::wa_webhook({pl::wa_value(contacts, messages)});
}

http_result post_whatsapp(const gateway_process& gw, const std::string& body) {
  return request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                 signing::whatsapp(acme.wa_app_secret(), body), body);
}

/// The value of one sample line `series value` of /metrics; -1 when absent.
double metric(const gateway_process& gw, const std::string& series) {
  auto r = request("GET", gw.base_url() + "/metrics");
  REQUIRE(r.status == 200);
  const std::string prefix = series + " ";
  std::size_t at = 0;
  while (at < r.body.size()) {
    auto end = r.body.find('\n', at);
    if (end == std::string::npos) {
      end = r.body.size();
    }
    if (r.body.compare(at, prefix.size(), prefix) == 0) {
      return std::stod(r.body.substr(at + prefix.size(), end - at - prefix.size()));
    }
    at = end + 1;
  }
  return -1;
}

std::size_t stored_events(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token)["events"].size();
}

}  // namespace

TEST_CASE(
    "one signed WhatsApp body with many senders leaves at most the cap of conversation "
    "actors",
    "[e2e][limits]") {
  gateway_process gw(limits_config());
  const std::string live = R"(switchboard_conversation_actors{tenant="acme"})";
  const std::string evicted = R"(switchboard_conversation_evictions_total{tenant="acme"})";
  // Absent (-1) until the tenant actor has started, then 0.
  CHECK(metric(gw, live) <= 0);
  CHECK(metric(gw, evicted) <= 0);

  auto r = post_whatsapp(gw, many_senders(k_events_per_webhook));
  e2e_checks::require_status(r, 200);
  CHECK(r.body == R"({"status":"ok","events":150,"duplicates":0})");
  // The tenant handles the commit just after the 200: wait for the last eviction, then the
  // count must be exactly the cap (150 senders, 100 kept, the 50 least recently used stopped).
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (metric(gw, evicted) < k_events_per_webhook - k_conversations &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(metric(gw, evicted) == k_events_per_webhook - k_conversations);
  CHECK(metric(gw, live) == k_conversations);
  CHECK(stored_events(gw) == 150);

  // More people, in a second body: still the cap.
  e2e_checks::require_status(post_whatsapp(gw, many_senders(120, 1000)), 200);
  const auto until2 = std::chrono::steady_clock::now() + 10s;
  while (metric(gw, evicted) < 50 + 120 && std::chrono::steady_clock::now() < until2) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(metric(gw, evicted) == 50 + 120);
  CHECK(metric(gw, live) == k_conversations);
  CHECK(stored_events(gw) == 270);
}

TEST_CASE(
    "a signed WhatsApp body with one event more than limits.events_per_webhook gets 413 "
    "and nothing of it is stored",
    "[e2e][limits]") {
  gateway_process gw(limits_config());
  auto r = post_whatsapp(gw, many_senders(k_events_per_webhook + 1));
  e2e_checks::require_error(r, 413, "too_many_events");
  CHECK(stored_events(gw) == 0);
  CHECK(metric(gw, R"(switchboard_webhook_rejections_total{tenant="acme",channel="wa-main",)"
                   R"(reason="too_many_events"})") == 1);
  CHECK(metric(gw, R"(switchboard_events_stored_total{tenant="acme",channel="wa-main"})") <= 0);
  CHECK(metric(gw, R"(switchboard_conversation_actors{tenant="acme"})") == 0);
  // The same people in a body within the bound are accepted.
  auto ok = post_whatsapp(gw, many_senders(k_events_per_webhook));
  e2e_checks::require_status(ok, 200);
  CHECK(stored_events(gw) == 150);
}

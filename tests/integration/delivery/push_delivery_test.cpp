// Push delivery through the whole actor tree: ingestion -> log -> subscriber actor -> HTTP
// receiver on 127.0.0.1. Retry schedules are milliseconds so that every path runs quickly.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>

#include "delivery/standard_webhooks.hpp"
#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;
using namespace sb::test::push;
using namespace std::chrono_literals;
using test::received_request;
using test::reply;

namespace {

reply status_reply(int status) {
  reply r;
  r.status = status;
  return r;
}

/// The requests that carried the event with this platform id ("m1" ...), in arrival order.
std::vector<received_request> for_event(const std::vector<received_request>& all,
                                        const std::string& platform_id) {
  std::vector<received_request> out;
  for (const auto& r : all) {
    if (r.has("\"platform_event_id\":\"" + platform_id + "\"")) {
      out.push_back(r);
    }
  }
  return out;
}

std::size_t index_of(const std::vector<received_request>& all, const received_request& r) {
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].at == r.at && all[i].body == r.body) {
      return i;
    }
  }
  return all.size();
}

std::int64_t unix_now() {
  return now().unix_ms / 1000;
}

}  // namespace

TEST_CASE("a pushed event carries the Standard Webhooks headers and a valid signature",
          "[integration][delivery][push]") {
  test::receiver rx;
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
  REQUIRE(h.post("alice:m1:hello").status == 200);
  REQUIRE(rx.wait_for_count(1));
  const std::string stored = h.event_json(1);
  const std::string id = delivery::event_id_of(stored);
  REQUIRE(id.rfind("evt_", 0) == 0);

  auto r = rx.requests().at(0);
  CHECK(r.method == "POST");
  CHECK(r.target == "/hook");
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.body == stored);
  CHECK(r.header("webhook-id") == id);
  const std::string ts = r.header("webhook-timestamp");
  REQUIRE(!ts.empty());
  REQUIRE(ts.find_first_not_of("0123456789") == std::string::npos);
  CHECK(std::abs(std::stoll(ts) - unix_now()) < 300);
  CHECK(r.header("webhook-signature") == expected_signature(k_secret, id, ts, r.body));

  REQUIRE(eventually([&] { return h.stats("hook").delivered == 1; }));
  auto s = h.stats("hook");
  CHECK(s.attempts == 1);
  CHECK(s.cursor == 1);
  CHECK(rx.count() == 1);
}

TEST_CASE("a failing conversation is retried in order with backoff while another proceeds",
          "[integration][delivery][push]") {
  // alice's first event fails at least twice, and until bob's event has arrived: if bob waited
  // behind alice, alice would run out of attempts and the test would fail.
  std::atomic<bool> bob_seen{false};
  std::atomic<int> alice_failures{0};
  test::receiver rx([&](const received_request& r, std::size_t) {
    if (r.has("\"platform_event_id\":\"m3\"")) {
      bob_seen = true;
      return status_reply(200);
    }
    if (r.has("\"platform_event_id\":\"m1\"") && (alice_failures < 2 || !bob_seen)) {
      ++alice_failures;
      return status_reply(500);
    }
    return status_reply(200);
  });
  harness h(make_config({push_subscriber("hook", rx.url())}),
            fast_settings({0ms, 10ms, 20ms, 40ms, 80ms, 160ms, 320ms}));
  // One commit: alice m1, alice m2, bob m3.
  REQUIRE(h.post("alice:m1:first|alice:m2:second|bob:m3:other").status == 200);
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 3; }));

  auto all = rx.requests();
  auto m1 = for_event(all, "m1");
  auto m2 = for_event(all, "m2");
  auto m3 = for_event(all, "m3");
  REQUIRE(m1.size() >= 3);
  REQUIRE(m2.size() == 1);
  REQUIRE(m3.size() == 1);
  // bob did not wait for alice.
  CHECK(index_of(all, m3[0]) < index_of(all, m1.back()));
  // alice's second event was sent only after her first was delivered.
  CHECK(index_of(all, m2[0]) > index_of(all, m1.back()));
  // Backoff: each retry came no sooner than its scheduled wait less the 20 % jitter.
  CHECK(m1[1].at - m1[0].at >= 8ms);
  CHECK(m1[2].at - m1[1].at >= 16ms);
  // Every attempt of the same event carries the same webhook-id.
  for (const auto& r : m1) {
    CHECK(r.header("webhook-id") == m1[0].header("webhook-id"));
  }
  auto s = h.stats("hook");
  CHECK(s.dead_lettered == 0);
  CHECK(s.retries == m1.size() - 1);
  CHECK(s.last_error == "HTTP 500");
  CHECK(eventually([&] { return h.stats("hook").saved_cursor == 3; }));
  CHECK(h.stores.delivery->cursor("acme", "hook") == 3);
}

TEST_CASE("410 Gone disables the subscriber without skipping anything, redrive re-enables it",
          "[integration][delivery][push]") {
  std::atomic<bool> gone{true};
  test::receiver rx(
      [&](const received_request&, std::size_t) { return status_reply(gone ? 410 : 200); });
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
  REQUIRE(h.post("alice:m1:one").status == 200);
  REQUIRE(eventually([&] { return h.stats("hook").disabled; }));
  REQUIRE(h.post("bob:m2:two").status == 200);
  // The stats request reaches the subscriber after the head notification of m2 (both come from
  // the tenant, in order): a disabled subscriber started nothing for it.
  auto s = h.stats("hook");
  CHECK(s.disabled);
  CHECK(s.attempts == 1);
  CHECK(s.in_flight == 0);
  CHECK(s.cursor == 0);
  CHECK(s.last_error == "HTTP 410");
  CHECK(rx.count() == 1);

  gone = false;
  auto r = h.redrive("hook", true);
  CHECK(r.status == 202);
  CHECK(r.body == R"({"redriven":[],"not_found":[],"event_gone":[],"skipped":[],"more":false})");
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 2; }));
  CHECK_FALSE(h.stats("hook").disabled);
  CHECK(h.stats("hook").cursor == 2);
}

TEST_CASE("Retry-After is honoured when longer than the schedule",
          "[integration][delivery][push]") {
  test::receiver rx([](const received_request&, std::size_t index) {
    if (index == 0) {
      reply r;
      r.status = 503;
      r.headers = {{"Retry-After", "1"}};
      return r;
    }
    return status_reply(200);
  });
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
  REQUIRE(h.post("alice:m1:one").status == 200);
  REQUIRE(rx.wait_for_count(2));
  auto all = rx.requests();
  CHECK(all[1].at - all[0].at >= 1s);
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 1; }));
}

TEST_CASE("a delivery out of retries becomes a dead letter, and a redrive delivers it",
          "[integration][delivery][push]") {
  std::atomic<bool> healthy{false};
  test::receiver rx(
      [&](const received_request&, std::size_t) { return status_reply(healthy ? 200 : 500); });
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms, 20ms}));
  REQUIRE(h.post("alice:m1:doomed").status == 200);
  REQUIRE(eventually([&] { return h.stats("hook").dead_lettered == 1; }));
  CHECK(rx.count() == 3);
  // The dead letter is done: the conversation and the cursor move on.
  REQUIRE(h.post("alice:m2:next").status == 200);
  healthy = true;
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 1; }));
  CHECK(h.stats("hook").cursor == 2);

  const std::string id = delivery::event_id_of(h.event_json(1));
  auto listed = h.dead_letters("hook");
  CHECK(listed.status == 200);
  CHECK(listed.body.find(R"({"dead_letters":[{"id":1,"seq":1,"event_id":")" + id +
                         R"(","attempts":3,"last_error":"HTTP 500","failed_at":")") == 0);
  CHECK(listed.body.find(R"("next":1})") != std::string::npos);
  CHECK(h.dead_letters("hook", 1).body == R"({"dead_letters":[],"next":1})");

  auto r = h.redrive("hook", false, {1, 42});
  CHECK(r.status == 202);
  CHECK(r.body == R"({"redriven":[1],"not_found":[42],"event_gone":[],"skipped":[],"more":false})");
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 2; }));
  auto m1 = for_event(rx.requests(), "m1");
  REQUIRE(m1.size() == 4);
  CHECK(m1.back().header("webhook-id") == id);
  CHECK(h.dead_letters("hook").body == R"({"dead_letters":[],"next":0})");
  CHECK(h.stats("hook").redriven == 1);
  // Taken once: a second redrive of the same id finds nothing.
  CHECK(h.redrive("hook", false, {1}).body ==
        R"({"redriven":[],"not_found":[1],"event_gone":[],"skipped":[],"more":false})");
}

TEST_CASE("dead letters of an unknown subscriber or tenant are answered 404",
          "[integration][delivery][push]") {
  test::receiver rx;
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms}));
  CHECK(h.dead_letters("nobody").status == 404);
  CHECK(h.redrive("nobody", true).status == 404);
  auto r = h.ask([&](actors::responder_ptr p) {
    h.gw->list_dead_letters("globex", "hook", 0, 10, std::move(p));
  });
  CHECK(r.status == 404);
  CHECK(r.body.find(R"("error":"unknown_tenant")") != std::string::npos);
}

TEST_CASE("a restart resumes from the durable cursor without skipping or repeating",
          "[integration][delivery][push][sqlite]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sb-push-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    // First run: m1 and m2 are delivered; m3 fails and waits for a retry an hour away.
    test::receiver rx([](const received_request& r, std::size_t) {
      return status_reply(r.has("\"platform_event_id\":\"m3\"") ? 500 : 200);
    });
    auto stores =
        store::make_sqlite_stores(dir.string(), config::durability::none, std::string(32, 'k'));
    REQUIRE(stores.ok());
    harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 1h}),
              stores.value(), true);
    REQUIRE(h.post("alice:m1:a|alice:m2:b|alice:m3:c").status == 200);
    REQUIRE(eventually([&] {
      auto s = h.stats("hook");
      return s.delivered == 2 && s.retries == 1;
    }));
    CHECK(h.stats("hook").cursor == 2);
    h.gw->shutdown();  // saves the cursor
    CHECK(h.stores.delivery->cursor("acme", "hook") == 2);
  }
  {
    test::receiver rx;
    auto stores =
        store::make_sqlite_stores(dir.string(), config::durability::none, std::string(32, 'k'));
    REQUIRE(stores.ok());
    harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}),
              stores.value(), true);
    REQUIRE(h.post("alice:m4:d").status == 200);  // same conversation: after m3
    REQUIRE(eventually([&] { return h.stats("hook").delivered == 2; }));
    auto all = rx.requests();
    REQUIRE(all.size() == 2);
    CHECK(all[0].has("\"seq\":3,"));
    CHECK(all[1].has("\"seq\":4,"));
    REQUIRE(eventually([&] { return h.stats("hook").saved_cursor == 4; }));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a crashed subscriber actor is restarted and goes on from its cursor",
          "[integration][delivery][push][supervision]") {
  test::receiver rx;
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
  REQUIRE(h.post("alice:m1:a").status == 200);
  REQUIRE(eventually([&] { return h.stats("hook").saved_cursor == 1; }));
  h.crash_subscriber("hook");
  REQUIRE(h.post("alice:m2:b").status == 200);
  REQUIRE(rx.wait_for_count(2));
  REQUIRE(eventually([&] { return h.stats("hook").cursor == 2; }));
  auto all = rx.requests();
  REQUIRE(all.size() == 2);
  CHECK(all[1].has("\"seq\":2,"));
}

TEST_CASE("a dead backend slows neither ingestion nor other subscribers",
          "[integration][delivery][push]") {
  test::receiver dead([](const received_request&, std::size_t) {
    reply r;
    r.hang = true;
    return r;
  });
  test::receiver live;
  auto settings = fast_settings({0ms, 10ms});
  settings.max_in_flight = 2;
  settings.max_lookahead = 5;
  settings.timeout = 60s;
  harness h(make_config({push_subscriber("stuck", dead.url()), push_subscriber("ok", live.url())}),
            settings);
  constexpr int n = 30;
  for (int i = 1; i <= n; ++i) {
    auto peer = "p" + std::to_string(i);
    REQUIRE(h.post(peer + ":m" + std::to_string(i) + ":hi").status == 200);
  }
  REQUIRE(live.wait_for_count(n));
  REQUIRE(eventually([&] { return h.stats("ok").cursor == n; }));
  REQUIRE(dead.wait_for_count(2));
  auto s = h.stats("stuck");
  CHECK(s.in_flight == 2);
  CHECK(s.tracked <= 5);  // bounded look-ahead: the rest stays in the log
  CHECK(s.cursor == 0);
  CHECK(dead.max_concurrent() == 2);
  CHECK(dead.count() == 2);
}

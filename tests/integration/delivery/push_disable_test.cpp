// A receiver's 410 Gone stops push delivery durably: the subscriber stays disabled when its actor
// or the whole gateway restarts (the record is in the delivery store), and
// `POST /v1/subscribers/{name}/enable` (op "subscriber.enable") or a redrive resumes delivery from
// the cursor, the event that was answered 410 first.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>

#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "integration/store/store_test_support.hpp"
#include "support/temp_dir.hpp"

using namespace sb;
using namespace sb::test::push;
using namespace std::chrono_literals;
using test::received_request;
using test::temp_dir;
using test::reply;

namespace {

/// Answers 410 while `gone`, else 200.
test::receiver::handler gone_while(std::atomic<bool>& gone) {
  return [&gone](const received_request&, std::size_t) {
    reply r;
    r.status = gone ? 410 : 200;
    return r;
  };
}

actors::http_response enable(harness& h, const std::string& name) {
  return h.call(test::make_api_call("acme", "subscriber.enable", "ops", 0, {name}));
}

bool disabled_in_store(harness& h, const std::string& name) {
  auto d = h.stores.delivery->disabled("acme", name);
  REQUIRE(d.ok());
  return d->has_value();
}

/// The platform ids ("m1", ...) of the requests from index `from` on, in arrival order (one
/// conversation: delivery order is the conversation's).
std::vector<std::string> delivered_ids(const test::receiver& rx, std::size_t from) {
  std::vector<std::string> out;
  const auto all = rx.requests();
  for (std::size_t i = from; i < all.size(); ++i) {
    for (const char* id : {"m1", "m2", "m3"}) {
      if (all[i].has(std::string("\"platform_event_id\":\"") + id + "\"")) {
        out.emplace_back(id);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a subscriber disabled by a 410 stays disabled when its actor restarts, and enable "
    "resumes delivery from its cursor",
    "[integration][delivery][push]") {
  std::atomic<bool> gone{true};
  test::receiver rx(gone_while(gone));
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}));
  REQUIRE(h.post("alice:m1:one").status == 200);
  REQUIRE(eventually([&] { return h.stats("hook").disabled; }));
  CHECK(disabled_in_store(h, "hook"));

  // A crash of the subscriber actor: its successor reads the record and stays stopped.
  h.crash_subscriber("hook");
  REQUIRE(h.post("alice:m2:two").status == 200);
  // The stats request reaches the new subscriber after m2's head notification (both from the
  // tenant, in order): a disabled subscriber started nothing for it.
  auto s = h.stats("hook");
  CHECK(s.disabled);
  CHECK(s.attempts == 0);
  CHECK(s.last_error == "HTTP 410");
  CHECK(rx.count() == 1);

  gone = false;
  auto r = enable(h, "hook");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"("subscriber":"hook","enabled":true,"was_disabled":true)") !=
        std::string::npos);
  CHECK(r.body.find(R"("reason":"HTTP 410")") != std::string::npos);
  CHECK(r.body.find(R"("disabled_since":")") != std::string::npos);
  CHECK_FALSE(disabled_in_store(h, "hook"));
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 2; }));
  CHECK(delivered_ids(rx, 1) == std::vector<std::string>{"m1", "m2"});
  CHECK(h.stats("hook").cursor == 2);

  // Enabling what is not disabled is harmless; a name that is not a push subscriber is 404.
  auto again = enable(h, "hook");
  CHECK(again.status == 200);
  CHECK(again.body == R"({"subscriber":"hook","enabled":true,"was_disabled":false})");
  CHECK(enable(h, "nobody").status == 404);
}

TEST_CASE("a 410 disable survives a restart of the gateway on the same SQLite store",
          "[integration][delivery][push]") {
  temp_dir dir{"sb-disable"};
  auto open = [&] { return test::store_support::open_sqlite(dir.path); };
  std::atomic<bool> gone{true};
  test::receiver rx(gone_while(gone));
  {
    harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}), open(),
              true);
    REQUIRE(h.post("alice:m1:one").status == 200);
    REQUIRE(eventually([&] { return disabled_in_store(h, "hook"); }));
    CHECK(rx.count() == 1);
  }
  harness h(make_config({push_subscriber("hook", rx.url())}), fast_settings({0ms, 10ms}), open(),
            true);
  REQUIRE(h.post("alice:m2:two").status == 200);
  auto s = h.stats("hook");
  CHECK(s.disabled);
  CHECK(s.attempts == 0);
  CHECK(s.cursor == 0);
  CHECK(rx.count() == 1);

  // A redrive re-enables as well, durably.
  gone = false;
  auto r = h.redrive("hook", true);
  CHECK(r.status == 202);
  CHECK_FALSE(disabled_in_store(h, "hook"));
  REQUIRE(eventually([&] { return h.stats("hook").delivered == 2; }));
  CHECK(delivered_ids(rx, 1) == std::vector<std::string>{"m1", "m2"});
}

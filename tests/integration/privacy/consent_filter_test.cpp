// Consent decides what each subscriber reads, with real actors and the in-memory store: pull
// (/v1/events), SSE streams and push subscribers, changed by the consent API, restriction and
// opt-out/opt-in keywords. Backends are stand-ins on 127.0.0.1 (receiver.hpp).
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "integration/privacy/consent_support.hpp"
#include "store/privacy_store.hpp"

using namespace sb;
using namespace sb::test;
using namespace sb::test::push;
using namespace sb::test::consent;
using namespace std::chrono_literals;

namespace {

reply status_reply(int status) {
  reply r;
  r.status = status;
  return r;
}

bool audited(harness& h, const std::string& actor, const std::string& action,
             const std::string& subject, const std::string& detail) {
  for (const auto& a : h.stores.privacy->audit_log("acme", 0, 1000)) {
    if (a.actor == actor && a.action == action && a.subject == subject && a.outcome == "ok" &&
        a.detail == detail) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("pull: each subscriber reads what the person allows its purposes, judged at read time",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"}), subscriber("promo", {"marketing"})});
  harness h(cfg, fast_settings({0ms}));
  const auto alice = subject_of(*cfg, "alice");
  REQUIRE(h.post("alice:m1:alice one|bob:m2:bob one").status == 200);
  // Marketing is off until granted: the marketing backend reads nothing (and moves on).
  auto promo = pull(h, "promo");
  CHECK(promo == R"({"events":[],"next":2})");
  CHECK(has(pull(h, "helpdesk"), text("bob one")));

  auto r = api(h, "subject.consent", alice, R"({"purpose":"marketing","granted":true})");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"subject":")" + alice +
                      R"(","purposes":{"support":true,"ai":true,"analytics":true,)"
                      R"("marketing":true},"explicit":{"marketing":true},"restricted":false,)"
                      R"("opted_out":false,"updated_at":")" +
                      r.body.substr(r.body.find("updated_at") + 13, 24) + "\"}");
  promo = pull(h, "promo");
  CHECK(has(promo, text("alice one")));  // read time: the grant also opens the earlier event
  CHECK_FALSE(has(promo, text("bob one")));
  CHECK(has(promo, R"("type":"consent.changed")"));
  CHECK(has(promo, R"("consent":{"purpose":"marketing","granted":true,"source":"api"})"));
  CHECK(audited(h, "subscriber:helpdesk", "consent", alice, "purpose=marketing granted=true"));

  // The person writes STOP: marketing off and opted out, announced with consent.changed.
  REQUIRE(h.post("alice:m3:  stop ").status == 200);
  REQUIRE(eventually([&] { return has(pull(h, "helpdesk"), R"("source":"keyword")"); }));
  auto support = pull(h, "helpdesk");
  CHECK(has(support, R"("consent":{"purpose":"marketing","granted":false,"opted_out":true,)"
                     R"("source":"keyword"})"));
  CHECK(has(support, text("  stop ")));
  // The keyword event carries the message's channel, conversation and subject, no content.
  CHECK(has(support, R"("channel":{"name":"chat","type":"test","account":"acct"},)"
                     R"("type":"consent.changed","conversation":"chat:alice","subject":")" +
                         alice + "\""));
  REQUIRE(h.post("alice:m4:alice after stop").status == 200);
  promo = pull(h, "promo");
  CHECK_FALSE(has(promo, text("  stop ")));  // the message itself is judged with the new state
  CHECK_FALSE(has(promo, text("alice after stop")));
  CHECK_FALSE(has(promo, text("alice one")));  // nor replayed from before
  CHECK(has(promo, R"("source":"keyword")"));  // consent.changed reaches every subscriber
  CHECK(has(pull(h, "helpdesk"), text("alice after stop")));
  REQUIRE(eventually([&] {
    return audited(h, "platform:chat", "opt_out", alice,
                   "purpose=marketing granted=false opted_out=true");
  }));
  auto records = h.stores.privacy->consents("acme");
  REQUIRE(records.size() == 1);
  CHECK(records[0].granted.at("marketing") == false);
  CHECK(records[0].granted.at("outbound") == false);

  // START reverses it; the START message itself reaches the marketing backend.
  REQUIRE(h.post("alice:m5:Start").status == 200);
  REQUIRE(h.post("alice:m6:alice back").status == 200);
  REQUIRE(eventually([&] { return has(pull(h, "promo"), R"("granted":true,"opted_out":false)"); }));
  REQUIRE(eventually([&] { return has(pull(h, "promo"), text("alice back")); }));
  promo = pull(h, "promo");
  CHECK(has(promo, text("Start")));
  CHECK(has(promo, R"("consent":{"purpose":"marketing","granted":true,"opted_out":false,)"
                   R"("source":"keyword"})"));
  REQUIRE(eventually([&] {
    return audited(h, "platform:chat", "opt_in", alice,
                   "purpose=marketing granted=true opted_out=false");
  }));
  // "please stop" is a message, not a keyword.
  REQUIRE(h.post("alice:m7:please stop").status == 200);
  CHECK(has(pull(h, "promo"), text("please stop")));
}

TEST_CASE("a restricted subject's events are stored but reach no pull or stream until lifted",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  harness h(cfg, fast_settings({0ms}));
  const auto alice = subject_of(*cfg, "alice");
  REQUIRE(h.post("alice:m1:before").status == 200);

  sse_stream stream(h, "helpdesk");
  auto& sink = stream.sink;
  REQUIRE(eventually([&] { return has(sink->data(), text("before")); }));

  auto r = api(h, "subject.restrict", alice, R"({"restricted":true})");
  REQUIRE(r.status == 200);
  CHECK(has(r.body, R"("restricted":true)"));
  REQUIRE(h.post("alice:m2:during|bob:m3:bob during").status == 200);
  REQUIRE(eventually([&] { return has(sink->data(), text("bob during")); }));
  // Stored...
  auto stored = h.log->read("acme", 0, 100, {});
  REQUIRE(stored);
  CHECK(stored->events.size() == 4);
  // ...but forwarded to nobody: neither live nor on replay, earlier events included.
  CHECK_FALSE(has(sink->data(), text("during")));
  CHECK(has(sink->data(), R"("consent":{"restricted":true,"source":"api"})"));
  auto page = pull(h, "helpdesk");
  CHECK_FALSE(has(page, text("before")));
  CHECK_FALSE(has(page, text("during")));
  CHECK(has(page, text("bob during")));
  CHECK(has(page, R"("type":"consent.changed")"));
  CHECK(audited(h, "subscriber:helpdesk", "restrict", alice, "restricted=true"));

  r = api(h, "subject.restrict", alice, R"({"restricted":false})");
  REQUIRE(r.status == 200);
  page = pull(h, "helpdesk");
  CHECK(has(page, text("before")));
  CHECK(has(page, text("during")));
  REQUIRE(h.post("alice:m4:after").status == 200);
  REQUIRE(eventually([&] { return has(sink->data(), text("after")); }));
  CHECK(has(sink->data(), R"("consent":{"restricted":false,"source":"api"})"));
  stream.handle->cancel();
}

TEST_CASE(
    "push: withheld events are skipped, never block, and are not retried or dead-lettered "
    "once consent is withdrawn",
    "[integration][privacy][consent][push]") {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  receiver rx([&](const received_request& req, std::size_t) {
    if (req.target == "/mkt" && req.has("bob four")) {
      // Held until the test has withdrawn consent; then it fails, as a busy backend would.
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return release; });
      return status_reply(500);
    }
    return status_reply(200);
  });
  // Releases a held request however the test ends: a failed REQUIRE must not leave the
  // receiver's thread waiting forever (its destructor would then hang the run).
  struct releaser {
    std::mutex& m;
    std::condition_variable& cv;
    bool& release;
    ~releaser() {
      {
        std::lock_guard lock(m);
        release = true;
      }
      cv.notify_all();
    }
  } release_on_exit{m, cv, release};
  auto cfg = make_config({subscriber("sup", {"support"}, rx.url("/sup")),
                          subscriber("mkt", {"marketing"}, rx.url("/mkt"))});
  harness h(cfg, fast_settings({0ms, 10ms, 20ms}));
  const auto bob = subject_of(*cfg, "bob");
  auto count = [](const std::vector<received_request>& all, const char* target,
                  const std::string& what) {
    std::size_t n = 0;
    for (const auto& r : all) {
      n += r.target == target && r.has(what);
    }
    return n;
  };
  auto to = [&](const char* target, const std::string& what) {
    return count(rx.requests(), target, what);
  };
  // Inside `wait_until` the receiver's lock is held: its predicate gets the requests.
  auto arrived = [&](const char* target, const std::string& what) {
    return rx.wait_until([&](const auto& all) { return count(all, target, what) == 1; });
  };

  REQUIRE(h.post("bob:m1:bob one").status == 200);
  REQUIRE(arrived("/sup", "bob one"));
  // The marketing subscriber skipped it: nothing sent, and its cursor moved past it.
  REQUIRE(eventually([&] { return h.stats("mkt").cursor == 1; }));
  CHECK(h.stats("mkt").attempts == 0);

  REQUIRE(api(h, "subject.consent", bob, R"({"purpose":"marketing","granted":true})").status ==
          200);
  REQUIRE(h.post("bob:m3:bob three").status == 200);
  REQUIRE(arrived("/mkt", "bob three"));
  // (consent.changed has no conversation: it is not ordered with bob's messages)
  REQUIRE(arrived("/mkt", "consent.changed"));

  // A delivery in flight when consent is withdrawn: its failure is neither retried nor
  // dead-lettered.
  REQUIRE(h.post("bob:m5:bob four").status == 200);
  REQUIRE(arrived("/mkt", "bob four"));
  REQUIRE(api(h, "subject.consent", bob, R"({"purpose":"marketing","granted":false})").status ==
          200);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  const auto head = h.log->head("acme");
  REQUIRE(eventually([&] { return h.stats("mkt").cursor == head; }));
  auto s = h.stats("mkt");
  CHECK(s.dead_lettered == 0);
  CHECK(s.retries == 0);
  CHECK(to("/mkt", "bob four") == 1);
  CHECK(to("/mkt", "consent.changed") == 2);  // the withdrawal reaches it too (cursor at head)
  // Later events of bob no longer reach it; the support one gets everything.
  REQUIRE(h.post("bob:m7:bob five").status == 200);
  REQUIRE(arrived("/sup", "bob five"));
  REQUIRE(eventually([&] { return h.stats("mkt").cursor == h.log->head("acme"); }));
  CHECK(to("/mkt", "bob five") == 0);
  CHECK(h.dead_letters("mkt").body == R"({"dead_letters":[],"next":0})");
}

TEST_CASE("consent calls validate the subject and the body, naming what is wrong",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  harness h(cfg, fast_settings({0ms}));
  const std::string s = "sub_5KQ2C7WZ3N4B6Y8T";  // never seen: accepted (objection before writing)
  CHECK(api(h, "subject.consent", s, R"({"purpose":"ai","granted":false})").status == 200);
  struct bad {
    std::string op, subject, body, message;
  };
  for (const auto& b : std::vector<bad>{
           {"subject.consent", "sub_123", R"({"purpose":"ai","granted":false})", "'subject'"},
           {"subject.consent", "evt_5KQ2C7WZ3N4B6Y8T", "{}", "'subject'"},
           {"subject.consent", s, R"({"purpose":"sales","granted":false})",
            R"(unknown purpose \"sales\")"},
           {"subject.consent", s, R"({"purpose":"ai","granted":"no"})", "'granted'"},
           {"subject.consent", s, R"({"purpose":"ai"})", "'granted' is missing"},
           {"subject.consent", s, R"({"granted":true})", "'purpose' is missing"},
           {"subject.consent", s, R"({"purpose":"ai","granted":true,"note":1})",
            "unknown member 'note'"},
           {"subject.consent", s, R"([1])", "JSON object"},
           {"subject.consent", s, "not json", "not valid JSON"},
           {"subject.restrict", s, R"({"restricted":1})", "'restricted'"},
           {"subject.restrict", s, R"({"restrict":true})", "unknown member 'restrict'"},
       }) {
    INFO(b.op << " " << b.body);
    auto r = api(h, b.op, b.subject, b.body);
    CHECK(r.status == 400);
    CHECK(has(r.body, R"("error":"bad_request")"));
    CHECK(has(r.body, b.message));
  }
  // Nothing of the refused calls was stored or emitted: one consent.changed only.
  CHECK(h.stores.privacy->consents("acme").size() == 1);
  CHECK(h.log->head("acme") == 1);
}

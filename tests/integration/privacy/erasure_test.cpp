// Erasure through the actor tree (DESIGN §7): the API call reaches the tenant, the store erases,
// push subscribers drop what they hold in memory, a privacy.erased receipt is stored and
// delivered, and the audit log records it, with real actors, a real store and a real HTTP
// receiver on 127.0.0.1.
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <string>

#include "actors/privacy_api.hpp"
#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "store/privacy_store.hpp"

using namespace sb;
using namespace sb::test;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

actors::http_response call(harness& h, std::string op, std::vector<std::string> params,
                           std::string query = {}) {
  return h.call(make_api_call(
      "acme", std::move(op), "ops",
      static_cast<unsigned>(config::scope::privacy) | static_cast<unsigned>(config::scope::admin),
      std::move(params), {}, std::move(query)));
}

std::size_t count_with(const receiver& rx, const std::string& text) {
  const auto all = rx.requests();
  return static_cast<std::size_t>(std::count_if(
      all.begin(), all.end(), [&](const received_request& r) { return r.has(text); }));
}

}  // namespace

TEST_CASE("an erasure drops the subject's pending push deliveries and delivers the receipt",
          "[integration][privacy][erasure]") {
  // The backend holds every request about alice open, so alice's first event stays in flight
  // and her second waits behind it in the subscriber's window; bob's pass.
  receiver rx([](const received_request& r, std::size_t) {
    reply a;
    a.hang = r.has("alice-secret");
    return a;
  });
  auto sub = push_subscriber("crm", rx.url());
  sub.push->timeout_ms = 300;
  auto cfg = make_config({sub});
  // One retry, a minute later: without the erasure nothing about alice could finish within the
  // test, so a passing test proves the erasure finished her deliveries unsent.
  harness h(cfg, fast_settings({0ms, 60000ms}));

  REQUIRE(h.post("alice:a1:alice-secret-1|alice:a2:alice-secret-2|bob:b1:bob-hello").status == 200);
  REQUIRE(eventually([&] { return count_with(rx, "alice-secret-1") >= 1; }));
  REQUIRE(eventually([&] { return h.stats("crm").delivered >= 1; }));  // bob's
  CHECK(count_with(rx, "alice-secret-2") == 0);  // waits behind the one in flight

  const std::string alice = subject_of(*cfg, "alice");
  auto r = call(h, "subject.erase", {alice});
  INFO(r.body);
  REQUIRE(r.status == 200);
  const auto first_attempts = count_with(rx, "alice-secret-1");
  CHECK(r.body.find(R"("subject":")" + alice + "\"") != std::string::npos);
  CHECK(r.body.find(R"("events":2)") != std::string::npos);
  CHECK(r.body.find(R"("receipt":"era_)") != std::string::npos);

  // The in-flight attempt times out and is finished unsent; the blocked one is never sent.
  REQUIRE(eventually([&] { return h.stats("crm").cursor >= 4; }));  // 3 events + the receipt
  auto st = h.stats("crm");
  CHECK(st.dead_lettered == 0);
  CHECK(count_with(rx, "alice-secret-2") == 0);
  CHECK(count_with(rx, "alice-secret-1") == first_attempts);

  // The receipt reaches the subscriber: the subject id, no content of hers.
  REQUIRE(eventually([&] { return count_with(rx, "privacy.erased") == 1; }));
  for (const auto& req : rx.requests()) {
    if (req.has("privacy.erased")) {
      CHECK(req.has(R"("privacy":{"subject":")" + alice + "\""));
      CHECK_FALSE(req.has("alice-secret"));
      CHECK_FALSE(req.has(R"("sender")"));
    }
  }

  // Nothing of hers is left to read, and the store's export is empty.
  auto all = h.log->read("acme", 0, 100, {});
  REQUIRE(all.ok());
  for (const auto& e : all->events) {
    CHECK(e.subject != alice);
    CHECK(e.json.find("alice-secret") == std::string::npos);
  }
  auto exported = call(h, "subject.export", {alice});
  REQUIRE(exported.status == 200);
  CHECK(exported.body.find(R"("events":[])") != std::string::npos);
}

TEST_CASE("erasing an unknown subject answers 200 with zeros and is audited",
          "[integration][privacy][erasure]") {
  auto cfg = make_config({});
  harness h(cfg, fast_settings({0ms}));
  const std::string nobody = subject_of(*cfg, "nobody");
  for (int i = 0; i < 2; ++i) {  // a retried request is answered the same way
    auto r = call(h, "subject.erase", {nobody});
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.body.find(R"("events":0,"dedupe_keys":0,"dead_letters":0)") != std::string::npos);
  }
  auto audit = call(h, "audit.list", {}, "after=0&limit=10");
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find(R"("actor":"subscriber:ops","action":"erase","subject":")" + nobody +
                        R"(","outcome":"ok")") != std::string::npos);
  auto ps = h.stores.privacy;
  REQUIRE(ps);
  CHECK(ps->audit_log("acme", 0, 10).size() == 2);
}

TEST_CASE("a malformed subject id is refused with 400 naming the parameter",
          "[integration][privacy][erasure]") {
  harness h(make_config({}), fast_settings({0ms}));
  for (const char* op : {"subject.erase", "subject.export"}) {
    auto r = call(h, op, {"alice"});
    CHECK(r.status == 400);
    CHECK(r.body.find("'subject'") != std::string::npos);
  }
}

TEST_CASE("the export lists the subject's identifiers, consent and events, and is audited",
          "[integration][privacy][export]") {
  auto cfg = make_config({});
  harness h(cfg, fast_settings({0ms}));
  REQUIRE(h.post("carol:c1:carol-one|carol:c2:carol-two|dave:d1:dave-one").status == 200);
  const std::string carol = subject_of(*cfg, "carol");
  auto r = call(h, "subject.export", {carol});
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"({"subject":")" + carol + R"(","tenant":"acme")") == 0);
  CHECK(r.body.find("carol-one") != std::string::npos);
  CHECK(r.body.find("carol-two") != std::string::npos);
  CHECK(r.body.find("dave-one") == std::string::npos);
  CHECK(r.body.find(R"("consent":{"subject":")" + carol) != std::string::npos);
  CHECK(r.body.find(R"("exported_at":")") != std::string::npos);
  CHECK(r.body.find(R"("truncated")") == std::string::npos);

  auto audit = call(h, "audit.list", {}, "after=0");
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find(R"("action":"export","subject":")" + carol +
                        R"(","outcome":"ok","detail":"events=2")") != std::string::npos);
  CHECK(audit.body.find("carol-one") == std::string::npos);  // never content
}

TEST_CASE("the export names each (channel, sender) once and says when it is truncated",
          "[privacy][export]") {
  auto ev = [](std::uint64_t seq, const std::string& sender, const std::string& name) {
    store::stored_event e;
    e.seq = seq;
    e.subject = "sub_0000000000000000";
    e.json = R"({"id":"evt_)" + std::to_string(seq) +
             R"(","channel":{"name":"wa-main","type":"whatsapp","account":"1"},)"
             R"("type":"message","sender":{"platform_id":")" +
             sender + "\"" + (name.empty() ? "" : R"(,"name":")" + name + "\"") + "}}";
    return e;
  };
  std::vector<store::stored_event> events{ev(1, "16505551234", ""), ev(2, "16505551234", "Sheena"),
                                          ev(3, "16505550000", "")};
  auto json = actors::export_json("acme", "sub_0000000000000000", events, 2, "{}",
                                  timestamp::from_millis(1700000000123));
  CHECK(json.find(R"("identifiers":[{"channel":"wa-main","type":"whatsapp",)"
                  R"("platform_id":"16505551234","name":"Sheena"}])") != std::string::npos);
  CHECK(json.find(R"("evt_3")") == std::string::npos);
  CHECK(json.find(R"("truncated":true)") != std::string::npos);
  CHECK(json.find(R"("exported_at":"2023-11-14T22:13:20.123Z")") != std::string::npos);
  auto all = actors::export_json("acme", "sub_0000000000000000", events, 10, "{}", {});
  CHECK(all.find("truncated") == std::string::npos);
  CHECK(all.find(R"("platform_id":"16505550000")") != std::string::npos);
}

TEST_CASE("receipt ids and deletion codes are distinct and unguessable in form", "[privacy]") {
  const auto a = actors::new_deletion_code();
  const auto b = actors::new_deletion_code();
  CHECK(a != b);
  CHECK(a.rfind("del_", 0) == 0);
  CHECK(a.size() == 4 + 26 + 16);
  CHECK(actors::new_receipt_id().rfind("era_", 0) == 0);
}

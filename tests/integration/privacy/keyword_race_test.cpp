// The keyword race, constructed: a STOP message is in the store, but its commit has not reached
// the tenant yet (so its consent change is not applied), while a later request's commit has
// been announced. Readers (pull, SSE, push) read only up to the head the tenant announced, so
// none of them forwards the STOP message under the consent it revokes, nor anything after it,
// until the tenant has applied it (docs/architecture.md, "Consent is judged when an event is
// read"). Real actors and the in-memory store; the ordering is made by the test, not by timing:
// the test plays the store writer (appends the STOP) and, later, the channel (delivers its
// commit).
#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <mutex>

#include "actors/channel_logic.hpp"
#include "integration/delivery/push_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "integration/privacy/consent_support.hpp"
#include "store/stores.hpp"

using namespace sb;
using namespace sb::test;
using namespace sb::test::push;
using namespace sb::test::consent;
using namespace std::chrono_literals;

namespace {

/// What the store writer does for the channel, done by the test: `body` ("<peer>:<id>:<text>")
/// is parsed and stored in `log` as the channel of tenant acme would have it stored, and the
/// commit that would carry it to the tenant is returned instead of sent.
std::vector<event> store_unannounced(const config::config& cfg, store::event_log& log,
                                     std::string body) {
  actors::channel_logic logic("acme", cfg.tenants[0].channels[0], multi_info(),
                              cfg.storage.root_key, cfg.tenants[0].privacy);
  body.reserve(body.size() + 64);
  auto outcome = logic.ingest("POST", "", {}, body);
  REQUIRE(std::holds_alternative<actors::store_events>(outcome));
  std::vector<store::append_request> reqs{
      {"acme", std::move(std::get<actors::store_events>(outcome).events)}};
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(log.append(reqs, outcomes).ok());
  return std::move(reqs[0].events);
}

/// Waits until a push request to `rx` holds `text`.
bool pushed(receiver& rx, const std::string& text) {
  return rx.wait_until([&](const auto& all) {
    for (const auto& r : all) {
      if (r.has(text)) {
        return true;
      }
    }
    return false;
  });
}

}  // namespace

TEST_CASE("a STOP stored but not yet announced reaches no reader under the consent it revokes",
          "[integration][privacy][consent]") {
  receiver rx;
  auto cfg = make_config({subscriber("helpdesk", {"support"}), subscriber("promo", {"marketing"}),
                          subscriber("mkt", {"marketing"}, rx.url("/mkt"))});
  harness h(cfg, fast_settings({0ms}));
  const auto alice = subject_of(*cfg, "alice");
  auto grant = api(h, "subject.consent", alice, R"({"purpose":"marketing","granted":true})");
  REQUIRE(grant.status == 200);
  REQUIRE(h.post("alice:m1:hello").status == 200);
  REQUIRE(has(pull(h, "promo"), text("hello")));
  REQUIRE(pushed(rx, "hello"));
  sse_stream stream(h, "promo");
  auto& sink = stream.sink;
  REQUIRE(eventually([&] { return has(sink->data(), text("hello")); }));

  // The store writer commits alice's STOP, as it would for the channel; the commit message that
  // carries it to the tenant is held back (here: by the test).
  const auto stop = store_unannounced(*cfg, *h.log, "alice:m2:STOP");
  const std::uint64_t stop_seq = stop[0].seq;
  // Another request is stored after it and announced as usual.
  REQUIRE(h.post("bob:m3:bob here").status == 200);
  REQUIRE(h.log->head("acme") == stop_seq + 1);

  // Readers reading now, between the STOP's store commit and its announcement, do not see it:
  // marketing is still granted in the registry, so a reader that went by the store's head would
  // forward it. Nor do they pass it to bob's message.
  auto promo = pull(h, "promo");
  CHECK_FALSE(has(promo, text("STOP")));
  CHECK(has(promo, R"("next":)" + std::to_string(stop_seq - 1) + "}"));
  auto support = pull(h, "helpdesk");
  CHECK_FALSE(has(support, text("STOP")));
  CHECK_FALSE(has(support, text("bob here")));

  // The commit arrives, as the channel sends it for a keyword: the change is applied (and made
  // durable), then everything up to bob's message is announced.
  {
    caf::scoped_actor self{h.gw->system()};
    bool durable = false;
    self->request(h.gw->tenant_actor_of("acme"), 10s, actors::commit_atom::value,
                  actors::save_atom::value, actors::committed_msg{stop},
                  actors::committed_msg{})
        .receive([&](bool d) { durable = d; }, [&](caf::error&) { FAIL("commit not answered"); });
    CHECK(durable);
  }
  support = pull(h, "helpdesk");
  CHECK(has(support, text("STOP")));
  CHECK(has(support, text("bob here")));
  CHECK(has(support, R"("source":"keyword")"));
  promo = pull(h, "promo");
  CHECK_FALSE(has(promo, text("STOP")));
  CHECK(has(promo, R"("source":"keyword")"));

  // Live readers: the keyword's consent.changed (after the STOP in seq order and in alice's
  // conversation) arrives; the STOP never did.
  REQUIRE(eventually([&] { return has(sink->data(), R"("source":"keyword")"); }));
  CHECK_FALSE(has(sink->data(), text("STOP")));
  REQUIRE(pushed(rx, R"("source":"keyword")"));
  for (const auto& r : rx.requests()) {
    CHECK_FALSE(r.has(text("STOP")));
  }
  stream.handle->cancel();
}

TEST_CASE("readers wait for a commit that is late and go on once it arrives",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  harness h(cfg, fast_settings({0ms}));
  REQUIRE(h.post("alice:m1:first").status == 200);
  sse_stream stream(h, "helpdesk");
  auto& sink = stream.sink;
  REQUIRE(eventually([&] { return has(sink->data(), text("first")); }));

  // Seq 2 is stored, its commit late; seq 3 and 4 are committed and announced around it.
  const auto late = store_unannounced(*cfg, *h.log, "carol:m2:late");
  REQUIRE(h.post("dave:m3:after|erin:m4:after too").status == 200);
  auto waiting = pull(h, "helpdesk");
  CHECK_FALSE(has(waiting, text("late")));
  CHECK_FALSE(has(waiting, R"("text":"after")"));
  CHECK(has(waiting, R"("next":1})"));

  caf::anon_send(h.gw->tenant_actor_of("acme"), actors::commit_atom::value,
                 actors::committed_msg{late});
  REQUIRE(eventually([&] { return has(sink->data(), text("after too")); }));
  auto data = sink->data();
  // In seq order, nothing skipped.
  CHECK(data.find(text("first")) < data.find(text("late")));
  CHECK(data.find(text("late")) < data.find(R"("text":"after")"));
  CHECK(data.find(R"("text":"after")") < data.find(text("after too")));
  auto page = pull(h, "helpdesk");
  CHECK(has(page, text("late")));
  CHECK(has(page, R"("next":4})"));
  stream.handle->cancel();
}

TEST_CASE("events whose commit never reaches the tenant are announced after a settle interval",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  auto stores = store::make_memory_stores();
  auto& log = stores.log;
  actors::gateway_options opts;
  opts.cfg = cfg;
  opts.stores = stores;
  opts.settings.store_timeout = 100ms;  // the settle interval is then its floor, 1 s
  opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
    return type == "test" ? &multi_info() : nullptr;
  };
  auto gw = actors::start_gateway(std::move(opts));
  auto page = [&] {
    auto p = std::make_shared<std::promise<actors::http_response>>();
    auto f = p->get_future();
    actors::events_query q;
    q.tenant = "acme";
    q.subscriber = "helpdesk";
    q.limit = 100;
    q.reply = std::make_shared<actors::responder>(
        [p](actors::http_response r) { p->set_value(std::move(r)); });
    gw->read_events(std::move(q));
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get().body;
  };

  // The tenant is up (it takes the log's head as announced when it starts).
  REQUIRE(submit_webhook(*gw, "acme", "bob:m0:before").status == 200);
  // Stored as if by a channel that then timed out: no commit will ever come for it.
  store_unannounced(*cfg, *log, "carol:m1:orphan");
  REQUIRE(submit_webhook(*gw, "acme", "dave:m2:after").status == 200);
  CHECK_FALSE(has(page(), text("after")));
  // Given up on within two settle intervals (plus scheduling), and then in order.
  REQUIRE(eventually([&] { return has(page(), text("after")); }, 10s));
  auto all = page();
  CHECK(all.find(text("orphan")) < all.find(text("after")));
  gw->shutdown();
}

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

#include "../delivery/push_support.hpp"
#include "../delivery/receiver.hpp"
#include "actors/channel_logic.hpp"
#include "core/ids.hpp"

using namespace sb;
using namespace sb::test;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

config::subscriber_config subscriber(const std::string& name, std::vector<std::string> purposes,
                                     const std::string& url = "") {
  config::subscriber_config s;
  s.name = name;
  s.purposes = std::move(purposes);
  if (!url.empty()) {
    s.push = config::push_config{url, k_secret};
  }
  return s;
}

std::string subject_of(const config::config& cfg, const std::string& peer) {
  return ids::subject_id(actors::derive_subject_key(cfg.storage.master_key, "acme"), "test", "acct",
                         peer);
}

/// `GET /v1/events?after=0` as `subscriber` sees it (the raw JSON page).
std::string pull(harness& h, const std::string& subscriber) {
  auto r = h.ask([&](actors::responder_ptr reply) {
    actors::events_query q;
    q.tenant = "acme";
    q.subscriber = subscriber;
    q.after = 0;
    q.limit = 100;
    q.reply = std::move(reply);
    h.gw->read_events(std::move(q));
  });
  REQUIRE(r.status == 200);
  return r.body;
}

bool has(const std::string& body, const std::string& text) {
  return body.find(text) != std::string::npos;
}
std::string text(const std::string& t) {
  return "\"text\":\"" + t + "\"";
}

class collecting_sink final : public actors::stream_sink {
 public:
  bool write(std::string frames, std::function<void()> on_written) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      data_ += frames;
    }
    on_written();
    return true;
  }
  void close() override {}
  std::string data() {
    std::lock_guard<std::mutex> lock(mutex_);
    return data_;
  }

 private:
  std::mutex mutex_;
  std::string data_;
};

}  // namespace

TEST_CASE("a STOP stored but not yet announced reaches no reader under the consent it revokes",
          "[integration][privacy][consent]") {
  receiver rx;
  auto cfg = make_config({subscriber("helpdesk", {"support"}), subscriber("promo", {"marketing"}),
                          subscriber("mkt", {"marketing"}, rx.url("/mkt"))});
  harness h(cfg, fast_settings({0ms}));
  const auto alice = subject_of(*cfg, "alice");
  auto grant = h.ask([&](actors::responder_ptr r) {
    actors::api_call c;
    c.op = "subject.consent";
    c.tenant = "acme";
    c.caller = "helpdesk";
    c.scopes = static_cast<unsigned>(config::scope::privacy);
    c.params = {alice};
    c.body = R"({"purpose":"marketing","granted":true})";
    c.reply = std::move(r);
    h.gw->call(std::move(c));
  });
  REQUIRE(grant.status == 200);
  REQUIRE(h.post("alice:m1:hello").status == 200);
  REQUIRE(has(pull(h, "promo"), text("hello")));
  REQUIRE(rx.wait_until([](const auto& all) {
    for (const auto& r : all) {
      if (r.has("hello")) {
        return true;
      }
    }
    return false;
  }));
  auto sink = std::make_shared<collecting_sink>();
  actors::stream_request sr;
  sr.tenant = "acme";
  sr.subscriber = "promo";
  sr.sink = sink;
  auto stream = h.gw->open_stream(sr);
  REQUIRE(stream);
  REQUIRE(eventually([&] { return has(sink->data(), text("hello")); }));

  // The store writer commits alice's STOP, as it would for the channel; the commit message that
  // carries it to the tenant is held back (here: by the test).
  actors::channel_logic logic("acme", cfg->tenants[0].channels[0], multi_info(),
                              cfg->storage.master_key, cfg->tenants[0].privacy);
  std::string body = "alice:m2:STOP";
  body.reserve(body.size() + 64);
  auto outcome = logic.ingest("POST", "", {}, body);
  REQUIRE(std::holds_alternative<actors::store_events>(outcome));
  std::vector<store::append_request> reqs{
      {"acme", std::move(std::get<actors::store_events>(outcome).events)}};
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(h.log->append(reqs, outcomes).ok());
  const std::uint64_t stop_seq = reqs[0].events[0].seq;
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
                  actors::save_atom::value, actors::committed_msg{reqs[0].events},
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
  REQUIRE(rx.wait_until([](const auto& all) {
    for (const auto& r : all) {
      if (r.has(R"("source":"keyword")")) {
        return true;
      }
    }
    return false;
  }));
  for (const auto& r : rx.requests()) {
    CHECK_FALSE(r.has(text("STOP")));
  }
  stream->cancel();
}

TEST_CASE("readers wait for a commit that is late and go on once it arrives",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  harness h(cfg, fast_settings({0ms}));
  REQUIRE(h.post("alice:m1:first").status == 200);
  auto sink = std::make_shared<collecting_sink>();
  actors::stream_request sr;
  sr.tenant = "acme";
  sr.subscriber = "helpdesk";
  sr.sink = sink;
  auto stream = h.gw->open_stream(sr);
  REQUIRE(stream);
  REQUIRE(eventually([&] { return has(sink->data(), text("first")); }));

  // Seq 2 is stored, its commit late; seq 3 and 4 are committed and announced around it.
  actors::channel_logic logic("acme", cfg->tenants[0].channels[0], multi_info(),
                              cfg->storage.master_key, cfg->tenants[0].privacy);
  std::string body = "carol:m2:late";
  body.reserve(body.size() + 64);
  auto outcome = logic.ingest("POST", "", {}, body);
  REQUIRE(std::holds_alternative<actors::store_events>(outcome));
  std::vector<store::append_request> reqs{
      {"acme", std::move(std::get<actors::store_events>(outcome).events)}};
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(h.log->append(reqs, outcomes).ok());
  REQUIRE(h.post("dave:m3:after|erin:m4:after too").status == 200);
  auto waiting = pull(h, "helpdesk");
  CHECK_FALSE(has(waiting, text("late")));
  CHECK_FALSE(has(waiting, R"("text":"after")"));
  CHECK(has(waiting, R"("next":1})"));

  caf::anon_send(h.gw->tenant_actor_of("acme"), actors::commit_atom::value,
                 actors::committed_msg{reqs[0].events});
  REQUIRE(eventually([&] { return has(sink->data(), text("after too")); }));
  auto data = sink->data();
  // In seq order, nothing skipped.
  CHECK(data.find(text("first")) < data.find(text("late")));
  CHECK(data.find(text("late")) < data.find(R"("text":"after")"));
  CHECK(data.find(R"("text":"after")") < data.find(text("after too")));
  auto page = pull(h, "helpdesk");
  CHECK(has(page, text("late")));
  CHECK(has(page, R"("next":4})"));
  stream->cancel();
}

TEST_CASE("events whose commit never reaches the tenant are announced after a settle interval",
          "[integration][privacy][consent]") {
  auto cfg = make_config({subscriber("helpdesk", {"support"})});
  auto log = store::make_memory_log();
  actors::gateway_options opts;
  opts.cfg = cfg;
  opts.log = log;
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
  actors::channel_logic logic("acme", cfg->tenants[0].channels[0], multi_info(),
                              cfg->storage.master_key, cfg->tenants[0].privacy);
  std::string body = "carol:m1:orphan";
  body.reserve(body.size() + 64);
  auto outcome = logic.ingest("POST", "", {}, body);
  REQUIRE(std::holds_alternative<actors::store_events>(outcome));
  std::vector<store::append_request> reqs{
      {"acme", std::move(std::get<actors::store_events>(outcome).events)}};
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(log->append(reqs, outcomes).ok());
  REQUIRE(submit_webhook(*gw, "acme", "dave:m2:after").status == 200);
  CHECK_FALSE(has(page(), text("after")));
  // Given up on within two settle intervals (plus scheduling), and then in order.
  REQUIRE(eventually([&] { return has(page(), text("after")); }, 10s));
  auto all = page();
  CHECK(all.find(text("orphan")) < all.find(text("after")));
  gw->shutdown();
}

// limits.conversations_per_tenant with the real actor tree, the real WhatsApp adapter and the
// in-memory outbox: past the cap the least recently used conversation actors are stopped, and a
// stopped conversation answers its window correctly when it comes back (restored from the
// outbox), as POST /v1/messages sees it. The platform's API is a stand-in on 127.0.0.1.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "actors/gateway_impl.hpp"
#include "core/metrics.hpp"
#include "e2e/payloads.hpp"
#include "integration/delivery/receiver.hpp"
#include "integration/gateway_support.hpp"
#include "store/outbox.hpp"
#include "store/stores.hpp"
#include "support/eventually.hpp"
#include "unit/adapters/signing.hpp"

using namespace sb;
using namespace std::chrono_literals;
namespace pl = sb::test::payloads;

namespace {

using test::eventually;

const std::string k_app_secret = "wa-app-secret-conversation-cap";

std::shared_ptr<config::config> make_config(const std::string& api_base, std::uint32_t cap) {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x05');
  cfg->storage.root_key = cfg->storage.master_key;
  cfg->limits.conversations_per_tenant = cap;  // below the loader's minimum: a test may
  config::tenant_config t;
  t.id = "acme";
  config::channel_config ch;
  ch.name = "wa-main";
  ch.type = "whatsapp";
  ch.settings["app_secret"] = k_app_secret;
  ch.settings["verify_token"] = "wa-verify";
  ch.settings["access_token"] = "wa-access-token";
  ch.settings["phone_number_id"] = pl::wa_phone_number_id;
  ch.settings["api_base"] = api_base;
  t.channels.push_back(ch);
  cfg->tenants.push_back(t);
  return cfg;
}

struct harness {
  store::stores stores = store::make_memory_stores();
  std::shared_ptr<store::event_log> log = stores.log;
  std::shared_ptr<store::outbox> box = store::make_memory_outbox();
  std::unique_ptr<actors::gateway_with_actors> gw;

  explicit harness(std::shared_ptr<config::config> cfg) {
    actors::gateway_options opts;
    opts.cfg = std::move(cfg);
    opts.stores = stores;
    opts.outbox = box;
    opts.retention_sweep_interval = 0ms;
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { gw->shutdown(); }

  template <class F>
  actors::http_response ask(F&& call) {
    return test::ask(std::forward<F>(call));
  }

  /// A signed WhatsApp webhook: one text message from `wa_id` sent at `at_s` (Unix seconds).
  actors::http_response message(int n, const std::string& wa_id, long at_s) {
    const auto body = pl::wa_text_webhook(pl::wamid(n), wa_id, "Person " + wa_id, "hi", at_s);
    return ask([&](actors::responder_ptr r) {
      actors::webhook_submission w;
      w.tenant = "acme";
      w.channel = "wa-main";
      w.method = "POST";
      w.headers = test::sign_for("whatsapp", {{"app_secret", k_app_secret}}, body);
      w.body = body;
      w.body.reserve(body.size() + 64);
      w.reply = std::move(r);
      gw->submit(std::move(w));
    });
  }

  /// POST /v1/messages: a free-form text to `wa_id` (needs the 24-hour window).
  actors::http_response reply_to(const std::string& wa_id) {
    return ask([&](actors::responder_ptr r) {
      actors::api_call c;
      c.handler = test::api_handler_of("message.send");
      c.tenant = "acme";
      c.caller = "helpdesk";
      c.scopes = static_cast<unsigned>(config::scope::send);
      c.body = R"({"channel":"wa-main","to":")" + wa_id + R"(","text":"Your order shipped."})";
      c.reply = std::move(r);
      gw->call(std::move(c));
    });
  }

  actors::tenant_stats stats() {
    actors::tenant_stats out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of("acme"), 5s, actors::stats_atom::value)
        .receive([&](actors::tenant_stats s) { out = s; },
                 [&](caf::error&) { FAIL("stats request failed"); });
    return out;
  }

  bool live(const std::string& wa_id) {
    bool found = false;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of("acme"), 5s, actors::find_conv_atom::value,
                  "wa-main:" + wa_id)
        .receive([&](actors::conversation_actor a) { found = static_cast<bool>(a); },
                 [&](caf::error&) {});
    return found;
  }
};

std::uint64_t evictions() {
  return metrics::catalog::conversation_evictions().with({{"tenant", "acme"}}).value();
}
std::int64_t actors_gauge() {
  return metrics::catalog::conversation_actors().with({{"tenant", "acme"}}).value();
}

}  // namespace

TEST_CASE(
    "past the conversation cap the least recently used actors are stopped and an evicted "
    "conversation's window is restored on its next event",
    "[integration][actors][limits]") {
  test::receiver platform([](const test::received_request&, std::size_t i) {
    test::reply r;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],)"
             R"("messages":[{"id":"wamid.OUT)" +
             std::to_string(i) + R"("}]})";
    return r;
  });
  harness h(make_config(platform.url("/v21.0"), 3));
  const std::uint64_t evicted_before = evictions();
  const long now_s = now().unix_ms / 1000;
  const long hour = 3600;

  // Anna wrote 23 hours ago: her window is open for one more hour.
  REQUIRE(h.message(1, "4915100000001", now_s - 23 * hour).status == 200);
  // Three more people write: the third of them needs room, so Anna's actor (the least recently
  // used) is stopped.
  for (int i = 2; i <= 4; ++i) {
    REQUIRE(h.message(i, "491510000000" + std::to_string(i), now_s - 60).status == 200);
  }
  // The commit reaches the tenant before the 200: the count is already exact.
  CHECK(h.stats().conversations == 3);
  CHECK(evictions() - evicted_before == 1);
  CHECK(actors_gauge() == 3);
  CHECK_FALSE(h.live("4915100000001"));
  CHECK(h.live("4915100000002"));
  // A new event for a live conversation makes it the most recent: 3 goes next, not 2.
  REQUIRE(h.message(5, "4915100000002", now_s - 30).status == 200);
  REQUIRE(h.message(6, "4915100000005", now_s - 30).status == 200);
  CHECK(h.stats().conversations == 3);
  CHECK(evictions() - evicted_before == 2);
  CHECK(h.live("4915100000002"));
  CHECK_FALSE(h.live("4915100000003"));

  // Anna's next event: a message the platform delivers late, sent 25 hours ago. A fresh actor
  // that knew only this event would think her window closed; restored from the outbox, it
  // knows her message of 23 hours ago.
  REQUIRE(h.message(7, "4915100000001", now_s - 25 * hour).status == 200);
  CHECK(h.live("4915100000001"));
  CHECK(h.stats().conversations == 3);
  CHECK(actors_gauge() == 3);
  auto r = h.reply_to("4915100000001");
  INFO(r.body);
  CHECK(r.status == 202);

  // The control: someone whose only message is 25 hours old really is outside the window.
  REQUIRE(h.message(8, "4915100000009", now_s - 25 * hour).status == 200);
  auto closed = h.reply_to("4915100000009");
  CHECK(closed.status == 409);
  CHECK(closed.body.find(R"("error":"window_closed")") != std::string::npos);

  // The cap held throughout; conversations that were stopped answered as if they never were.
  CHECK(h.stats().conversations == 3);
  CHECK(evictions() - evicted_before == 4);
  REQUIRE(eventually([&] { return platform.requests().size() == 1; }));
}

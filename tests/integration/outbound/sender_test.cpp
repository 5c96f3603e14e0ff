// The sender actors with the real Telegram adapter against a fake Bot API on 127.0.0.1: rate
// limits with retry_after, 5xx retries, order across retries, permanent failures carried in
// outbound.status, and a restart that resumes queued sends from the SQLite outbox.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/gateway_impl.hpp"
#include "adapters/outbound.hpp"
#include "core/ids.hpp"
#include "integration/delivery/receiver.hpp"
#include "store/outbox.hpp"
#include "store/sqlite_log.hpp"
#include "store/stores.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

const std::string k_master_key(32, 'q');
const std::string k_token = "123456:test-token";

using test::temp_dir;

using test::eventually;

/// Tenant "acme" with a Telegram channel "tg" whose Bot API is `api_base`. `fast`: a recipient
/// bucket of 10 at once (the default 1 per second per chat would make order tests slow).
std::shared_ptr<config::config> make_config(const std::string& api_base, bool fast) {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = k_master_key;
  cfg->storage.root_key = k_master_key;
  config::tenant_config t;
  t.id = "acme";
  config::channel_config ch;
  ch.name = "tg";
  ch.type = "telegram";
  ch.settings["secret_token"] = "s3cret";
  ch.settings["bot_token"] = k_token;
  ch.settings["api_base"] = api_base;
  if (fast) {
    ch.settings["recipient_burst"] = "10";
    ch.settings["recipient_per_minute"] = "600";
  }
  t.channels.push_back(ch);
  cfg->tenants.push_back(t);
  return cfg;
}

actors::sender_settings fast_settings() {
  actors::sender_settings s;
  s.backoff_initial = 20ms;
  s.jitter = 0;
  s.timeout = 5s;
  return s;
}

test::reply telegram_ok(int message_id) {
  test::reply r;
  r.body = R"({"ok":true,"result":{"message_id":)" + std::to_string(message_id) +
           R"(,"chat":{"id":1},"date":1700000000,"text":"x"}})";
  r.headers = {{"Content-Type", "application/json"}};
  return r;
}

test::reply telegram_error(int status, const std::string& body) {
  test::reply r;
  r.status = status;
  r.body = body;
  r.headers = {{"Content-Type", "application/json"}};
  return r;
}

/// The text of a sendMessage body ({"chat_id":..,"text":"<text>",...}).
std::string text_of(const test::received_request& r) {
  auto at = r.body.find("\"text\":\"");
  if (at == std::string::npos) {
    return {};
  }
  at += 8;
  return r.body.substr(at, r.body.find('"', at) - at);
}

std::string chat_of(const test::received_request& r) {
  auto at = r.body.find("\"chat_id\":");
  if (at == std::string::npos) {
    return {};
  }
  at += 10;
  return r.body.substr(at, r.body.find_first_of(",}", at) - at);
}

/// The sender of `tenant`'s channel "tg", once it is up.
actors::sender_actor find_sender(actors::gateway_with_actors& gw, const std::string& tenant) {
  actors::sender_actor out;
  REQUIRE(eventually([&] {
    caf::scoped_actor self{gw.system()};
    self->request(gw.tenant_actor_of(tenant), 5s, actors::find_send_atom::value, std::string("tg"))
        .receive([&](actors::sender_actor a) { out = a; }, [&](caf::error&) {});
    return static_cast<bool>(out);
  }));
  return out;
}

/// The gateway's outbox writer now (null while it restarts, or when there is no outbox).
actors::outbox_writer_actor find_outbox_writer(actors::gateway_with_actors& gw) {
  actors::outbox_writer_actor out;
  caf::scoped_actor self{gw.system()};
  self->request(gw.root_actor(), 5s, actors::find_outbox_atom::value)
      .receive([&](actors::outbox_writer_actor w) { out = std::move(w); }, [&](caf::error&) {});
  return out;
}

/// Accepts a text message to `chat` on `tenant`'s "tg" as the API handler does; retries while
/// the sender is still resuming. Returns the stored record.
store::outbound_record accept_send(actors::gateway_with_actors& gw, const std::string& tenant,
                                   const std::string& chat, const std::string& text,
                                   const std::string& idempotency_key = {}) {
  adapters::outbound_message m;
  m.id = ids::make("out_");
  m.tenant = tenant;
  m.channel = "tg";
  m.channel_type = "telegram";
  m.to = chat;
  m.conversation = "tg:" + chat;
  m.text = text;
  m.idempotency_key = idempotency_key;
  m.created_at = now();
  store::outbound_record r;
  r.id = m.id;
  r.tenant = m.tenant;
  r.channel = m.channel;
  r.conversation = m.conversation;
  r.recipient = chat;
  r.subject = "sub_" + chat;
  r.purpose = m.purpose;
  r.message = adapters::to_json(m);
  r.caller = "helpdesk";
  r.idempotency_key = idempotency_key;
  r.created_at = m.created_at;
  r.updated_at = m.created_at;
  actors::send_accepted out;
  REQUIRE(eventually([&] {
    caf::scoped_actor self{gw.system()};
    self->request(find_sender(gw, tenant), 10s, actors::send_atom::value, actors::outbound_send{r})
        .receive([&](actors::send_accepted& a) { out = std::move(a); },
                 [&](caf::error&) {
                   out.st = error{errc::unavailable, "no answer"};
                 });
    return out.st.ok() || out.st.err().code != errc::unavailable;
  }));
  INFO((out.st ? std::string() : out.st.err().message));
  REQUIRE(out.st.ok());
  return out.record;
}

struct harness {
  store::stores stores;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::outbox> box;
  std::unique_ptr<actors::gateway_with_actors> gw;

  /// In memory, or durable in `dir` when given.
  harness(std::shared_ptr<config::config> cfg, const std::string& dir = {}) {
    actors::gateway_options opts;
    opts.cfg = std::move(cfg);
    if (!dir.empty()) {
      auto s = store::make_sqlite_stores(dir, config::durability::fsync, k_master_key);
      REQUIRE(s.ok());
      stores = s.value();
      auto b = store::make_sqlite_outbox(dir, config::durability::fsync, k_master_key);
      REQUIRE(b.ok());
      box = b.value();
      opts.store_blocks = true;
      opts.outbox_blocks = true;
    } else {
      stores = store::make_memory_stores();
      box = store::make_memory_outbox();
    }
    log = stores.log;
    opts.stores = stores;
    opts.outbox = box;
    opts.senders = fast_settings();
    opts.retention_sweep_interval = 0ms;
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { stop(); }

  void stop() {
    if (gw) {
      gw->shutdown();
      gw.reset();
    }
    box.reset();
    log.reset();
    stores = {};
  }

  actors::sender_actor sender(const std::string& tenant = "acme") {
    return find_sender(*gw, tenant);
  }

  actors::sender_stats stats() {
    actors::sender_stats out;
    caf::scoped_actor self{gw->system()};
    self->request(sender(), 5s, actors::stats_atom::value)
        .receive([&](actors::sender_stats s) { out = s; },
                 [&](caf::error&) { FAIL("sender stats request failed"); });
    return out;
  }

  /// Accepts a text message to `chat` (accept_send).
  store::outbound_record send(const std::string& chat, const std::string& text,
                              const std::string& idempotency_key = {},
                              const std::string& tenant = "acme") {
    return accept_send(*gw, tenant, chat, text, idempotency_key);
  }

  store::outbound_record record(const std::string& id) {
    auto r = box->get("acme", id);
    REQUIRE(r.ok());
    return r.value();
  }

  bool state_is(const std::string& id, store::outbound_state s,
                const std::string& tenant = "acme") {
    auto r = box->get(tenant, id);
    return r.ok() && r->state == s;
  }

  actors::outbox_writer_actor outbox_writer() { return find_outbox_writer(*gw); }

  /// The stored outbound.status events' JSON.
  std::vector<std::string> status_events() {
    auto r = log->read("acme", 0, 1000, {"outbound.status"});
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (auto& e : r->events) {
      out.push_back(e.json);
    }
    return out;
  }
};

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a Telegram 429 with retry_after is waited out, then the message is sent",
          "[sender][integration]") {
  test::receiver server([](const test::received_request&, std::size_t i) {
    return i == 0
               ? telegram_error(429, R"({"ok":false,"error_code":429,"description":"Too Many )"
                                     R"(Requests: retry after 1","parameters":{"retry_after":1}})")
               : telegram_ok(77);
  });
  harness h(make_config(server.url(""), false));
  auto r = h.send("1001", "hello");
  CHECK(r.state == store::outbound_state::queued);
  REQUIRE(server.wait_for_count(2));
  REQUIRE(eventually([&] { return h.state_is(r.id, store::outbound_state::sent); }));
  const auto reqs = server.requests();
  CHECK(reqs[0].target == "/bot" + k_token + "/sendMessage");
  CHECK(text_of(reqs[0]) == "hello");
  CHECK(text_of(reqs[1]) == "hello");
  // Not before the second Telegram asked for (no upper bound: timing is not asserted).
  CHECK(reqs[1].at - reqs[0].at >= 1s);
  auto rec = h.record(r.id);
  CHECK(rec.platform_message_id == "77");
  CHECK(rec.attempts == 2);
  auto s = h.stats();
  CHECK(s.rate_limited == 1);
  CHECK(s.sent == 1);
  CHECK(s.retries == 0);
  REQUIRE(eventually([&] { return h.status_events().size() == 1; }));
  const auto ev = h.status_events()[0];
  CHECK(has(ev, R"("type":"outbound.status")"));
  CHECK(has(ev, R"("conversation":"tg:1001")"));
  CHECK(has(ev, R"("outbound":{"id":")" + r.id + R"(","state":"sent","platform_message_id":"77")"));
  CHECK(has(ev, R"("attempts":2)"));
}

TEST_CASE("5xx answers and dropped connections are retried until the message is sent",
          "[sender][integration]") {
  test::receiver server([](const test::received_request&, std::size_t i) {
    if (i == 0) {
      return telegram_error(500, R"({"ok":false,"error_code":500,"description":"oops"})");
    }
    if (i == 1) {
      return telegram_error(502, "<html>bad gateway</html>");
    }
    return telegram_ok(5);
  });
  harness h(make_config(server.url(""), false));
  auto r = h.send("1001", "again");
  REQUIRE(eventually([&] { return h.state_is(r.id, store::outbound_state::sent); }));
  CHECK(server.count() == 3);
  CHECK(h.record(r.id).attempts == 3);
  CHECK(h.record(r.id).error_code.empty());
  CHECK(h.stats().retries == 2);
}

TEST_CASE("a conversation's messages reach the platform in order across a retry",
          "[sender][integration]") {
  std::atomic<bool> failed_once{false};
  test::receiver server([&](const test::received_request& req, std::size_t i) {
    if (text_of(req) == "m1" && !failed_once.exchange(true)) {
      return telegram_error(503, R"({"ok":false,"error_code":503,"description":"busy"})");
    }
    return telegram_ok(static_cast<int>(i) + 1);
  });
  harness h(make_config(server.url(""), true));
  std::vector<store::outbound_record> sent;
  for (int i = 0; i < 6; ++i) {
    sent.push_back(h.send("1001", "m" + std::to_string(i)));
    h.send("2002", "n" + std::to_string(i));  // another chat, interleaved
  }
  REQUIRE(eventually([&] {
    for (const auto& r : sent) {
      if (!h.state_is(r.id, store::outbound_state::sent)) {
        return false;
      }
    }
    return true;
  }));
  std::vector<std::string> chat1;
  for (const auto& req : server.requests()) {
    if (chat_of(req) == "1001") {
      chat1.push_back(text_of(req));
    }
  }
  CHECK(chat1 == std::vector<std::string>{"m0", "m1", "m1", "m2", "m3", "m4", "m5"});
}

TEST_CASE("a permanent error fails the message at once with the platform's error",
          "[sender][integration]") {
  test::receiver server([](const test::received_request& req, std::size_t i) {
    if (text_of(req) == "bad") {
      return telegram_error(
          400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
    }
    return telegram_ok(9);
  });
  harness h(make_config(server.url(""), true));
  auto bad = h.send("1001", "bad");
  auto next = h.send("1001", "next");
  REQUIRE(eventually([&] { return h.state_is(next.id, store::outbound_state::sent); }));
  auto rec = h.record(bad.id);
  CHECK(rec.state == store::outbound_state::failed);
  CHECK(rec.attempts == 1);
  CHECK(rec.error_code == "400");
  CHECK(rec.error_title == "Bad Request: chat not found");
  CHECK(server.count() == 2);
  REQUIRE(eventually([&] { return h.status_events().size() == 2; }));
  const auto events = h.status_events();
  CHECK(has(events[0], R"("state":"failed")"));
  CHECK(has(events[0], R"("error":{"code":"400","title":"Bad Request: chat not found"})"));
  CHECK(has(events[1], R"("state":"sent")"));
}

TEST_CASE("an idempotent replay is answered with the first message and sent once",
          "[sender][integration]") {
  test::receiver server([](const test::received_request&, std::size_t) { return telegram_ok(3); });
  harness h(make_config(server.url(""), true));
  auto first = h.send("1001", "once", "key-1");
  auto replay = h.send("1001", "once", "key-1");
  CHECK(replay.id == first.id);
  REQUIRE(eventually([&] { return h.state_is(first.id, store::outbound_state::sent); }));
  std::this_thread::sleep_for(100ms);  // room for a wrong second request to show up
  CHECK(server.count() == 1);
}

TEST_CASE("a restart resumes queued and in-flight sends from the outbox, in order",
          "[sender][integration]") {
  temp_dir dir{"sb-sender"};
  std::vector<store::outbound_record> records;
  {
    // The first platform holds every request open: one per chat is in flight ("sending"), the
    // rest are queued behind it when the gateway stops.
    test::receiver stuck([](const test::received_request&, std::size_t) {
      test::reply r;
      r.hang = true;
      return r;
    });
    harness h(make_config(stuck.url(""), true), dir.path);
    for (int i = 0; i < 3; ++i) {
      for (const char* chat : {"1001", "2002", "3003"}) {
        records.push_back(h.send(chat, std::string("c") + chat + "-" + std::to_string(i)));
      }
    }
    REQUIRE(stuck.wait_for_count(3));
    REQUIRE(eventually([&] { return h.state_is(records[0].id, store::outbound_state::sending); }));
    CHECK(h.stats().in_flight == 3);
    h.stop();  // the gateway goes away with 9 messages unsent
    stuck.stop();
  }
  test::receiver server([](const test::received_request&, std::size_t i) {
    return telegram_ok(100 + static_cast<int>(i));
  });
  harness h(make_config(server.url(""), true), dir.path);
  REQUIRE(eventually([&] {
    for (const auto& r : records) {
      if (!h.state_is(r.id, store::outbound_state::sent)) {
        return false;
      }
    }
    return true;
  }));
  CHECK(h.stats().resumed == 9);
  CHECK(server.count() == 9);
  std::map<std::string, std::vector<std::string>> per_chat;
  for (const auto& req : server.requests()) {
    per_chat[chat_of(req)].push_back(text_of(req));
  }
  for (const char* chat : {"1001", "2002", "3003"}) {
    const std::string c = std::string("c") + chat + "-";
    CHECK(per_chat[chat] == std::vector<std::string>{c + "0", c + "1", c + "2"});
  }
  // The first attempts counted: the in-flight ones were tried twice in all.
  CHECK(h.record(records[0].id).attempts == 2);
  CHECK(h.record(records[3].id).attempts == 1);
  REQUIRE(eventually([&] { return h.status_events().size() == 9; }));
}

TEST_CASE("one outbox writer serves every tenant and is replaced for all when it crashes",
          "[sender][integration]") {
  test::receiver server([](const test::received_request&, std::size_t i) {
    return telegram_ok(200 + static_cast<int>(i));
  });
  temp_dir dir{"sb-sender"};
  auto cfg = make_config(server.url(""), true);
  auto globex = cfg->tenants.front();
  globex.id = "globex";
  cfg->tenants.push_back(globex);
  harness h(cfg, dir.path);
  const auto first = h.outbox_writer();
  REQUIRE(first);
  auto a = h.send("1001", "before, acme");
  auto g = h.send("2002", "before, globex", {}, "globex");
  REQUIRE(eventually([&] {
    return h.state_is(a.id, store::outbound_state::sent) &&
           h.state_is(g.id, store::outbound_state::sent, "globex");
  }));

  // The writer crashes: the root makes another and hands it to both tenants' senders.
  caf::anon_send_exit(first, caf::exit_reason::kill);
  actors::outbox_writer_actor second;
  REQUIRE(eventually([&] {
    second = h.outbox_writer();
    return second && second.address() != first.address();
  }));
  auto a2 = h.send("1001", "after, acme");
  auto g2 = h.send("2002", "after, globex", {}, "globex");
  REQUIRE(eventually([&] {
    return h.state_is(a2.id, store::outbound_state::sent) &&
           h.state_is(g2.id, store::outbound_state::sent, "globex");
  }));
  CHECK(h.outbox_writer().address() == second.address());
  CHECK(server.count() == 4);
}

TEST_CASE("a reconfigure that adds the gateway's first sendable channel gives it an outbox writer",
          "[sender][integration][reload]") {
  test::receiver server([](const test::received_request&, std::size_t i) {
    return telegram_ok(300 + static_cast<int>(i));
  });
  // No channel, no outbox: the gateway starts without an outbox writer.
  auto empty = make_config(server.url(""), true);
  const auto tg = empty->tenants.front().channels.front();
  empty->tenants.front().channels.clear();
  actors::gateway_options opts;
  opts.cfg = empty;
  opts.stores = store::make_memory_stores();
  opts.senders = fast_settings();
  opts.retention_sweep_interval = 0ms;
  auto gw = actors::start_gateway(std::move(opts));
  CHECK_FALSE(find_outbox_writer(*gw));

  auto next = std::make_shared<config::config>(*empty);
  next->tenants.front().channels.push_back(tg);
  REQUIRE(gw->reconfigure(next).ok());
  CHECK(find_outbox_writer(*gw));
  accept_send(*gw, "acme", "4004", "first send after the reload");
  REQUIRE(server.wait_for_count(1));
  CHECK(text_of(server.requests().front()) == "first send after the reload");
  gw->shutdown();
}

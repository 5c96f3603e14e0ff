// The actor tree in process: real actors, real event log, a test adapter standing in for a
// platform (the real adapters are covered by unit and end-to-end tests).
#include <functional>
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "actors/gateway_impl.hpp"
#include "core/crypto.hpp"
#include "integration/gateway_support.hpp"
#include "store/stores.hpp"
#include "support/eventually.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

using test::collecting_sink;
using test::eventually;

// Body: "<peer>:<message id>:<text>". Signature header: x-test-sig = secret. Body "crash" throws
// inside the actor, as a bug in a parser would.
class test_adapter final : public adapters::adapter {
 public:
  explicit test_adapter(const config::channel_config& c) : channel_(c) {}
  status verify(const adapters::request& req) const override {
    auto sig = req.header_value("x-test-sig");
    if (sig.empty()) {
      return {errc::missing_signature, "no x-test-sig"};
    }
    if (!crypto::constant_time_equal(sig, channel_.get("secret"))) {
      return {errc::bad_signature, "wrong x-test-sig"};
    }
    return {};
  }
  status parse(const adapters::request& req, std::vector<event>& out) override {
    std::string body(req.body);
    if (body == "crash") {
      throw std::runtime_error("adapter bug");
    }
    event e;
    if (auto st = test::parse_text_message(body, channel_.name, e); !st) {
      return st;
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  config::channel_config channel_;
};

const adapters::adapter_info& test_info() {
  static const adapters::adapter_info info = [] {
    adapters::adapter_info i;
    i.type = "test";
    i.schema.type = "test";
    i.schema.settings = {{"secret", true, true, "", "shared secret"}};
    i.headers = {"x-test-sig"};
    i.make = [](const config::channel_config& c) -> std::unique_ptr<adapters::adapter> {
      return std::make_unique<test_adapter>(c);
    };
    i.account = [](const config::channel_config&) { return std::string("acct"); };
    return i;
  }();
  return info;
}

std::shared_ptr<config::config> make_config() {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x07');
  cfg->storage.root_key = cfg->storage.master_key;
  for (const char* id : {"acme", "globex"}) {
    config::tenant_config t;
    t.id = id;
    config::channel_config ch;
    ch.name = "chat";
    ch.type = "test";
    ch.settings["secret"] = std::string("s3cret-") + id;
    t.channels.push_back(ch);
    cfg->tenants.push_back(t);
  }
  return cfg;
}

struct harness {
  store::stores stores = store::make_memory_stores();
  std::shared_ptr<store::event_log> log = stores.log;
  std::unique_ptr<actors::gateway_with_actors> gw;

  explicit harness(actors::actor_settings settings = {},
                   const std::function<void(store::event_log&)>& before_start = {}) {
    if (before_start) {
      before_start(*log);
    }
    actors::gateway_options opts;
    opts.cfg = make_config();
    opts.stores = stores;
    opts.settings = settings;
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &test_info() : nullptr;
    };
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { gw->shutdown(); }

  actors::http_response post(const std::string& tenant, const std::string& body,
                             const std::string& sig = "") {
    return test::ask(
        [&](actors::responder_ptr r) {
          actors::webhook_submission w;
          w.tenant = tenant;
          w.channel = "chat";
          w.method = "POST";
          w.headers.push_back({"x-test-sig", sig.empty() ? "s3cret-" + tenant : sig});
          w.body = body;
          w.body.reserve(body.size() + 64);
          w.reply = std::move(r);
          gw->submit(std::move(w));
        },
        5s);
  }

  actors::tenant_stats stats(const std::string& tenant) {
    actors::tenant_stats out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of(tenant), 2s, actors::stats_atom::value)
        .receive([&](actors::tenant_stats s) { out = s; },
                 [&](caf::error& e) { FAIL("stats request failed"); });
    return out;
  }

  /// A live stream of `tenant` for the helpdesk subscriber, after seq `after`, into `sink`.
  std::shared_ptr<actors::stream_handle> stream(const std::string& tenant, std::uint64_t after,
                                                std::shared_ptr<collecting_sink> sink) {
    actors::stream_request req;
    req.tenant = tenant;
    req.subscriber = "helpdesk";
    req.after = after;
    req.sink = std::move(sink);
    return gw->open_stream(req);
  }

  /// The current actor of `tenant`'s channel `name` (null when there is none).
  actors::channel_actor channel(const std::string& tenant, const std::string& name) {
    actors::channel_actor out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of(tenant), 2s, actors::find_chan_atom::value, name)
        .receive([&](actors::channel_actor a) { out = a; }, [&](caf::error&) {});
    return out;
  }

  /// The live actor of `tenant`'s conversation `key` (null when there is none).
  actors::conversation_actor conversation(const std::string& tenant, const std::string& key) {
    actors::conversation_actor out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of(tenant), 2s, actors::find_conv_atom::value, key)
        .receive([&](actors::conversation_actor a) { out = a; }, [&](caf::error&) {});
    return out;
  }
};

/// Stores `n` messages of acme ("history 1" ... "history n") before the gateway starts: in the
/// store only, not in the live tail, so reading them goes through the catch-up reader.
void store_history(store::event_log& log, int n) {
  std::vector<store::append_request> reqs(1);
  reqs[0].tenant = "acme";
  for (int i = 1; i <= n; ++i) {
    event e;
    e.id = "evt_" + std::to_string(i);
    e.tenant = "acme";
    e.channel = {"chat", "test", "acct"};
    e.type = event_type::message;
    e.dedupe_key = "h" + std::to_string(i);
    e.content.text = "history " + std::to_string(i);
    e.received_at = now();
    reqs[0].events.push_back(std::move(e));
  }
  std::vector<std::vector<store::append_outcome>> out;
  REQUIRE(log.append(reqs, out).ok());
}

}  // namespace

TEST_CASE("a verified webhook is acknowledged once stored and gets the tenant's next seq",
          "[integration][actors]") {
  harness h;
  auto r = h.post("acme", "alice:m1:hello");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok","events":1,"duplicates":0})");
  auto read = h.log->read("acme", 0, 10, {});
  REQUIRE(read.ok());
  REQUIRE(read->events.size() == 1);
  CHECK(read->events[0].seq == 1);
  CHECK(read->events[0].json.find(R"("conversation":"chat:alice")") != std::string::npos);
  CHECK(read->events[0].json.find(R"("subject":"sub_)") != std::string::npos);
  CHECK(h.log->head("globex") == 0);
}

TEST_CASE("a platform retry of the same message is stored once", "[integration][actors]") {
  harness h;
  for (int i = 0; i < 3; ++i) {
    CHECK(h.post("acme", "alice:m1:hello").status == 200);
  }
  CHECK(h.post("acme", "alice:m1:hello").body == R"({"status":"ok","events":0,"duplicates":1})");
  CHECK(h.log->head("acme") == 1);
}

TEST_CASE("a forged signature is rejected and nothing is stored", "[integration][actors]") {
  harness h;
  auto r = h.post("acme", "alice:m1:hello", "s3cret-globex");
  CHECK(r.status == 401);
  CHECK(r.body.find(R"("error":"bad_signature")") != std::string::npos);
  CHECK(h.log->head("acme") == 0);
}

TEST_CASE("an unparseable but signed body is quarantined and answered 400",
          "[integration][actors]") {
  harness h;
  auto r = h.post("acme", "no separators here");
  CHECK(r.status == 400);
  CHECK(r.body.find(R"("error":"malformed_body")") != std::string::npos);
  auto q = h.log->quarantined("acme");
  REQUIRE(q.size() == 1);
  CHECK(q[0].body == "no separators here");
  CHECK(h.log->head("acme") == 0);
}

TEST_CASE("a crashed channel actor is restarted and the request in flight is answered",
          "[integration][actors][supervision]") {
  harness h;
  auto before = h.channel("acme", "chat");
  REQUIRE(before);
  auto r = h.post("acme", "crash");
  CHECK(r.status == 503);
  CHECK(r.body.find(R"("error":"unavailable")") != std::string::npos);
  REQUIRE(std::find_if(r.headers.begin(), r.headers.end(), [](const auto& kv) {
            return kv.first == "Retry-After";
          }) != r.headers.end());
  REQUIRE(eventually([&] { return h.stats("acme").channel_restarts == 1; }));
  REQUIRE(eventually([&] {
    auto now = h.channel("acme", "chat");
    return now && now != before;
  }));
  CHECK(h.post("acme", "alice:m2:after the crash").status == 200);
  CHECK(h.log->head("acme") == 1);
}

TEST_CASE("a killed conversation actor is replaced on the conversation's next event",
          "[integration][actors][supervision]") {
  harness h;
  REQUIRE(h.post("acme", "bob:m1:one").status == 200);
  actors::conversation_actor conv;
  REQUIRE(eventually([&] { return static_cast<bool>(conv = h.conversation("acme", "chat:bob")); }));
  caf::anon_send_exit(conv, caf::exit_reason::kill);
  REQUIRE(eventually([&] { return h.stats("acme").conversation_restarts == 1; }));
  REQUIRE(h.post("acme", "bob:m2:two").status == 200);
  REQUIRE(eventually([&] {
    auto now = h.conversation("acme", "chat:bob");
    return now && now != conv;
  }));
}

TEST_CASE("idle conversation actors expire", "[integration][actors]") {
  actors::actor_settings s;
  s.conversation_idle = 100ms;
  harness h(s);
  REQUIRE(h.post("acme", "carol:m1:hi").status == 200);
  REQUIRE(h.post("acme", "dave:m2:hi").status == 200);
  CHECK(eventually([&] { return h.stats("acme").conversations == 0; }));
}

TEST_CASE("a live stream sends events after its cursor, in seq order, and stops on cancel",
          "[integration][actors][stream]") {
  harness h;
  REQUIRE(h.post("acme", "alice:m1:first").status == 200);
  auto sink = std::make_shared<collecting_sink>();
  auto handle = h.stream("acme", 1, sink);
  REQUIRE(h.post("acme", "alice:m2:second").status == 200);
  REQUIRE(h.post("acme", "bob:m3:third").status == 200);
  REQUIRE(h.post("globex", "eve:m4:other tenant").status == 200);
  REQUIRE(eventually([&] { return sink->data().find("id: 3\n") != std::string::npos; }));
  auto data = sink->data();
  CHECK(data.find("id: 1\n") == std::string::npos);
  CHECK(data.find("id: 2\nevent: message\ndata: {") < data.find("id: 3\n"));
  CHECK(data.find("other tenant") == std::string::npos);
  handle->cancel();
  CHECK(eventually([&] { return sink->closed(); }));
  CHECK(eventually([&] { return h.stats("acme").streams == 0; }));
}

TEST_CASE("shutdown stops every actor and closes open streams", "[integration][actors]") {
  harness h;
  auto sink = std::make_shared<collecting_sink>();
  actors::stream_request req;
  req.tenant = "acme";
  req.sink = sink;
  auto handle = h.gw->open_stream(req);
  REQUIRE(eventually([&] { return h.stats("acme").streams == 1; }));
  h.gw->shutdown();
  CHECK(sink->closed());
  CHECK_FALSE(h.gw->ready());
}

TEST_CASE("a killed store writer is restarted and ingestion resumes on the same log",
          "[integration][actors][supervision]") {
  harness h;
  REQUIRE(h.post("acme", "alice:m1:before").status == 200);
  auto store_writer = [&] {
    actors::store_writer_actor out;
    caf::scoped_actor self{h.gw->system()};
    self->request(h.gw->root_actor(), 2s, actors::find_store_atom::value)
        .receive([&](actors::store_writer_actor a) { out = a; }, [&](caf::error&) {});
    return out;
  };
  auto before = store_writer();
  REQUIRE(before);
  caf::anon_send_exit(before, caf::exit_reason::kill);
  REQUIRE(eventually([&] {
    auto now = store_writer();
    return now && now != before;
  }));
  // Channels learn the new writer asynchronously: a request may still meet the old one (503).
  REQUIRE(eventually([&] { return h.post("acme", "alice:m2:after").status == 200; }));
  CHECK(h.post("acme", "alice:m1:before").body == R"({"status":"ok","events":0,"duplicates":1})");
  CHECK(h.log->head("acme") == 2);
}

TEST_CASE("pull pages of history older than the live tail are read by the catch-up reader",
          "[integration][actors][pull]") {
  // 250 events in the store only (`store_history`). Their pages cannot come from memory
  // (`events_page_cached` answers none), so the catch-up reader reads them; the page after the
  // live event comes from the tail.
  constexpr int k_history = 250;
  harness h({}, [](store::event_log& log) { store_history(log, k_history); });
  REQUIRE(h.post("acme", "alice:m1:live").status == 200);
  auto pull = [&](std::uint64_t after) {
    return test::ask(
        [&](actors::responder_ptr r) {
          actors::events_query q;
          q.tenant = "acme";
          q.subscriber = "helpdesk";
          q.after = after;
          q.limit = 100;
          q.reply = std::move(r);
          h.gw->read_events(std::move(q));
        },
        5s);
  };
  std::uint64_t after = 0;
  std::string all;
  for (int pages = 0; pages < 10; ++pages) {
    auto r = pull(after);
    REQUIRE(r.status == 200);
    const auto at = r.body.rfind(R"("next":)");
    REQUIRE(at != std::string::npos);
    const auto next = std::stoull(r.body.substr(at + 7));
    if (next == after) {
      break;
    }
    after = next;
    all += r.body;
  }
  CHECK(after == k_history + 1);
  std::size_t at = 0;
  for (int seq = 1; seq <= k_history + 1; ++seq) {
    const auto found = all.find(R"("seq":)" + std::to_string(seq) + ",", at);
    REQUIRE(found != std::string::npos);  // every event once, in seq order
    at = found;
  }
  CHECK(all.find("history 250") < all.find("live"));
}

TEST_CASE("a stream replays history older than the live tail, then goes on live",
          "[integration][actors][stream]") {
  // Stored before the gateway started: in the store only, not in the live tail, so the replay
  // goes through the catch-up reader (actors/history_reader.hpp).
  constexpr int k_history = 600;
  harness h({}, [](store::event_log& log) { store_history(log, k_history); });
  auto sink = std::make_shared<collecting_sink>();
  auto handle = h.stream("acme", 0, sink);
  REQUIRE(h.post("acme", "alice:m1:live").status == 200);
  const std::string last = "id: " + std::to_string(k_history + 1) + "\n";
  REQUIRE(eventually([&] { return sink->data().find(last) != std::string::npos; }));
  auto data = sink->data();
  std::size_t at = 0;
  for (int seq = 1; seq <= k_history + 1; ++seq) {
    const auto found = data.find("id: " + std::to_string(seq) + "\n", at);
    REQUIRE(found != std::string::npos);  // every event, in seq order
    at = found;
  }
  CHECK(data.find("history 600") < data.find("live"));
  handle->cancel();
}

// A running gateway reconfigured in process (gateway::reconfigure, docs/architecture.md
// "Reconfigure"): tenants and channels added and removed, a secret rotated, and a stream of a
// changed tenant kept open across it.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/gateway_impl.hpp"
#include "config/diff.hpp"
#include "core/crypto.hpp"
#include "integration/gateway_support.hpp"
#include "store/stores.hpp"
#include "support/eventually.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

using test::collecting_sink;
using test::eventually;

// Body: "<peer>:<message id>:<text>". Signature header: x-test-sig = the channel's secret.
class secret_adapter final : public adapters::adapter {
 public:
  explicit secret_adapter(const config::channel_config& c) : channel_(c) {}
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
    event e;
    if (auto st = test::parse_text_message(std::string(req.body), channel_.name, e); !st) {
      return st;
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  config::channel_config channel_;
};

const adapters::adapter_info& secret_info() {
  static const adapters::adapter_info info = [] {
    adapters::adapter_info i;
    i.type = "test";
    i.schema.type = "test";
    i.schema.settings = {{"secret", true, true, "", "shared secret"}};
    i.headers = {"x-test-sig"};
    i.make = [](const config::channel_config& c) -> std::unique_ptr<adapters::adapter> {
      return std::make_unique<secret_adapter>(c);
    };
    i.account = [](const config::channel_config&) { return std::string("acct"); };
    return i;
  }();
  return info;
}

config::channel_config channel(const std::string& name, const std::string& secret) {
  config::channel_config ch;
  ch.name = name;
  ch.type = "test";
  ch.settings["secret"] = secret;
  return ch;
}

/// acme (channels chat, old) and globex (chat).
std::shared_ptr<config::config> first_config() {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x07');
  cfg->storage.root_key = cfg->storage.master_key;
  config::tenant_config acme;
  acme.id = "acme";
  acme.channels = {channel("chat", "one"), channel("old", "old-secret")};
  config::tenant_config globex;
  globex.id = "globex";
  globex.channels = {channel("chat", "globex-secret")};
  cfg->tenants = {acme, globex};
  return cfg;
}

struct harness {
  std::shared_ptr<const config::config> cfg = first_config();
  std::unique_ptr<actors::gateway_with_actors> gw;

  harness() {
    actors::gateway_options opts;
    opts.cfg = cfg;
    opts.stores = store::make_memory_stores();
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &secret_info() : nullptr;
    };
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { gw->shutdown(); }

  actors::http_response post(const std::string& tenant, const std::string& ch,
                             const std::string& sig, const std::string& body) {
    return test::ask(
        [&](actors::responder_ptr r) {
          actors::webhook_submission w;
          w.tenant = tenant;
          w.channel = ch;
          w.method = "POST";
          w.headers.push_back({"x-test-sig", sig});
          w.body = body;
          w.body.reserve(body.size() + 64);
          w.reply = std::move(r);
          gw->submit(std::move(w));
        },
        5s);
  }

  /// Applies `next` as main does on SIGHUP (restart-only keys kept).
  void reconfigure(const config::config& next) {
    auto kept = config::keep_restart_keys(*cfg, next, {});
    REQUIRE(gw->reconfigure(kept).ok());
    cfg = kept;
  }

  caf::actor_addr channel_addr(const std::string& tenant, const std::string& name) {
    caf::actor_addr out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of(tenant), 2s, actors::find_chan_atom::value, name)
        .receive([&](actors::channel_actor a) { out = a.address(); }, [&](caf::error&) {});
    return out;
  }
};

}  // namespace

TEST_CASE("a reconfigured gateway serves the new channels and secrets without dropping a stream",
          "[integration][actors][reload]") {
  harness h;
  REQUIRE(h.post("acme", "chat", "one", "alice:m1:before").status == 200);
  auto sink = std::make_shared<collecting_sink>();
  actors::stream_request req;
  req.tenant = "acme";
  req.subscriber = "helpdesk";
  req.sink = sink;
  auto stream = h.gw->open_stream(req);
  REQUIRE(stream);
  REQUIRE(eventually([&] { return sink->data().find("before") != std::string::npos; }));
  const auto tenant_before = h.gw->tenant_actor_of("acme").address();
  const auto chat_before = h.channel_addr("acme", "chat");
  REQUIRE(chat_before);

  // acme: chat's secret rotated, old removed, sms added; globex removed; initech added.
  auto next = std::make_shared<config::config>(*h.cfg);
  auto& acme = next->tenants[0];
  acme.channels = {channel("chat", "two"), channel("sms", "sms-secret")};
  config::tenant_config initech;
  initech.id = "initech";
  initech.channels = {channel("chat", "initech-secret")};
  next->tenants = {acme, initech};
  h.reconfigure(*next);

  CHECK(h.post("acme", "sms", "sms-secret", "bob:m2:new channel").status == 200);
  CHECK(h.post("acme", "old", "old-secret", "bob:m3:removed").status == 404);
  CHECK(h.post("acme", "chat", "one", "carol:m4:old secret").status == 401);
  CHECK(h.post("acme", "chat", "two", "carol:m5:new secret").status == 200);
  CHECK(h.post("globex", "chat", "globex-secret", "dave:m6:gone").status == 404);
  CHECK(h.post("initech", "chat", "initech-secret", "erin:m7:new tenant").status == 200);

  // The stream opened before carries the events after it, and was never closed.
  CHECK(eventually([&] {
    auto d = sink->data();
    return d.find("new channel") != std::string::npos && d.find("new secret") != std::string::npos;
  }));
  CHECK_FALSE(sink->closed());
  CHECK(sink->data().find("old secret") == std::string::npos);
  // Neither the tenant nor its changed channel was restarted: a new logic, same actor.
  CHECK(h.gw->tenant_actor_of("acme").address() == tenant_before);
  CHECK(h.channel_addr("acme", "chat") == chat_before);
  CHECK_FALSE(h.channel_addr("acme", "old"));
  stream->cancel();
}

TEST_CASE("a tenant removed and added again by two reconfigures serves again",
          "[integration][actors][reload]") {
  harness h;
  auto without = std::make_shared<config::config>(*h.cfg);
  without->tenants.pop_back();  // globex
  h.reconfigure(*without);
  CHECK(h.post("globex", "chat", "globex-secret", "a:m1:x").status == 404);
  h.reconfigure(*first_config());
  CHECK(h.post("globex", "chat", "globex-secret", "a:m2:y").status == 200);
  // The same config again changes nothing and still succeeds.
  h.reconfigure(*first_config());
  CHECK(h.post("acme", "chat", "one", "a:m3:z").status == 200);
}

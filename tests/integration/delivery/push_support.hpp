#pragma once

// The gateway in process with push subscribers: a test adapter for ingestion and a harness that
// starts the actor tree with short retry schedules. Receivers are in receiver.hpp.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/channel_logic.hpp"
#include "actors/gateway_impl.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "integration/gateway_support.hpp"
#include "store/delivery_store.hpp"
#include "store/stores.hpp"
#include "support/eventually.hpp"

namespace sb::test::push {

using test::eventually;

inline const std::string k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Body: "<peer>:<message id>:<text>", several joined by '|' (one commit). No signature check.
class multi_adapter final : public adapters::adapter {
 public:
  explicit multi_adapter(const config::channel_config& c) : name_(c.name) {}
  status verify(const adapters::request&) const override { return {}; }
  status parse(const adapters::request& req, std::vector<event>& out) override {
    std::string body(req.body);
    std::size_t start = 0;
    while (start <= body.size()) {
      auto end = body.find('|', start);
      event e;
      if (auto st = parse_text_message(
              body.substr(start, end == std::string::npos ? end : end - start), name_, e);
          !st) {
        return st;
      }
      out.push_back(std::move(e));
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
    return {};
  }

 private:
  std::string name_;
};

inline const adapters::adapter_info& multi_info() {
  static const adapters::adapter_info info = [] {
    adapters::adapter_info i;
    i.type = "test";
    i.schema.type = "test";
    i.make = [](const config::channel_config& c) -> std::unique_ptr<adapters::adapter> {
      return std::make_unique<multi_adapter>(c);
    };
    i.account = [](const config::channel_config&) { return std::string("acct"); };
    return i;
  }();
  return info;
}

/// A push subscriber named `name` posting to `url`.
inline config::subscriber_config push_subscriber(const std::string& name, const std::string& url) {
  config::subscriber_config s;
  s.name = name;
  s.purposes = {"support"};
  s.push = config::push_config{url, k_secret};
  return s;
}

/// Tenant "acme" with channel "chat" and the given subscribers.
inline std::shared_ptr<config::config> make_config(std::vector<config::subscriber_config> subs) {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x07');
  cfg->storage.root_key = cfg->storage.master_key;
  config::tenant_config t;
  t.id = "acme";
  config::channel_config ch;
  ch.name = "chat";
  ch.type = "test";
  t.channels.push_back(ch);
  t.subscribers = std::move(subs);
  cfg->tenants.push_back(t);
  return cfg;
}

/// Short schedules so that retries happen within a test: every wait is milliseconds.
inline delivery::settings fast_settings(std::vector<std::chrono::milliseconds> schedule) {
  delivery::settings s;
  auto r = delivery::retry_schedule::make(std::move(schedule), 0.2);
  REQUIRE(r.ok());
  s.schedule = std::move(r).value();
  s.timeout = std::chrono::seconds{10};
  s.cursor_save_interval = std::chrono::milliseconds{20};
  return s;
}

/// Submits a webhook of the test channel "chat" to `tenant` as the HTTP layer does and waits up
/// to `wait` for the gateway's answer (failing the test when none comes).
inline actors::http_response submit_webhook(actors::gateway_with_actors& gw,
                                            const std::string& tenant, const std::string& body,
                                            std::chrono::seconds wait = std::chrono::seconds{10}) {
  return test::ask(
      [&](actors::responder_ptr r) {
        actors::webhook_submission w;
        w.tenant = tenant;
        w.channel = "chat";
        w.method = "POST";
        w.body = body;
        w.body.reserve(body.size() + 64);
        w.reply = std::move(r);
        gw.submit(std::move(w));
      },
      wait);
}

/// The subject the gateway derives for `peer` on the test channel of tenant acme.
inline std::string subject_of(const config::config& cfg, const std::string& peer) {
  return ids::subject_id(actors::derive_subject_key(cfg.storage.root_key, "acme"), "test", "acct",
                         peer);
}

struct harness {
  store::stores stores;
  std::shared_ptr<store::event_log> log;
  std::unique_ptr<actors::gateway_with_actors> gw;

  /// Runs on `s`, or on new in-memory stores when it has no log.
  harness(std::shared_ptr<config::config> cfg, delivery::settings settings, store::stores s = {},
          bool store_blocks = false)
      : stores(s.log ? std::move(s) : store::make_memory_stores()), log(stores.log) {
    actors::gateway_options opts;
    opts.cfg = std::move(cfg);
    opts.stores = stores;
    opts.store_blocks = store_blocks;
    opts.delivery = std::move(settings);
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &multi_info() : nullptr;
    };
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { gw->shutdown(); }

  actors::http_response post(const std::string& body) { return submit_webhook(*gw, "acme", body); }

  actors::subscriber_stats stats(const std::string& sub) {
    actors::subscriber_stats out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of("acme"), std::chrono::seconds{5},
                  actors::push_stats_atom::value, sub)
        .receive([&](actors::subscriber_stats s) { out = std::move(s); },
                 [&](caf::error&) { FAIL("subscriber stats request failed"); });
    return out;
  }

  actors::subscriber_actor lookup_subscriber(const std::string& sub) {
    actors::subscriber_actor out;
    caf::scoped_actor self{gw->system()};
    self->request(gw->tenant_actor_of("acme"), std::chrono::seconds{5},
                  actors::find_push_atom::value, sub)
        .receive([&](actors::subscriber_actor a) { out = a; }, [&](caf::error&) {});
    return out;
  }

  template <class F>
  actors::http_response ask(F&& call) {
    return test::ask(std::forward<F>(call));
  }

  /// The API call `c` (its reply set here), answered.
  actors::http_response call(actors::api_call c) {
    return ask([&](actors::responder_ptr r) {
      c.reply = std::move(r);
      gw->call(std::move(c));
    });
  }

  /// Kills the actor of subscriber `sub` and waits until its supervisor has started another.
  void crash_subscriber(const std::string& sub) {
    auto before = lookup_subscriber(sub);
    REQUIRE(before);
    caf::anon_send_exit(before, caf::exit_reason::kill);
    REQUIRE(eventually([&] {
      auto now = lookup_subscriber(sub);
      return now && now != before;
    }));
  }

  actors::http_response dead_letters(const std::string& sub, std::uint64_t after = 0) {
    return ask([&](actors::responder_ptr r) {
      gw->list_dead_letters("acme", sub, after, 100, std::move(r));
    });
  }

  actors::http_response redrive(const std::string& sub, bool all,
                                std::vector<std::uint64_t> ids = {}) {
    return ask([&](actors::responder_ptr r) {
      gw->redrive("acme", sub, all, std::move(ids), std::move(r));
    });
  }

  /// The stored JSON of the event with this seq.
  std::string event_json(std::uint64_t seq) {
    auto r = log->read("acme", seq - 1, 1, {});
    REQUIRE(r.ok());
    REQUIRE(r->events.size() == 1);
    return r->events[0].json;
  }
};

/// `webhook-signature` as the specification defines it, computed here from the primitives.
inline std::string expected_signature(const std::string& secret, const std::string& id,
                                      const std::string& ts, const std::string& body) {
  auto key = crypto::base64_decode(secret.substr(6));
  REQUIRE(key.has_value());
  return "v1," + crypto::base64_encode(crypto::hmac_sha256(*key, id + "." + ts + "." + body));
}

}  // namespace sb::test::push

// An opt-out or opt-in keyword is acknowledged only once its consent change is durable (DESIGN
// §3 "nothing acknowledged is ever lost", §7 keywords), with real actors and the in-memory store:
// the webhook's 200 follows the consent write, a failed write answers 503 and the platform's
// retry (a duplicate message) writes it, also after a restart that lost the change, and a retry
// of an old keyword never undoes a later choice. The consent records are written through a
// privacy store that the test slows down or breaks (the rest is the real store).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "integration/delivery/push_support.hpp"
#include "integration/privacy/privacy_store_doubles.hpp"
#include "privacy/consent.hpp"
#include "store/privacy_store.hpp"
#include "store/stores.hpp"

using namespace sb;
using namespace sb::test;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

/// The real privacy store, with `put_consent` slowed down (`delay`) or failing (`failing`).
class gated_privacy_store final : public test::forwarding_privacy_store {
 public:
  using forwarding_privacy_store::forwarding_privacy_store;

  std::atomic<bool> failing{false};
  std::atomic<int> delay_ms{0};
  std::atomic<int> writes{0};

  status put_consent(const store::consent_record& r) override {
    if (int ms = delay_ms.load(); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    }
    if (failing.load()) {
      return error{errc::unavailable, "disk full (test)"};
    }
    ++writes;
    return inner_->put_consent(r);
  }
};

/// One gateway on `stores` whose consent registry writes through `gate` (loaded from the store at
/// start, as the binary does): a fresh `node` on the same stores is a restart.
struct node {
  store::stores stores;
  std::unique_ptr<actors::gateway_with_actors> gw;

  node(store::stores s, std::shared_ptr<gated_privacy_store> gate) : stores(std::move(s)) {
    auto cfg = make_config({});
    auto consents = std::make_shared<privacy::consent_registry>(gate);
    REQUIRE(consents->load("acme").ok());
    actors::gateway_options opts;
    opts.cfg = cfg;
    opts.stores = stores;
    opts.consents = consents;
    opts.delivery = fast_settings({0ms});
    opts.retention_sweep_interval = 0ms;
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &multi_info() : nullptr;
    };
    gw = actors::start_gateway(std::move(opts));
  }
  ~node() { gw->shutdown(); }

  actors::http_response post(const std::string& body) {
    return submit_webhook(*gw, "acme", body, std::chrono::seconds{30});
  }
};

/// The subject's consent record as the store holds it (not the registry's memory).
std::optional<store::consent_record> stored_record(store::privacy_store& ps,
                                                   const std::string& subject) {
  for (auto& r : ps.consents("acme")) {
    if (r.subject == subject) {
      return r;
    }
  }
  return std::nullopt;
}

bool opted_out(const store::consent_record& r) {
  auto out = r.granted.find(privacy::k_outbound_key);
  auto marketing = r.granted.find(store::purpose::marketing);
  return out != r.granted.end() && !out->second && marketing != r.granted.end() &&
         !marketing->second;
}

/// How many stored events of the tenant are of `type`.
std::size_t count_type(store::event_log& log, const std::string& type) {
  auto r = log.read("acme", 0, 1000, {type});
  REQUIRE(r.ok());
  return r->events.size();
}

std::size_t count_audit(store::privacy_store& ps, const std::string& action,
                        const std::string& outcome) {
  std::size_t n = 0;
  for (const auto& a : ps.audit_log("acme", 0, 1000)) {
    n += a.action == action && a.outcome == outcome ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("a STOP is acknowledged only after its consent change is in the store",
          "[integration][privacy][keyword]") {
  auto stores = store::make_memory_stores();
  auto& log = stores.log;
  auto ps = stores.privacy;
  auto gate = std::make_shared<gated_privacy_store>(ps);
  // A slow disk: the write ends long after the message is stored. Acknowledging before it (as
  // a fire-and-forget write would) leaves the record missing when the 200 arrives.
  gate->delay_ms = 300;
  node n(stores, gate);
  const std::string alice = subject_of(*make_config({}), "alice");

  auto r = n.post("alice:m1:STOP");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"status":"ok","events":1,"duplicates":0})");
  // Right after the 200, without waiting: the record, its audit entry and consent.changed.
  auto record = stored_record(*ps, alice);
  REQUIRE(record.has_value());
  CHECK(opted_out(*record));
  CHECK(count_audit(*ps, "opt_out", "ok") == 1);
  CHECK(count_type(*log, "consent.changed") == 1);

  // Messages without a keyword never wait for consent writes: none is made.
  const int writes = gate->writes.load();
  REQUIRE(n.post("bob:m2:hello|alice:m3:when does it ship?").status == 200);
  CHECK(gate->writes.load() == writes);

  // START in a batch with other messages: the same for the opt-in.
  r = n.post("carol:m4:hi|alice:m5:  start ");
  REQUIRE(r.status == 200);
  record = stored_record(*ps, alice);
  REQUIRE(record.has_value());
  CHECK_FALSE(opted_out(*record));
  CHECK(record->granted.at(store::purpose::marketing));
  CHECK(count_audit(*ps, "opt_in", "ok") == 1);
  CHECK(count_type(*log, "consent.changed") == 2);
}

TEST_CASE(
    "a STOP whose consent cannot be stored is answered 503, and the platform's retry stores it",
    "[integration][privacy][keyword]") {
  auto stores = store::make_memory_stores();
  auto& log = stores.log;
  auto ps = stores.privacy;
  auto gate = std::make_shared<gated_privacy_store>(ps);
  node n(stores, gate);
  const std::string alice = subject_of(*make_config({}), "alice");

  gate->failing = true;
  auto r = n.post("alice:m1:STOP");
  INFO(r.body);
  REQUIRE(r.status == 503);
  CHECK(r.body.find("consent change") != std::string::npos);
  CHECK_FALSE(stored_record(*ps, alice).has_value());
  CHECK(count_type(*log, "message") == 1);  // the message itself is stored
  CHECK(count_audit(*ps, "opt_out", "error") == 1);

  // The platform retries the same message: a duplicate, whose change is written now.
  gate->failing = false;
  r = n.post("alice:m1:STOP");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"status":"ok","events":0,"duplicates":1})");
  auto record = stored_record(*ps, alice);
  REQUIRE(record.has_value());
  CHECK(opted_out(*record));
  CHECK(count_type(*log, "message") == 1);
  CHECK(count_type(*log, "consent.changed") == 1);  // stored once, whatever the attempts

  // A later retry (or a platform delivering twice) writes the same state and stores nothing.
  REQUIRE(n.post("alice:m1:STOP").status == 200);
  CHECK(opted_out(*stored_record(*ps, alice)));
  CHECK(count_type(*log, "consent.changed") == 1);
}

TEST_CASE(
    "after a restart that lost an unacknowledged STOP, the platform's retry applies it, and a "
    "retry of an old keyword never undoes a later choice",
    "[integration][privacy][keyword]") {
  auto stores = store::make_memory_stores();
  auto& log = stores.log;
  auto ps = stores.privacy;
  auto gate = std::make_shared<gated_privacy_store>(ps);
  const std::string alice = subject_of(*make_config({}), "alice");
  {
    // The message is stored, the consent write fails, the gateway stops: its memory is gone.
    gate->failing = true;
    node first(stores, gate);
    REQUIRE(first.post("alice:m1:STOP").status == 503);
  }
  gate->failing = false;
  REQUIRE_FALSE(stored_record(*ps, alice).has_value());

  node second(stores, gate);
  auto r = second.post("alice:m1:STOP");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"status":"ok","events":0,"duplicates":1})");
  auto record = stored_record(*ps, alice);
  REQUIRE(record.has_value());
  CHECK(opted_out(*record));
  CHECK(count_audit(*ps, "opt_out", "ok") == 1);
  CHECK(count_type(*log, "consent.changed") == 1);

  // Alice opts in again; then the platform re-delivers her old STOP: she stays opted in.
  REQUIRE(second.post("alice:m2:START").status == 200);
  REQUIRE_FALSE(opted_out(*stored_record(*ps, alice)));
  r = second.post("alice:m1:STOP");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"status":"ok","events":0,"duplicates":1})");
  record = stored_record(*ps, alice);
  REQUIRE(record.has_value());
  CHECK_FALSE(opted_out(*record));
  CHECK(count_type(*log, "consent.changed") == 2);
  CHECK(count_audit(*ps, "opt_out", "ok") == 1);
  CHECK(count_audit(*ps, "opt_in", "ok") == 1);
}

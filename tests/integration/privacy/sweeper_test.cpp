// Retention (DESIGN §7): the sweeper actor expires each tenant's events by its own
// retention_days, against the real SQLite store, with an injected clock instead of waiting
// days; each sweep that deleted something is audited as system:retention.
#include <catch2/catch.hpp>

#include <string>

#include "actors/sweeper.hpp"
#include "integration/privacy/privacy_store_doubles.hpp"
#include "integration/privacy/retention_support.hpp"
#include "store/privacy_store.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

using test::retention::k_day_ms;
using test::retention::make_config;

/// The retention gateway without an outbox.
struct harness : test::retention::gateway {
  harness() : gateway("sb-sweeper", false) {}

  void post(const std::string& tenant, const std::string& body) {
    REQUIRE(test::push::submit_webhook(*gw, tenant, body).status == 200);
  }

  std::size_t stored(const std::string& tenant) {
    auto r = log->read(tenant, 0, 1000, {});
    REQUIRE(r.ok());
    return r->events.size();
  }
};

}  // namespace

TEST_CASE("the sweeper expires each tenant's events by its own retention, and audits it",
          "[integration][privacy][retention]") {
  harness h;
  h.post("acme", "p1:m1:old news|p2:m2:more old news");
  h.post("globex", "p3:m3:kept for 90 days");
  auto ps = h.stores.privacy;
  REQUIRE(ps);

  // Today nothing is old enough: nothing deleted, no audit row.
  auto today = h.sweep();
  CHECK(today.events == 0);
  CHECK(today.tenants_swept == 2);
  CHECK(h.stored("acme") == 2);
  CHECK(ps->audit_log("acme", 0, 10).empty());

  // 31 days on: acme's 30-day retention has passed, globex's 90 days have not.
  h.offset_ms->store(31 * k_day_ms);
  auto later = h.sweep();
  CHECK(later.events == 2);
  CHECK(later.failures == 0);
  CHECK(h.stored("acme") == 0);
  CHECK(h.stored("globex") == 1);
  auto entries = ps->audit_log("acme", 0, 10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].actor == "system:retention");
  CHECK(entries[0].action == "retention");
  CHECK(entries[0].outcome == "ok");
  CHECK(entries[0].subject.empty());
  CHECK(entries[0].detail.find("events=2") == 0);
  CHECK(entries[0].detail.find("old news") == std::string::npos);
  CHECK(ps->audit_log("globex", 0, 10).empty());

  // Expired dedupe keys go too: the platform's retry of an expired message is stored anew.
  h.post("acme", "p1:m1:old news");
  CHECK(h.stored("acme") == 1);

  // 91 days on: globex's event goes as well; a second sweep finds nothing more.
  h.offset_ms->store(91 * k_day_ms + 31 * k_day_ms);
  CHECK(h.sweep().events == 2);
  CHECK(h.stored("globex") == 0);
  CHECK(h.sweep().events == 0);
  CHECK(ps->audit_log("globex", 0, 10).size() == 1);
}

TEST_CASE("a sweep of a store that fails is reported and audited, not fatal",
          "[integration][privacy][retention]") {
  // A store whose expiry fails: the sweep goes on with the next tenant and audits the failure.
  class failing final : public test::quiet_privacy_store {
   public:
    result<store::sweep_outcome> expire(const std::string& tenant, timestamp) override {
      if (tenant == "acme") {
        return error{errc::unavailable, "disk full"};
      }
      store::sweep_outcome o;
      o.events = 3;
      return o;
    }
  } store;
  auto cfg = make_config();
  auto report = actors::sweep_retention(*cfg, store, timestamp::from_millis(400 * k_day_ms));
  CHECK(report.failures == 1);
  CHECK(report.tenants_swept == 1);
  CHECK(report.events == 3);
  REQUIRE(store.entries.size() == 2);
  CHECK(store.entries[0].tenant == "acme");
  CHECK(store.entries[0].outcome == "error");
  CHECK(store.entries[0].detail == "disk full");
  CHECK(store.entries[1].tenant == "globex");
  CHECK(store.entries[1].outcome == "ok");
  // The cutoff is the clock minus the tenant's own retention.
  CHECK(store.entries[1].detail.find(
            "cutoff=" + to_rfc3339(timestamp::from_millis(310 * k_day_ms))) != std::string::npos);
}

TEST_CASE("a reconfigure hands the sweeper the tenants it adds, without restarting it",
          "[integration][privacy][retention]") {
  harness h;
  caf::scoped_actor self{h.gw->system()};
  auto find = [&] {
    actors::sweeper_actor found;
    self->request(h.gw->root_actor(), std::chrono::seconds{5}, actors::find_sweep_atom::value)
        .receive([&](actors::sweeper_actor a) { found = a; }, [&](caf::error&) {});
    REQUIRE(found);
    return found;
  };
  const auto before = find();
  CHECK(h.sweep().tenants_swept == 2);

  auto cfg = std::make_shared<config::config>(*test::retention::make_config());
  config::tenant_config newco;
  newco.id = "newco";
  newco.privacy.retention_days = 7;
  cfg->tenants.push_back(newco);
  REQUIRE(h.gw->reconfigure(cfg));
  // The same sweeper (a restart swept every tenant at once), with the new tenant.
  CHECK(find() == before);
  CHECK(h.sweep().tenants_swept == 3);
}

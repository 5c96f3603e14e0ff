// A reconfigure of the outbound API's per-tenant bookkeeping (actors/outbound_api.hpp,
// `outbound_api_state::reconfigure`): send limits follow the subscribers, a spent bucket whose
// limit is unchanged stays spent, and the memory of Idempotency-Keys survives.
#include <catch2/catch.hpp>

#include <string>

#include "actors/outbound_api.hpp"

using namespace std::chrono_literals;
using sb::actors::outbound_api_state;

namespace {

sb::config::config tenant_with(double rps, double burst) {
  sb::config::config c;
  c.storage.master_key = std::string(32, 'k');
  c.storage.root_key = c.storage.master_key;
  sb::config::tenant_config t;
  t.id = "acme";
  sb::config::subscriber_config limited;
  limited.name = "limited";
  limited.send_rate_limit.rps = rps;
  limited.send_rate_limit.burst = burst;
  t.subscribers = {limited};
  c.tenants = {t};
  return c;
}

const sb::outbound::time_point t0{std::chrono::hours{1000}};

}  // namespace

TEST_CASE("a reconfigure keeps a spent send limit spent while it is unchanged",
          "[outbound][api][reload]") {
  auto cfg = tenant_with(0.5, 1);
  outbound_api_state s(cfg, cfg.tenants[0]);
  CHECK(s.admit("limited", t0) == 0);
  CHECK(s.admit("limited", t0) == 2);
  s.begin_key("limited", "k1", t0);
  auto same = tenant_with(0.5, 1);
  s.reconfigure(same.tenants[0]);
  CHECK(s.admit("limited", t0) == 2);  // not refilled
  CHECK(s.find_key("limited", "k1", t0) != nullptr);
}

TEST_CASE("a reconfigure applies a changed or removed send limit", "[outbound][api][reload]") {
  auto cfg = tenant_with(0.5, 1);
  outbound_api_state s(cfg, cfg.tenants[0]);
  CHECK(s.admit("limited", t0) == 0);
  auto wider = tenant_with(1, 3);
  s.reconfigure(wider.tenants[0]);
  for (int i = 0; i < 3; ++i) {
    CHECK(s.admit("limited", t0) == 0);
  }
  CHECK(s.admit("limited", t0) == 1);
  auto none = tenant_with(0, 0);
  s.reconfigure(none.tenants[0]);
  for (int i = 0; i < 10; ++i) {
    CHECK(s.admit("limited", t0) == 0);
  }
}

// The outbound API's per-tenant bookkeeping (actors/outbound_api.hpp): send limits per token and
// the memory of Idempotency-Keys, on injected time.
#include <catch2/catch.hpp>

#include <string>

#include "actors/outbound_api.hpp"

using namespace std::chrono_literals;
using sb::actors::outbound_api_state;

namespace {

sb::config::config one_tenant() {
  sb::config::config c;
  c.storage.master_key = std::string(32, 'k');
  c.storage.root_key = c.storage.master_key;
  sb::config::tenant_config t;
  t.id = "acme";
  sb::config::subscriber_config limited;
  limited.name = "limited";
  limited.send_rate_limit.rps = 0.5;  // one per 2 s
  limited.send_rate_limit.burst = 2;
  sb::config::subscriber_config free;
  free.name = "free";
  t.subscribers = {limited, free};
  c.tenants = {t};
  return c;
}

const sb::outbound::time_point t0{std::chrono::hours{1000}};

}  // namespace

TEST_CASE("a token's send limit admits its burst, then answers the wait in whole seconds",
          "[outbound][api]") {
  auto cfg = one_tenant();
  outbound_api_state s(cfg, cfg.tenants[0]);
  CHECK(s.admit("limited", t0) == 0);
  CHECK(s.admit("limited", t0) == 0);
  CHECK(s.admit("limited", t0) == 2);
  CHECK(s.admit("limited", t0 + 1500ms) == 1);  // 0.5 s left, rounded up
  CHECK(s.admit("limited", t0 + 2s) == 0);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(s.admit("free", t0) == 0);  // no send_rate_limit: unlimited
  }
}

TEST_CASE("idempotency keys: in flight, then the message's id for 24 hours, per caller",
          "[outbound][api]") {
  auto cfg = one_tenant();
  outbound_api_state s(cfg, cfg.tenants[0]);
  CHECK(s.find_key("limited", "k1", t0) == nullptr);
  s.begin_key("limited", "k1", t0);
  const auto* in_flight = s.find_key("limited", "k1", t0);
  REQUIRE(in_flight != nullptr);
  CHECK(in_flight->in_flight);
  CHECK(s.find_key("free", "k1", t0) == nullptr);  // another caller's key is another key

  s.end_key("limited", "k1", "out_1", t0);
  const auto* done = s.find_key("limited", "k1", t0 + 1h);
  REQUIRE(done != nullptr);
  CHECK_FALSE(done->in_flight);
  CHECK(done->id == "out_1");
  CHECK(s.find_key("limited", "k1", t0 + 25h) == nullptr);

  // A refused or failed request leaves nothing behind: the key may be used again.
  s.begin_key("limited", "k2", t0);
  s.end_key("limited", "k2", "", t0);
  CHECK(s.find_key("limited", "k2", t0) == nullptr);
}

TEST_CASE("the memory of keys is bounded, oldest first", "[outbound][api]") {
  auto cfg = one_tenant();
  outbound_api_state s(cfg, cfg.tenants[0]);
  const auto n = outbound_api_state::k_max_keys + 10;
  for (std::size_t i = 0; i < n; ++i) {
    const auto key = "k" + std::to_string(i);
    s.begin_key("free", key, t0);
    s.end_key("free", key, "out_" + std::to_string(i), t0);
  }
  CHECK(s.find_key("free", "k0", t0) == nullptr);
  CHECK(s.find_key("free", "k9", t0) == nullptr);
  REQUIRE(s.find_key("free", "k10", t0) != nullptr);
  CHECK(s.find_key("free", "k" + std::to_string(n - 1), t0)->id == "out_" + std::to_string(n - 1));
}

TEST_CASE("warnings about background writes are throttled and count what they held back",
          "[outbound][api]") {
  auto cfg = one_tenant();
  outbound_api_state s(cfg, cfg.tenants[0]);
  std::uint64_t held = 99;
  CHECK(s.may_warn(t0, held));
  CHECK(held == 0);
  CHECK_FALSE(s.may_warn(t0 + 1s, held));
  CHECK_FALSE(s.may_warn(t0 + 9s, held));
  CHECK(s.may_warn(t0 + 10s, held));
  CHECK(held == 2);
}

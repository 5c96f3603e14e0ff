#include <catch2/catch.hpp>

#include "core/restart_policy.hpp"
#include "outbound/conversation_state.hpp"

using namespace sb;
using namespace std::chrono_literals;

TEST_CASE("restarts are immediate after a stable period and back off when crashes repeat",
          "[actors][supervision]") {
  restart_policy p(50ms, 400ms, 10s);
  auto t = restart_policy::clock::time_point{} + 1h;
  CHECK(p.on_crash(t) == 0ms);
  CHECK(p.on_crash(t + 1s) == 50ms);
  CHECK(p.on_crash(t + 2s) == 100ms);
  CHECK(p.on_crash(t + 3s) == 200ms);
  CHECK(p.on_crash(t + 4s) == 400ms);
  CHECK(p.on_crash(t + 5s) == 400ms);
  CHECK(p.on_crash(t + 60s) == 0ms);
  CHECK(p.crashes() == 7);
}

TEST_CASE("the 24-hour window follows the person's last inbound message only", "[actors]") {
  outbound::conversation_state c;
  auto t0 = timestamp::from_seconds(1749416383);
  CHECK_FALSE(c.window_open(t0));
  c.on_event(true, t0);
  c.on_event(false, timestamp::from_seconds(1749416383 + 3600));  // a status moves nothing
  CHECK(c.window_open(timestamp::from_seconds(1749416383 + 23 * 3600)));
  CHECK_FALSE(c.window_open(timestamp::from_seconds(1749416383 + 24 * 3600)));
  CHECK(c.events() == 2);
}

#include <catch2/catch.hpp>

#include "delivery/retry_schedule.hpp"

using namespace sb;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

TEST_CASE("the default schedule is Standard Webhooks' eight attempts", "[delivery][retry]") {
  delivery::retry_schedule s;
  CHECK(s.attempts() == 8);
  CHECK(s.delays() == std::vector<ms>{0ms, 5s, 5min, 30min, 2h, 5h, 10h, 10h});
  CHECK(s.jitter() == Approx(0.2));
  // The middle of the jitter range is the scheduled wait itself.
  CHECK(s.next_delay(1, std::nullopt, 0.5) == ms{5s});
  CHECK(s.next_delay(2, std::nullopt, 0.5) == ms{5min});
  CHECK(s.next_delay(7, std::nullopt, 0.5) == ms{10h});
  CHECK_FALSE(s.next_delay(8, std::nullopt, 0.5).has_value());
}

TEST_CASE("jitter stays within plus or minus twenty percent", "[delivery][retry]") {
  delivery::retry_schedule s;
  CHECK(s.next_delay(1, std::nullopt, 0.0) == ms{4000});
  CHECK(s.next_delay(1, std::nullopt, 0.999999) == ms{6000});
  for (double u = 0.0; u < 1.0; u += 0.01) {
    auto d = s.next_delay(3, std::nullopt, u);
    REQUIRE(d.has_value());
    CHECK(*d >= ms{24min});
    CHECK(*d <= ms{36min});
  }
  // Out-of-range draws are clamped rather than trusted.
  CHECK(s.next_delay(1, std::nullopt, 7.0) == ms{6000});
  CHECK(s.next_delay(1, std::nullopt, -1.0) == ms{4000});
}

TEST_CASE("a longer Retry-After wins, a shorter one does not", "[delivery][retry]") {
  auto s = delivery::retry_schedule::make({0ms, 10ms, 20ms}, 0.2, 1h);
  REQUIRE(s.ok());
  CHECK(s->attempts() == 3);
  CHECK(s->next_delay(1, ms{2s}, 0.5) == ms{2s});
  CHECK(s->next_delay(1, ms{1ms}, 0.5) == ms{10ms});
  CHECK(s->next_delay(2, std::nullopt, 0.5) == ms{20ms});
  // Capped: a receiver cannot park a delivery for days.
  CHECK(s->next_delay(1, ms{48h}, 0.5) == ms{1h});
  // Retry-After never adds attempts.
  CHECK_FALSE(s->next_delay(3, ms{2s}, 0.5).has_value());
}

TEST_CASE("a schedule must start at once and not go backwards in time", "[delivery][retry]") {
  CHECK_FALSE(delivery::retry_schedule::make({}).ok());
  CHECK_FALSE(delivery::retry_schedule::make({5ms, 10ms}).ok());
  CHECK_FALSE(delivery::retry_schedule::make({0ms, -1ms}).ok());
  CHECK_FALSE(delivery::retry_schedule::make({0ms}, 1.0).ok());
  CHECK(delivery::retry_schedule::make({0ms}).ok());
  CHECK(delivery::retry_schedule::make({0ms}, 0.0).ok());
}

TEST_CASE("Retry-After is read as seconds or as an HTTP date", "[delivery][retry]") {
  // 1994-11-06T08:49:37Z
  const std::int64_t at = 784111777;
  CHECK(delivery::parse_retry_after("120", at) == ms{120s});
  CHECK(delivery::parse_retry_after(" 0 ", at) == ms{0});
  CHECK(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at - 30) == ms{30s});
  CHECK(delivery::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at - 30) == ms{30s});
  CHECK(delivery::parse_retry_after("Sun Nov  6 08:49:37 1994", at - 30) == ms{30s});
  CHECK(delivery::parse_retry_after("Wed, 01 Jan 2025 00:00:00 GMT", 1735689600 - 3600) == ms{1h});
  // A date in the past means "now".
  CHECK(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at + 100) == ms{0});
  CHECK_FALSE(delivery::parse_retry_after("", at).has_value());
  CHECK_FALSE(delivery::parse_retry_after("-5", at).has_value());
  CHECK_FALSE(delivery::parse_retry_after("soon", at).has_value());
  CHECK_FALSE(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", at).has_value());
  CHECK_FALSE(delivery::parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", at).has_value());
  CHECK_FALSE(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT x", at).has_value());
}

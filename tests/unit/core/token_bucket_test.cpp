// The token bucket on an injected clock: no sleeps, every time below is exact.
#include <catch2/catch.hpp>

#include <chrono>

#include "core/token_bucket.hpp"

namespace {

using namespace std::chrono_literals;
using sb::token_bucket;
using time_point = token_bucket::time_point;

const time_point t0 = time_point{} + 1000h;  // any fixed origin

}  // namespace

TEST_CASE("a token bucket gives its burst, then one token per interval", "[engine][bucket]") {
  token_bucket b(1s, 3);
  CHECK(b.take(t0));
  CHECK(b.take(t0));
  CHECK(b.take(t0));
  CHECK_FALSE(b.take(t0));
  CHECK(b.available_at(t0) == t0 + 1s);
  CHECK(b.time_until_available(t0 + 400ms) == 600ms);
  CHECK_FALSE(b.take(t0 + 999ms));
  CHECK(b.take(t0 + 1s));
  CHECK_FALSE(b.take(t0 + 1s));
  CHECK_FALSE(b.idle(t0 + 2s));
  CHECK(b.idle(t0 + 4s));  // refilled: as good as new
  // After idling it holds at most `burst` tokens.
  int n = 0;
  while (b.take(t0 + 100s)) {
    ++n;
  }
  CHECK(n == 3);
}

TEST_CASE("a token bucket's rate is exact for fractional rates", "[engine][bucket]") {
  CHECK(token_bucket::per_second(1.0 / 6, 45).interval() == 6s);
  CHECK(token_bucket::per_second(80, 80).interval() == 12500us);
  CHECK(token_bucket::per_second(1, 0).burst() == 1);
}

TEST_CASE("a penalized bucket gives exactly one token at the given time, then its rate",
          "[engine][bucket]") {
  token_bucket b(1s, 5);
  CHECK(b.take(t0));
  b.penalize(t0 + 7s);
  CHECK_FALSE(b.take(t0 + 6999ms));
  CHECK(b.available_at(t0 + 1s) == t0 + 7s);
  CHECK(b.take(t0 + 7s));
  CHECK_FALSE(b.take(t0 + 7s));  // no burst right after a penalty
  CHECK(b.take(t0 + 8s));
  b.penalize(t0 + 2s);  // an earlier penalty never shortens the current state
  CHECK(b.available_at(t0 + 8s) == t0 + 9s);
}

// What a config reload carries over at the HTTP edge (src/http/ingress_limit.hpp,
// src/http/edge_limits.hpp): the tenants' token buckets when their rate_limit is unchanged, and
// the open streams of a subscriber whatever principal object a new token index gives it.
#include <catch2/catch.hpp>

#include <chrono>

#include "http/edge_limits.hpp"
#include "http/ingress_limit.hpp"

using namespace std::chrono_literals;
using sb::http::ingress_limits;

namespace {

sb::config::config limited(double rps, double burst) {
  sb::config::config c;
  sb::config::tenant_config t;
  t.id = "acme";
  t.rate_limit.rps = rps;
  t.rate_limit.burst = burst;
  c.tenants = {t};
  return c;
}

const ingress_limits::time_point t0{std::chrono::hours{1000}};

}  // namespace

TEST_CASE("a reload keeps a spent bucket spent while the tenant's rate_limit is unchanged",
          "[http][ingress][reload]") {
  ingress_limits before(limited(1, 2));
  CHECK(before.admit("acme", t0) == 0);
  CHECK(before.admit("acme", t0) == 0);
  CHECK(before.admit("acme", t0) == 1);
  ingress_limits after(limited(1, 2), &before);
  CHECK(after.admit("acme", t0) == 1);  // not refilled by the reload
  CHECK(after.admit("acme", t0 + 1s) == 0);
}

TEST_CASE("a reload that changes a tenant's rate_limit starts its bucket afresh",
          "[http][ingress][reload]") {
  ingress_limits before(limited(1, 2));
  CHECK(before.admit("acme", t0) == 0);
  CHECK(before.admit("acme", t0) == 0);
  ingress_limits after(limited(1, 5), &before);
  for (int i = 0; i < 5; ++i) {
    CHECK(after.admit("acme", t0) == 0);
  }
  CHECK(after.admit("acme", t0) == 1);
  ingress_limits removed(sb::config::config{}, &after);
  CHECK_FALSE(removed.limited("acme"));
}

TEST_CASE("stream slots count a subscriber's streams across principal objects",
          "[http][limits][reload]") {
  // A reload builds a new token index: the same subscriber comes back as another object.
  sb::http::principal before{"acme", "backend"};
  sb::http::principal after{"acme", "backend"};
  sb::http::stream_slots slots(1);
  CHECK(slots.try_open(&before));
  CHECK_FALSE(slots.try_open(&after));
  slots.close(&before);
  CHECK(slots.try_open(&after));
}

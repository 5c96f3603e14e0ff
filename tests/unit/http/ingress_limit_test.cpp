// The tenant ingress limit of the HTTP edge (src/http/ingress_limit.hpp), on injected time.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "http/ingress_limit.hpp"

using namespace std::chrono_literals;
using sb::http::ingress_limits;

namespace {

sb::config::config two_tenants(double rps, double burst) {
  sb::config::config c;
  sb::config::tenant_config limited;
  limited.id = "acme";
  limited.rate_limit.rps = rps;
  limited.rate_limit.burst = burst;
  sb::config::tenant_config free;
  free.id = "globex";
  c.tenants = {limited, free};
  return c;
}

const ingress_limits::time_point t0{std::chrono::hours{1000}};

}  // namespace

TEST_CASE("a tenant's burst is admitted at once, then one request per 1/rps", "[http][ingress]") {
  ingress_limits limits(two_tenants(2, 3));
  CHECK(limits.limited("acme"));
  for (int i = 0; i < 3; ++i) {
    CHECK(limits.admit("acme", t0) == 0);
  }
  CHECK(limits.admit("acme", t0) == 1);  // next token in 0.5 s: Retry-After rounds up to 1
  CHECK(limits.admit("acme", t0 + 499ms) == 1);
  CHECK(limits.admit("acme", t0 + 500ms) == 0);
  CHECK(limits.admit("acme", t0 + 500ms) == 1);
  // Idle long enough, the whole burst is back.
  for (int i = 0; i < 3; ++i) {
    CHECK(limits.admit("acme", t0 + 60s) == 0);
  }
}

TEST_CASE("Retry-After is the wait in whole seconds, rounded up", "[http][ingress]") {
  ingress_limits limits(two_tenants(0.25, 1));  // one request per 4 s
  CHECK(limits.admit("acme", t0) == 0);
  CHECK(limits.admit("acme", t0) == 4);
  CHECK(limits.admit("acme", t0 + 1500ms) == 3);  // 2.5 s left
  CHECK(limits.admit("acme", t0 + 4s) == 0);
}

TEST_CASE("tenants without rate_limit.rps, and unknown ones, are never limited",
          "[http][ingress]") {
  ingress_limits limits(two_tenants(1, 1));
  CHECK_FALSE(limits.limited("globex"));
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(limits.admit("globex", t0) == 0);
  }
  CHECK(limits.admit("nobody", t0) == 0);
}

TEST_CASE("concurrent I/O threads share one bucket without admitting more than it holds",
          "[http][ingress]") {
  ingress_limits limits(two_tenants(1, 100));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limits.admit("acme", t0) == 0) {
          ++admitted;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(admitted.load() == 100);
}

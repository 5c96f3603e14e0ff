// Where a request comes from, and the failed-verification budget per source
// (src/http/auth_failures.hpp, issue 10 row 2), on injected time.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "http/auth_failures.hpp"

using namespace std::chrono_literals;
using sb::http::request_source;
using sb::http::source_failures;
using sb::http::time_point;

namespace {

sb::ip::address addr(std::string_view text) {
  auto a = sb::ip::parse_address(text);
  REQUIRE(a);
  return *a;
}

std::string text(const sb::ip::address& a) {
  return sb::ip::to_string(a);
}

sb::config::rate_limit_config budget(double rps, double burst) {
  sb::config::rate_limit_config r;
  r.rps = rps;
  r.burst = burst;
  return r;
}

const time_point t0{std::chrono::hours{1000}};

}  // namespace

TEST_CASE("without trusted proxies the source is always the TCP peer", "[http][auth_failures]") {
  const auto peer = addr("203.0.113.9");
  CHECK(text(request_source(peer, {}, {"198.51.100.1"})) == "203.0.113.9");
  CHECK(text(request_source(peer, {}, {})) == "203.0.113.9");
}

TEST_CASE("X-Forwarded-For from a peer that is not a trusted proxy is ignored",
          "[http][auth_failures]") {
  const auto trusted = sb::http::parse_trusted_proxies({"10.0.0.0/8"});
  CHECK(text(request_source(addr("203.0.113.9"), trusted, {"198.51.100.1"})) == "203.0.113.9");
}

TEST_CASE("behind trusted proxies the source is the rightmost untrusted X-Forwarded-For entry",
          "[http][auth_failures]") {
  const auto trusted = sb::http::parse_trusted_proxies({"10.0.0.0/8", "::1"});
  const auto lb = addr("10.1.2.3");
  // The client may write anything on the left; the proxies append on the right.
  CHECK(text(request_source(lb, trusted, {"1.1.1.1, 198.51.100.7"})) == "198.51.100.7");
  CHECK(text(request_source(lb, trusted, {"1.1.1.1, 198.51.100.7, 10.9.9.9"})) == "198.51.100.7");
  // Several fields are one list, in order.
  CHECK(text(request_source(lb, trusted, {"1.1.1.1", "198.51.100.8", "10.0.0.5"})) ==
        "198.51.100.8");
  // Ports and brackets are dropped; IPv6 entries work.
  CHECK(text(request_source(lb, trusted, {"198.51.100.9:4711"})) == "198.51.100.9");
  CHECK(text(request_source(lb, trusted, {"[2001:db8::5]:4711"})) == "2001:db8::5");
  CHECK(text(request_source(lb, trusted, {"2001:db8::6"})) == "2001:db8::6");
  CHECK(text(request_source(addr("::1"), trusted, {" 198.51.100.10 "})) == "198.51.100.10");
}

TEST_CASE("behind trusted proxies an unusable X-Forwarded-For leaves the peer as the source",
          "[http][auth_failures]") {
  const auto trusted = sb::http::parse_trusted_proxies({"10.0.0.0/8"});
  const auto lb = addr("10.1.2.3");
  CHECK(text(request_source(lb, trusted, {})) == "10.1.2.3");
  CHECK(text(request_source(lb, trusted, {"10.0.0.7"})) == "10.1.2.3");  // all trusted
  CHECK(text(request_source(lb, trusted, {"unknown"})) == "10.1.2.3");
  CHECK(text(request_source(lb, trusted, {"198.51.100.1, garbage"})) == "10.1.2.3");
  // Garbage left of the first untrusted entry is never read.
  CHECK(text(request_source(lb, trusted, {"garbage, 198.51.100.2"})) == "198.51.100.2");
}

TEST_CASE("a source may fail its burst, then is blocked until its bucket refills",
          "[http][auth_failures]") {
  source_failures f(budget(1, 3));
  const auto a = addr("198.51.100.1");
  CHECK(f.blocked(a, t0) == 0);
  CHECK(f.size() == 0);  // looking adds nothing
  CHECK(f.record(a, t0) == 0);
  CHECK(f.record(a, t0) == 0);
  CHECK(f.record(a, t0) == 0);
  CHECK(f.blocked(a, t0) == 1);
  CHECK(f.record(a, t0) == 1);  // over the budget: Retry-After 1 s
  CHECK(f.blocked(a, t0 + 999ms) == 1);
  CHECK(f.blocked(a, t0 + 1s) == 0);
  // Another source has its own budget.
  CHECK(f.blocked(addr("198.51.100.2"), t0) == 0);
  CHECK(f.record(addr("198.51.100.2"), t0) == 0);
}

TEST_CASE("IPv6 sources are counted per /64, IPv4 per address", "[http][auth_failures]") {
  source_failures f(budget(1, 1));
  CHECK(f.record(addr("2001:db8:1:2::1"), t0) == 0);
  CHECK(f.blocked(addr("2001:db8:1:2:ffff::9"), t0) > 0);  // same /64
  CHECK(f.blocked(addr("2001:db8:1:3::1"), t0) == 0);      // another /64
  CHECK(f.record(addr("192.0.2.1"), t0) == 0);
  CHECK(f.blocked(addr("192.0.2.2"), t0) == 0);
  CHECK(f.blocked(addr("::ffff:192.0.2.1"), t0) > 0);  // the mapped form is the same address
}

TEST_CASE("the source table never holds more than its cap and forgets the oldest failure first",
          "[http][auth_failures]") {
  source_failures f(budget(1, 1), 4);
  for (int i = 1; i <= 4; ++i) {
    CHECK(f.record(addr("192.0.2." + std::to_string(i)), t0) == 0);
  }
  CHECK(f.size() == 4);
  // 192.0.2.1 fails again: now the most recent. The next new source evicts 192.0.2.2.
  CHECK(f.record(addr("192.0.2.1"), t0) > 0);
  CHECK(f.record(addr("192.0.2.5"), t0) == 0);
  CHECK(f.size() == 4);
  CHECK(f.blocked(addr("192.0.2.2"), t0) == 0);  // forgotten
  CHECK(f.blocked(addr("192.0.2.1"), t0) > 0);   // kept
  for (int i = 0; i < 1000; ++i) {
    f.record(addr("198.51.100." + std::to_string(i % 250)), t0);
  }
  CHECK(f.size() == 4);
}

TEST_CASE("a refilled source is dropped from the table when next looked up",
          "[http][auth_failures]") {
  source_failures f(budget(2, 2));
  CHECK(f.record(addr("192.0.2.1"), t0) == 0);
  CHECK(f.size() == 1);
  CHECK(f.blocked(addr("192.0.2.1"), t0 + 1s) == 0);
  CHECK(f.size() == 0);
}

TEST_CASE("a per-source budget of rps 0 is off", "[http][auth_failures]") {
  source_failures f(budget(0, 0));
  CHECK_FALSE(f.enabled());
  for (int i = 0; i < 100; ++i) {
    CHECK(f.record(addr("192.0.2.1"), t0) == 0);
  }
  CHECK(f.blocked(addr("192.0.2.1"), t0) == 0);
  CHECK(f.size() == 0);
}

TEST_CASE("a shared bucket answers the Retry-After of its next token", "[http][auth_failures]") {
  sb::http::shared_bucket b(sb::token_bucket::per_second(0.25, 2));
  CHECK(b.take(t0) == 0);
  CHECK(b.take(t0) == 0);
  CHECK(b.take(t0) == 4);
  CHECK(b.take(t0 + 3500ms) == 1);
  CHECK(b.take(t0 + 4s) == 0);
}

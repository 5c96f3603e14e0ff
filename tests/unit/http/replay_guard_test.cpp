// The edge's memory of one-time tokens (src/http/replay_guard.hpp).
#include <catch2/catch.hpp>

#include "http/replay_guard.hpp"

using sb::http::replay_guard;

namespace {

replay_guard::digest digest_of(unsigned char b) {
  replay_guard::digest d{};
  d.fill(b);
  return d;
}

}  // namespace

TEST_CASE("a token passes once per body: the same body again is a retry, another is a replay",
          "[http][replay]") {
  replay_guard g;
  const auto a = digest_of(1);
  const auto b = digest_of(2);
  CHECK(g.admit("acme/mail", "tok-1", a, 10'000, 1'000));
  CHECK(g.admit("acme/mail", "tok-1", a, 10'000, 2'000));   // the platform's retry
  CHECK_FALSE(g.admit("acme/mail", "tok-1", b, 10'000, 3'000));  // the signature on a new body
  CHECK(g.admit("acme/other", "tok-1", b, 10'000, 3'000));  // another channel's token space
  CHECK(g.size() == 2);
}

TEST_CASE("a token is forgotten once it expires, when its timestamp could no longer pass",
          "[http][replay]") {
  replay_guard g;
  CHECK(g.admit("c", "tok", digest_of(1), 5'000, 1'000));
  CHECK_FALSE(g.admit("c", "tok", digest_of(2), 5'000, 4'999));
  CHECK(g.admit("c", "tok", digest_of(2), 9'000, 5'000));  // expired: the platform refuses it anyway
  CHECK(g.size() == 1);
}

TEST_CASE("the guard is bounded: when full it forgets the token closest to expiry",
          "[http][replay]") {
  replay_guard g(3);
  CHECK(g.admit("c", "t1", digest_of(1), 1'000'000, 0));
  CHECK(g.admit("c", "t2", digest_of(1), 2'000'000, 0));
  CHECK(g.admit("c", "t3", digest_of(1), 3'000'000, 0));
  CHECK(g.admit("c", "t4", digest_of(1), 4'000'000, 0));
  CHECK(g.size() == 3);
  CHECK(g.evicted() == 1);
  CHECK(g.admit("c", "t1", digest_of(2), 1'000'000, 0));   // t1 was the one forgotten
  CHECK_FALSE(g.admit("c", "t4", digest_of(2), 4'000'000, 0));
}

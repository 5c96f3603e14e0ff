// Connection and stream bounds of the edge (src/http/edge_limits.hpp, issue 10 rows 9 and SSE).
#include <catch2/catch.hpp>

#include "http/edge_limits.hpp"

using sb::http::clamp_connections;
using sb::http::reserved_descriptors;

TEST_CASE("max_connections is kept when the open-files limit has room for it and the reserve",
          "[http][limits]") {
  auto b = clamp_connections(10000, 1048576);
  CHECK_FALSE(b.clamped);
  CHECK(b.max_connections == 10000);
  CHECK(b.reserved == reserved_descriptors);
}

TEST_CASE("max_connections is clamped below the open-files limit with the reserve kept",
          "[http][limits]") {
  auto b = clamp_connections(10000, 4096);
  CHECK(b.clamped);
  CHECK(b.max_connections == 4096 - reserved_descriptors);
  CHECK(b.max_connections + b.reserved <= 4096);

  auto at_1024 = clamp_connections(10000, 1024);
  CHECK(at_1024.max_connections == 1024 - reserved_descriptors);
}

TEST_CASE("a tiny open-files limit keeps half for the rest and admits at least one",
          "[http][limits]") {
  auto b = clamp_connections(10000, 256);
  CHECK(b.clamped);
  CHECK(b.reserved == 128);
  CHECK(b.max_connections == 128);
  CHECK(clamp_connections(10000, 1).max_connections == 1);
  CHECK(clamp_connections(10000, 0).max_connections == 1);
}

TEST_CASE("a token's stream slots run out at the limit and come back when streams close",
          "[http][limits]") {
  sb::http::principal a{"acme", "backend"};
  sb::http::principal b{"acme", "crm"};
  sb::http::stream_slots slots(2);
  CHECK(slots.try_open(&a));
  CHECK(slots.try_open(&a));
  CHECK_FALSE(slots.try_open(&a));
  CHECK(slots.open(&a) == 2);
  CHECK(slots.try_open(&b));  // another token has its own slots
  slots.close(&a);
  CHECK(slots.open(&a) == 1);
  CHECK(slots.try_open(&a));
  slots.close(&a);
  slots.close(&a);
  slots.close(&a);  // one more than opened: harmless
  CHECK(slots.open(&a) == 0);
}

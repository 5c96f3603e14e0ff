// The dedupe keys' generations and their blocked Bloom filters (store/sqlite/dedupe_generations.hpp):
// no false negatives, a false-positive rate near the one documented, and generations that start
// only once the newest is full.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "store/sqlite/dedupe_generations.hpp"

using sb::store::sqlite::dedupe_generations;
using sb::store::sqlite::digest_key;
using sb::store::sqlite::key_filter;

namespace {

/// Uniform 16-byte keys, as the keyed digests are; the same ones for the same seed.
std::vector<digest_key> random_keys(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<digest_key> out(n);
  for (auto& k : out) {
    for (std::size_t i = 0; i < digest_key::size; i += 8) {
      const std::uint64_t w = rng();
      for (std::size_t b = 0; b < 8; ++b) {
        k.bytes[i + b] = static_cast<char>(w >> (8 * b));
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a key filter holds every key added, and few others", "[store][dedupe]") {
  const auto in = random_keys(100000, 1);
  key_filter f(in.size());
  CHECK(f.bytes() == 100000 * 2);  // 16 bits per key, in 64-byte blocks
  for (const auto& k : in) {
    f.add(k);
  }
  for (const auto& k : in) {
    REQUIRE(f.may_contain(k));
  }
  std::size_t passed = 0;
  const auto out = random_keys(200000, 2);
  for (const auto& k : out) {
    passed += f.may_contain(k) ? 1 : 0;
  }
  // About 1 in 500 at 16 bits per key (0.19 % measured); 1 in 200 would mean a broken hash.
  CHECK(passed < out.size() / 200);
  // Twice the keys it was sized for: still no false negative, more false positives.
  key_filter small(in.size() / 2);
  for (const auto& k : in) {
    small.add(k);
  }
  for (const auto& k : in) {
    REQUIRE(small.may_contain(k));
  }
}

TEST_CASE("an empty key filter holds nothing", "[store][dedupe]") {
  key_filter f(0);
  CHECK(f.bytes() == 64);
  for (const auto& k : random_keys(1000, 3)) {
    CHECK_FALSE(f.may_contain(k));
  }
}

TEST_CASE("a new generation starts once the newest holds its size, and a key is looked for in "
          "the generations that may hold it, newest first",
          "[store][dedupe]") {
  dedupe_generations g(1000);
  g.open({});
  CHECK(g.newest() == 0);
  CHECK(g.count() == 1);
  const auto keys = random_keys(2600, 4);
  CHECK_FALSE(g.start_merge());  // empty
  for (std::size_t i = 0; i < 1200; ++i) {
    g.add(g.newest(), keys[i], true);  // a round finishes in the generation it started in
  }
  CHECK(g.keys(0) == 1200);
  CHECK(g.start_merge());
  CHECK(g.newest() == 1);
  for (std::size_t i = 1200; i < 2000; ++i) {
    g.add(g.newest(), keys[i], true);
  }
  CHECK_FALSE(g.start_merge());  // 800 of 1,000
  std::vector<std::int64_t> c;
  g.candidates(keys[5], c);
  CHECK(c.back() == 0);
  g.candidates(keys[1500], c);
  CHECK(c.front() == 1);
  std::size_t seeks = 0;
  for (std::size_t i = 2000; i < 2600; ++i) {
    g.candidates(keys[i], c);
    seeks += c.size();
  }
  CHECK(seeks < 10);

  // Opened again from the table's counts: the same generations, the newest with room to grow.
  dedupe_generations again(1000);
  again.open({{0, 1200}, {1, 800}});
  for (std::size_t i = 0; i < 2000; ++i) {
    again.add(i < 1200 ? 0 : 1, keys[i], false);
  }
  CHECK(again.newest() == 1);
  CHECK(again.keys(1) == 800);
  again.candidates(keys[100], c);
  CHECK(std::find(c.begin(), c.end(), 0) != c.end());
  CHECK_FALSE(again.start_merge());
  // Retention emptied generation 0 (its key count is what the table holds): it stays searchable
  // until the next open.
  dedupe_generations swept(1000);
  swept.open({{1, 800}, {2, 10}});
  CHECK(swept.newest() == 2);
  CHECK(swept.count() == 2);
}

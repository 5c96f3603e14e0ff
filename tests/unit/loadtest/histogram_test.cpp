#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "loadtest/histogram.hpp"

using sb::loadtest::histogram;

namespace {

/// The exact percentile by the same definition: the smallest value with at least p% <= it.
std::int64_t exact(std::vector<std::int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::max<std::size_t>(rank, 1);
  return v[rank - 1];
}

}  // namespace

TEST_CASE("histogram percentiles are within 1% of the exact ones, 1 us to 60 s") {
  std::mt19937_64 rng(42);
  // Log-uniform over 1 us .. 60 s: every magnitude the histogram must cover.
  std::uniform_real_distribution<double> exponent(0.0, std::log(60e6));
  std::vector<std::int64_t> values;
  histogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::int64_t>(std::exp(exponent(rng)));
    values.push_back(v);
    h.record(v);
  }
  REQUIRE(h.count() == values.size());
  CHECK(h.max() == *std::max_element(values.begin(), values.end()));
  CHECK(h.min() == *std::min_element(values.begin(), values.end()));
  for (double p : {1.0, 10.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto want = exact(values, p);
    const auto got = h.percentile(p);
    INFO("p" << p << " exact " << want << " got " << got);
    CHECK(std::abs(static_cast<double>(got - want)) <= 0.01 * static_cast<double>(want) + 0.5);
  }
}

TEST_CASE("histogram is exact below 128 us and reports the true max") {
  histogram h;
  for (int v = 1; v <= 100; ++v) {
    h.record(v);
  }
  CHECK(h.percentile(50) == 50);
  CHECK(h.percentile(99) == 99);
  CHECK(h.percentile(100) == 100);
  CHECK(h.max() == 100);
  h.record(59'999'999);
  CHECK(h.max() == 59'999'999);
  CHECK(h.percentile(100) == 59'999'999);
}

TEST_CASE("histogram buckets tile the range and bound the relative error") {
  for (std::int64_t v :
       {0LL, 1LL, 127LL, 128LL, 129LL, 255LL, 256LL, 1000LL, 123456LL, 60'000'000LL, 1LL << 39}) {
    const auto i = histogram::index_of(v);
    INFO("value " << v);
    CHECK(histogram::bucket_low(i) <= v);
    CHECK(histogram::bucket_high(i) >= v);
    const double width = static_cast<double>(histogram::bucket_high(i) - histogram::bucket_low(i));
    CHECK(width <= std::max(0.0, static_cast<double>(v) / 128.0));
  }
  for (std::size_t i = 1; i < histogram::index_of(1LL << 38); ++i) {
    REQUIRE(histogram::bucket_low(i) == histogram::bucket_high(i - 1) + 1);
  }
}

TEST_CASE("merging histograms equals recording everything in one") {
  histogram a;
  histogram b;
  histogram all;
  for (int i = 0; i < 1000; ++i) {
    (i % 2 ? a : b).record(i * 37);
    all.record(i * 37);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  for (double p : {50.0, 90.0, 99.0}) {
    CHECK(a.percentile(p) == all.percentile(p));
  }
  CHECK(a.max() == all.max());
  CHECK(histogram{}.percentile(99) == 0);
}

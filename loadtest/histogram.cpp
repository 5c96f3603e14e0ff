#include "loadtest/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace sb::loadtest {

namespace {
constexpr std::int64_t sub_count = std::int64_t{1} << histogram::sub_bits;

int msb(std::uint64_t v) {
  return 63 - __builtin_clzll(v);
}
}  // namespace

histogram::histogram()
    : counts_(static_cast<std::size_t>((max_exponent - sub_bits + 2) * sub_count), 0) {}

std::size_t histogram::index_of(std::int64_t value_us) {
  const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(value_us, 0));
  if (v < static_cast<std::uint64_t>(sub_count)) {
    return static_cast<std::size_t>(v);
  }
  const int e = std::min(msb(v), max_exponent);
  const int shift = e - sub_bits;
  const auto sub = std::min<std::uint64_t>(v >> shift, 2 * sub_count - 1) - sub_count;
  return static_cast<std::size_t>((shift + 1) * sub_count + static_cast<std::int64_t>(sub));
}

std::int64_t histogram::bucket_low(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < sub_count) {
    return i;
  }
  const std::int64_t shift = i / sub_count - 1;
  return (sub_count + i % sub_count) << shift;
}

std::int64_t histogram::bucket_high(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < sub_count) {
    return i;
  }
  const std::int64_t shift = i / sub_count - 1;
  return bucket_low(index) + (std::int64_t{1} << shift) - 1;
}

void histogram::record(std::int64_t value_us) {
  value_us = std::max<std::int64_t>(value_us, 0);
  ++counts_[index_of(value_us)];
  if (count_ == 0 || value_us < min_) {
    min_ = value_us;
  }
  ++count_;
  max_ = std::max(max_, value_us);
  sum_ += value_us;
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  if (other.count_ > 0 && (count_ == 0 || other.min_ < min_)) {
    min_ = other.min_;
  }
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

std::int64_t histogram::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      if (i == index_of(max_)) {
        return max_;  // the top bucket: the true max is known exactly
      }
      const auto mid = (bucket_low(i) + bucket_high(i)) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace sb::loadtest

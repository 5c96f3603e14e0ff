#pragma once

#include <cstdint>
#include <vector>

/// A log-linear (HDR-style) latency histogram: values in microseconds, 128 linear sub-buckets per
/// power of two, so every recorded value is reported within 1/256 (< 0.4%) of itself up to
/// 2^40 us. Values below 128 us are exact. Pure logic, not thread-safe.
namespace sb::loadtest {

class histogram {
 public:
  static constexpr int sub_bits = 7;  ///< 2^7 = 128 sub-buckets per power of two
  static constexpr int max_exponent = 40;

  histogram();

  /// Records one value (microseconds); negative values count as 0.
  void record(std::int64_t value_us);
  /// Adds every count of `other`.
  void merge(const histogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t max() const { return max_; }
  std::int64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  /// The value at percentile `p` (0..100): the smallest recorded value such that at least p% of
  /// the values are <= it, as the midpoint of its bucket (exact below 128 us; clamped to max).
  /// 0 when empty.
  std::int64_t percentile(double p) const;

  /// Bucket index of a value, and the bucket's [low, high] bounds (for tests and plots).
  static std::size_t index_of(std::int64_t value_us);
  static std::int64_t bucket_low(std::size_t index);
  static std::int64_t bucket_high(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
  std::int64_t min_ = 0;
  std::int64_t sum_ = 0;
};

}  // namespace sb::loadtest

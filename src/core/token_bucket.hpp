#pragma once

#include <chrono>
#include <cstdint>

/// A token bucket on injected time: the send engine's rate limits (docs/outbound.md "Delivery
/// engine"), the HTTP edge's ingress and auth-failure limits, the outbound API's per-token send
/// limits. Plain value type: no clock of its own, no threads; its owner passes `now`.
namespace sb {

/// `burst` tokens at most; one more every `interval`. Implemented as GCRA (a "theoretical
/// arrival time" in integer clock ticks), which is exactly a token bucket without rounding drift:
/// after an idle period `burst` takes succeed at once, then one per `interval`.
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  /// `interval` > 0 and `burst` >= 1 (smaller values are raised to those).
  token_bucket(duration interval, std::uint32_t burst);

  /// A bucket of `rate` tokens per second (> 0) and `burst` (>= 1, rounded down). The interval
  /// is rounded to the clock's tick (1 ns).
  static token_bucket per_second(double rate, double burst);

  /// Takes a token if one is there at `now`.
  bool take(time_point now);

  /// When the next token is there: `now` when it is there already.
  time_point available_at(time_point now) const;

  /// How long until a token is there (0 when one is).
  duration time_until_available(time_point now) const { return available_at(now) - now; }

  /// A platform said "too many" and to wait until `until` (a 429's retry-after): no token before
  /// `until`, exactly one then, and the regular rate after that (no burst right after a
  /// penalty). Never shortens an earlier penalty.
  void penalize(time_point until);

  /// Full at `now`: indistinguishable from a new bucket, so its owner may drop it.
  bool idle(time_point now) const { return !started_ || tat_ <= now; }

  duration interval() const { return interval_; }
  std::uint32_t burst() const { return burst_; }

 private:
  duration interval_;
  duration tolerance_;  // (burst - 1) * interval
  std::uint32_t burst_;
  time_point tat_{};  // theoretical arrival time of the next conforming take, when started_
  bool started_ = false;
};

}  // namespace sb

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.hpp"

/// When a failed push delivery is tried again (docs/delivery.md). Plain value type.
namespace sb::delivery {

class retry_schedule {
 public:
  using duration = std::chrono::milliseconds;

  /// The Standard Webhooks schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (eight
  /// attempts over about 28 hours), ±20 % jitter, Retry-After honoured up to 24 h.
  retry_schedule();

  /// `delays[i]` is the wait before attempt i+1; there are `delays.size()` attempts. The first
  /// entry must be 0 (a first attempt is never delayed); none may be negative. `jitter` in
  /// [0, 1) spreads each wait uniformly over ±jitter of it. A Retry-After longer than the
  /// scheduled wait replaces it, capped at `max_retry_after`. `errc::bad_request` otherwise.
  static result<retry_schedule> make(std::vector<duration> delays, double jitter = 0.2,
                                     duration max_retry_after = std::chrono::hours{24});

  /// How many attempts a delivery gets in all (at least 1).
  std::uint32_t attempts() const { return static_cast<std::uint32_t>(delays_.size()); }
  const std::vector<duration>& delays() const { return delays_; }
  double jitter() const { return jitter_; }

  /// After `attempts_made` (>= 1) attempts failed: the wait before the next one, or nullopt when
  /// none is left. `u` in [0, 1) draws the jitter (the caller owns the random source, so tests
  /// can pin it). `retry_after` (the receiver's Retry-After) wins when it is longer.
  std::optional<duration> next_delay(std::uint32_t attempts_made,
                                     std::optional<duration> retry_after, double u) const;

 private:
  std::vector<duration> delays_;
  double jitter_ = 0.2;
  duration max_retry_after_{std::chrono::hours{24}};
};

/// Parses a Retry-After value (RFC 9110 §10.2.3): delay-seconds ("120") or an HTTP-date
/// (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and asctime forms).
/// A date is turned into a wait from `now_unix_s`; a date in the past is a wait of 0. nullopt
/// when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_unix_s);

}  // namespace sb::delivery

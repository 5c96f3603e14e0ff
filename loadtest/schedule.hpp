#pragma once

#include <chrono>
#include <cstdint>

/// The open-loop timeline: request i is due at `start + i / rate`, whatever happened to earlier
/// requests. Latency is measured from this intended time, so a stalled gateway cannot hide its
/// stall by slowing the generator down (no coordinated omission).
namespace sb::loadtest {

using clock = std::chrono::steady_clock;

/// When request `i` (0-based) is due at `rate` requests per second from `start`. Pure.
inline clock::time_point intended_time(clock::time_point start, double rate, std::uint64_t i) {
  const double ns = static_cast<double>(i) * 1e9 / rate;
  return start + std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

/// How many requests are due by `now` (those with intended time <= now). Pure.
inline std::uint64_t due_count(clock::time_point start, double rate, clock::time_point now) {
  if (now < start) {
    return 0;
  }
  const double s = std::chrono::duration<double>(now - start).count();
  auto n = static_cast<std::uint64_t>(s * rate) + 1;
  // Guard the floating-point edge: make the answer agree exactly with intended_time.
  while (n > 0 && intended_time(start, rate, n - 1) > now) {
    --n;
  }
  while (intended_time(start, rate, n) <= now) {
    ++n;
  }
  return n;
}

}  // namespace sb::loadtest

#pragma once

#include <chrono>
#include <cstdint>

/// Restart policy of supervisors, as a plain class: restart at once after a crash that follows a
/// stable period, back off exponentially (capped) when crashes repeat.
namespace sb {

class restart_policy {
 public:
  using clock = std::chrono::steady_clock;

  restart_policy(std::chrono::milliseconds initial = std::chrono::milliseconds{50},
                 std::chrono::milliseconds max = std::chrono::milliseconds{1000},
                 std::chrono::milliseconds stable = std::chrono::seconds{10})
      : initial_(initial), max_(max), stable_(stable) {}

  /// Records a crash at `now` and returns how long to wait before restarting.
  std::chrono::milliseconds on_crash(clock::time_point now) {
    if (crashes_ > 0 && now - last_crash_ >= stable_) {
      streak_ = 0;
    }
    last_crash_ = now;
    ++crashes_;
    if (streak_++ == 0) {
      return std::chrono::milliseconds{0};
    }
    auto d = initial_;
    for (std::uint32_t i = 1; i < streak_ - 1 && d < max_; ++i) {
      d *= 2;
    }
    return d < max_ ? d : max_;
  }

  std::uint64_t crashes() const { return crashes_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds stable_;
  clock::time_point last_crash_{};
  std::uint64_t crashes_ = 0;
  std::uint32_t streak_ = 0;
};

}  // namespace sb

#include "core/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace sb {

token_bucket::token_bucket(duration interval, std::uint32_t burst)
    : interval_(std::max(interval, duration{1})), burst_(std::max<std::uint32_t>(burst, 1)) {
  tolerance_ = interval_ * static_cast<std::int64_t>(burst_ - 1);
}

token_bucket token_bucket::per_second(double rate, double burst) {
  using ticks = duration::rep;
  const double per_tick = static_cast<double>(duration::period::den) /
                          static_cast<double>(duration::period::num);  // ticks per second
  // llround: 1/6 per second is 6 s exactly, not 6 s + 1 ns from a floating-point remainder.
  const ticks interval = rate > 0 ? static_cast<ticks>(std::llround(per_tick / rate)) : 1;
  const double b = std::floor(burst);
  return token_bucket(duration{interval}, b < 1       ? 1u
                                          : b > 4.0e9 ? 4000000000u
                                                      : static_cast<std::uint32_t>(b));
}

token_bucket::time_point token_bucket::available_at(time_point now) const {
  if (!started_) {
    return now;
  }
  const time_point at = tat_ - tolerance_;
  return at > now ? at : now;
}

bool token_bucket::take(time_point now) {
  if (available_at(now) > now) {
    return false;
  }
  tat_ = (started_ && tat_ > now ? tat_ : now) + interval_;
  started_ = true;
  return true;
}

void token_bucket::penalize(time_point until) {
  // The next take conforms when now >= tat - tolerance: from `until` exactly.
  const time_point tat = until + tolerance_;
  if (!started_ || tat > tat_) {
    tat_ = tat;
    started_ = true;
  }
}

}  // namespace sb

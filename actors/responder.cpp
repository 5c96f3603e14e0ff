// The responder's answer-exactly-once guarantee (actors/gateway.hpp).
#include <utility>

#include "actors/gateway.hpp"

#include <chrono>

#include "core/metrics.hpp"

namespace sb::actors {

namespace {
std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

responder::responder(callback cb) : cb_(std::move(cb)) {
  moments_[static_cast<std::size_t>(moment::made)].store(steady_now_ns(),
                                                         std::memory_order_relaxed);
}

void responder::mark(moment m) noexcept { mark(m, steady_now_ns()); }

void responder::mark(moment m, std::int64_t steady_ns) noexcept {
  moments_[static_cast<std::size_t>(m)].store(steady_ns, std::memory_order_relaxed);
}

void responder::observe_stages(std::int64_t answered_ns) const noexcept {
  // One stage per moment (below).
  static_assert(k_moments == metrics::catalog::k_webhook_stages);
  std::int64_t t[k_moments + 1];
  for (std::size_t i = 0; i < k_moments; ++i) {
    t[i] = moments_[i].load(std::memory_order_relaxed);
    if (t[i] == 0) {
      return;  // not a stored webhook (an error, a handshake, an API call), or not yet
    }
  }
  t[k_moments] = answered_ns;
  // Stage i is moment i -> moment i + 1; the last one ends with the answer.
  for (std::size_t i = 0; i < k_moments; ++i) {
    const auto ns = t[i + 1] > t[i] ? t[i + 1] - t[i] : 0;
    metrics::catalog::webhook_stage_seconds(static_cast<metrics::catalog::webhook_stage>(i))
        .observe(static_cast<double>(ns) * 1e-9);
  }
}

responder::~responder() {
  if (!done_.load(std::memory_order_acquire)) {
    answer(error_response(errc::unavailable, "the request could not be completed; retry", 1));
  }
}

void responder::answer(http_response r) {
  bool expected = false;
  if (done_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
    observe_stages(steady_now_ns());
    cb_(std::move(r));
  }
}

}  // namespace sb::actors

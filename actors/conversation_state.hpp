#pragma once

#include <cstdint>

#include "core/time.hpp"

/// Per-conversation bookkeeping as a plain class (the conversation actor is its shell): the
/// customer-service window opened by the person's last inbound message, and counters.
namespace sb::actors {

class conversation_state {
 public:
  static constexpr std::int64_t k_window_ms = 24LL * 3600 * 1000;

  /// Records a stored event of the conversation. Only inbound messages from the person move
  /// the window (statuses, echoes and system events do not).
  void on_event(bool inbound_message, timestamp occurred_at) {
    ++events_;
    if (inbound_message && occurred_at.unix_ms > last_inbound_ms_) {
      last_inbound_ms_ = occurred_at.unix_ms;
    }
  }

  /// True while a free-form reply is allowed: within 24 h of the last inbound message.
  bool window_open(timestamp at) const {
    return last_inbound_ms_ != 0 && at.unix_ms - last_inbound_ms_ < k_window_ms;
  }

  std::uint64_t events() const { return events_; }
  std::int64_t last_inbound_ms() const { return last_inbound_ms_; }

 private:
  std::uint64_t events_ = 0;
  std::int64_t last_inbound_ms_ = 0;
};

}  // namespace sb::actors

#pragma once

#include <cstdint>

#include "core/event.hpp"
#include "core/time.hpp"

/// Per-conversation bookkeeping as a plain class (the conversation actor is its shell): the
/// customer-service window opened by the person's last inbound message, and counters.
///
/// The window outlives the actor: the tenant records each conversation's last inbound time in
/// the outbox (`store::outbox::last_inbound`), and a fresh actor `restore`s it from there before
/// it answers a window query, so idle expiry and restarts lose nothing.
namespace sb::outbound {

/// Whether a stored event is a message from the person, the kind that opens (moves) the
/// customer-service window: messages, edits, postbacks and reactions, not echoes of what the
/// business sent, statuses or system events.
inline bool opens_window(const event& e) {
  return !e.content.echo &&
         (e.type == event_type::message || e.type == event_type::message_edited ||
          e.type == event_type::postback || e.type == event_type::reaction);
}

/// When the person's message counts as received for the window: its platform time, but never
/// later than the gateway received it (a sender's clock running ahead must not stretch the
/// window).
inline timestamp window_time(const event& e) {
  if (e.occurred_at.empty() ||
      (!e.received_at.empty() && e.received_at.unix_ms < e.occurred_at.unix_ms)) {
    return e.received_at;
  }
  return e.occurred_at;
}

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

  /// Raises the last inbound time to the durable one (never lowers it: events seen since the
  /// actor started may be newer than what the store had) and marks the window as restored.
  void restore(std::int64_t durable_last_inbound_ms) {
    if (durable_last_inbound_ms > last_inbound_ms_) {
      last_inbound_ms_ = durable_last_inbound_ms;
    }
    restored_ = true;
  }

  /// Whether `restore` ran: until then `last_inbound_ms` knows only this actor's events.
  bool restored() const { return restored_; }

  /// True while a free-form reply is allowed: within 24 h of the last inbound message.
  bool window_open(timestamp at) const {
    return last_inbound_ms_ != 0 && at.unix_ms - last_inbound_ms_ < k_window_ms;
  }

  std::uint64_t events() const { return events_; }
  std::int64_t last_inbound_ms() const { return last_inbound_ms_; }

 private:
  std::uint64_t events_ = 0;
  std::int64_t last_inbound_ms_ = 0;
  bool restored_ = false;
};

}  // namespace sb::outbound

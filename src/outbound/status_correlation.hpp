#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.hpp"
#include "store/outbox.hpp"

/// Status correlation (docs/outbound.md "Status correlation"): platform receipts arrive as
/// `status` events that name the platform's message id, or as watermarks that cover every
/// message sent up to a time (`adapters::adapter_info::receipt_watermark`); the gateway links them
/// to the outbound message it sent, moves that message's state forward and emits `outbound.status`
/// with the outbound id. Plain code: the tenant actor feeds committed events in and runs the
/// resulting lookups on the outbox writer.
namespace sb::outbound {

/// One receipt to apply to the outbox.
struct receipt {
  std::string channel;
  store::outbound_state state = store::outbound_state::delivered;
  std::string platform_message_id;  ///< look the message up by this id ("" = by `ids`)
  std::vector<std::string> ids;     ///< outbound ids resolved from a watermark
  std::string error_code;           ///< failed receipts
  std::string error_title;
  timestamp at;  ///< the platform's time of the receipt
  /// Lookups already made: a receipt can overtake the send API's answer that records the
  /// platform's id, so one that finds nothing is looked up once more a little later.
  int lookups = 0;
};

/// The platform state a receipt moves a message to, or nothing for states that do not
/// ("deleted", "warning", anything unknown).
std::optional<store::outbound_state> receipt_state(const std::string& platform_state);

/// The watermark (Unix ms: every message sent up to it was delivered / read) of a `status`
/// event, from its platform's `adapter_info::receipt_watermark`; nothing when the event names
/// its message instead, or its platform's receipts never are watermarks.
std::optional<std::int64_t> watermark_of(const event& e);

/// Remembers recently sent messages per conversation of platforms with watermark receipts, so
/// that a watermark can be resolved to the outbound ids it covers. Memory only, bounded: receipts
/// for messages the gateway sent before a restart, or longer than `k_max_age_ms` ago, are resolved
/// only when they name the message.
///
/// Threading: one owner (the tenant actor).
class status_correlator {
 public:
  static constexpr std::size_t k_per_conversation = 64;
  static constexpr std::size_t k_max_conversations = 20000;
  static constexpr std::int64_t k_max_age_ms = 7LL * 24 * 3600 * 1000;
  /// A watermark is the platform's time of the newest message it covers; our record of that
  /// message is stamped when the platform's answer arrived, a little later. Messages sent within
  /// this tolerance after the watermark count as covered.
  static constexpr std::int64_t k_watermark_tolerance_ms = 2000;

  /// Reads a batch of committed events: remembers messages that `outbound.status` reports sent,
  /// and returns the receipts that `status` events carry (by message id, or resolved from a
  /// watermark). A watermark is also kept a while per conversation: a message whose `sent`
  /// event commits after a watermark that covers it (the receipt overtook the announcement) is
  /// resolved when it is remembered.
  std::vector<receipt> on_committed(const std::vector<event>& events);

  /// Conversations tracked (tests).
  std::size_t conversations() const { return sent_.size(); }

 private:
  struct sent_message {
    std::string id;
    std::int64_t sent_ms = 0;
    bool delivered = false;
  };

  /// The newest watermarks seen of a conversation (Unix ms; 0 = none).
  struct watermarks {
    std::int64_t delivered = 0;
    std::int64_t read = 0;
  };

  void remember(const event& e, std::vector<receipt>& out);
  std::vector<std::string> resolve(const std::string& conversation, std::int64_t watermark,
                                   bool read);
  void trim(std::int64_t now_ms);

  static constexpr std::int64_t k_trim_interval_ms = 60000;
  /// How long a watermark is kept for announcements that arrive after it.
  static constexpr std::int64_t k_watermark_wait_ms = 10LL * 60 * 1000;

  std::unordered_map<std::string, std::deque<sent_message>> sent_;
  std::unordered_map<std::string, watermarks> watermarks_;
  std::int64_t last_trim_ms_ = 0;  ///< event time of the last sweep of old entries
};

}  // namespace sb::outbound

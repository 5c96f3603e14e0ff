#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "store/event_log.hpp"

/// Push-delivery state of each (tenant, subscriber): how far delivery got (the cursor), the
/// deliveries that ran out of retries (dead letters, listed and redriven through the backend API,
/// docs/DESIGN.md §6) and whether the receiver stopped delivery (410 Gone). The in-memory and the
/// SQLite stores both serve one beside their `event_log` (store/stores.hpp).
///
/// Threading: every member may be called from any thread, concurrently with each other and with
/// the `event_log` members of the same stores. Writes (`save_cursor`, `add_dead_letter`,
/// `take_dead_letter`, `disable`, `enable`) are serialized with `append` and are durable, as
/// configured, when they return ok; callers should therefore save cursors in batches, not once per
/// event.
namespace sb::store {

/// A push delivery that ran out of retries.
struct dead_letter {
  std::uint64_t id = 0;  ///< assigned by the store, increasing, never reused
  std::string tenant;
  std::string subscriber;
  std::uint64_t seq = 0;  ///< the event's position in the tenant's stream
  std::string event_id;   ///< the event's `id` (the `webhook-id` of the delivery)
  std::uint32_t attempts = 0;
  std::string last_error;  ///< e.g. "HTTP 500" or "connect timeout"; no response bodies
  timestamp failed_at;     ///< stored with millisecond precision
};

/// Why and since when push delivery to a subscriber is stopped.
struct subscriber_disabled {
  std::string reason;  ///< e.g. "HTTP 410"
  timestamp since;     ///< stored with millisecond precision
};

class delivery_store {
 public:
  virtual ~delivery_store() = default;

  /// Records that the subscriber has everything up to `seq`. Overwrites the previous cursor, also
  /// with a lower value (a replay moves it back).
  [[nodiscard]] virtual status save_cursor(const std::string& tenant, const std::string& subscriber,
                                           std::uint64_t seq) = 0;

  /// The saved cursor, 0 when none was saved. On a storage error it logs and answers 0: delivery
  /// then starts over, which is at-least-once, never loss.
  virtual std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) = 0;

  /// Keeps a dead letter (its `id` is ignored). Returns the assigned id.
  [[nodiscard]] virtual result<std::uint64_t> add_dead_letter(dead_letter letter) = 0;

  /// The subscriber's dead letters with id > `after_id`, oldest first, at most `limit`. On a
  /// storage error it logs and answers what it has (possibly nothing).
  virtual std::vector<dead_letter> dead_letters(const std::string& tenant,
                                                const std::string& subscriber,
                                                std::uint64_t after_id, std::size_t limit) = 0;

  /// Removes a dead letter and returns it (redrive). `errc::not_found` when the subscriber of
  /// that tenant has no dead letter with this id (already taken, or another tenant's).
  [[nodiscard]] virtual result<dead_letter> take_dead_letter(const std::string& tenant,
                                                             const std::string& subscriber,
                                                             std::uint64_t id) = 0;

  /// Records that delivery to the subscriber is stopped (its receiver answered 410 Gone), so it
  /// stays stopped across restarts. Overwrites an earlier record.
  [[nodiscard]] virtual status disable(const std::string& tenant, const std::string& subscriber,
                                       subscriber_disabled why) = 0;

  /// Removes that record (`POST /v1/subscribers/{name}/enable`, a redrive). Ok when there was
  /// none.
  [[nodiscard]] virtual status enable(const std::string& tenant, const std::string& subscriber) = 0;

  /// The subscriber's record, or nullopt when delivery is not stopped. A storage error is
  /// returned as such: the caller decides (the subscriber actor then delivers, and a receiver
  /// that is still gone answers 410 again).
  [[nodiscard]] virtual result<std::optional<subscriber_disabled>> disabled(
      const std::string& tenant, const std::string& subscriber) = 0;
};

}  // namespace sb::store

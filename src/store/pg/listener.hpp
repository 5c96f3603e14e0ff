#pragma once

// A replica's ear on its PostgreSQL database (docs/scale-out.md, "Streams from any replica"):
// one connection of its own that LISTENs for the heads other replicas' commits announce, on a
// thread of its own, so that no stream of this replica polls the database.
//
// Every append of the PostgreSQL log sends `NOTIFY switchboard_events, '<tenant> <head>'` inside
// its transaction (store/pg/event_log.cpp). PostgreSQL delivers a notification only when its
// transaction commits, and delivers them in commit order, to every listening session (this
// replica's own commits included). A notification sent while this connection was down is lost:
// after each (re)connect `connected` is called, and the caller re-reads what it follows.
//
// The connection is also the replica's view of whether PostgreSQL is reachable (`/readyz`): it is
// checked with a `SELECT 1` whenever it has been quiet for `probe_every`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace sb::store::pg {

/// `<tenant> <head>` as the log's appends send it; false for anything else.
bool parse_head_notice(std::string_view payload, std::string& tenant, std::uint64_t& head);

/// The channel the log's appends notify on.
inline constexpr const char* k_events_channel = "switchboard_events";
/// The channel the outbox's puts notify on: `<tenant> <channel>`.
inline constexpr const char* k_outbox_channel = "switchboard_outbox";
/// The channel the control plane's changes notify on: `<tenant>` (store/pg/definitions.cpp).
inline constexpr const char* k_control_channel = "switchboard_control";

class listener {
 public:
  struct callbacks {
    /// Tenants' heads are now at least these (each tenant's highest head among the
    /// notifications read at once). Called on the listener's thread, which waits for it: the next
    /// notifications are read when it returns.
    std::function<void(const std::map<std::string, std::uint64_t>& heads)> heads;
    /// Outbound messages were put for these (tenant, channel) pairs by some replica (the
    /// PostgreSQL outbox notifies on `k_outbox_channel`). Called on the listener's thread.
    std::function<void(const std::set<std::pair<std::string, std::string>>& channels)> outbox;
    /// Some replica changed the control plane's definitions (any number of changes, read at
    /// once). Called on the listener's thread.
    std::function<void()> control;
    /// The connection was (re)established and is listening: notifications sent before may have
    /// been missed. Called on the listener's thread.
    std::function<void()> connected;
  };
  struct options {
    std::chrono::milliseconds probe_every{1000};
    std::chrono::milliseconds retry_min{100};
    std::chrono::milliseconds retry_max{2000};
  };

  /// Starts the thread; it connects to `dsn` (and again after every loss, backing off from
  /// `retry_min` to `retry_max`).
  static std::unique_ptr<listener> start(std::string dsn, callbacks cb, options opts);
  static std::unique_ptr<listener> start(std::string dsn, callbacks cb) {
    return start(std::move(dsn), std::move(cb), options{});
  }

  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  /// Stops and joins the thread.
  ~listener();

  /// True while the connection is up and listening (its last probe answered).
  bool connected() const { return connected_.load(std::memory_order_acquire); }

 private:
  listener(std::string dsn, callbacks cb, options opts);
  void run();
  /// Waits up to `d` for the stop pipe; true when asked to stop.
  bool stopped_within(std::chrono::milliseconds d);

  const std::string dsn_;
  const callbacks cb_;
  const options opts_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes to it to end a wait at once
  std::thread thread_;
};

}  // namespace sb::store::pg

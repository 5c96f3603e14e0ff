#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "delivery/retry_schedule.hpp"

/// The decisions of one push subscriber, as plain classes the subscriber actor wraps
/// (docs/delivery.md): what may be sent now, what a response means, when to retry, how far the
/// durable cursor may move and when to save it. No I/O, no clock of their own, no threads: one
/// owner calls them, and tests drive them directly.
namespace sb::delivery {

/// What one delivery attempt came to.
struct attempt_result {
  int status = 0;     ///< HTTP status; 0 when no response arrived
  std::string error;  ///< why no response arrived ("timeout", "connection refused", ...)
  std::optional<std::chrono::milliseconds> retry_after;  ///< the response's Retry-After, parsed
};

/// How a response is taken.
enum class verdict {
  success,  ///< 2xx: delivered
  retry,    ///< everything else: try again on the schedule, then dead-letter
  disable,  ///< 410 Gone: the receiver says the endpoint is gone; stop delivering
};

/// 2xx is success, 410 disables, anything else is retried: 429 and 5xx (the receiver is busy or
/// broken), no response (timeout, connection error), 3xx (redirects are not followed: a receiver
/// must be configured with its final URL) and the other 4xx (as Standard Webhooks senders do: a
/// 400 or 401 is most often a receiver misconfiguration fixed within the retry window).
verdict classify(int status);

/// "HTTP 503" for a response, the transport error otherwise. Never includes a response body.
std::string describe(const attempt_result& r);

/// What the subscriber does after an attempt.
enum class action {
  delivered,    ///< done
  retry,        ///< call `retry_due(ticket)` after `delay`
  dead_letter,  ///< store a dead letter, then call `dead_lettered(ticket)`
  disable,      ///< stop sending until re-enabled; the event stays queued, nothing is lost
};

struct decision {
  action what = action::delivered;
  std::chrono::milliseconds delay{0};  ///< for `retry`
  std::uint32_t attempts = 0;          ///< attempts made so far for this delivery
  std::string last_error;              ///< `describe` of the last failed attempt
};

/// One delivery the planner tracks: an event of the window after the durable cursor, or a
/// redriven dead letter.
struct job {
  enum class state {
    blocked,      ///< behind an earlier event of its conversation
    ready,        ///< may be sent
    sending,      ///< an attempt is in flight
    waiting,      ///< a retry is scheduled
    dead_letter,  ///< out of attempts; the dead letter is being stored
  };
  std::uint64_t ticket = 0;  ///< names the job in results and timers
  std::uint64_t seq = 0;
  std::string conversation;  ///< "" = independent of every other event
  std::string event_id;      ///< `webhook-id`
  std::string json;          ///< the body, exactly as stored
  std::uint32_t attempts = 0;
  std::string last_error;
  bool redrive = false;
  state st = state::blocked;
};

/// Plans one subscriber's deliveries from the events read after its durable cursor, in seq order.
///
/// - Per-conversation order: an event is sent only once every earlier event of its conversation
///   is done (delivered or dead-lettered). Other conversations go on meanwhile; events without a
///   conversation never wait for another.
/// - Bounds: at most `max_in_flight` attempts at once; the log is read at most `max_lookahead`
///   seqs beyond the durable cursor (so a receiver stuck on one conversation holds a bounded
///   number of events in memory); at most `max_redrive` redriven dead letters at once.
/// - The durable cursor is the highest seq such that every event up to it is done.
/// - Redriven dead letters are sent as independent deliveries with a fresh schedule: they are
///   older than the cursor and are not ordered relative to newer events of their conversation.
class delivery_planner {
 public:
  struct limits {
    std::size_t max_in_flight = 8;
    std::size_t max_lookahead = 1000;
    std::size_t max_redrive = 1000;
  };

  delivery_planner(std::uint64_t cursor, limits lim, retry_schedule schedule);

  // -- the window --------------------------------------------------------------------------------

  /// The log is read after this seq (the last seq added or examined).
  std::uint64_t read_position() const { return read_position_; }
  /// How many more seqs may be read now (0 when the look-ahead bound is reached).
  std::size_t room() const;
  /// Adds the next event read from the log; `seq` > `read_position()`.
  void add(std::uint64_t seq, std::string conversation, std::string event_id, std::string json);
  /// The reader examined the log up to `seq` (a read's `next`): seqs without events are done.
  void advance(std::uint64_t seq);
  /// Every event up to this seq is done: what the subscriber saves as its cursor.
  std::uint64_t cursor() const;

  // -- redrive -----------------------------------------------------------------------------------

  /// How many more dead letters may be redriven now.
  std::size_t redrive_room() const;
  /// Adds a redriven dead letter; returns its ticket. Requires `redrive_room() > 0`.
  std::uint64_t add_redrive(std::uint64_t seq, std::string event_id, std::string json);

  // -- sending -----------------------------------------------------------------------------------

  /// The deliveries to start now, marked as sending (redriven ones first, then in seq order).
  std::vector<std::uint64_t> take_ready();
  /// A tracked job, or null when `ticket` is done or unknown.
  const job* find(std::uint64_t ticket) const;
  /// Records the result of an attempt started by `take_ready`. `u` in [0, 1) draws the retry
  /// jitter. nullopt when the ticket is not sending (a stale result, ignored).
  std::optional<decision> on_result(std::uint64_t ticket, const attempt_result& r, double u);
  /// The attempt could not start (client busy) or was cancelled: ready again, not counted.
  void requeue(std::uint64_t ticket);
  /// A scheduled retry is due (also: storing the dead letter failed, try delivering again).
  void retry_due(std::uint64_t ticket);
  /// The dead letter of `ticket` is stored: the job is done.
  void dead_lettered(std::uint64_t ticket);

  // -- introspection -----------------------------------------------------------------------------

  std::size_t in_flight() const { return sending_; }
  std::size_t tracked() const { return jobs_.size(); }
  std::size_t redriving() const { return redriving_; }
  std::size_t count(job::state s) const;
  const retry_schedule& schedule() const { return schedule_; }

 private:
  static constexpr std::uint64_t k_redrive_bit = std::uint64_t{1} << 63;

  void done(std::map<std::uint64_t, job>::iterator it);
  void make_ready(job& j);

  limits limits_;
  retry_schedule schedule_;
  std::uint64_t read_position_ = 0;
  std::map<std::uint64_t, job> jobs_;  ///< window jobs (ticket = seq), then redrive ones
  std::set<std::uint64_t> ready_;      ///< tickets in state `ready`
  std::unordered_map<std::string, std::deque<std::uint64_t>> conversations_;  ///< not-done seqs
  std::size_t sending_ = 0;
  std::size_t redriving_ = 0;
  std::uint64_t next_redrive_ = 0;
};

/// When to save a durable cursor: at most every `interval`, or at once when it moved `every`
/// seqs or more since the last save; the owner saves on stop as well.
class cursor_saver {
 public:
  using clock = std::chrono::steady_clock;

  struct plan {
    bool save_now = false;
    std::optional<std::chrono::milliseconds> arm_timer;  ///< call `on_timer` after this
  };

  cursor_saver(std::uint64_t saved, std::chrono::milliseconds interval, std::uint64_t every);

  /// The cursor is now `cursor`.
  plan on_progress(std::uint64_t cursor, clock::time_point now);
  /// The timer armed by `on_progress` fired: true when a save is due.
  bool on_timer(std::uint64_t cursor);
  /// `cursor` was saved at `now`.
  void saved(std::uint64_t cursor, clock::time_point now);
  std::uint64_t last_saved() const { return saved_; }

 private:
  std::uint64_t saved_;
  std::chrono::milliseconds interval_;
  std::uint64_t every_;
  clock::time_point last_save_{};
  bool timer_armed_ = false;
};

}  // namespace sb::delivery

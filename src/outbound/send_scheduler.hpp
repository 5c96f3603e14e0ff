#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/outbound.hpp"
#include "core/error.hpp"
#include "core/token_bucket.hpp"
#include "outbound/clock.hpp"

/// The send engine of one channel as a plain class (docs/outbound.md "Delivery engine"): which
/// queued messages may go to the platform now, what an answer means, when to try again. No I/O,
/// no clock, no threads: the sender actor owns one and passes `now` to every call; tests drive
/// it with an injected clock.
///
/// Rules:
/// - Per-conversation FIFO: at most one message of a conversation is in flight, and the next one
///   waits until the previous is sent or has failed for good, so order holds across retries.
/// - Rate limits: the channel's bucket (every send), the recipient's bucket, and for group
///   recipients (Telegram groups) the group bucket; a message leaves only when every bucket that
///   applies has a token, and takes one from each. Conversations wait for their own buckets
///   independently: a slow chat never holds up another.
/// - Fairness: conversations become eligible at a time (their retry time, their buckets); when
///   the channel's bucket or the in-flight bound is the bottleneck they go in the order they
///   became eligible.
/// - Outcomes (`adapters::send_result`): `sent` -> done; `permanent` -> failed at once (the next
///   message of the conversation proceeds); `transient` -> retried after exponential backoff
///   with jitter (or the platform's Retry-After when longer), failed after `max_attempts`
///   transient failures; `rate_limited` -> the bucket of the result's scope is penalized until
///   now + retry_after and the message is retried exactly then, not counted as a failure but
///   bounded by `max_rate_limited`.
/// - Bounds: at most `max_queued` messages held (`enqueue` refuses beyond, `full()`), at most
///   `max_in_flight` attempts at once, at most `max_buckets` recipient and group buckets (full
///   buckets are dropped: they are indistinguishable from new ones).
namespace sb::outbound {

/// A token bucket's parameters.
struct bucket_spec {
  double per_second = 0;  ///< tokens per second (> 0)
  double burst = 1;       ///< bucket size (>= 1)
};

/// The buckets of one channel; nullopt = no limit of that kind.
struct limits {
  std::optional<bucket_spec> channel;
  std::optional<bucket_spec> recipient;
  std::optional<bucket_spec> group;  ///< in addition to `recipient`, for group recipients
};

/// The buckets for `adapters::limits_for(channel)`. A channel or recipient burst of 0 means 1
/// for recipients and `rps` for the channel. A group limit of N per minute becomes a bucket of
/// b = N/2 (at least 1) refilled at N - b per minute: never more than N in any minute, yet a
/// short reply of a few messages leaves at once.
limits limits_from(const adapters::rate_limits& r);

struct scheduler_options {
  outbound::limits limits;
  std::size_t max_queued = 10000;
  std::size_t max_in_flight = 64;
  std::uint32_t max_attempts = 8;       ///< transient failures before `failed` (>= 1)
  std::uint32_t max_rate_limited = 32;  ///< rate-limited answers before `failed` (>= 1)
  duration backoff_initial = std::chrono::seconds{1};
  duration backoff_max = std::chrono::minutes{5};
  double jitter = 0.2;  ///< each backoff is spread uniformly over ±jitter of it; [0, 1)
  /// A rate-limited answer without a retry time (none should come: adapters give the documented
  /// default) waits this long.
  duration default_rate_limit_wait = std::chrono::seconds{1};
  std::size_t max_buckets = 100000;  ///< recipient + group buckets kept
  std::uint64_t seed = 0;            ///< of the jitter's random source; 0 = random
};

/// One message to send.
struct send_item {
  std::string id;              ///< the outbox id ("out_..."): unique
  std::string conversation;    ///< ordering key
  std::string recipient;       ///< recipient bucket key
  bool group = false;          ///< the group bucket applies
  std::uint32_t attempts = 0;  ///< attempts already made (a resumed message); informational
};

/// One attempt to start now.
struct dispatch {
  std::uint64_t ticket = 0;  ///< names this attempt in `on_result`, `requeue`
  std::string id;
  std::uint32_t attempt = 0;  ///< 1 for the first attempt of this message (resumed: continues)
};

/// What became of a message after an answer.
enum class verdict {
  sent,
  retry,   ///< queued again; goes at `retry_at` (or later, if its buckets say so)
  failed,  ///< given up: permanent error, or out of attempts
};

struct decision {
  std::string id;
  verdict what = verdict::sent;
  std::uint32_t attempts = 0;  ///< attempts made for this message so far
  time_point retry_at{};       ///< for `retry`
  bool rate_limited = false;   ///< the answer was a rate limit
  /// Why it failed when the answer itself was not a failure: "attempts_exhausted" (transient
  /// failures), "rate_limited_exhausted"; "" otherwise (a permanent answer carries its own).
  std::string reason;
};

class send_scheduler {
 public:
  explicit send_scheduler(scheduler_options opts);

  /// Queues `item` behind the messages of its conversation. `errc::overloaded` when `full()`;
  /// `errc::bad_request` for an id already held (it stays queued once).
  status enqueue(send_item item, time_point now);

  /// The attempts that may start at `now`, taking their tokens. Each must be answered with
  /// `on_result` or `requeue` (the scheduler counts it in flight until then).
  std::vector<dispatch> due(time_point now);

  /// The answer to an attempt. nullopt for an unknown ticket (already answered or requeued).
  std::optional<decision> on_result(std::uint64_t ticket, const adapters::send_result& r,
                                    time_point now);

  /// The attempt did not start or did not count (the HTTP client was full or stopped): the
  /// message goes back to the head of its conversation, eligible at `not_before`, without
  /// counting an attempt. Its tokens are not returned. No-op for an unknown ticket.
  void requeue(std::uint64_t ticket, time_point not_before);

  /// Drops a queued message (not one in flight: its answer still comes; false then and when
  /// unknown).
  bool remove(const std::string& id);

  /// When `due` next has something to give, if ever without an answer arriving first: nullopt
  /// when nothing waits or the in-flight bound is reached. May be <= now (call `due` at once).
  std::optional<time_point> next_wakeup(time_point now) const;

  bool full() const { return held_ >= opts_.max_queued; }
  bool contains(const std::string& id) const { return ids_.count(id) != 0; }
  std::size_t held() const { return held_; }  ///< queued + in flight
  std::size_t in_flight() const { return in_flight_.size(); }
  std::size_t conversations() const { return convs_.size(); }
  std::size_t buckets() const { return recipient_buckets_.size() + group_buckets_.size(); }
  const scheduler_options& options() const { return opts_; }

  /// The backoff after `failures` (>= 1) transient failures, jitter drawn with `u` in [0, 1).
  duration backoff(std::uint32_t failures, double u) const;

 private:
  struct entry {
    send_item item;
    std::uint32_t tries = 0;     // attempts made (starts at item.attempts)
    std::uint32_t failures = 0;  // transient failures
    std::uint32_t limited = 0;   // rate-limited answers
  };
  struct conversation {
    std::deque<entry> queue;
    bool in_flight = false;
    time_point retry_at{};  // the head waits until then
    bool ready = false;     // listed in ready_
    std::pair<time_point, std::uint64_t> ready_key{};
  };
  using ready_map = std::map<std::pair<time_point, std::uint64_t>, std::string>;

  time_point eligible_at(const conversation& c, time_point now) const;
  void make_ready(const std::string& key, conversation& c, time_point now);
  void unready(conversation& c);
  token_bucket* bucket(std::unordered_map<std::string, token_bucket>& map,
                       const std::optional<bucket_spec>& spec, const std::string& key);
  const token_bucket* find_bucket(const std::unordered_map<std::string, token_bucket>& map,
                                  const std::string& key) const;
  void sweep(time_point now);
  void finish(const std::string& key, conversation& c, time_point now);
  time_point channel_available_at(time_point now) const;

  scheduler_options opts_;
  std::optional<token_bucket> channel_;
  time_point channel_blocked_until_{};  // a channel-wide rate limit (also without a bucket)
  std::unordered_map<std::string, conversation> convs_;
  ready_map ready_;
  std::uint64_t ready_seq_ = 0;
  std::unordered_map<std::uint64_t, std::string> in_flight_;  // ticket -> conversation
  std::unordered_map<std::string, std::string> ids_;          // id -> conversation
  std::size_t held_ = 0;
  std::unordered_map<std::string, token_bucket> recipient_buckets_;
  std::unordered_map<std::string, token_bucket> group_buckets_;
  std::size_t sweep_at_ = 1024;  // bucket count that triggers the next sweep
  std::uint64_t next_ticket_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace sb::outbound

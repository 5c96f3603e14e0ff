#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"

/// Process metrics rendered in the Prometheus text exposition format 0.0.4 (`GET /metrics`).
///
/// Hot path: a metric is resolved once (family + label values, under a mutex, allocating) and the
/// caller keeps the returned reference; every update after that is one relaxed atomic operation
/// (a histogram: three), with no lookup and no allocation. References stay valid for the life of
/// the registry (children are never removed). All members are thread-safe.
///
/// Label values must be operator-chosen (configured tenant ids, channel and subscriber names,
/// route templates, status codes, error code names), never free text from a request.
namespace sb::metrics {

class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

/// Fixed upper bounds (`le`), ascending; an implicit `+Inf` bucket follows them.
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);

  void observe(double v) noexcept;

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Non-cumulative count of bucket `i` (i == bounds().size() is +Inf).
  std::uint64_t bucket(std::size_t i) const noexcept {
    return buckets_[i].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_bits_{0};  ///< a double, added by CAS
};

/// Bucket bounds for latencies in seconds: 100 µs .. 10 s.
std::vector<double> latency_buckets();
/// Bounds 1, 2, 4, .. `max` (a power of two) for sizes.
std::vector<double> size_buckets(double max);

enum class kind { counter, gauge, histogram };

/// The labels of one metric child, by name: `labels{{"tenant", t}, {"channel", c}}`. Call sites
/// name each value, so two values of one type (a tenant id and a channel name) cannot trade
/// places unnoticed: a family takes only its own label names, in its order (else
/// std::logic_error, at the first call). Formats and parses the exposition form
/// `{tenant="acme",channel="wa"}`.
class labels {
 public:
  using pair = std::pair<std::string, std::string>;

  labels() = default;
  labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

  /// Parses the exposition form `{a="x",b="y"}` (values with the escapes \\, \" and \n); ""
  /// and "{}" are no labels. Nothing when `s` is not in that form.
  static std::optional<labels> parse(std::string_view s);

  /// The exposition form, values escaped: `{a="x",b="y"}`; "" when there are no labels.
  std::string str() const;
  /// Appends `str()`, with `extra_name="extra_value"` as a last label when `extra_name` is not
  /// empty (a histogram bucket's `le`).
  void append_to(std::string& out, std::string_view extra_name = {},
                 std::string_view extra_value = {}) const;

  const std::vector<pair>& pairs() const noexcept { return pairs_; }
  bool empty() const noexcept { return pairs_.empty(); }
  /// The value of the label `name`, or nullptr.
  const std::string* find(std::string_view name) const noexcept;

  friend bool operator==(const labels& a, const labels& b) noexcept { return a.pairs_ == b.pairs_; }
  friend bool operator!=(const labels& a, const labels& b) noexcept { return !(a == b); }

 private:
  std::vector<pair> pairs_;
};

/// Hash of the names and values (std::hash of `labels`).
struct labels_hash {
  std::size_t operator()(const labels& l) const noexcept;
};

/// One metric name with its HELP, TYPE and label names; children per label-value tuple.
template <class M>
class family {
 public:
  family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  /// The child for these labels (the family's label names, in order), created on first use.
  /// Cold path: call once and keep the reference.
  M& with(const labels& l);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return labels_; }

  /// Calls `f(labels, metric)` for each child, in creation order, under the lock.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard<std::mutex> lock(m_);
    for (const auto& c : children_) {
      f(c.l, *c.metric);
    }
  }

 private:
  struct child {
    labels l;
    std::unique_ptr<M> metric;
  };
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex m_;
  std::deque<child> children_;
  std::unordered_map<labels, M*, labels_hash> index_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

/// Families in registration order. Registering a name again returns the existing family (actors
/// restart, tests start several gateways in one process); registering it with another type or
/// other label names throws std::logic_error (a programming error, found at start-up).
class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  counter_family& counters(std::string_view name, std::string_view help,
                           std::vector<std::string> labels = {});
  gauge_family& gauges(std::string_view name, std::string_view help,
                       std::vector<std::string> labels = {});
  histogram_family& histograms(std::string_view name, std::string_view help,
                               std::vector<double> bounds, std::vector<std::string> labels = {});

  /// The whole registry in the text exposition format 0.0.4.
  std::string render() const;
  void render(std::string& out) const;

 private:
  struct entry {
    kind k;
    std::unique_ptr<counter_family> c;
    std::unique_ptr<gauge_family> g;
    std::unique_ptr<histogram_family> h;
    const std::string& name() const;
    const std::vector<std::string>& label_names() const;
  };
  entry& find_or_add(kind k, std::string_view name, std::string_view help,
                     std::vector<std::string>& labels, std::vector<double>* bounds);

  mutable std::mutex m_;
  std::deque<entry> entries_;
};

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

/// The process-wide registry that `GET /metrics` renders.
registry& global();

/// Appends a label value escaped for the exposition format (\\, \", \n).
void append_escaped_label(std::string& out, std::string_view v);

/// Switchboard's own metrics, each name declared once, here (docs/operations.md lists them).
/// Each accessor registers its family in `global()` on first call; `register_all` does them all
/// at start-up so that /metrics shows every family from the first scrape.
namespace catalog {

void register_all();

/// `switchboard_http_requests_total{route,status}`: `route` is a route template.
counter_family& http_requests();
/// `switchboard_webhook_ack_seconds`: request read complete → response written (webhooks).
histogram& webhook_ack_seconds();
/// Where a stored webhook's time goes, one stage after another (`webhook_stage_seconds`).
enum class webhook_stage {
  to_tenant,       ///< the edge handed the request over -> the tenant actor runs it
  to_channel,      ///< the tenant -> the channel actor runs it
  channel,         ///< the channel's own work: parse, normalize, the append request sent
  to_commit,       ///< the append waits in the writer's mailbox and for its group commit to start
  commit,          ///< the group commit that holds it, its disk sync included
  to_reply,        ///< the commit's end -> the channel runs the reply
  reply,           ///< the channel's work after the commit, up to the answer handed to the edge
};
inline constexpr std::size_t k_webhook_stages = 7;
/// `switchboard_webhook_stage_seconds{stage}`: the time of one stage of a stored webhook.
histogram& webhook_stage_seconds(webhook_stage s);
/// The counters of `switchboard_webhook_rejections_total{tenant,channel,reason}` for one
/// configured channel, or for every request to a tenant or channel that is not configured
/// (tenant="" channel=""): the labels come from the config, never from the request, so the
/// series are bounded by the config (channels x the reasons below, plus the unknown pair).
/// The reasons alerts watch and floods produce (`k_webhook_alert_reasons`, in metrics.cpp; only
/// unknown_channel for the unknown pair) exist from the start at zero; any other code is counted
/// under its own reason, created on first use. Immutable after construction; `at` is thread-safe
/// and, for a pre-created reason, one array index.
class webhook_rejection_set {
 public:
  webhook_rejection_set(std::string tenant, std::string channel);
  /// The counter of a webhook answered with error `code` (errc::ok counts as internal).
  counter& at(errc code) const;
  const std::string& tenant() const noexcept { return tenant_; }
  const std::string& channel() const noexcept { return channel_; }

 private:
  std::string tenant_;
  std::string channel_;
  std::vector<counter*> by_code_;  ///< indexed by errc; nullptr: not pre-created
};
/// The set of a configured channel (created once per pair, then the same object); `tenant` and
/// `channel` "" is the set of requests to no configured channel.
const webhook_rejection_set& webhook_rejections(std::string_view tenant, std::string_view channel);
/// `switchboard_webhook_previous_secret_total{tenant,channel}`: webhooks (and handshakes) that
/// verified only with a `<secret>_previous` setting: the platform still signs with the old
/// secret, so the previous one cannot be removed yet.
counter_family& webhook_previous_secret();
/// `switchboard_build_info{version,commit}` 1 (core/build_info.hpp).
gauge& build_info();
/// `switchboard_events_stored_total{tenant,channel}`.
counter_family& events_stored();
/// `switchboard_events_duplicate_total{tenant,channel}`.
counter_family& events_duplicate();
/// `switchboard_store_commit_batch_size`: append requests per group commit.
histogram& store_commit_batch_size();
/// `switchboard_store_commit_seconds`.
histogram& store_commit_seconds();
/// `switchboard_store_backlog`: appends waiting for a commit plus the writer's mailbox.
gauge& store_backlog();
/// `switchboard_mailbox_depth{tenant,channel}`: channel "" is the tenant actor itself.
gauge_family& mailbox_depth();
/// `switchboard_actor_restarts_total{kind}`: store_writer, tenant, channel, conversation,
/// subscriber, sender, outbox_writer, sweeper (any other kind throws std::logic_error).
counter& actor_restarts(std::string_view kind);
/// `switchboard_conversation_actors{tenant}`: live conversation actors (at most
/// `limits.conversations_per_tenant`).
gauge_family& conversation_actors();
/// `switchboard_conversation_evictions_total{tenant}`: conversation actors stopped to make room
/// for another past `limits.conversations_per_tenant` (least recently used first).
counter_family& conversation_evictions();
/// `switchboard_push_lag_events{tenant,subscriber}`: head seq − durable cursor.
gauge_family& push_lag();
/// `switchboard_push_attempts_total{tenant,subscriber}` and the outcomes below.
counter_family& push_attempts();
counter_family& push_delivered();
counter_family& push_failures();
counter_family& push_dead_letters();
/// `switchboard_outbound_messages_total{tenant,channel,state}`: outbound messages that reached
/// `state`, one of `k_outbound_states` (any other throws std::logic_error).
counter& outbound_messages(std::string_view tenant, std::string_view channel,
                           std::string_view state);
/// "queued" (accepted and stored), "sent", "delivered", "read", "failed".
inline constexpr std::string_view k_outbound_states[] = {"queued", "sent", "delivered", "read",
                                                         "failed"};
/// `switchboard_outbound_retries_total{tenant,channel}`: attempts that failed transiently and
/// are retried with backoff.
counter_family& outbound_retries();
/// `switchboard_outbound_rate_limited_total{tenant,channel}`: platform answers that were a rate
/// limit (the bucket slows down, the message waits the time given).
counter_family& outbound_rate_limited();
/// `switchboard_outbound_queue{tenant,channel}` (sampled): messages a sender holds (queued,
/// waiting for a retry or in flight).
gauge_family& outbound_queue();
/// `switchboard_outbound_refusals_total{tenant,reason}`: `POST /v1/messages` refused by policy,
/// `reason` one of window_closed, consent_required, opted_out, restricted.
counter& outbound_refusals(std::string_view tenant, errc reason);

/// `switchboard_config_reloads_total{result}`: config reloads (SIGHUP, `gateway::reconfigure`),
/// `ok` applied or `failed` refused (the running config kept). Both series exist from start.
counter& config_reloads(bool ok);
/// `switchboard_sse_streams_open`.
gauge& sse_streams_open();
/// `switchboard_http_connections_open` (admitted) and `..._shed_total` (past max_connections).
gauge& http_connections_open();
counter& http_connections_shed();

}  // namespace catalog

}  // namespace sb::metrics

namespace std {
template <>
struct hash<sb::metrics::labels> : sb::metrics::labels_hash {};
}  // namespace std

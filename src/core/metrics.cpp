#include "core/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "core/build_info.hpp"

namespace sb::metrics {

namespace {

std::uint64_t to_bits(double d) noexcept {
  std::uint64_t b = 0;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

double from_bits(std::uint64_t b) noexcept {
  double d = 0;
  std::memcpy(&d, &b, sizeof d);
  return d;
}

template <class M>
std::unique_ptr<M> make_metric(const std::vector<double>&) {
  return std::make_unique<M>();
}

template <>
std::unique_ptr<histogram> make_metric<histogram>(const std::vector<double>& bounds) {
  return std::make_unique<histogram>(bounds);
}

void append_double(std::string& out, double v) {
  if (v == std::numeric_limits<double>::infinity()) {
    out += "+Inf";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_help(std::string& out, std::string_view name, std::string_view help,
                 std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void append_escaped_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

labels::labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  pairs_.reserve(pairs.size());
  for (const auto& [name, value] : pairs) {
    pairs_.emplace_back(std::string(name), std::string(value));
  }
}

std::optional<labels> labels::parse(std::string_view s) {
  labels out;
  if (s.empty() || s == "{}") {
    return out;
  }
  if (s.front() != '{' || s.back() != '}') {
    return std::nullopt;
  }
  s = s.substr(1, s.size() - 2);
  while (!s.empty()) {
    const auto eq = s.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 >= s.size() || s[eq + 1] != '"') {
      return std::nullopt;
    }
    pair p{std::string(s.substr(0, eq)), std::string()};
    std::size_t i = eq + 2;
    for (;; ++i) {
      if (i >= s.size()) {
        return std::nullopt;  // no closing quote
      }
      if (s[i] == '"') {
        break;
      }
      if (s[i] == '\\') {
        if (++i >= s.size()) {
          return std::nullopt;
        }
        switch (s[i]) {
          case '\\':
          case '"':
            p.second += s[i];
            break;
          case 'n':
            p.second += '\n';
            break;
          default:
            return std::nullopt;
        }
      } else {
        p.second += s[i];
      }
    }
    out.pairs_.push_back(std::move(p));
    s.remove_prefix(i + 1);
    if (!s.empty()) {
      if (s.front() != ',' || s.size() == 1) {
        return std::nullopt;
      }
      s.remove_prefix(1);
    }
  }
  return out;
}

std::string labels::str() const {
  std::string out;
  append_to(out);
  return out;
}

void labels::append_to(std::string& out, std::string_view extra_name,
                       std::string_view extra_value) const {
  if (pairs_.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += pairs_[i].first;
    out += "=\"";
    append_escaped_label(out, pairs_[i].second);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!pairs_.empty()) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    append_escaped_label(out, extra_value);
    out += '"';
  }
  out += '}';
}

const std::string* labels::find(std::string_view name) const noexcept {
  for (const auto& p : pairs_) {
    if (p.first == name) {
      return &p.second;
    }
  }
  return nullptr;
}

std::size_t labels_hash::operator()(const labels& l) const noexcept {
  std::size_t h = 0;
  for (const auto& [name, value] : l.pairs()) {
    h = h * 31 + std::hash<std::string>{}(name);
    h = h * 31 + std::hash<std::string>{}(value);
  }
  return h;
}

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end())) {
    throw std::logic_error("histogram bounds must ascend");
  }
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    buckets_[i].store(0, std::memory_order_relaxed);
  }
}

void histogram::observe(double v) noexcept {
  // Few bounds (≤ 20): a linear scan beats a binary search on branch prediction.
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  auto old = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(old, to_bits(from_bits(old) + v),
                                          std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

double histogram::sum() const noexcept {
  return from_bits(sum_bits_.load(std::memory_order_relaxed));
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> size_buckets(double max) {
  std::vector<double> out;
  for (double b = 1; b <= max; b *= 2) {
    out.push_back(b);
  }
  return out;
}

template <class M>
M& family<M>::with(const labels& l) {
  const auto& pairs = l.pairs();
  bool names_match = pairs.size() == labels_.size();
  for (std::size_t i = 0; names_match && i < pairs.size(); ++i) {
    names_match = pairs[i].first == labels_[i];
  }
  if (!names_match) {
    std::string want;
    for (const auto& n : labels_) {
      want += want.empty() ? n : "," + n;
    }
    throw std::logic_error("metric " + name_ + ": expected the labels {" + want + "}, got " +
                           (l.empty() ? std::string("none") : l.str()));
  }
  std::lock_guard<std::mutex> lock(m_);
  if (auto it = index_.find(l); it != index_.end()) {
    return *it->second;
  }
  children_.push_back({l, make_metric<M>(bounds_)});
  index_.emplace(l, children_.back().metric.get());
  return *children_.back().metric;
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

const std::string& registry::entry::name() const {
  return k == kind::counter ? c->name() : k == kind::gauge ? g->name() : h->name();
}

const std::vector<std::string>& registry::entry::label_names() const {
  return k == kind::counter ? c->label_names()
         : k == kind::gauge ? g->label_names()
                            : h->label_names();
}

registry::entry& registry::find_or_add(kind k, std::string_view name, std::string_view help,
                                       std::vector<std::string>& labels,
                                       std::vector<double>* bounds) {
  std::lock_guard<std::mutex> lock(m_);
  for (auto& e : entries_) {
    if (e.name() == name) {
      if (e.k != k || e.label_names() != labels) {
        throw std::logic_error("metric " + std::string(name) +
                               " registered twice with different types or labels");
      }
      return e;
    }
  }
  entry e{k, nullptr, nullptr, nullptr};
  std::string n(name);
  std::string h(help);
  switch (k) {
    case kind::counter:
      e.c = std::make_unique<counter_family>(n, h, std::move(labels));
      break;
    case kind::gauge:
      e.g = std::make_unique<gauge_family>(n, h, std::move(labels));
      break;
    case kind::histogram:
      e.h = std::make_unique<histogram_family>(n, h, std::move(labels), std::move(*bounds));
      break;
  }
  entries_.push_back(std::move(e));
  return entries_.back();
}

counter_family& registry::counters(std::string_view name, std::string_view help,
                                   std::vector<std::string> labels) {
  return *find_or_add(kind::counter, name, help, labels, nullptr).c;
}

gauge_family& registry::gauges(std::string_view name, std::string_view help,
                               std::vector<std::string> labels) {
  return *find_or_add(kind::gauge, name, help, labels, nullptr).g;
}

histogram_family& registry::histograms(std::string_view name, std::string_view help,
                                       std::vector<double> bounds,
                                       std::vector<std::string> labels) {
  return *find_or_add(kind::histogram, name, help, labels, &bounds).h;
}

std::string registry::render() const {
  std::string out;
  render(out);
  return out;
}

void registry::render(std::string& out) const {
  std::lock_guard<std::mutex> lock(m_);
  for (const auto& e : entries_) {
    switch (e.k) {
      case kind::counter:
        append_help(out, e.c->name(), e.c->help(), "counter");
        e.c->for_each([&](const labels& l, const counter& m) {
          out += e.c->name();
          l.append_to(out);
          out += ' ';
          append_uint(out, m.value());
          out += '\n';
        });
        break;
      case kind::gauge:
        append_help(out, e.g->name(), e.g->help(), "gauge");
        e.g->for_each([&](const labels& l, const gauge& m) {
          out += e.g->name();
          l.append_to(out);
          out += ' ';
          append_int(out, m.value());
          out += '\n';
        });
        break;
      case kind::histogram: {
        const auto& f = *e.h;
        append_help(out, f.name(), f.help(), "histogram");
        f.for_each([&](const labels& l, const histogram& m) {
          // Buckets are read one by one while writers run: make them cumulative and consistent
          // with _count by deriving _count from the buckets read.
          std::uint64_t cumulative = 0;
          std::string le;
          for (std::size_t i = 0; i <= m.bounds().size(); ++i) {
            cumulative += m.bucket(i);
            le.clear();
            append_double(le, i < m.bounds().size() ? m.bounds()[i]
                                                    : std::numeric_limits<double>::infinity());
            out += f.name();
            out += "_bucket";
            l.append_to(out, "le", le);
            out += ' ';
            append_uint(out, cumulative);
            out += '\n';
          }
          out += f.name();
          out += "_sum";
          l.append_to(out);
          out += ' ';
          append_double(out, m.sum());
          out += '\n';
          out += f.name();
          out += "_count";
          l.append_to(out);
          out += ' ';
          append_uint(out, cumulative);
          out += '\n';
        });
        break;
      }
    }
  }
}

registry& global() {
  static registry r;
  return r;
}

namespace catalog {

namespace {
const std::vector<std::string> k_tenant_channel{"tenant", "channel"};
const std::vector<std::string> k_tenant_subscriber{"tenant", "subscriber"};
constexpr std::size_t k_errc_count = static_cast<std::size_t>(errc::internal) + 1;
constexpr std::string_view k_restart_kinds[] = {"store_writer", "tenant",  "channel",
                                                "conversation", "subscriber", "sender",
                                                "outbox_writer", "sweeper"};
counter_family& outbound_messages_family();
counter_family& outbound_refusals_family();

counter_family& webhook_rejections_family() {
  // Zero series per configured channel come from `webhook_rejection_set`: a zero series is
  // what an alert on rate() needs to start from.
  static auto& f = global().counters(
      "switchboard_webhook_rejections_total",
      "Webhooks answered with an error, by configured tenant and channel (\"\" for none) and "
      "error code.",
      {"tenant", "channel", "reason"});
  return f;
}
}  // namespace

void register_all() {
  http_requests();
  webhook_ack_seconds();
  webhook_stage_seconds(webhook_stage::to_tenant);
  webhook_rejections("", "");
  webhook_previous_secret();
  build_info();
  events_stored();
  events_duplicate();
  store_commit_batch_size();
  store_commit_seconds();
  store_backlog();
  mailbox_depth();
  actor_restarts("tenant");
  config_reloads(true);
  conversation_actors();
  conversation_evictions();
  push_lag();
  push_attempts();
  push_delivered();
  push_failures();
  push_dead_letters();
  outbound_messages_family();
  outbound_refusals_family();
  outbound_retries();
  outbound_rate_limited();
  outbound_queue();
  sse_streams_open();
  http_connections_open();
  http_connections_shed();
}

counter_family& http_requests() {
  static auto& f = global().counters("switchboard_http_requests_total",
                                     "HTTP requests answered, by route template and status.",
                                     {"route", "status"});
  return f;
}

histogram& webhook_ack_seconds() {
  static auto& h =
      global()
          .histograms("switchboard_webhook_ack_seconds",
                      "Webhook latency from request read complete to response written, seconds.",
                      latency_buckets())
          .with({});
  return h;
}

histogram& webhook_stage_seconds(webhook_stage s) {
  // Finer than latency_buckets() at the low end: most stages take tens of microseconds.
  static const auto table = [] {
    static constexpr std::string_view names[k_webhook_stages] = {
        "to_tenant", "to_channel", "channel", "to_commit", "commit", "to_reply", "reply"};
    auto& f = global().histograms(
        "switchboard_webhook_stage_seconds",
        "Time of one stage of a stored webhook (docs/operations.md lists the stages), seconds.",
        {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
         0.05, 0.1, 0.25, 1},
        {"stage"});
    std::array<histogram*, k_webhook_stages> t{};
    for (std::size_t i = 0; i < k_webhook_stages; ++i) {
      t[i] = &f.with({{"stage", std::string(names[i])}});
    }
    return t;
  }();
  return *table[static_cast<std::size_t>(s)];
}

// The reasons with a zero series per configured channel from the start: those the shipped
// alerts watch (deploy/prometheus/alerts.yml: a rate() needs a series to start from) and those
// a forged flood produces (answered per request: one array index, no lookup). Each series costs
// about 300 bytes and one line of /metrics: all 18 reasons were 540,000 series at 10,000
// tenants with three channels (docs/control-plane.md "Scale"); these are 9 per channel.
constexpr errc k_webhook_alert_reasons[] = {
    errc::missing_signature, errc::bad_signature, errc::handshake_failed,
    errc::overloaded,        errc::unavailable,   errc::internal,
    errc::quarantine_full,   errc::rate_limited,  errc::too_many_auth_failures};

webhook_rejection_set::webhook_rejection_set(std::string tenant, std::string channel)
    : tenant_(std::move(tenant)), channel_(std::move(channel)), by_code_(k_errc_count, nullptr) {
  auto& f = webhook_rejections_family();
  auto add = [&](errc code) {
    by_code_[static_cast<std::size_t>(code)] =
        &f.with({{"tenant", tenant_}, {"channel", channel_}, {"reason", to_string(code)}});
  };
  if (tenant_.empty() && channel_.empty()) {
    // No channel: nothing was verified, limited or stored; only the lookup failed.
    add(errc::unknown_channel);
  } else {
    for (auto code : k_webhook_alert_reasons) {
      add(code);
    }
  }
}

counter& webhook_rejection_set::at(errc code) const {
  auto i = static_cast<std::size_t>(code);
  if (code == errc::ok || i >= k_errc_count) {
    i = static_cast<std::size_t>(errc::internal);
  }
  if (by_code_[i] != nullptr) {
    return *by_code_[i];
  }
  // A reason without a zero series (rare, or none is expected): counted under its own reason,
  // created on first use (cold path: one lookup).
  return webhook_rejections_family().with(
      {{"tenant", tenant_}, {"channel", channel_}, {"reason", to_string(static_cast<errc>(i))}});
}

const webhook_rejection_set& webhook_rejections(std::string_view tenant, std::string_view channel) {
  // One set per pair for the process: gateways built again (tests, a reload) reuse it.
  // Indexed: a reload or a control-plane change looks up every configured channel again.
  static std::mutex m;
  static std::deque<webhook_rejection_set> sets;
  static std::unordered_map<std::string, const webhook_rejection_set*> by_pair;
  std::string key;
  key.reserve(tenant.size() + channel.size() + 1);
  key.append(tenant).push_back('\0');
  key.append(channel);
  std::lock_guard<std::mutex> lock(m);
  if (auto it = by_pair.find(key); it != by_pair.end()) {
    return *it->second;
  }
  const auto& made = sets.emplace_back(std::string(tenant), std::string(channel));
  by_pair.emplace(std::move(key), &made);
  return made;
}

counter_family& webhook_previous_secret() {
  static auto& f = global().counters(
      "switchboard_webhook_previous_secret_total",
      "Webhooks and handshakes verified only by a channel's <secret>_previous setting (the "
      "platform still uses the old secret: keep it).",
      k_tenant_channel);
  return f;
}

gauge& build_info() {
  static auto& g = []() -> gauge& {
    auto& b = global()
                  .gauges("switchboard_build_info",
                          "The running build: version (CMake project) and git commit; always 1.",
                          {"version", "commit"})
                  .with({{"version", build::version()}, {"commit", build::commit()}});
    b.set(1);
    return b;
  }();
  return g;
}

counter_family& events_stored() {
  static auto& f =
      global().counters("switchboard_events_stored_total",
                        "Events durably stored, by tenant and channel.", k_tenant_channel);
  return f;
}

counter_family& events_duplicate() {
  static auto& f =
      global().counters("switchboard_events_duplicate_total",
                        "Events recognised as duplicates and not stored again.", k_tenant_channel);
  return f;
}

histogram& store_commit_batch_size() {
  static auto& h =
      global()
          .histograms("switchboard_store_commit_batch_size",
                      "Append requests per group commit of the store writer.", size_buckets(1024))
          .with({});
  return h;
}

histogram& store_commit_seconds() {
  static auto& h =
      global()
          .histograms("switchboard_store_commit_seconds",
                      "Duration of one group commit of the event log, seconds.", latency_buckets())
          .with({});
  return h;
}

gauge& store_backlog() {
  static auto& g = global()
                       .gauges("switchboard_store_backlog",
                               "Appends waiting for a commit plus messages queued at the store "
                               "writer, sampled when it handles a message.")
                       .with({});
  return g;
}

gauge_family& mailbox_depth() {
  static auto& f = global().gauges("switchboard_mailbox_depth",
                                   "Mailbox length of a tenant (channel=\"\") or channel actor, "
                                   "sampled when it handles a webhook.",
                                   k_tenant_channel);
  return f;
}

gauge_family& conversation_actors() {
  static auto& f = global().gauges("switchboard_conversation_actors",
                                   "Live conversation actors of a tenant (at most "
                                   "limits.conversations_per_tenant).",
                                   {"tenant"});
  return f;
}

counter_family& conversation_evictions() {
  static auto& f = global().counters("switchboard_conversation_evictions_total",
                                     "Conversation actors stopped to make room past "
                                     "limits.conversations_per_tenant, least recently used first.",
                                     {"tenant"});
  return f;
}

counter& config_reloads(bool ok) {
  static auto& f = global().counters(
      "switchboard_config_reloads_total",
      "Config reloads (SIGHUP): ok = applied, failed = refused and the running config kept.",
      {"result"});
  static counter& ok_c = f.with({{"result", "ok"}});
  static counter& failed_c = f.with({{"result", "failed"}});
  return ok ? ok_c : failed_c;
}

counter& actor_restarts(std::string_view kind) {
  static const auto table = [] {
    auto& f = global().counters("switchboard_actor_restarts_total",
                                "Actors that crashed and were restarted, by kind.", {"kind"});
    std::vector<counter*> t;
    for (auto k : k_restart_kinds) {
      t.push_back(&f.with({{"kind", k}}));
    }
    return t;
  }();
  for (std::size_t i = 0; i < std::size(k_restart_kinds); ++i) {
    if (k_restart_kinds[i] == kind) {
      return *table[i];
    }
  }
  throw std::logic_error("unknown actor kind " + std::string(kind));
}

gauge_family& push_lag() {
  static auto& f =
      global().gauges("switchboard_push_lag_events",
                      "Push delivery lag: the tenant's head seq minus the subscriber's durable "
                      "cursor.",
                      k_tenant_subscriber);
  return f;
}

counter_family& push_attempts() {
  static auto& f =
      global().counters("switchboard_push_attempts_total",
                        "Push delivery attempts (HTTP requests sent).", k_tenant_subscriber);
  return f;
}

counter_family& push_delivered() {
  static auto& f = global().counters("switchboard_push_delivered_total",
                                     "Push deliveries answered with 2xx.", k_tenant_subscriber);
  return f;
}

counter_family& push_failures() {
  static auto& f = global().counters("switchboard_push_failures_total",
                                     "Push attempts that failed (non-2xx, timeout, network).",
                                     k_tenant_subscriber);
  return f;
}

counter_family& push_dead_letters() {
  static auto& f = global().counters("switchboard_push_dead_letters_total",
                                     "Push deliveries that ran out of retries (dead letters).",
                                     k_tenant_subscriber);
  return f;
}

namespace {
counter_family& outbound_messages_family() {
  static auto& f = global().counters("switchboard_outbound_messages_total",
                                     "Outbound messages that reached a state (queued = accepted "
                                     "and stored; sent; delivered, read by platform receipts; "
                                     "failed), by tenant and channel.",
                                     {"tenant", "channel", "state"});
  return f;
}

counter_family& outbound_refusals_family() {
  static auto& f = global().counters("switchboard_outbound_refusals_total",
                                     "POST /v1/messages refused by the window or consent policy "
                                     "(409), by tenant and reason.",
                                     {"tenant", "reason"});
  return f;
}
}  // namespace

counter& outbound_messages(std::string_view tenant, std::string_view channel,
                           std::string_view state) {
  auto& f = outbound_messages_family();
  for (auto s : k_outbound_states) {
    if (s == state) {
      return f.with({{"tenant", tenant}, {"channel", channel}, {"state", state}});
    }
  }
  throw std::logic_error("unknown outbound state " + std::string(state));
}

counter_family& outbound_retries() {
  static auto& f = global().counters(
      "switchboard_outbound_retries_total",
      "Outbound attempts that failed transiently (5xx, timeout) and are retried with backoff.",
      k_tenant_channel);
  return f;
}

counter_family& outbound_rate_limited() {
  static auto& f =
      global().counters("switchboard_outbound_rate_limited_total",
                        "Platform answers to outbound attempts that were a rate limit (the "
                        "message waits the time given and is tried again).",
                        k_tenant_channel);
  return f;
}

gauge_family& outbound_queue() {
  static auto& f = global().gauges("switchboard_outbound_queue",
                                   "Outbound messages a channel's sender holds (queued, waiting "
                                   "for a retry or in flight), sampled when it handles a message.",
                                   k_tenant_channel);
  return f;
}

counter& outbound_refusals(std::string_view tenant, errc reason) {
  auto& f = outbound_refusals_family();
  switch (reason) {
    case errc::window_closed:
    case errc::consent_required:
    case errc::opted_out:
    case errc::restricted:
      return f.with({{"tenant", tenant}, {"reason", to_string(reason)}});
    default:
      throw std::logic_error("not an outbound refusal: " + std::string(to_string(reason)));
  }
}

gauge& sse_streams_open() {
  static auto& g =
      global().gauges("switchboard_sse_streams_open", "Open Server-Sent Events streams.").with({});
  return g;
}

gauge& http_connections_open() {
  static auto& g =
      global()
          .gauges("switchboard_http_connections_open", "Open (admitted) HTTP connections.")
          .with({});
  return g;
}

counter& http_connections_shed() {
  static auto& c = global()
                       .counters("switchboard_http_connections_shed_total",
                                 "Connections answered 503 and closed past max_connections.")
                       .with({});
  return c;
}

}  // namespace catalog

}  // namespace sb::metrics

#include "outbound/send_scheduler.hpp"

#include <algorithm>
#include <cmath>

namespace sb::outbound {

limits limits_from(const adapters::rate_limits& r) {
  limits l;
  if (r.per_channel_rps > 0) {
    l.channel =
        bucket_spec{r.per_channel_rps, r.per_channel_burst >= 1 ? r.per_channel_burst
                                                                : std::max(1.0, r.per_channel_rps)};
  }
  if (r.per_recipient_rps > 0) {
    l.recipient =
        bucket_spec{r.per_recipient_rps, r.per_recipient_burst >= 1 ? r.per_recipient_burst : 1};
  }
  if (r.per_group_per_minute > 0) {
    const double n = std::floor(r.per_group_per_minute);
    const double b = std::max(1.0, std::floor(n / 2));
    l.group = bucket_spec{std::max(1.0, n - b) / 60.0, b};
  }
  return l;
}

send_scheduler::send_scheduler(scheduler_options opts) : opts_(std::move(opts)) {
  opts_.max_attempts = std::max<std::uint32_t>(opts_.max_attempts, 1);
  opts_.max_rate_limited = std::max<std::uint32_t>(opts_.max_rate_limited, 1);
  opts_.max_in_flight = std::max<std::size_t>(opts_.max_in_flight, 1);
  opts_.jitter = std::clamp(opts_.jitter, 0.0, 0.99);
  if (opts_.limits.channel) {
    channel_ =
        token_bucket::per_second(opts_.limits.channel->per_second, opts_.limits.channel->burst);
  }
  rng_.seed(opts_.seed != 0 ? opts_.seed : std::random_device{}());
}

status send_scheduler::enqueue(send_item item, time_point now) {
  if (full()) {
    return {errc::overloaded, "the channel's send queue is full"};
  }
  if (!ids_.emplace(item.id, item.conversation).second) {
    return {errc::bad_request, "message " + item.id + " is already queued"};
  }
  ++held_;
  const std::string key = item.conversation;
  auto& c = convs_[key];
  entry e;
  e.tries = item.attempts;
  e.item = std::move(item);
  c.queue.push_back(std::move(e));
  if (c.queue.size() == 1 && !c.in_flight) {
    c.retry_at = {};
    make_ready(key, c, now);
  }
  return {};
}

time_point send_scheduler::channel_available_at(time_point now) const {
  time_point t = std::max(now, channel_blocked_until_);
  if (channel_) {
    t = std::max(t, channel_->available_at(now));
  }
  return t;
}

const token_bucket* send_scheduler::find_bucket(
    const std::unordered_map<std::string, token_bucket>& map, const std::string& key) const {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

token_bucket* send_scheduler::bucket(std::unordered_map<std::string, token_bucket>& map,
                                     const std::optional<bucket_spec>& spec,
                                     const std::string& key) {
  if (!spec) {
    return nullptr;
  }
  auto it = map.find(key);
  if (it == map.end()) {
    it = map.emplace(key, token_bucket::per_second(spec->per_second, spec->burst)).first;
  }
  return &it->second;
}

time_point send_scheduler::eligible_at(const conversation& c, time_point now) const {
  time_point t = std::max(now, c.retry_at);
  const send_item& head = c.queue.front().item;
  if (opts_.limits.recipient) {
    if (const auto* b = find_bucket(recipient_buckets_, head.recipient)) {
      t = std::max(t, b->available_at(now));
    }
  }
  if (head.group && opts_.limits.group) {
    if (const auto* b = find_bucket(group_buckets_, head.recipient)) {
      t = std::max(t, b->available_at(now));
    }
  }
  return t;
}

void send_scheduler::unready(conversation& c) {
  if (c.ready) {
    ready_.erase(c.ready_key);
    c.ready = false;
  }
}

void send_scheduler::make_ready(const std::string& key, conversation& c, time_point now) {
  unready(c);
  c.ready_key = {eligible_at(c, now), ready_seq_++};
  ready_.emplace(c.ready_key, key);
  c.ready = true;
}

std::vector<dispatch> send_scheduler::due(time_point now) {
  std::vector<dispatch> out;
  if (buckets() > sweep_at_) {
    sweep(now);
  }
  while (in_flight_.size() < opts_.max_in_flight && !ready_.empty()) {
    auto it = ready_.begin();
    if (it->first.first > now || channel_available_at(now) > now) {
      break;
    }
    const std::string key = std::move(it->second);
    ready_.erase(it);
    auto& c = convs_.at(key);
    c.ready = false;
    // Eligibility is computed when a conversation is listed; a shared bucket (one recipient in
    // two conversations) or a penalty may have moved it later since. It never moves earlier.
    const time_point t = eligible_at(c, now);
    if (t > now) {
      c.ready_key = {t, ready_seq_++};
      ready_.emplace(c.ready_key, key);
      c.ready = true;
      continue;
    }
    entry& e = c.queue.front();
    if (channel_) {
      channel_->take(now);
    }
    if (auto* b = bucket(recipient_buckets_, opts_.limits.recipient, e.item.recipient)) {
      b->take(now);
    }
    if (e.item.group) {
      if (auto* b = bucket(group_buckets_, opts_.limits.group, e.item.recipient)) {
        b->take(now);
      }
    }
    ++e.tries;
    const std::uint64_t ticket = next_ticket_++;
    in_flight_.emplace(ticket, key);
    c.in_flight = true;
    out.push_back(dispatch{ticket, e.item.id, e.tries});
  }
  return out;
}

duration send_scheduler::backoff(std::uint32_t failures, double u) const {
  using fsec = std::chrono::duration<double>;
  double d = std::chrono::duration_cast<fsec>(opts_.backoff_initial).count();
  const double cap = std::chrono::duration_cast<fsec>(opts_.backoff_max).count();
  for (std::uint32_t i = 1; i < failures && d < cap; ++i) {
    d *= 2;
  }
  d = std::min(d, cap);
  d *= 1.0 + opts_.jitter * (2.0 * u - 1.0);
  return std::chrono::duration_cast<duration>(fsec{std::max(d, 0.0)});
}

void send_scheduler::finish(const std::string& key, conversation& c, time_point now) {
  ids_.erase(c.queue.front().item.id);
  --held_;
  c.queue.pop_front();
  c.retry_at = {};
  if (c.queue.empty()) {
    unready(c);
    convs_.erase(key);  // `c` is gone
    return;
  }
  make_ready(key, c, now);
}

std::optional<decision> send_scheduler::on_result(std::uint64_t ticket,
                                                  const adapters::send_result& r, time_point now) {
  auto it = in_flight_.find(ticket);
  if (it == in_flight_.end()) {
    return std::nullopt;
  }
  const std::string key = std::move(it->second);
  in_flight_.erase(it);
  auto& c = convs_.at(key);
  c.in_flight = false;
  entry& e = c.queue.front();
  decision d;
  d.id = e.item.id;
  d.attempts = e.tries;
  switch (r.outcome) {
    case adapters::send_outcome::sent:
      d.what = verdict::sent;
      finish(key, c, now);
      return d;
    case adapters::send_outcome::permanent:
      d.what = verdict::failed;
      finish(key, c, now);
      return d;
    case adapters::send_outcome::transient: {
      ++e.failures;
      if (e.failures >= opts_.max_attempts) {
        d.what = verdict::failed;
        d.reason = "attempts_exhausted";
        finish(key, c, now);
        return d;
      }
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
      duration wait = backoff(e.failures, u);
      if (r.retry_after_ms > 0) {
        wait = std::max<duration>(wait, std::chrono::milliseconds{r.retry_after_ms});
      }
      c.retry_at = now + wait;
      break;
    }
    case adapters::send_outcome::rate_limited: {
      d.rate_limited = true;
      ++e.limited;
      const duration wait = r.retry_after_ms > 0
                                ? duration{std::chrono::milliseconds{r.retry_after_ms}}
                                : opts_.default_rate_limit_wait;
      const time_point until = now + wait;
      if (r.scope == adapters::limit_scope::channel) {
        channel_blocked_until_ = std::max(channel_blocked_until_, until);
        if (channel_) {
          channel_->penalize(until);
        }
      } else if (auto* b = bucket(recipient_buckets_, opts_.limits.recipient, e.item.recipient)) {
        b->penalize(until);
      }
      if (e.limited >= opts_.max_rate_limited) {
        d.what = verdict::failed;
        d.reason = "rate_limited_exhausted";
        finish(key, c, now);
        return d;
      }
      c.retry_at = until;
      break;
    }
  }
  d.what = verdict::retry;
  d.retry_at = c.retry_at;
  make_ready(key, c, now);
  return d;
}

void send_scheduler::requeue(std::uint64_t ticket, time_point not_before) {
  auto it = in_flight_.find(ticket);
  if (it == in_flight_.end()) {
    return;
  }
  const std::string key = std::move(it->second);
  in_flight_.erase(it);
  auto& c = convs_.at(key);
  c.in_flight = false;
  entry& e = c.queue.front();
  if (e.tries > 0) {
    --e.tries;
  }
  c.retry_at = std::max(c.retry_at, not_before);
  make_ready(key, c, not_before);
}

bool send_scheduler::remove(const std::string& id) {
  auto idx = ids_.find(id);
  if (idx == ids_.end()) {
    return false;
  }
  const std::string key = idx->second;
  auto& c = convs_.at(key);
  auto pos =
      std::find_if(c.queue.begin(), c.queue.end(), [&](const entry& e) { return e.item.id == id; });
  if (pos == c.queue.end() || (pos == c.queue.begin() && c.in_flight)) {
    return false;
  }
  const bool head = pos == c.queue.begin();
  c.queue.erase(pos);
  ids_.erase(idx);
  --held_;
  if (c.queue.empty()) {
    unready(c);
    convs_.erase(key);
  } else if (head) {
    // The new head keeps the conversation's place and retry time.
    c.retry_at = {};
    const time_point when = c.ready ? c.ready_key.first : time_point{};
    unready(c);
    c.ready_key = {std::max(when, eligible_at(c, when)), ready_seq_++};
    ready_.emplace(c.ready_key, key);
    c.ready = true;
  }
  return true;
}

std::optional<time_point> send_scheduler::next_wakeup(time_point now) const {
  if (in_flight_.size() >= opts_.max_in_flight || ready_.empty()) {
    return std::nullopt;
  }
  return std::max(ready_.begin()->first.first, channel_available_at(now));
}

void send_scheduler::sweep(time_point now) {
  auto drop_idle = [now](std::unordered_map<std::string, token_bucket>& map) {
    for (auto it = map.begin(); it != map.end();) {
      it = it->second.idle(now) ? map.erase(it) : std::next(it);
    }
  };
  drop_idle(recipient_buckets_);
  drop_idle(group_buckets_);
  if (buckets() > opts_.max_buckets) {
    // Still too many buckets in use: drop those that free up soonest (the least restrictive).
    // A recipient whose bucket is dropped early may get up to one more burst: the price of a
    // bound on memory, reached only with more busy recipients than `max_buckets`.
    std::vector<std::pair<time_point, std::pair<bool, std::string>>> all;
    for (const auto& [k, b] : recipient_buckets_) {
      all.push_back({b.available_at(now), {false, k}});
    }
    for (const auto& [k, b] : group_buckets_) {
      all.push_back({b.available_at(now), {true, k}});
    }
    const std::size_t excess = all.size() - opts_.max_buckets;
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(excess - 1), all.end());
    for (std::size_t i = 0; i < excess; ++i) {
      (all[i].second.first ? group_buckets_ : recipient_buckets_).erase(all[i].second.second);
    }
  }
  sweep_at_ = std::min(std::max<std::size_t>(1024, 2 * buckets()), opts_.max_buckets);
}

}  // namespace sb::outbound

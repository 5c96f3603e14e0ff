#include "outbound/status_correlation.hpp"

#include <algorithm>

#include "adapters/adapter.hpp"

namespace sb::outbound {

std::optional<store::outbound_state> receipt_state(const std::string& platform_state) {
  if (platform_state == "sent") {
    return store::outbound_state::sent;
  }
  if (platform_state == "delivered") {
    return store::outbound_state::delivered;
  }
  if (platform_state == "read") {
    return store::outbound_state::read;
  }
  if (platform_state == "failed") {
    return store::outbound_state::failed;
  }
  return std::nullopt;
}

std::optional<std::int64_t> watermark_of(const event& e) {
  const auto* info = adapters::find(e.channel.type);
  if (info == nullptr || info->receipt_watermark == nullptr || !e.status) {
    return std::nullopt;
  }
  return info->receipt_watermark(e);
}

std::vector<receipt> status_correlator::on_committed(const std::vector<event>& events) {
  std::vector<receipt> out;
  std::int64_t newest = 0;
  for (const auto& e : events) {
    newest = std::max(newest, e.occurred_at.unix_ms);
    if (e.type == event_type::outbound_status) {
      remember(e, out);
      continue;
    }
    if (e.type != event_type::status || !e.status) {
      continue;
    }
    auto state = receipt_state(e.status->state);
    if (!state || *state == store::outbound_state::sent) {
      continue;  // "sent" is what the send API's answer already recorded
    }
    if (!e.status->message_id.empty()) {
      receipt r;
      r.channel = e.channel.name;
      r.state = *state;
      r.platform_message_id = e.status->message_id;
      r.error_code = e.status->error_code;
      r.error_title = e.status->error_title;
      r.at = e.occurred_at;
      out.push_back(std::move(r));
    }
    if (auto wm = watermark_of(e);
        wm && !e.conversation.empty() &&
        (*state == store::outbound_state::delivered || *state == store::outbound_state::read)) {
      const bool read = *state == store::outbound_state::read;
      if (watermarks_.size() >= k_max_conversations && watermarks_.count(e.conversation) == 0) {
        trim(*wm);
        if (watermarks_.size() >= k_max_conversations) {
          watermarks_.erase(watermarks_.begin());  // a hint only: bounded before complete
        }
      }
      auto& seen = watermarks_[e.conversation];
      auto& newest_seen = read ? seen.read : seen.delivered;
      newest_seen = std::max(newest_seen, *wm);
      auto ids = resolve(e.conversation, *wm, read);
      if (!ids.empty()) {
        receipt r;
        r.channel = e.channel.name;
        r.state = *state;
        r.ids = std::move(ids);
        r.at = e.occurred_at;
        out.push_back(std::move(r));
      }
    }
  }
  if (newest - last_trim_ms_ >= k_trim_interval_ms) {
    trim(newest);
    last_trim_ms_ = newest;
  }
  return out;
}

void status_correlator::remember(const event& e, std::vector<receipt>& out) {
  // Only some platforms' receipts come as watermarks; the others name each message.
  if (!e.outbound || e.outbound->state != "sent" || e.conversation.empty()) {
    return;
  }
  if (const auto* info = adapters::find(e.channel.type);
      info == nullptr || info->receipt_watermark == nullptr) {
    return;
  }
  const std::int64_t sent_ms = e.occurred_at.unix_ms;
  bool delivered = false;
  if (auto seen = watermarks_.find(e.conversation); seen != watermarks_.end()) {
    auto covered = [&](std::int64_t wm) {
      return wm != 0 && sent_ms <= wm + k_watermark_tolerance_ms;
    };
    const bool read = covered(seen->second.read);
    delivered = covered(seen->second.delivered);
    if (read || delivered) {
      receipt r;
      r.channel = e.channel.name;
      r.state = read ? store::outbound_state::read : store::outbound_state::delivered;
      r.ids.push_back(e.outbound->id);
      r.at = e.occurred_at;
      out.push_back(std::move(r));
    }
    if (read) {
      return;  // final: nothing more to correlate
    }
  }
  if (sent_.size() >= k_max_conversations && sent_.count(e.conversation) == 0) {
    trim(e.occurred_at.unix_ms);
    if (sent_.size() >= k_max_conversations) {
      // Still full of recent conversations: forget an arbitrary one (its watermarks then go
      // unresolved) rather than grow without bound.
      sent_.erase(sent_.begin());
    }
  }
  auto& list = sent_[e.conversation];
  list.push_back({e.outbound->id, sent_ms, delivered});
  if (list.size() > k_per_conversation) {
    list.pop_front();
  }
}

std::vector<std::string> status_correlator::resolve(const std::string& conversation,
                                                    std::int64_t watermark, bool read) {
  std::vector<std::string> ids;
  auto it = sent_.find(conversation);
  if (it == sent_.end()) {
    return ids;
  }
  auto& list = it->second;
  for (auto m = list.begin(); m != list.end();) {
    if (m->sent_ms > watermark + k_watermark_tolerance_ms) {
      ++m;
      continue;
    }
    if (read) {
      ids.push_back(m->id);
      m = list.erase(m);  // read is final: nothing more to correlate
      continue;
    }
    if (!m->delivered) {
      ids.push_back(m->id);
      m->delivered = true;
    }
    ++m;
  }
  if (list.empty()) {
    sent_.erase(it);
  }
  return ids;
}

void status_correlator::trim(std::int64_t now_ms) {
  const std::int64_t cutoff = now_ms - k_max_age_ms;
  // A watermark waits for late announcements only briefly: they come within seconds.
  for (auto it = watermarks_.begin(); it != watermarks_.end();) {
    const auto newest = std::max(it->second.delivered, it->second.read);
    it = newest < now_ms - k_watermark_wait_ms ? watermarks_.erase(it) : std::next(it);
  }
  for (auto it = sent_.begin(); it != sent_.end();) {
    auto& list = it->second;
    while (!list.empty() && list.front().sent_ms < cutoff) {
      list.pop_front();
    }
    it = list.empty() ? sent_.erase(it) : std::next(it);
  }
}

}  // namespace sb::outbound

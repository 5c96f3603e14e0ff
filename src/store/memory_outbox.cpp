// The in-memory outbox, and what both outboxes share (state names, the conveniences over
// `apply`, the sealing key).
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "store/outbox.hpp"
#include "store/sealed.hpp"

namespace sb::store {

const char* to_string(outbound_state s) noexcept {
  switch (s) {
    case outbound_state::queued:
      return "queued";
    case outbound_state::sending:
      return "sending";
    case outbound_state::sent:
      return "sent";
    case outbound_state::delivered:
      return "delivered";
    case outbound_state::read:
      return "read";
    case outbound_state::failed:
      return "failed";
  }
  return "queued";
}

std::optional<outbound_state> parse_outbound_state(std::string_view s) noexcept {
  for (auto st : {outbound_state::queued, outbound_state::sending, outbound_state::sent,
                  outbound_state::delivered, outbound_state::read, outbound_state::failed}) {
    if (s == to_string(st)) {
      return st;
    }
  }
  return std::nullopt;
}

result<outbox::put_outcome> outbox::put(outbound_record r) {
  std::vector<outbox_write> batch(1);
  batch[0].what = outbox_write::kind::put;
  batch[0].record = std::move(r);
  if (auto st = apply(batch); !st) {
    return st.err();
  }
  return put_outcome{std::move(batch[0].record), batch[0].created};
}

result<bool> outbox::update(outbound_update u) {
  std::vector<outbox_write> batch(1);
  batch[0].what = outbox_write::kind::update;
  batch[0].update = std::move(u);
  if (auto st = apply(batch); !st) {
    return st.err();
  }
  return batch[0].applied;
}

status outbox::set_last_inbound(const std::string& tenant, const std::string& conversation,
                                std::int64_t at_ms, const std::string& subject,
                                const std::string& peer) {
  std::vector<outbox_write> batch(1);
  batch[0].what = outbox_write::kind::last_inbound;
  batch[0].tenant = tenant;
  batch[0].conversation = conversation;
  batch[0].at_ms = at_ms;
  batch[0].subject = subject;
  batch[0].peer = peer;
  return apply(batch);
}

std::string outbox_key(std::string_view master_key) {
  return sealed::derive_key(master_key, "outbox");
}

namespace {

/// Forward order of states: `failed` after everything.
int rank(outbound_state s) {
  return static_cast<int>(s);
}

class memory_outbox final : public outbox {
 public:
  status apply(std::vector<outbox_write>& batch) override {
    std::lock_guard lock(mutex_);
    // All or nothing: the only failure (an id stored twice) is checked before anything changes.
    std::unordered_set<std::string> fresh;
    for (const auto& w : batch) {
      if (w.what == outbox_write::kind::put &&
          (by_id_.count(w.record.id) != 0 || !fresh.insert(w.record.id).second)) {
        return {errc::internal, "outbox: message " + w.record.id + " is stored already"};
      }
    }
    for (auto& w : batch) {
      switch (w.what) {
        case outbox_write::kind::put:
          put_locked(w);
          break;
        case outbox_write::kind::update:
          w.applied = update_locked(w.update);
          break;
        case outbox_write::kind::last_inbound: {
          auto& li = inbound_[{w.tenant, w.conversation}];
          li.at_ms = std::max(li.at_ms, w.at_ms);
          if (!w.subject.empty()) {
            li.subject = w.subject;
          }
          if (!w.peer.empty()) {
            li.peer = w.peer;
          }
          break;
        }
        case outbox_write::kind::window_head: {
          auto& head = window_heads_[w.tenant];
          head = std::max(head, w.seq);
          break;
        }
      }
    }
    return {};
  }

  result<std::optional<std::uint64_t>> window_head(const std::string& tenant) override {
    std::lock_guard lock(mutex_);
    auto it = window_heads_.find(tenant);
    if (it == window_heads_.end()) {
      return std::optional<std::uint64_t>{};
    }
    return std::optional<std::uint64_t>{it->second};
  }

  result<outbound_record> get(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end() || rows_.at(it->second).tenant != tenant) {
      return error{errc::not_found, "no such message"};
    }
    return rows_.at(it->second);
  }

  result<std::vector<outbound_record>> unfinished(const std::string& tenant,
                                                  const std::string& channel, std::size_t limit,
                                                  const std::string& after_id) override {
    std::lock_guard lock(mutex_);
    std::uint64_t after = 0;
    if (!after_id.empty()) {
      auto it = by_id_.find(after_id);
      if (it != by_id_.end()) {
        after = it->second;
      }
    }
    std::vector<outbound_record> out;
    for (auto it = rows_.upper_bound(after); it != rows_.end() && out.size() < limit; ++it) {
      const auto& r = it->second;
      if (r.tenant == tenant && r.channel == channel && store::unfinished(r.state)) {
        out.push_back(r);
      }
    }
    return out;
  }

  result<outbound_record> find_by_platform_id(const std::string& tenant, const std::string& channel,
                                              const std::string& platform_message_id) override {
    std::lock_guard lock(mutex_);
    auto it = by_platform_.find({tenant, channel, platform_message_id});
    if (platform_message_id.empty() || it == by_platform_.end()) {
      return error{errc::not_found, "no message with that platform id"};
    }
    return rows_.at(by_id_.at(it->second));
  }

  result<std::uint64_t> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    if (subject.empty()) {
      return n;
    }
    for (auto it = rows_.begin(); it != rows_.end();) {
      if (it->second.tenant == tenant && it->second.subject == subject) {
        forget_locked(it->second);
        it = rows_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    for (auto it = inbound_.begin(); it != inbound_.end();) {
      const bool match = std::get<0>(it->first) == tenant && it->second.subject == subject;
      it = match ? inbound_.erase(it) : std::next(it);
    }
    return n;
  }

  result<std::uint64_t> expire(const std::string& tenant, timestamp cutoff) override {
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    for (auto it = rows_.begin(); it != rows_.end();) {
      const auto& r = it->second;
      if (r.tenant == tenant && !store::unfinished(r.state) &&
          r.updated_at.unix_ms < cutoff.unix_ms) {
        forget_locked(r);
        it = rows_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    for (auto it = inbound_.begin(); it != inbound_.end();) {
      const bool old = std::get<0>(it->first) == tenant && it->second.at_ms < cutoff.unix_ms;
      it = old ? inbound_.erase(it) : std::next(it);
    }
    return n;
  }

  result<std::int64_t> last_inbound(const std::string& tenant,
                                    const std::string& conversation) override {
    std::lock_guard lock(mutex_);
    auto it = inbound_.find({tenant, conversation});
    return it == inbound_.end() ? std::int64_t{0} : it->second.at_ms;
  }

  result<outbound_record> find_by_idempotency_key(const std::string& tenant,
                                                  const std::string& caller,
                                                  const std::string& key) override {
    std::lock_guard lock(mutex_);
    auto it = by_idempotency_.find({tenant, caller, key});
    if (key.empty() || it == by_idempotency_.end()) {
      return error{errc::not_found, "no message with that idempotency key"};
    }
    return rows_.at(by_id_.at(it->second));
  }

  result<std::string> peer_of(const std::string& tenant, const std::string& conversation) override {
    std::lock_guard lock(mutex_);
    auto it = inbound_.find({tenant, conversation});
    if (it == inbound_.end() || it->second.peer.empty()) {
      return error{errc::not_found, "no peer known for that conversation"};
    }
    return it->second.peer;
  }

 private:
  using key2 = std::tuple<std::string, std::string>;
  using key3 = std::tuple<std::string, std::string, std::string>;
  struct inbound {
    std::int64_t at_ms = 0;
    std::string subject;
    std::string peer;  // "" = not a pseudonymous conversation
  };
  std::unordered_map<std::string, std::uint64_t> window_heads_;  // by tenant

  void put_locked(outbox_write& w) {
    auto& r = w.record;
    if (!r.idempotency_key.empty()) {
      auto it = by_idempotency_.find({r.tenant, r.caller, r.idempotency_key});
      if (it != by_idempotency_.end()) {
        r = rows_.at(by_id_.at(it->second));
        w.created = false;
        return;
      }
      by_idempotency_[{r.tenant, r.caller, r.idempotency_key}] = r.id;
    }
    w.created = true;
    if (!r.platform_message_id.empty()) {
      by_platform_[{r.tenant, r.channel, r.platform_message_id}] = r.id;
    }
    const std::uint64_t seq = ++last_seq_;
    by_id_[r.id] = seq;
    rows_[seq] = r;
  }

  bool update_locked(const outbound_update& u) {
    auto it = by_id_.find(u.id);
    if (it == by_id_.end()) {
      return false;
    }
    auto& r = rows_.at(it->second);
    if (r.tenant != u.tenant || (u.forward_only && rank(u.state) <= rank(r.state))) {
      return false;
    }
    r.state = u.state;
    if (u.attempts) {
      r.attempts = *u.attempts;
    }
    if (u.platform_message_id && *u.platform_message_id != r.platform_message_id) {
      if (!r.platform_message_id.empty()) {
        by_platform_.erase({r.tenant, r.channel, r.platform_message_id});
      }
      r.platform_message_id = *u.platform_message_id;
      if (!r.platform_message_id.empty()) {
        by_platform_[{r.tenant, r.channel, r.platform_message_id}] = r.id;
      }
    }
    if (u.error_code) {
      r.error_code = *u.error_code;
    }
    if (u.error_title) {
      r.error_title = *u.error_title;
    }
    r.updated_at = u.updated_at;
    return true;
  }

  void forget_locked(const outbound_record& r) {
    by_id_.erase(r.id);
    if (!r.idempotency_key.empty()) {
      by_idempotency_.erase({r.tenant, r.caller, r.idempotency_key});
    }
    if (!r.platform_message_id.empty()) {
      by_platform_.erase({r.tenant, r.channel, r.platform_message_id});
    }
  }

  std::mutex mutex_;
  std::map<std::uint64_t, outbound_record> rows_;  // in put order
  std::unordered_map<std::string, std::uint64_t> by_id_;
  std::map<key3, std::string> by_idempotency_;  // (tenant, caller, key) -> id
  std::map<key3, std::string> by_platform_;     // (tenant, channel, platform id) -> id
  std::map<key2, inbound> inbound_;
  std::uint64_t last_seq_ = 0;
};

}  // namespace

std::shared_ptr<outbox> make_memory_outbox() {
  return std::make_shared<memory_outbox>();
}

}  // namespace sb::store

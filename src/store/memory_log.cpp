#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "store/delivery_store.hpp"
#include "store/event_log.hpp"

namespace sb::store {

namespace {

// Bounds the work of one read call when a type filter skips most events.
constexpr std::size_t k_max_examined = 10000;

struct tenant_log {
  std::vector<stored_event> events;                       // events[i].seq == i + 1
  std::unordered_map<std::string, std::uint64_t> dedupe;  // "<channel>\n<key>" -> seq
};

class memory_log final : public event_log, public delivery_store {
 public:
  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    outcomes.clear();
    outcomes.resize(requests.size());
    std::unique_lock lock(mutex_);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& req = requests[i];
      auto& log = tenants_[req.tenant];
      auto& out = outcomes[i];
      out.reserve(req.events.size());
      for (auto& ev : req.events) {
        std::string key;
        if (!ev.dedupe_key.empty()) {
          key.reserve(ev.channel.name.size() + 1 + ev.dedupe_key.size());
          key.append(ev.channel.name).push_back('\n');
          key.append(ev.dedupe_key);
          auto it = log.dedupe.find(key);
          if (it != log.dedupe.end()) {
            out.push_back({true, it->second});
            continue;
          }
        }
        ev.seq = log.events.size() + 1;
        stored_event se;
        se.seq = ev.seq;
        se.type = ev.type;
        se.conversation = ev.conversation;
        se.json = to_json(ev);
        log.events.push_back(std::move(se));
        if (!key.empty()) {
          log.dedupe.emplace(std::move(key), ev.seq);
        }
        out.push_back({false, ev.seq});
      }
    }
    return {};
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types) override {
    read_result r;
    r.next = after;
    std::shared_lock lock(mutex_);
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) {
      return r;
    }
    const auto& events = it->second.events;
    std::size_t examined = 0;
    for (std::size_t i = after; i < events.size() && r.events.size() < limit; ++i) {
      if (++examined > k_max_examined) {
        break;
      }
      const auto& e = events[i];
      r.next = e.seq;
      if (types.empty() || std::find(types.begin(), types.end(), e.type) != types.end()) {
        r.events.push_back(e);
      }
    }
    return r;
  }

  std::uint64_t head(const std::string& tenant) override {
    std::shared_lock lock(mutex_);
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : it->second.events.size();
  }

  result<std::uint64_t> quarantine(quarantined_body body) override {
    std::unique_lock lock(mutex_);
    body.id = ++quarantine_seq_;
    quarantine_.push_back(std::move(body));
    return quarantine_seq_;
  }

  std::vector<quarantined_body> quarantined(const std::string& tenant) override {
    std::shared_lock lock(mutex_);
    std::vector<quarantined_body> out;
    for (const auto& q : quarantine_) {
      if (q.tenant == tenant) {
        out.push_back(q);
      }
    }
    return out;
  }

  status save_cursor(const std::string& tenant, const std::string& subscriber,
                     std::uint64_t seq) override {
    std::unique_lock lock(mutex_);
    cursors_[subscriber_key(tenant, subscriber)] = seq;
    return {};
  }

  std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) override {
    std::shared_lock lock(mutex_);
    auto it = cursors_.find(subscriber_key(tenant, subscriber));
    return it == cursors_.end() ? 0 : it->second;
  }

  result<std::uint64_t> add_dead_letter(dead_letter letter) override {
    std::unique_lock lock(mutex_);
    letter.id = ++dead_letter_seq_;
    dead_letters_.push_back(std::move(letter));
    return dead_letter_seq_;
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<dead_letter> out;
    // Ids increase along the vector: skip to the first one past `after_id`.
    auto it = std::upper_bound(dead_letters_.begin(), dead_letters_.end(), after_id,
                               [](std::uint64_t id, const dead_letter& d) { return id < d.id; });
    for (; it != dead_letters_.end() && out.size() < limit; ++it) {
      if (it->tenant == tenant && it->subscriber == subscriber) {
        out.push_back(*it);
      }
    }
    return out;
  }

  result<dead_letter> take_dead_letter(const std::string& tenant, const std::string& subscriber,
                                       std::uint64_t id) override {
    std::unique_lock lock(mutex_);
    auto it = std::lower_bound(dead_letters_.begin(), dead_letters_.end(), id,
                               [](const dead_letter& d, std::uint64_t v) { return d.id < v; });
    if (it == dead_letters_.end() || it->id != id || it->tenant != tenant ||
        it->subscriber != subscriber) {
      return {errc::not_found, "no such dead letter"};
    }
    dead_letter out = std::move(*it);
    dead_letters_.erase(it);
    return out;
  }

 private:
  static std::string subscriber_key(const std::string& tenant, const std::string& subscriber) {
    std::string key;
    key.reserve(tenant.size() + 1 + subscriber.size());
    key.append(tenant).push_back('\n');
    key.append(subscriber);
    return key;
  }

  std::shared_mutex mutex_;
  std::unordered_map<std::string, tenant_log> tenants_;
  std::vector<quarantined_body> quarantine_;
  std::uint64_t quarantine_seq_ = 0;
  std::unordered_map<std::string, std::uint64_t> cursors_;  // "<tenant>\n<subscriber>" -> seq
  std::vector<dead_letter> dead_letters_;                   // ascending id
  std::uint64_t dead_letter_seq_ = 0;
};

}  // namespace

std::shared_ptr<event_log> make_memory_log() {
  return std::make_shared<memory_log>();
}

}  // namespace sb::store

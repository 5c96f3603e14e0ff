#include "store/live_tail.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event.hpp"

namespace sb::store {

namespace {

shared_event_ptr render(std::uint64_t seq, const std::string& type,
                        const std::string& conversation, const std::string& subject,
                        std::string_view json) {
  auto e = std::make_shared<shared_event>();
  e->seq = seq;
  e->type = type;
  e->conversation = conversation;
  e->subject = subject;
  const std::string id = std::to_string(seq);
  e->frame.reserve(json.size() + type.size() + id.size() + 20);
  e->frame.append("id: ").append(id).append("\nevent: ").append(type).append("\ndata: ");
  e->json_at = e->frame.size();
  e->json_size = json.size();
  e->frame.append(json).append("\n\n");
  return e;
}

}  // namespace

shared_event_ptr share(const stored_event& e) {
  return render(e.seq, e.type, e.conversation, e.subject, e.json);
}

namespace {

// As the stores: the work of one read call is bounded when a type filter skips most events.
constexpr std::size_t k_max_examined = 10000;

/// The tails of every tenant. Appends come from the one writer; reads from any thread.
class tails {
 public:
  explicit tails(live_tail_limits limits) : limits_(limits) {}

  /// The events `append` stored (duplicates have no new seq and are left out), rendered before
  /// the lock is taken: readers wait only for the pushes.
  void add(const std::vector<append_request>& requests,
           const std::vector<std::vector<append_outcome>>& outcomes) {
    std::vector<std::pair<const std::string*, shared_event_ptr>> fresh;
    std::string json;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& req = requests[i];
      for (std::size_t j = 0; j < req.events.size() && j < outcomes[i].size(); ++j) {
        if (outcomes[i][j].duplicate) {
          continue;
        }
        const event& e = req.events[j];
        json.clear();
        append_json(json, e);  // as both stores render what they store
        fresh.emplace_back(&req.tenant, render(e.seq, e.type, e.conversation, e.subject, json));
      }
    }
    std::unique_lock lock(mutex_);
    for (auto& [tenant, e] : fresh) {
      push(tails_[*tenant], std::move(e));
    }
  }

  /// Serves `event_log::read_cached` when the tail holds `after + 1` (every event after it, up
  /// to the newest, is there: a tenant's seqs are appended in order, without gaps).
  bool read(const std::string& tenant, std::uint64_t after, std::size_t limit,
            const std::vector<std::string>& types, std::uint64_t upto, shared_read& r) const {
    std::shared_lock lock(mutex_);
    auto it = tails_.find(tenant);
    if (it == tails_.end() || it->second.events.empty()) {
      return false;
    }
    const auto& t = it->second.events;
    const std::uint64_t first = t.front()->seq;
    const std::uint64_t last = t.back()->seq;
    if (after + 1 < first || after >= last) {
      return false;  // older than the tail (catch-up), or nothing newer in memory
    }
    r.next = after;
    std::size_t examined = 0;
    for (std::size_t i = after + 1 - first;
         i < t.size() && r.events.size() < limit && examined < k_max_examined; ++i, ++examined) {
      const auto& e = t[i];
      if (e->seq > upto) {
        break;
      }
      r.next = e->seq;
      if (types.empty() || std::find(types.begin(), types.end(), e->type) != types.end()) {
        r.events.push_back(e);
      }
    }
    return true;
  }

  void forget(const std::string& tenant) {
    std::unique_lock lock(mutex_);
    tails_.erase(tenant);
  }

 private:
  struct tail {
    std::deque<shared_event_ptr> events;
    std::size_t bytes = 0;  ///< of the frames
  };

  void push(tail& t, shared_event_ptr s) {
    if (!t.events.empty() && s->seq != t.events.back()->seq + 1) {
      // Not the next seq (cannot happen with one writer; a rolled-back seq reused would be): the
      // tail starts over, so it never serves a range with a hole.
      t.events.clear();
      t.bytes = 0;
    }
    t.bytes += s->frame.size();
    t.events.push_back(std::move(s));
    while (!t.events.empty() &&
           (t.events.size() > limits_.events || (t.bytes > limits_.bytes && t.events.size() > 1))) {
      t.bytes -= t.events.front()->frame.size();
      t.events.pop_front();
    }
  }

  live_tail_limits limits_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, tail> tails_;
};

class tailed_log final : public event_log {
 public:
  tailed_log(std::shared_ptr<event_log> inner, std::shared_ptr<tails> t)
      : inner_(std::move(inner)), tails_(std::move(t)) {}

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    auto st = inner_->append(requests, outcomes);
    if (st) {
      tails_->add(requests, outcomes);
    }
    return st;
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types, std::uint64_t upto) override {
    shared_read cached;
    if (read_cached(tenant, after, limit, types, upto, cached)) {
      read_result r;
      r.next = cached.next;
      r.events.reserve(cached.events.size());
      for (const auto& e : cached.events) {
        r.events.push_back(
            stored_event{e->seq, e->type, e->conversation, e->subject, std::string(e->json())});
      }
      return r;
    }
    return inner_->read(tenant, after, limit, types, upto);
  }

  bool read_cached(const std::string& tenant, std::uint64_t after, std::size_t limit,
                   const std::vector<std::string>& types, std::uint64_t upto,
                   shared_read& out) override {
    if (limit == 0 || after >= upto) {
      out = shared_read{{}, after};
      return true;  // nothing to read: as `read` answers
    }
    shared_read r;
    if (!tails_->read(tenant, after, limit, types, upto, r)) {
      return false;
    }
    out = std::move(r);
    return true;
  }

  void drop_cached(const std::string& tenant) override {
    tails_->forget(tenant);
    inner_->drop_cached(tenant);
  }

  std::uint64_t head(const std::string& tenant) override { return inner_->head(tenant); }

  using event_log::quarantine;
  result<std::uint64_t> quarantine(quarantined_body body, std::uint64_t quota_bytes) override {
    return inner_->quarantine(std::move(body), quota_bytes);
  }
  std::vector<quarantined_body> quarantined(const std::string& tenant) override {
    return inner_->quarantined(tenant);
  }
  result<std::vector<quarantine_entry>> quarantine_list(const std::string& tenant,
                                                        const std::string& channel,
                                                        std::uint64_t after_id,
                                                        std::size_t limit) override {
    return inner_->quarantine_list(tenant, channel, after_id, limit);
  }
  result<quarantined_body> quarantined_one(const std::string& tenant, std::uint64_t id) override {
    return inner_->quarantined_one(tenant, id);
  }
  result<quarantine_entry> drop_quarantined(const std::string& tenant,
                                            std::uint64_t id) override {
    return inner_->drop_quarantined(tenant, id);
  }
  result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                              const std::string& channel) override {
    return inner_->drop_quarantine_of(tenant, channel);
  }
  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override {
    return inner_->quarantine_used(tenant, channel);
  }

 private:
  std::shared_ptr<event_log> inner_;
  std::shared_ptr<tails> tails_;
};

/// Empties a tenant's tail after every call that deletes events, once the store has deleted them.
class tailed_privacy final : public privacy_store {
 public:
  tailed_privacy(std::shared_ptr<privacy_store> inner, std::shared_ptr<tails> t)
      : inner_(std::move(inner)), tails_(std::move(t)) {}

  status put_consent(const consent_record& r) override { return inner_->put_consent(r); }
  std::vector<consent_record> consents(const std::string& tenant) override {
    return inner_->consents(tenant);
  }
  result<std::vector<stored_event>> subject_events(const std::string& tenant,
                                                   const std::string& subject,
                                                   std::size_t limit) override {
    return inner_->subject_events(tenant, subject, limit);
  }
  result<std::vector<stored_event>> subject_events_after(const std::string& tenant,
                                                         const std::string& subject,
                                                         std::uint64_t after,
                                                         std::size_t limit) override {
    return inner_->subject_events_after(tenant, subject, after, limit);
  }
  std::vector<std::string> erased_subjects(const std::string& tenant) override {
    return inner_->erased_subjects(tenant);
  }
  result<erase_outcome> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    auto r = inner_->erase_subject(tenant, subject);
    tails_->forget(tenant);  // failed or not: part of it may be gone
    return r;
  }
  result<erase_outcome> erase_channel(const std::string& tenant,
                                      const std::string& channel) override {
    auto r = inner_->erase_channel(tenant, channel);
    tails_->forget(tenant);
    return r;
  }
  result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    auto r = inner_->expire(tenant, cutoff);
    if (!r || r->events > 0) {
      tails_->forget(tenant);
    }
    return r;
  }
  result<std::uint64_t> audit(audit_entry e) override { return inner_->audit(std::move(e)); }
  std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                     std::size_t limit) override {
    return inner_->audit_log(tenant, after_id, limit);
  }
  status put_deletion_request(const deletion_request& r) override {
    return inner_->put_deletion_request(r);
  }
  result<deletion_request> find_deletion_request(const std::string& code) override {
    return inner_->find_deletion_request(code);
  }
  result<privacy_request_claim> claim_privacy_request(const std::string& tenant,
                                                      const std::string& channel,
                                                      const std::string& kind,
                                                      std::string_view request) override {
    return inner_->claim_privacy_request(tenant, channel, kind, request);
  }
  status finish_privacy_request(const privacy_request_claim& claim,
                                const privacy_request& r) override {
    return inner_->finish_privacy_request(claim, r);
  }
  void abandon_privacy_request(const privacy_request_claim& claim) override {
    inner_->abandon_privacy_request(claim);
  }

 private:
  std::shared_ptr<privacy_store> inner_;
  std::shared_ptr<tails> tails_;
};

}  // namespace

stores with_live_tail(stores inner, live_tail_limits limits) {
  auto t = std::make_shared<tails>(limits);
  stores out;
  out.delivery = std::move(inner.delivery);
  out.definitions = std::move(inner.definitions);
  if (inner.log) {
    out.log = std::make_shared<tailed_log>(std::move(inner.log), t);
  }
  if (inner.privacy) {
    out.privacy = std::make_shared<tailed_privacy>(std::move(inner.privacy), t);
  }
  return out;
}

}  // namespace sb::store

// The in-memory stores: event log, delivery store and privacy store in one object, behind one
// reader-writer lock (`make_memory_stores` hands it out as each of the three). Nothing here is
// encrypted: nothing is at rest (it is lost with the process), so there is no data key to destroy;
// an erasure deletes the rows, as the SQLite log does, and `erase_outcome::key_destroyed` answers
// as the SQLite log would (true when the subject had events stored since it was last erased, which
// is when the SQLite log holds a key for it). Dedupe keys are held as keyed digests under a random
// key of this object, as the SQLite log holds them under a key of the master key: an erasure leaves
// them as tombstones, and what stays of an erased event's dedupe key (a WhatsApp message id encodes
// a phone number) is not reversible, in memory too.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "core/aead.hpp"
#include "store/privacy_rules.hpp"
#include "store/sealed.hpp"
#include "store/stores.hpp"

namespace sb::store {

namespace {

// Bounds the work of one read call when a type filter skips most events.
constexpr std::size_t k_max_examined = 10000;

// A dedupe digest's size, as the SQLite log's.
constexpr std::size_t k_dedupe_digest_size = 16;

struct event_record {
  stored_event stored;
  std::string channel;
  timestamp received_at;
};

struct dedupe_entry {
  std::uint64_t seq = 0;  // of the event stored first (erased or not: a tombstone)
  std::int64_t created_at_ms = 0;
};

struct tenant_log {
  std::uint64_t head = 0;            // last issued seq: never reused, also after deletions
  std::vector<event_record> events;  // ascending seq, with gaps where events were deleted
  std::unordered_map<std::string, dedupe_entry> dedupe;  // dedupe_digest(channel, key) -> entry
  std::map<std::string, consent_record> consents;        // subject -> record
  // Subjects with stored events and the channel each was first seen on: where the SQLite log
  // holds a data key (`subject_keys`).
  std::map<std::string, std::string> subjects;
  // Erased subjects (`privacy_store::erased_subjects`), in erasure order, each once.
  std::vector<std::string> erased;
  std::set<std::string> erased_set;
};

struct letter_record {
  dead_letter letter;
  std::string subject;  // of the letter's event, when it was still stored
};

class memory_log final : public event_log, public delivery_store, public privacy_store {
 public:
  memory_log() : secret_(crypto::generate_aead_key()) {}

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    outcomes.clear();
    outcomes.resize(requests.size());
    const std::int64_t now_ms = now().unix_ms;
    std::unique_lock lock(mutex_);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& req = requests[i];
      auto& log = tenants_[req.tenant];
      auto& out = outcomes[i];
      out.reserve(req.events.size());
      for (auto& ev : req.events) {
        std::string key;
        if (!ev.dedupe_key.empty()) {
          key = dedupe_digest(ev.channel.name, ev.dedupe_key);
          auto it = log.dedupe.find(key);
          if (it != log.dedupe.end()) {
            out.push_back({true, it->second.seq});
            continue;
          }
        }
        ev.seq = ++log.head;
        event_record r;
        r.stored.seq = ev.seq;
        r.stored.type = ev.type;
        r.stored.conversation = ev.conversation;
        r.stored.subject = ev.subject;
        r.stored.json = to_json(ev);
        r.channel = ev.channel.name;
        r.received_at = ev.received_at;
        log.events.push_back(std::move(r));
        if (!ev.subject.empty()) {
          log.subjects.emplace(ev.subject, ev.channel.name);
        }
        if (!key.empty()) {
          log.dedupe.emplace(std::move(key), dedupe_entry{ev.seq, now_ms});
        }
        out.push_back({false, ev.seq});
      }
    }
    return {};
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types, std::uint64_t upto) override {
    read_result r;
    r.next = after;
    if (after >= upto) {
      return r;
    }
    std::shared_lock lock(mutex_);
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) {
      return r;
    }
    const auto& events = it->second.events;
    std::size_t examined = 0;
    for (auto e = first_after(events, after);
         e != events.end() && e->stored.seq <= upto && r.events.size() < limit; ++e) {
      if (++examined > k_max_examined) {
        break;
      }
      r.next = e->stored.seq;
      if (types.empty() || std::find(types.begin(), types.end(), e->stored.type) != types.end()) {
        r.events.push_back(e->stored);
      }
    }
    return r;
  }

  std::uint64_t head(const std::string& tenant) override {
    std::shared_lock lock(mutex_);
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : it->second.head;
  }

  using event_log::quarantine;

  result<std::uint64_t> quarantine(quarantined_body body, std::uint64_t quota_bytes) override {
    const std::uint64_t charge = quarantine_charge(body);
    std::unique_lock lock(mutex_);
    auto& used = quarantine_used_[channel_key(body.tenant, body.channel)];
    if (charge > quota_bytes || used > quota_bytes - charge) {
      return quarantine_full(body.channel, used, quota_bytes);
    }
    used += charge;
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

  result<std::vector<quarantine_entry>> quarantine_list(const std::string& tenant,
                                                        const std::string& channel,
                                                        std::uint64_t after_id,
                                                        std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<quarantine_entry> out;
    for (auto it = first_quarantined_after(after_id); it != quarantine_.end() && out.size() < limit;
         ++it) {
      if (it->tenant == tenant && (channel.empty() || it->channel == channel)) {
        out.push_back(entry_of(*it));
      }
    }
    return out;
  }

  result<quarantined_body> quarantined_one(const std::string& tenant, std::uint64_t id) override {
    std::shared_lock lock(mutex_);
    auto it = find_quarantined(tenant, id);
    if (it == quarantine_.end()) {
      return no_quarantined(id);
    }
    return *it;
  }

  result<quarantine_entry> drop_quarantined(const std::string& tenant, std::uint64_t id) override {
    std::unique_lock lock(mutex_);
    auto it = find_quarantined(tenant, id);
    if (it == quarantine_.end()) {
      return no_quarantined(id);
    }
    auto out = entry_of(*it);
    release(*it);
    quarantine_.erase(it);
    return out;
  }

  result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                              const std::string& channel) override {
    std::unique_lock lock(mutex_);
    quarantine_purge out;
    erase_quarantine_if([&](const quarantined_body& q) {
      if (q.tenant != tenant || q.channel != channel) {
        return false;
      }
      ++out.bodies;
      out.bytes += q.body.size();
      return true;
    });
    return out;
  }

  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override {
    std::shared_lock lock(mutex_);
    auto it = quarantine_used_.find(channel_key(tenant, channel));
    return it == quarantine_used_.end() ? 0 : it->second;
  }

  // -- delivery_store -------------------------------------------------------------------------

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
    letter_record r;
    if (auto t = tenants_.find(letter.tenant); t != tenants_.end()) {
      auto e = first_after(t->second.events, letter.seq - 1);
      if (letter.seq > 0 && e != t->second.events.end() && e->stored.seq == letter.seq) {
        r.subject = e->stored.subject;
      }
    }
    r.letter = std::move(letter);
    dead_letters_.push_back(std::move(r));
    return dead_letter_seq_;
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<dead_letter> out;
    // Ids increase along the vector: skip to the first one past `after_id`.
    auto it =
        std::upper_bound(dead_letters_.begin(), dead_letters_.end(), after_id,
                         [](std::uint64_t id, const letter_record& r) { return id < r.letter.id; });
    for (; it != dead_letters_.end() && out.size() < limit; ++it) {
      if (it->letter.tenant == tenant && it->letter.subscriber == subscriber) {
        out.push_back(it->letter);
      }
    }
    return out;
  }

  result<dead_letter> take_dead_letter(const std::string& tenant, const std::string& subscriber,
                                       std::uint64_t id) override {
    std::unique_lock lock(mutex_);
    auto it =
        std::lower_bound(dead_letters_.begin(), dead_letters_.end(), id,
                         [](const letter_record& r, std::uint64_t v) { return r.letter.id < v; });
    if (it == dead_letters_.end() || it->letter.id != id || it->letter.tenant != tenant ||
        it->letter.subscriber != subscriber) {
      return {errc::not_found, "no such dead letter"};
    }
    dead_letter out = std::move(it->letter);
    dead_letters_.erase(it);
    return out;
  }

  status disable(const std::string& tenant, const std::string& subscriber,
                 subscriber_disabled why) override {
    std::unique_lock lock(mutex_);
    why.since = timestamp::from_millis(why.since.unix_ms);  // as the SQLite log keeps it
    disabled_[subscriber_key(tenant, subscriber)] = std::move(why);
    return {};
  }

  status enable(const std::string& tenant, const std::string& subscriber) override {
    std::unique_lock lock(mutex_);
    disabled_.erase(subscriber_key(tenant, subscriber));
    return {};
  }

  result<std::optional<subscriber_disabled>> disabled(const std::string& tenant,
                                                      const std::string& subscriber) override {
    std::shared_lock lock(mutex_);
    auto it = disabled_.find(subscriber_key(tenant, subscriber));
    if (it == disabled_.end()) {
      return std::optional<subscriber_disabled>{};
    }
    return std::optional<subscriber_disabled>{it->second};
  }

  // -- privacy_store --------------------------------------------------------------------------

  status put_consent(const consent_record& r) override {
    if (auto st = rules::check_consent(r); !st) {
      return st;
    }
    std::unique_lock lock(mutex_);
    tenants_[r.tenant].consents[r.subject] = r;
    return {};
  }

  std::vector<consent_record> consents(const std::string& tenant) override {
    std::shared_lock lock(mutex_);
    std::vector<consent_record> out;
    if (auto it = tenants_.find(tenant); it != tenants_.end()) {
      for (const auto& [subject, record] : it->second.consents) {
        out.push_back(record);
      }
    }
    return out;
  }

  result<std::vector<stored_event>> subject_events(const std::string& tenant,
                                                   const std::string& subject,
                                                   std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<stored_event> out;
    auto it = tenants_.find(tenant);
    if (it == tenants_.end() || subject.empty()) {
      return out;
    }
    for (const auto& e : it->second.events) {
      if (out.size() >= limit) {
        break;
      }
      if (e.stored.subject == subject) {
        out.push_back(e.stored);
      }
    }
    return out;
  }

  result<std::vector<stored_event>> subject_events_after(const std::string& tenant,
                                                         const std::string& subject,
                                                         std::uint64_t after,
                                                         std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<stored_event> out;
    auto it = tenants_.find(tenant);
    if (it == tenants_.end() || subject.empty() || limit == 0) {
      return out;
    }
    const auto& events = it->second.events;
    auto from = std::upper_bound(
        events.begin(), events.end(), after,
        [](std::uint64_t seq, const event_record& e) { return seq < e.stored.seq; });
    for (; from != events.end() && out.size() < limit; ++from) {
      if (from->stored.subject == subject) {
        out.push_back(from->stored);
      }
    }
    return out;
  }

  std::vector<std::string> erased_subjects(const std::string& tenant) override {
    std::shared_lock lock(mutex_);
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? std::vector<std::string>{} : it->second.erased;
  }

  result<erase_outcome> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (auto st = rules::check_subject(subject); !st) {
      return st.err();
    }
    std::unique_lock lock(mutex_);
    erase_outcome out;
    // A subject with nothing stored is still recorded as erased (its sessions are revoked).
    erase_locked(tenant, tenants_[tenant], subject, out);
    return out;
  }

  result<erase_outcome> erase_channel(const std::string& tenant,
                                      const std::string& channel) override {
    if (auto st = rules::check_channel(channel); !st) {
      return st.err();
    }
    std::unique_lock lock(mutex_);
    erase_outcome out;
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) {
      auto& log = it->second;
      std::set<std::string> subjects;
      for (const auto& e : log.events) {
        if (e.channel == channel && !e.stored.subject.empty()) {
          subjects.insert(e.stored.subject);
        }
      }
      for (const auto& [subject, first_channel] : log.subjects) {
        if (first_channel == channel) {
          subjects.insert(subject);
        }
      }
      for (const auto& subject : subjects) {
        erase_locked(tenant, log, subject, out);
      }
      // What is left of the channel: events without a subject but the privacy receipts, their
      // dead letters, and the channel's quarantined bodies. Dedupe keys stay as tombstones.
      auto erased = [&](const event_record& e) {
        return e.channel == channel && !rules::is_privacy_type(e.stored.type);
      };
      std::set<std::uint64_t> seqs;
      for (const auto& e : log.events) {
        if (erased(e)) {
          seqs.insert(e.stored.seq);
        }
      }
      out.dead_letters += erase_if(dead_letters_, [&](const letter_record& r) {
        return r.letter.tenant == tenant && seqs.count(r.letter.seq) > 0;
      });
      out.dedupe_keys += tombstones(log, seqs);
      out.events += erase_if(log.events, erased);
    }
    erase_quarantine_if(
        [&](const quarantined_body& q) { return q.tenant == tenant && q.channel == channel; });
    return out;
  }

  result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    std::unique_lock lock(mutex_);
    sweep_outcome out;
    const std::int64_t t = cutoff.unix_ms;
    if (auto it = tenants_.find(tenant); it != tenants_.end()) {
      auto& log = it->second;
      out.events =
          erase_if(log.events, [&](const event_record& e) { return e.received_at.unix_ms < t; });
      out.dedupe_keys =
          erase_if_map(log.dedupe, [&](const dedupe_entry& d) { return d.created_at_ms < t; });
    }
    out.dead_letters = erase_if(dead_letters_, [&](const letter_record& r) {
      return r.letter.tenant == tenant && r.letter.failed_at.unix_ms < t;
    });
    out.quarantined = erase_quarantine_if(
        [&](const quarantined_body& q) { return q.tenant == tenant && q.received_at.unix_ms < t; });
    return out;
  }

  result<std::uint64_t> audit(audit_entry e) override {
    std::unique_lock lock(mutex_);
    e.id = ++audit_seq_;
    audit_.push_back(std::move(e));
    return audit_seq_;
  }

  std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                     std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<audit_entry> out;
    auto it = std::upper_bound(audit_.begin(), audit_.end(), after_id,
                               [](std::uint64_t id, const audit_entry& e) { return id < e.id; });
    for (; it != audit_.end() && out.size() < limit; ++it) {
      if (it->tenant == tenant) {
        out.push_back(*it);
      }
    }
    return out;
  }

  status put_deletion_request(const deletion_request& r) override {
    if (r.code.empty()) {
      return {errc::bad_request, "deletion request: code is empty"};
    }
    std::unique_lock lock(mutex_);
    deletion_requests_[r.code] = r;
    return {};
  }

  result<deletion_request> find_deletion_request(const std::string& code) override {
    std::shared_lock lock(mutex_);
    auto it = deletion_requests_.find(code);
    if (it == deletion_requests_.end()) {
      return {errc::not_found, "no deletion request with this confirmation code"};
    }
    return it->second;
  }

  result<privacy_request_claim> claim_privacy_request(const std::string& tenant,
                                                      const std::string& channel,
                                                      const std::string& kind,
                                                      std::string_view request) override {
    if (auto st = rules::check_privacy_request(tenant, channel, kind); !st) {
      return st.err();
    }
    return claims_.claim(
        rules::privacy_request_digest(secret_, tenant, channel, kind, request),
        [this](const std::string& digest) -> result<std::optional<privacy_request>> {
          std::shared_lock lock(mutex_);
          auto it = privacy_requests_.find(digest);
          if (it == privacy_requests_.end()) {
            return std::optional<privacy_request>{};
          }
          return std::optional<privacy_request>{it->second};
        });
  }

  status finish_privacy_request(const privacy_request_claim& claim,
                                const privacy_request& r) override {
    if (auto st = rules::check_privacy_request(r.tenant, r.channel, r.kind); !st) {
      return st;
    }
    {
      std::unique_lock lock(mutex_);
      privacy_requests_.emplace(claim.digest, r);
    }
    claims_.end(claim.digest);
    return {};
  }

  void abandon_privacy_request(const privacy_request_claim& claim) override {
    claims_.end(claim.digest);
  }

 private:
  static std::string subscriber_key(const std::string& tenant, const std::string& subscriber) {
    std::string key;
    key.reserve(tenant.size() + 1 + subscriber.size());
    key.append(tenant).push_back('\n');
    key.append(subscriber);
    return key;
  }

  static std::string channel_key(const std::string& tenant, const std::string& channel) {
    return subscriber_key(tenant, channel);
  }

  static error quarantine_full(const std::string& channel, std::uint64_t used,
                               std::uint64_t quota) {
    return {errc::quarantine_full, "the quarantine of channel " + channel + " holds " +
                                       std::to_string(used) + " of its " + std::to_string(quota) +
                                       " bytes"};
  }

  static error no_quarantined(std::uint64_t id) {
    return {errc::not_found, "no quarantined body " + std::to_string(id)};
  }

  static quarantine_entry entry_of(const quarantined_body& q) {
    return {q.id, q.channel, q.reason, q.received_at, q.body.size()};
  }

  /// The first quarantined body with id > `after` (ids increase along the vector).
  std::vector<quarantined_body>::const_iterator first_quarantined_after(std::uint64_t after) const {
    return std::upper_bound(quarantine_.begin(), quarantine_.end(), after,
                            [](std::uint64_t id, const quarantined_body& q) { return id < q.id; });
  }

  std::vector<quarantined_body>::iterator find_quarantined(const std::string& tenant,
                                                           std::uint64_t id) {
    auto it = std::lower_bound(quarantine_.begin(), quarantine_.end(), id,
                               [](const quarantined_body& q, std::uint64_t v) { return q.id < v; });
    return it != quarantine_.end() && it->id == id && it->tenant == tenant ? it : quarantine_.end();
  }

  /// A body leaves the quarantine: its channel's quota gets its charge back.
  void release(const quarantined_body& q) {
    auto it = quarantine_used_.find(channel_key(q.tenant, q.channel));
    if (it != quarantine_used_.end()) {
      it->second -= std::min(it->second, quarantine_charge(q));
    }
  }

  /// Every removal from the quarantine goes through here, so the quotas stay exact.
  template <class Pred>
  std::uint64_t erase_quarantine_if(Pred pred) {
    return erase_if(quarantine_, [&](const quarantined_body& q) {
      if (!pred(q)) {
        return false;
      }
      release(q);
      return true;
    });
  }

  /// The first event with seq > `after` (events are in ascending seq, with gaps).
  static std::vector<event_record>::const_iterator first_after(
      const std::vector<event_record>& events, std::uint64_t after) {
    return std::upper_bound(
        events.begin(), events.end(), after,
        [](std::uint64_t seq, const event_record& e) { return seq < e.stored.seq; });
  }

  template <class T, class Pred>
  static std::uint64_t erase_if(std::vector<T>& v, Pred pred) {
    auto end = std::remove_if(v.begin(), v.end(), pred);
    auto n = static_cast<std::uint64_t>(v.end() - end);
    v.erase(end, v.end());
    return n;
  }

  template <class Map, class Pred>
  static std::uint64_t erase_if_map(Map& m, Pred pred) {
    std::uint64_t n = 0;
    for (auto it = m.begin(); it != m.end();) {
      if (pred(it->second)) {
        it = m.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  /// The dedupe digest of `key` on `channel` (the map is per tenant).
  std::string dedupe_digest(std::string_view channel, std::string_view key) const {
    return sealed::keyed_digest(secret_, {channel, key}, k_dedupe_digest_size);
  }

  /// How many dedupe keys the events `seqs` left: they stay, as tombstones.
  static std::uint64_t tombstones(const tenant_log& log, const std::set<std::uint64_t>& seqs) {
    std::uint64_t n = 0;
    for (const auto& [digest, entry] : log.dedupe) {
      n += seqs.count(entry.seq);
    }
    return n;
  }

  /// Deletes one subject's rows, as the SQLite log's erasure transaction does.
  void erase_locked(const std::string& tenant, tenant_log& log, const std::string& subject,
                    erase_outcome& out) {
    std::set<std::uint64_t> seqs;
    for (const auto& e : log.events) {
      if (e.stored.subject == subject) {
        seqs.insert(e.stored.seq);
      }
    }
    out.dead_letters += erase_if(dead_letters_, [&](const letter_record& r) {
      return r.letter.tenant == tenant && (r.subject == subject || seqs.count(r.letter.seq) > 0);
    });
    out.dedupe_keys += tombstones(log, seqs);
    out.events +=
        erase_if(log.events, [&](const event_record& e) { return e.stored.subject == subject; });
    log.consents.erase(subject);
    if (log.subjects.erase(subject) > 0) {
      out.key_destroyed = true;
    }
    out.subjects.push_back(subject);
    if (log.erased_set.insert(subject).second) {
      log.erased.push_back(subject);
    }
  }

  std::shared_mutex mutex_;
  std::unordered_map<std::string, tenant_log> tenants_;
  std::vector<quarantined_body> quarantine_;  // ascending id
  std::uint64_t quarantine_seq_ = 0;
  std::unordered_map<std::string, std::uint64_t> quarantine_used_;  // "<tenant>\n<channel>"
  std::unordered_map<std::string, subscriber_disabled> disabled_;   // "<tenant>\n<subscriber>"
  std::unordered_map<std::string, std::uint64_t> cursors_;  // "<tenant>\n<subscriber>" -> seq
  std::vector<letter_record> dead_letters_;                 // ascending id
  std::uint64_t dead_letter_seq_ = 0;
  std::vector<audit_entry> audit_;  // ascending id
  std::uint64_t audit_seq_ = 0;
  std::unordered_map<std::string, deletion_request> deletion_requests_;  // by code
  std::unordered_map<std::string, privacy_request> privacy_requests_;    // by digest
  rules::request_claims claims_;
  const std::string secret_;  // keys the dedupe and privacy-request digests; random
};

}  // namespace

stores make_memory_stores() {
  auto log = std::make_shared<memory_log>();
  return {log, log, log, make_memory_definitions(log)};
}

}  // namespace sb::store

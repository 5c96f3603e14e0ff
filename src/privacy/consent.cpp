#include "privacy/consent.hpp"

#include <algorithm>

#include "core/json.hpp"

namespace sb::privacy {

const char* to_string(purpose p) noexcept {
  switch (p) {
    case purpose::support:
      return "support";
    case purpose::ai:
      return "ai";
    case purpose::analytics:
      return "analytics";
    case purpose::marketing:
      return "marketing";
  }
  return "support";
}

std::optional<purpose> parse_purpose(std::string_view name) noexcept {
  for (auto p : all_purposes) {
    if (name == to_string(p)) {
      return p;
    }
  }
  return std::nullopt;
}

bool default_granted(purpose p) noexcept {
  return p != purpose::marketing;
}

purpose_set purposes_of(const std::vector<std::string>& names) noexcept {
  purpose_set set = 0;
  for (const auto& n : names) {
    if (auto p = parse_purpose(n)) {
      set |= bit(*p);
    }
  }
  return set;
}

const config::subscriber_config* find_subscriber(const config::tenant_config& t,
                                                 std::string_view name) noexcept {
  for (const auto& s : t.subscribers) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

bool always_forwarded(std::string_view type) noexcept {
  return type == "consent.changed" || type.substr(0, 8) == "privacy.";
}

bool forwards(const consent_state* s, std::string_view event_type,
              purpose_set subscriber_purposes) noexcept {
  if (always_forwarded(event_type)) {
    return true;
  }
  if (s != nullptr && s->restricted) {
    return false;
  }
  for (auto p : all_purposes) {
    if ((subscriber_purposes & bit(p)) != 0 && (s != nullptr ? s->allows(p) : default_granted(p))) {
      return true;
    }
  }
  return false;
}

bool forwards(const consent_state* s, std::string_view event_type,
              const std::vector<std::string>& subscriber_purposes) {
  return forwards(s, event_type, purposes_of(subscriber_purposes));
}

const char* to_string(send_verdict v) noexcept {
  switch (v) {
    case send_verdict::allowed:
      return "allowed";
    case send_verdict::purpose_refused:
      return "purpose_refused";
    case send_verdict::opted_out:
      return "opted_out";
    case send_verdict::restricted:
      return "restricted";
  }
  return "allowed";
}

send_verdict send_decision(const consent_state* s, purpose p, bool is_reply,
                           bool tenant_allows_replies) noexcept {
  if (s == nullptr) {
    return default_granted(p) ? send_verdict::allowed : send_verdict::purpose_refused;
  }
  if (!s->allows(p)) {
    return send_verdict::purpose_refused;
  }
  if (s->restricted || s->opted_out) {
    if (is_reply && tenant_allows_replies) {
      return send_verdict::allowed;
    }
    return s->restricted ? send_verdict::restricted : send_verdict::opted_out;
  }
  return send_verdict::allowed;
}

void apply(consent_state& s, const consent_change& c, timestamp at) {
  if (c.purpose_of && c.granted) {
    s.granted[static_cast<unsigned>(*c.purpose_of)] = *c.granted;
  }
  if (c.restricted) {
    s.restricted = *c.restricted;
  }
  if (c.opted_out) {
    s.opted_out = *c.opted_out;
  }
  s.updated_at = at;
}

store::consent_record to_record(const std::string& tenant, const std::string& subject,
                                const consent_state& s) {
  store::consent_record r;
  r.tenant = tenant;
  r.subject = subject;
  for (auto p : all_purposes) {
    if (const auto& g = s.granted[static_cast<unsigned>(p)]) {
      r.granted[to_string(p)] = *g;
    }
  }
  if (s.opted_out) {
    r.granted[k_outbound_key] = false;
  }
  r.restricted = s.restricted;
  r.updated_at = s.updated_at;
  return r;
}

consent_state from_record(const store::consent_record& r) {
  consent_state s;
  for (const auto& [name, value] : r.granted) {
    if (auto p = parse_purpose(name)) {
      s.granted[static_cast<unsigned>(*p)] = value;
    } else if (name == k_outbound_key) {
      s.opted_out = !value;
    }
  }
  s.restricted = r.restricted;
  s.updated_at = r.updated_at;
  return s;
}

std::string to_json(const std::string& subject, const consent_state& s) {
  std::string out;
  json::writer w(out);
  w.begin_object().key("subject").value(subject);
  w.key("purposes").begin_object();
  for (auto p : all_purposes) {
    w.key(to_string(p)).value(s.allows(p));
  }
  w.end_object();
  w.key("explicit").begin_object();
  for (auto p : all_purposes) {
    if (const auto& g = s.granted[static_cast<unsigned>(p)]) {
      w.key(to_string(p)).value(*g);
    }
  }
  w.end_object();
  w.key("restricted").value(s.restricted);
  w.key("opted_out").value(s.opted_out);
  if (!s.updated_at.empty()) {
    w.key("updated_at").value(to_rfc3339(s.updated_at));
  }
  w.end_object();
  return out;
}

bool valid_subject_id(std::string_view s) noexcept {
  if (s.size() != 20 || s.substr(0, 4) != "sub_") {
    return false;
  }
  for (char c : s.substr(4)) {
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
    if (!digit && !upper) {
      return false;
    }
  }
  return true;
}

namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool any_of(const std::vector<std::string>& words, std::string_view text) noexcept {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return iequals(trim(w), text); });
}

}  // namespace

keyword match_keyword(const config::privacy_config& p, std::string_view text) noexcept {
  text = trim(text);
  if (text.empty()) {
    return keyword::none;
  }
  if (any_of(p.opt_out_keywords, text)) {
    return keyword::opt_out;
  }
  if (any_of(p.opt_in_keywords, text)) {
    return keyword::opt_in;
  }
  return keyword::none;
}

// -- consent_registry -------------------------------------------------------------------------

consent_registry::consent_registry(std::shared_ptr<store::privacy_store> store)
    : store_(std::move(store)) {}

status consent_registry::load(const std::string& tenant) {
  tenant_map loaded;
  if (store_) {
    for (const auto& r : store_->consents(tenant)) {
      auto& e = loaded[r.subject];
      e.state = from_record(r);
      e.has_state = true;
    }
    for (auto& subject : store_->erased_subjects(tenant)) {
      loaded[std::move(subject)].revoked = true;
    }
  }
  std::unique_lock lock(mutex_);
  tenants_[tenant] = std::move(loaded);
  return {};
}

std::optional<consent_state> consent_registry::find(const std::string& tenant,
                                                    const std::string& subject) const {
  std::shared_lock lock(mutex_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) {
    return std::nullopt;
  }
  auto it = t->second.find(subject);
  if (it == t->second.end() || !it->second.has_state) {
    return std::nullopt;
  }
  return it->second.state;
}

consent_state consent_registry::apply_now(const std::string& tenant, const std::string& subject,
                                          const consent_change& c) {
  std::unique_lock lock(mutex_);
  auto& e = tenants_[tenant][subject];
  apply(e.state, c, now());
  e.has_state = true;
  return e.state;
}

status consent_registry::persist(const std::string& tenant, const std::string& subject) {
  if (!store_) {
    return {};
  }
  // Held across the read of the latest state and its write: two writers of one subject cannot
  // store their snapshots in the opposite order of taking them.
  std::lock_guard<std::mutex> writing(write_mutex_);
  auto state = find(tenant, subject);
  if (!state) {
    return {};  // erased meanwhile: nothing to keep
  }
  return store_->put_consent(to_record(tenant, subject, *state));
}

result<consent_state> consent_registry::update(const std::string& tenant,
                                               const std::string& subject,
                                               const consent_change& c) {
  apply_now(tenant, subject, c);
  if (auto s = persist(tenant, subject); !s) {
    return s.err();
  }
  auto state = find(tenant, subject);
  return state ? *state : consent_state{};
}

void consent_registry::mark_erased(const std::string& tenant, const std::string& subject,
                                   std::uint64_t through_seq) {
  std::unique_lock lock(mutex_);
  auto& e = tenants_[tenant][subject];
  e.state = consent_state{};
  e.has_state = false;
  e.erased_through = std::max(e.erased_through, through_seq);
  e.revoked = true;
}

bool consent_registry::revoked(const std::string& tenant, const std::string& subject) const {
  std::shared_lock lock(mutex_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) {
    return false;
  }
  auto it = t->second.find(subject);
  return it != t->second.end() && it->second.revoked;
}

bool consent_registry::forwards_locked(const tenant_map* t, std::uint64_t seq,
                                       std::string_view type, const std::string& subject,
                                       purpose_set purposes) const {
  if (subject.empty()) {
    return true;  // about no person (a product update, a shop-level event): no consent involved
  }
  const consent_state* s = nullptr;
  if (t != nullptr) {
    auto it = t->find(subject);
    if (it != t->end()) {
      if (seq <= it->second.erased_through && !always_forwarded(type)) {
        return false;
      }
      if (it->second.has_state) {
        s = &it->second.state;
      }
    }
  }
  return privacy::forwards(s, type, purposes);
}

bool consent_registry::forwards(const std::string& tenant, std::uint64_t seq, std::string_view type,
                                const std::string& subject, purpose_set purposes) const {
  std::shared_lock lock(mutex_);
  auto t = tenants_.find(tenant);
  return forwards_locked(t == tenants_.end() ? nullptr : &t->second, seq, type, subject, purposes);
}

namespace {
// The fields of either kind of event the filter reads.
const store::stored_event& fields(const store::stored_event& e) { return e; }
const store::shared_event& fields(const store::shared_event_ptr& e) { return *e; }
}  // namespace

template <class Events>
std::size_t consent_registry::filter_any(const std::string& tenant, purpose_set purposes,
                                         Events& events) const {
  std::shared_lock lock(mutex_);
  auto t = tenants_.find(tenant);
  const tenant_map* map = t == tenants_.end() ? nullptr : &t->second;
  const auto before = events.size();
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](const auto& ev) {
                                const auto& e = fields(ev);
                                return !forwards_locked(map, e.seq, e.type, e.subject, purposes);
                              }),
               events.end());
  return before - events.size();
}

std::size_t consent_registry::filter(const std::string& tenant, purpose_set purposes,
                                     std::vector<store::stored_event>& events) const {
  return filter_any(tenant, purposes, events);
}

std::size_t consent_registry::filter(const std::string& tenant, purpose_set purposes,
                                     std::vector<store::shared_event_ptr>& events) const {
  return filter_any(tenant, purposes, events);
}

namespace {
template <class Events>
std::size_t filter_any(const consent_registry* registry, const std::string& tenant,
                       purpose_set purposes, Events& events) {
  if (registry != nullptr) {
    return registry->filter(tenant, purposes, events);
  }
  const auto before = events.size();
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](const auto& ev) {
                                const auto& e = fields(ev);
                                return !e.subject.empty() && !forwards(nullptr, e.type, purposes);
                              }),
               events.end());
  return before - events.size();
}
}  // namespace

std::size_t filter(const consent_registry* registry, const std::string& tenant,
                   purpose_set purposes, std::vector<store::stored_event>& events) {
  return filter_any(registry, tenant, purposes, events);
}

std::size_t filter(const consent_registry* registry, const std::string& tenant,
                   purpose_set purposes, std::vector<store::shared_event_ptr>& events) {
  return filter_any(registry, tenant, purposes, events);
}

bool forwards(const consent_registry* registry, const std::string& tenant,
              const store::stored_event& e, purpose_set purposes) {
  return registry != nullptr ? registry->forwards(tenant, e, purposes)
                             : e.subject.empty() || forwards(nullptr, e.type, purposes);
}

}  // namespace sb::privacy

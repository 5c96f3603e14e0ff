#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"

/// Consent and restriction (docs/DESIGN.md §7): the purposes and their defaults, a subject's
/// state, the two policy decisions (may an event be forwarded to a subscriber, may a message be
/// sent to a person), the gateway's registry of every subject's state, and the opt-out/opt-in
/// keywords. Plain code: no actors, no I/O except the registry's write-through to the store.
namespace sb::privacy {

// -- purposes ---------------------------------------------------------------------------------

/// The purposes of DESIGN §7. `support` rests on the contract (on), `ai` and `analytics` on
/// legitimate interest (on unless the person objects), `marketing` on consent (off until
/// granted).
enum class purpose : unsigned { support = 0, ai = 1, analytics = 2, marketing = 3 };
inline constexpr std::size_t k_purposes = 4;
inline constexpr std::array<purpose, k_purposes> all_purposes{
    purpose::support, purpose::ai, purpose::analytics, purpose::marketing};

/// "support", "ai", "analytics", "marketing" (the config and wire spelling).
const char* to_string(purpose p) noexcept;
/// The purpose of that name (exact, lower case), or nothing.
std::optional<purpose> parse_purpose(std::string_view name) noexcept;
/// What a purpose is when the person has not chosen: true for support, ai, analytics.
bool default_granted(purpose p) noexcept;

/// A set of purposes as bits (bit i = purpose i): what a subscriber serves. Built once per
/// subscriber, so the per-event check is a few bit operations.
using purpose_set = unsigned;
constexpr purpose_set bit(purpose p) noexcept {
  return 1u << static_cast<unsigned>(p);
}
/// The set named by `names`; unknown names are ignored (the config loader rejects them).
purpose_set purposes_of(const std::vector<std::string>& names) noexcept;

/// The subscriber of that name in the tenant's config, or null.
const config::subscriber_config* find_subscriber(const config::tenant_config& t,
                                                 std::string_view name) noexcept;

// -- a subject's state ------------------------------------------------------------------------

/// A subject's consent: explicit choices over the defaults, restriction and the outbound
/// opt-out. A subject without a state has the defaults (no choice, not restricted, not opted
/// out). Plain value; copied out of the registry.
struct consent_state {
  /// Explicit choice per purpose (index = purpose); nothing = the purpose's default.
  std::array<std::optional<bool>, k_purposes> granted{};
  /// Restriction of processing (GDPR art. 18): events are stored but forwarded to nobody (except
  /// consent.changed and privacy.*), and nothing is sent to the person except, where the tenant
  /// allows it, replies.
  bool restricted = false;
  /// The person sent an opt-out keyword (or an opt-in cleared it): no outbound message that is
  /// not a reply. Independent of `granted[marketing]`, which the keyword also sets.
  bool opted_out = false;
  timestamp updated_at;

  /// The purpose's effective value: the explicit choice, else its default.
  bool allows(purpose p) const noexcept {
    const auto& g = granted[static_cast<unsigned>(p)];
    return g ? *g : default_granted(p);
  }
};

/// True for the event types every subscriber receives whatever its purposes and whatever the
/// subject's state: `consent.changed` and `privacy.*` (every backend needs them to comply).
bool always_forwarded(std::string_view event_type) noexcept;

/// May an event of the subject whose state is `s` (null = defaults) reach a subscriber serving
/// `subscriber_purposes`? consent.changed and privacy.* always; any other event of a restricted
/// subject never; otherwise when the subject allows at least one of the subscriber's purposes.
/// (The registry's checks below pass every event without a subject: it concerns no person.)
bool forwards(const consent_state* s, std::string_view event_type,
              const std::vector<std::string>& subscriber_purposes);
/// The same with the subscriber's purposes as bits (the hot path).
bool forwards(const consent_state* s, std::string_view event_type,
              purpose_set subscriber_purposes) noexcept;

/// Why an outbound message may or may not be sent.
enum class send_verdict {
  allowed,
  purpose_refused,  ///< the person does not allow the message's purpose (marketing not granted)
  opted_out,        ///< opt-out keyword: only replies, and only where the tenant allows them
  restricted,       ///< restricted subject: only replies, and only where the tenant allows them
};
const char* to_string(send_verdict v) noexcept;

/// May a message for `p` be sent to the subject whose state is `s` (null = defaults)?
/// Marketing needs granted consent (every purpose must be allowed); an opted-out or restricted
/// subject receives nothing except replies (`is_reply`: an answer to the person's own message)
/// and those only when `tenant_allows_replies`.
send_verdict send_decision(const consent_state* s, purpose p, bool is_reply,
                           bool tenant_allows_replies) noexcept;
inline bool may_send(const consent_state* s, purpose p, bool is_reply,
                     bool tenant_allows_replies) noexcept {
  return send_decision(s, p, is_reply, tenant_allows_replies) == send_verdict::allowed;
}

/// One change to a subject's state; members left empty are kept. Changes to different members
/// commute, so concurrent changes of one subject never undo each other.
struct consent_change {
  std::optional<purpose> purpose_of;  ///< with `granted`
  std::optional<bool> granted;
  std::optional<bool> restricted;
  std::optional<bool> opted_out;
};
/// Applies `c` to `s` (and sets `updated_at` to `at`).
void apply(consent_state& s, const consent_change& c, timestamp at);

/// Store record <-> state. The outbound opt-out is kept in the record's `granted` map under the
/// key "outbound" (false = opted out): the record's map is the subject's list of choices.
store::consent_record to_record(const std::string& tenant, const std::string& subject,
                                const consent_state& s);
consent_state from_record(const store::consent_record& r);
inline constexpr const char* k_outbound_key = "outbound";

/// The state as the API answers it: {"subject","purposes":{"support":true,...},"restricted",
/// "opted_out","explicit":{"marketing":false},"updated_at"} (effective values plus the explicit
/// choices).
std::string to_json(const std::string& subject, const consent_state& s);

/// "sub_" followed by 16 Crockford base32 characters (0-9, A-Z without I, L, O, U).
bool valid_subject_id(std::string_view s) noexcept;

// -- keywords ---------------------------------------------------------------------------------

enum class keyword { none, opt_out, opt_in };

/// Whether `text`, trimmed of white space, equals (ASCII case-insensitively) one of the tenant's
/// opt-out or opt-in keywords (`privacy.opt_out_keywords` / `opt_in_keywords`). Only the whole
/// message counts: "please STOP" is not an opt-out.
keyword match_keyword(const config::privacy_config& p, std::string_view text) noexcept;

// -- the registry -----------------------------------------------------------------------------

/// Every subject's consent state, for all tenants of a gateway: read per event by streams, pulls
/// and push subscribers, written by keyword handling and the consent API, persisted in the
/// privacy store.
///
/// Threading: every member may be called from any thread. Reads take a shared lock and copy or
/// inspect one small entry (a hash lookup); writes of memory take the exclusive lock briefly.
/// `update` and `persist` also write the store (disk): call them off the actors' scheduler
/// threads (one-shot actor), never from a hot path.
class consent_registry {
 public:
  /// `store` may be null: the registry then keeps state in memory only (lost on restart).
  explicit consent_registry(std::shared_ptr<store::privacy_store> store);

  /// Loads (replaces) a tenant's states from the store, and its revocations (the subjects the
  /// store lists as erased, `privacy_store::erased_subjects`). Start-up.
  status load(const std::string& tenant);

  /// The subject's state, or nothing when it has none (the defaults apply).
  std::optional<consent_state> find(const std::string& tenant, const std::string& subject) const;

  /// Applies `c` in memory at once (readers see it immediately), then writes the subject's
  /// latest state to the store. Returns that state, or the store's error (the memory keeps the
  /// change; the next successful write of the subject persists it; the caller answers 503).
  result<consent_state> update(const std::string& tenant, const std::string& subject,
                               const consent_change& c);

  /// Applies `c` in memory only and returns the new state; `persist` writes it later. For the
  /// tenant actor, which must judge the triggering event with the new state but may not wait on
  /// the disk.
  consent_state apply_now(const std::string& tenant, const std::string& subject,
                          const consent_change& c);

  /// Writes the subject's latest state to the store (after `apply_now`).
  status persist(const std::string& tenant, const std::string& subject);

  /// The subject was erased: its state is dropped, and its events with seq <= `through_seq`
  /// (deleted from the store, but perhaps already read by a stream or push subscriber) are no
  /// longer forwarded, except consent.changed and privacy.*. Memory only: after a restart the
  /// events are gone from the store anyway. Later events of the subject (it wrote again) pass.
  void mark_erased(const std::string& tenant, const std::string& subject,
                   std::uint64_t through_seq);

  /// Whether `subject` was erased (`mark_erased` in this process, or listed by the store as
  /// erased when `load` ran): an erasure revokes the subject's web chat sessions for good, also
  /// when the subject writes again. A hash lookup under the shared lock; any thread.
  bool revoked(const std::string& tenant, const std::string& subject) const;

  /// May this stored event reach a subscriber serving `purposes`? (`forwards` with the
  /// subject's current state, and the erasure mark.) An event without a subject concerns no
  /// person (a Shopify product update, a shop-level event): it reaches every subscriber.
  bool forwards(const std::string& tenant, const store::stored_event& e,
                purpose_set purposes) const {
    return forwards(tenant, e.seq, e.type, e.subject, purposes);
  }
  bool forwards(const std::string& tenant, std::uint64_t seq, std::string_view type,
                const std::string& subject, purpose_set purposes) const;

  /// Removes from `events` (in place, order kept) those that may not reach a subscriber serving
  /// `purposes`; one lock for the whole batch. Returns how many were removed.
  std::size_t filter(const std::string& tenant, purpose_set purposes,
                     std::vector<store::stored_event>& events) const;
  std::size_t filter(const std::string& tenant, purpose_set purposes,
                     std::vector<store::shared_event_ptr>& events) const;

 private:
  struct entry {
    consent_state state;
    bool has_state = false;
    std::uint64_t erased_through = 0;  ///< 0 = not erased
    bool revoked = false;              ///< erased once: its web chat sessions are refused
  };
  using tenant_map = std::unordered_map<std::string, entry>;

  template <class Events>
  std::size_t filter_any(const std::string& tenant, purpose_set purposes, Events& events) const;

  bool forwards_locked(const tenant_map* t, std::uint64_t seq, std::string_view type,
                       const std::string& subject, purpose_set purposes) const;

  std::shared_ptr<store::privacy_store> store_;
  mutable std::shared_mutex mutex_;  ///< guards `tenants_`
  std::mutex write_mutex_;           ///< serializes store writes, so the latest state wins
  std::unordered_map<std::string, tenant_map> tenants_;
};

/// `registry->filter(...)`, or with the defaults for every subject when `registry` is null.
std::size_t filter(const consent_registry* registry, const std::string& tenant,
                   purpose_set purposes, std::vector<store::stored_event>& events);
std::size_t filter(const consent_registry* registry, const std::string& tenant,
                   purpose_set purposes, std::vector<store::shared_event_ptr>& events);
/// `registry->forwards(...)`, or with the defaults when `registry` is null.
bool forwards(const consent_registry* registry, const std::string& tenant,
              const store::stored_event& e, purpose_set purposes);

}  // namespace sb::privacy

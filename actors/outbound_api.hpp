#pragma once

// The outbound API in the tenant actor (docs/outbound.md): `POST /v1/messages` ("message.send")
// and `GET /v1/messages/{id}` ("message.get"), and what the tenant does for outbound messages
// when events are committed: it records each conversation's last inbound time (the 24-hour
// window) and links platform receipts to the messages they are about (`outbound.status`).
//
// The handlers run in the tenant actor's context and never block it: disk work runs on the
// tenant's outbox writer (store/outbox.hpp), the send itself on the channel's sender. The steps
// of a send are the plain state machine `outbound::send_flow` (outbound/send_flow.hpp); the
// handler performs each step it asks for and feeds the outcome back.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/api.hpp"
#include "actors/api_handlers.hpp"
#include "adapters/outbound.hpp"
#include "core/metrics.hpp"
#include "core/token_bucket.hpp"
#include "outbound/clock.hpp"
#include "outbound/status_correlation.hpp"

namespace sb::actors {

/// The tenant's outbound bookkeeping: per-token send limits, recently used idempotency keys,
/// the tenant's subject key and the receipt correlator. Owned by the tenant actor and used only
/// in its context (one thread at a time).
class outbound_api_state {
 public:
  /// How long an Idempotency-Key is remembered in memory (the outbox remembers it for as long as
  /// it keeps the message).
  static constexpr std::chrono::hours k_key_memory{24};
  static constexpr std::size_t k_max_keys = 10000;

  outbound_api_state(const config::config& cfg, const config::tenant_config& tenant);

  /// A reconfigure of the tenant (actors/reconfigure.hpp): the channels' sending sides are built
  /// again from `tenant`, and the send limits follow its subscribers (a subscriber whose
  /// `send_rate_limit` is unchanged keeps its bucket as it is). Idempotency keys, counters and
  /// the receipt correlation are kept. The object stays the same (handlers in flight hold it).
  void reconfigure(const config::tenant_config& tenant);

  /// A `POST /v1/messages` of the subscriber `caller` at `now`, against its
  /// `send_rate_limit`: 0 when admitted, else the seconds to wait (rounded up, >= 1).
  int admit(const std::string& caller, outbound::time_point now);

  /// HMAC key of the tenant's subjects (the same the channels derive subjects with).
  const std::string& subject_key() const { return subject_key_; }

  /// What is known in memory of (`caller`, `key`): nothing, a request in flight, or the id of
  /// the message it created (within `k_key_memory` of `now`).
  struct key_entry {
    bool in_flight = true;
    std::string id;
    outbound::time_point at;
  };
  const key_entry* find_key(const std::string& caller, const std::string& key,
                            outbound::time_point now) const;
  /// A request with (`caller`, `key`) started.
  void begin_key(const std::string& caller, const std::string& key, outbound::time_point now);
  /// It ended: with the message `id`, or ("" ) without one (refused, failed: forgotten).
  void end_key(const std::string& caller, const std::string& key, const std::string& id,
               outbound::time_point now);

  outbound::status_correlator& correlator() { return correlator_; }

  /// The sending side of the tenant's channel `name`, built once with this state from the
  /// channel's config (`adapters::adapter_info::outbound`); null when its type cannot send or
  /// there is no such channel.
  std::shared_ptr<const adapters::outbound_channel> channel(const std::string& name) const;

  /// `switchboard_outbound_messages_total{tenant,channel,state}` of this tenant (resolved once per
  /// channel and state; `state` one of `metrics::catalog::k_outbound_states`).
  metrics::counter& messages_counter(const std::string& channel, std::string_view state);
  /// `switchboard_outbound_refusals_total{tenant,reason}`; null for a code that is not a policy
  /// refusal (window_closed, consent_required, opted_out, restricted).
  metrics::counter* refusals_counter(errc reason);

  /// Whether a warning about a failed background write may be logged now: at most one per
  /// `k_warn_interval`, so a struggling disk does not also flood the log. Returns how many were
  /// held back since the last one through `suppressed`.
  static constexpr std::chrono::seconds k_warn_interval{10};
  bool may_warn(outbound::time_point now, std::uint64_t& suppressed);

 private:
  static std::string key_of(const std::string& caller, const std::string& key) {
    return caller + '\n' + key;
  }

  std::string tenant_;
  std::string subject_key_;
  std::unordered_map<std::string, metrics::counter*> counters_;  // "<channel>\n<state>"
  std::unordered_map<std::string, token_bucket> send_limits_;    // by subscriber
  std::unordered_map<std::string, key_entry> keys_;
  std::deque<std::string> key_order_;  // insertion order, for the bound
  outbound::status_correlator correlator_;
  std::unordered_map<std::string, std::shared_ptr<const adapters::outbound_channel>> channels_;
  outbound::time_point last_warn_{};
  bool warned_ = false;
  std::uint64_t suppressed_ = 0;
};

// The API handlers of this file (`send_message`, `get_message`) are declared in
// actors/api_handlers.hpp.

/// After a commit of `events` (tenant actor): writes the last inbound time of every
/// conversation whose person wrote (one outbox batch per commit), and resolves the receipts the
/// events carry on the outbox writer, which answers the tenant with `receipts_atom`.
void on_outbound_commit(const tenant_api_env& env, const std::vector<event>& events);

/// The tenant's handler of `receipts_atom`: moves each found message forward (one outbox batch)
/// and emits `outbound.status` for each that moved.
void apply_receipts(const tenant_api_env& env, resolved_receipts& r);

/// The tenant's handler of `receipts_atom, pending_receipts`: looks them up again.
void retry_receipts(const tenant_api_env& env, pending_receipts& r);

}  // namespace sb::actors

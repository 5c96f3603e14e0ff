#pragma once

// The sender's interface: one per sendable channel of a tenant (docs/outbound.md "Delivery
// engine").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/store_writer.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"

namespace sb::actors {

/// A sender, in pseudo-code:
///
///   interface sender {
///     // Accept one message for the channel: stored durably through the outbox writer, then
///     // queued (`send_accepted::st` says why not). A caf::error only when the sender is gone.
///     (send_atom, outbound_send) -> send_accepted
///     // The subject was erased: drop its queued messages unsent.
///     (forget_atom, std::string subject) -> void
///     // The outbox writer / event store writer was restarted: use this one.
///     (outbox_atom, outbox_writer_actor) -> void
///     (store_atom, store_writer_actor) -> void
///     // Counters, for tests and operations.
///     (stats_atom) -> sender_stats
///     // Internal: the platform's answer to one attempt (posted from the HTTP client's thread).
///     (sent_atom, platform_reply) -> void
///     // Internal: the scheduler's wakeup timer of generation `gen` fired.
///     (wake_atom, uint64_t gen) -> void
///     // Internal: a page of the start-up resume (from an outbox task); read the next page.
///     (resume_atom, outbox_page) -> void
///     (resume_atom) -> void
///     // Internal: a write the outbox writer did not confirm, tried again (`tries` so far).
///     (rewrite_atom, outbox_batch, uint32_t tries) -> void
///     // Internal: emit the `outbound.status` events still waiting for the store.
///     (flush_atom) -> void
///     // Several replicas: this replica got (true) or lost (false) the channel's sender lease;
///     // true again: another replica stored messages, read them in.
///     (lease_atom, bool) -> void
///   }
using sender_actor = caf::typed_actor<
    caf::replies_to<send_atom, outbound_send>::with<send_accepted>,
    caf::reacts_to<forget_atom, std::string>, caf::reacts_to<outbox_atom, outbox_writer_actor>,
    caf::reacts_to<store_atom, store_writer_actor>, caf::replies_to<stats_atom>::with<sender_stats>,
    caf::reacts_to<sent_atom, platform_reply>, caf::reacts_to<wake_atom, std::uint64_t>,
    caf::reacts_to<resume_atom, outbox_page>, caf::reacts_to<resume_atom>,
    caf::reacts_to<rewrite_atom, outbox_batch, std::uint32_t>, caf::reacts_to<flush_atom>,
    caf::reacts_to<lease_atom, bool>>;

/// Knobs of the sender actors (docs/outbound.md "Delivery engine"); rates come from each
/// channel's `adapters::limits_for`.
struct sender_settings {
  std::size_t max_queued = 10000;       ///< messages held per channel; past it the API answers 503
  std::size_t max_in_flight = 64;       ///< concurrent platform calls per channel
  std::uint32_t max_attempts = 8;       ///< transient failures (5xx, timeouts) before `failed`
  std::uint32_t max_rate_limited = 32;  ///< rate-limit answers before `failed`
  std::chrono::milliseconds backoff_initial{1000};  ///< after the first transient failure
  std::chrono::milliseconds backoff_max{std::chrono::minutes{5}};
  double jitter = 0.2;                              ///< ± fraction of each backoff
  std::chrono::milliseconds timeout{15000};         ///< one platform call, connect included
  std::chrono::milliseconds busy_backoff{50};       ///< the HTTP client's queue was full
  std::chrono::milliseconds outbox_timeout{10000};  ///< a write through the outbox writer
  std::size_t resume_batch = 500;  ///< records read from the outbox per resume step
};

/// What a sender actor is built from.
struct sender_init {
  std::string tenant;
  config::channel_config channel;
  const adapters::adapter_info* adapter = nullptr;  ///< the channel type's
  /// The channel's sending side (built once, shared with the tenant's API calls).
  std::shared_ptr<const adapters::outbound_channel> outbound;
  outbox_writer_actor outbox;  ///< the tenant's outbox writer
  store_writer_actor store;    ///< the event store writer (outbound.status)
  std::shared_ptr<delivery::http_client> http;
  /// Where the gateway is the platform (`outbound_channel::local_delivery`): the tenant's
  /// privacy settings and subject key, to redact the message's event as a channel redacts the
  /// events it stores (privacy/redact.hpp).
  config::privacy_config privacy;
  std::string subject_key;
  sender_settings settings;
  /// Several replicas: the sender starts passive (it stores what it accepts, sends nothing) and
  /// sends only while its tenant tells it this replica holds the channel's sender lease
  /// (`lease_atom`). False: it sends, and resumes the outbox's unfinished messages at start.
  bool leased = false;
};

/// One sender per sendable channel: a thin shell over `outbound::send_scheduler`. Accepts
/// `outbound_send` (stores, queues, replies `send_accepted`), encodes each due message with the
/// channel's adapter, submits it to the shared HTTP client (never blocking) or, where the gateway
/// is the platform, stores the message's event through `emit_events` instead, applies the
/// platform's rate limits and retries, writes each state change through the outbox writer and
/// emits `outbound.status` events (sent, failed) through `emit_events`. At start it resumes the
/// channel's unfinished messages from the outbox (a message found `sending` is sent again:
/// at-least-once). A monitored child of its tenant `parent`, which forwards `store_atom` /
/// `outbox_atom` when those writers restart; it monitors the parent and stops when it goes.
sender_actor spawn_sender_actor(caf::local_actor* parent, sender_init init);

}  // namespace sb::actors

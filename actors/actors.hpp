#pragma once

// Spawn functions of the actor kinds (CAF). Each actor is a thin shell over a plain class:
// channel_logic, conversation_state, restart_policy, store::event_log.

#include <functional>
#include <memory>
#include <string>

#include "actors/channel.hpp"
#include "actors/channel_logic.hpp"
#include "actors/conversation.hpp"
#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/store_writer.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/settings.hpp"
#include "privacy/consent.hpp"
#include "store/outbox.hpp"
#include "store/stores.hpp"

namespace sb::actors {

namespace privacy_jobs {
class job_pool;
}

/// Finds an adapter by channel type (`adapters::find` in production; tests may add types).
using adapter_lookup = std::function<const adapters::adapter_info*(std::string_view)>;

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

/// Everything a tenant actor is built from.
struct tenant_init {
  std::shared_ptr<const config::config> cfg;
  std::size_t tenant_index = 0;  ///< into cfg->tenants
  store::stores stores;          ///< the gateway's (store/stores.hpp)
  store_writer_actor store;
  adapter_lookup adapters;
  actor_settings settings;
  std::shared_ptr<delivery::http_client> http;  ///< for push subscribers; null = none spawned
  delivery::settings delivery;
  bool store_blocks = false;  ///< the log's writes block on disk (subscribers run detached)
  /// The gateway's consent registry (privacy/consent.hpp): read per event by pulls, streams
  /// and push subscribers; written by opt-out/opt-in keywords and the consent API. Never null
  /// in a tenant started by the gateway.
  std::shared_ptr<privacy::consent_registry> consents;
  /// The gateway's privacy workers (actors/privacy_jobs.hpp), made once by the root and shared
  /// by every tenant; null = privacy and consent jobs are refused (503).
  std::shared_ptr<privacy_jobs::job_pool> privacy_jobs;
  /// The outbox (store/outbox.hpp); null = no outbound sends (no senders are spawned).
  std::shared_ptr<store::outbox> outbox;
  bool outbox_blocks = false;  ///< the outbox's writes block on disk (its writer runs detached)
  sender_settings senders;     ///< knobs of every sender of the tenant
};

// Spawn functions: each actor kind's state type stays inside its .cpp. Children spawned by a
// parent are monitored by it (the parent restarts or forgets them on `down_msg`).

/// Supervises a tenant's channels, conversations and live streams; routes webhooks and reads.
caf::actor spawn_tenant_actor(caf::event_based_actor* parent, tenant_init init);

/// One SSE connection: reads the log after its cursor, one batch in flight at a time. Not a
/// child: it registers with (and monitors) `tenant`, which stops it on shutdown. Each event is
/// checked against the subject's current consent (`consents`, null = the defaults) for a
/// subscriber serving `purposes`; an event that may not reach it is skipped (the cursor moves
/// past it).
caf::actor spawn_stream_actor(caf::actor_system& sys, std::shared_ptr<store::event_log> log,
                              stream_request req, caf::actor tenant,
                              std::shared_ptr<const privacy::consent_registry> consents,
                              privacy::purpose_set purposes);

/// Stores events the gateway makes itself (consent.changed, privacy.*, outbound.status) through
/// the store writer `store`, then announces the new ones to `tenant` (`commit_atom`) exactly as
/// a webhook's, so streams, pull and push see them. Stamps what is unset: `id`, `received_at`,
/// `occurred_at` (= received_at). `done` runs in `self`'s context with the stored events (seq
/// set; duplicates by dedupe_key dropped) or the error (store gone, shed, timeout): the caller
/// decides whether to answer 503. Events without `dedupe_key` are never deduplicated.
void emit_events(caf::event_based_actor* self, const store_writer_actor& store,
                 const caf::actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done);

/// What a push subscriber actor is built from.
struct subscriber_init {
  std::string tenant;
  config::subscriber_config sub;          ///< has `push`
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::delivery_store> delivery;  ///< cursor, dead letters; null = none
  std::shared_ptr<delivery::http_client> http;
  delivery::settings settings;
  /// Consent checked per event before it is queued, again before each attempt and before a
  /// dead letter is written (null = the defaults); the purposes are `sub.purposes`.
  std::shared_ptr<const privacy::consent_registry> consents;
};

/// One push subscriber (docs/delivery.md): reads the log after its durable cursor, signs and
/// POSTs each event with retries, per-conversation order, dead letters and redrive. A child of
/// its tenant, which sends it `head_atom` on commits. `detached` (own OS thread) when the
/// store's writes block on disk, so cursor and dead-letter writes never hold a scheduler thread.
caf::actor spawn_subscriber_actor(caf::event_based_actor* parent, subscriber_init init,
                                  bool detached);

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
  sender_settings settings;
};

/// One sender per sendable channel (docs/outbound.md "Delivery engine"): a thin shell over
/// `outbound::send_scheduler`. Accepts `outbound_send` (stores, queues, replies
/// `send_accepted`), encodes each due message with the channel's adapter, submits it to the
/// shared HTTP client (never blocking), applies the platform's rate limits and retries, writes
/// each state change through the outbox writer and emits `outbound.status` events (sent,
/// failed) through `emit_events`. At start it resumes the channel's unfinished messages from the
/// outbox (a message found `sending` is sent again: at-least-once). A child of its tenant, which
/// forwards `store_atom` / `outbox_atom` when those writers restart.
caf::actor spawn_sender_actor(caf::event_based_actor* parent, sender_init init);

/// Renders stored events as SSE frames ("id: <seq>\nevent: <type>\ndata: <json>\n\n").
std::string sse_frames(const std::vector<store::stored_event>& events);

}  // namespace sb::actors

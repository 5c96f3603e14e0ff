#pragma once

// Spawn functions of the actor kinds (CAF). Each actor is a thin shell over a plain class:
// channel_logic, conversation_state, restart_policy, store::event_log.

#include <functional>
#include <memory>
#include <string>

#include "actors/channel.hpp"
#include "actors/channel_logic.hpp"
#include "actors/conversation.hpp"
#include "actors/history_reader.hpp"
#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/privacy_worker.hpp"
#include "actors/sender_actor.hpp"
#include "actors/store_writer.hpp"
#include "actors/stream_actor.hpp"
#include "actors/subscriber_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/settings.hpp"
#include "privacy/consent.hpp"
#include "store/outbox.hpp"
#include "store/stores.hpp"

namespace sb::actors {

// Spawn functions: each actor kind's state type stays inside its .cpp. Children spawned by a
// parent are monitored by it (the parent restarts or forgets them on `down_msg`).

/// One channel as a monitored child of its tenant `parent`: verify, parse, stamp, store,
/// answer. `tenant` (the parent's handle) hears of every commit (`commit_atom`).
channel_actor spawn_channel_actor(caf::local_actor* parent, std::shared_ptr<channel_logic> logic,
                                  store_writer_actor store, tenant_actor tenant,
                                  actor_settings settings);

/// One SSE connection: reads the log after its cursor, one batch in flight at a time. Not a
/// child: it registers with (and monitors) `tenant`, which stops it on shutdown. Each event is
/// checked against the subject's current consent (`consents`, null = the defaults) for a
/// subscriber serving `purposes`; an event that may not reach it is skipped (the cursor moves
/// past it). What the log answers from memory (`read_cached`: its live tail) is read on the
/// stream's own thread; the rest goes to `history` (actors/history_reader.hpp).
stream_actor spawn_stream_actor(caf::actor_system& sys, std::shared_ptr<store::event_log> log,
                                stream_request req, tenant_actor tenant,
                                std::shared_ptr<const privacy::consent_registry> consents,
                                privacy::purpose_set purposes, history_reader_actor history);

/// Stores events the gateway makes itself (consent.changed, privacy.*, outbound.status) through
/// the store writer `store`, then announces the new ones to `tenant` (`commit_atom`) exactly as
/// a webhook's, so streams, pull and push see them. Stamps what is unset: `id`, `received_at`,
/// `occurred_at` (= received_at). `done` runs in `self`'s context with the stored events (seq
/// set; duplicates by dedupe_key dropped) or the error (store gone, shed, timeout): the caller
/// decides whether to answer 503. Events without `dedupe_key` are never deduplicated. One
/// overload per kind of actor that emits (a privacy worker, a sender, the tenant).
void emit_events(privacy_worker_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done);
void emit_events(sender_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done);
void emit_events(tenant_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done);

/// What a typed actor of interface `Handle` returns when it quit while starting: no behavior (a
/// typed behavior cannot be built empty otherwise).
template <class Handle>
typename Handle::behavior_type no_behavior() {
  return {typename Handle::behavior_type::unsafe_init{}, caf::behavior{}};
}

}  // namespace sb::actors

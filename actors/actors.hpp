#pragma once

// Spawn functions of the actor kinds (CAF). Each actor is a thin shell over a plain class:
// channel_logic, conversation_state, restart_policy, store::event_log.

#include <functional>
#include <memory>
#include <string>

#include "actors/channel_logic.hpp"
#include "actors/messages.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/settings.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// Finds an adapter by channel type (`adapters::find` in production; tests may add types).
using adapter_lookup = std::function<const adapters::adapter_info*(std::string_view)>;

/// Everything a tenant actor is built from.
struct tenant_init {
  std::shared_ptr<const config::config> cfg;
  std::size_t tenant_index = 0;  ///< into cfg->tenants
  std::shared_ptr<store::event_log> log;
  caf::actor store;
  adapter_lookup adapters;
  actor_settings settings;
  std::shared_ptr<delivery::http_client> http;  ///< for push subscribers; null = none spawned
  delivery::settings delivery;
  bool store_blocks = false;  ///< the log's writes block on disk (subscribers run detached)
};

// Spawn functions: each actor kind's state type stays inside its .cpp. Children spawned by a
// parent are monitored by it (the parent restarts or forgets them on `down_msg`).

/// Group-commits appends into `log`; answers each `append_job` once its batch is committed.
/// `detached`: on its own OS thread, for logs whose appends block on the disk.
caf::actor spawn_store_writer(caf::event_based_actor* parent,
                              std::shared_ptr<store::event_log> log, bool detached);

/// Supervises a tenant's channels, conversations and live streams; routes webhooks and reads.
caf::actor spawn_tenant_actor(caf::event_based_actor* parent, tenant_init init);

/// One channel: verify, parse, stamp, store, answer.
caf::actor spawn_channel_actor(caf::event_based_actor* parent, std::shared_ptr<channel_logic> logic,
                               caf::actor store, caf::actor tenant, actor_settings settings);

/// One conversation, spawned on its first event, gone after `idle` without messages.
caf::actor spawn_conversation_actor(caf::event_based_actor* parent, std::string key,
                                    std::chrono::milliseconds idle);

/// One SSE connection: reads the log after its cursor, one batch in flight at a time. Not a
/// child: it registers with (and monitors) `tenant`, which stops it on shutdown.
caf::actor spawn_stream_actor(caf::actor_system& sys, std::shared_ptr<store::event_log> log,
                              stream_request req, caf::actor tenant);

/// Stores events the gateway makes itself (consent.changed, privacy.*, outbound.status) through
/// the store writer `store`, then announces the new ones to `tenant` (`commit_atom`) exactly as
/// a webhook's, so streams, pull and push see them. Stamps what is unset: `id`, `received_at`,
/// `occurred_at` (= received_at). `done` runs in `self`'s context with the stored events (seq
/// set; duplicates by dedupe_key dropped) or the error (store gone, shed, timeout): the caller
/// decides whether to answer 503. Events without `dedupe_key` are never deduplicated.
void emit_events(caf::event_based_actor* self, const caf::actor& store, const caf::actor& tenant,
                 std::vector<event> events, std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done);

/// What a push subscriber actor is built from.
struct subscriber_init {
  std::string tenant;
  config::subscriber_config sub;          ///< has `push`
  std::shared_ptr<store::event_log> log;  ///< also its `delivery_store` (cursor, dead letters)
  std::shared_ptr<delivery::http_client> http;
  delivery::settings settings;
};

/// One push subscriber (docs/delivery.md): reads the log after its durable cursor, signs and
/// POSTs each event with retries, per-conversation order, dead letters and redrive. A child of
/// its tenant, which sends it `head_atom` on commits. `detached` (own OS thread) when the
/// store's writes block on disk, so cursor and dead-letter writes never hold a scheduler thread.
caf::actor spawn_subscriber_actor(caf::event_based_actor* parent, subscriber_init init,
                                  bool detached);

/// Renders stored events as SSE frames ("id: <seq>\nevent: <type>\ndata: <json>\n\n").
std::string sse_frames(const std::vector<store::stored_event>& events);

}  // namespace sb::actors

#pragma once

// The tenant actor's interface: one per configured tenant, the supervisor of its channels,
// conversations, push subscribers, senders, outbox writer and live streams.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "actors/channel.hpp"
#include "actors/conversation.hpp"
#include "actors/history_reader.hpp"
#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/sender_actor.hpp"
#include "actors/store_writer.hpp"
#include "actors/stream_actor.hpp"
#include "actors/subscriber_actor.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/settings.hpp"
#include "privacy/consent.hpp"
#include "store/outbox.hpp"
#include "store/pg/lease.hpp"
#include "store/stores.hpp"

namespace sb::actors {

namespace privacy_jobs {
class job_pool;
}

/// tenant -> itself (`settle_atom`): the settle tick (actors/tenant.cpp: a commit that did not
/// arrive one tick after its events were stored is given up on).
using settle_atom = caf::atom_constant<caf::atom("settle")>;
/// tenant -> itself (`fanout_atom`): the announcement to the live streams held back so that
/// they hear at most one per interval (actors/tenant.cpp, `stream_announce_interval`).
using fanout_atom = caf::atom_constant<caf::atom("fanout")>;
/// the gateway's replica follower -> tenant (`replica_atom`, replica_commits): every event of the
/// tenant up to `through` is committed, by this replica or another one sharing its PostgreSQL,
/// and the consent changes among them are applied here (privacy/replicas.hpp): it may be
/// announced; live conversations hear of the messages that open their window.
using replica_atom = caf::atom_constant<caf::atom("replica")>;

// The leases' names: the same the stores fence their writes with (store/pg/lease.hpp).
using store::pg::push_lease;
using store::pg::sender_lease;

/// A tenant, in pseudo-code:
///
///   interface tenant {
///     // From the HTTP bridge; each answered through the message's responder.
///     (webhook_atom, webhook_msg) -> void          // to its channel (or a privacy webhook)
///     (read_atom, read_msg) -> void                // GET /v1/events, on a one-shot reader
///     (api_atom, api_msg) -> void                  // a backend or platform API call
///     (deadlist_atom, dead_letters_query) -> void  // to the named push subscriber
///     (redrive_atom, redrive_request) -> void      // to the named push subscriber
///     // Newly stored events (channels, `emit_events`): consent keywords, streams, push,
///     // conversations, outbound state.
///     (commit_atom, committed_msg) -> void
///     // The same for a request holding an opt-out/opt-in keyword, plus its duplicates: true
///     // once the consent change is durable (the channel acknowledges the webhook only then).
///     (commit_atom, save_atom, committed_msg fresh, committed_msg duplicates) -> bool
///     // The root restarted the store writer: use this one (forwarded to channels, senders).
///     (store_atom, store_writer_actor) -> void
///     // The root made the gateway's outbox writer (the first sendable channel of a reload) or
///     // restarted it: use this one (forwarded to senders).
///     (outbox_atom, outbox_writer_actor) -> void
///     // A reconfigure (actors/reconfigure.hpp): run with the config's entry of this tenant from
///     // now on, without restarting: channels added, removed, or handed a new logic in their
///     // mailbox order; push subscribers and senders added, removed, or replaced (a replaced
///     // one resumes from its stored cursor / the outbox); conversations and open streams are
///     // kept. True once applied; false when the config has no such tenant (nothing changed).
///     (reconfig_atom, reconfigure_msg) -> bool
///     // A live stream wants head notifications (monitored; answered with `head_atom`).
///     (register_atom, stream_actor) -> void
///     // A web chat visitor's stream of one conversation (actors/visitor_stream.hpp): kept by
///     // conversation, woken (`head_atom`) only by that conversation's announced commits,
///     // stopped when its subject is erased (monitored; answered with `head_atom`).
///     (register_atom, visitor_atom, std::string conversation, std::string subject,
///      stream_actor) -> void
///     // Subjects were erased (a privacy job): senders forget them, the outbox drops their rows,
///     // push subscribers their events in memory; the number of events dropped from memory.
///     (erased_atom, erased_notice) -> uint64_t
///     // Outbox tasks of the receipt correlation: receipts found, and those to look up again.
///     (receipts_atom, resolved_receipts) -> void
///     (receipts_atom, pending_receipts) -> void
///     // Introspection for tests and operations (an error when there is none).
///     (stats_atom) -> tenant_stats
///     (push_stats_atom, std::string subscriber) -> subscriber_stats
///     (find_chan_atom, std::string channel) -> channel_actor
///     (find_conv_atom, std::string key) -> conversation_actor
///     (find_push_atom, std::string subscriber) -> subscriber_actor
///     (find_send_atom, std::string channel) -> sender_actor
///     // Internal: the settle tick; the second step of an erasure; restarts of a crashed
///     // channel, sender or push subscriber (after its back-off).
///     (settle_atom) -> void
///     // Web chat: a visitor's stream delivered, or the widget showed, the agent's messages.
///     (visitor_atom, visitor_receipt) -> void
///     // Several replicas: other replicas' commits up to a seq are applied here (see above).
///     (replica_atom, replica_commits) -> void
///     // Several replicas: this one got or lost the lease on a subscriber's push delivery.
///     (lease_atom, push_atom, std::string subscriber, bool held) -> void
///     // ... or the lease on a channel's sender (true again: another replica stored messages
///     // for it); forwarded to the sender.
///     (lease_atom, send_atom, std::string channel, bool held) -> void
///     (erased_atom, forget_atom, erased_notice) -> uint64_t
///     (restart_atom, std::string channel) -> void
///     (restart_atom, send_atom, std::string channel) -> void
///     (restart_atom, push_atom, std::string subscriber) -> void
///   }
///
/// A monitored child of the root, which restarts it; the bridge finds the current one by tenant
/// id (gateway.cpp's registry).
using tenant_actor = caf::typed_actor<
    caf::reacts_to<webhook_atom, webhook_msg>, caf::reacts_to<read_atom, read_msg>,
    caf::reacts_to<api_atom, api_msg>, caf::reacts_to<deadlist_atom, dead_letters_query>,
    caf::reacts_to<redrive_atom, redrive_request>, caf::reacts_to<commit_atom, committed_msg>,
    caf::replies_to<commit_atom, save_atom, committed_msg, committed_msg>::with<bool>,
    caf::reacts_to<store_atom, store_writer_actor>,
    caf::reacts_to<outbox_atom, outbox_writer_actor>,
    caf::replies_to<reconfig_atom, reconfigure_msg>::with<bool>,
    caf::reacts_to<register_atom, stream_actor>,
    caf::reacts_to<register_atom, visitor_atom, std::string, std::string, stream_actor>,
    caf::replies_to<erased_atom, erased_notice>::with<std::uint64_t>,
    caf::reacts_to<receipts_atom, resolved_receipts>,
    caf::reacts_to<receipts_atom, pending_receipts>,
    caf::replies_to<stats_atom>::with<tenant_stats>,
    caf::replies_to<push_stats_atom, std::string>::with<subscriber_stats>,
    caf::replies_to<find_chan_atom, std::string>::with<channel_actor>,
    caf::replies_to<find_conv_atom, std::string>::with<conversation_actor>,
    caf::replies_to<find_push_atom, std::string>::with<subscriber_actor>,
    caf::replies_to<find_send_atom, std::string>::with<sender_actor>, caf::reacts_to<settle_atom>,
    caf::reacts_to<fanout_atom>, caf::reacts_to<visitor_atom, visitor_receipt>,
    caf::reacts_to<replica_atom, replica_commits>,
    caf::reacts_to<lease_atom, push_atom, std::string, bool>,
    caf::reacts_to<lease_atom, send_atom, std::string, bool>,
    caf::replies_to<erased_atom, forget_atom, erased_notice>::with<std::uint64_t>,
    caf::reacts_to<restart_atom, std::string>, caf::reacts_to<restart_atom, send_atom, std::string>,
    caf::reacts_to<restart_atom, push_atom, std::string>>;

/// Finds an adapter by channel type (`adapters::find` in production; tests may add types).
using adapter_lookup = std::function<const adapters::adapter_info*(std::string_view)>;

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
  /// The gateway's one outbox writer (the root's child, shared by every tenant); null while
  /// there is none yet or it restarts (`outbox_atom` hands over the next).
  outbox_writer_actor outbox_writer;
  sender_settings senders;     ///< knobs of every sender of the tenant
  /// The gateway's catch-up reader: pull pages the live tail cannot answer are read there (as
  /// the streams' catch-up reads). Never null in a tenant started by the gateway.
  history_reader_actor history;
  /// Several replicas: whether this one holds a lease (by name, e.g. `push_lease`). A push
  /// subscriber runs only while its lease is held here. Null = one gateway: it always runs.
  std::function<bool(const std::string&)> holds_lease;
};

/// Supervises a tenant's channels, conversations and live streams; routes webhooks and reads.
/// A monitored child of `parent`.
tenant_actor spawn_tenant_actor(caf::local_actor* parent, tenant_init init);

}  // namespace sb::actors

#pragma once

// The messages actors exchange, in one place, one comment each. Every payload is an owned value
// (no views into parser buffers, no raw pointers). They never leave the process, so they are
// declared local-only (CAF_ALLOW_UNSAFE_MESSAGE_TYPE) instead of serializable.

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/gateway.hpp"
#include "delivery/planner.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

// -- atoms (CAF 0.17: at most 10 characters) --------------------------------------------------

using webhook_atom = caf::atom_constant<caf::atom("webhook")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using quarant_atom = caf::atom_constant<caf::atom("quarant")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using head_atom = caf::atom_constant<caf::atom("head")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using written_atom = caf::atom_constant<caf::atom("written")>;
using pump_atom = caf::atom_constant<caf::atom("pump")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// root -> tenant -> channel (`store_atom`, caf::actor): the store writer was restarted; use this.
using store_atom = caf::atom_constant<caf::atom("store")>;
/// bridge -> tenant, or -> root when the call names no tenant (`api_atom`, api_msg).
using api_atom = caf::atom_constant<caf::atom("api")>;

// -- payloads ---------------------------------------------------------------------------------

/// bridge -> tenant -> channel (`webhook_atom`): one HTTP webhook request with its responder.
struct webhook_msg {
  webhook_submission w;
};

/// bridge -> tenant (`read_atom`): a `GET /v1/events` query with its responder.
struct read_msg {
  events_query q;
};

/// bridge -> tenant or root (`api_atom`): one `api_call` (gateway.hpp) with its responder.
struct api_msg {
  api_call c;
};

/// channel -> store_writer (`append_atom`, request): one request's events, all-or-nothing.
/// Reply: `append_reply`.
struct append_job {
  store::append_request req;
};

/// store_writer -> channel: the events with `seq` set, and what became of each.
struct append_reply {
  std::vector<event> events;
  std::vector<store::append_outcome> outcomes;
  /// Nothing was stored: the writer's backlog was past its high-water mark (load shedding).
  /// The channel answers 503 `overloaded` with Retry-After; `events` and `outcomes` are empty.
  bool shed = false;
};

/// channel -> store_writer (`quarant_atom`, request): keep an unparseable body. Reply: its id.
struct quarantine_job {
  store::quarantined_body body;
};

/// channel -> tenant (`commit_atom`): newly stored (non-duplicate) events of one request, in seq
/// order, for the conversations and the live streams.
struct committed_msg {
  std::vector<event> events;
};

/// tenant -> conversation (`event_atom`): what a conversation needs to know of a stored event.
struct conversation_event {
  std::uint64_t seq = 0;
  std::string type;
  bool inbound = true;  ///< from the person (not an echo or a status)
  timestamp occurred_at;
};

/// stream -> tenant (`register_atom`): a live SSE stream wants head notifications.
/// tenant -> stream (`head_atom`, uint64): the tenant's stream grew to this seq.
/// stream -> itself (`written_atom`): the sink wrote the last batch. (`pump_atom`): read more.

/// tenant -> asker (`stats_atom`): sizes, for tests and metrics.
struct tenant_stats {
  std::size_t channels = 0;
  std::size_t conversations = 0;
  std::size_t streams = 0;
  std::uint64_t channel_restarts = 0;
  std::uint64_t conversation_restarts = 0;
};

/// Knobs shared by a tenant's actors, from the config.
struct actor_settings {
  std::size_t mailbox_high_water = 10000;
  std::chrono::milliseconds conversation_idle{std::chrono::minutes{10}};
  std::chrono::milliseconds store_timeout{std::chrono::seconds{10}};
};

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::webhook_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::read_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::api_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::append_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::append_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::quarantine_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::committed_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::conversation_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::tenant_stats)

// -- push delivery (subscriber actors, docs/delivery.md) ---------------------------------------

namespace sb::actors {

using sent_atom = caf::atom_constant<caf::atom("sent")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using save_atom = caf::atom_constant<caf::atom("save")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using deadlist_atom = caf::atom_constant<caf::atom("deadlist")>;
using redrive_atom = caf::atom_constant<caf::atom("redrive")>;

/// tenant -> subscriber (`head_atom`, uint64): the tenant's stream grew to this seq.
/// subscriber -> itself: (`pump_atom`) read more; (`retry_atom`, ticket) a retry is due;
/// (`save_atom`) the cursor-save timer fired. tenant -> itself (`restart_atom`, `push_atom`,
/// name): restart a crashed subscriber.

/// HTTP client thread -> subscriber (`sent_atom`): how one delivery attempt ended.
struct delivery_done {
  std::uint64_t ticket = 0;
  delivery::attempt_result result;
  bool cancelled = false;  ///< the client stopped before the attempt finished: not counted
};

/// bridge -> tenant -> subscriber (`deadlist_atom`): list dead letters with id > `after`.
/// Answered through `reply` with {"dead_letters":[...],"next":<last id>}.
struct dead_letters_query {
  std::string tenant;
  std::string subscriber;
  std::uint64_t after = 0;
  std::size_t limit = 100;
  responder_ptr reply;
};

/// bridge -> tenant -> subscriber (`redrive_atom`): send dead letters again (and re-enable a
/// subscriber disabled by a 410). Answered 202 with what was taken.
struct redrive_request {
  std::string tenant;
  std::string subscriber;
  bool all = false;                ///< every dead letter (up to the redrive bound)
  std::vector<std::uint64_t> ids;  ///< when not `all`
  responder_ptr reply;
};

/// subscriber -> asker (`stats_atom`); tenant (`stats_atom`, name) delegates to the subscriber.
struct subscriber_stats {
  bool disabled = false;     ///< a 410 stopped delivery (until redrive or restart)
  std::uint64_t cursor = 0;  ///< every event up to here is done
  std::uint64_t saved_cursor = 0;
  std::uint64_t attempts = 0;  ///< requests started
  std::uint64_t delivered = 0;
  std::uint64_t retries = 0;  ///< failed attempts that were rescheduled
  std::uint64_t dead_lettered = 0;
  std::uint64_t redriven = 0;  ///< dead letters taken for redrive
  std::size_t in_flight = 0;   ///< attempts running now
  std::size_t tracked = 0;     ///< events held (window + redrive)
  std::string last_error;      ///< of the last failed attempt; "" if none
};

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::delivery_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::dead_letters_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::redrive_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::subscriber_stats)

#pragma once

// The messages actors exchange, in one place, one comment each. Every payload is an owned value
// (no views into parser buffers, no raw pointers). They never leave the process, so they are
// declared local-only (CAF_ALLOW_UNSAFE_MESSAGE_TYPE) instead of serializable.

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/gateway.hpp"
#include "delivery/http_client.hpp"
#include "delivery/planner.hpp"
#include "outbound/status_correlation.hpp"
#include "store/event_log.hpp"
#include "store/outbox.hpp"

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
/// asker -> an actor (`stats_atom`; request): its counters, for tests and operations. Each
/// interface that has it says the reply's type (one per actor kind).
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// tests/operations -> tenant (request): the current actor of a channel (`find_chan_atom`,
/// name), a live conversation (`find_conv_atom`, key), a push subscriber (`find_push_atom`,
/// name) or a sender (`find_send_atom`, channel); an error when there is none.
using find_chan_atom = caf::atom_constant<caf::atom("findchan")>;
using find_conv_atom = caf::atom_constant<caf::atom("findconv")>;
using find_push_atom = caf::atom_constant<caf::atom("findpush")>;
using find_send_atom = caf::atom_constant<caf::atom("findsend")>;
/// tests/operations -> tenant (`push_stats_atom`, name; request): the named push subscriber's
/// `subscriber_stats`, asked of it.
using push_stats_atom = caf::atom_constant<caf::atom("pushstats")>;
/// tests/operations -> root (request): the current store writer (`find_store_atom`), outbox
/// writer (`find_outbox_atom`) or retention sweeper (`find_sweep_atom`); an error while it
/// restarts (or, for the outbox writer, when the gateway has no outbox).
using find_store_atom = caf::atom_constant<caf::atom("findstore")>;
using find_outbox_atom = caf::atom_constant<caf::atom("findoutbox")>;
using find_sweep_atom = caf::atom_constant<caf::atom("findsweep")>;
/// root -> tenant -> channel (`store_atom`, store_writer_actor): the store writer was restarted;
/// use this.
using store_atom = caf::atom_constant<caf::atom("store")>;
/// bridge -> tenant, or -> root when the call names no tenant (`api_atom`, api_msg).
using api_atom = caf::atom_constant<caf::atom("api")>;
/// privacy job -> tenant -> push subscribers (`erased_atom`, erased_notice; request): subjects
/// were erased. Reply: uint64, the window events dropped.
using erased_atom = caf::atom_constant<caf::atom("erased")>;
/// tests/operations -> sweeper (`sweep_atom`; request): sweep now. Reply: sweep_report.
/// sweeper -> itself (`tick_atom`): the periodic sweep is due.
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

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
  /// The webhook's responder, when there is one: the writer marks its commit's start and end on
  /// it (`responder::moment`). Never answered by the writer.
  responder_ptr timeline;
};

/// store_writer -> channel: the events with `seq` set, and what became of each.
struct append_reply {
  std::vector<event> events;
  std::vector<store::append_outcome> outcomes;
  /// Nothing was stored: the writer's backlog was past its high-water mark (load shedding).
  /// The channel answers 503 `overloaded` with Retry-After; `events` and `outcomes` are empty.
  bool shed = false;
};

/// channel -> store_writer (`quarant_atom`, request): keep an unparseable body. Reply: its id,
/// or `quarantine_full_error()` when its channel's quota (`limits.quarantine_bytes_per_channel`)
/// is used up (nothing written: answer 503 `quarantine_full` with Retry-After), or another error
/// when the write failed.
struct quarantine_job {
  store::quarantined_body body;
};

/// The error a store writer answers a `quarantine_job` with when the channel's quota is used up.
inline caf::error quarantine_full_error() {
  return caf::error(1, caf::atom("quarfull"));
}

inline bool is_quarantine_full(const caf::error& e) {
  return e.category() == caf::atom("quarfull");
}

/// How long a platform is asked to wait (Retry-After, seconds) when a quarantine is full: long
/// enough not to hammer the gateway, short enough that a purge takes effect soon.
inline constexpr int k_quarantine_full_retry_after_s = 60;

/// quarantine API job -> channel (`reingest_atom`): parse a quarantined body again with the
/// channel's adapter, without verifying it again (it was verified when it arrived; the secret
/// may have been rotated since), and store its events exactly as a webhook's. Answered through
/// `reply` as a webhook would be: 200 {"status":"ok","events":n,"duplicates":d}, 400
/// `malformed_body` with the parser's message when it still does not parse, 503 when the store
/// did not confirm.
using reingest_atom = caf::atom_constant<caf::atom("reingest")>;
struct reingest_msg {
  std::vector<adapters::header> headers;
  std::string body;  ///< capacity >= size + 64 (simdjson padding)
  responder_ptr reply;
};

/// channel -> tenant (`commit_atom`): newly stored (non-duplicate) events of one request, in seq
/// order, for the conversations and the live streams.
struct committed_msg {
  std::vector<event> events;
};

/// tenant -> conversation (`window_atom`, outbox_writer_actor; request): the person's last
/// inbound message of the conversation, Unix ms (0 = none known), after restoring it from the
/// outbox writer's store (null writer: from memory only). Reply: int64, or an error when the
/// restore failed (answer 503). conversation -> itself (`restored_atom`, uint64 which, int64
/// ms): the restore's answer (ms < 0: failed or timed out).
using window_atom = caf::atom_constant<caf::atom("window")>;
using restored_atom = caf::atom_constant<caf::atom("restored")>;

/// tenant -> conversation (`evict_atom`): stop, to make room for another conversation
/// (limits.conversations_per_tenant); after answering a window query in progress, if any. The
/// tenant no longer routes to it.
using evict_atom = caf::atom_constant<caf::atom("evict")>;

/// tenant -> conversation (`event_atom`): what a conversation needs to know of a stored event.
struct conversation_event {
  std::uint64_t seq = 0;
  std::string type;
  bool inbound = true;  ///< from the person (not an echo or a status)
  timestamp occurred_at;
};

/// stream -> tenant (`register_atom`, stream_actor): a live SSE stream wants head
/// notifications; the tenant answers with `head_atom` at once.
/// tenant -> stream (`head_atom`, uint64): the announced head: the stream may read up to this
/// seq (every event up to it is committed and its consent change applied).
/// tenant -> itself (`settle_atom`, actors/tenant_actor.hpp): the settle tick.
/// stream -> itself (`written_atom`): the sink wrote the last batch. (`pump_atom`): read more.

/// visitor stream -> tenant (`visitor_atom`, visitor_receipt): web chat receipts. The
/// visitor's stream wrote the agent's messages `message_ids` (their events' ids, the platform
/// message ids the webchat sender recorded) to the visitor's connection ("delivered"), or the
/// widget showed them ("read", from `POST /chat/{tenant}/{channel}/read`). The tenant stores
/// them as `status` events of the channel, which the receipt correlation turns into
/// `outbound.status` (docs/webchat.md).
using visitor_atom = caf::atom_constant<caf::atom("visitor")>;
struct visitor_receipt {
  std::string channel;       ///< the webchat channel's name
  std::string conversation;  ///< "<channel>:<visitor>"
  std::string visitor;       ///< the visitor id (the events' `peer`, `subject_source`)
  std::string state;         ///< "delivered" or "read"
  std::vector<std::string> message_ids;
};

/// tenant -> asker (`stats_atom`): sizes, for tests and metrics.
struct tenant_stats {
  std::size_t channels = 0;
  std::size_t conversations = 0;
  std::size_t streams = 0;
  std::uint64_t channel_restarts = 0;
  std::uint64_t conversation_restarts = 0;
  std::uint64_t head = 0;  ///< the announced head: readers see events up to here
};

/// privacy job -> tenant -> subscriber (`erased_atom`): these subjects of `tenant` were erased
/// from the store; every event of theirs with seq <= `through_seq` is gone and must not be
/// delivered from memory either (later events: the person wrote again).
struct erased_notice {
  std::string tenant;
  std::vector<std::string> subjects;
  std::uint64_t through_seq = 0;
};

/// sweeper -> asker (`sweep_atom`): what one retention sweep deleted, over every tenant.
struct sweep_report {
  std::uint64_t events = 0;
  std::uint64_t dedupe_keys = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t outbound = 0;     ///< finished outbound messages deleted from the outbox
  std::size_t tenants_swept = 0;  ///< tenants whose expiry ran without error
  std::size_t failures = 0;       ///< tenants whose expiry failed (logged, audited)
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::reingest_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::committed_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::conversation_event)

namespace sb::actors {
/// Several replicas: what the follower read of the events committed up to `through`, for the
/// tenant actor (`replica_atom`): the person's messages that open a conversation's 24-hour window,
/// for the conversation actors alive here (a conversation started later restores its window from
/// the outbox).
struct replica_commits {
  std::uint64_t through = 0;
  std::vector<std::pair<std::string, conversation_event>> windows;  ///< conversation key, event
  /// Conversation key and seq of every `message` event among them (web chat visitor streams of
  /// those conversations are woken), and whether an erasure was among them (visitor streams of
  /// an erased subject end).
  std::vector<std::pair<std::string, std::uint64_t>> messages;
  bool erasures = false;
};
}  // namespace sb::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::replica_commits)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::tenant_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::erased_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::visitor_receipt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::sweep_report)

// -- push delivery (subscriber actors, docs/delivery.md) ---------------------------------------

namespace sb::actors {

using sent_atom = caf::atom_constant<caf::atom("sent")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using save_atom = caf::atom_constant<caf::atom("save")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using deadlist_atom = caf::atom_constant<caf::atom("deadlist")>;
using redrive_atom = caf::atom_constant<caf::atom("redrive")>;

/// tenant -> subscriber (`head_atom`, uint64): the announced head: read up to this seq (sent
/// at spawn and on every announcement).
/// subscriber -> itself: (`pump_atom`) read more; (`retry_atom`, ticket) a retry is due;
/// (`save_atom`) the cursor-save timer fired. tenant -> itself (`restart_atom`, `push_atom`,
/// name): restart a crashed subscriber.

/// HTTP client thread -> subscriber (`sent_atom`): how one delivery attempt ended.
struct delivery_done {
  std::uint64_t ticket = 0;
  delivery::attempt_result result;
  bool cancelled = false;  ///< the client stopped before the attempt finished: not counted
  /// Why no response arrived (`result.status` 0), for the log line of the attempt.
  delivery::failure_cause cause = delivery::failure_cause::none;
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

/// bridge -> tenant -> subscriber (`enable_atom`): `POST /v1/subscribers/{name}/enable`. The
/// subscriber removes its durable 410 record and resumes delivery from its cursor; answered 200
/// {"subscriber":name,"enabled":true,"was_disabled":bool,"disabled_since"?,"reason"?}.
using enable_atom = caf::atom_constant<caf::atom("enable")>;
struct enable_request {
  std::string subscriber;
  responder_ptr reply;
};

/// subscriber -> asker (`stats_atom`); tenant (`push_stats_atom`, name) asks the subscriber.
struct subscriber_stats {
  bool disabled = false;     ///< a 410 stopped delivery (durably: until enabled or redriven)
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::enable_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::subscriber_stats)

// -- outbound sends (sender actors and the outbox writer, docs/outbound.md "Delivery engine") ---

namespace sb::actors {

using send_atom = caf::atom_constant<caf::atom("send")>;
using outbox_atom = caf::atom_constant<caf::atom("outbox")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using task_atom = caf::atom_constant<caf::atom("task")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using rewrite_atom = caf::atom_constant<caf::atom("rewrite")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
/// Several replicas (docs/scale-out.md): the gateway's lease keeper -> tenant, and tenant ->
/// sender: this replica got (true) or lost (false) the lease on a piece of singleton work (a
/// subscriber's push delivery, a channel's sender), which then runs here or stops at once.
using lease_atom = caf::atom_constant<caf::atom("lease")>;

/// API handler -> sender (`send_atom`, request): accept one message for the sender's channel.
/// `record` is complete (id, tenant, channel, conversation, recipient, subject, purpose, message
/// JSON, caller, idempotency_key, created_at; state queued). The sender reserves room in its
/// queue, stores the record durably through the outbox writer, queues it and replies
/// `send_accepted`: answer the API 202 only on `st.ok()`. Never replies with a caf::error except
/// when the sender is gone (request_receiver_down / timeout: answer 503 and let the caller
/// retry; with an Idempotency-Key the retry cannot send twice).
struct outbound_send {
  store::outbound_record record;
};

/// sender -> API handler: how `outbound_send` ended.
struct send_accepted {
  /// ok: durable and queued. `errc::overloaded`: the channel's queue is full (the record was
  /// not stored; answer 503 with Retry-After). `errc::unavailable`: the outbox did not confirm
  /// the write (not stored; 503). `errc::bad_request`: the record is not for this channel.
  status st;
  /// On ok: the stored record, or on an idempotent replay (`created` false) the earlier one,
  /// whose current state the API answers with.
  store::outbound_record record;
  bool created = true;
};

/// sender / API handler -> outbox writer (`write_atom`, request): writes applied in order, in
/// one transaction with whatever else is waiting (group commit). Reply: the same batch with its
/// results filled in and `st` ok, or `st` with the error (nothing of the batch stored).
struct outbox_batch {
  std::vector<store::outbox_write> writes;
  status st;
};

/// anyone -> outbox writer (`task_atom`): runs `run` on the writer's thread with the outbox
/// (reads and rare writes: get, find_by_platform_id, erase_subject, last_inbound, expire), after
/// the writes queued before it are committed. No reply: `run` answers by itself (a responder, or
/// `caf::anon_send` to an actor it captured). It must not block beyond its store calls.
struct outbox_task {
  std::function<void(store::outbox&)> run;
};

/// tenant -> outbox writer (`resolve_atom`, request): what `POST /v1/messages` must know from the
/// outbox before it judges a message (after the writes queued before it are committed). Reply:
/// the same struct with the answers filled in, or `st` with the error of a failed read.
struct outbox_lookup {
  std::string tenant;
  std::string caller;           ///< with `idempotency_key`
  std::string idempotency_key;  ///< "" = no key to look up
  std::string conversation;     ///< a pseudonymous conversation to resolve; "" = none
  std::optional<store::outbound_record> earlier;  ///< out: the message the key created
  std::string peer;  ///< out: the real peer of `conversation` ("" = none known)
  status st;
};

/// HTTP client thread -> sender (`sent_atom`): the platform's answer to one attempt.
struct platform_reply {
  std::uint64_t ticket = 0;
  int status = 0;           ///< HTTP status; 0 = no answer (see `error`)
  std::string body;         ///< capped by the client
  std::string retry_after;  ///< the Retry-After header; "" when absent
  bool has_retry_after = false;
  std::string error;       ///< transport failure text when status is 0
  bool cancelled = false;  ///< the client stopped: not an attempt
  /// Why no answer arrived (status 0): in the log, and in the failure's title.
  delivery::failure_cause cause = delivery::failure_cause::none;
};

/// outbox writer -> sender (`resume_atom`, page): one page of the channel's unfinished messages,
/// read for the start-up resume (`asked` = the page size requested; fewer = the last page).
struct outbox_page {
  std::vector<store::outbound_record> records;
  std::size_t asked = 0;
  status st;
};

/// tenant -> sender (`forget_atom`, subject): the subject was erased; drop its queued messages
/// without sending them (one in flight finishes; its outcome is not written back).
/// tenant -> sender (`store_atom`, store_writer_actor): the event store writer was restarted.
/// root -> tenant -> sender (`outbox_atom`, outbox_writer_actor): the outbox writer was
/// made or restarted.
/// sender -> itself (`resume_atom`): read the next page of unfinished messages.
/// sender -> itself (`rewrite_atom`, batch, tries): a write the outbox writer did not confirm,
/// tried again.
/// sender -> itself (`wake_atom`): a timer for the scheduler's next wakeup fired.

/// sender -> asker (`stats_atom`): counters, for tests and operations.
struct sender_stats {
  std::size_t queued = 0;     ///< messages held (in flight included)
  std::size_t in_flight = 0;  ///< attempts running
  std::uint64_t resumed = 0;  ///< unfinished messages loaded from the outbox at start
  std::uint64_t attempts = 0;
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  std::uint64_t retries = 0;       ///< transient failures rescheduled
  std::uint64_t rate_limited = 0;  ///< rate-limit answers (429, platform codes)
  bool loaded = false;             ///< the start-up resume has finished
};

}  // namespace sb::actors

// -- outbound API (actors/outbound_api.hpp) ---------------------------------------------------

namespace sb::actors {

/// outbox writer task -> tenant (`receipts_atom`): the outbound messages that committed
/// platform receipts are about, as found in the outbox (state before the receipt).
using receipts_atom = caf::atom_constant<caf::atom("receipts")>;

/// tenant -> itself (`receipts_atom`, pending_receipts): look these up again (a receipt that
/// found nothing, once, a little later).
struct resolved_receipts {
  struct found {
    outbound::receipt what;
    store::outbound_record record;
  };
  std::vector<found> items;
  std::vector<outbound::receipt> not_found;  ///< looked up once only, to retry
};

struct pending_receipts {
  std::vector<outbound::receipt> items;
};

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::resolved_receipts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::pending_receipts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::outbound_send)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::send_accepted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::outbox_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::outbox_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::outbox_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::platform_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::outbox_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::sender_stats)

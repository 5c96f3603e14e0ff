#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "http/response.hpp"
#include "store/definitions.hpp"

/// The gateway as the HTTP layer sees it: the one bridge between Beast sessions and the actor
/// system. No CAF type appears here, so HTTP translation units never include CAF headers.
///
/// Threading: every member of `gateway` may be called from any thread (typically Asio I/O
/// threads) and never blocks: requests are turned into actor messages and answered later through
/// a `responder` or a `stream_sink`, on an actor thread. The HTTP layer hops back onto its own
/// strand inside those callbacks.
namespace sb::store {
struct shared_event;  // store/event_log.hpp
}  // namespace sb::store

namespace sb::actors {

/// Events a stream writes at once, shared with every other reader (`store::shared_event`).
using sse_batch = std::vector<std::shared_ptr<const store::shared_event>>;

/// The HTTP layer's response value and the one mapping of `errc` to the wire
/// (http/response.hpp), in the spelling the actors use.
using http_response = http::response;
using http::error_response;
using http::http_status;

/// Answers one HTTP request exactly once, from any thread. If it is destroyed unanswered
/// (the actor that held it crashed, or its message was dropped), it answers 503 `unavailable`
/// with Retry-After: 1, so no request is ever left hanging.
class responder {
 public:
  using callback = std::function<void(http_response)>;
  explicit responder(callback cb);
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  ~responder();

  /// First call wins; later calls are ignored. Thread-safe.
  void answer(http_response r);
  bool answered() const noexcept { return done_.load(std::memory_order_acquire); }

  /// The moments a webhook passes on its way to the store and back, after `made` (this
  /// responder's construction). When every moment is marked, `answer` observes the stages
  /// between them (`metrics::webhook_stage`, `switchboard_webhook_stage_seconds`).
  enum class moment { made, at_tenant, at_channel, sent, commit_start, commit_end, replied };
  /// Marks `m` now. Thread-safe; a moment marked twice keeps the later time.
  void mark(moment m) noexcept;
  /// Marks `m` at `steady_ns` (a `std::chrono::steady_clock` time since its epoch, in ns): the
  /// store writer marks one commit's times on every request it holds.
  void mark(moment m, std::int64_t steady_ns) noexcept;

 private:
  static constexpr std::size_t k_moments = 7;
  void observe_stages(std::int64_t answered_ns) const noexcept;

  std::atomic<bool> done_{false};
  std::atomic<std::int64_t> moments_[k_moments]{};
  callback cb_;
};
using responder_ptr = std::shared_ptr<responder>;

/// A webhook (POST, or the GET handshake) addressed to a configured tenant and channel. The HTTP
/// layer has already checked that both exist and that the body is within limits.
struct webhook_submission {
  std::string tenant;
  std::string channel;
  std::string method;                     ///< "POST" or "GET"
  std::string query;                      ///< raw query string without '?'
  std::vector<adapters::header> headers;  ///< the names the channel type's adapter reads
  std::string body;                       ///< raw bytes, capacity >= size + 64 (simdjson padding)
  responder_ptr reply;
  /// True when the HTTP edge has already verified this request with the channel's adapter
  /// (`adapter::verify` on these very headers and body) and charged the tenant's `rate_limit`:
  /// the channel does not verify it again. False (the default: tests, anything not from the
  /// edge) makes the channel verify as before.
  bool verified = false;
};

/// `GET /v1/events`: the tenant's stream after `after`, at most `limit` events, optionally only
/// the given `types`. Answered with {"events":[...],"next":<seq>}.
struct events_query {
  std::string tenant;
  std::string subscriber;
  std::uint64_t after = 0;
  std::size_t limit = 100;
  std::vector<std::string> types;  ///< empty = all
  responder_ptr reply;
};

/// Where a Server-Sent Events stream writes; implemented by the HTTP session. Called from actor
/// threads. The stream actor writes one batch at a time and waits for `on_written` before the
/// next, so a slow client holds at most one batch in memory.
class stream_sink {
 public:
  virtual ~stream_sink() = default;
  /// Queues the frames of `events` (`store::shared_event::frame`, already formatted:
  /// "id: ..\nevent: ..\ndata: ..\n\n"), to be written in order in one write: the same frames,
  /// rendered once, go to every stream of the tenant. `on_written` runs once the bytes are on the
  /// socket (any thread). Returns false when the connection is gone; the stream then stops.
  virtual bool write(sse_batch events, std::function<void()> on_written) = 0;
  /// Ends the stream from the server side (shutdown): the session finishes writing and closes.
  virtual void close() = 0;
};

/// `GET /v1/stream`, or a web chat visitor's stream (`GET /chat/{tenant}/{channel}/stream`).
struct stream_request {
  /// Which stream: the tenant's events for a subscriber, or one visitor's conversation.
  enum class kind { subscriber, visitor };
  kind of = kind::subscriber;
  std::string tenant;
  std::string subscriber;          ///< `subscriber` streams
  std::uint64_t after = 0;         ///< from Last-Event-ID or ?after=
  std::vector<std::string> types;  ///< empty = all; `subscriber` streams
  std::shared_ptr<stream_sink> sink;
  // `visitor` streams (the visitor gate filled these from the session token): the stream carries
  // the `message` events of `conversation` only, read through `subject`'s index, and is woken
  // only by that conversation's commits (docs/webchat.md).
  std::string channel;       ///< the web chat channel's name
  std::string visitor;       ///< the visitor id
  std::string subject;       ///< the visitor's subject (erasure closes the stream)
  std::string conversation;  ///< "<channel>:<visitor>"
};

/// Held by the HTTP session for the lifetime of an SSE connection.
class stream_handle {
 public:
  virtual ~stream_handle() = default;
  /// The client went away: stop the stream actor. Idempotent, any thread.
  virtual void cancel() = 0;
};

struct tenant_api_env;  // actors/api.hpp
struct root_api_env;    // actors/api.hpp
struct api_call;

/// What serves an `api_call` in the actor tree: one function of actors/api_handlers.hpp, bound
/// to its route in the HTTP layer's handler list (src/http/routes.cpp). A tenant's handler runs
/// in the tenant actor of `api_call::tenant`, a root handler in the root actor (a call that
/// names no tenant). Exactly one is set for a call from the handler list.
struct api_handler {
  using tenant_fn = void (*)(const tenant_api_env&, api_call&);
  using root_fn = void (*)(const root_api_env&, api_call&);

  constexpr api_handler() = default;
  /// Implicit, so that the handler list names the function itself.
  constexpr api_handler(tenant_fn f) : in_tenant(f) {}  // NOLINT(google-explicit-constructor)
  constexpr api_handler(root_fn f) : in_root(f) {}      // NOLINT(google-explicit-constructor)

  tenant_fn in_tenant = nullptr;
  root_fn in_root = nullptr;
};

/// A backend or platform API call beyond webhooks and streams: the HTTP layer matches the path
/// in its handler list, checks the route's scope against the token, and hands the rest to the
/// gateway with the route's handler (docs/DESIGN.md §6, §7).
struct api_call {
  api_handler handler;
  /// The caller's tenant: the token's for a route with a scope; for a route without one
  /// (platform callbacks, public status pages) the tenant named by the path, or "" when the
  /// path names none (the gateway then finds it, e.g. from a deletion code).
  std::string tenant;
  std::string caller;   ///< subscriber name of the token; "" for a route without a scope
  unsigned scopes = 0;  ///< the token's scopes (bit set of `config::scope`)
  std::vector<std::string> params;  ///< percent-decoded path parameters, in order
  std::string query;                ///< raw query string without '?'
  std::string body;                 ///< raw request body
  std::vector<std::pair<std::string, std::string>> headers;  ///< lower-case name, value
  responder_ptr reply;
};

class gateway {
 public:
  /// Starts the actor system and the actor tree for `cfg`. Throws std::runtime_error with a
  /// clear message when it cannot start (start-up only).
  static std::unique_ptr<gateway> start(std::shared_ptr<const config::config> cfg);

  virtual ~gateway() = default;

  virtual void submit(webhook_submission w) = 0;
  virtual void read_events(events_query q) = 0;
  /// Starts a stream (either kind); nullptr when it cannot start now (tenant restarting,
  /// shutting down): the session answers 503 with Retry-After. A visitor stream's frames are
  /// "id: <seq>\nevent: message\ndata: <event JSON without subject and tenant>\n\n".
  virtual std::shared_ptr<stream_handle> open_stream(stream_request r) = 0;

  // Backend API of push subscribers (docs/DESIGN.md §6, docs/delivery.md). The HTTP layer calls
  // these once it has checked the token (same tenant; `admin`, or the subscriber's own token with
  // `stream`). `subscriber` is a name from the request path: one that is not a push subscriber
  // of `tenant` is answered 404 `not_found`; an unknown tenant 404 `unknown_tenant`; a tenant or
  // subscriber restarting 503 with Retry-After.

  /// `GET /v1/subscribers/{name}/dead-letters?after=<id>&limit=<n>`: 200
  /// {"dead_letters":[{"id","seq","event_id","attempts","last_error","failed_at"}],"next":<id>}
  /// with the letters of id > `after`, oldest first, at most `limit` (1..1000).
  /// The default (a gateway without push delivery, e.g. a test double) answers 404.
  virtual void list_dead_letters(const std::string& tenant, const std::string& subscriber,
                                 std::uint64_t after, std::size_t limit, responder_ptr reply) {
    reply->answer(error_response(errc::not_found, "no push subscriber of that name"));
  }

  /// `POST /v1/subscribers/{name}/redrive` with {"ids":[...]} or {"all":true}: takes the dead
  /// letters and delivers them again; 202 {"redriven":[ids],"not_found":[ids],"event_gone":[ids],
  /// "skipped":[ids],"more":bool}. Re-enables a subscriber that a 410 disabled.
  virtual void redrive(const std::string& tenant, const std::string& subscriber, bool all,
                       std::vector<std::uint64_t> ids, responder_ptr reply) {
    reply->answer(error_response(errc::not_found, "no push subscriber of that name"));
  }

  /// Runs an `api_call`. The default (a gateway without API calls) answers 404 `not_found`.
  virtual void call(api_call c) {
    c.reply->answer(error_response(errc::not_found, "no such API call"));
  }

  /// `GET /v1/overview` for the operator console (docs/console.md), covering `tenants` (ids the
  /// HTTP layer checked the caller may see, config order): 200 with
  /// {"tenants":[{"id","head","streams","channels":[{"name","type","events_total",
  /// "duplicates_total","outbound":{"queued","sent","delivered","read","failed"}}],
  /// "subscribers":[{"name","push","scopes","cursor","lag","queue","in_flight","delivered_total",
  /// "failures_total","dead_letters","disabled","last_error"}],"outbound":{"queued"}}],
  /// "at":"<RFC 3339>"}. Counters come from the metrics registry (this process, since it
  /// started); `head`, `streams` and the push subscribers' cursors from the actors, asked with
  /// a short timeout (an actor that does not answer in time leaves its fields null). Never reads
  /// the store. The default (a gateway without actors, e.g. a test double) answers 404.
  virtual void overview(std::vector<std::string> tenants, responder_ptr reply) {
    (void)tenants;
    reply->answer(error_response(errc::not_found, "no overview here"));
  }

  /// Web chat: whether the visitor whose subject (derived as the channel derives it for the
  /// visitor's events) is `subject` was erased, which revokes every session token of theirs
  /// (docs/webchat.md). A memory lookup; any thread; never blocks. The default (a gateway
  /// without a consent registry) answers false.
  virtual bool visitor_revoked(const std::string& tenant, const std::string& subject) const {
    return false;
  }

  /// Applies a new config to the running gateway without dropping connections, streams or
  /// requests in flight (docs/operations.md, "Reloading the config"; docs/architecture.md,
  /// "Reconfigure"): tenants the config adds are started, those it removes stopped (their
  /// streams end; the bridge answers 404 `unknown_tenant` for them from then on), every other
  /// one is handed the config and applies it in place (channels, push subscribers, senders,
  /// tokens' purposes, privacy). `cfg` must be valid (`config::load_*`) and carry the running
  /// restart-only keys (`config::keep_restart_keys`). Blocks until every tenant applied it (a
  /// few ms; at most ~10 s), so call it from main or a control thread, never an I/O thread.
  /// Concurrent calls run one after the other. An error (nothing applied): shutting down, or a
  /// new tenant's consent could not be loaded. The default (a gateway without actors) keeps
  /// nothing and succeeds.
  virtual status reconfigure(std::shared_ptr<const config::config> cfg) {
    (void)cfg;
    return {};
  }

  // -- the control plane (src/control/plane.hpp, docs/control-plane.md) ----------------------

  /// The store of the tenants the control plane defines; null when this gateway's store keeps
  /// none (a test double).
  virtual std::shared_ptr<store::definition_store> definitions() const { return nullptr; }

  /// Erases what the store holds of a tenant being deleted, as subject erasures do: every subject
  /// seen on one of `channels` (its data key destroyed, its events, dead letters and consent
  /// record deleted), then every other event, dedupe key, dead letter and quarantined body of the
  /// tenant (`privacy_store::erase_channel`, then `expire` at a cutoff in the future). The sum of
  /// what was erased; `subjects` lists the subjects whose keys were destroyed. Blocks on the
  /// store: call it from a control thread. The default (a gateway without a store) erases nothing.
  virtual result<store::erase_outcome> erase_tenant(const std::string& tenant,
                                                    const std::vector<std::string>& channels) {
    (void)tenant, (void)channels;
    return store::erase_outcome{};
  }

  /// Several replicas: `f` is called, on a thread of the gateway's, whenever another replica (or
  /// this one) changed the definitions (`NOTIFY switchboard_control`), and after the replica's
  /// listener reconnected (notifications may have been missed). Set once, before changes can
  /// come; a single gateway never calls it.
  virtual void on_definitions_changed(std::function<void()> f) { (void)f; }

  /// True once every tenant's actors are up and until shutdown begins (`/readyz`).
  virtual bool ready() const = 0;

  /// Stops streams and actors and waits for the actor system to finish. Idempotent; blocks, so
  /// call it from main, never from an I/O thread.
  virtual void shutdown() = 0;
};

}  // namespace sb::actors

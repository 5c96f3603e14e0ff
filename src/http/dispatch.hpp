#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/gateway.hpp"
#include "config/config.hpp"
#include "control/plane.hpp"
#include "core/ip.hpp"
#include "http/auth.hpp"
#include "http/auth_failures.hpp"
#include "http/ingress_limit.hpp"
#include "http/platform_gate.hpp"
#include "http/router.hpp"
#include "http/routes.hpp"
#include "http/visitor_gate.hpp"

/// What a request gets once it is read, as free functions over plain types (no Beast, no
/// sockets): match it to the handler list (`route_request`), then run the route's handler
/// (`serve`), which checks the route's credentials and answers at once, hands the request to the
/// gateway, or opens a stream. The sessions (src/http/http_session.hpp) only move bytes, apply
/// limits and timeouts, and implement `exchange`; the unit tests call these directly.
namespace sb::http {

/// A request as `serve` reads it. The session implements it over Beast's parser; header names
/// compare case-insensitively.
class request_view {
 public:
  virtual ~request_view() = default;
  virtual std::string_view method() const = 0;
  virtual std::string_view target() const = 0;
  /// The first value of the header `name`; "" when absent.
  virtual std::string_view header(std::string_view name) const = 0;
  /// Every value of the header `name`, in order.
  virtual std::vector<std::string_view> headers(std::string_view name) const = 0;
  /// The body; `serve` may move it away (to the gateway).
  virtual std::string& body() = 0;
};

/// A web chat visitor's own conversation as a stream (`GET /chat/{tenant}/{channel}/stream`),
/// once the visitor gate passed.
struct visitor_stream_params {
  std::string tenant;
  std::string channel;
  std::string visitor;       ///< from the session token
  std::string subject;       ///< the visitor's subject (revocation, consent)
  std::string conversation;  ///< "<channel>:<visitor>"
  std::uint64_t after = 0;   ///< from Last-Event-ID or ?after=
};

/// The way back of one request, implemented by the session. `serve` calls exactly one of these
/// once (or none when it throws).
class exchange {
 public:
  virtual ~exchange() = default;
  /// Answers now.
  virtual void respond(response r) = 0;
  /// The gateway answers later: the session waits (without timeout) for the returned
  /// responder's answer, which it writes.
  virtual actors::responder_ptr await_gateway() = 0;
  /// `GET /v1/stream` passed its checks: the session becomes a Server-Sent Events stream of
  /// `who`'s events after `params.after`.
  virtual void open_stream(const principal& who, stream_params params) = 0;
  /// A visitor's stream passed the visitor gate: the session becomes a Server-Sent Events
  /// stream of the visitor's conversation. `cors` are the headers of the answer (the
  /// Access-Control-Allow-Origin the gate granted). The default answers 503 (test doubles).
  virtual void open_visitor_stream(visitor_stream_params params,
                                   std::vector<std::pair<std::string, std::string>> cors) {
    (void)params, (void)cors;
    respond(error_response(errc::unavailable, "visitor streams are not served here"));
  }
  /// The request turned out to be for `tenant` (and `channel`; "" when not a channel's route):
  /// called once the names are known to be configured (a webhook's or visitor's path, a token's
  /// tenant), before the answer, for the request's log line. May be called more than once (the
  /// last call counts). The default ignores it (test doubles).
  virtual void identify(std::string_view tenant, std::string_view channel) {
    (void)tenant, (void)channel;
  }
};

/// What the handlers share, built from one config: immutable, but for the platform gate's
/// failure budgets, the tenants' rate limits and the visitor gate's budgets (which lock). Safe
/// from every I/O thread. A reload builds a new one (`server_core::reconfigure`); a request keeps
/// the one it started with.
struct dispatch_context {
  /// `gateway` must outlive the context. `previous`: the context this one replaces (a reload),
  /// or null. Carried over from it: the token buckets of the tenants whose `rate_limit` did not
  /// change, and the entries of the channels that did not change (`channel_directory`: their
  /// verifiers and per-channel failure budgets). Started afresh: the platform gate's failure
  /// budgets per source, its memory of one-time tokens, and the visitor gate's budgets.
  dispatch_context(std::shared_ptr<const config::config> c, actors::gateway& g,
                   const dispatch_context* previous = nullptr);

  std::shared_ptr<const config::config> cfg;
  actors::gateway& gateway;
  token_index tokens;
  channel_directory directory;
  ingress_limits ingress;            ///< tenants' `rate_limit`, charged for verified requests
  std::vector<ip::network> trusted;  ///< `server.trusted_proxies`
  platform_gate platform;            ///< verification and failure budgets of platform requests
  metrics_access metrics;            ///< `server.metrics.token_sha256`
  const bool metrics_apart;          ///< `server.metrics.listen` is set
  visitor_gate visitors;             ///< web chat: the visitor channels and their budgets
  control::plane* control = nullptr;  ///< the control plane's calls; null: answered 503
};

/// Matches a request to the handler list (`match_route`), then to the listener it came to
/// (`metrics_only`: `server.metrics.listen`): a route another listener serves is 404, as a path
/// no route knows.
route route_request(const dispatch_context& ctx, std::string_view method, std::string_view target,
                    bool metrics_only);

/// Serves a routed request (`r` from `route_request` for `req`): a 404 or 405 (with `Allow`), or
/// the route's handler after its credentials check. `peer`: the TCP peer's address (the source
/// of a platform request, unless `server.trusted_proxies` says to read X-Forwarded-For).
void serve(dispatch_context& ctx, route& r, request_view& req, const ip::address& peer,
           exchange& ex);

}  // namespace sb::http

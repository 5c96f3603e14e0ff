#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/gateway.hpp"
#include "config/config.hpp"
#include "control/operation.hpp"
#include "core/error.hpp"

/// The handler list: every route the server answers, written once as {method, path pattern,
/// access, handler}. It drives routing (`match_route`: 404 for an unknown path, 405 with `Allow`
/// for a known path and another method), which listener serves a route, the credentials a route
/// needs (`access`, `scope`; checked by `authorize_route`, src/http/router.hpp), the handler that
/// serves it (a function of the HTTP layer, or for `handler_kind::api` an actor-side handler the
/// `actors::api_call` carries), and the `route` label of `switchboard_http_requests_total`.
/// Plain code, no Beast and no CAF: the unit tests walk it without sockets.
namespace sb::http {

/// What serves a route.
enum class handler_kind : std::uint8_t {
  webhook,       ///< a platform's webhook (POST) or subscription handshake (GET)
  events,        ///< a page of the tenant's event log (`gateway::read_events`)
  stream,        ///< the event log as Server-Sent Events (`gateway::open_stream`)
  healthz,       ///< liveness
  readyz,        ///< readiness (`gateway::ready`)
  metrics,       ///< the metrics registry as Prometheus text
  dead_letters,  ///< a push subscriber's dead letters (`gateway::list_dead_letters`)
  redrive,       ///< delivers dead letters again (`gateway::redrive`)
  api,           ///< an `actors::api_call` to `gateway::call`, carrying `route_def::api`
  // Web chat visitors (docs/webchat.md): the Origin checked (CORS), a session token but for
  // `visitor_session`, the channel's visitor limits.
  visitor_preflight,  ///< OPTIONS of a visitor route: the CORS preflight
  visitor_session,    ///< a new visitor session and its token
  visitor_message,    ///< a visitor's message, stored as the channel's webhook
  visitor_read,       ///< the widget has shown the agent's messages up to a seq
  visitor_stream,     ///< the visitor's own conversation as Server-Sent Events
  widget,             ///< the channel type's embeddable widget (src/http/assets.hpp)
  console,            ///< the operator console's static files (docs/console.md)
  overview,           ///< the console's overview: tenants, channels, rates, queues (JSON)
  api_document,       ///< the OpenAPI document of these routes (docs/openapi.json, compiled in)
  control,            ///< a control-plane call (`route_def::control`, src/control/plane.hpp)
};

/// Who may call a route; the HTTP layer checks it before the route's handler runs.
enum class access : std::uint8_t {
  open,        ///< no credentials: health probes, the API document, static files, and the
               ///< deletion-status page (its code is the capability)
  platform,    ///< signed by a platform: verified at the edge with the channel's adapter
               ///< (src/http/platform_gate.hpp); the tenant is the path's
  metrics,     ///< `server.metrics.token_sha256` when it is set, else open
  token,       ///< a bearer token with `route_def::scope`; the token decides the tenant, and a
               ///< `?tenant=` must name it
  subscriber,  ///< as `token` with `admin`, or the token of the path's subscriber with `stream`
  visitor,     ///< a web chat visitor: an allowed Origin and (but to start a session) a session
               ///< token of the path's channel, checked by the visitor gate
  operator_,   ///< an operator's token (`operators:`); a subscriber's token is 403
};

/// Which listener serves a route.
enum class served_on : std::uint8_t {
  main,  ///< `server.listen` only
  both,  ///< `server.listen` and `server.metrics.listen`
  ops,   ///< `server.metrics.listen` when it is set, else `server.listen`
};

/// One entry of the handler list.
struct route_def {
  std::string_view method;
  /// "/v1/subjects/{subject}": literal segments and "{name}" parameters, each one whole,
  /// non-empty path segment, percent-decoded. Also the route's metric label.
  std::string_view pattern;
  /// The operation's name ("subject.export"): in logs, tests and API descriptions. Nothing is
  /// dispatched by it.
  std::string_view name;
  access who = access::open;
  config::scope scope = config::scope::stream;  ///< what an `access::token` route needs
  handler_kind kind = handler_kind::api;
  actors::api_handler api;  ///< `handler_kind::api`: the handler in the actor tree
  control::operation control = control::operation::none;  ///< `handler_kind::control`
  served_on where = served_on::main;
  /// A parameter may decode to text with '/' (%2F). Only the webhook routes: their tenant and
  /// channel are looked up as given and an unknown one gets the one `unknown_endpoint` answer
  /// (router.hpp), so names cannot be told apart by their shape. Elsewhere such a path does not
  /// match the pattern.
  bool slash_in_params = false;
  /// Filled by `routes()`: the methods of every entry with this pattern, in list order, as a 405
  /// lists them in `Allow` ("GET, DELETE").
  std::string allow;
};

/// The handler list, in match order.
const std::vector<route_def>& routes();

/// A request matched against the handler list.
struct route {
  const route_def* def = nullptr;   ///< the matched entry; nullptr: no route, see `err`
  std::vector<std::string> params;  ///< the decoded path parameters, in pattern order
  std::string_view query;           ///< raw query string without '?', a view into the target
  error err;               ///< `def == nullptr`: 404 `not_found` or 405 `method_not_allowed`
  std::string_view allow;  ///< the Allow header of a 405 (into `routes()`)
};

/// Matches a method and request-target (origin form, or absolute form whose scheme and
/// authority are ignored) to the handler list. A path no pattern matches is 404 `not_found`; a
/// path some pattern matches with a method none of its entries has is 405 `method_not_allowed`
/// with `allow`.
route match_route(std::string_view method, std::string_view target);

/// Counts one answered request in `switchboard_http_requests_total{route,status}`: the route's
/// pattern, or "unmatched" for nullptr. Thread-safe; after the first request of a (route,
/// status) pair it is one relaxed atomic add.
void count_request(const route_def* def, int status);

}  // namespace sb::http

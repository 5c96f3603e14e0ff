#include "http/dispatch.hpp"

#include <cctype>
#include <chrono>
#include <optional>
#include <utility>

#include "adapters/adapter.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/url.hpp"

namespace sb::http {

namespace {

using steady = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

response status_body(int status, std::string_view text) {
  response res;
  res.status = status;
  json::writer(res.body).begin_object().key("status").value(text).end_object();
  return res;
}

/// A 404 as for a path no route knows.
route not_found_route(std::string_view target) {
  route r;
  r.err = error{errc::not_found, "no route for " + std::string(target.substr(0, target.find('?')))};
  return r;
}

/// Whether the listener serves `def` (`route_def::where`).
bool served_on_listener(const dispatch_context& ctx, const route_def& def, bool metrics_only) {
  if (metrics_only) {
    return def.where != served_on::main;
  }
  return !(def.where == served_on::ops && ctx.metrics_apart);
}

/// One request being served: the handlers of the HTTP layer's routes.
class call {
 public:
  call(dispatch_context& ctx, route& r, request_view& req, const ip::address& peer, exchange& ex)
      : ctx_(ctx), r_(r), req_(req), peer_(peer), ex_(ex) {}

  void run() {
    if (r_.def == nullptr) {  // 404, or 405 with Allow
      auto res = error_response(r_.err.code, r_.err.message);
      if (!r_.allow.empty()) {
        res.headers.emplace_back("Allow", std::string(r_.allow));
      }
      ex_.respond(std::move(res));
      return;
    }
    switch (r_.def->kind) {
      case handler_kind::healthz:
        ex_.respond(status_body(200, "ok"));
        return;
      case handler_kind::readyz:
        if (ctx_.gateway.ready()) {
          ex_.respond(status_body(200, "ready"));
        } else {
          ex_.respond(error_response(errc::unavailable, "the gateway is not ready"));
        }
        return;
      case handler_kind::webhook:
        webhook();
        return;
      case handler_kind::metrics:
        metrics();
        return;
      case handler_kind::events:
        events();
        return;
      case handler_kind::stream:
        stream();
        return;
      case handler_kind::dead_letters:
        dead_letters();
        return;
      case handler_kind::redrive:
        redrive();
        return;
      case handler_kind::api:
        api();
        return;
      case handler_kind::visitor_preflight:
      case handler_kind::visitor_session:
      case handler_kind::visitor_message:
      case handler_kind::visitor_read:
      case handler_kind::visitor_stream:
      case handler_kind::widget:
        visitor();
        return;
      case handler_kind::console:
        console();
        return;
      case handler_kind::overview:
        overview();
        return;
    }
  }

 private:
  /// The route's credentials check (`authorize_route`) with this request's Authorization.
  result<const principal*> authorize(std::string_view requested_tenant) {
    return authorize_route(*r_.def, ctx_.tokens, ctx_.metrics, req_.header("Authorization"),
                           requested_tenant,
                           r_.params.empty() ? std::string_view{} : r_.params.front());
  }

  /// The JSON error body and status for `e`.
  void write_error(const error& e) { ex_.respond(error_response(e.code, e.message)); }

  /// 401/403 with the headers the contract asks for.
  void write_auth_error(const error& e) {
    auto res = error_response(e.code, e.message);
    if (e.code == errc::unauthorized) {
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    ex_.respond(std::move(res));
  }

  /// A refusal of the platform gate: its error, with Retry-After for a 429.
  void write_verdict(const gate_verdict& v) {
    ex_.respond(error_response(v.err.code, v.err.message, v.retry_after_s));
  }

  /// The address the request's failed verifications are charged to: the peer, or from
  /// X-Forwarded-For when the peer is one of `server.trusted_proxies`.
  ip::address source() {
    if (ctx_.trusted.empty()) {
      return peer_;
    }
    return request_source(peer_, ctx_.trusted, req_.headers("X-Forwarded-For"));
  }

  void metrics() {
    if (auto allowed = authorize(""); !allowed) {
      write_auth_error(allowed.err());
      return;
    }
    response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics::global().render(res.body);
    ex_.respond(std::move(res));
  }

  /// A webhook POST or the GET handshake: verified here, on the I/O thread, before the tenant's
  /// rate limit is charged or anything is queued (src/http/platform_gate.hpp).
  void webhook() {
    const std::string& tenant = r_.params[0];
    const std::string& channel_name = r_.params[1];
    auto channel = ctx_.directory.find(tenant, channel_name);
    if (!channel) {
      write_error(channel.err());
      return;
    }
    const channel_entry& ch = **channel;
    if (ch.info == nullptr || !ch.verifier) {
      log::error("http", "channel ", tenant, "/", channel_name, " has type '", ch.cfg->type,
                 "' without an adapter");
      ex_.respond(error_response(errc::internal, "the channel has no adapter"));
      return;
    }
    const auto now = steady::now();
    const ip::address from = source();
    // A source that keeps failing is refused before any HMAC is computed.
    if (auto v = ctx_.platform.admit_source(from, now); !v.pass) {
      write_verdict(v);
      return;
    }
    actors::webhook_submission w;
    w.tenant = tenant;
    w.channel = channel_name;
    w.method = std::string(req_.method());
    w.query = std::string(r_.query);
    for (const auto& name : ch.info->headers) {
      for (auto value : req_.headers(name)) {
        w.headers.push_back({lower(name), std::string(value)});
      }
    }
    adapters::request view;
    view.method = w.method;
    view.query = w.query;
    view.headers = &w.headers;
    view.body = req_.body();
    view.now = sb::now();
    if (r_.def->method == "GET") {
      auto v = ctx_.platform.handshake(ch, tenant, from, view, now);
      if (!v.pass) {
        write_verdict(v);
        return;
      }
      response res;
      res.content_type = "text/plain";
      res.body = std::move(v.challenge);
      ex_.respond(std::move(res));
      return;
    }
    auto v = ctx_.platform.webhook(ch, tenant, from, view, now);
    if (!v.pass) {
      write_verdict(v);
      return;
    }
    if (v.reply) {  // a setup request (Slack's url_verification, WooCommerce's ping): not stored
      response res;
      res.content_type = std::move(v.reply->content_type);
      res.body = std::move(v.reply->body);
      ex_.respond(std::move(res));
      return;
    }
    w.verified = true;
    w.body = std::move(req_.body());
    w.body.reserve(w.body.size() + 64);  // simdjson padding: adapters parse in place
    w.reply = ex_.await_gateway();
    ctx_.gateway.submit(std::move(w));
  }

  /// Meta's data-deletion callback, checked as a webhook is: the channel must exist (the one
  /// 404 of `unknown_endpoint`), the source must not be blocked, `signed_request` must hold, and
  /// only then is the tenant's rate limit charged. The privacy API verifies it again.
  bool admit_data_deletion() {
    auto channel = ctx_.directory.find(r_.params[0], r_.params[1]);
    if (!channel) {
      write_error(channel.err());
      return false;
    }
    const auto now = steady::now();
    const ip::address from = source();
    if (auto v = ctx_.platform.admit_source(from, now); !v.pass) {
      write_verdict(v);
      return false;
    }
    auto v = ctx_.platform.data_deletion(**channel, r_.params[0], from, req_.body(), now);
    if (!v.pass) {
      write_verdict(v);
      return false;
    }
    return true;
  }

  /// Checks a `stream`-scope call (the token decides the tenant; a `?tenant=` must match it),
  /// then its parsed parameters: a bad token answers before a bad query. On failure writes the
  /// error and returns nullptr.
  template <class Params>
  const principal* authorize_stream(const result<Params>& params) {
    auto who = authorize(params ? std::string_view(params->tenant) : "");
    if (!who) {
      write_auth_error(who.err());
      return nullptr;
    }
    if (!params) {
      write_error(params.err());
      return nullptr;
    }
    return *who;
  }

  void events() {
    auto params = parse_events_params(r_.query);
    const principal* who = authorize_stream(params);
    if (who == nullptr) {
      return;
    }
    actors::events_query q;
    q.tenant = who->tenant;
    q.subscriber = who->subscriber;
    q.after = params->after;
    q.limit = params->limit;
    q.types = std::move(params->types);
    q.reply = ex_.await_gateway();
    ctx_.gateway.read_events(std::move(q));
  }

  void stream() {
    auto params = parse_stream_params(r_.query, req_.header("Last-Event-ID"));
    const principal* who = authorize_stream(params);
    if (who == nullptr) {
      return;
    }
    ex_.open_stream(*who, std::move(*params));
  }

  /// A `/v1/subscribers/{name}/...` call that passed its checks: the token's tenant and the
  /// query's parameters.
  struct subscriber_call {
    std::string tenant;
    dead_letter_params params;
  };

  /// As `authorize_stream` for a `/v1/subscribers/{name}/...` call (`access::subscriber`), with
  /// the query of the dead-letter calls; nullopt after writing the error.
  std::optional<subscriber_call> authorize_subscriber() {
    auto params = parse_dead_letter_params(r_.query);
    auto who = authorize(params ? std::string_view(params->tenant) : "");
    if (!who) {
      write_auth_error(who.err());
      return std::nullopt;
    }
    if (!params) {
      write_error(params.err());
      return std::nullopt;
    }
    return subscriber_call{(*who)->tenant, std::move(*params)};
  }

  /// `GET /v1/subscribers/{name}/dead-letters`: the token decides the tenant (a `?tenant=`
  /// must match it); `admin`, or the subscriber's own token with `stream`.
  void dead_letters() {
    auto c = authorize_subscriber();
    if (!c) {
      return;
    }
    ctx_.gateway.list_dead_letters(c->tenant, r_.params[0], c->params.after, c->params.limit,
                                   ex_.await_gateway());
  }

  /// `POST /v1/subscribers/{name}/redrive` with {"all":true} or {"ids":[...]}.
  void redrive() {
    auto c = authorize_subscriber();
    if (!c) {
      return;
    }
    auto body = parse_redrive_body(req_.body());
    if (!body) {
      write_error(body.err());
      return;
    }
    ctx_.gateway.redrive(c->tenant, r_.params[0], body->all, std::move(body->ids),
                         ex_.await_gateway());
  }

  /// The web chat visitor routes (docs/webchat.md): the visitor gate, then the route's work.
  void visitor() { write_error(error{errc::unavailable, "not built yet"}); }

  /// The operator console's static files (docs/console.md).
  void console() { write_error(error{errc::unavailable, "not built yet"}); }

  /// The console's overview (docs/console.md).
  void overview() { write_error(error{errc::unavailable, "not built yet"}); }

  /// A call the actors serve (`handler_kind::api`): checks the route's access (a platform's
  /// signature; or a token with the route's scope, which decides the tenant, a `?tenant=`
  /// having to name it), then hands the call with its handler to the gateway. A platform's call
  /// takes its tenant from the path ("/webhooks/{tenant}/..."); an open one names none.
  void api() {
    const route_def& def = *r_.def;
    if (def.who == access::platform && !admit_data_deletion()) {
      return;
    }
    actors::api_call c;
    c.handler = def.api;
    if (def.who == access::token) {
      std::string requested;
      if (auto t = url::raw_query_param(r_.query, "tenant")) {
        auto decoded = url::decode(*t);
        if (!decoded) {
          write_error(error{errc::bad_request, "parameter 'tenant' is malformed"});
          return;
        }
        requested = std::move(*decoded);
      }
      auto who = authorize(requested);
      if (!who) {
        write_auth_error(who.err());
        return;
      }
      c.tenant = (*who)->tenant;
      c.caller = (*who)->subscriber;
      c.scopes = (*who)->scopes;
    } else if (def.who == access::platform) {
      c.tenant = r_.params.front();
    }
    c.params = std::move(r_.params);
    c.query = std::string(r_.query);
    if (auto type = req_.header("Content-Type"); !type.empty()) {
      c.headers.emplace_back("content-type", std::string(type));
    }
    if (auto key = req_.header("Idempotency-Key"); !key.empty()) {
      c.headers.emplace_back("idempotency-key", std::string(key));
    }
    c.body = std::move(req_.body());
    c.reply = ex_.await_gateway();
    ctx_.gateway.call(std::move(c));
  }

  dispatch_context& ctx_;
  route& r_;
  request_view& req_;
  const ip::address& peer_;
  exchange& ex_;
};

}  // namespace

dispatch_context::dispatch_context(std::shared_ptr<const config::config> c, actors::gateway& g)
    : cfg(std::move(c)),
      gateway(g),
      tokens(*cfg),
      directory(*cfg),
      ingress(*cfg),
      trusted(parse_trusted_proxies(cfg->server.trusted_proxies)),
      platform(*cfg, ingress),
      metrics(cfg->server),
      metrics_apart(!cfg->server.metrics.listen.empty()) {}

route route_request(const dispatch_context& ctx, std::string_view method, std::string_view target,
                    bool metrics_only) {
  route r = match_route(method, target);
  if (r.def != nullptr && !served_on_listener(ctx, *r.def, metrics_only)) {
    return not_found_route(target);
  }
  return r;
}

void serve(dispatch_context& ctx, route& r, request_view& req, const ip::address& peer,
           exchange& ex) {
  call(ctx, r, req, peer, ex).run();
}

}  // namespace sb::http

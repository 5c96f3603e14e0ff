#include "http/dispatch.hpp"

#include <cctype>
#include <chrono>
#include <optional>
#include <utility>

#include "actors/api_handlers.hpp"
#include "adapters/adapter.hpp"
#include "core/conversation_key.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_metrics.hpp"
#include "core/url.hpp"
#include "http/assets.hpp"

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

/// The headers of every console file (docs/console.md "Security").
std::vector<std::pair<std::string, std::string>> console_headers() {
  return {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-cache"},
  };
}

/// Whether an If-None-Match value lists `etag` (or is "*"); weak tags compare as strong.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (item.rfind("W/", 0) == 0) {
      item.remove_prefix(2);
    }
    if (item == "*" || item == etag) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
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
      case handler_kind::api_document:
        api_document();
        return;
      case handler_kind::control:
        control();
        return;
    }
  }

 private:
  /// The route's credentials check (`authorize_route`) with this request's Authorization.
  /// The tenant a credential names is the request's, for its log line (`exchange::identify`).
  result<const principal*> authorize(std::string_view requested_tenant) {
    auto who = authorize_route(*r_.def, ctx_.tokens, ctx_.metrics, req_.header("Authorization"),
                               requested_tenant,
                               r_.params.empty() ? std::string_view{} : r_.params.front());
    if (who && *who != nullptr) {
      ex_.identify((*who)->tenant, "");
    }
    return who;
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
    metrics::process::render(res.body);  // process_*: read from /proc at scrape time
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
    ex_.identify(tenant, channel_name);
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
    ex_.identify(r_.params[0], r_.params[1]);
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

  /// The web chat visitor routes (docs/webchat.md): the visitor gate (src/http/visitor_gate.hpp),
  /// then the route's work. A tenant or channel that is not a visitor channel gets the one
  /// `unknown_endpoint` answer of the webhooks, so channel names cannot be enumerated here either.
  void visitor() {
    const visitor_channel* ch = ctx_.visitors.find(r_.params[0], r_.params[1]);
    if (ch == nullptr) {
      write_error(unknown_endpoint());
      return;
    }
    ex_.identify(r_.params[0], r_.params[1]);
    if (r_.def->kind == handler_kind::widget) {  // a <script> sends no Origin: not checked
      visitor_widget(*ch);
      return;
    }
    auto origin = check_origin(ch->settings, req_.headers("Origin"));
    if (!origin) {
      visitor_error(cors_headers(""), origin.err());
      return;
    }
    const header_pairs cors = cors_headers(*origin);
    switch (r_.def->kind) {
      case handler_kind::visitor_preflight: {
        response res;
        res.status = 204;
        res.content_type.clear();
        res.headers = preflight_headers(r_.def->allow);
        visitor_respond(cors, std::move(res));
        return;
      }
      case handler_kind::visitor_session:
        visitor_session(*ch, cors);
        return;
      case handler_kind::visitor_message:
        visitor_message(*ch, cors);
        return;
      case handler_kind::visitor_read:
        visitor_read(*ch, cors);
        return;
      case handler_kind::visitor_stream:
        visitor_stream(*ch, cors);
        return;
      default:
        write_error(unknown_endpoint());
        return;
    }
  }

  /// Answers now with the gate's CORS headers.
  void visitor_respond(const header_pairs& cors, response res) {
    res.headers.insert(res.headers.end(), cors.begin(), cors.end());
    ex_.respond(std::move(res));
  }

  /// A visitor route's error, with the CORS headers (the widget must be able to read it),
  /// WWW-Authenticate for a 401 and Retry-After for a 429.
  void visitor_error(const header_pairs& cors, const error& e, int retry_after_s = 0) {
    auto res = error_response(e.code, e.message, retry_after_s);
    if (e.code == errc::unauthorized) {
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    visitor_respond(cors, std::move(res));
  }

  /// The session's responder for an answer the gateway gives later, wrapped so that the answer
  /// carries the CORS headers (and is first rewritten by `rewrite`, when given). A wrapper
  /// dropped unanswered answers 503 through the same path, CORS headers included.
  actors::responder_ptr visitor_reply(header_pairs cors,
                                      void (*rewrite)(actors::http_response&) = nullptr) {
    return std::make_shared<actors::responder>(
        [inner = ex_.await_gateway(), cors = std::move(cors), rewrite](actors::http_response r) {
          if (rewrite != nullptr) {
            rewrite(r);
          }
          r.headers.insert(r.headers.end(), cors.begin(), cors.end());
          inner->answer(std::move(r));
        });
  }

  /// A visitor whose session token passed the gate.
  struct visitor_identity {
    std::string visitor;
    std::string subject;
  };

  /// Checks the session `token` (no lookup) and its revocation by erasure of the visitor's
  /// subject; nullopt after writing the 401.
  std::optional<visitor_identity> visitor_token(const visitor_channel& ch, const header_pairs& cors,
                                                std::string_view token) {
    if (token.empty()) {
      visitor_error(cors, error{errc::unauthorized,
                                "missing the session token (Authorization: "
                                "Bearer <token> from POST .../sessions)"});
      return std::nullopt;
    }
    auto session = ch.info->visitors.check(*ch.cfg, token, sb::now());
    if (!session) {
      visitor_error(cors, error{errc::unauthorized, session.err().message});
      return std::nullopt;
    }
    visitor_identity id{std::move(session->visitor), {}};
    id.subject = ch.subject_of(id.visitor);
    if (ctx_.gateway.visitor_revoked(ch.tenant, id.subject)) {
      visitor_error(cors, error{errc::unauthorized, "the session was revoked"});
      return std::nullopt;
    }
    return id;
  }

  /// `POST /chat/{t}/{c}/sessions`: a new visitor and their token, within the source address's
  /// budget. What the body gives (name, e-mail, consent choices) is recorded by the tenant
  /// (`actors::start_visitor_session`) before the 201; without it the 201 is immediate.
  void visitor_session(const visitor_channel& ch, const header_pairs& cors) {
    if (int wait = ch.sessions->take(source_key(source()), steady::now()); wait > 0) {
      visitor_error(cors,
                    error{errc::rate_limited,
                          "too many new sessions from this address "
                          "(sessions_per_ip_per_minute); retry later"},
                    wait);
      return;
    }
    auto body = parse_session_body(req_.body());
    if (!body) {
      visitor_error(cors, body.err());
      return;
    }
    const std::string visitor = ids::make("vis_");
    // Whole seconds: the token's expiry has no milliseconds, and expires_at says the same.
    const auto expires =
        timestamp::from_seconds((sb::now().unix_ms + ch.settings.session_ttl_ms) / 1000);
    const std::string token = ch.info->visitors.mint(*ch.cfg, visitor, expires);
    std::string answer = session_answer(visitor, token, expires);
    if (body->empty()) {
      response res;
      res.status = 201;
      res.body = std::move(answer);
      visitor_respond(cors, std::move(res));
      return;
    }
    actors::api_call c;
    c.handler = &actors::start_visitor_session;
    c.tenant = ch.tenant;
    c.caller = visitor;
    c.params = {ch.tenant, ch.cfg->name};
    c.body = session_call_body(visitor, *body, answer);
    c.reply = visitor_reply(cors);
    ctx_.gateway.call(std::move(c));
  }

  /// `POST /chat/{t}/{c}/messages`: the visitor's message, stored as the channel's webhook
  /// (the adapter parses it; 202 once stored durably). Charged to the visitor's own budget,
  /// never to the tenant's platform `rate_limit`: visitor traffic must not starve the
  /// platforms' webhooks, and a flood of one visitor must not starve another.
  void visitor_message(const visitor_channel& ch, const header_pairs& cors) {
    const std::string_view token = bearer_of(req_.header("Authorization"));
    auto who = visitor_token(ch, cors, token);
    if (!who) {
      return;
    }
    if (int wait = ch.messages->take(who->visitor, steady::now()); wait > 0) {
      visitor_error(cors,
                    error{errc::rate_limited,
                          "too many messages from this visitor "
                          "(messages_per_visitor_per_minute); retry later"},
                    wait);
      return;
    }
    // The text's bound plus room for {"text":"","client_id":"…"} and escapes; the adapter
    // checks the text's own length exactly.
    if (req_.body().size() > ch.settings.max_message_bytes + 256) {
      visitor_error(cors, error{errc::body_too_large,
                                "the message is larger than this channel's max_message_bytes (" +
                                    std::to_string(ch.settings.max_message_bytes) + ")"});
      return;
    }
    actors::webhook_submission w;
    w.tenant = ch.tenant;
    w.channel = ch.cfg->name;
    w.method = "POST";
    w.headers.push_back({"authorization", "Bearer " + std::string(token)});
    w.body = std::move(req_.body());
    w.body.reserve(w.body.size() + 64);  // simdjson padding: adapters parse in place
    w.reply = visitor_reply(cors, [](actors::http_response& r) {
      // The channel's {"status":"ok","events":n,"duplicates":d} (n + d = 1) becomes the 202.
      if (r.status == 200) {
        if (auto duplicate = accepted_duplicate(r.body)) {
          r.status = 202;
          r.body = message_answer(*duplicate);
        }
      }
    });
    w.verified = true;  // the token was checked above, as the adapter's `verify` would
    ctx_.gateway.submit(std::move(w));
  }

  /// `POST /chat/{t}/{c}/read` {"up_to":<seq>}: handed to the tenant (`actors::visitor_read`).
  void visitor_read(const visitor_channel& ch, const header_pairs& cors) {
    auto who = visitor_token(ch, cors, bearer_of(req_.header("Authorization")));
    if (!who) {
      return;
    }
    auto up_to = parse_read_body(req_.body());
    if (!up_to) {
      visitor_error(cors, up_to.err());
      return;
    }
    // Each receipt reads the visitor's events on a privacy worker: bounded per visitor, so that
    // one visitor cannot keep the workers (and the erasures queued behind them) busy.
    if (int wait = ch.reads->take(who->visitor, steady::now()); wait > 0) {
      visitor_error(cors,
                    error{errc::rate_limited,
                          "too many read receipts from this visitor "
                          "(messages_per_visitor_per_minute); retry later"},
                    wait);
      return;
    }
    actors::api_call c;
    c.handler = &actors::visitor_read;
    c.tenant = ch.tenant;
    c.caller = who->visitor;
    c.params = {ch.tenant, ch.cfg->name};
    c.body = "{\"up_to\":" + std::to_string(*up_to) + "}";
    c.reply = visitor_reply(cors);
    ctx_.gateway.call(std::move(c));
  }

  /// `GET /chat/{t}/{c}/stream`: the visitor's own conversation. The token comes in `?token=`
  /// (an EventSource cannot send headers; the session never logs query strings) or in
  /// Authorization.
  void visitor_stream(const visitor_channel& ch, const header_pairs& cors) {
    std::string token;
    auto in_query = url::decoded_query_param(r_.query, "token");
    if (!in_query) {
      visitor_error(cors, in_query.err());
      return;
    }
    if (in_query->has_value()) {
      token = std::move(**in_query);
    } else {
      token = std::string(bearer_of(req_.header("Authorization")));
    }
    auto who = visitor_token(ch, cors, token);
    if (!who) {
      return;
    }
    auto named = url::decoded_query_param(r_.query, "visitor");
    if (!named) {
      visitor_error(cors, named.err());
      return;
    }
    if (named->has_value() && **named != who->visitor) {
      visitor_error(cors, error{errc::forbidden, "a visitor may read only their own conversation"});
      return;
    }
    auto params = parse_stream_params(r_.query, req_.header("Last-Event-ID"));
    if (!params) {
      visitor_error(cors, params.err());
      return;
    }
    visitor_stream_params p;
    p.tenant = ch.tenant;
    p.channel = ch.cfg->name;
    p.conversation = conversation_key::format(ch.cfg->name, who->visitor);
    p.visitor = std::move(who->visitor);
    p.subject = std::move(who->subject);
    p.after = params->after;
    ex_.open_visitor_stream(std::move(p), cors);
  }

  /// `GET /chat/{t}/{c}/widget.js`: the channel's widget, rendered once at start (its config
  /// in it), cached by ETag. Embeddable from any page: a <script> sends no Origin.
  void visitor_widget(const visitor_channel& ch) {
    if (ch.widget.empty()) {
      write_error(error{errc::not_found, "this channel has no widget"});
      return;
    }
    response res;
    res.headers = {{"ETag", ch.widget_etag},
                   {"Cache-Control", "public, max-age=300"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Cross-Origin-Resource-Policy", "cross-origin"}};
    if (etag_matches(req_.header("If-None-Match"), ch.widget_etag)) {
      res.status = 304;
      res.content_type.clear();
      ex_.respond(std::move(res));
      return;
    }
    res.content_type = "text/javascript; charset=utf-8";
    res.body = ch.widget;
    ex_.respond(std::move(res));
  }

  /// The operator console's static files (docs/console.md): `/console/` is index.html,
  /// `/console/{file}` the file of that name under web/console/ (one path segment, so nothing
  /// outside it), else 404. Open: the files hold no data; every call the page makes carries the
  /// token. The page runs under a Content-Security-Policy that allows only its own files (no
  /// inline script or style) and its own origin for fetch.
  void console() {
    std::string path = "console/";
    path += r_.params.empty() ? std::string("index.html") : r_.params.front();
    const asset* a = find_asset(path);
    if (a == nullptr) {
      write_error(error{errc::not_found, "no such console file"});
      return;
    }
    serve_asset(*a, console_headers());
  }

  /// Answers a compiled-in file with `headers` and its ETag: 304 without a body when the
  /// request's If-None-Match names it, else 200 with its content type and bytes.
  void serve_asset(const asset& a, std::vector<std::pair<std::string, std::string>> headers) {
    response res;
    res.headers = std::move(headers);
    res.headers.emplace_back("ETag", std::string(a.etag));
    if (etag_matches(req_.header("If-None-Match"), a.etag)) {
      res.status = 304;
      res.content_type.clear();
      ex_.respond(std::move(res));
      return;
    }
    res.content_type = std::string(a.content_type);
    res.body = std::string(a.bytes);
    ex_.respond(std::move(res));
  }

  /// `GET /v1/openapi.json` (docs/api.md): docs/openapi.json as compiled in, cached by ETag.
  /// Open and readable from any origin (no credentials are involved), so that an OpenAPI viewer
  /// served elsewhere can load it.
  void api_document() {
    const asset* a = find_asset("docs/openapi.json");
    if (a == nullptr) {  // the build embeds it (src/http/CMakeLists.txt): never in a real binary
      write_error(error{errc::not_found, "no API document in this build"});
      return;
    }
    serve_asset(*a, {{"Cache-Control", "no-cache"},
                     {"X-Content-Type-Options", "nosniff"},
                     {"Access-Control-Allow-Origin", "*"}});
  }

  /// `GET /v1/overview` (docs/console.md): an operator's token without `?tenant=` covers every
  /// tenant; otherwise the route's check (`admin`, the token's tenant, or the operator's named
  /// one) decides the one tenant covered.
  void overview() {
    std::string requested;
    if (auto t = url::raw_query_param(r_.query, "tenant")) {
      auto decoded = url::decode(*t);
      if (!decoded) {
        write_error(error{errc::bad_request, "parameter 'tenant' is malformed"});
        return;
      }
      requested = std::move(*decoded);
    }
    std::vector<std::string> tenants;
    if (requested.empty() && ctx_.tokens.find_operator(req_.header("Authorization")) != nullptr) {
      for (const auto& t : ctx_.cfg->tenants) {
        tenants.push_back(t.id);
      }
    } else {
      auto who = authorize(requested);
      if (!who) {
        write_auth_error(who.err());
        return;
      }
      tenants.push_back((*who)->tenant);
    }
    ctx_.gateway.overview(std::move(tenants), ex_.await_gateway());
  }

  /// A control-plane call: an operator's token, then the call to the control plane's worker,
  /// which answers once the change is stored and applied.
  void control() {
    if (auto allowed = authorize(""); !allowed) {
      write_auth_error(allowed.err());
      return;
    }
    if (ctx_.control == nullptr) {
      write_error(error{errc::unavailable, "the control plane is not running here"});
      return;
    }
    const std::string* op = ctx_.tokens.find_operator(req_.header("Authorization"));
    control::request c;
    c.op = r_.def->control;
    c.params = r_.params;
    c.query = std::string(r_.query);
    c.body = std::move(req_.body());
    c.operator_name = op != nullptr ? *op : std::string();
    if (!c.params.empty()) {
      ex_.identify(c.params.front(), "");
    }
    auto reply = ex_.await_gateway();
    ctx_.control->submit(std::move(c), [reply](response res) { reply->answer(std::move(res)); });
  }

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

dispatch_context::dispatch_context(std::shared_ptr<const config::config> c, actors::gateway& g,
                                   const dispatch_context* previous)
    : cfg(std::move(c)),
      gateway(g),
      tokens(*cfg),
      directory(*cfg, previous != nullptr ? &previous->directory : nullptr),
      ingress(*cfg, previous != nullptr ? &previous->ingress : nullptr),
      trusted(parse_trusted_proxies(cfg->server.trusted_proxies)),
      platform(*cfg, ingress),
      metrics(cfg->server),
      metrics_apart(!cfg->server.metrics.listen.empty()),
      visitors(*cfg) {}

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

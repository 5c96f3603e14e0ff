#include "http/routes.hpp"

#include <array>
#include <atomic>

#include "actors/api_handlers.hpp"
#include "core/metrics.hpp"
#include "core/url.hpp"

namespace sb::http {

namespace {

using config::scope;

/// A route of a platform: `POST` a webhook, `GET` the subscription handshake.
route_def webhook(std::string_view method, std::string_view name) {
  route_def d;
  d.method = method;
  d.pattern = "/webhooks/{tenant}/{channel}";
  d.name = name;
  d.who = access::platform;
  d.kind = handler_kind::webhook;
  d.slash_in_params = true;
  return d;
}

/// A route the HTTP layer serves itself, needing a token with `needed`.
route_def edge(std::string_view method, std::string_view pattern, std::string_view name,
               handler_kind kind, scope needed) {
  route_def d;
  d.method = method;
  d.pattern = pattern;
  d.name = name;
  d.who = access::token;
  d.scope = needed;
  d.kind = kind;
  return d;
}

/// A route the HTTP layer serves itself, open or with other credentials than a scope.
route_def edge(std::string_view method, std::string_view pattern, std::string_view name,
               handler_kind kind, access who, served_on where = served_on::main) {
  route_def d;
  d.method = method;
  d.pattern = pattern;
  d.name = name;
  d.who = who;
  d.kind = kind;
  d.where = where;
  return d;
}

/// An API call the actors serve (`handler`), needing a token with `needed`.
route_def call(std::string_view method, std::string_view pattern, std::string_view name,
               scope needed, actors::api_handler handler) {
  route_def d = edge(method, pattern, name, handler_kind::api, needed);
  d.api = handler;
  return d;
}

/// An API call the actors serve (`handler`) without a token: open, or signed by a platform.
route_def call(std::string_view method, std::string_view pattern, std::string_view name, access who,
               actors::api_handler handler) {
  route_def d = edge(method, pattern, name, handler_kind::api, who);
  d.api = handler;
  return d;
}

/// A control-plane call (src/control/plane.hpp), for operators only.
route_def admin(std::string_view method, std::string_view pattern, std::string_view name,
                control::operation op) {
  route_def d = edge(method, pattern, name, handler_kind::control, access::operator_);
  d.control = op;
  return d;
}

/// The handler list. Entries with the same pattern keep their order: it is the order of the
/// methods in a 405's Allow.
std::vector<route_def> handler_list() {
  return {
      // Platforms (docs/DESIGN.md §4), first: the busiest routes.
      webhook("GET", "webhook.handshake"),
      webhook("POST", "webhook.receive"),
      call("POST", "/webhooks/{tenant}/{channel}/data-deletion", "meta.data_deletion",
           access::platform, &actors::meta_data_deletion),
      // Web chat visitors (docs/webchat.md): the gateway is the platform.
      edge("OPTIONS", "/chat/{tenant}/{channel}/sessions", "visitor.sessions.preflight",
           handler_kind::visitor_preflight, access::open),
      edge("POST", "/chat/{tenant}/{channel}/sessions", "visitor.session",
           handler_kind::visitor_session, access::visitor),
      edge("OPTIONS", "/chat/{tenant}/{channel}/messages", "visitor.messages.preflight",
           handler_kind::visitor_preflight, access::open),
      edge("POST", "/chat/{tenant}/{channel}/messages", "visitor.message",
           handler_kind::visitor_message, access::visitor),
      edge("OPTIONS", "/chat/{tenant}/{channel}/read", "visitor.read.preflight",
           handler_kind::visitor_preflight, access::open),
      edge("POST", "/chat/{tenant}/{channel}/read", "visitor.read", handler_kind::visitor_read,
           access::visitor),
      edge("GET", "/chat/{tenant}/{channel}/stream", "visitor.stream", handler_kind::visitor_stream,
           access::visitor),
      edge("GET", "/chat/{tenant}/{channel}/widget.js", "visitor.widget", handler_kind::widget,
           access::open),
      // The operator console (docs/console.md): static files, open (they hold no data); the
      // API calls the page makes carry the operator's token.
      edge("GET", "/console/", "console.index", handler_kind::console, access::open),
      edge("GET", "/console/{file}", "console.file", handler_kind::console, access::open),
      edge("GET", "/v1/overview", "console.overview", handler_kind::overview, scope::admin),
      // Subscribers and backends (§6).
      edge("GET", "/v1/events", "events.list", handler_kind::events, scope::stream),
      edge("GET", "/v1/stream", "events.stream", handler_kind::stream, scope::stream),
      edge("GET", "/v1/subscribers/{name}/dead-letters", "dead_letters.list",
           handler_kind::dead_letters, access::subscriber),
      edge("POST", "/v1/subscribers/{name}/redrive", "dead_letters.redrive", handler_kind::redrive,
           access::subscriber),
      call("POST", "/v1/subscribers/{name}/enable", "subscriber.enable", scope::admin,
           &actors::enable_subscriber),
      // Outbound (docs/outbound.md).
      call("POST", "/v1/messages", "message.send", scope::send, &actors::send_message),
      call("GET", "/v1/messages/{id}", "message.get", scope::send, &actors::get_message),
      // Privacy (§7, docs/privacy.md).
      call("GET", "/v1/subjects/{subject}", "subject.export", scope::privacy,
           &actors::export_subject),
      call("DELETE", "/v1/subjects/{subject}", "subject.erase", scope::privacy,
           &actors::erase_subject),
      call("PUT", "/v1/subjects/{subject}/consent", "subject.consent", scope::privacy,
           &actors::put_consent),
      call("POST", "/v1/subjects/{subject}/restrict", "subject.restrict", scope::privacy,
           &actors::restrict_subject),
      call("GET", "/v1/audit", "audit.list", scope::admin, &actors::list_audit),
      call("GET", "/v1/deletion-status/{code}", "deletion.status", access::open,
           &actors::deletion_status),
      // Quarantine (docs/operations.md).
      call("GET", "/v1/quarantine", "quarantine.list", scope::admin, &actors::list_quarantine),
      call("DELETE", "/v1/quarantine", "quarantine.purge_channel", scope::admin,
           &actors::purge_quarantine_of_channel),
      call("GET", "/v1/quarantine/{id}", "quarantine.get", scope::admin, &actors::get_quarantined),
      call("DELETE", "/v1/quarantine/{id}", "quarantine.purge", scope::admin,
           &actors::purge_quarantined),
      call("POST", "/v1/quarantine/{id}/reingest", "quarantine.reingest", scope::admin,
           &actors::reingest_quarantined),
      // The control plane (docs/control-plane.md): operators only.
      admin("GET", "/v1/admin/tenants", "admin.tenants.list", control::operation::list_tenants),
      admin("POST", "/v1/admin/tenants", "admin.tenants.create", control::operation::create_tenant),
      admin("GET", "/v1/admin/tenants/{tenant}", "admin.tenant.get",
            control::operation::get_tenant),
      admin("PATCH", "/v1/admin/tenants/{tenant}", "admin.tenant.update",
            control::operation::update_tenant),
      admin("DELETE", "/v1/admin/tenants/{tenant}", "admin.tenant.delete",
            control::operation::delete_tenant),
      admin("POST", "/v1/admin/tenants/{tenant}/channels", "admin.channels.create",
            control::operation::create_channel),
      admin("GET", "/v1/admin/tenants/{tenant}/channels/{channel}", "admin.channel.get",
            control::operation::get_channel),
      admin("PATCH", "/v1/admin/tenants/{tenant}/channels/{channel}", "admin.channel.update",
            control::operation::update_channel),
      admin("DELETE", "/v1/admin/tenants/{tenant}/channels/{channel}", "admin.channel.delete",
            control::operation::delete_channel),
      admin("POST", "/v1/admin/tenants/{tenant}/subscribers", "admin.subscribers.create",
            control::operation::create_subscriber),
      admin("GET", "/v1/admin/tenants/{tenant}/subscribers/{subscriber}", "admin.subscriber.get",
            control::operation::get_subscriber),
      admin("PATCH", "/v1/admin/tenants/{tenant}/subscribers/{subscriber}",
            "admin.subscriber.update", control::operation::update_subscriber),
      admin("DELETE", "/v1/admin/tenants/{tenant}/subscribers/{subscriber}",
            "admin.subscriber.delete", control::operation::delete_subscriber),
      admin("POST", "/v1/admin/tenants/{tenant}/subscribers/{subscriber}/rotate-token",
            "admin.subscriber.rotate_token", control::operation::rotate_token),
      // Operations (docs/operations.md): also, or only, on `server.metrics.listen`.
      edge("GET", "/healthz", "healthz", handler_kind::healthz, access::open, served_on::both),
      edge("GET", "/readyz", "readyz", handler_kind::readyz, access::open, served_on::both),
      edge("GET", "/metrics", "metrics", handler_kind::metrics, access::metrics, served_on::ops),
      // The API's own description (docs/api.md): every entry of this list is in it, and nothing
      // else (tests/unit/http/openapi_test.cpp).
      edge("GET", "/v1/openapi.json", "openapi.document", handler_kind::api_document, access::open),
  };
}

/// More path segments than any pattern has: such a path matches nothing.
constexpr std::size_t k_max_segments = 8;

/// A path or pattern cut at '/': "/a/b" is {"a", "b"}, "/" is {""}.
struct segments {
  std::array<std::string_view, k_max_segments> at{};
  std::size_t size = 0;
};

/// False when `path` does not start with '/' or has more than `k_max_segments` segments.
bool split(std::string_view path, segments& out) {
  if (path.empty() || path.front() != '/') {
    return false;
  }
  path.remove_prefix(1);
  for (;;) {
    if (out.size == k_max_segments) {
      return false;
    }
    auto slash = path.find('/');
    out.at[out.size++] = path.substr(0, slash);
    if (slash == std::string_view::npos) {
      return true;
    }
    path.remove_prefix(slash + 1);
  }
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// The patterns of `routes()`, cut once.
const std::vector<segments>& patterns() {
  static const std::vector<segments> cut = [] {
    std::vector<segments> out;
    for (const auto& r : routes()) {
      segments s;
      split(r.pattern, s);
      out.push_back(s);
    }
    return out;
  }();
  return cut;
}

/// The path has the pattern's literal segments and a non-empty segment for each parameter.
bool same_shape(const segments& pattern, const segments& path) {
  if (pattern.size != path.size) {
    return false;
  }
  for (std::size_t i = 0; i < path.size; ++i) {
    if (is_param(pattern.at[i]) ? path.at[i].empty() : pattern.at[i] != path.at[i]) {
      return false;
    }
  }
  return true;
}

/// The decoded parameters; false when one is malformed or (unless allowed) decodes to a '/'.
bool decode_params(const segments& pattern, const segments& path, bool slash_ok,
                   std::vector<std::string>& out) {
  out.clear();
  for (std::size_t i = 0; i < path.size; ++i) {
    if (!is_param(pattern.at[i])) {
      continue;
    }
    auto decoded = url::decode_segment(path.at[i]);
    if (!decoded || (!slash_ok && decoded->find('/') != std::string::npos)) {
      return false;
    }
    out.push_back(std::move(*decoded));
  }
  return true;
}

route not_found(std::string_view path) {
  route r;
  r.err = error{errc::not_found, "no route for " + std::string(path)};
  return r;
}

route wrong_method(std::string_view method, std::string_view allow) {
  route r;
  r.err = error{errc::method_not_allowed,
                std::string(method) + " is not allowed here; use " + std::string(allow)};
  r.allow = allow;
  return r;
}

}  // namespace

const std::vector<route_def>& routes() {
  static const std::vector<route_def> table = [] {
    auto t = handler_list();
    for (auto& r : t) {
      for (const auto& other : t) {
        if (other.pattern == r.pattern) {
          r.allow.append(r.allow.empty() ? "" : ", ").append(other.method);
        }
      }
    }
    return t;
  }();
  return table;
}

route match_route(std::string_view method, std::string_view target) {
  // Absolute form (RFC 7230 §5.3.2): drop "scheme://authority".
  if (auto scheme = target.find("://");
      scheme != std::string_view::npos && !target.empty() && target[0] != '/') {
    auto path_start = target.find('/', scheme + 3);
    target =
        path_start == std::string_view::npos ? std::string_view{"/"} : target.substr(path_start);
  }
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  segments segs;
  if (!split(path, segs)) {
    return not_found(path);
  }
  const auto& table = routes();
  const auto& cut = patterns();
  // Entries of one pattern match the same paths (and different patterns never the same path:
  // tests/unit/http/routes_test.cpp), so the first entry of the path's pattern with another
  // method stands for all of them in a 405.
  const route_def* other_method = nullptr;
  std::size_t other_index = 0;
  route r;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const route_def& def = table[i];
    if (!same_shape(cut[i], segs)) {
      continue;
    }
    if (def.method != method) {
      if (other_method == nullptr) {
        other_method = &def;
        other_index = i;
      }
      continue;
    }
    if (decode_params(cut[i], segs, def.slash_in_params, r.params)) {
      r.def = &def;
      r.query = query;
      return r;
    }
  }
  if (other_method != nullptr &&
      decode_params(cut[other_index], segs, other_method->slash_in_params, r.params)) {
    return wrong_method(method, other_method->allow);
  }
  return not_found(path);
}

void count_request(const route_def* def, int status) {
  constexpr int min_status = 100;
  constexpr int max_status = 599;
  constexpr std::size_t statuses = max_status - min_status + 1;
  const auto& table = routes();
  // One slot per (route, status), the last route being "unmatched": resolved through the
  // registry the first time, then cached.
  static std::vector<std::atomic<metrics::counter*>> cache((table.size() + 1) * statuses);
  if (status < min_status || status > max_status) {
    status = 500;
  }
  const auto row = def == nullptr ? table.size() : static_cast<std::size_t>(def - table.data());
  auto& slot = cache[row * statuses + static_cast<std::size_t>(status - min_status)];
  metrics::counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    std::string_view label = def == nullptr ? std::string_view{"unmatched"} : def->pattern;
    c = &metrics::catalog::http_requests().with(
        {{"route", label}, {"status", std::to_string(status)}});
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

}  // namespace sb::http

#include "http/router.hpp"

#include <simdjson.h>

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>

#include "core/metrics.hpp"
#include "core/url.hpp"

namespace sb::http {

namespace {

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

/// `?tenant=`: `out` keeps its default when absent.
status parse_tenant(std::string_view query, std::string& out) {
  auto tenant = url::decoded_query_param(query, "tenant");
  if (!tenant) {
    return tenant.err();
  }
  if (tenant->has_value()) {
    out = std::move(**tenant);
  }
  return {};
}

/// Everything but `limit`, shared by both calls.
status parse_common(std::string_view query, stream_params& out) {
  if (auto st = url::parse_after_param(query, out.after); !st) {
    return st;
  }
  auto types = url::decoded_query_param(query, "types");
  if (!types) {
    return types.err();
  }
  if (types->has_value()) {
    std::string_view list = **types;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view t = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!t.empty() && t.front() == ' ') {
        t.remove_prefix(1);
      }
      while (!t.empty() && t.back() == ' ') {
        t.remove_suffix(1);
      }
      if (!t.empty()) {
        out.types.emplace_back(t);
      }
    }
  }
  if (auto st = parse_tenant(query, out.tenant); !st) {
    return st;
  }
  return {};
}

/// Matches `path` against a template; fills `params` with the decoded "{}" segments.
bool match_template(std::string_view tmpl, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  while (!tmpl.empty() || !path.empty()) {
    auto brace = tmpl.find("{}");
    if (brace == std::string_view::npos) {
      return tmpl == path;
    }
    if (path.substr(0, brace) != tmpl.substr(0, brace)) {
      return false;
    }
    tmpl.remove_prefix(brace + 2);
    path.remove_prefix(brace);
    auto end = path.find('/');
    std::string_view segment = path.substr(0, end);
    if (segment.empty()) {
      return false;
    }
    auto decoded = url::decode_segment(segment);
    if (!decoded || decoded->find('/') != std::string::npos) {
      return false;
    }
    params.push_back(std::move(*decoded));
    path.remove_prefix(segment.size());
  }
  return true;
}

}  // namespace

const std::vector<api_route>& api_routes() {
  using config::scope;
  static const std::vector<api_route> routes{
      {"GET", "/v1/subjects/{}", "subject.export", "/v1/subjects/{subject}",
       static_cast<unsigned>(scope::privacy)},
      {"DELETE", "/v1/subjects/{}", "subject.erase", "/v1/subjects/{subject}",
       static_cast<unsigned>(scope::privacy)},
      {"PUT", "/v1/subjects/{}/consent", "subject.consent", "/v1/subjects/{subject}/consent",
       static_cast<unsigned>(scope::privacy)},
      {"POST", "/v1/subjects/{}/restrict", "subject.restrict", "/v1/subjects/{subject}/restrict",
       static_cast<unsigned>(scope::privacy)},
      {"GET", "/v1/audit", "audit.list", "/v1/audit", static_cast<unsigned>(scope::admin)},
      {"GET", "/v1/deletion-status/{}", "deletion.status", "/v1/deletion-status/{code}", 0},
      {"POST", "/webhooks/{}/{}/data-deletion", "meta.data_deletion",
       "/webhooks/{tenant}/{channel}/data-deletion", 0},
      {"POST", "/v1/messages", "message.send", "/v1/messages", static_cast<unsigned>(scope::send)},
      {"GET", "/v1/messages/{}", "message.get", "/v1/messages/{id}",
       static_cast<unsigned>(scope::send)},
      {"GET", "/v1/quarantine", "quarantine.list", "/v1/quarantine",
       static_cast<unsigned>(scope::admin)},
      {"DELETE", "/v1/quarantine", "quarantine.purge_channel", "/v1/quarantine",
       static_cast<unsigned>(scope::admin)},
      {"GET", "/v1/quarantine/{}", "quarantine.get", "/v1/quarantine/{id}",
       static_cast<unsigned>(scope::admin)},
      {"DELETE", "/v1/quarantine/{}", "quarantine.purge", "/v1/quarantine/{id}",
       static_cast<unsigned>(scope::admin)},
      {"POST", "/v1/quarantine/{}/reingest", "quarantine.reingest", "/v1/quarantine/{id}/reingest",
       static_cast<unsigned>(scope::admin)},
      {"POST", "/v1/subscribers/{}/enable", "subscriber.enable", "/v1/subscribers/{name}/enable",
       static_cast<unsigned>(scope::admin)},
  };
  return routes;
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

  {
    std::vector<std::string> params;
    std::string allow;  // methods of the routes whose path matched
    for (const auto& api : api_routes()) {
      if (!match_template(api.path, path, params)) {
        continue;
      }
      if (api.method == method) {
        route r;
        r.kind = route_kind::api;
        r.api = &api;
        r.params = std::move(params);
        r.query = query;
        return r;
      }
      allow.append(allow.empty() ? "" : ", ").append(api.method);
    }
    if (!allow.empty()) {
      // The Allow value must outlive the route: intern the few combinations there are.
      static std::mutex mutex;
      static std::set<std::string> interned;
      std::lock_guard<std::mutex> guard(mutex);
      return wrong_method(method, *interned.insert(std::move(allow)).first);
    }
  }

  constexpr std::string_view webhooks = "/webhooks/";
  if (path.substr(0, webhooks.size()) == webhooks) {
    std::string_view rest = path.substr(webhooks.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size() ||
        rest.find('/', slash + 1) != std::string_view::npos) {
      return not_found(path);
    }
    auto tenant = url::decode_segment(rest.substr(0, slash));
    auto channel = url::decode_segment(rest.substr(slash + 1));
    if (!tenant || !channel) {
      return not_found(path);
    }
    if (method != "POST" && method != "GET") {
      return wrong_method(method, "GET, POST");
    }
    route r;
    r.kind = route_kind::webhook;
    r.tenant = std::move(*tenant);
    r.channel = std::move(*channel);
    r.query = query;
    return r;
  }

  constexpr std::string_view subscribers = "/v1/subscribers/";
  if (path.substr(0, subscribers.size()) == subscribers) {
    std::string_view rest = path.substr(subscribers.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) {
      return not_found(path);
    }
    std::string_view action = rest.substr(slash + 1);
    auto name = url::decode_segment(rest.substr(0, slash));
    if (!name || name->find('/') != std::string::npos) {
      return not_found(path);
    }
    route r;
    if (action == "dead-letters") {
      if (method != "GET") {
        return wrong_method(method, "GET");
      }
      r.kind = route_kind::dead_letters;
    } else if (action == "redrive") {
      if (method != "POST") {
        return wrong_method(method, "POST");
      }
      r.kind = route_kind::redrive;
    } else {
      return not_found(path);
    }
    r.subscriber = std::move(*name);
    r.query = query;
    return r;
  }

  route_kind kind = route_kind::none;
  if (path == "/v1/events") {
    kind = route_kind::events;
  } else if (path == "/v1/stream") {
    kind = route_kind::stream;
  } else if (path == "/healthz") {
    kind = route_kind::healthz;
  } else if (path == "/readyz") {
    kind = route_kind::readyz;
  } else if (path == "/metrics") {
    kind = route_kind::metrics;
  } else {
    return not_found(path);
  }
  if (method != "GET") {
    return wrong_method(method, "GET");
  }
  route r;
  r.kind = kind;
  r.query = query;
  return r;
}

std::string_view route_template(route_kind k) noexcept {
  switch (k) {
    case route_kind::none:
      return "unmatched";
    case route_kind::webhook:
      return "/webhooks/{tenant}/{channel}";
    case route_kind::events:
      return "/v1/events";
    case route_kind::stream:
      return "/v1/stream";
    case route_kind::healthz:
      return "/healthz";
    case route_kind::readyz:
      return "/readyz";
    case route_kind::dead_letters:
      return "/v1/subscribers/{name}/dead-letters";
    case route_kind::redrive:
      return "/v1/subscribers/{name}/redrive";
    case route_kind::metrics:
      return "/metrics";
    case route_kind::api:
      return "api";
  }
  return "unmatched";
}

void count_request(route_kind k, int status, const api_route* api) {
  if (k == route_kind::api && api != nullptr) {
    // API routes: one counter per (route, status) through the registry; these calls are rare
    // next to webhooks, so the registry's lookup is no burden.
    if (status < 100 || status > 599) {
      status = 500;
    }
    metrics::catalog::http_requests().with({api->metric, std::to_string(status)}).inc();
    return;
  }
  constexpr std::size_t kinds = static_cast<std::size_t>(route_kind::api) + 1;
  constexpr int min_status = 100;
  constexpr int max_status = 599;
  // One slot per (route, status): resolved through the registry the first time, then cached.
  static std::array<std::atomic<metrics::counter*>, kinds*(max_status - min_status + 1)> cache{};
  if (status < min_status || status > max_status) {
    status = 500;
  }
  auto& slot = cache[static_cast<std::size_t>(k) * (max_status - min_status + 1) +
                     static_cast<std::size_t>(status - min_status)];
  metrics::counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &metrics::catalog::http_requests().with({route_template(k), std::to_string(status)});
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

result<stream_params> parse_events_params(std::string_view query) {
  stream_params p;
  if (auto st = parse_common(query, p); !st) {
    return st.err();
  }
  if (auto st = url::parse_limit_param(query, max_limit, p.limit); !st) {
    return st.err();
  }
  return p;
}

result<dead_letter_params> parse_dead_letter_params(std::string_view query) {
  dead_letter_params p;
  if (auto st = url::parse_after_param(query, p.after); !st) {
    return st.err();
  }
  if (auto st = url::parse_limit_param(query, max_limit, p.limit); !st) {
    return st.err();
  }
  if (auto st = parse_tenant(query, p.tenant); !st) {
    return st.err();
  }
  return p;
}

result<redrive_body> parse_redrive_body(std::string_view body) {
  const error bad{errc::bad_request,
                  R"(the body must be {"all":true} or {"ids":[<dead letter id>, ...]})"};
  // A parser per call: redrives are rare, and this keeps the router free of shared state.
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS) {
    return bad;
  }
  redrive_body out;
  bool has_all = false;
  bool has_ids = false;
  for (auto field : object) {
    if (field.key == "all" && !has_all) {
      has_all = true;
      bool all = false;
      if (field.value.get_bool().get(all) != simdjson::SUCCESS || !all) {
        return error{errc::bad_request, R"('all' must be true (or give "ids"))"};
      }
      out.all = true;
    } else if (field.key == "ids" && !has_ids) {
      has_ids = true;
      simdjson::dom::array ids;
      if (field.value.get_array().get(ids) != simdjson::SUCCESS) {
        return error{errc::bad_request, "'ids' must be an array of dead letter ids"};
      }
      for (auto element : ids) {
        std::uint64_t id = 0;
        if (element.get_uint64().get(id) != simdjson::SUCCESS || id == 0) {
          return error{errc::bad_request, "'ids' must hold positive integers"};
        }
        if (out.ids.size() == max_limit) {
          return error{errc::bad_request,
                       "at most " + std::to_string(max_limit) + " ids per redrive"};
        }
        out.ids.push_back(id);
      }
    } else {
      return bad;
    }
  }
  if (has_all == has_ids || (has_ids && out.ids.empty())) {
    return bad;
  }
  return out;
}

result<const principal*> authorize_subscriber_call(const token_index& tokens,
                                                   std::string_view authorization,
                                                   std::string_view requested_tenant,
                                                   std::string_view subscriber) {
  auto admin = tokens.authenticate(authorization, config::scope::admin, requested_tenant);
  if (admin || admin.err().code == errc::unauthorized) {
    return admin;
  }
  // Not an admin of that tenant: the subscriber's own token with `stream` will do.
  const principal* p = tokens.find(bearer_token(authorization));
  if (p != nullptr && p->subscriber == subscriber && p->has_scope(config::scope::stream) &&
      (requested_tenant.empty() || requested_tenant == p->tenant)) {
    return p;
  }
  if (p != nullptr && !requested_tenant.empty() && requested_tenant != p->tenant) {
    return error{errc::forbidden, "the token does not belong to this tenant"};
  }
  return error{errc::forbidden,
               "needs a token with the 'admin' scope, or the subscriber's own token with "
               "'stream'"};
}

result<stream_params> parse_stream_params(std::string_view query, std::string_view last_event_id) {
  stream_params p;
  if (auto st = parse_common(query, p); !st) {
    return st.err();
  }
  while (!last_event_id.empty() && last_event_id.back() == ' ') {
    last_event_id.remove_suffix(1);
  }
  if (!last_event_id.empty()) {
    auto v = url::parse_u64(last_event_id);
    if (!v) {
      return error{errc::bad_request, "header 'Last-Event-ID' must be a non-negative integer"};
    }
    p.after = *v;
  }
  return p;
}

error unknown_endpoint() {
  return error{errc::unknown_channel, "no such channel for this tenant"};
}

channel_directory::channel_directory(const config::config& cfg) {
  const auto& per_channel = cfg.limits.auth_failures_per_channel;
  for (const auto& t : cfg.tenants) {
    auto& channels = tenants_[t.id];
    for (const auto& c : t.channels) {
      channel_entry e;
      e.cfg = &c;
      e.info = adapters::find(c.type);
      if (e.info != nullptr) {
        e.verifier = e.info->make(c);
      }
      if (per_channel.rps > 0) {
        e.failures = std::make_unique<shared_bucket>(
            outbound::token_bucket::per_second(per_channel.rps, per_channel.burst));
      }
      channels.emplace(c.name, std::move(e));
    }
  }
}

result<const channel_entry*> channel_directory::find(const std::string& tenant,
                                                     const std::string& channel) const {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) {
    return unknown_endpoint();
  }
  auto c = t->second.find(channel);
  if (c == t->second.end()) {
    return unknown_endpoint();
  }
  return &c->second;
}

}  // namespace sb::http

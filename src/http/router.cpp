#include "http/router.hpp"

#include <simdjson.h>

#include <optional>

#include "core/url.hpp"

namespace sb::http {

namespace {

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

}  // namespace

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

result<const principal*> authorize_route(const route_def& def, const token_index& tokens,
                                         const metrics_access& metrics,
                                         std::string_view authorization,
                                         std::string_view requested_tenant,
                                         std::string_view subscriber) {
  switch (def.who) {
    case access::token:
      return tokens.authenticate(authorization, def.scope, requested_tenant);
    case access::subscriber:
      return authorize_subscriber_call(tokens, authorization, requested_tenant, subscriber);
    case access::metrics:
      if (auto allowed = metrics.check(authorization); !allowed) {
        return allowed.err();
      }
      break;
    case access::operator_:
      if (tokens.find_operator(authorization) != nullptr) {
        break;
      }
      if (tokens.find(bearer_token(authorization)) != nullptr) {
        return error{errc::forbidden, "needs an operator's token (the config's operators)"};
      }
      return error{errc::unauthorized, "needs an operator's bearer token"};
    case access::open:
    case access::platform:
    case access::visitor:  // the visitor gate checks the Origin and the session token
      break;
  }
  return static_cast<const principal*>(nullptr);
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

channel_directory::channel_directory(const config::config& cfg, const channel_directory* previous)
    : per_channel_(cfg.limits.auth_failures_per_channel) {
  if (previous != nullptr && (previous->per_channel_.rps != per_channel_.rps ||
                              previous->per_channel_.burst != per_channel_.burst)) {
    previous = nullptr;  // every budget is made afresh
  }
  tenants_.reserve(cfg.tenants.size());
  for (const auto& t : cfg.tenants) {
    auto& channels = tenants_[t.id];
    for (const auto& c : t.channels) {
      if (auto kept = reusable(previous, t.id, c)) {
        channels.emplace(c.name, std::move(kept));
        continue;
      }
      auto e = std::make_shared<channel_entry>();
      e->cfg = std::make_shared<const config::channel_config>(c);
      e->info = adapters::find(c.type);
      if (e->info != nullptr) {
        e->verifier = e->info->make(c);
        e->previous_cfg = config::with_previous_secrets(c);
        if (e->previous_cfg) {
          e->previous_verifier = e->info->make(*e->previous_cfg);
        }
      }
      e->previous_matched = &metrics::catalog::webhook_previous_secret().with(
          {{"tenant", t.id}, {"channel", c.name}});
      e->rejections = &metrics::catalog::webhook_rejections(t.id, c.name);
      if (per_channel_.rps > 0) {
        e->failures = std::make_unique<shared_bucket>(
            token_bucket::per_second(per_channel_.rps, per_channel_.burst));
      }
      channels.emplace(c.name, std::move(e));
    }
  }
}

std::shared_ptr<const channel_entry> channel_directory::reusable(const channel_directory* previous,
                                                                 const std::string& tenant,
                                                                 const config::channel_config& c) {
  if (previous == nullptr) {
    return nullptr;
  }
  auto t = previous->tenants_.find(tenant);
  if (t == previous->tenants_.end()) {
    return nullptr;
  }
  auto e = t->second.find(c.name);
  if (e == t->second.end()) {
    return nullptr;
  }
  const auto& was = *e->second->cfg;
  return was.type == c.type && was.settings == c.settings ? e->second : nullptr;
}

const metrics::catalog::webhook_rejection_set& channel_directory::rejections(
    const std::string& tenant, const std::string& channel) const {
  if (auto c = find(tenant, channel); c && (*c)->rejections != nullptr) {
    return *(*c)->rejections;
  }
  return metrics::catalog::webhook_rejections("", "");
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
  return c->second.get();
}

}  // namespace sb::http

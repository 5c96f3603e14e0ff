#include "http/router.hpp"

#include <optional>

#include "core/url.hpp"

namespace sb::http {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Percent-decoding of a path segment ('+' stays '+': form encoding is for queries only).
std::optional<std::string> decode_segment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return std::nullopt;
    }
    int hi = hex_digit(s[i + 1]);
    int lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return out;
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

/// The raw (undecoded) value of the first `name=value` pair; "" for a bare `name`.
std::optional<std::string_view> raw_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

/// The decoded parameter; nullopt when absent; an error when its escapes are malformed.
result<std::optional<std::string>> param(std::string_view query, std::string_view name) {
  auto raw = raw_param(query, name);
  if (!raw) {
    return std::optional<std::string>{};
  }
  auto decoded = url::decode(*raw);
  if (!decoded) {
    return error{errc::bad_request, "parameter '" + std::string(name) + "' is malformed"};
  }
  return std::optional<std::string>{std::move(*decoded)};
}

/// A non-negative decimal that fits in 64 bits.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  return v;
}

error bad_number(std::string_view name) {
  return error{errc::bad_request,
               "parameter '" + std::string(name) + "' must be a non-negative integer"};
}

/// `?limit=`: 1.., clamped to `max_limit`; `out` keeps its default when absent.
status parse_limit(std::string_view query, std::size_t& out) {
  auto limit = param(query, "limit");
  if (!limit) {
    return limit.err();
  }
  if (limit->has_value()) {
    auto v = parse_u64(**limit);
    if (!v || *v == 0) {
      return error{errc::bad_request,
                   "parameter 'limit' must be an integer from 1 to " + std::to_string(max_limit)};
    }
    out = *v > max_limit ? max_limit : static_cast<std::size_t>(*v);
  }
  return {};
}

/// Just enough JSON for the small request bodies of the backend API: punctuation, plain strings
/// (no escapes: the keys we accept have none), unsigned integers and literals, with JSON
/// whitespace between tokens. Anything else fails, and the caller answers 400.
struct body_reader {
  std::string_view in;

  void skip_space() {
    while (!in.empty() &&
           (in.front() == ' ' || in.front() == '\t' || in.front() == '\n' || in.front() == '\r')) {
      in.remove_prefix(1);
    }
  }
  bool eat(char c) {
    skip_space();
    if (!in.empty() && in.front() == c) {
      in.remove_prefix(1);
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    skip_space();
    if (in.substr(0, word.size()) != word) {
      return false;
    }
    in.remove_prefix(word.size());
    return true;
  }
  std::optional<std::string_view> string() {
    if (!eat('"')) {
      return std::nullopt;
    }
    auto end = in.find_first_of("\"\\");
    if (end == std::string_view::npos || in[end] != '"') {
      return std::nullopt;
    }
    auto s = in.substr(0, end);
    in.remove_prefix(end + 1);
    return s;
  }
  std::optional<std::uint64_t> number() {
    skip_space();
    std::size_t n = 0;
    while (n < in.size() && in[n] >= '0' && in[n] <= '9') {
      ++n;
    }
    if (n == 0 || (n > 1 && in[0] == '0')) {
      return std::nullopt;
    }
    auto v = parse_u64(in.substr(0, n));
    in.remove_prefix(n);
    return v;
  }
  bool at_end() {
    skip_space();
    return in.empty();
  }
};

/// Everything but `limit`, shared by both calls.
status parse_common(std::string_view query, stream_params& out) {
  auto after = param(query, "after");
  if (!after) {
    return after.err();
  }
  if (after->has_value()) {
    auto v = parse_u64(**after);
    if (!v) {
      return bad_number("after");
    }
    out.after = *v;
  }
  auto types = param(query, "types");
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
  auto tenant = param(query, "tenant");
  if (!tenant) {
    return tenant.err();
  }
  if (tenant->has_value()) {
    out.tenant = std::move(**tenant);
  }
  return {};
}

}  // namespace

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

  constexpr std::string_view webhooks = "/webhooks/";
  if (path.substr(0, webhooks.size()) == webhooks) {
    std::string_view rest = path.substr(webhooks.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size() ||
        rest.find('/', slash + 1) != std::string_view::npos) {
      return not_found(path);
    }
    auto tenant = decode_segment(rest.substr(0, slash));
    auto channel = decode_segment(rest.substr(slash + 1));
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
    auto name = decode_segment(rest.substr(0, slash));
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

result<stream_params> parse_events_params(std::string_view query) {
  stream_params p;
  if (auto st = parse_common(query, p); !st) {
    return st.err();
  }
  if (auto st = parse_limit(query, p.limit); !st) {
    return st.err();
  }
  return p;
}

result<dead_letter_params> parse_dead_letter_params(std::string_view query) {
  dead_letter_params p;
  auto after = param(query, "after");
  if (!after) {
    return after.err();
  }
  if (after->has_value()) {
    auto v = parse_u64(**after);
    if (!v) {
      return bad_number("after");
    }
    p.after = *v;
  }
  if (auto st = parse_limit(query, p.limit); !st) {
    return st.err();
  }
  auto tenant = param(query, "tenant");
  if (!tenant) {
    return tenant.err();
  }
  if (tenant->has_value()) {
    p.tenant = std::move(**tenant);
  }
  return p;
}

result<redrive_body> parse_redrive_body(std::string_view body) {
  body_reader in{body};
  const error bad{errc::bad_request,
                  R"(the body must be {"all":true} or {"ids":[<dead letter id>, ...]})"};
  redrive_body out;
  bool has_all = false;
  bool has_ids = false;
  if (!in.eat('{')) {
    return bad;
  }
  if (!in.eat('}')) {
    do {
      auto key = in.string();
      if (!key || !in.eat(':')) {
        return bad;
      }
      if (*key == "all" && !has_all) {
        has_all = true;
        if (!in.literal("true")) {
          return error{errc::bad_request, R"('all' must be true (or give "ids"))"};
        }
        out.all = true;
      } else if (*key == "ids" && !has_ids) {
        has_ids = true;
        if (!in.eat('[')) {
          return error{errc::bad_request, "'ids' must be an array of dead letter ids"};
        }
        if (!in.eat(']')) {
          do {
            auto id = in.number();
            if (!id || *id == 0) {
              return error{errc::bad_request, "'ids' must hold positive integers"};
            }
            if (out.ids.size() == max_limit) {
              return error{errc::bad_request,
                           "at most " + std::to_string(max_limit) + " ids per redrive"};
            }
            out.ids.push_back(*id);
          } while (in.eat(','));
          if (!in.eat(']')) {
            return error{errc::bad_request, "'ids' must be an array of dead letter ids"};
          }
        }
      } else {
        return bad;
      }
    } while (in.eat(','));
    if (!in.eat('}')) {
      return bad;
    }
  }
  if (!in.at_end() || has_all == has_ids || (has_ids && out.ids.empty())) {
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
    auto v = parse_u64(last_event_id);
    if (!v) {
      return error{errc::bad_request, "header 'Last-Event-ID' must be a non-negative integer"};
    }
    p.after = *v;
  }
  return p;
}

channel_directory::channel_directory(const config::config& cfg) {
  for (const auto& t : cfg.tenants) {
    auto& channels = tenants_[t.id];
    for (const auto& c : t.channels) {
      channels.emplace(c.name, &c);
    }
  }
}

result<const config::channel_config*> channel_directory::find(const std::string& tenant,
                                                              const std::string& channel) const {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) {
    return error{errc::unknown_tenant, "no tenant '" + tenant + "'"};
  }
  auto c = t->second.find(channel);
  if (c == t->second.end()) {
    return error{errc::unknown_channel, "tenant '" + tenant + "' has no channel '" + channel + "'"};
  }
  return c->second;
}

}  // namespace sb::http

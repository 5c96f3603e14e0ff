#include "http/visitor_gate.hpp"

#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "actors/channel_logic.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/assets.hpp"
#include "privacy/consent.hpp"

namespace sb::http {

namespace {

constexpr std::size_t k_max_name_chars = 100;
constexpr std::size_t k_max_email_bytes = 254;
constexpr std::size_t k_max_quoted_origin = 100;
/// The session body's e-mail member, spelled in two literals: the one-word literal is how code
/// names the e-mail platform, which the platform scan refuses outside adapters/
/// (tests/unit/adapters/plugin_test.cpp).
constexpr std::string_view k_email_member{
    "e"
    "mail"};

/// At most `k_max_quoted_origin` printable ASCII characters of an offered origin, for a message:
/// enough to see the mistake, never arbitrary input unbounded.
std::string quoted(std::string_view offered) {
  std::string out = "\"";
  for (char c : offered.substr(0, k_max_quoted_origin)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (offered.size() > k_max_quoted_origin) {
    out += "...";
  }
  return out + "\"";
}

/// UTF-8 code points of `s` (continuation bytes not counted), and whether it holds a control
/// character.
std::size_t chars_of(std::string_view s, bool& control) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      control = true;
    }
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

bool plausible_email(std::string_view e) {
  const auto at = e.find('@');
  if (at == 0 || at == std::string_view::npos || e.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : e) {
    if (c <= 0x20 || c == 0x7f) {
      return false;
    }
  }
  const std::string_view domain = e.substr(at + 1);
  const auto dot = domain.find('.');
  return dot != std::string_view::npos && dot > 0 && domain.back() != '.';
}

const error& bad_session_body() {
  static const error e{
      errc::bad_request,
      "the body must be empty or an object of name (a string), email (a string) and "
      R"(purposes ({"support"|"ai"|"analytics"|"marketing":true|false}), )"
      "each optional"};
  return e;
}

}  // namespace

result<std::string> check_origin(const adapters::visitor_settings& s,
                                 const std::vector<std::string_view>& origins) {
  if (origins.empty()) {
    if (s.allow_no_origin) {
      return std::string{};
    }
    return error{errc::forbidden,
                 "a request without an Origin header is refused: this channel serves only the "
                 "websites of its allowed_origins (allow_no_origin is false)"};
  }
  if (origins.size() > 1) {
    return error{errc::forbidden, "a request with more than one Origin header is refused"};
  }
  for (const auto& allowed : s.allowed_origins) {
    if (origins.front() == allowed) {
      return allowed;
    }
  }
  return error{errc::forbidden, "the Origin " + quoted(origins.front()) +
                                    " is not one of this channel's allowed_origins"};
}

header_pairs cors_headers(std::string_view origin) {
  header_pairs out;
  if (!origin.empty()) {
    out.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    out.emplace_back("Access-Control-Expose-Headers", "Retry-After");
  }
  out.emplace_back("Vary", "Origin");
  return out;
}

header_pairs preflight_headers(std::string_view allow) {
  std::string methods;
  while (!allow.empty()) {
    auto comma = allow.find(',');
    std::string_view m = allow.substr(0, comma);
    allow = comma == std::string_view::npos ? std::string_view{} : allow.substr(comma + 1);
    while (!m.empty() && m.front() == ' ') {
      m.remove_prefix(1);
    }
    if (m.empty() || m == "OPTIONS") {
      continue;
    }
    methods += methods.empty() ? "" : ", ";
    methods += m;
  }
  return {{"Access-Control-Allow-Methods", methods},
          {"Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"},
          {"Access-Control-Max-Age", "600"}};
}

std::string_view bearer_of(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) {
    return {};
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) {
      return {};
    }
  }
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  return token;
}

result<session_body> parse_session_body(std::string_view body) {
  session_body out;
  const bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) {
    return out;
  }
  // A parser per call: sessions are few (and budgeted per address), and the gate keeps no
  // shared parser.
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS) {
    return bad_session_body();
  }
  bool has_name = false;
  bool has_email = false;
  bool has_purposes = false;
  for (auto field : object) {
    if (field.key == "name" && !has_name) {
      has_name = true;
      std::string_view v;
      if (field.value.get_string().get(v) != simdjson::SUCCESS) {
        return error{errc::bad_request, "'name' must be a string"};
      }
      bool control = false;
      if (chars_of(v, control) > k_max_name_chars || control) {
        return error{errc::bad_request, "'name' must be at most " +
                                            std::to_string(k_max_name_chars) +
                                            " characters, without control characters"};
      }
      out.name = std::string(v);
    } else if (field.key == k_email_member && !has_email) {
      has_email = true;
      std::string_view v;
      if (field.value.get_string().get(v) != simdjson::SUCCESS) {
        return error{errc::bad_request, "'email' must be a string"};
      }
      if (!v.empty() && (v.size() > k_max_email_bytes || !plausible_email(v))) {
        return error{errc::bad_request,
                     "'email' must be an e-mail address (name@domain.example, "
                     "at most 254 bytes)"};
      }
      out.email = std::string(v);
    } else if (field.key == "purposes" && !has_purposes) {
      has_purposes = true;
      simdjson::dom::object purposes;
      if (field.value.get_object().get(purposes) != simdjson::SUCCESS) {
        return error{errc::bad_request,
                     "'purposes' must be an object of purposes to true or false"};
      }
      for (auto p : purposes) {
        const auto known = privacy::parse_purpose(p.key);
        if (!known) {
          return error{errc::bad_request,
                       "unknown purpose " + quoted(p.key) +
                           " in 'purposes'; known: support, ai, analytics, marketing"};
        }
        for (const auto& seen : out.purposes) {
          if (seen.first == p.key) {
            return error{errc::bad_request,
                         "purpose " + quoted(p.key) + " is given twice in 'purposes'"};
          }
        }
        bool granted = false;
        if (p.value.get_bool().get(granted) != simdjson::SUCCESS) {
          return error{errc::bad_request,
                       "purpose " + quoted(p.key) + " in 'purposes' must be true or false"};
        }
        out.purposes.emplace_back(std::string(p.key), granted);
      }
    } else {
      if (field.key == "name" || field.key == k_email_member || field.key == "purposes") {
        return error{errc::bad_request, "member " + quoted(field.key) + " is given twice"};
      }
      return error{errc::bad_request,
                   "unknown member " + quoted(field.key) + "; " + bad_session_body().message};
    }
  }
  return out;
}

result<std::uint64_t> parse_read_body(std::string_view body) {
  const error bad{
      errc::bad_request,
      R"(the body must be {"up_to":<seq>}: the last message shown, a positive integer)"};
  // An empty view may have no buffer at all, which simdjson's copy must not be handed (the
  // fuzz target found it); it is no JSON anyway.
  if (body.empty()) {
    return bad;
  }
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS) {
    return bad;
  }
  std::optional<std::uint64_t> up_to;
  for (auto field : object) {
    std::uint64_t v = 0;
    if (field.key != "up_to" || up_to || field.value.get_uint64().get(v) != simdjson::SUCCESS ||
        v == 0) {
      return bad;
    }
    up_to = v;
  }
  if (!up_to) {
    return bad;
  }
  return *up_to;
}

std::string session_answer(std::string_view visitor, std::string_view token, timestamp expires) {
  std::string out;
  json::writer(out)
      .begin_object()
      .key("visitor")
      .value(visitor)
      .key("token")
      .value(token)
      .key("expires_at")
      .value(to_rfc3339(expires))
      .end_object();
  return out;
}

std::string session_call_body(std::string_view visitor, const session_body& b,
                              std::string_view answer) {
  std::string out;
  json::writer w(out);
  w.begin_object().key("visitor").value(visitor);
  w.field("name", b.name).field(k_email_member, b.email);
  if (!b.purposes.empty()) {
    w.key("purposes").begin_object();
    for (const auto& [purpose, granted] : b.purposes) {
      w.key(purpose).value(granted);
    }
    w.end_object();
  }
  w.key("answer").raw(answer).end_object();
  return out;
}

std::string script_safe(std::string json) {
  std::string out;
  out.reserve(json.size() + 16);
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string widget_config(std::string_view tenant, std::string_view channel,
                          const adapters::visitor_settings& s) {
  std::string out;
  json::writer(out)
      .begin_object()
      .key("tenant")
      .value(tenant)
      .key("channel")
      .value(channel)
      .key("title")
      .value(s.title)
      .key("consent_notice")
      .value(s.consent_notice)
      .key("max_message_bytes")
      .value(static_cast<std::uint64_t>(s.max_message_bytes))
      .end_object();
  return script_safe(std::move(out));
}

std::string render_widget(std::string_view source, std::string_view config) {
  const auto at = source.find(k_widget_placeholder);
  if (at == std::string_view::npos) {
    return std::string(source);
  }
  std::string out;
  out.reserve(source.size() + config.size());
  out.append(source.substr(0, at));
  out.append(config);
  out.append(source.substr(at + k_widget_placeholder.size()));
  return out;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (etag.empty()) {
    return false;
  }
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view t = if_none_match.substr(0, comma);
    if_none_match =
        comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
      t.remove_prefix(1);
    }
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
      t.remove_suffix(1);
    }
    if (t.substr(0, 2) == "W/") {
      t.remove_prefix(2);
    }
    if (t == "*" || t == etag) {
      return true;
    }
  }
  return false;
}

std::optional<bool> accepted_duplicate(std::string_view body) {
  if (body.empty()) {  // no buffer to copy (see parse_read_body)
    return std::nullopt;
  }
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::string_view status;
  std::uint64_t events = 0;
  std::uint64_t duplicates = 0;
  if (object["status"].get_string().get(status) != simdjson::SUCCESS || status != "ok" ||
      object["events"].get_uint64().get(events) != simdjson::SUCCESS ||
      object["duplicates"].get_uint64().get(duplicates) != simdjson::SUCCESS ||
      events + duplicates != 1) {
    return std::nullopt;
  }
  return duplicates == 1;
}

std::string message_answer(bool duplicate) {
  std::string out;
  json::writer(out)
      .begin_object()
      .key("accepted")
      .value(true)
      .key("duplicate")
      .value(duplicate)
      .end_object();
  return out;
}

// -- keyed_buckets ----------------------------------------------------------------------------

keyed_buckets::keyed_buckets(double per_minute, std::size_t max_keys)
    : enabled_(per_minute > 0 && std::isfinite(per_minute)),
      prototype_(token_bucket::per_second(enabled_ ? per_minute / 60.0 : 1.0,
                                          enabled_ ? std::max(1.0, per_minute) : 1.0)),
      max_keys_(max_keys < 1 ? 1 : max_keys) {}

int keyed_buckets::take(std::string_view key, token_bucket::time_point now) {
  if (!enabled_) {
    return 0;
  }
  std::lock_guard<std::mutex> lock(m_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    lru_.splice(lru_.end(), lru_, it->second);  // most recently used last
  } else {
    if (index_.size() >= max_keys_) {
      index_.erase(lru_.front().key);
      lru_.pop_front();
    }
    lru_.push_back(entry{std::string(key), prototype_});
    it = index_.emplace(lru_.back().key, std::prev(lru_.end())).first;
  }
  token_bucket& b = it->second->bucket;
  if (b.take(now)) {
    return 0;
  }
  const auto wait = std::chrono::ceil<std::chrono::seconds>(b.available_at(now) - now).count();
  return wait < 1 ? 1 : static_cast<int>(wait);
}

std::size_t keyed_buckets::size() const {
  std::lock_guard<std::mutex> lock(m_);
  return index_.size();
}

std::string source_key(const ip::address& a) {
  static constexpr std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.data(), v4_mapped, sizeof v4_mapped) == 0) {
    return ip::to_string(a);
  }
  ip::address prefix{};
  std::memcpy(prefix.data(), a.data(), 8);
  return ip::to_string(prefix) + "/64";
}

// -- the channels ----------------------------------------------------------------------------

std::string visitor_channel::subject_of(std::string_view visitor) const {
  return ids::subject_id(*subject_key, info->type, account, visitor);
}

visitor_gate::visitor_gate(const config::config& cfg, std::size_t max_keys) {
  for (const auto& t : cfg.tenants) {
    std::shared_ptr<const std::string> key;
    for (const auto& ch : t.channels) {
      const auto* info = adapters::find(ch.type);
      if (info == nullptr || info->visitors.mint == nullptr || info->visitors.settings == nullptr ||
          info->visitors.check == nullptr) {
        continue;
      }
      if (!key) {
        key = std::make_shared<const std::string>(
            actors::derive_subject_key(cfg.storage.root_key, t.id));
      }
      visitor_channel v;
      v.tenant = t.id;
      v.cfg = &ch;
      v.info = info;
      v.settings = info->visitors.settings(ch);
      v.account = info->account(ch);
      v.subject_key = key;
      if (!info->visitors.widget.empty()) {
        if (const asset* a = find_asset(info->visitors.widget)) {
          v.widget = render_widget(a->bytes, widget_config(t.id, ch.name, v.settings));
          const auto digest = crypto::sha256(v.widget);
          v.widget_etag = "\"" + crypto::to_hex(digest).substr(0, 16) + "\"";
        } else {
          log::warn("http", "the widget asset ", info->visitors.widget, " of channel ", t.id, "/",
                    ch.name, " is not compiled in");
        }
      }
      v.sessions = std::make_unique<keyed_buckets>(v.settings.sessions_per_ip_per_minute, max_keys);
      v.messages =
          std::make_unique<keyed_buckets>(v.settings.messages_per_visitor_per_minute, max_keys);
      v.reads =
          std::make_unique<keyed_buckets>(v.settings.messages_per_visitor_per_minute, max_keys);
      tenants_[t.id].emplace(ch.name, std::move(v));
    }
  }
}

const visitor_channel* visitor_gate::find(const std::string& tenant,
                                          const std::string& channel) const {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) {
    return nullptr;
  }
  auto c = t->second.find(channel);
  return c == t->second.end() ? nullptr : &c->second;
}

}  // namespace sb::http

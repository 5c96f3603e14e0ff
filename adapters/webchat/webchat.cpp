#include "adapters/webchat/webchat.hpp"

#include <charconv>
#include <cmath>
#include <memory>

#include "adapters/json_reader.hpp"
#include "adapters/webchat/outbound.hpp"
#include "adapters/webchat/session_token.hpp"
#include "core/conversation_key.hpp"
#include "core/crypto.hpp"

namespace sb::adapters::webchat {

namespace {

constexpr const char* k_type = "webchat";
constexpr std::size_t k_max_client_id = 64;

/// The token of "Bearer <token>"; "" when the header is absent or another scheme.
std::string_view bearer(std::string_view authorization) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size()) {
    return {};
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(scheme[i]))) {
      return {};
    }
  }
  return authorization.substr(scheme.size());
}

std::optional<double> number_setting(const config::channel_config& cfg, const char* key) {
  const std::string& v = cfg.get(key);
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || end != v.data() + v.size() || !std::isfinite(d) || d < 0) {
    return std::nullopt;
  }
  return d;
}

/// "https://shop.example.com" or "http://127.0.0.1:8081": a scheme, a host, an optional port,
/// nothing else (an Origin header never has a path or a trailing slash).
bool is_origin(std::string_view o) {
  std::size_t rest = 0;
  if (o.substr(0, 8) == "https://") {
    rest = 8;
  } else if (o.substr(0, 7) == "http://") {
    rest = 7;
  } else {
    return false;
  }
  if (rest == o.size()) {
    return false;
  }
  for (char c : o.substr(rest)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']';
    if (!ok) {
      return false;
    }
  }
  return true;
}

visitor_settings settings_of(const config::channel_config& cfg) {
  visitor_settings s;
  s.allowed_origins = cfg.list("allowed_origins");
  s.allow_no_origin = cfg.get("allow_no_origin") == "true";
  s.session_ttl_ms =
      static_cast<std::int64_t>(number_setting(cfg, "session_ttl_hours").value_or(720) * 3600000);
  s.sessions_per_ip_per_minute = number_setting(cfg, "sessions_per_ip_per_minute").value_or(0);
  s.messages_per_visitor_per_minute =
      number_setting(cfg, "messages_per_visitor_per_minute").value_or(0);
  s.max_message_bytes =
      static_cast<std::size_t>(number_setting(cfg, "max_message_bytes").value_or(4096));
  s.title = cfg.get("title");
  s.consent_notice = cfg.get("consent_notice");
  return s;
}

std::vector<config::setting_problem> check_settings(const config::channel_config& cfg) {
  std::vector<config::setting_problem> out;
  const auto origins = cfg.list("allowed_origins");
  for (const auto& o : origins) {
    if (!is_origin(o)) {
      out.push_back({"allowed_origins",
                     "\"" + o +
                         "\" is not an origin: write scheme, host and port only, in lower case, "
                         "e.g. https://shop.example.com (no path, no trailing slash)"});
    }
  }
  const std::string& no_origin = cfg.get("allow_no_origin");
  if (no_origin != "true" && no_origin != "false") {
    out.push_back({"allow_no_origin", "must be true or false"});
  }
  if (origins.empty() && no_origin != "true") {
    out.push_back({"allowed_origins",
                   "list the websites that embed the widget (or set allow_no_origin: true for "
                   "native apps only)"});
  }
  for (const char* key : {"sessions_per_ip_per_minute", "messages_per_visitor_per_minute"}) {
    if (!number_setting(cfg, key)) {
      out.push_back({key, "must be a non-negative number (0 = unlimited)"});
    }
  }
  auto ttl = number_setting(cfg, "session_ttl_hours");
  if (!ttl || *ttl < 1 || *ttl > 24 * 366) {
    out.push_back({"session_ttl_hours", "must be a number of hours from 1 to 8784"});
  }
  auto max = number_setting(cfg, "max_message_bytes");
  if (!max || *max < 1 || *max > 65536 || std::floor(*max) != *max) {
    out.push_back({"max_message_bytes", "must be a whole number from 1 to 65536"});
  }
  return out;
}

class webchat_adapter final : public adapter {
 public:
  explicit webchat_adapter(const config::channel_config& cfg)
      : name_(cfg.name),
        key_(cfg.get("session_key")),
        max_text_(settings_of(cfg).max_message_bytes) {}

  status verify(const request& req) const override {
    auto token = bearer(req.header_value(k_authorization));
    if (token.empty()) {
      return error{errc::missing_signature, "missing Authorization: Bearer <session token>"};
    }
    auto s = check_token(key_, token, req.now);
    if (!s) {
      return error{errc::bad_signature, s.err().message};
    }
    return {};
  }

  status parse(const request& req, std::vector<event>& out) override {
    // Verified before: the token is this channel's (its expiry is not judged again here).
    auto session = check_token(key_, bearer(req.header_value(k_authorization)), {});
    if (!session) {
      return error{errc::malformed_body, "the request carries no session token of this channel"};
    }
    // The visitor's own request to the gateway's API: a bad one is refused (400) and not kept
    // in quarantine (no platform would retry it; channel_logic).
    auto root = parse_body(parser_, req);
    if (!root) {
      return error{errc::bad_request, root.err().message};
    }
    dom::object o;
    if (root->get(o) != simdjson::SUCCESS) {
      return error{errc::bad_request, "the body must be a JSON object {\"text\",\"client_id\"}"};
    }
    shape_reader r;
    for (auto field : o) {
      if (field.key != "text" && field.key != "client_id") {
        r.fail("unknown member \"" + std::string(field.key) +
               "\"; a message is {\"text\",\"client_id\"}");
      }
    }
    std::string text = r.string(o, "text");
    std::string client_id = r.string(o, "client_id");
    r.require(!text.empty(), "member \"text\" (the message, not empty)");
    r.require(!client_id.empty(), "member \"client_id\" (unique per message)");
    if (r.ok() && text.size() > max_text_) {
      r.fail("member \"text\" is longer than " + std::to_string(max_text_) + " bytes");
    }
    if (r.ok() && client_id.size() > k_max_client_id) {
      r.fail("member \"client_id\" is longer than " + std::to_string(k_max_client_id) +
             " characters");
    }
    if (!r.ok()) {
      return error{errc::bad_request, r.problem()};
    }
    event e;
    e.channel = {name_, k_type, name_};
    e.type = event_type::message;
    e.peer = session->visitor;
    e.conversation = conversation_key::format(name_, e.peer);
    e.sender = sender_info{session->visitor, "", ""};
    e.platform_event_id = client_id;
    e.occurred_at = req.now;
    e.content.text = std::move(text);
    e.dedupe_key = "m:" + session->visitor + ":" + client_id;
    e.subject_source = session->visitor;
    out.push_back(std::move(e));
    return {};
  }

 private:
  std::string name_;
  std::string key_;
  std::size_t max_text_;
  dom::parser parser_;
};

/// The visitor of a signed test request: `delivery_id` when it is a visitor id (the load
/// tester's person), else a fixed one, so that the same body signs the same way.
std::string visitor_of(const signing_input& in) {
  if (is_visitor_id(in.delivery_id)) {
    return std::string(in.delivery_id);
  }
  return "vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K";
}

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  // A whole day of validity from the signing day's start: the same input signs the same token
  // all day long (the conformance test compares two signings).
  const std::int64_t day_ms = 86400000;
  const std::int64_t at = in.at.empty() ? sb::now().unix_ms : in.at.unix_ms;
  const auto expires = timestamp::from_millis((at / day_ms + 2) * day_ms);
  return {{k_authorization, "Bearer " + mint_token(cfg.get("session_key"), visitor_of(in), expires)}};
}

/// The load tester's visitor for person `p`: a valid visitor id, stable per person.
std::string synthetic_visitor(std::uint64_t person) {
  constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string v = "vis_01LOADTEST";
  v.resize(4 + 26, '0');
  for (std::size_t i = v.size(); i-- > 14 && person > 0;) {
    v[i] = crockford[person % 32];
    person /= 32;
  }
  // "LOADTEST" has an L; ids are Crockford: swap it for a legal letter.
  for (auto& c : v) {
    if (c == 'L' || c == 'O' || c == 'I' || c == 'U') {
      c = 'X';
    }
  }
  return v;
}

synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  const std::string client_id =
      "r" + std::to_string(spec.run) + "-" + std::to_string(spec.n);
  w.body = "{\"text\":\"" + spec.text + "\",\"client_id\":\"" + client_id + "\"}";
  w.platform_ids = {client_id};
  w.delivery_id = synthetic_visitor(spec.person);
  return w;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = k_type;
  i.display_name = "Web chat";
  i.schema.type = k_type;
  config::setting_spec key{"session_key", true, true, "",
                           "Derived by the gateway from the store's root key (storage.master_key "
                           "until its first rotation; never written in the file): signs the "
                           "visitors' session tokens."};
  key.derived = true;
  config::setting_spec origins{"allowed_origins", false, false, "",
                               "Origins of the websites that embed the widget, e.g. "
                               "[\"https://shop.example.com\"]; any other Origin gets 403."};
  origins.list = true;
  i.schema.settings = {
      key,
      origins,
      {"allow_no_origin", false, false, "false",
       "true: requests without an Origin header (native apps) are served too."},
      {"title", false, false, "Chat with us", "The widget's heading."},
      {"consent_notice", false, false, "",
       "Shown in the widget before the visitor's first message (what is kept and why)."},
      {"session_ttl_hours", false, false, "720", "How long a visitor's session token is valid."},
      {"sessions_per_ip_per_minute", false, false, "10",
       "New sessions from one address per minute; past it 429 (0 = unlimited)."},
      {"messages_per_visitor_per_minute", false, false, "30",
       "Messages of one visitor per minute; past it 429 (0 = unlimited)."},
      {"max_message_bytes", false, false, "4096", "Longest message text a visitor may send."},
  };
  i.schema.check = check_settings;
  i.headers = {k_authorization};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<webchat_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return cfg.name; };
  i.sign = sign;
  i.synthesize = synthesize;
  i.visitors.settings = settings_of;
  i.visitors.mint = [](const config::channel_config& cfg, std::string_view visitor,
                       timestamp expires) {
    return mint_token(cfg.get("session_key"), visitor, expires);
  };
  i.visitors.check = [](const config::channel_config& cfg, std::string_view token,
                        timestamp now) { return check_token(cfg.get("session_key"), token, now); };
  i.visitors.widget = "widget/widget.js";
  // Agents' replies (adapters/webchat/outbound.hpp): text only (`features` all off), delivered
  // by storing them. Receipts (the visitor's stream, the widget's read call) name each message:
  // no `receipt_watermark`.
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<const sender>(cfg);
  };
  return i;
}

}  // namespace sb::adapters::webchat

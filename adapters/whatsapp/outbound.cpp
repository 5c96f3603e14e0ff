#include "adapters/whatsapp/outbound.hpp"

#include <string>
#include <utility>

#include "adapters/json_reader.hpp"
#include "adapters/meta/meta.hpp"
#include "adapters/meta/outbound.hpp"
#include "core/json.hpp"

namespace sb::adapters::whatsapp {

namespace {

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

/// Cloud API codes that mean "slow down", the bucket they concern, and the wait used when no
/// Retry-After is given (Meta documents none of these resets precisely).
struct rate_code {
  std::int64_t code;
  limit_scope scope;
  std::int64_t wait_ms;
};

constexpr rate_code k_rate_codes[] = {
    {130429, limit_scope::channel, 1000},    // throughput reached: it is per second
    {131056, limit_scope::recipient, 6000},  // pair rate limit: about 1 message per 6 s
    {80007, limit_scope::channel, 60000},    // WhatsApp Business Account rate limit
    {4, limit_scope::channel, 60000},        // application request limit
};

/// Codes that say "try again" although they may arrive with a 4xx.
bool transient_code(std::int64_t code) {
  return code == 1 ||       // API unknown (possible server error)
         code == 2 ||       // API service: temporary downtime or overload
         code == 131000 ||  // something went wrong
         code == 131016 ||  // service unavailable
         code == 133004;    // server temporarily unavailable
}

}  // namespace

sender::sender(const config::channel_config& cfg)
    : outbound_channel(cfg, default_limits(), type_window()),
      access_token_(cfg.get("access_token")),
      phone_number_id_(cfg.get("phone_number_id")),
      api_base_(api_base(cfg, meta::k_default_api_base)) {}

window_policy sender::type_window() {
  // Free-form messages within 24 h of the person's last message; templates at any time.
  window_policy w;
  w.window_hours = 24;
  w.template_opens_window = true;
  w.platform = "WhatsApp";
  return w;
}

status sender::check(const outbound_message& m) const {
  // A wa_id is the phone number's digits; "+" is tolerated (the API accepts it).
  std::string_view to = m.to;
  if (!to.empty() && to.front() == '+') {
    to.remove_prefix(1);
  }
  bool digits = !to.empty();
  for (char c : to) {
    digits = digits && c >= '0' && c <= '9';
  }
  if (!digits) {
    return bad("field 'to' must be a WhatsApp id (the phone number's digits)");
  }
  if (utf8_length(m.text) > 4096) {
    return bad("field 'text' is longer than WhatsApp's 4096 characters");
  }
  if (m.media) {
    const auto& md = *m.media;
    if (!md.caption.empty() && (md.kind == media_kind::audio || md.kind == media_kind::sticker)) {
      return bad(std::string("field 'media.caption' is not supported for ") + to_string(md.kind) +
                 " on whatsapp");
    }
    if (utf8_length(md.caption) > 1024) {
      return bad("field 'media.caption' is longer than WhatsApp's 1024 characters");
    }
    if (!md.filename.empty() && md.kind != media_kind::document) {
      return bad("field 'media.filename' is only for documents");
    }
  }
  return {};
}

result<platform_request> sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  if (access_token_.empty()) {
    return error{errc::unavailable,
                 "channel " + name() + " has no access_token: set it to send messages"};
  }
  platform_request req;
  req.url = api_url(api_base_, phone_number_id_ + "/messages");
  req.headers = {{"Authorization", "Bearer " + access_token_},
                 {"Content-Type", "application/json"}};

  std::string& out = req.body;
  json::writer w(out);
  w.begin_object();
  w.key("messaging_product").value("whatsapp");
  w.key("recipient_type").value("individual");
  w.key("to").value(m.to);
  if (!m.reply_to.empty()) {
    w.key("context").begin_object().key("message_id").value(m.reply_to).end_object();
  }
  if (m.template_message) {
    const auto& t = *m.template_message;
    req.operation = "whatsapp template";
    w.key("type").value("template");
    w.key("template").begin_object();
    w.key("name").value(t.name);
    w.key("language").begin_object().key("code").value(t.language).end_object();
    if (!t.components.empty()) {
      w.key("components").raw(t.components);  // validated and minified by the parser
    }
    w.end_object();
  } else if (m.media) {
    const auto& md = *m.media;
    const char* type = to_string(md.kind);
    req.operation = std::string("whatsapp ") + type;
    w.key("type").value(type);
    w.key(type).begin_object();
    if (!md.url.empty()) {
      w.key("link").value(md.url);
    } else {
      w.key("id").value(md.media_id);
    }
    w.field("caption", md.caption);
    w.field("filename", md.filename);
    w.end_object();
  } else {
    req.operation = "whatsapp text";
    w.key("type").value("text");
    w.key("text").begin_object();
    w.key("body").value(m.text);
    w.key("preview_url").value(false);
    w.end_object();
  }
  w.end_object();
  return req;
}

send_result sender::interpret(int http_status, std::string_view body,
                              std::optional<std::string_view> retry_after) const {
  auto r = classify_status(http_status, retry_after, 1000);
  dom::parser parser;
  const auto root = meta::parse_answer(parser, body);
  if (r.outcome == send_outcome::sent) {
    // {"messaging_product":"whatsapp","contacts":[...],"messages":[{"id":"wamid..."}]}
    dom::object o;
    if (root && root->get_object().get(o) == simdjson::SUCCESS) {
      if (auto messages = member(o, "messages")) {
        dom::array list;
        if (messages->get_array().get(list) == simdjson::SUCCESS) {
          for (auto el : list) {
            dom::object first;
            if (el.get_object().get(first) == simdjson::SUCCESS) {
              r.platform_message_id = meta::json::text(first, "id");
            }
            break;
          }
        }
      }
    }
    return r;
  }
  const auto g = root ? meta::read_graph_error(*root) : std::nullopt;
  if (!g) {
    return r;
  }
  r.error_code = std::to_string(g->code);
  r.error_title = g->title();
  for (const auto& rc : k_rate_codes) {
    if (rc.code == g->code) {
      r.outcome = send_outcome::rate_limited;
      const auto given = parse_retry_after(retry_after);
      r.retry_after_ms = given && *given > 0 ? *given : rc.wait_ms;
      r.scope = rc.scope;
      return r;
    }
  }
  if (transient_code(g->code)) {
    r.outcome = send_outcome::transient;
  }
  return r;
}

rate_limits default_limits() {
  rate_limits l;
  l.per_channel_rps = 80;
  l.per_channel_burst = 80;
  l.per_recipient_rps = 1.0 / 6;
  l.per_recipient_burst = 45;
  return l;
}

}  // namespace sb::adapters::whatsapp

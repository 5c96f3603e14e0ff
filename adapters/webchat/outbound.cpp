#include "adapters/webchat/outbound.hpp"

#include <simdjson.h>

#include <string>
#include <string_view>
#include <utility>

#include "adapters/json_reader.hpp"
#include "adapters/webchat/session_token.hpp"
#include "core/conversation_key.hpp"

namespace sb::adapters::webchat {

namespace {

// Names distinct from webchat.cpp's: the adapters are compiled in unity batches.
constexpr std::size_t k_default_max_text = 4096;

error refuse(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

}  // namespace

sender::sender(const config::channel_config& cfg)
    : outbound_channel(cfg, default_limits(), type_window()), max_text_(k_default_max_text) {
  // The visitors' settings are the channel's one reading of its keys (title, message size).
  if (const auto* info = find(cfg.type); info != nullptr && info->visitors.settings != nullptr) {
    const auto s = info->visitors.settings(cfg);
    title_ = s.title;
    if (s.max_message_bytes > 0) {
      max_text_ = s.max_message_bytes;
    }
  }
}

window_policy sender::type_window() {
  window_policy w;  // window_hours 0: no conversation window
  w.platform = "Web chat";
  return w;
}

std::string sender::event_id_of(std::string_view outbound_id) {
  constexpr std::string_view prefix = "out_";
  if (outbound_id.substr(0, prefix.size()) == prefix) {
    outbound_id.remove_prefix(prefix.size());
  }
  return "evt_" + std::string(outbound_id);
}

status sender::check(const outbound_message& m) const {
  if (!is_visitor_id(m.to)) {
    return refuse(
        "field 'to' must be a web chat visitor id (\"vis_\" followed by 26 Crockford base-32 "
        "characters), as the visitor's events name it in 'peer' and 'conversation'");
  }
  if (m.media) {
    return refuse(
        "field 'media' is not supported on web chat: the widget shows text only; send a link "
        "in 'text' instead");
  }
  if (!m.reply_to.empty()) {
    return refuse("field 'reply_to' is not supported on web chat: the widget shows no quotes");
  }
  if (m.text.empty()) {
    return refuse("field 'text' is required on web chat");
  }
  if (m.text.size() > max_text_) {
    return refuse("field 'text' is longer than this channel's max_message_bytes (" +
                  std::to_string(max_text_) + " bytes)");
  }
  return {};
}

result<platform_request> sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  return error{errc::unavailable,
               "channel " + name() +
                   " delivers its messages itself (the gateway is the platform): no API call"};
}

std::optional<event> sender::local_delivery(const outbound_message& m,
                                            std::string_view outbound_id) const {
  if (!check(m)) {
    return std::nullopt;
  }
  event e;
  e.id = event_id_of(outbound_id);
  e.channel = {name(), type(), account()};
  e.type = event_type::message;
  e.peer = m.to;
  e.conversation = conversation_key::format(name(), m.to);
  // The business speaks: the channel is the platform's account, its title the name shown.
  e.sender = sender_info{account(), title_, ""};
  e.platform_event_id = e.id;
  e.content.text = m.text;
  e.content.echo = true;
  e.dedupe_key = "out:" + std::string(outbound_id);
  e.subject_source = m.to;
  return e;
}

send_result sender::interpret(int http_status, std::string_view body,
                              std::optional<std::string_view> retry_after) const {
  auto r = classify_status(http_status, retry_after, 1000);
  dom::parser parser;
  const auto answer = parse_object(parser, body);
  if (!answer) {
    return r;
  }
  const dom::object o = *answer;
  if (r.outcome == send_outcome::sent) {
    r.platform_message_id = lenient::text(o, "id");
    return r;
  }
  // The gateway's own error body: {"error":"<code>","message":"<text>"}.
  const auto message = lenient::text(o, "message");
  if (!message.empty()) {
    r.error_title = "the message could not be stored: " + message;
  }
  return r;
}

rate_limits default_limits() {
  // No platform to protect, but a runaway backend must not fill a visitor's conversation
  // without bound: 100 replies a second per channel (the type declares no rate keys).
  rate_limits l;
  l.per_channel_rps = 100;
  l.per_channel_burst = 100;
  return l;
}

}  // namespace sb::adapters::webchat

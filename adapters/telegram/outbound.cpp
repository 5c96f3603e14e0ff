#include "adapters/telegram/outbound.hpp"

#include <simdjson.h>

#include <charconv>
#include <string>
#include <utility>

#include "adapters/json_reader.hpp"
#include "core/json.hpp"

namespace sb::adapters::telegram {

namespace {

constexpr const char* k_default_api_base = "https://api.telegram.org";

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

/// A JSON integer literal within a signed 64-bit integer: "-"? then digits without a leading
/// zero. Such ids are emitted as number text verbatim, never through a double (chat ids exceed
/// 2^53); Telegram's ids fit 64 bits, and a longer literal is a number its API does not read
/// (fuzz/regressions/outbound/).
bool integer_literal(std::string_view s) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    return false;
  }
  if (!s.empty() && s.front() == '-') {
    s.remove_prefix(1);
  }
  return all_digits(s) && (s.size() == 1 || s.front() != '0');
}

/// "@channelusername": 5-32 characters a-z, 0-9, underscore.
bool username(std::string_view s) {
  if (s.size() < 6 || s.size() > 33 || s.front() != '@') {
    return false;
  }
  for (char c : s.substr(1)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

struct media_method {
  const char* method;
  const char* field;
};

media_method method_for(media_kind k) {
  switch (k) {
    case media_kind::image:
      return {"sendPhoto", "photo"};
    case media_kind::video:
      return {"sendVideo", "video"};
    case media_kind::audio:
      return {"sendAudio", "audio"};
    case media_kind::document:
      return {"sendDocument", "document"};
    case media_kind::sticker:
      return {"sendSticker", "sticker"};
  }
  return {"sendDocument", "document"};
}

}  // namespace

sender::sender(const config::channel_config& cfg)
    : outbound_channel(cfg, default_limits(), type_window()),
      bot_token_(cfg.get("bot_token")),
      api_base_(api_base(cfg, k_default_api_base)) {}

window_policy sender::type_window() {
  window_policy w;  // no conversation window on Telegram
  w.platform = "Telegram";
  return w;
}

bool sender::is_group_recipient(std::string_view to) const {
  // Groups and supergroups have negative chat ids (channels too: -100...).
  return to.size() > 1 && to[0] == '-' && all_digits(to.substr(1));
}

status sender::check(const outbound_message& m) const {
  if (!integer_literal(m.to) && !username(m.to)) {
    return bad(
        "field 'to' must be a Telegram chat id (an integer, negative for groups) or "
        "@channelusername");
  }
  if (utf8_length(m.text) > 4096) {
    return bad("field 'text' is longer than Telegram's 4096 characters");
  }
  if (m.media) {
    const auto& md = *m.media;
    if (!md.caption.empty() && md.kind == media_kind::sticker) {
      return bad("field 'media.caption' is not supported for stickers");
    }
    if (utf8_length(md.caption) > 1024) {
      return bad("field 'media.caption' is longer than Telegram's 1024 characters");
    }
    if (!md.filename.empty()) {
      return bad("field 'media.filename' is not supported on telegram");
    }
  }
  if (!m.reply_to.empty() && (!integer_literal(m.reply_to) || m.reply_to.front() == '-')) {
    return bad("field 'reply_to' must be a Telegram message_id (an integer)");
  }
  return {};
}

result<platform_request> sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  const auto& token = bot_token_;
  if (token.empty()) {
    return error{errc::unavailable,
                 "channel " + name() + " has no bot_token: set it to send messages"};
  }
  const char* method = "sendMessage";
  const char* media_field = nullptr;
  if (m.media) {
    const auto mm = method_for(m.media->kind);
    method = mm.method;
    media_field = mm.field;
  }
  platform_request req;
  req.url = api_url(api_base_, "bot" + token + "/" + method);
  req.headers = {{"Content-Type", "application/json"}};
  req.operation = std::string("telegram ") + method;

  std::string& out = req.body;
  json::writer w(out);
  w.begin_object();
  w.key("chat_id");
  if (integer_literal(m.to)) {
    w.raw(m.to);
  } else {
    w.value(m.to);
  }
  if (m.media) {
    // A URL makes Telegram fetch the file; anything else is a file_id it already has.
    w.key(media_field).value(m.media->url.empty() ? m.media->media_id : m.media->url);
    w.field("caption", m.media->caption);
  } else {
    w.key("text").value(m.text);
  }
  if (!m.reply_to.empty()) {
    w.key("reply_parameters").begin_object();
    w.key("message_id").raw(m.reply_to);
    // The reply still goes out when the quoted message was deleted meanwhile.
    w.key("allow_sending_without_reply").value(true);
    w.end_object();
  }
  if (!m.keyboard.empty()) {
    w.key("reply_markup").begin_object().key("inline_keyboard").begin_array();
    for (const auto& row : m.keyboard) {
      w.begin_array();
      for (const auto& b : row) {
        w.begin_object();
        w.key("text").value(b.text);
        w.field("callback_data", b.callback_data);
        w.field("url", b.url);
        w.end_object();
      }
      w.end_array();
    }
    w.end_array().end_object();
  }
  w.end_object();
  return req;
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
  // {"ok":true,"result":{"message_id":...}} or
  // {"ok":false,"error_code":429,"description":"...","parameters":{"retry_after":3}}
  const bool ok = lenient::flag(o, "ok");
  if (r.outcome == send_outcome::sent && ok) {
    if (auto res = member(o, "result")) {
      dom::object message;
      if (res->get_object().get(message) == simdjson::SUCCESS) {
        if (auto id = member(message, "message_id")) {
          r.platform_message_id = integer_text(*id).value_or("");
        }
      }
    }
    return r;
  }
  std::int64_t code = 0;
  if (auto el = member(o, "error_code"); el && el->get_int64().get(code) != simdjson::SUCCESS) {
    code = 0;
  }
  if (code != 0) {
    r.error_code = std::to_string(code);
  }
  if (auto el = member(o, "description")) {
    std::string_view d;
    if (el->get_string().get(d) == simdjson::SUCCESS) {
      r.error_title = std::string(d);
    }
  }
  std::int64_t retry_s = 0;
  std::string migrate_to;
  if (auto p = member(o, "parameters")) {
    dom::object params;
    if (p->get_object().get(params) == simdjson::SUCCESS) {
      if (auto el = member(params, "retry_after");
          el && el->get_int64().get(retry_s) != simdjson::SUCCESS) {
        retry_s = 0;
      }
      if (auto el = member(params, "migrate_to_chat_id")) {
        migrate_to = integer_text(*el).value_or("");
      }
    }
  }
  if (http_status == 429 || code == 429 || retry_s > 0) {
    r.outcome = send_outcome::rate_limited;
    // Telegram's flood control is mostly per chat (1/s, 20/min in groups): slow that chat; a
    // bot-wide flood answers every chat the same way, which slows them all.
    r.scope = limit_scope::recipient;
    const auto given = parse_retry_after(retry_after);
    r.retry_after_ms = retry_s > 0 ? retry_s * 1000 : (given && *given > 0 ? *given : 1000);
  } else if (!migrate_to.empty()) {
    // The group became a supergroup: the old id is dead; say where it went.
    r.outcome = send_outcome::permanent;
    r.error_title += " (migrate_to_chat_id " + migrate_to + ")";
  } else if (r.outcome == send_outcome::sent) {
    // 2xx with "ok": false: Telegram did not take it and said why.
    r.outcome = code >= 500 || code == 0 ? send_outcome::transient : send_outcome::permanent;
  }
  return r;
}

rate_limits default_limits() {
  rate_limits l;
  l.per_channel_rps = 30;
  l.per_channel_burst = 30;
  l.per_recipient_rps = 1;
  l.per_recipient_burst = 1;
  l.per_group_per_minute = 20;
  return l;
}

}  // namespace sb::adapters::telegram

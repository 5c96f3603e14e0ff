#include "adapters/slack/outbound.hpp"

#include <simdjson.h>

#include <string>
#include <string_view>
#include <utility>

#include "adapters/json_reader.hpp"
#include "core/json.hpp"

namespace sb::adapters::slack {

namespace {

constexpr const char* k_default_api_base = "https://slack.com/api";
constexpr std::size_t k_max_text = 40000;  // chat.postMessage truncates past it: refuse instead

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

bool upper_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// A conversation id (C public, G private or group DM, D direct message) or a user id (U, W on
/// Enterprise Grid; chat.postMessage opens the DM with the app): the letter, then 2+ upper-case
/// alphanumerics.
bool conversation_id(std::string_view s) {
  if (s.size() < 3 || s.size() > 32 || std::string_view("CDGUW").find(s.front()) == s.npos) {
    return false;
  }
  for (char c : s.substr(1)) {
    if (!upper_alnum(c)) {
      return false;
    }
  }
  return true;
}

/// A message timestamp: digits, '.', digits ("1733230345.000200").
bool message_ts(std::string_view s) {
  const auto dot = s.find('.');
  return dot != s.npos && all_digits(s.substr(0, dot)) && all_digits(s.substr(dot + 1));
}

/// What an error of chat.postMessage means, for people; "" for one not listed.
std::string_view explanation(std::string_view code) {
  struct known {
    std::string_view code;
    std::string_view title;
  };
  static constexpr known table[] = {
      {"channel_not_found", "Slack knows no conversation with this id, or the app cannot see it"},
      {"not_in_channel", "the app is not a member of this channel: invite it first"},
      {"is_archived", "the channel is archived"},
      {"msg_too_long", "the message text is too long for Slack"},
      {"no_text", "Slack needs text for this message"},
      {"restricted_action", "the workspace does not allow the app to post here"},
      {"cannot_dm_bot", "a bot cannot be sent a direct message"},
      {"invalid_auth", "the bot_token is not valid"},
      {"not_authed", "no bot_token reached Slack"},
      {"token_revoked", "the bot_token was revoked"},
      {"token_expired", "the bot_token expired"},
      {"account_inactive", "the app's bot user or the workspace is deactivated"},
      {"missing_scope", "the bot_token lacks the chat:write scope"},
      {"invalid_thread_ts", "the thread's ts names no message of this conversation"},
      {"ratelimited", "Slack's rate limit for this conversation was reached"},
      {"rate_limited", "Slack's rate limit for this conversation was reached"},
      {"internal_error", "Slack had an internal error"},
      {"fatal_error", "Slack had a fatal error"},
      {"service_unavailable", "Slack's service is unavailable"},
      {"request_timeout", "Slack timed out on the request"},
  };
  for (const auto& k : table) {
    if (k.code == code) {
      return k.title;
    }
  }
  return {};
}

}  // namespace

sender::sender(const config::channel_config& cfg)
    : outbound_channel(cfg, default_limits(), type_window()),
      bot_token_(cfg.get("bot_token")),
      api_base_(api_base(cfg, k_default_api_base)) {}

window_policy sender::type_window() {
  window_policy w;  // no conversation window on Slack
  w.platform = "Slack";
  return w;
}

status sender::check(const outbound_message& m) const {
  if (!conversation_id(m.to)) {
    return bad(
        "field 'to' must be a Slack conversation or user id (C…, D…, G…, U… or W…: an "
        "upper-case letter and 2 or more upper-case letters or digits)");
  }
  if (m.media) {
    return bad(
        "field 'media' is not supported on slack: files need Slack's files.upload v2 flow, "
        "which this channel does not make; send a link in 'text' instead");
  }
  if (!m.reply_to.empty()) {
    return bad(
        "field 'reply_to' is not supported on slack: reply in a thread with 'thread' "
        "(the thread's ts)");
  }
  const auto length = utf8_length(m.text);
  if (length == 0) {
    return bad("field 'text' is required on slack");
  }
  if (length > k_max_text) {
    return bad("field 'text' is longer than Slack's 40000 characters");
  }
  if (!m.thread.empty() && !message_ts(m.thread)) {
    return bad("field 'thread' must be a Slack message ts such as \"1733230345.000200\"");
  }
  return {};
}

result<platform_request> sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  if (bot_token_.empty()) {
    return error{errc::unavailable,
                 "channel " + name() + " has no bot_token: set it to send messages"};
  }
  platform_request req;
  req.url = api_url(api_base_, "chat.postMessage");
  req.headers = {{"Authorization", "Bearer " + bot_token_},
                 {"Content-Type", "application/json; charset=utf-8"}};
  req.operation = "slack chat.postMessage";
  json::writer w(req.body);
  w.begin_object();
  w.key("channel").value(m.to);
  w.key("text").value(m.text);
  w.field("thread_ts", m.thread);
  w.end_object();
  return req;
}

send_result sender::interpret(int http_status, std::string_view body,
                              std::optional<std::string_view> retry_after) const {
  auto r = classify_status(http_status, retry_after, 1000);
  if (r.outcome == send_outcome::rate_limited) {
    // Slack's chat.postMessage limit is per conversation: slow that one.
    r.scope = limit_scope::recipient;
    return r;
  }
  dom::parser parser;
  const auto answer = parse_object(parser, body);
  if (!answer) {
    return r;
  }
  const dom::object o = *answer;
  // {"ok":true,"channel":"D…","ts":"1733230345.000200","message":{…}} or
  // {"ok":false,"error":"channel_not_found"}
  const bool ok = lenient::flag(o, "ok");
  if (r.outcome == send_outcome::sent && ok) {
    r.platform_message_id = lenient::text(o, "ts");
    return r;
  }
  const auto code = lenient::text(o, "error");
  if (ok || code.empty()) {
    return r;  // not Slack's error shape: the HTTP status says it all
  }
  r.error_code = code;
  const auto known = explanation(code);
  r.error_title = known.empty() ? "Slack refused the message (" + code + ")"
                                : "Slack refused the message: " + std::string(known);
  if (code == "ratelimited" || code == "rate_limited") {
    r.outcome = send_outcome::rate_limited;
    r.scope = limit_scope::recipient;
    const auto given = parse_retry_after(retry_after);
    r.retry_after_ms = given && *given > 0 ? *given : 1000;
  } else if (code == "internal_error" || code == "fatal_error" || code == "service_unavailable" ||
             code == "request_timeout") {
    r.outcome = send_outcome::transient;
    r.retry_after_ms = parse_retry_after(retry_after).value_or(0);
  } else if (http_status < 500) {
    // Slack answers its errors with 200: the request itself was wrong, a retry meets the same.
    r.outcome = send_outcome::permanent;
    r.retry_after_ms = 0;
  }
  return r;
}

rate_limits default_limits() {
  rate_limits l;
  l.per_channel_rps = 20;
  l.per_channel_burst = 20;
  l.per_recipient_rps = 1;
  l.per_recipient_burst = 3;
  return l;
}

}  // namespace sb::adapters::slack

#include "adapters/meta/outbound.hpp"

#include <string>
#include <utility>

#include "adapters/json_reader.hpp"
#include "adapters/meta/meta.hpp"
#include "core/json.hpp"

namespace sb::adapters::meta {

namespace {

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

const char* attachment_type(media_kind k) {
  switch (k) {
    case media_kind::image:
      return "image";
    case media_kind::video:
      return "video";
    case media_kind::audio:
      return "audio";
    case media_kind::document:
      return "file";
    case media_kind::sticker:
      break;  // rejected by page_sender::check
  }
  return "file";
}

/// Graph codes that mean "slow down", with the wait used when no Retry-After is given. Meta
/// documents no reset time for these; the waits are deliberately long enough to not hammer.
std::optional<std::int64_t> page_rate_limit_wait(std::int64_t code) {
  switch (code) {
    case 4:      // application request limit
    case 17:     // user request limit
    case 32:     // page request limit
    case 80001:  // Pages business-use-case limit
    case 80002:  // Instagram business-use-case limit
    case 80006:  // Messenger business-use-case limit
      return 60000;
    case 613:  // "Calls to this api have exceeded the rate limit" (Send API)
      return 10000;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string graph_error::title() const {
  if (details.empty()) {
    return message;
  }
  if (message.empty()) {
    return details;
  }
  return message + ": " + details;
}

std::optional<simdjson::dom::element> parse_answer(simdjson::dom::parser& parser,
                                                   std::string_view body) {
  dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return root;
}

/// A Graph error code as an integer: 0 when absent, not a number or beyond std::int64_t, whose
/// conversion would be undefined (a code of 1.26e19 was: fuzz/regressions/adapter-whatsapp/).
std::int64_t graph_code(dom::object e, std::string_view key) {
  const double v = json::number(e, key).value_or(0);
  if (!(v >= -9.0e18 && v <= 9.0e18)) {  // false for NaN too
    return 0;
  }
  return static_cast<std::int64_t>(v);
}

std::optional<graph_error> read_graph_error(simdjson::dom::element root) {
  dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  auto el = member(o, "error");
  dom::object e;
  if (!el || el->get_object().get(e) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  graph_error g;
  g.code = graph_code(e, "code");
  g.subcode = graph_code(e, "error_subcode");
  g.message = json::text(e, "message");
  if (auto data = member(e, "error_data")) {
    dom::object d;
    if (data->get_object().get(d) == simdjson::SUCCESS) {
      g.details = json::text(d, "details");
    }
  }
  return g;
}

page_sender::page_sender(const config::channel_config& cfg, window_policy window,
                         bool instagram_rules)
    : outbound_channel(cfg, page_default_limits(), std::move(window)),
      instagram_(instagram_rules),
      access_token_(cfg.get("access_token")),
      api_base_(api_base(cfg, k_default_api_base)) {}

window_policy page_sender::page_window(std::string platform) {
  // Free-form within 24 h; Meta's message tags outside it (HUMAN_AGENT for 7 days where the
  // channel has the permission).
  window_policy w;
  w.window_hours = 24;
  w.human_agent_hours = 7 * 24;
  w.message_tags = true;
  w.platform = std::move(platform);
  return w;
}

void page_sender::apply_defaults(outbound_message& m) const {
  if (m.messaging_type.empty()) {
    m.messaging_type = "RESPONSE";
  }
}

status page_sender::check(const outbound_message& m) const {
  const bool instagram = instagram_;
  if (!all_digits(m.to)) {
    return bad(std::string("field 'to' must be the person's ") +
               (instagram ? "Instagram-scoped id (IGSID)" : "page-scoped id (PSID)") + ": digits");
  }
  if (instagram) {
    // Instagram: "text must be UTF-8 and at most 1000 bytes".
    if (m.text.size() > 1000) {
      return bad("field 'text' is longer than Instagram's 1000 bytes");
    }
  } else if (utf8_length(m.text) > 2000) {
    return bad("field 'text' is longer than Messenger's 2000 characters");
  }
  if (m.media) {
    const auto& md = *m.media;
    if (md.kind == media_kind::sticker) {
      return bad("field 'media.kind': stickers cannot be sent on " + type());
    }
    if (instagram && md.kind == media_kind::document) {
      return bad("field 'media.kind': documents cannot be sent on instagram");
    }
    if (!md.caption.empty()) {
      return bad("field 'media.caption' is not supported on " + type() +
                 ": send the text as its own message");
    }
    if (!md.filename.empty()) {
      return bad("field 'media.filename' is not supported on " + type());
    }
  }
  const auto type = m.messaging_type.empty() ? std::string("RESPONSE") : m.messaging_type;
  if (type == "MESSAGE_TAG") {
    if (instagram && m.tag != "HUMAN_AGENT") {
      return bad("field 'tag' must be HUMAN_AGENT on instagram");
    }
    if (m.tag != "HUMAN_AGENT" && m.tag != "ACCOUNT_UPDATE" && m.tag != "CONFIRMED_EVENT_UPDATE" &&
        m.tag != "CUSTOMER_FEEDBACK" && m.tag != "POST_PURCHASE_UPDATE") {
      return bad(
          "field 'tag' must be HUMAN_AGENT, ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, "
          "CUSTOMER_FEEDBACK or POST_PURCHASE_UPDATE");
    }
    if (m.tag == "HUMAN_AGENT" && !human_agent_tag()) {
      return bad(
          "field 'tag': HUMAN_AGENT needs the channel setting human_agent_tag: true "
          "(Meta's Human Agent permission)");
    }
    // Meta: "Message tags can not be used to send promotional content".
    if (m.purpose == "marketing") {
      return bad("field 'tag': message tags cannot carry purpose marketing");
    }
  }
  return {};
}

result<platform_request> page_sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  if (access_token_.empty()) {
    return error{errc::unavailable,
                 "channel " + name() + " has no access_token: set it to send messages"};
  }
  platform_request req;
  // The page (or Instagram account) the token belongs to is the sender: "me". The token goes in
  // the Authorization header, not the access_token query parameter, so URLs stay loggable.
  req.url = api_url(api_base_, "me/messages");
  req.headers = {{"Authorization", "Bearer " + access_token_},
                 {"Content-Type", "application/json"}};
  req.operation = type() + " messages";

  std::string& out = req.body;
  sb::json::writer w(out);
  w.begin_object();
  w.key("recipient").begin_object().key("id").value(m.to).end_object();
  w.key("messaging_type").value(m.messaging_type.empty() ? "RESPONSE" : m.messaging_type);
  if (m.messaging_type == "MESSAGE_TAG") {
    w.key("tag").value(m.tag);
  }
  w.key("message").begin_object();
  if (!m.text.empty()) {
    w.key("text").value(m.text);
  }
  if (m.media) {
    w.key("attachment").begin_object();
    w.key("type").value(attachment_type(m.media->kind));
    w.key("payload").begin_object();
    if (!m.media->url.empty()) {
      w.key("url").value(m.media->url);
      w.key("is_reusable").value(true);
    } else {
      w.key("attachment_id").value(m.media->media_id);
    }
    w.end_object();
    w.end_object();
  }
  if (!m.quick_replies.empty()) {
    w.key("quick_replies").begin_array();
    for (const auto& q : m.quick_replies) {
      w.begin_object();
      w.key("content_type").value(q.content_type);
      if (q.content_type == "text") {
        w.key("title").value(q.title);
        // Messenger requires a payload for text quick replies; the title is the natural one.
        w.key("payload").value(q.payload.empty() ? q.title : q.payload);
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  if (!m.reply_to.empty()) {
    w.key("reply_to").begin_object().key("mid").value(m.reply_to).end_object();
  }
  w.end_object();
  return req;
}

send_result page_sender::interpret(int http_status, std::string_view body,
                                   std::optional<std::string_view> retry_after) const {
  auto r = classify_status(http_status, retry_after, 10000);
  dom::parser parser;
  const auto root = parse_answer(parser, body);
  if (r.outcome == send_outcome::sent) {
    dom::object o;
    if (root && root->get_object().get(o) == simdjson::SUCCESS) {
      r.platform_message_id = json::text(o, "message_id");
    }
    return r;
  }
  const auto g = root ? read_graph_error(*root) : std::nullopt;
  if (!g) {
    return r;
  }
  r.error_code = std::to_string(g->code);
  r.error_title = g->title();
  if (auto wait = page_rate_limit_wait(g->code)) {
    r.outcome = send_outcome::rate_limited;
    const auto given = parse_retry_after(retry_after);
    r.retry_after_ms = given && *given > 0 ? *given : *wait;
    r.scope = limit_scope::channel;
  } else if (g->code == 1 || g->code == 2) {
    // 1 "unknown error", 2 "unexpected error, please retry later / service unavailable".
    r.outcome = send_outcome::transient;
  }
  return r;
}

rate_limits page_default_limits() {
  rate_limits l;
  l.per_channel_rps = 300;
  l.per_channel_burst = 300;
  return l;
}

}  // namespace sb::adapters::meta

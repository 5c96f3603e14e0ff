#include "adapters/outbound.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "adapters/adapter.hpp"
#include "adapters/json_reader.hpp"
#include "core/json.hpp"

namespace sb::adapters {

namespace {

constexpr std::size_t k_max_text = 4096;  // the most any platform takes (WhatsApp, Telegram)

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

std::string field(std::string_view name) {
  return "field '" + std::string(name) + "'";
}

std::string join(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

bool is_http_url(std::string_view s) {
  return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0;
}

/// Strict reading of the API body: every problem is the first one found, phrased as
/// "field '<path>' ...", and parsing stops there.
class body_reader {
 public:
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }

  void fail(std::string p) {
    if (problem_.empty()) {
      problem_ = std::move(p);
    }
  }

  /// Fails on any member of `o` not in `known`.
  template <std::size_t N>
  void only(dom::object o, const std::string_view (&known)[N], std::string_view parent) {
    for (auto m : o) {
      bool found = false;
      for (auto k : known) {
        found = found || m.key == k;
      }
      if (!found) {
        fail(field(join(parent, m.key)) + " is unknown");
        return;
      }
    }
  }

  std::string string(dom::object o, std::string_view key, std::string_view parent) {
    auto el = member(o, key);
    if (!el) {
      return {};
    }
    std::string_view s;
    if (el->get_string().get(s) != simdjson::SUCCESS) {
      fail(field(join(parent, key)) + " must be a string");
      return {};
    }
    return std::string(s);
  }

  /// A string, or an integer as its exact decimal text (chat ids, message ids).
  std::string id(dom::object o, std::string_view key, std::string_view parent) {
    auto el = member(o, key);
    if (!el) {
      return {};
    }
    if (auto text = integer_text(*el)) {
      return *text;
    }
    std::string_view s;
    if (el->get_string().get(s) != simdjson::SUCCESS) {
      fail(field(join(parent, key)) + " must be a string or an integer");
      return {};
    }
    return std::string(s);
  }

  std::optional<dom::object> object(dom::object o, std::string_view key, std::string_view parent) {
    auto el = member(o, key);
    if (!el) {
      return std::nullopt;
    }
    dom::object out;
    if (el->get_object().get(out) != simdjson::SUCCESS) {
      fail(field(join(parent, key)) + " must be an object");
      return std::nullopt;
    }
    return out;
  }

  std::optional<dom::array> array(dom::object o, std::string_view key, std::string_view parent) {
    auto el = member(o, key);
    if (!el) {
      return std::nullopt;
    }
    dom::array out;
    if (el->get_array().get(out) != simdjson::SUCCESS) {
      fail(field(join(parent, key)) + " must be an array");
      return std::nullopt;
    }
    return out;
  }

 private:
  std::string problem_;
};

std::optional<media_kind> media_kind_from(std::string_view s) {
  if (s == "image") {
    return media_kind::image;
  }
  if (s == "video") {
    return media_kind::video;
  }
  if (s == "audio") {
    return media_kind::audio;
  }
  if (s == "document") {
    return media_kind::document;
  }
  if (s == "sticker") {
    return media_kind::sticker;
  }
  return std::nullopt;
}

void read_media(body_reader& r, dom::object o, outbound_media& m) {
  static constexpr std::string_view known[] = {"kind", "url", "media_id", "caption", "filename"};
  r.only(o, known, "media");
  const auto kind = r.string(o, "kind", "media");
  if (!r.ok()) {
    return;
  }
  if (kind.empty()) {
    r.fail("field 'media.kind' is required: image, video, audio, document or sticker");
    return;
  }
  const auto k = media_kind_from(kind);
  if (!k) {
    r.fail("field 'media.kind' must be image, video, audio, document or sticker");
    return;
  }
  m.kind = *k;
  m.url = r.string(o, "url", "media");
  m.media_id = r.id(o, "media_id", "media");
  m.caption = r.string(o, "caption", "media");
  m.filename = r.string(o, "filename", "media");
  if (!r.ok()) {
    return;
  }
  if (m.url.empty() == m.media_id.empty()) {
    r.fail("field 'media' needs exactly one of 'url' and 'media_id'");
  } else if (!m.url.empty() && !is_http_url(m.url)) {
    r.fail("field 'media.url' must be an http:// or https:// URL");
  } else if (m.caption.size() > k_max_text) {
    r.fail("field 'media.caption' is longer than any platform takes");
  }
}

void read_template(body_reader& r, dom::object o, outbound_template& t) {
  static constexpr std::string_view known[] = {"name", "language", "components"};
  r.only(o, known, "template");
  t.name = r.string(o, "name", "template");
  t.language = r.string(o, "language", "template");
  auto components = r.array(o, "components", "template");
  if (!r.ok()) {
    return;
  }
  if (t.name.empty()) {
    r.fail("field 'template.name' is required");
  } else if (t.language.empty()) {
    r.fail("field 'template.language' is required (a language code such as en_US)");
  } else if (components) {
    // Passed to the platform verbatim: minified, so the outbox record round-trips exactly.
    t.components = simdjson::minify(*components);
  }
}

void read_keyboard(body_reader& r, dom::array rows, outbound_message& m) {
  std::size_t i = 0;
  for (auto row_el : rows) {
    const std::string row_name = "keyboard[" + std::to_string(i) + "]";
    dom::array row;
    if (row_el.get_array().get(row) != simdjson::SUCCESS) {
      r.fail(field(row_name) + " must be an array of buttons");
      return;
    }
    std::vector<keyboard_button> buttons;
    std::size_t j = 0;
    for (auto b_el : row) {
      const std::string name = row_name + "[" + std::to_string(j) + "]";
      dom::object b;
      if (b_el.get_object().get(b) != simdjson::SUCCESS) {
        r.fail(field(name) + " must be an object");
        return;
      }
      static constexpr std::string_view known[] = {"text", "callback_data", "url"};
      r.only(b, known, name);
      keyboard_button button;
      button.text = r.string(b, "text", name);
      button.callback_data = r.string(b, "callback_data", name);
      button.url = r.string(b, "url", name);
      if (!r.ok()) {
        return;
      }
      if (button.text.empty()) {
        r.fail(field(name + ".text") + " is required");
        return;
      }
      if (button.callback_data.empty() == button.url.empty()) {
        r.fail(field(name) + " needs exactly one of 'callback_data' and 'url'");
        return;
      }
      // Telegram's limit: 1-64 bytes.
      if (button.callback_data.size() > 64) {
        r.fail(field(name + ".callback_data") + " must be at most 64 bytes");
        return;
      }
      if (!button.url.empty() && !is_http_url(button.url) && button.url.rfind("tg://", 0) != 0) {
        r.fail(field(name + ".url") + " must be an http://, https:// or tg:// URL");
        return;
      }
      buttons.push_back(std::move(button));
      ++j;
    }
    if (buttons.empty()) {
      r.fail(field(row_name) + " must not be empty");
      return;
    }
    m.keyboard.push_back(std::move(buttons));
    ++i;
  }
  if (m.keyboard.empty()) {
    r.fail("field 'keyboard' must not be empty (leave it out for no keyboard)");
  }
}

void read_quick_replies(body_reader& r, dom::array list, outbound_message& m) {
  std::size_t i = 0;
  for (auto el : list) {
    const std::string name = "quick_replies[" + std::to_string(i) + "]";
    dom::object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) {
      r.fail(field(name) + " must be an object");
      return;
    }
    static constexpr std::string_view known[] = {"content_type", "title", "payload"};
    r.only(o, known, name);
    quick_reply q;
    auto type = r.string(o, "content_type", name);
    q.title = r.string(o, "title", name);
    q.payload = r.id(o, "payload", name);
    if (!r.ok()) {
      return;
    }
    if (!type.empty()) {
      q.content_type = std::move(type);
    }
    if (q.content_type == "text") {
      if (q.title.empty()) {
        r.fail(field(name + ".title") + " is required for content_type text");
        return;
      }
      // Messenger: "up to 20 characters"; longer titles are truncated by the client.
      if (utf8_length(q.title) > 20) {
        r.fail(field(name + ".title") + " must be at most 20 characters");
        return;
      }
      if (q.payload.size() > 1000) {
        r.fail(field(name + ".payload") + " must be at most 1000 characters");
        return;
      }
    } else if (q.content_type == "user_phone_number" || q.content_type == "user_email") {
      if (!q.title.empty() || !q.payload.empty()) {
        r.fail(field(name) + ": content_type " + q.content_type + " takes no title or payload");
        return;
      }
    } else {
      r.fail(field(name + ".content_type") + " must be text, user_phone_number or user_email");
      return;
    }
    m.quick_replies.push_back(std::move(q));
    ++i;
  }
  if (m.quick_replies.empty()) {
    r.fail("field 'quick_replies' must not be empty (leave it out for none)");
  } else if (m.quick_replies.size() > 13) {
    r.fail("field 'quick_replies' takes at most 13 entries");
  }
}

const adapter_info* sender_of(const config::channel_config& cfg) {
  const auto* info = find(cfg.type);
  return info != nullptr && info->encode != nullptr ? info : nullptr;
}

/// A non-negative number setting, or nullopt when unset; `bad` is set when it is not one.
std::optional<double> number_setting(const config::channel_config& cfg, const std::string& key,
                                     bool& bad) {
  const auto& text = cfg.get(key);
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v) || v < 0) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

}  // namespace

const char* to_string(media_kind k) noexcept {
  switch (k) {
    case media_kind::image:
      return "image";
    case media_kind::video:
      return "video";
    case media_kind::audio:
      return "audio";
    case media_kind::document:
      return "document";
    case media_kind::sticker:
      return "sticker";
  }
  return "image";
}

const char* to_string(send_outcome o) noexcept {
  switch (o) {
    case send_outcome::sent:
      return "sent";
    case send_outcome::rate_limited:
      return "rate_limited";
    case send_outcome::transient:
      return "transient";
    case send_outcome::permanent:
      return "permanent";
  }
  return "transient";
}

result<outbound_request_body> parse_send_request(std::string_view json) {
  dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return bad(std::string("the body is not valid JSON (") + simdjson::error_message(err) + ")");
  }
  dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    return bad("the body must be a JSON object");
  }
  static constexpr std::string_view known[] = {
      "conversation",  "channel",        "to",  "purpose", "text", "media", "template", "keyboard",
      "quick_replies", "messaging_type", "tag", "reply_to"};
  body_reader r;
  r.only(o, known, "");
  outbound_request_body body;
  auto& m = body.message;
  const auto conversation = r.string(o, "conversation", "");
  m.channel = r.string(o, "channel", "");
  m.to = r.id(o, "to", "");
  auto purpose = r.string(o, "purpose", "");
  m.text = r.string(o, "text", "");
  auto media = r.object(o, "media", "");
  auto tmpl = r.object(o, "template", "");
  auto keyboard = r.array(o, "keyboard", "");
  auto quick_replies = r.array(o, "quick_replies", "");
  m.messaging_type = r.string(o, "messaging_type", "");
  m.tag = r.string(o, "tag", "");
  m.reply_to = r.id(o, "reply_to", "");
  if (!r.ok()) {
    return bad(r.problem());
  }

  // The target: a conversation as events name it, or channel + to.
  if (!conversation.empty()) {
    if (!m.channel.empty() || !m.to.empty()) {
      return bad("give either 'conversation' or 'channel' and 'to', not both");
    }
    const auto colon = conversation.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == conversation.size()) {
      return bad("field 'conversation' must be \"<channel>:<recipient>\"");
    }
    m.channel = conversation.substr(0, colon);
    m.to = conversation.substr(colon + 1);
  } else if (m.channel.empty() && m.to.empty()) {
    return bad("give 'conversation', or 'channel' and 'to'");
  } else if (m.channel.empty()) {
    return bad("field 'channel' is required with 'to'");
  } else if (m.to.empty()) {
    return bad("field 'to' is required with 'channel'");
  }
  m.conversation = m.channel + ":" + m.to;

  if (!purpose.empty()) {
    if (purpose != "support" && purpose != "marketing") {
      return bad("field 'purpose' must be support or marketing");
    }
    m.purpose = std::move(purpose);
  }
  if (utf8_length(m.text) > k_max_text) {
    return bad("field 'text' is longer than 4096 characters");
  }
  if (media) {
    outbound_media md;
    read_media(r, *media, md);
    m.media = std::move(md);
  }
  if (tmpl) {
    outbound_template t;
    read_template(r, *tmpl, t);
    m.whatsapp_template = std::move(t);
  }
  if (keyboard) {
    read_keyboard(r, *keyboard, m);
  }
  if (quick_replies) {
    read_quick_replies(r, *quick_replies, m);
  }
  if (!r.ok()) {
    return bad(r.problem());
  }

  if (m.whatsapp_template) {
    if (!m.text.empty() || m.media) {
      return bad("field 'template' cannot be combined with 'text' or 'media'");
    }
  } else if (m.text.empty() && !m.media) {
    return bad("nothing to send: give 'text', 'media' or 'template'");
  }
  if (!m.text.empty() && m.media) {
    return bad("field 'text' cannot be combined with 'media': put the text in 'media.caption'");
  }
  if (!m.quick_replies.empty() && m.text.empty()) {
    return bad("field 'quick_replies' needs 'text'");
  }
  if (!m.keyboard.empty() && m.text.empty() && !m.media) {
    return bad("field 'keyboard' needs 'text' or 'media'");
  }
  if (!m.messaging_type.empty() && m.messaging_type != "RESPONSE" && m.messaging_type != "UPDATE" &&
      m.messaging_type != "MESSAGE_TAG") {
    return bad("field 'messaging_type' must be RESPONSE, UPDATE or MESSAGE_TAG");
  }
  if ((m.messaging_type == "MESSAGE_TAG") != !m.tag.empty()) {
    return bad("field 'tag' is required with messaging_type MESSAGE_TAG, and only with it");
  }
  return body;
}

void apply_defaults(const config::channel_config& cfg, outbound_message& m) {
  m.channel_type = cfg.type;
  if ((cfg.type == "messenger" || cfg.type == "instagram") && m.messaging_type.empty()) {
    m.messaging_type = "RESPONSE";
  }
}

status validate(const config::channel_config& cfg, const outbound_message& m) {
  const auto* info = sender_of(cfg);
  if (info == nullptr) {
    return bad("field 'channel': channel " + cfg.name + " (type " + cfg.type +
               ") cannot send messages");
  }
  if (m.to.empty()) {
    return bad("field 'to' is required");
  }
  if (m.whatsapp_template && cfg.type != "whatsapp") {
    return bad("field 'template' is only for whatsapp channels");
  }
  if (!m.keyboard.empty() && cfg.type != "telegram") {
    return bad("field 'keyboard' is only for telegram channels");
  }
  const bool page = cfg.type == "messenger" || cfg.type == "instagram";
  if (!m.quick_replies.empty() && !page) {
    return bad("field 'quick_replies' is only for messenger and instagram channels");
  }
  if (!page && (!m.messaging_type.empty() || !m.tag.empty())) {
    return bad(std::string("field '") + (m.tag.empty() ? "messaging_type" : "tag") +
               "' is only for messenger and instagram channels");
  }
  return info->check(cfg, m);
}

// ---------------------------------------------------------------------------------------------
// The outbox record.

std::string to_json(const outbound_message& m) {
  std::string out;
  json::writer w(out);
  w.begin_object();
  w.key("id").value(m.id);
  w.key("tenant").value(m.tenant);
  w.key("channel").value(m.channel);
  w.key("channel_type").value(m.channel_type);
  w.key("to").value(m.to);
  w.key("conversation").value(m.conversation);
  w.key("purpose").value(m.purpose);
  w.field("text", m.text);
  if (m.media) {
    w.key("media").begin_object();
    w.key("kind").value(to_string(m.media->kind));
    w.field("url", m.media->url);
    w.field("media_id", m.media->media_id);
    w.field("caption", m.media->caption);
    w.field("filename", m.media->filename);
    w.end_object();
  }
  if (m.whatsapp_template) {
    w.key("template").begin_object();
    w.key("name").value(m.whatsapp_template->name);
    w.key("language").value(m.whatsapp_template->language);
    if (!m.whatsapp_template->components.empty()) {
      w.key("components").raw(m.whatsapp_template->components);
    }
    w.end_object();
  }
  if (!m.keyboard.empty()) {
    w.key("keyboard").begin_array();
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
    w.end_array();
  }
  if (!m.quick_replies.empty()) {
    w.key("quick_replies").begin_array();
    for (const auto& q : m.quick_replies) {
      w.begin_object();
      w.key("content_type").value(q.content_type);
      w.field("title", q.title);
      w.field("payload", q.payload);
      w.end_object();
    }
    w.end_array();
  }
  w.field("messaging_type", m.messaging_type);
  w.field("tag", m.tag);
  w.field("reply_to", m.reply_to);
  w.field("idempotency_key", m.idempotency_key);
  if (!m.created_at.empty()) {
    w.key("created_at").value(to_rfc3339(m.created_at));
  }
  w.end_object();
  return out;
}

result<outbound_message> outbound_from_json(std::string_view text) {
  auto fail = [](std::string why) {
    return error{errc::malformed_body, "outbox record: " + std::move(why)};
  };
  dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root); err) {
    return fail(std::string("not valid JSON (") + simdjson::error_message(err) + ")");
  }
  dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    return fail("not an object");
  }
  shape_reader r;
  outbound_message m;
  m.id = r.string(o, "id");
  m.tenant = r.string(o, "tenant");
  m.channel = r.string(o, "channel");
  m.channel_type = r.string(o, "channel_type");
  m.to = r.string(o, "to");
  m.conversation = r.string(o, "conversation");
  m.purpose = r.string(o, "purpose");
  m.text = r.string(o, "text");
  if (auto md = r.object(o, "media")) {
    outbound_media media;
    const auto kind = media_kind_from(r.string(*md, "kind"));
    r.require(kind.has_value(), "media.kind");
    media.kind = kind.value_or(media_kind::image);
    media.url = r.string(*md, "url");
    media.media_id = r.string(*md, "media_id");
    media.caption = r.string(*md, "caption");
    media.filename = r.string(*md, "filename");
    m.media = std::move(media);
  }
  if (auto t = r.object(o, "template")) {
    outbound_template tmpl;
    tmpl.name = r.string(*t, "name");
    tmpl.language = r.string(*t, "language");
    if (auto c = r.array(*t, "components")) {
      tmpl.components = simdjson::minify(*c);
    }
    m.whatsapp_template = std::move(tmpl);
  }
  if (auto rows = r.array(o, "keyboard")) {
    for (auto row_el : *rows) {
      dom::array row;
      if (row_el.get_array().get(row) != simdjson::SUCCESS) {
        r.wrong_type("keyboard", "an array of arrays");
        break;
      }
      std::vector<keyboard_button> buttons;
      for (auto b_el : row) {
        auto b = r.as_object(b_el, "keyboard button");
        if (!b) {
          break;
        }
        buttons.push_back(
            {r.string(*b, "text"), r.string(*b, "callback_data"), r.string(*b, "url")});
      }
      m.keyboard.push_back(std::move(buttons));
    }
  }
  if (auto list = r.array(o, "quick_replies")) {
    for (auto el : *list) {
      auto q = r.as_object(el, "quick reply");
      if (!q) {
        break;
      }
      m.quick_replies.push_back(
          {r.string(*q, "content_type"), r.string(*q, "title"), r.string(*q, "payload")});
    }
  }
  m.messaging_type = r.string(o, "messaging_type");
  m.tag = r.string(o, "tag");
  m.reply_to = r.string(o, "reply_to");
  m.idempotency_key = r.string(o, "idempotency_key");
  const auto created = r.string(o, "created_at");
  if (!created.empty()) {
    auto t = parse_rfc3339(created);
    r.require(t.has_value(), "created_at");
    m.created_at = t.value_or(timestamp{});
  }
  r.require(!m.channel.empty() && !m.to.empty(), "channel and to");
  if (!r.ok()) {
    return fail(r.problem());
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Rate limits, settings, window.

rate_limits limits_for(const config::channel_config& cfg) {
  const auto* info = sender_of(cfg);
  if (info == nullptr) {
    return {};
  }
  rate_limits l = info->default_limits;
  bool bad_value = false;
  auto apply = [&](const char* key, double& target, double scale) {
    if (auto v = number_setting(cfg, key, bad_value)) {
      target = *v * scale;
    }
  };
  apply("rate_per_second", l.per_channel_rps, 1);
  apply("rate_burst", l.per_channel_burst, 1);
  apply("recipient_per_minute", l.per_recipient_rps, 1.0 / 60);
  apply("recipient_burst", l.per_recipient_burst, 1);
  apply("group_per_minute", l.per_group_per_minute, 1);
  if (bad_value || !check_outbound_settings(cfg)) {
    return {};
  }
  return l;
}

std::vector<config::setting_problem> outbound_setting_problems(const config::channel_config& cfg) {
  std::vector<config::setting_problem> out;
  static const char* number_keys[] = {"rate_per_second", "rate_burst", "recipient_per_minute",
                                      "recipient_burst", "group_per_minute"};
  for (const char* key : number_keys) {
    bool bad_value = false;
    number_setting(cfg, key, bad_value);
    if (bad_value) {
      out.push_back({key, "must be a non-negative number"});
    }
  }
  auto pair = [&](const char* rate, const char* burst) {
    bool ignored = false;
    const auto r = number_setting(cfg, rate, ignored);
    const auto b = number_setting(cfg, burst, ignored);
    if (r && *r > 0 && b && *b < 1) {
      out.push_back({burst, std::string("must be at least 1 when ") + rate +
                                " is set (a bucket smaller than one message never sends)"});
    }
  };
  pair("rate_per_second", "rate_burst");
  pair("recipient_per_minute", "recipient_burst");
  const auto& tag = cfg.get("human_agent_tag");
  if (!tag.empty() && tag != "true" && tag != "false") {
    out.push_back({"human_agent_tag", "must be true or false"});
  }
  return out;
}

status check_outbound_settings(const config::channel_config& cfg) {
  auto problems = outbound_setting_problems(cfg);
  if (problems.empty()) {
    return {};
  }
  return bad(cfg.name + "." + problems.front().key + " " + problems.front().problem);
}

bool is_group_recipient(const config::channel_config& cfg, std::string_view to) {
  // Telegram: groups and supergroups have negative chat ids (channels too: -100...).
  return cfg.type == "telegram" && to.size() > 1 && to[0] == '-' && all_digits(to.substr(1));
}

window_policy window_for(const config::channel_config& cfg) {
  const auto* info = sender_of(cfg);
  if (info == nullptr) {
    return {};
  }
  window_policy w = info->window;
  if (cfg.get("human_agent_tag") != "true") {
    w.human_agent_hours = 0;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Helpers of the adapters.

std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string api_url(const config::channel_config& cfg, std::string_view default_base,
                    std::string_view path) {
  std::string base = cfg.get("api_base");
  if (base.empty()) {
    base = std::string(default_base);
  }
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  while (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  return base + "/" + std::string(path);
}

std::optional<std::int64_t> parse_retry_after(std::optional<std::string_view> header) {
  if (!header) {
    return std::nullopt;
  }
  auto v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  if (!all_digits(v) || v.size() > 9) {
    return std::nullopt;
  }
  return std::stoll(std::string(v)) * 1000;
}

send_result classify_status(int http_status, std::optional<std::string_view> retry_after,
                            std::int64_t default_wait_ms) {
  send_result r;
  if (http_status >= 200 && http_status < 300) {
    r.outcome = send_outcome::sent;
    return r;
  }
  r.error_code = http_status == 0 ? "" : std::to_string(http_status);
  r.error_title = http_status == 0 ? "no response" : "HTTP " + std::to_string(http_status);
  const auto wait = parse_retry_after(retry_after);
  if (http_status == 429) {
    r.outcome = send_outcome::rate_limited;
    r.retry_after_ms = wait && *wait > 0 ? *wait : default_wait_ms;
  } else if (http_status >= 400 && http_status < 500 && http_status != 408) {
    r.outcome = send_outcome::permanent;
  } else {
    r.outcome = send_outcome::transient;
    r.retry_after_ms = wait.value_or(0);
  }
  return r;
}

void add_outbound_settings(config::channel_schema& schema, const rate_limits& defaults,
                           bool group_key, bool human_agent_key) {
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  auto add = [&](const char* key, double v, const char* description) {
    schema.settings.push_back({key, false, false, number(v), description});
  };
  add("rate_per_second", defaults.per_channel_rps,
      "Outbound messages per second from this channel (token bucket; 0 = no limit).");
  add("rate_burst", defaults.per_channel_burst, "Bucket size of rate_per_second.");
  add("recipient_per_minute", defaults.per_recipient_rps * 60,
      "Outbound messages per minute to one recipient (0 = no limit).");
  add("recipient_burst", defaults.per_recipient_burst, "Bucket size of recipient_per_minute.");
  if (group_key) {
    add("group_per_minute", defaults.per_group_per_minute,
        "Outbound messages per minute to one group chat (0 = no limit).");
  }
  // The loader reports bad values at start-up (`switchboard --check-config` too), at the key's
  // line: a bad rate must never silently become "no limit".
  schema.check = [previous = std::move(schema.check)](const config::channel_config& cfg) {
    auto out = previous ? previous(cfg) : std::vector<config::setting_problem>{};
    auto mine = outbound_setting_problems(cfg);
    out.insert(out.end(), mine.begin(), mine.end());
    return out;
  };
  if (human_agent_key) {
    schema.settings.push_back(
        {"human_agent_tag", false, false, "false",
         "true when the app has Meta's Human Agent permission: MESSAGE_TAG HUMAN_AGENT replies "
         "are then allowed up to 7 days after the person's last message."});
  }
}

}  // namespace sb::adapters

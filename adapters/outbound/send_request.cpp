#include "adapters/outbound/send_request.hpp"

#include <simdjson.h>

#include <string>
#include <utility>

#include "adapters/json_reader.hpp"
#include "adapters/outbound.hpp"

namespace sb::adapters {

namespace {

constexpr std::size_t k_max_text = 4096;  // the most any platform takes

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
}  // namespace

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
      "quick_replies", "messaging_type", "tag", "reply_to", "thread", "subject"};
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
  m.thread = r.id(o, "thread", "");
  m.subject = r.string(o, "subject", "");
  if (!r.ok()) {
    return bad(r.problem());
  }

  // The target: a conversation as events name it, or channel + to.
  if (!conversation.empty()) {
    if (!m.channel.empty() || !m.to.empty()) {
      return bad("give either 'conversation' or 'channel' and 'to', not both");
    }
    auto key = conversation_key::parse(conversation);
    if (!key) {
      return bad("field 'conversation' must be \"<channel>:<recipient>\"");
    }
    m.channel = key->channel();
    m.to = key->peer();
  } else if (m.channel.empty() && m.to.empty()) {
    return bad("give 'conversation', or 'channel' and 'to'");
  } else if (m.channel.empty()) {
    return bad("field 'channel' is required with 'to'");
  } else if (m.to.empty()) {
    return bad("field 'to' is required with 'channel'");
  }
  m.conversation = conversation_key::format(m.channel, m.to);

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
    m.template_message = std::move(t);
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

  if (m.template_message) {
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

}  // namespace sb::adapters

#include "adapters/outbound/record.hpp"

#include <simdjson.h>

#include <string>
#include <utility>

#include "adapters/json_reader.hpp"
#include "core/json.hpp"

namespace sb::adapters {

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
  if (m.template_message) {
    w.key("template").begin_object();
    w.key("name").value(m.template_message->name);
    w.key("language").value(m.template_message->language);
    if (!m.template_message->components.empty()) {
      w.key("components").raw(m.template_message->components);
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
  w.field("thread", m.thread);
  w.field("subject", m.subject);
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
    m.template_message = std::move(tmpl);
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
  m.thread = r.string(o, "thread");
  m.subject = r.string(o, "subject");
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

}  // namespace sb::adapters

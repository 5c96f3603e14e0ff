#include "core/event.hpp"

#include "core/json.hpp"

namespace sb {

void append_json(std::string& out, const event& e) {
  json::writer w(out);
  w.begin_object();
  w.field("id", e.id);
  if (e.seq != 0) {
    w.key("seq").value(e.seq);
  }
  w.field("tenant", e.tenant);
  if (!e.channel.name.empty()) {  // gateway events about a tenant or subject have no channel
    w.key("channel").begin_object();
    w.field("name", e.channel.name).field("type", e.channel.type).field("account", e.channel.account);
    w.end_object();
  }
  w.field("type", e.type);
  w.field("kind", e.kind);
  w.field("conversation", e.conversation);
  w.field("subject", e.subject);
  if (e.sender) {
    w.key("sender").begin_object();
    w.field("platform_id", e.sender->platform_id).field("name", e.sender->name);
    w.field("username", e.sender->username);
    w.end_object();
  }
  w.field("platform_event_id", e.platform_event_id);
  if (!e.occurred_at.empty()) {
    w.key("occurred_at").value(to_rfc3339(e.occurred_at));
  }
  if (!e.received_at.empty()) {
    w.key("received_at").value(to_rfc3339(e.received_at));
  }
  if (!e.content.empty()) {
    const auto& c = e.content;
    w.key("content").begin_object();
    w.field("subject", c.subject);
    w.field("text", c.text);
    if (!c.attachments.empty()) {
      w.key("attachments").begin_array();
      for (const auto& a : c.attachments) {
        w.begin_object();
        w.field("kind", a.kind).field("media_id", a.media_id).field("url", a.url);
        w.field("mime_type", a.mime_type).field("caption", a.caption);
        w.field("file_name", a.file_name).field("sha256", a.sha256);
        if (a.size) {
          w.key("size").value(*a.size);
        }
        if (a.latitude) {
          w.key("latitude").value(*a.latitude);
        }
        if (a.longitude) {
          w.key("longitude").value(*a.longitude);
        }
        w.field("name", a.name).field("address", a.address).field("phone", a.phone);
        w.end_object();
      }
      w.end_array();
    }
    w.field("reply_to", c.reply_to);
    w.field("payload", c.payload);
    w.field("thread", c.thread);
    if (c.reaction) {
      w.key("reaction").begin_object();
      w.key("emoji").value(c.reaction->emoji);
      w.field("message_id", c.reaction->message_id);
      w.end_object();
    }
    if (c.echo) {
      w.key("echo").value(true);
    }
    w.end_object();
  }
  if (e.status) {
    const auto& s = *e.status;
    w.key("status").begin_object();
    w.field("state", s.state).field("message_id", s.message_id).field("recipient", s.recipient);
    if (!s.error_code.empty() || !s.error_title.empty()) {
      w.key("error").begin_object();
      w.field("code", s.error_code).field("title", s.error_title);
      w.end_object();
    }
    w.end_object();
  }
  if (e.order) {
    const auto& o = *e.order;
    w.key("order").begin_object();
    w.field("id", o.id).field("number", o.number).field("currency", o.currency);
    w.field("total", o.total).field("financial_status", o.financial_status);
    if (!o.items.empty()) {
      w.key("items").begin_array();
      for (const auto& i : o.items) {
        w.begin_object();
        w.field("sku", i.sku).field("title", i.title).field("quantity", i.quantity);
        w.field("price", i.price).field("currency", i.currency);
        w.end_object();
      }
      w.end_array();
    }
    w.end_object();
  }
  if (!e.redactions.empty()) {
    w.key("redactions").begin_array();
    for (const auto& r : e.redactions) {
      w.value(r);
    }
    w.end_array();
  }
  if (e.consent) {
    const auto& c = *e.consent;
    w.key("consent").begin_object();
    w.field("purpose", c.purpose);
    if (c.granted) {
      w.key("granted").value(*c.granted);
    }
    if (c.opted_out) {
      w.key("opted_out").value(*c.opted_out);
    }
    if (c.restricted) {
      w.key("restricted").value(*c.restricted);
    }
    w.field("source", c.source);
    w.end_object();
  }
  if (e.privacy) {
    const auto& p = *e.privacy;
    w.key("privacy").begin_object();
    w.field("subject", p.subject).field("receipt", p.receipt);
    w.field("platform_id", p.platform_id).field("request", p.request);
    if (p.erased) {
      w.key("erased").begin_object();
      w.key("events").value(p.erased->events).key("dedupe_keys").value(p.erased->dedupe_keys);
      w.key("dead_letters").value(p.erased->dead_letters);
      w.key("subjects").value(p.erased->subjects);
      w.end_object();
    }
    if (!p.export_json.empty()) {
      w.key("export").raw(p.export_json);
    }
    w.end_object();
  }
  if (e.outbound) {
    const auto& o = *e.outbound;
    w.key("outbound").begin_object();
    w.field("id", o.id).field("state", o.state);
    w.field("platform_message_id", o.platform_message_id);
    w.key("attempts").value(static_cast<std::uint64_t>(o.attempts));
    w.field("purpose", o.purpose);
    if (!o.error_code.empty() || !o.error_title.empty()) {
      w.key("error").begin_object();
      w.field("code", o.error_code).field("title", o.error_title);
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
}

std::string to_json(const event& e) {
  std::string out;
  out.reserve(512);
  append_json(out, e);
  return out;
}

}  // namespace sb

#include "adapters/whatsapp/whatsapp.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "adapters/meta/meta.hpp"
#include "adapters/whatsapp/outbound.hpp"
#include "core/crypto.hpp"

namespace sb::adapters::whatsapp {

namespace {

namespace dom = meta::json::dom;
using meta::json::flag;
using meta::json::number;
using meta::json::number_text;
using meta::json::reader;
using meta::json::text;
using meta::json::unix_time;

/// Parses one WhatsApp Cloud API body: entry[] x changes[] x value.messages[] / statuses[].
/// One instance per entry; it borrows the adapter's channel, the body's reader and the DOM.
class body_parser {
 public:
  body_parser(const channel_ref& channel, reader& r, std::vector<event>& out)
      : channel_(channel), r_(r), out_(out) {}

  void entry(dom::object entry) {
    const timestamp entry_time = unix_time(entry, "time");
    auto changes = r_.array(entry, "changes");
    if (!changes) {
      return;
    }
    for (dom::element change_el : *changes) {
      auto change = r_.as_object(change_el, "changes");
      if (!change) {
        continue;
      }
      const auto field = text(*change, "field");
      auto value = r_.object(*change, "value");
      if (field == "messages" && value) {
        messages_value(*value);
      } else {
        other_field(field, value, change_el, entry_time);
      }
    }
  }

 private:
  /// A change of another field (message_template_status_update, account_update, ...): one
  /// `system` event named by the field; it concerns the business, not a person.
  void other_field(const std::string& field, std::optional<dom::object> value, dom::element raw,
                   timestamp entry_time) {
    event e;
    e.channel = channel_;
    e.type = event_type::system;
    e.kind = field.empty() ? "unknown" : field;
    e.dedupe_key = "h:" + json_digest(raw);
    e.occurred_at = value ? unix_time(*value, "timestamp") : timestamp{};
    if (e.occurred_at.empty()) {
      e.occurred_at = entry_time;
    }
    out_.push_back(std::move(e));
  }

  void messages_value(dom::object value) {
    // value.contacts[] names the senders of value.messages[].
    std::map<std::string, std::string> names;
    if (auto contacts = r_.array(value, "contacts")) {
      for (dom::element c_el : *contacts) {
        if (auto c = r_.as_object(c_el, "contacts")) {
          std::string name;
          if (auto profile = r_.object(*c, "profile")) {
            name = text(*profile, "name");
          }
          names[text(*c, "wa_id")] = std::move(name);
        }
      }
    }
    if (auto messages = r_.array(value, "messages")) {
      for (dom::element m_el : *messages) {
        if (auto m = r_.as_object(m_el, "messages")) {
          message(*m, m_el, names);
        }
      }
    }
    if (auto statuses = r_.array(value, "statuses")) {
      for (dom::element s_el : *statuses) {
        if (auto s = r_.as_object(s_el, "statuses")) {
          status(*s, s_el);
        }
      }
    }
    // Errors about the webhook itself (e.g. 131000), outside any message or status.
    if (auto errors = r_.array(value, "errors")) {
      for (dom::element err_el : *errors) {
        if (auto err = r_.as_object(err_el, "errors")) {
          event e;
          e.channel = channel_;
          e.type = event_type::system;
          e.kind = "errors";
          const auto code = text(*err, "code");
          const auto title = text(*err, "title");
          e.content.text = code.empty() ? title : title.empty() ? code : code + ": " + title;
          e.dedupe_key = "h:" + json_digest(err_el);
          out_.push_back(std::move(e));
        }
      }
    }
  }

  void identify(event& e, const std::string& wa_id) const {
    e.peer = wa_id;
    e.subject_source = wa_id;
    if (!wa_id.empty()) {
      e.conversation = conversation_key::format(channel_.name, wa_id);
    }
  }

  void message(dom::object m, dom::element raw, const std::map<std::string, std::string>& names) {
    event e;
    e.channel = channel_;
    const auto from = text(m, "from");
    identify(e, from);
    if (!from.empty()) {
      sender_info s;
      s.platform_id = from;
      if (auto it = names.find(from); it != names.end()) {
        s.name = it->second;
      }
      e.sender = std::move(s);
    }
    e.platform_event_id = text(m, "id");
    e.dedupe_key =
        e.platform_event_id.empty() ? "h:" + json_digest(raw) : "m:" + e.platform_event_id;
    e.occurred_at = unix_time(m, "timestamp");
    if (auto ctx = r_.object(m, "context")) {
      e.content.reply_to = text(*ctx, "id");
    }
    auto type = text(m, "type");
    e.type = event_type::message;
    if (type == "text") {
      if (auto t = r_.object(m, "text")) {
        e.content.text = text(*t, "body");
      }
    } else if (type == "image" || type == "video" || type == "audio" || type == "document" ||
               type == "sticker") {
      media(m, type, e);
    } else if (type == "location") {
      if (auto l = r_.object(m, "location")) {
        attachment a;
        a.kind = "location";
        a.latitude = number(*l, "latitude");
        a.longitude = number(*l, "longitude");
        a.name = text(*l, "name");
        a.address = text(*l, "address");
        a.url = text(*l, "url");
        e.content.attachments.push_back(std::move(a));
      }
    } else if (type == "contacts") {
      contacts(m, e);
    } else if (type == "interactive") {
      interactive(m, e);
    } else if (type == "button") {
      if (auto b = r_.object(m, "button")) {
        e.type = event_type::postback;
        e.content.payload = text(*b, "payload");
        e.content.text = text(*b, "text");
      }
    } else if (type == "reaction") {
      e.type = event_type::reaction;
      reaction_info rx;
      if (auto o = r_.object(m, "reaction")) {
        rx.emoji = text(*o, "emoji");  // absent or empty: the reaction was removed
        rx.message_id = text(*o, "message_id");
      }
      e.content.reaction = std::move(rx);
    } else if (type == "order") {
      order(m, e);
    } else if (type == "system") {
      e.type = event_type::system;
      e.kind = "system";
      if (auto s = r_.object(m, "system")) {
        if (auto k = text(*s, "type"); !k.empty()) {
          e.kind = std::move(k);
        }
        e.content.text = text(*s, "body");
      }
    } else {
      // unsupported, and types newer than this adapter: kept, named by the platform's type.
      e.type = event_type::system;
      e.kind = type.empty() ? "unknown" : std::move(type);
    }
    out_.push_back(std::move(e));
  }

  void media(dom::object m, const std::string& type, event& e) {
    auto o = r_.object(m, type);
    if (!o) {
      return;
    }
    attachment a;
    a.kind = type;
    if (type == "document") {
      a.kind = "file";
    } else if (type == "audio" && flag(*o, "voice")) {
      a.kind = "voice";
    }
    a.media_id = text(*o, "id");
    a.mime_type = text(*o, "mime_type");
    a.sha256 = text(*o, "sha256");
    a.caption = text(*o, "caption");
    a.file_name = text(*o, "filename");
    a.url = text(*o, "url");
    e.content.attachments.push_back(std::move(a));
  }

  void contacts(dom::object m, event& e) {
    auto cards = r_.array(m, "contacts");
    if (!cards) {
      return;
    }
    for (dom::element card_el : *cards) {
      auto card = r_.as_object(card_el, "contacts");
      if (!card) {
        continue;
      }
      attachment a;
      a.kind = "contact";
      if (auto n = r_.object(*card, "name")) {
        a.name = text(*n, "formatted_name");
      }
      if (auto phones = r_.array(*card, "phones")) {
        for (dom::element p_el : *phones) {
          if (auto p = r_.as_object(p_el, "phones")) {
            a.phone = text(*p, "phone");
            if (a.phone.empty()) {
              a.phone = text(*p, "wa_id");
            }
            break;
          }
        }
      }
      e.content.attachments.push_back(std::move(a));
    }
  }

  void interactive(dom::object m, event& e) {
    auto i = r_.object(m, "interactive");
    const auto sub = i ? text(*i, "type") : std::string{};
    if (sub == "button_reply" || sub == "list_reply") {
      if (auto reply = r_.object(*i, sub)) {
        e.type = event_type::postback;
        e.content.payload = text(*reply, "id");
        e.content.text = text(*reply, "title");
        return;
      }
    } else if (sub == "nfm_reply") {
      // A WhatsApp Flow's answer: the flow's JSON as the payload.
      if (auto reply = r_.object(*i, sub)) {
        e.type = event_type::postback;
        e.content.payload = text(*reply, "response_json");
        e.content.text = text(*reply, "body");
        return;
      }
    }
    e.type = event_type::system;
    e.kind = "interactive";
  }

  void order(dom::object m, event& e) {
    e.type = event_type::order;
    auto o = r_.object(m, "order");
    if (!o) {
      return;
    }
    order_info info;
    e.content.text = text(*o, "text");
    if (auto items = r_.array(*o, "product_items")) {
      for (dom::element it_el : *items) {
        if (auto it = r_.as_object(it_el, "product_items")) {
          order_item item;
          item.sku = text(*it, "product_retailer_id");
          item.quantity = number_text(*it, "quantity");
          item.price = number_text(*it, "item_price");
          item.currency = text(*it, "currency");
          if (info.currency.empty()) {
            info.currency = item.currency;
          }
          info.items.push_back(std::move(item));
        }
      }
    }
    e.order = std::move(info);
  }

  void status(dom::object s, dom::element raw) {
    event e;
    e.channel = channel_;
    e.type = event_type::status;
    status_info st;
    st.state = text(s, "status");
    st.message_id = text(s, "id");
    st.recipient = text(s, "recipient_id");
    if (auto errors = r_.array(s, "errors")) {
      for (dom::element err_el : *errors) {
        if (auto err = r_.as_object(err_el, "errors")) {
          st.error_code = text(*err, "code");
          st.error_title = text(*err, "title");
          break;
        }
      }
    }
    identify(e, st.recipient);
    e.platform_event_id = st.message_id;
    e.dedupe_key =
        st.message_id.empty() ? "h:" + json_digest(raw) : "s:" + st.message_id + ":" + st.state;
    e.occurred_at = unix_time(s, "timestamp");
    e.status = std::move(st);
    out_.push_back(std::move(e));
  }

  const channel_ref& channel_;
  reader& r_;
  std::vector<event>& out_;
};

class whatsapp_adapter final : public adapter {
 public:
  explicit whatsapp_adapter(const config::channel_config& cfg)
      : app_secret_(cfg.get("app_secret")),
        verify_token_digest_(crypto::sha256(cfg.get("verify_token"))) {
    channel_.name = cfg.name;
    channel_.type = "whatsapp";
    channel_.account = cfg.get("phone_number_id");
  }

  status verify(const request& req) const override {
    return meta::verify_signature(req, app_secret_);
  }

  result<std::string> handshake(const request& req) const override {
    return meta::handshake(req, verify_token_digest_);
  }

  status parse(const request& req, std::vector<event>& out) override {
    return meta::parse_entries(parser_, req, channel_.type, "whatsapp_business_account", out,
                               [this](reader& r, dom::object entry, std::vector<event>& events) {
                                 body_parser(channel_, r, events).entry(entry);
                               });
  }

 private:
  std::string app_secret_;
  crypto::digest verify_token_digest_;
  channel_ref channel_;
  dom::parser parser_;
};

}  // namespace

namespace {

/// The load tester's webhook: one person's batch of text messages.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  std::string person = std::to_string(spec.person);
  if (person.size() < 7) {
    person.insert(0, 7 - person.size(), '0');
  }
  const auto wa_id = "1650" + person;
  const auto uid = std::to_string(spec.run) + "x" + std::to_string(spec.n);
  std::string msgs;
  for (int i = 0; i < spec.messages; ++i) {
    const auto id = "wamid.LT" + uid + "_" + std::to_string(i);
    w.platform_ids.push_back(id);
    msgs += std::string(i > 0 ? "," : "") + R"({"from":")" + wa_id + R"(","id":")" + id +
            R"(","timestamp":"1749416383","type":"text","text":{"body":")" + spec.text + R"("}})";
  }
  w.body = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398",)"
           R"("changes":[{"value":{"messaging_product":"whatsapp","metadata":)"
           R"({"display_phone_number":"15550783881","phone_number_id":")" +
           spec.account + R"("},"contacts":[{"profile":{"name":"Load Tester"},"wa_id":")" + wa_id +
           R"("}],"messages":[)" + msgs + R"(]},"field":"messages"}]}]})";
  return w;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "whatsapp";
  i.display_name = "WhatsApp";
  i.schema.type = "whatsapp";
  i.schema.settings = {
      {"app_secret", true, true, "",
       "The Meta app's secret: verifies X-Hub-Signature-256 on every webhook."},
      {"verify_token", true, true, "",
       "The token typed into the app's webhook settings; answers the hub.challenge handshake."},
      {"phone_number_id", true, false, "",
       "The business phone number's id (channel.account), e.g. 106540352242922."},
      {"access_token", false, true, "",
       "System-user access token for outbound sends (optional until sending is used)."},
      {"waba_id", false, false, "", "The WhatsApp Business Account id, for template management."},
      {"api_base", false, false, meta::k_default_api_base,
       "Graph API base URL; tests point it at a local fake."},
  };
  i.headers = {meta::k_signature_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<whatsapp_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return cfg.get("phone_number_id"); };
  i.sign = meta::sign;
  i.features.templates = true;
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<sender>(cfg);
  };
  add_outbound_settings(i.schema, default_limits(), false, false);
  i.privacy = meta::deletion_callback();
  i.synthesize = synthesize;
  i.synthetic_batches = true;
  return i;
}

}  // namespace sb::adapters::whatsapp

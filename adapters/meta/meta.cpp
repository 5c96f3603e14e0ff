#include "adapters/meta/meta.hpp"

#include <iterator>
#include <string>
#include <utility>

#include "adapters/meta/outbound.hpp"
#include "adapters/meta/signed_request.hpp"
#include "core/crypto.hpp"
#include "core/url.hpp"

namespace sb::adapters::meta {

namespace {

std::string_view bytes(const crypto::digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Authenticity and handshake.

status verify_signature(const request& req, std::string_view app_secret) {
  const auto given = req.header_value(k_signature_header);
  if (given.empty()) {
    return {errc::missing_signature, "missing X-Hub-Signature-256 header"};
  }
  constexpr std::string_view prefix = "sha256=";
  if (given.size() != prefix.size() + 64 ||
      !iequals_ascii(given.substr(0, prefix.size()), prefix)) {
    return {errc::bad_signature, "X-Hub-Signature-256 must be sha256=<64 hex digits>"};
  }
  const auto given_mac = crypto::from_hex(given.substr(prefix.size()));
  if (!given_mac || given_mac->size() != 32) {
    return {errc::bad_signature, "X-Hub-Signature-256 must be sha256=<64 hex digits>"};
  }
  const auto expected = crypto::hmac_sha256(app_secret, req.body);
  if (!crypto::constant_time_equal(*given_mac, bytes(expected))) {
    return {errc::bad_signature,
            "X-Hub-Signature-256 does not match the body under the channel's app_secret"};
  }
  return {};
}

result<std::string> handshake(const request& req, const crypto::digest& verify_token_digest) {
  if (req.method != "GET") {
    return error{errc::method_not_allowed, "the hub.challenge handshake is a GET"};
  }
  const auto mode = url::query_param(req.query, "hub.mode");
  if (!mode || *mode != "subscribe") {
    return error{errc::handshake_failed, "hub.mode must be subscribe"};
  }
  const auto token = url::query_param(req.query, "hub.verify_token");
  if (!token ||
      !crypto::constant_time_equal(bytes(crypto::sha256(*token)), bytes(verify_token_digest))) {
    return error{errc::handshake_failed, "hub.verify_token does not match the channel's"};
  }
  auto challenge = url::query_param(req.query, "hub.challenge");
  if (!challenge || challenge->empty()) {
    return error{errc::handshake_failed, "missing hub.challenge"};
  }
  return std::move(*challenge);
}

status parse_entries(json::dom::parser& parser, const request& req, const std::string& type,
                     std::string_view object, std::vector<event>& out,
                     const std::function<void(json::reader& r, json::dom::object entry,
                                              std::vector<event>& events)>& each) {
  auto malformed = [&type](std::string why) -> status {
    return {errc::malformed_body, type + " webhook: " + std::move(why)};
  };
  auto root = parse_body(parser, req);
  if (!root) {
    return malformed(root.err().message);
  }
  json::dom::object top;
  std::string_view kind;
  json::dom::array entries;
  if (root->get_object().get(top) != simdjson::SUCCESS ||
      top["object"].get_string().get(kind) != simdjson::SUCCESS || kind != object ||
      top["entry"].get_array().get(entries) != simdjson::SUCCESS) {
    return malformed("expected {\"object\":\"" + std::string(object) + "\",\"entry\":[...]}");
  }
  std::vector<event> events;
  json::reader r;
  for (json::dom::element entry_el : entries) {
    if (auto entry = r.as_object(entry_el, "entry")) {
      each(r, *entry, events);
    }
  }
  if (!r.ok()) {
    return malformed(r.problem());
  }
  out.insert(out.end(), std::make_move_iterator(events.begin()),
             std::make_move_iterator(events.end()));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Messenger and Instagram: entry[] x messaging[] (and changes[]).

namespace {

using json::dom::element;
using json::dom::object;

class page_adapter final : public adapter {
 public:
  page_adapter(const config::channel_config& cfg, std::string type, std::string object)
      : app_secret_(cfg.get("app_secret")),
        verify_token_digest_(crypto::sha256(cfg.get("verify_token"))),
        object_(std::move(object)) {
    channel_.name = cfg.name;
    channel_.type = std::move(type);
    channel_.account = cfg.get("page_id");
  }

  status verify(const request& req) const override { return verify_signature(req, app_secret_); }

  result<std::string> handshake(const request& req) const override {
    return meta::handshake(req, verify_token_digest_);
  }

  status parse(const request& req, std::vector<event>& out) override {
    return parse_entries(parser_, req, channel_.type, object_, out,
                         [this](json::reader& r, object entry, std::vector<event>& events) {
                           parse_entry(r, entry, events);
                         });
  }

 private:
  void parse_entry(json::reader& r, object entry, std::vector<event>& events) const {
    const timestamp entry_time = json::unix_time(entry, "time");
    // `standby` carries the same items while another app holds the thread (handover
    // protocol); the conversation happened all the same, so it is normalized too.
    for (const char* list : {"messaging", "standby"}) {
      if (auto items = r.array(entry, list)) {
        for (element item_el : *items) {
          if (auto item = r.as_object(item_el, list)) {
            events.push_back(messaging_item(r, *item, item_el, entry_time));
          }
        }
      }
    }
    if (auto changes = r.array(entry, "changes")) {
      for (element change_el : *changes) {
        if (auto change = r.as_object(change_el, "changes")) {
          events.push_back(change_event(r, *change, change_el, entry_time));
        }
      }
    }
  }

  /// Sets the conversation fields: the peer is the person on the other side of the page.
  void identify(event& e, const std::string& peer, const std::string& sender_id) const {
    e.peer = peer;
    e.subject_source = peer;
    if (!peer.empty()) {
      e.conversation = conversation_key::format(channel_.name, peer);
    }
    if (!sender_id.empty()) {
      e.sender = sender_info{sender_id, {}, {}};
    }
  }

  event messaging_item(json::reader& r, object item, element raw, timestamp entry_time) const {
    event e;
    e.channel = channel_;
    std::string sender_id;
    std::string recipient_id;
    if (auto s = r.object(item, "sender")) {
      sender_id = json::text(*s, "id");
      if (sender_id.empty()) {
        sender_id = json::text(*s, "user_ref");  // chat plugin visitors have no PSID yet
      }
    }
    if (auto rc = r.object(item, "recipient")) {
      recipient_id = json::text(*rc, "id");
    }
    e.occurred_at = json::unix_time(item, "timestamp");
    std::string peer = sender_id;

    if (auto m = r.object(item, "message")) {
      if (json::flag(*m, "is_echo")) {
        // The page (or Instagram account) sent this one: the person is the recipient.
        e.content.echo = true;
        peer = recipient_id;
      }
      message(r, *m, e);
      if (e.dedupe_key.empty()) {
        e.dedupe_key = "h:" + json_digest(raw);
      }
    } else if (auto p = r.object(item, "postback")) {
      e.type = event_type::postback;
      e.content.text = json::text(*p, "title");
      e.content.payload = json::text(*p, "payload");
      e.platform_event_id = json::text(*p, "mid");
      e.dedupe_key =
          e.platform_event_id.empty() ? "h:" + json_digest(raw) : "m:" + e.platform_event_id;
    } else if (auto rx = r.object(item, "reaction")) {
      const auto action = json::text(*rx, "action");
      const auto mid = json::text(*rx, "mid");
      auto emoji = json::text(*rx, "emoji");
      if (action == "unreact") {
        emoji.clear();
      }
      e.type = event_type::reaction;
      e.content.reaction = reaction_info{emoji, mid};
      e.dedupe_key = "r:" + mid + ":" + action + ":" + emoji;
    } else if (auto rd = r.object(item, "read")) {
      // Messenger gives a watermark (everything before it was read), Instagram the mid.
      const auto watermark = json::text(*rd, "watermark");
      e.type = event_type::status;
      e.status = status_info{"read", json::text(*rd, "mid"), sender_id, {}, {}};
      e.dedupe_key =
          "read:" + sender_id + ":" + (watermark.empty() ? e.status->message_id : watermark);
      if (e.occurred_at.empty()) {
        e.occurred_at = json::unix_time(*rd, "watermark");
      }
    } else if (auto d = r.object(item, "delivery")) {
      e.type = event_type::status;
      e.status = status_info{"delivered", {}, sender_id, {}, {}};
      if (auto mids = r.array(*d, "mids")) {
        std::string_view first;
        if (mids->size() > 0 && mids->at(0).get_string().get(first) == simdjson::SUCCESS) {
          e.status->message_id = std::string(first);
        }
      }
      const auto watermark = json::text(*d, "watermark");
      e.dedupe_key =
          watermark.empty() ? "h:" + json_digest(raw) : "dlv:" + sender_id + ":" + watermark;
      if (e.occurred_at.empty()) {
        e.occurred_at = json::unix_time(*d, "watermark");  // deliveries carry no timestamp
      }
    } else if (auto ed = r.object(item, "message_edit")) {
      e.type = event_type::message_edited;
      e.platform_event_id = json::text(*ed, "mid");
      e.content.text = json::text(*ed, "text");
      e.dedupe_key = "h:" + json_digest(raw);
    } else {
      e.type = event_type::system;
      e.kind = item_kind(item);
      e.dedupe_key = "h:" + json_digest(raw);
    }
    if (e.occurred_at.empty()) {
      e.occurred_at = entry_time;
    }
    identify(e, peer, sender_id);
    return e;
  }

  /// A `message` item: text, attachments, quick reply, reply-to; deletions and unsupported
  /// content become `system` events.
  static void message(json::reader& r, object m, event& e) {
    const auto mid = json::text(m, "mid");
    e.platform_event_id = mid;
    if (!mid.empty()) {
      e.dedupe_key = "m:" + mid;
    }
    if (json::flag(m, "is_deleted")) {
      e.type = event_type::system;
      e.kind = "message_deleted";
      if (!mid.empty()) {
        e.dedupe_key = "del:" + mid;  // the deletion of m:<mid>, not a retry of it
      }
      return;
    }
    if (json::flag(m, "is_unsupported")) {
      e.type = event_type::system;
      e.kind = "unsupported";
      return;
    }
    e.type = event_type::message;
    e.content.text = json::text(m, "text");
    if (auto qr = r.object(m, "quick_reply")) {
      e.content.payload = json::text(*qr, "payload");
      if (!e.content.payload.empty()) {
        e.type = event_type::postback;
      }
    }
    if (auto rt = r.object(m, "reply_to")) {
      e.content.reply_to = json::text(*rt, "mid");
      if (e.content.reply_to.empty()) {
        if (auto story = r.object(*rt, "story")) {
          e.content.reply_to = json::text(*story, "id");  // Instagram story reply
        }
      }
    }
    if (auto atts = r.array(m, "attachments")) {
      for (element a : *atts) {
        if (auto ao = r.as_object(a, "attachments")) {
          e.content.attachments.push_back(attachment_of(r, *ao));
        }
      }
    }
    // A Messenger sticker arrives as an image attachment plus `sticker_id` on the message.
    const auto sticker_id = json::text(m, "sticker_id");
    if (!sticker_id.empty()) {
      bool marked = false;
      for (auto& a : e.content.attachments) {
        if (a.kind == "image") {
          a.kind = "sticker";
          a.media_id = sticker_id;
          marked = true;
          break;
        }
      }
      if (!marked) {
        attachment a;
        a.kind = "sticker";
        a.media_id = sticker_id;
        e.content.attachments.push_back(std::move(a));
      }
    }
  }

  static attachment attachment_of(json::reader& r, object a) {
    attachment out;
    const auto type = json::text(a, "type");
    if (type == "image" || type == "video" || type == "audio" || type == "file" ||
        type == "location" || type == "sticker") {
      out.kind = type;
    } else if (type == "reel" || type == "ig_reel") {
      out.kind = "video";
    } else {
      // template, fallback, share, story_mention, product...: a link to something.
      out.kind = "file";
    }
    out.caption = json::text(a, "title");
    if (auto p = r.object(a, "payload")) {
      out.url = json::text(*p, "url");
      if (out.url.empty()) {
        out.url = json::text(*p, "URL");
      }
      for (const char* id_key : {"sticker_id", "reel_video_id", "attachment_id", "id"}) {
        if (out.media_id.empty()) {
          out.media_id = json::text(*p, id_key);
        }
      }
      if (out.caption.empty()) {
        out.caption = json::text(*p, "title");
      }
      if (auto c = r.object(*p, "coordinates")) {
        out.latitude = json::number(*c, "lat");
        out.longitude = json::number(*c, "long");
      }
    }
    if (out.kind == "sticker" && out.media_id.empty()) {
      out.media_id = json::text(a, "sticker_id");
    }
    if (out.kind == "location") {
      out.name = out.caption;
      out.caption.clear();
    }
    return out;
  }

  /// The key naming an item the parser does not know (optin, referral, pass_thread_control...).
  static std::string item_kind(object item) {
    for (auto field : item) {
      if (field.key != "sender" && field.key != "recipient" && field.key != "timestamp") {
        return std::string(field.key);
      }
    }
    return "unknown";
  }

  /// An `entry[].changes[]` item (Instagram comments and mentions, Page feed...): a `system`
  /// event named by its field, attributed to the author when the change names one.
  event change_event(json::reader& r, object change, element raw, timestamp entry_time) const {
    event e;
    e.channel = channel_;
    e.type = event_type::system;
    e.kind = json::text(change, "field");
    if (e.kind.empty()) {
      e.kind = "unknown";
    }
    e.dedupe_key = "h:" + json_digest(raw);
    if (auto v = r.object(change, "value")) {
      e.platform_event_id = json::text(*v, "id");
      e.content.text = json::text(*v, "text");
      e.occurred_at = json::unix_time(*v, "timestamp");
      if (auto from = r.object(*v, "from")) {
        sender_info s;
        s.platform_id = json::text(*from, "id");
        s.username = json::text(*from, "username");
        s.name = json::text(*from, "name");
        if (!s.platform_id.empty()) {
          e.subject_source = s.platform_id;
          e.sender = std::move(s);
        }
      }
    }
    if (e.occurred_at.empty()) {
      e.occurred_at = entry_time;
    }
    return e;
  }

  std::string app_secret_;
  crypto::digest verify_token_digest_;
  std::string object_;
  channel_ref channel_;
  json::dom::parser parser_;
};

/// Settings of a Messenger or Instagram channel (`instagram` takes the same keys as
/// `messenger`; `page_id` is then the Instagram professional account id).
config::channel_schema page_schema(const std::string& type) {
  const bool instagram = type == "instagram";
  config::channel_schema s;
  s.type = type;
  s.settings = {
      {"app_secret", true, true, "",
       "The Meta app's secret: verifies X-Hub-Signature-256 on every webhook."},
      {"verify_token", true, true, "",
       "The token typed into the app's webhook settings; answers the hub.challenge handshake."},
      {"page_id", true, false, "",
       instagram ? "The Instagram professional account id (channel.account)."
                 : "The Facebook Page id the webhooks are for (channel.account)."},
      {"access_token", false, true, "", "Page access token for outbound sends (optional for now)."},
      {"api_base", false, false, k_default_api_base,
       "Graph API base URL; tests point it at a local fake."},
  };
  return s;
}

}  // namespace

std::unique_ptr<adapter> make_page_adapter(const config::channel_config& cfg,
                                           const std::string& type, const std::string& object) {
  return std::make_unique<page_adapter>(cfg, type, object);
}

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  return {{k_signature_header,
           "sha256=" + crypto::to_hex(crypto::hmac_sha256(cfg.get("app_secret"), in.body))}};
}

privacy_hooks deletion_callback() {
  privacy_hooks h;
  h.deletion_enabled = [](const config::channel_config& cfg) {
    return !cfg.get("app_secret").empty();
  };
  h.deletion_request_of = signed_request_field;
  h.verify_deletion = [](const config::channel_config& cfg, std::string_view signed_bytes,
                         timestamp now) -> result<deletion_request> {
    auto payload = verify_signed_request(signed_bytes, cfg.get("app_secret"), now);
    if (!payload) {
      return payload.err();
    }
    return deletion_request{std::move(payload->user_id)};
  };
  h.sign_deletion = [](const config::channel_config& cfg, std::string_view user_id,
                       std::int64_t issued_at) {
    return make_signed_request(cfg.get("app_secret"), user_id, issued_at);
  };
  return h;
}

synthetic_webhook synthesize_page(const synthetic_spec& spec, std::string_view object) {
  synthetic_webhook w;
  const auto mid = "m_LT" + std::to_string(spec.run) + "x" + std::to_string(spec.n);
  w.platform_ids.push_back(mid);
  std::string person = std::to_string(spec.person);
  if (person.size() < 14) {
    person.insert(0, 14 - person.size(), '0');
  }
  const auto psid = "69" + person;
  w.body = std::string(R"({"object":")") + std::string(object) + R"(","entry":[{"id":")" +
           spec.account + R"(","time":1718630400123,"messaging":[{"sender":{"id":")" + psid +
           R"("},"recipient":{"id":")" + spec.account +
           R"("},"timestamp":1718630399871,"message":{"mid":")" + mid + R"(","text":")" +
           spec.text + R"("}}]}]})";
  return w;
}

adapter_info page_info(const std::string& type, std::string display_name,
                       std::unique_ptr<adapter> (*make)(const config::channel_config&)) {
  adapter_info i;
  i.type = type;
  i.display_name = std::move(display_name);
  i.schema = page_schema(type);
  i.headers = {k_signature_header};
  i.make = make;
  i.account = [](const config::channel_config& cfg) { return cfg.get("page_id"); };
  i.sign = sign;
  i.features.quick_replies = true;
  i.privacy = deletion_callback();
  // Standard messaging: 24 h after the person's last message; HUMAN_AGENT-tagged replies up to
  // 7 days when the channel says it holds the permission (`outbound_channel` reads
  // human_agent_tag once).
  add_outbound_settings(i.schema, page_default_limits(), false, true);
  return i;
}

}  // namespace sb::adapters::meta

#include "adapters/hubspot/hubspot.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"
#include "adapters/signed_time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::adapters::hubspot {

namespace {

namespace dom = simdjson::dom;

constexpr const char* k_signature_header = "x-hubspot-signature-v3";
constexpr const char* k_timestamp_header = "x-hubspot-request-timestamp";
/// HubSpot's documented bound on X-HubSpot-Request-Timestamp, applied either way.
constexpr std::int64_t k_max_skew_ms = 5 * 60 * 1000;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// A decimal integer made of digits only (HubSpot's ids and timestamps as the config and the
/// timestamp header give them); nullopt otherwise.
std::optional<std::int64_t> digits_value(std::string_view s) {
  if (s.empty() || s.size() > 18) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

/// The signed URI: the configured URL as HubSpot calls it, with the request's query if any.
std::string signed_uri(std::string_view public_url, std::string_view query) {
  std::string uri(public_url);
  if (!query.empty()) {
    uri += '?';
    uri += query;
  }
  return uri;
}

/// What v3 signs: method + URI + body + timestamp.
std::string signed_base(std::string_view method, std::string_view uri, std::string_view body,
                        std::string_view stamp) {
  std::string base;
  base.reserve(method.size() + uri.size() + body.size() + stamp.size());
  base.append(method).append(uri).append(body).append(stamp);
  return base;
}

bool is_contact_change(std::string_view type) {
  return type == "contact.creation" || type == "contact.propertyChange" ||
         type == "contact.deletion" || type == "contact.merge" || type == "contact.restore";
}

/// Why an event of `body` belongs to another portal or app than the channel's; "" when none
/// does. Members that are absent or not integers are `parse`'s to report.
std::string misrouted(dom::array events, std::string_view portal_id, std::string_view app_id) {
  for (auto el : events) {
    dom::object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) {
      continue;
    }
    for (auto [key, want] : {std::pair<std::string_view, std::string_view>{"portalId", portal_id},
                             {"appId", app_id}}) {
      auto v = member(o, key);
      if (!v) {
        continue;
      }
      auto text = integer_text(*v);
      if (text && *text != want) {
        return std::string(key == "portalId" ? "portal " : "app ") + *text;
      }
    }
  }
  return {};
}

status forbidden(const std::string& whose) {
  return {errc::forbidden,
          "HubSpot webhook: an event of the body is of " + whose +
              ", not this channel's portal_id and app_id (one app secret signs every portal's "
              "webhooks: a misrouted delivery); nothing of the body was kept"};
}

class hubspot_adapter final : public adapter {
 public:
  explicit hubspot_adapter(const config::channel_config& cfg)
      : client_secret_(cfg.get("client_secret")),
        app_id_(cfg.get("app_id")),
        public_url_(cfg.get("public_url")) {
    channel_.name = cfg.name;
    channel_.type = "hubspot";
    channel_.account = cfg.get("portal_id");
  }

  status verify(const request& req) const override {
    const auto signature = req.header_value(k_signature_header);
    const auto stamp = req.header_value(k_timestamp_header);
    if (signature.empty()) {
      return {errc::missing_signature, "missing X-HubSpot-Signature-v3 header"};
    }
    if (stamp.empty()) {
      return {errc::missing_signature,
              "missing X-HubSpot-Request-Timestamp header (HubSpot signs it with the body)"};
    }
    const auto given = crypto::base64_decode(signature);
    if (!given || given->size() != 32) {
      return {errc::bad_signature, "X-HubSpot-Signature-v3 is not a base64 HMAC-SHA256"};
    }
    const auto sent_ms = digits_value(stamp);
    if (!sent_ms) {
      return {errc::bad_signature, "X-HubSpot-Request-Timestamp is not Unix milliseconds"};
    }
    const auto expected = crypto::hmac_sha256(
        client_secret_,
        signed_base(req.method, signed_uri(public_url_, req.query), req.body, stamp));
    if (!same_digest(*given, expected)) {
      return {errc::bad_signature,
              "X-HubSpot-Signature-v3 does not match the method, the channel's public_url (with "
              "the query), the body and X-HubSpot-Request-Timestamp signed with the channel's "
              "client_secret"};
    }
    // HubSpot signs a time, not a nonce: a captured request would verify forever unless its
    // time is bounded. Within the bound a replay is a duplicate (dedupe keys, privacy claims).
    if (auto fresh = check_signed_time(*sent_ms, req.now, {k_max_skew_ms, k_max_skew_ms, "HubSpot"},
                                       "X-HubSpot-Request-Timestamp");
        !fresh) {
      return fresh;
    }
    // Authentic: now whose it is. A local parser (this member is const and runs on every I/O
    // thread); a body that does not parse is left to `parse`, which quarantines it.
    dom::parser parser;
    auto root = parse_body(parser, req);
    dom::array events;
    if (root && root->get_array().get(events) == simdjson::SUCCESS) {
      if (auto whose = misrouted(events, channel_.account, app_id_); !whose.empty()) {
        return forbidden(whose);
      }
    }
    return {};
  }

  status parse(const request& req, std::vector<event>& out) override {
    auto root = parse_body(parser_, req);
    if (!root) {
      return malformed(root.err().message);
    }
    dom::array events;
    if (root->get_array().get(events) != simdjson::SUCCESS) {
      return malformed("the body must be a JSON array of events");
    }
    // Checked again here: `parse` also serves re-ingest, which does not verify.
    if (auto whose = misrouted(events, channel_.account, app_id_); !whose.empty()) {
      return forbidden(whose);
    }
    std::vector<event> parsed;
    std::size_t index = 0;
    for (auto el : events) {
      shape_reader r;
      auto o = r.as_object(el, "event " + std::to_string(index));
      if (o) {
        parsed.push_back(one(r, *o));
      }
      if (!r.ok()) {
        return malformed("event " + std::to_string(index) + ": " + r.problem());
      }
      ++index;
    }
    for (auto& e : parsed) {
      out.push_back(std::move(e));
    }
    return {};
  }

 private:
  /// One event of the array.
  event one(shape_reader& r, dom::object o) const {
    event e;
    e.channel = channel_;
    const auto event_id = r.id(o, "eventId");
    const auto subscription_id = r.id(o, "subscriptionId");
    const auto object_id = r.id(o, "objectId");
    const auto occurred = r.int64(o, "occurredAt");
    e.kind = r.string(o, "subscriptionType");
    r.require(!event_id.empty(), "member \"eventId\"");
    r.require(!e.kind.empty(), "member \"subscriptionType\"");
    r.require(!r.id(o, "portalId").empty(), "member \"portalId\"");
    r.require(!r.id(o, "appId").empty(), "member \"appId\"");
    r.require(occurred.has_value(), "member \"occurredAt\"");
    e.platform_event_id = event_id;
    if (occurred) {
      e.occurred_at = timestamp::from_millis(*occurred);
    }
    e.dedupe_key = event_id + ":" + subscription_id + ":" + object_id + ":" +
                   (occurred ? std::to_string(*occurred) : std::string());

    if (is_contact_change(e.kind)) {
      r.require(!object_id.empty(), "member \"objectId\" (the contact id)");
      e.type = event_type::customer;
      sender_info s;
      s.platform_id = object_id;
      e.sender = std::move(s);
      e.subject_source = object_id;
      e.peer = object_id;
      e.conversation = conversation_key::format(channel_.name, object_id);
      // Which property changed, and its new value as text: text is what the tenant's redaction
      // (e-mail addresses, phone numbers) reads, and the event is the contact's (erased with it).
      e.content.payload = r.string(o, "propertyName");
      e.content.text = lenient::text(o, "propertyValue");
    } else if (e.kind == k_privacy_deletion) {
      r.require(!object_id.empty(), "member \"objectId\" (the contact id)");
      // A request to act on: who it is about, nothing else of the person.
      e.type = event_type::privacy_redact;
      e.subject_source = object_id;
      e.privacy.emplace();
      e.privacy->platform_id = object_id;
    } else if (e.kind == "conversation.newMessage") {
      r.require(!object_id.empty(), "member \"objectId\" (the thread id)");
      e.type = event_type::message;
      e.peer = object_id;
      e.conversation = conversation_key::format(channel_.name, object_id);
      e.content.thread = object_id;
      // HubSpot's id of the message (a string); the text is not in the webhook.
      e.content.payload = lenient::text(o, "messageId");
    } else {
      e.type = event_type::system;
    }
    return e;
  }

  static status malformed(std::string why) {
    return {errc::malformed_body, "HubSpot webhook: " + std::move(why)};
  }

  channel_ref channel_;
  std::string client_secret_;
  std::string app_id_;
  std::string public_url_;
  dom::parser parser_;  // reused: its buffers grow to the largest body seen
};

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  const timestamp at = in.at.empty() ? now() : in.at;
  const auto stamp = std::to_string(at.unix_ms);
  const std::string url = in.url.empty() ? cfg.get("public_url") : std::string(in.url);
  const auto mac =
      crypto::hmac_sha256(cfg.get("client_secret"), signed_base("POST", url, in.body, stamp));
  return {{k_signature_header, crypto::base64_encode(mac)}, {k_timestamp_header, stamp}};
}

privacy_action request_action(std::string_view kind) {
  return kind == k_privacy_deletion ? privacy_action::erase_person : privacy_action::none;
}

/// Whether the raw body holds a contact.privacyDeletion. The byte search settles the usual
/// body: the type can only be written literally or with \u escapes.
bool requests_in_body(std::string_view body) {
  if (body.find("privacyDeletion") == std::string_view::npos &&
      body.find("\\u") == std::string_view::npos) {
    return false;
  }
  dom::parser parser;
  dom::array events;
  if (parser.parse(body.data(), body.size(), true).get_array().get(events) != simdjson::SUCCESS) {
    return false;
  }
  for (auto el : events) {
    std::string_view type;
    if (el.at_key("subscriptionType").get_string().get(type) == simdjson::SUCCESS &&
        request_action(type) != privacy_action::none) {
      return true;
    }
  }
  return false;
}

/// The load tester's webhook: one contact.propertyChange of the person's contact.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  // Unique per (run, n): runs are below 100000.
  const auto event_id = std::to_string(4000000000ULL + spec.run * 10000000000ULL + spec.n);
  const auto contact = std::to_string(1246965ULL + spec.person);
  w.kind = "contact.propertyChange";
  w.platform_ids.push_back(event_id);
  w.body = R"([{"eventId":)" + event_id + R"(,"subscriptionId":4483,"portalId":)" + spec.account +
           R"(,"appId":1160452,"occurredAt":1732856400000,"subscriptionType":)"
           R"("contact.propertyChange","attemptNumber":0,"objectId":)" +
           contact + R"(,"changeSource":"CRM","propertyName":"message","propertyValue":")" +
           spec.text + R"("}])";
  return w;
}

std::vector<config::setting_problem> check(const config::channel_config& cfg) {
  std::vector<config::setting_problem> problems;
  for (const char* key : {"portal_id", "app_id"}) {
    if (!digits_value(cfg.get(key))) {
      problems.push_back({key, "must be HubSpot's numeric id (digits only)"});
    }
  }
  const auto url = cfg.get("public_url");
  if (!starts_with(url, "https://") && !starts_with(url, "http://")) {
    problems.push_back(
        {"public_url", "must be the full URL HubSpot calls, starting with https://"});
  } else if (url.find_first_of("?#") != std::string::npos) {
    problems.push_back({"public_url",
                        "must not hold a query or fragment: the query HubSpot sends is added "
                        "to it when the signature is checked"});
  }
  return problems;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "hubspot";
  i.display_name = "HubSpot";
  i.schema.type = "hubspot";
  i.schema.settings = {
      {"client_secret", true, true, "",
       "The app's client secret: verifies X-HubSpot-Signature-v3."},
      {"app_id", true, false, "", "The app's id: a body with an event of another app is refused."},
      {"portal_id", true, false, "",
       "The HubSpot account (portal) id whose events this channel takes (channel.account)."},
      {"public_url", true, false, "",
       "The exact URL HubSpot calls (the app's webhook target URL), e.g. "
       "https://hooks.example.com/webhooks/acme/crm: HubSpot signs it."},
  };
  i.schema.check = check;
  i.headers = {k_signature_header, k_timestamp_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<hubspot_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return cfg.get("portal_id"); };
  i.sign = sign;
  // contact.privacyDeletion, named inside the body among other events (docs/privacy.md).
  i.privacy.request_action = request_action;
  i.privacy.requests_in_body = requests_in_body;
  i.synthesize = synthesize;
  return i;
}

}  // namespace sb::adapters::hubspot

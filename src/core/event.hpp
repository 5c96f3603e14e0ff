#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

/// The normalized event, schema v1 (docs/DESIGN.md §5). Adapters fill it from platform payloads;
/// the channel actor stamps gateway fields (id, tenant, received_at, subject); the store assigns
/// `seq` and renders the JSON once. Plain value type: owned strings only, safe to move between
/// threads and actors.
namespace sb {

/// `type` values of schema v1.
namespace event_type {
inline constexpr const char* message = "message";
inline constexpr const char* message_edited = "message.edited";
inline constexpr const char* reaction = "reaction";
inline constexpr const char* postback = "postback";
inline constexpr const char* status = "status";
inline constexpr const char* order = "order";
inline constexpr const char* customer = "customer";
inline constexpr const char* commerce = "commerce";
inline constexpr const char* privacy_data_request = "privacy.data_request";
inline constexpr const char* privacy_redact = "privacy.redact";
inline constexpr const char* privacy_erased = "privacy.erased";
inline constexpr const char* consent_changed = "consent.changed";
inline constexpr const char* outbound_status = "outbound.status";
inline constexpr const char* system = "system";
}  // namespace event_type

struct channel_ref {
  std::string name;     ///< configured channel name, e.g. "wa-main"
  std::string type;     ///< whatsapp | telegram | messenger | instagram | shopify
  std::string account;  ///< phone_number_id, bot id, page id, IG account id, shop domain
};

struct sender_info {
  std::string platform_id;  ///< wa_id, Telegram user id, PSID/IGSID, Shopify customer id
  std::string name;         ///< display name when the platform gives one
  std::string username;     ///< Telegram @username, when given
};

/// One attachment. `kind` is one of image, video, audio, voice, file, sticker, location, contact.
/// Only the fields that apply are set.
struct attachment {
  std::string kind;
  std::string media_id;  ///< platform media id / Telegram file_id
  std::string url;       ///< Messenger/Instagram CDN url
  std::string mime_type;
  std::string caption;
  std::string file_name;
  std::string sha256;  ///< WhatsApp gives it
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::string name;     ///< location name, or contact's formatted name
  std::string address;  ///< location address
  std::string phone;    ///< contact's first phone number
};

struct reaction_info {
  std::string emoji;       ///< empty when the reaction was removed
  std::string message_id;  ///< the message reacted to
};

struct content_info {
  std::string text;
  std::vector<attachment> attachments;
  std::string reply_to;  ///< platform id of the message this one replies to
  std::string payload;   ///< postback / quick-reply / button payload
  std::optional<reaction_info> reaction;
  bool echo = false;  ///< Messenger/Instagram echo of a message the page sent
  bool empty() const {
    return text.empty() && attachments.empty() && reply_to.empty() && payload.empty() &&
           !reaction && !echo;
  }
};

struct status_info {
  std::string state;        ///< sent | delivered | read | failed | deleted ...
  std::string message_id;   ///< the message the status is about
  std::string recipient;    ///< platform id of the recipient when given
  std::string error_code;   ///< on failure, the platform's code as text
  std::string error_title;  ///< on failure, the platform's explanation
};

struct order_item {
  std::string sku;  ///< product_retailer_id / variant sku / product id
  std::string title;
  std::string quantity;  ///< kept as text: exact
  std::string price;     ///< decimal text, never through a double
  std::string currency;
};

struct order_info {
  std::string id;      ///< exact, as text
  std::string number;  ///< "#1001"
  std::string currency;
  std::string total;  ///< decimal text
  std::string financial_status;
  std::vector<order_item> items;
};

struct event {
  // Gateway fields.
  std::string id;         ///< "evt_" + ULID, set by the gateway
  std::uint64_t seq = 0;  ///< set by the store; 0 = not yet stored
  std::string tenant;
  channel_ref channel;
  std::string type;  ///< one of event_type
  std::string kind;  ///< platform's own kind for `system`/`commerce` (e.g. "my_chat_member",
                     ///< "products/update", "unsupported"), else empty
  std::string conversation;  ///< "<channel name>:<peer>"
  std::string subject;
  std::optional<sender_info> sender;
  std::string platform_event_id;
  timestamp occurred_at;
  timestamp received_at;
  content_info content;
  std::optional<status_info> status;
  std::optional<order_info> order;
  std::vector<std::string> redactions;

  // Internal fields, not rendered.
  std::string dedupe_key;  ///< unique per (tenant, channel) for platform retries; set by adapters
  std::string peer;        ///< conversation peer id (adapters set it; conversation = name:peer)
  std::string subject_source;  ///< user id the subject is derived from (empty: no subject)
};

/// Renders the event as one JSON object (schema v1). Absent fields are omitted.
std::string to_json(const event& e);
void append_json(std::string& out, const event& e);

}  // namespace sb

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/conversation_key.hpp"
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

/// The JSON Schema that events of this version follow: the `$id` of docs/event.schema.json
/// (docs/events.md). A change a v1 consumer could trip over (a field removed, renamed or retyped,
/// a new required field) makes a new version with a new id; adding an optional field or an enum
/// value within v1 is a change of the schema file, not of its id.
inline constexpr std::string_view event_schema_id = "https://switchboard.dev/schemas/event/v1.json";
/// The same schema's variant for web chat visitor streams (the event without `subject` and
/// `tenant`).
inline constexpr std::string_view visitor_event_schema_id =
    "https://switchboard.dev/schemas/event/v1.json#/$defs/visitor_event";
/// The header that names the schema of the events a response or push delivery carries: on
/// `GET /v1/stream` and web chat visitor streams, `GET /v1/events`, and push deliveries.
inline constexpr std::string_view event_schema_header = "Switchboard-Event-Schema";

struct channel_ref {
  std::string name;     ///< configured channel name, e.g. "wa-main"
  std::string type;     ///< the channel's type (adapters/registry.cpp): whatsapp, slack, email…
  std::string account;  ///< phone_number_id, bot id, page id, IG account id, shop domain, Slack
                       ///< team_id, WooCommerce store host, HubSpot portalId, e-mail address
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
  std::string sha256;  ///< WhatsApp gives it; e-mail attachments: computed by the adapter
  std::optional<std::uint64_t> size;  ///< bytes, where the platform gives the file (e-mail)
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
  std::string subject;  ///< e-mail Subject; redacted like `text`
  std::string text;
  std::vector<attachment> attachments;
  std::string reply_to;  ///< platform id of the message this one replies to
  std::string payload;   ///< postback / quick-reply / button payload
  std::optional<reaction_info> reaction;
  /// The thread the message belongs to: Slack's `thread_ts`, the root Message-Id of an e-mail
  /// thread (from References / In-Reply-To). Empty when not threaded.
  std::string thread;
  bool echo = false;  ///< Messenger/Instagram echo of a message the page sent; Slack: this app's
  bool empty() const {
    return subject.empty() && text.empty() && attachments.empty() && reply_to.empty() &&
           payload.empty() && thread.empty() && !reaction && !echo;
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

/// The `privacy` block of gateway-made privacy events (privacy.erased, privacy.redact,
/// privacy.data_request): which subject an action concerns and how it ended. A receipt of an
/// erasure carries the subject here and leaves the event's own `subject` empty, so the store
/// seals it under the tenant's key and it outlives the erasure it reports; it never carries the
/// erased data (no sender, no content, no e-mail or phone).
struct privacy_info {
  std::string subject;      ///< the subject the action concerns; "" when none (shop/redact)
  std::string receipt;      ///< "era_<ULID>": the erasure's receipt id
  std::string platform_id;  ///< the platform's id of the person (Shopify customer id, Meta user_id)
  std::string request;      ///< the platform's request id or code, when it gives one
  struct erased_counts {
    std::uint64_t events = 0;
    std::uint64_t dedupe_keys = 0;
    std::uint64_t dead_letters = 0;
    std::uint64_t subjects = 0;
  };
  std::optional<erased_counts> erased;  ///< what an erasure removed
  std::string export_json;  ///< privacy.data_request: the subject's export, rendered JSON
};

/// The `consent` block of `consent.changed` events: what changed for the event's subject and
/// who changed it. Members that did not change are absent.
struct consent_info {
  std::string purpose;            ///< with `granted`: support | ai | analytics | marketing
  std::optional<bool> granted;    ///< the purpose's new value
  std::optional<bool> opted_out;  ///< outbound messages that are not replies: off (true) or on
  std::optional<bool> restricted;  ///< restriction of processing set or lifted
  std::string source;              ///< "keyword" (the person's message) or "api"
};

/// The `outbound` block of `outbound.status` events: what became of a message sent through
/// POST /v1/messages (docs/outbound.md). The event's `conversation` and `subject` are the
/// message's; `platform_event_id` is empty.
struct outbound_info {
  std::string id;                   ///< "out_<ULID>", as the API answered it
  std::string state;                ///< sent | delivered | read | failed (or queued, sending)
  std::string platform_message_id;  ///< the platform's id of the message, once sent
  std::uint32_t attempts = 0;       ///< send attempts made
  std::string purpose;              ///< the message's purpose ("support", "marketing")
  std::string error_code;   ///< failed: the platform's code ("131047", "400"), or the gateway's
  std::string error_title;  ///< failed: the platform's explanation
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
  std::string conversation;  ///< "<channel name>:<peer>" (`conversation_key`)
  std::string subject;
  std::optional<sender_info> sender;
  std::string platform_event_id;
  timestamp occurred_at;
  timestamp received_at;
  content_info content;
  std::optional<status_info> status;
  std::optional<order_info> order;
  std::vector<std::string> redactions;
  std::optional<privacy_info> privacy;
  std::optional<consent_info> consent;
  std::optional<outbound_info> outbound;

  // Internal fields, not rendered.
  std::string dedupe_key;  ///< unique per (tenant, channel) for platform retries; set by adapters
  std::string peer;        ///< conversation peer id (adapters set it; conversation = name:peer)
  std::string subject_source;  ///< user id the subject is derived from (empty: no subject)
};

/// Renders the event as one JSON object (schema v1). Absent fields are omitted.
std::string to_json(const event& e);
void append_json(std::string& out, const event& e);

}  // namespace sb

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/outbound.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

/// The adapter interface: everything Switchboard knows about one messaging platform, as pure
/// functions reached through its `adapter_info`. Adding a platform = one folder under adapters/
/// filling an `adapter_info`, one entry in the list in adapters/registry.cpp, fixtures under
/// tests/fixtures/<type>/ and that platform's tests (docs/architecture.md "Adding a platform").
/// No code outside the platforms' folders names a platform (tests/unit/adapters/plugin_test.cpp).
///
/// Contract:
/// - No I/O, no actors, no global mutable state, no logging of secrets.
/// - An instance belongs to one channel (it is built from that channel's validated config).
///   `parse` is used by one thread at a time (it owns its JSON parser). Different instances may
///   run on different threads concurrently.
/// - The const members (`verify`, `handshake`) must be safe to call on one instance from several
///   threads at once, concurrently with each other (not with `parse`): the HTTP edge keeps one
///   instance per channel and verifies on every I/O thread (src/http/platform_gate.hpp). So they
///   read only members set by the constructor, keep no mutable state (no `mutable`, no caches, no
///   shared parser), and use only thread-safe primitives: OpenSSL's one-shot `HMAC()` and
///   `EVP_Digest()` (`crypto::hmac_sha256`, `crypto::sha256`), `CRYPTO_memcmp`, base64/hex and
///   URL decoding into locals. Every adapter in the list holds to this (checked for WhatsApp,
///   Messenger, Instagram, Telegram and Shopify when the edge started verifying).
/// - Authenticity is decided on the raw body bytes, before any parsing, with constant-time
///   comparisons (`crypto::constant_time_equal`).
/// - Nothing returned refers into the request: events own their strings.
namespace sb::adapters {

/// An HTTP header as received. Names are lower-case.
struct header {
  std::string name;
  std::string value;
};

/// A webhook request as the gateway received it. Views are valid for the duration of the call.
struct request {
  std::string_view method;                       ///< "POST" or "GET"
  std::string_view query;                        ///< raw query string without '?', not decoded
  const std::vector<header>* headers = nullptr;  ///< only the names `adapter_info::headers` lists
  /// The raw body. The buffer behind it has at least 64 bytes (simdjson's padding) of writable
  /// capacity past `body.size()`, so adapters may parse it in place without copying.
  std::string_view body;
  /// The wall clock when the gateway received the request, for the platforms that sign a time
  /// (Slack, HubSpot, Mailgun): `verify` checks freshness against it, never against a clock of
  /// its own. Every caller of `verify` sets it, and the channel sets it for `parse` too, which
  /// reads it only where the platform gives no time of its own (web chat: `occurred_at`).
  timestamp now;

  /// The header's value, or an empty view when absent. `name` must be lower-case.
  std::string_view header_value(std::string_view name) const {
    if (headers != nullptr) {
      for (const auto& h : *headers) {
        if (h.name == name) {
          return h.value;
        }
      }
    }
    return {};
  }
};

/// What the edge answers itself to a request that sets a webhook up or tests it, storing
/// nothing (`adapter::setup_request`).
struct edge_reply {
  std::string content_type = "text/plain";
  std::string body;
};

/// A value the platform makes once per request and signs (Mailgun's `token`), which the edge
/// remembers until `expires` (`adapter::one_time_token`).
struct one_time_token {
  std::string value;
  timestamp expires;
};

class adapter {
 public:
  virtual ~adapter() = default;

  /// Checks the request's authenticity on the raw bytes. `errc::missing_signature` when the
  /// platform's header is absent, `errc::bad_signature` when it does not match. Constant time in
  /// the secret and the expected value.
  virtual status verify(const request& req) const = 0;

  /// Parses a verified body into normalized events, appended to `out`. Fills every field the
  /// platform gives except the gateway's (`id`, `seq`, `tenant`, `received_at`, `subject`):
  /// `channel`, `type`, `kind`, `conversation`, `peer`, `sender`, `platform_event_id`,
  /// `occurred_at`, `content`, `status`, `order`, `dedupe_key` (unique per channel for platform
  /// retries) and `subject_source` (the user id the subject derives from; empty when the event
  /// concerns no person). A body that is not valid JSON, or not the platform's shape at all,
  /// yields `errc::malformed_body` and leaves `out` unchanged. Valid events of a kind the adapter
  /// does not know become `type: system` with `kind` set to the platform's name for it: never
  /// dropped. A valid body may yield zero events (e.g. an empty `entry` list).
  virtual status parse(const request& req, std::vector<event>& out) = 0;

  /// Answers a GET subscription handshake (Meta's `hub.challenge`). Returns the body to answer
  /// with 200, `errc::handshake_failed` (403) on a wrong token, or `errc::method_not_allowed`
  /// for platforms without a handshake.
  virtual result<std::string> handshake(const request& req) const {
    return error{errc::method_not_allowed, "this channel type has no GET handshake"};
  }

  /// A POST the platform makes to set the webhook up or to test it, which the edge answers with
  /// 200 and the returned reply and never stores: Slack's signed `url_verification` (the
  /// challenge), WooCommerce's unsigned creation ping (`webhook_id=<n>`). The edge asks twice:
  /// before `verify` with `verified` false (only an unsigned ping of exactly the documented
  /// shape may answer then: it proves nothing and stores nothing), and after a passed `verify`
  /// with `verified` true. nullopt: an ordinary webhook. Const and thread-safe like `verify`.
  virtual std::optional<edge_reply> setup_request(const request& req, bool verified) const {
    return std::nullopt;
  }

  /// For platforms whose signature covers a one-time token but not the body (Mailgun signs
  /// `timestamp + token`): the verified request's token. The edge refuses (401
  /// `replayed_request`) a token it accepted before with another body; the same body again is a
  /// retry and passes (the store dedupes it). nullopt: the platform has no such token. Called
  /// only after `verify` passed; const and thread-safe like `verify`.
  virtual std::optional<one_time_token> replay_token(const request& req) const {
    return std::nullopt;
  }
};

/// What a client that posts webhooks as the platform would (tests, the load tester) gives
/// `adapter_info::sign` beside the channel's config.
struct signing_input {
  std::string_view body;
  /// What the request is about where the platform names it in a header (a topic); "" = none.
  std::string_view kind;
  /// The platform's id of this delivery where it sends one in a header; "" = one derived from
  /// the body, so the same body gets the same id.
  std::string_view delivery_id;
  /// When the platform says the event happened, where it sends that in a header (RFC 3339);
  /// "" = none.
  std::string_view sent_at;
  /// When the request is signed, for the platforms that sign a time (Slack, HubSpot, Mailgun);
  /// empty = now (the one clock `sign` may read).
  timestamp at;
  /// HubSpot signs the URL it calls: the channel's `public_url` unless set here (with the query,
  /// if any, after '?').
  std::string_view url;
};

/// What a privacy request asks of the gateway (docs/privacy.md).
enum class privacy_action {
  none,           ///< not a privacy request: stored like every webhook
  erase_person,   ///< erase the subject of the request's person
  export_person,  ///< the person's data is requested: export it into the receipt
  erase_channel,  ///< erase everything the channel holds
};

/// A verified deletion callback: whose data to erase.
struct deletion_request {
  std::string user_id;  ///< the platform's id of the person, as its events' `subject_source`
};

/// How a platform asks the gateway to act on personal data (DESIGN §7). Pure functions; the
/// gateway's privacy code (actors/privacy_api.cpp, the edge's src/http/platform_gate.cpp) calls
/// them and does the erasing, exporting, recording and answering. Members are null when the
/// platform has no such request.
struct privacy_hooks {
  /// A deletion callback (`POST /webhooks/{tenant}/{channel}/data-deletion`): whether `cfg`'s
  /// channel takes one (its secret is configured).
  bool (*deletion_enabled)(const config::channel_config& cfg) = nullptr;
  /// The signed bytes that make the callback, from its body: the same request again has the
  /// same bytes. `errc::bad_request` naming the field when absent or malformed.
  result<std::string> (*deletion_request_of)(std::string_view body) = nullptr;
  /// Verifies `signed_bytes` with the channel's secret and freshness at `now`:
  /// `errc::bad_signature` when it is forged, `errc::malformed_body` when it is signed but names
  /// no person, `errc::stale_request` when too old or too far ahead.
  result<deletion_request> (*verify_deletion)(const config::channel_config& cfg,
                                              std::string_view signed_bytes,
                                              timestamp now) = nullptr;
  /// The signed bytes the platform makes for `user_id` at `issued_at` (Unix seconds) to a
  /// channel configured as `cfg`: what `deletion_request_of` finds in its callback body. The one
  /// implementation of that signing, for clients that must look like the platform (tests).
  std::string (*sign_deletion)(const config::channel_config& cfg, std::string_view user_id,
                               std::int64_t issued_at) = nullptr;

  /// Privacy requests that arrive as webhooks: the lower-case header whose value names the
  /// request; the adapter sets the same value as the parsed event's `kind`. "" = none.
  std::string request_header;
  /// What the request named `kind` asks (`privacy_action::none` for ordinary webhooks).
  privacy_action (*request_action)(std::string_view kind) = nullptr;
  /// Privacy requests named inside the body, among other events of one webhook (HubSpot's
  /// contact.privacyDeletion), for types without `request_header`: whether the raw, not yet
  /// verified `body` holds an event whose `kind` `request_action` knows. Exact: a body it
  /// answers false for is stored like every webhook, so a privacy request must never be missed
  /// (a body that is not the platform's JSON answers false and is refused or quarantined there).
  bool (*requests_in_body)(std::string_view body) = nullptr;
};

/// A web chat visitor's session, as its token says (`visitor_hooks::check`).
struct visitor_session {
  std::string visitor;  ///< "vis_<ULID>": the visitor's id, the `subject_source` of their events
  timestamp expires;    ///< the token is refused from then on
};

/// What a visitor-facing channel's settings say about its visitors, read once by the edge.
struct visitor_settings {
  std::vector<std::string> allowed_origins;  ///< exact origins ("https://shop.example.com")
  bool allow_no_origin = false;  ///< requests without an Origin (native apps) are served
  std::int64_t session_ttl_ms = 0;
  double sessions_per_ip_per_minute = 0;     ///< new sessions from one address; 0 = unlimited
  double messages_per_visitor_per_minute = 0;  ///< 0 = unlimited
  std::size_t max_message_bytes = 0;         ///< a message's text, in UTF-8 bytes
  std::string title;                         ///< the widget's header
  std::string consent_notice;                ///< shown before the first message
};

/// A channel where the gateway is the platform (web chat, docs/webchat.md): the people write
/// through the gateway's own visitor API (`/chat/{tenant}/{channel}/...`, src/http) with a
/// session token the channel mints and checks without a lookup. Pure functions over the
/// channel's validated config (its derived `session_key`), callable from any thread.
struct visitor_hooks {
  /// The channel's visitor settings.
  visitor_settings (*settings)(const config::channel_config& cfg) = nullptr;
  /// A token for `visitor`, valid until `expires`: opaque to the client, unguessable, bound to
  /// the channel (its key is derived per tenant and channel) and to the visitor.
  std::string (*mint)(const config::channel_config& cfg, std::string_view visitor,
                      timestamp expires) = nullptr;
  /// The session `token` stands for at `now`, its MAC compared in constant time:
  /// `errc::unauthorized` for a malformed, forged or expired token (the message says which but
  /// never echoes the token).
  result<visitor_session> (*check)(const config::channel_config& cfg, std::string_view token,
                                   timestamp now) = nullptr;
  /// The embeddable widget's asset name (src/web/assets.hpp), served at
  /// `/chat/{tenant}/{channel}/widget.js`; "" = none.
  std::string widget;
};

/// What the load tester asks a platform for: one realistic webhook from one person, carrying
/// `messages` text messages, for the channel whose account is `account`.
struct synthetic_spec {
  std::string account;       ///< `adapter_info::account` of the channel
  std::uint64_t person = 0;  ///< which person writes (0-based); mapped into the platform's ids
  std::uint64_t run = 0;     ///< the run id (below 100000): ids differ across runs
  std::uint64_t n = 0;       ///< the request's number within the run
  std::string text;          ///< the message text: letters, spaces and '.' only
  int messages = 1;          ///< more than 1 only for types with `synthetic_batches`
};

/// A webhook `adapter_info::synthesize` built, to be signed with `sign`.
struct synthetic_webhook {
  std::string body;
  std::vector<std::string> platform_ids;  ///< every event's `platform_event_id`, in order
  std::string kind;                       ///< for `signing_input::kind`
  std::string delivery_id;                ///< for `signing_input::delivery_id`
};

class outbound_channel;

/// One platform, as listed in adapters/registry.cpp: everything the gateway knows about it.
/// Function members are plain pointers to pure functions, callable from any thread; `cfg`
/// arguments have passed `schema` validation.
struct adapter_info {
  std::string type;                  ///< channel `type` in the config
  std::string display_name;          ///< the platform's name as people write it, for messages
  config::channel_schema schema;     ///< keys a channel of this type accepts
  std::vector<std::string> headers;  ///< lower-case header names `verify`/`parse` read
  /// Builds an instance for one channel; the config has passed `schema` validation.
  std::unique_ptr<adapter> (*make)(const config::channel_config&);
  /// The account id events carry in `channel.account` (phone_number_id, page_id, bot id,
  /// shop domain), from the channel's config.
  std::string (*account)(const config::channel_config&);
  /// The headers the platform sends with `in.body` to a channel configured as `cfg` (lower-case
  /// names, the authenticity header first), so that `verify` accepts the request: the one
  /// implementation of the platform's signing, used by the tests, the e2e support and the load
  /// tester.
  std::vector<header> (*sign)(const config::channel_config& cfg, const signing_input& in) = nullptr;
  /// For platforms that sign inside the body (Mailgun's `timestamp`, `token` and `signature`
  /// form fields): `in.body` with the signature put in, to post instead of it; `sign` then gives
  /// the headers for that body. Null for platforms that sign in headers only.
  std::string (*sign_body)(const config::channel_config& cfg, const signing_input& in) = nullptr;

  // Outbound (adapters/outbound.hpp, docs/outbound.md). Null / empty for a type that cannot
  // send.

  /// The members of a message beyond text and media the platform takes.
  outbound_features features;
  /// Builds a channel's sending side: its settings read once into the platform's types.
  std::shared_ptr<const outbound_channel> (*outbound)(const config::channel_config& cfg) = nullptr;

  /// Receipts that cover every message sent up to a time instead of naming one (a watermark):
  /// the watermark (Unix ms) of such a `status` event, nullopt for one that names its message.
  /// Null: the platform's receipts always name their message (src/outbound/status_correlation.hpp).
  std::optional<std::int64_t> (*receipt_watermark)(const event& e) = nullptr;

  /// Privacy requests of the platform (docs/privacy.md).
  privacy_hooks privacy;

  /// The platform never retries a delivery and disables a webhook after a few failed ones
  /// (WooCommerce): a signed body that does not parse is answered 200 once it is kept in
  /// quarantine (durable, so nothing is lost), not 400. A 503 to such a platform is a lost
  /// delivery; the docs say so.
  bool ok_when_quarantined = false;

  /// Visitors of a channel where the gateway is the platform (web chat); null `mint` for every
  /// other type.
  visitor_hooks visitors;

  /// A realistic webhook for the load tester (loadtest/generator.hpp); null: the load tester
  /// cannot drive this type.
  synthetic_webhook (*synthesize)(const synthetic_spec& spec) = nullptr;
  /// Whether one synthetic webhook may carry several messages (`synthetic_spec::messages`).
  bool synthetic_batches = false;
};

/// Every adapter, in one explicit list (no static registration). Unique types.
const std::vector<adapter_info>& all();

/// The entry for `type`, or nullptr.
const adapter_info* find(std::string_view type);

/// The schemas of all adapters, for `config::load`.
std::vector<config::channel_schema> schemas();

/// The types of the adapters `pred` holds for, in list order, for messages: "a", "a and b",
/// "a, b and c".
std::string types_where(const std::function<bool(const adapter_info&)>& pred);

}  // namespace sb::adapters

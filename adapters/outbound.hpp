#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

/// Outbound messages (POST /v1/messages, docs/outbound.md): the owned model the gateway stores
/// in its outbox, the strict parser of the API body, the per-channel validation, and the
/// platform-neutral types the adapters' encoders and response interpreters speak
/// (`adapter_info::encode`, `adapter_info::interpret` in adapters/adapter.hpp).
///
/// Everything here is pure: no I/O, no clocks, no global mutable state. Every function may be
/// called from any thread concurrently; results own their strings.
namespace sb::adapters {

/// What a media message carries. Telegram sends `video`, `audio`, `sticker` with their own
/// methods; Messenger/Instagram have no sticker by URL (validation says so).
enum class media_kind { image, video, audio, document, sticker };

/// "image", "video", "audio", "document", "sticker".
const char* to_string(media_kind k) noexcept;

/// A media attachment, by public URL or by an id the platform gave for an upload (WhatsApp
/// media id, Telegram file_id, Messenger attachment_id). Exactly one of `url` and `media_id`.
struct outbound_media {
  media_kind kind = media_kind::image;
  std::string url;
  std::string media_id;
  std::string caption;   ///< WhatsApp and Telegram only; "" = none
  std::string filename;  ///< documents on WhatsApp; "" = none
};

/// A WhatsApp message template (the only way to open a conversation outside the 24-hour
/// window). `components` is the Cloud API's `components` array as raw JSON text, passed to the
/// platform verbatim; "" = the template has no parameters.
struct outbound_template {
  std::string name;
  std::string language;  ///< e.g. "en_US": the template's `language.code`
  std::string components;
};

/// One Telegram inline keyboard button: `text` plus exactly one of `callback_data` (1-64 bytes,
/// comes back as a `postback` event) and `url`.
struct keyboard_button {
  std::string text;
  std::string callback_data;
  std::string url;
};

/// One Messenger / Instagram quick reply. `content_type` is "text" (then `title` is required,
/// `payload` comes back as a `postback` event), "user_phone_number" or "user_email".
struct quick_reply {
  std::string content_type = "text";
  std::string title;
  std::string payload;
};

/// One outbound message, as accepted, stored in the outbox and handed to the encoder.
struct outbound_message {
  std::string id;            ///< "out_" + ULID; set by the gateway when it accepts the message
  std::string tenant;        ///< set by the gateway
  std::string channel;       ///< the channel's name in the config
  std::string channel_type;  ///< set by the gateway from the channel's config
  /// The platform's recipient: WhatsApp wa_id (digits), Telegram chat id (integer text, negative
  /// for groups, may exceed 2^53) or @channelusername, Messenger PSID, Instagram IGSID.
  std::string to;
  std::string conversation;         ///< "<channel>:<to>", as events name it
  std::string purpose = "support";  ///< "support" or "marketing" (docs/DESIGN.md §7)
  std::string text;                 ///< "" = none (a media-only, template or keyboard-less message)
  std::optional<outbound_media> media;
  std::optional<outbound_template> whatsapp_template;  ///< WhatsApp only
  std::vector<std::vector<keyboard_button>> keyboard;  ///< Telegram inline keyboard rows
  std::vector<quick_reply> quick_replies;              ///< Messenger / Instagram
  /// Messenger / Instagram `messaging_type`: RESPONSE, UPDATE or MESSAGE_TAG. Empty on other
  /// platforms; the parser sets RESPONSE when a Meta page channel is targeted without one.
  std::string messaging_type;
  std::string tag;              ///< with MESSAGE_TAG, e.g. "HUMAN_AGENT"
  std::string reply_to;         ///< platform message id this replies to; "" = none
  std::string idempotency_key;  ///< the caller's Idempotency-Key header; "" = none
  timestamp created_at;         ///< set by the gateway when it accepts the message
};

/// The parsed body of POST /v1/messages. `message` has `channel`, `to` and `conversation` set
/// (from `conversation`, or from `channel` + `to`) and the content; `id`, `tenant`,
/// `channel_type`, `idempotency_key` and `created_at` are left for the gateway.
struct outbound_request_body {
  outbound_message message;
};

/// Parses the POST /v1/messages body strictly (simdjson). Accepted members: `conversation` |
/// (`channel` + `to`), `purpose`, `text`, `media`, `template`, `keyboard`, `quick_replies`,
/// `messaging_type`, `tag`, `reply_to`; see docs/outbound.md for their shapes. Unknown members,
/// wrong types, both or neither of the targets, nothing to send, text longer than any platform
/// takes (4096 characters), a bad `purpose` and malformed sub-objects yield `errc::bad_request`
/// with a message naming the field, e.g. "field 'purpose' must be support or marketing".
/// Platform-specific rules need the channel and are checked by `validate`.
result<outbound_request_body> parse_send_request(std::string_view json);

/// Checks `m` against the channel it targets: the features its type supports (template only on
/// whatsapp, keyboard only on telegram, quick_replies and messaging_type only on messenger /
/// instagram, ...), the platform's limits (Messenger text at most 2000 characters, ...) and the
/// recipient's form. `errc::bad_request` naming the field; `errc::bad_request` too when the
/// channel's type cannot send (shopify). Reads `cfg.type`, not `m.channel_type`; call after
/// `apply_defaults`.
status validate(const config::channel_config& cfg, const outbound_message& m);

/// Fills platform defaults that depend on the channel type: `messaging_type` RESPONSE on
/// messenger / instagram when empty; `channel_type` = `cfg.type`. Idempotent.
void apply_defaults(const config::channel_config& cfg, outbound_message& m);

/// The outbox record: every member of `outbound_message` as one JSON object (template
/// components embedded as JSON). `outbound_from_json(to_json(m))` equals `m`.
std::string to_json(const outbound_message& m);

/// Reads what `to_json` wrote. `errc::malformed_body` when the text is not such a record.
result<outbound_message> outbound_from_json(std::string_view json);

/// A request to a platform's send API, as the encoder builds it. Contains the channel's secrets
/// (Authorization header; Telegram's bot token is part of the URL): never log `url`, `headers`
/// or `body`; log `operation` instead.
struct platform_request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  ///< name, value
  std::string body;
  std::string operation;  ///< loggable name, e.g. "whatsapp messages", "telegram sendPhoto"
};

/// How one send attempt ended.
enum class send_outcome {
  sent,          ///< the platform accepted the message
  rate_limited,  ///< a platform rate limit: slow the bucket, retry after `retry_after_ms`
  transient,     ///< 5xx, timeout, no or garbled answer: retry with backoff
  permanent,     ///< any other 4xx: fail at once, carry the platform's error
};

/// "sent", "rate_limited", "transient", "permanent".
const char* to_string(send_outcome o) noexcept;

/// Which bucket a rate limit applies to.
enum class limit_scope {
  channel,    ///< the sender (phone number, bot, page)
  recipient,  ///< the pair sender–recipient (WhatsApp 131056, Telegram per-chat flood)
};

/// What `adapter_info::interpret` made of a platform's answer.
struct send_result {
  send_outcome outcome = send_outcome::transient;
  /// The platform's id of the sent message (WhatsApp `messages[0].id`, Telegram
  /// `result.message_id`, Messenger `message_id`). A 2xx without one is still `sent` (the
  /// platform took it), with this empty.
  std::string platform_message_id;
  /// rate_limited: how long to wait before the next attempt, from the platform (Telegram
  /// `parameters.retry_after`, HTTP Retry-After) or the documented default for the code; always
  /// > 0 then. transient: the platform's Retry-After when given, else 0 (= the engine's backoff).
  std::int64_t retry_after_ms = 0;
  limit_scope scope = limit_scope::channel;  ///< rate_limited only
  std::string error_code;   ///< the platform's code as text ("131047", "429"); "" when sent
  std::string error_title;  ///< the platform's message; "" when sent
};

/// Token-bucket rates for one channel (enforced by the send engine). 0 = no limit of that kind.
struct rate_limits {
  double per_channel_rps = 0;       ///< messages per second from this channel's sender
  double per_channel_burst = 0;     ///< bucket size of the above
  double per_recipient_rps = 0;     ///< messages per second to one recipient
  double per_recipient_burst = 0;   ///< bucket size of the above
  double per_group_per_minute = 0;  ///< messages per minute to one group chat (Telegram)
};

/// The channel's limits: its type's defaults (`adapter_info::default_limits`) overridden by the
/// channel settings `rate_per_second`, `rate_burst`, `recipient_per_minute`,
/// `recipient_burst`, `group_per_minute` when set. All zero for types that cannot send or a
/// setting that is not a non-negative number (the config loader refuses those, see
/// `outbound_setting_problems`).
rate_limits limits_for(const config::channel_config& cfg);

/// The outbound channel settings with bad values, in key order: rate keys that are not
/// non-negative numbers, a burst below 1 where its rate is set, `human_agent_tag` not
/// true/false; e.g. {"rate_burst", "must be at least 1 when rate_per_second is set (…)"}.
/// `add_outbound_settings` installs it as the schema's `check`, so the config loader reports each
/// at its line and a config with one never starts.
std::vector<config::setting_problem> outbound_setting_problems(const config::channel_config& cfg);

/// The first of `outbound_setting_problems` as `errc::bad_request` "<channel>.<key> <problem>";
/// ok when there is none.
status check_outbound_settings(const config::channel_config& cfg);

/// Whether `to` is a group chat on `cfg`'s platform (Telegram: a negative chat id), i.e. whether
/// `rate_limits::per_group_per_minute` applies.
bool is_group_recipient(const config::channel_config& cfg, std::string_view to);

/// The conversation window rules of a channel (DESIGN §7), for the window check: free-form
/// messages only within `window_hours` of the person's last message (0 = no window, e.g.
/// Telegram); with messaging_type MESSAGE_TAG + tag HUMAN_AGENT within `human_agent_hours`
/// (Messenger / Instagram with `human_agent_tag: true`; 0 = not allowed).
struct window_policy {
  int window_hours = 0;
  int human_agent_hours = 0;
  bool template_opens_window = false;  ///< WhatsApp: a template may be sent at any time
};

window_policy window_for(const config::channel_config& cfg);

// ---------------------------------------------------------------------------------------------
// Shared by the adapters' outbound functions (not needed by callers of the interface).

/// The characters (code points) of UTF-8 text, as the platforms count their length limits.
std::size_t utf8_length(std::string_view s) noexcept;

/// Whether `s` is non-empty and ASCII digits only (a platform's numeric id).
bool all_digits(std::string_view s) noexcept;

/// `{api_base}/{path}` with `api_base` from the channel (or `default_base` when unset), one '/'
/// between them.
std::string api_url(const config::channel_config& cfg, std::string_view default_base,
                    std::string_view path);

/// An HTTP Retry-After header in milliseconds. Only delta-seconds are read: an HTTP-date would
/// need a clock, and the platforms send seconds. nullopt when absent or unreadable.
std::optional<std::int64_t> parse_retry_after(std::optional<std::string_view> header);

/// The generic classification of an answer the platform's body says nothing more about: 2xx
/// sent, 429 rate_limited (Retry-After, else `default_wait_ms`), 0 / 408 / 5xx / other transient,
/// other 4xx permanent. `error_code` is the HTTP status then.
send_result classify_status(int http_status, std::optional<std::string_view> retry_after,
                            std::int64_t default_wait_ms);

/// Declares the outbound keys of a sending channel type in its schema, their defaults taken from
/// `defaults` (the one place each default is written): `rate_per_second`, `rate_burst`,
/// `recipient_per_minute`, `recipient_burst`, and with `group_key` `group_per_minute`, with
/// `human_agent_key` `human_agent_tag`; and sets the schema's `check` to
/// `outbound_setting_problems` (after any check it had).
void add_outbound_settings(config::channel_schema& schema, const rate_limits& defaults,
                           bool group_key, bool human_agent_key);

}  // namespace sb::adapters

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/outbound/message.hpp"
#include "adapters/outbound/record.hpp"
#include "adapters/outbound/send_request.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

/// Outbound messages (docs/outbound.md), the platform-neutral side: the types the platforms'
/// outbound channels speak (`outbound_channel`: check, encode, interpret, limits, window), the
/// common validation, and the channel settings every sending type shares (rate limits,
/// `human_agent_tag`). The message model, the API body parser and the outbox codec are in
/// adapters/outbound/. Each platform's own rules live in its folder.
///
/// Everything here is pure: no I/O, no clocks, no global mutable state. Every function may be
/// called from any thread concurrently; results own their strings.
namespace sb::adapters {

struct adapter_info;

/// A request to a platform's send API, as the encoder builds it. Contains the channel's secrets
/// (an Authorization header; a token may be part of the URL; `user`, `password`): never log
/// `url`, `headers`, `body`, `user` or `password`; log `operation` instead.
///
/// An smtp:// or smtps:// `url` makes it an SMTP submission (delivery::http_client): `body` is
/// then the whole RFC 5322 message (headers and text, CRLF line endings, not dot-stuffed: the
/// client does that), `method` and `headers` are unused, and the envelope is `mail_from` and
/// `mail_rcpt`.
struct platform_request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  ///< name, value
  std::string body;
  std::string operation;  ///< loggable name, e.g. "<type> messages", "<type> sendPhoto"
  /// SMTP only: the envelope sender (MAIL FROM), a bare address ("support@acme.example"); where
  /// bounces go.
  std::string mail_from;
  /// SMTP only: the envelope recipients (RCPT TO), bare addresses.
  std::vector<std::string> mail_rcpt;
  /// The login for the platform's server (SMTP AUTH); "" = none. Secrets: never logged.
  std::string user;
  std::string password;
  /// The id the gateway gave the message, when it makes one itself (an e-mail Message-ID, bare:
  /// without angle brackets): recorded as the sent message's platform id when the platform's
  /// answer carries none (`send_result::platform_message_id` empty). "" = the platform names it.
  std::string message_id;
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
  recipient,  ///< the pair sender–recipient (a platform's pair or per-chat limit)
};

/// What `outbound_channel::interpret` made of a platform's answer.
struct send_result {
  send_outcome outcome = send_outcome::transient;
  /// The platform's id of the sent message. A 2xx without one is still `sent` (the platform
  /// took it), with this empty.
  std::string platform_message_id;
  /// rate_limited: how long to wait before the next attempt, from the platform (its body or
  /// HTTP Retry-After) or the documented default for the code; always > 0 then. transient: the
  /// platform's Retry-After when given, else 0 (= the engine's backoff).
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
  double per_group_per_minute = 0;  ///< messages per minute to one group chat
};

/// The conversation window rules of a channel (DESIGN §7), for the window check
/// (src/outbound/send_policy.hpp): free-form messages only within `window_hours` of the person's last
/// message (0 = no window); a template at any time where `template_opens_window`; with
/// `message_tags`, messaging_type MESSAGE_TAG outside the window by tag: HUMAN_AGENT within
/// `human_agent_hours` (0 = not allowed: the channel setting `human_agent_tag` is off),
/// CUSTOMER_FEEDBACK within 7 days, the update tags at any time.
struct window_policy {
  int window_hours = 0;
  int human_agent_hours = 0;
  bool template_opens_window = false;
  bool message_tags = false;
  std::string platform;  ///< the platform's name as people write it, for refusal messages
};

/// The members of `outbound_message` beyond text and media that a platform takes. The common
/// validation refuses the others, naming the types that take them.
struct outbound_features {
  bool templates = false;      ///< `template`
  bool keyboard = false;       ///< `keyboard`
  bool quick_replies = false;  ///< `quick_replies`, `messaging_type`, `tag`
  bool threads = false;        ///< `thread`
  bool subject = false;        ///< `subject`
};

/// The settings every sending channel type declares (`add_outbound_settings`), read once.
struct outbound_settings {
  rate_limits limits;  ///< the type's defaults, overridden by the channel's; all 0 when invalid
  bool human_agent_tag = false;
};

/// One channel's sending side: the channel's settings converted once, when the channel is built
/// (`adapter_info::outbound`), into the platform's own types, and the platform's outbound
/// functions over them. Each platform implements it in its folder.
///
/// Threading: immutable once built; every member is const and safe to call from any thread
/// concurrently. The tenant builds one per sending channel and shares it (by `shared_ptr` to
/// const) with that channel's sender.
class outbound_channel {
 public:
  virtual ~outbound_channel() = default;

  /// The platform's rules for `m` beyond the common ones `adapters::validate` checks: its
  /// length limits, which media and tags it takes, the recipient's form. `errc::bad_request`
  /// naming the field. Callers use `adapters::validate`, which calls this.
  virtual status check(const outbound_message& m) const = 0;
  /// Fills the platform's defaults into `m` (e.g. `messaging_type`). Idempotent.
  virtual void apply_defaults(outbound_message&) const {}
  /// The platform API call that sends `m` (which passed `validate`). `errc::bad_request` if it
  /// did not; `errc::unavailable` when the channel lacks what sending needs (a token), naming
  /// the key.
  virtual result<platform_request> encode(const outbound_message& m) const = 0;
  /// Classifies the platform's answer to an `encode`d request: `http_status` 0 means no answer
  /// (timeout, connection failure) and is transient; `body` is the response body (need not be
  /// padded); `retry_after` the Retry-After header when present. See `send_result`.
  virtual send_result interpret(int http_status, std::string_view body,
                                std::optional<std::string_view> retry_after) const = 0;
  /// Whether `to` is a group chat, i.e. whether `rate_limits::per_group_per_minute` applies.
  virtual bool is_group_recipient(std::string_view) const { return false; }
  /// Where the gateway is the platform (web chat): the message `m` (which passed `validate`),
  /// accepted as `outbound_id`, is delivered by storing the event returned here in the
  /// person's conversation, not by an API call (`encode` is then not used). nullopt for every
  /// platform with an API (the default), and for a message that does not pass `check`.
  ///
  /// The event is complete but for what the sender owns: `tenant`, `subject` (the outbox
  /// record's), the tenant's redaction, and the times the store stamps. Its `id` and
  /// `dedupe_key` derive from `outbound_id`, so that a retried attempt whose first store was
  /// not confirmed is the same event (a duplicate) with the same id. The sender feeds the
  /// store's outcome to `interpret` as the platform's answer: 201 with `{"id":"<event id>"}`
  /// once the event is stored (or was stored before), 503 with the gateway's error body when
  /// the store did not take it (transient: retried with backoff).
  virtual std::optional<event> local_delivery(const outbound_message& m,
                                              std::string_view outbound_id) const {
    (void)m, (void)outbound_id;
    return std::nullopt;
  }

  const std::string& name() const { return name_; }  ///< the channel's name
  const std::string& type() const { return type_; }  ///< the channel's type
  /// The channel's account (`adapter_info::account`), read once.
  const std::string& account() const { return account_; }
  /// The channel's limits: the type's defaults overridden by the channel's rate settings.
  const rate_limits& limits() const { return settings_.limits; }
  /// The channel's conversation window (the type's, HUMAN_AGENT per `human_agent_tag`).
  const window_policy& window() const { return window_; }
  bool human_agent_tag() const { return settings_.human_agent_tag; }

 protected:
  /// Reads the common settings of `cfg` (validated by the schema) once: the account, the rate
  /// keys over `default_limits`, `human_agent_tag` (which turns `window.human_agent_hours` off
  /// when not true).
  outbound_channel(const config::channel_config& cfg, const rate_limits& default_limits,
                   window_policy window);

 private:
  std::string name_;
  std::string type_;
  std::string account_;
  outbound_settings settings_;
  window_policy window_;
};

/// Builds `cfg`'s outbound channel through the registry; nullptr when its type cannot send.
std::shared_ptr<const outbound_channel> outbound_for(const config::channel_config& cfg);

/// Checks `m` against the channel `cfg` that `out` was built for: the features its type takes
/// (`outbound_features`), then the platform's own rules (`outbound_channel::check`).
/// `errc::bad_request` naming the field; `errc::bad_request` too when the channel's type cannot
/// send (`out` null). Reads `cfg.type`, not `m.channel_type`; call after `apply_defaults`.
status validate(const config::channel_config& cfg, const outbound_channel* out,
                const outbound_message& m);

/// `validate` with the channel's outbound side built for the call (tests, tools).
status validate(const config::channel_config& cfg, const outbound_message& m);

/// Fills `channel_type` = `cfg.type` and, when `out` is not null, the platform's defaults.
/// Idempotent.
void apply_defaults(const config::channel_config& cfg, const outbound_channel* out,
                    outbound_message& m);

/// `apply_defaults` with the channel's outbound side built for the call (tests, tools).
void apply_defaults(const config::channel_config& cfg, outbound_message& m);

/// The channel's limits (`outbound_channel::limits`); all zero for types that cannot send or a
/// setting that is not a non-negative number (the config loader refuses those, see
/// `outbound_setting_problems`).
rate_limits limits_for(const config::channel_config& cfg);

/// The channel's window (`outbound_channel::window`); no window for types that cannot send.
window_policy window_for(const config::channel_config& cfg);

/// Whether `to` is a group chat on `cfg`'s platform (`outbound_channel::is_group_recipient`).
bool is_group_recipient(const config::channel_config& cfg, std::string_view to);

/// The outbound channel settings with bad values, in key order: rate keys that are not
/// non-negative numbers, a burst below 1 where its rate is set, `human_agent_tag` not
/// true/false; e.g. {"rate_burst", "must be at least 1 when rate_per_second is set (…)"}.
/// `add_outbound_settings` installs it as the schema's `check`, so the config loader reports each
/// at its line and a config with one never starts.
std::vector<config::setting_problem> outbound_setting_problems(const config::channel_config& cfg);

/// The first of `outbound_setting_problems` as `errc::bad_request` "<channel>.<key> <problem>";
/// ok when there is none.
status check_outbound_settings(const config::channel_config& cfg);

// ---------------------------------------------------------------------------------------------
// Shared by the platforms' outbound channels (not needed by callers of the interface).

/// The characters (code points) of UTF-8 text, as the platforms count their length limits.
std::size_t utf8_length(std::string_view s) noexcept;

/// Whether `s` is non-empty and ASCII digits only (a platform's numeric id).
bool all_digits(std::string_view s) noexcept;

/// The channel's `api_base`, or `default_base` when unset, without trailing '/'.
std::string api_base(const config::channel_config& cfg, std::string_view default_base);

/// `{base}/{path}`, one '/' between them (`base` as `api_base` returns it).
std::string api_url(std::string_view base, std::string_view path);

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

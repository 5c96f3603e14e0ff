#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/ip.hpp"
#include "core/time.hpp"
#include "core/token_bucket.hpp"

/// The web chat visitor gate (docs/webchat.md): what the HTTP edge checks on every visitor
/// route (`/chat/{tenant}/{channel}/...`) before any work is handed on. Plain code: no Beast, no
/// CAF; the handler (`serve` in dispatch.cpp) is a thin shell over it, and the unit tests reach
/// every rule without sockets.
///
/// - Origin (CORS): an exact match with one of the channel's `allowed_origins`; no Origin at all
///   only when the channel sets `allow_no_origin` (native apps). Every answer to an allowed
///   Origin carries `Access-Control-Allow-Origin` and `Vary: Origin` (`cors_headers`).
/// - The visitor's session token (`visitor_hooks::check`, no lookup) and its revocation by
///   erasure (`gateway::visitor_revoked` on the visitor's subject, `visitor_channel::subject_of`).
/// - The channel's visitor limits: new sessions per source address, messages per visitor, a
///   message's size. These are the gate's own budgets, never the tenant's platform `rate_limit`:
///   a flood of visitors cannot starve the platforms' webhooks.
namespace sb::http {

using header_pairs = std::vector<std::pair<std::string, std::string>>;

// -- pure rules ------------------------------------------------------------------------------

/// The Origin rule. `origins` are the values of every `Origin` header of the request (none:
/// the header is absent). Passing yields the origin to grant (`cors_headers`), or "" for a
/// request without Origin that `allow_no_origin` lets through. Refused: 403 `forbidden` with a
/// message naming the rule (the offered origin quoted, at most 100 printable ASCII characters);
/// two Origin headers are refused too.
result<std::string> check_origin(const adapters::visitor_settings& s,
                                 const std::vector<std::string_view>& origins);

/// The headers of every answer to an allowed `origin` ("" = none was sent: only Vary):
/// `Access-Control-Allow-Origin`, `Access-Control-Expose-Headers: Retry-After` (so the widget
/// can read a 429's wait), `Vary: Origin`. No credentials mode: no cookies are used, the token
/// is a header or a query parameter.
header_pairs cors_headers(std::string_view origin);

/// The extra headers of a 204 preflight answer for a route whose `Allow` list is `allow`
/// ("OPTIONS, POST"): `Access-Control-Allow-Methods` (the methods but OPTIONS),
/// `Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID`,
/// `Access-Control-Max-Age: 600`.
header_pairs preflight_headers(std::string_view allow);

/// The token of "Bearer <token>" (scheme case-insensitive); "" otherwise.
std::string_view bearer_of(std::string_view authorization);

/// What a new session's body gave (`POST /chat/{t}/{c}/sessions`).
struct session_body {
  std::string name;   ///< "" = not given
  std::string email;  ///< "" = not given
  /// Explicit choices, in the order given: purpose name ("support", "ai", "analytics",
  /// "marketing") and whether it is granted.
  std::vector<std::pair<std::string, bool>> purposes;

  /// Whether there is anything to record (else the session is answered at once).
  bool empty() const { return name.empty() && email.empty() && purposes.empty(); }
};

/// Parses a session body strictly: empty, `{}`, or an object of `name` (a string of at most 100
/// characters, no control characters), `email` (at most 254 bytes, one '@' with a '.' in the
/// domain after it, no spaces) and `purposes` (an object of the four purposes to booleans).
/// An empty string reads as not given. Unknown or repeated members, wrong types and unknown
/// purposes are `errc::bad_request` with a message saying what is expected.
result<session_body> parse_session_body(std::string_view body);

/// Parses `{"up_to": <positive integer>}` strictly (nothing else); `errc::bad_request` otherwise.
result<std::uint64_t> parse_read_body(std::string_view body);

/// `{"visitor":..,"token":..,"expires_at":"<RFC 3339>"}`: the 201 of a new session.
std::string session_answer(std::string_view visitor, std::string_view token, timestamp expires);

/// The body of the `start_visitor_session` call (actors/api_handlers.hpp): `{"visitor":..,
/// "name":..,"email":..,"purposes":{..},"answer":<session_answer>}`; name, email and purposes
/// only when given.
std::string session_call_body(std::string_view visitor, const session_body& b,
                              std::string_view answer);

/// `json` made safe to stand inside a <script>: '<', '>', '&', U+2028 and U+2029 as \u escapes
/// (the same JavaScript value; none of them can end the script element or a JS string).
std::string script_safe(std::string json);

/// The placeholder the widget's source holds once, where its channel's config object goes.
inline constexpr std::string_view k_widget_placeholder = "__SB_CHANNEL_CONFIG__";

/// The channel's config object for the widget: `{"tenant","channel","title","consent_notice",
/// "max_message_bytes"}`, script-safe.
std::string widget_config(std::string_view tenant, std::string_view channel,
                          const adapters::visitor_settings& s);

/// `source` with its first `k_widget_placeholder` replaced by `config` (unchanged when it has
/// none).
std::string render_widget(std::string_view source, std::string_view config);

/// Whether an `If-None-Match` value names `etag` (a quoted entity tag): "*", or a comma-separated
/// list holding it, weak ("W/") or not (RFC 9110 compares weakly for If-None-Match).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// Reads a channel's 200 webhook answer of one message, `{"status":"ok","events":1,
/// "duplicates":0}` (stored) or `{"status":"ok","events":0,"duplicates":1}` (a duplicate):
/// whether it was a duplicate; nullopt when the body is not such an answer.
std::optional<bool> accepted_duplicate(std::string_view body);

/// The 202 of a visitor's message: `{"accepted":true,"duplicate":<d>}`.
std::string message_answer(bool duplicate);

// -- per-key budgets --------------------------------------------------------------------------

/// Token buckets by key (a source address, a visitor), bounded in memory: at most `max_keys`
/// entries; past that the least recently used key is forgotten (its budget starts full again:
/// an attacker with more keys than that gains nothing a fresh key would not give it).
/// Thread-safe: one mutex, held for a hash lookup and a few arithmetic operations.
class keyed_buckets {
 public:
  static constexpr std::size_t default_max_keys = 100000;

  /// `per_minute` tokens a minute, a burst of as many (at least 1); `per_minute` <= 0: unlimited
  /// (`take` always passes and nothing is kept).
  explicit keyed_buckets(double per_minute, std::size_t max_keys = default_max_keys);

  /// Takes a token of `key` at `now`: 0 when taken, else the seconds until one is there (at
  /// least 1: the Retry-After of a 429).
  int take(std::string_view key, token_bucket::time_point now);

  /// Keys held (tests).
  std::size_t size() const;

 private:
  struct entry {
    std::string key;
    token_bucket bucket;
  };
  const bool enabled_;
  const token_bucket prototype_;
  const std::size_t max_keys_;
  mutable std::mutex m_;
  std::list<entry> lru_;  ///< least recently used first
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;  ///< into `lru_` keys
};

/// The key a source address is budgeted under: an IPv4 address, or the /64 of an IPv6 one (one
/// host commonly holds a whole /64).
std::string source_key(const ip::address& a);

// -- the channels ----------------------------------------------------------------------------

/// One visitor channel (`visitor_hooks::mint` set), everything the gate needs read once at start.
struct visitor_channel {
  std::string tenant;
  const config::channel_config* cfg = nullptr;
  const adapters::adapter_info* info = nullptr;
  adapters::visitor_settings settings;
  std::string account;  ///< `info->account(*cfg)`, for subjects
  /// The tenant's subject key (actors/channel_logic.hpp `derive_subject_key`), shared by the
  /// tenant's channels.
  std::shared_ptr<const std::string> subject_key;
  /// The widget script with this channel's config in it, and its ETag ("" when the type has no
  /// widget or its asset is missing).
  std::string widget;
  std::string widget_etag;
  std::unique_ptr<keyed_buckets> sessions;  ///< per source address
  std::unique_ptr<keyed_buckets> messages;  ///< per visitor
  /// Read receipts per visitor, at the messages' rate: each one reads the visitor's stored
  /// events on a privacy worker, which a flood of them must not tie up (erasures wait there).
  std::unique_ptr<keyed_buckets> reads;

  /// The visitor's subject, exactly as the channel derives it for the visitor's events.
  std::string subject_of(std::string_view visitor) const;
};

/// The visitor channels of a config, indexed for the I/O threads. Holds pointers into `cfg`,
/// which must outlive it. Immutable after construction but for the budgets (which lock).
class visitor_gate {
 public:
  /// Reads every channel's settings, derives the tenants' subject keys and renders each
  /// channel's widget (the compiled-in asset, src/http/assets.hpp) once.
  explicit visitor_gate(const config::config& cfg,
                        std::size_t max_keys = keyed_buckets::default_max_keys);

  /// The visitor channel, or nullptr when the tenant or channel is unknown or not a visitor
  /// channel (the caller answers `unknown_endpoint()`).
  const visitor_channel* find(const std::string& tenant, const std::string& channel) const;

 private:
  std::unordered_map<std::string, std::unordered_map<std::string, visitor_channel>> tenants_;
};

}  // namespace sb::http

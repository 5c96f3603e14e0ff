#pragma once

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

/// The adapter interface: everything Switchboard knows about one messaging platform's dialect,
/// as pure functions. Adding a platform = one folder under adapters/ implementing `adapter`, one
/// entry in the list in adapters/registry.cpp, fixtures under tests/fixtures/<type>/, and a
/// channel in the example config.
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
  std::string_view method;  ///< "POST" or "GET"
  std::string_view query;   ///< raw query string without '?', not decoded
  const std::vector<header>* headers = nullptr;  ///< only the names `adapter_info::headers` lists
  /// The raw body. The buffer behind it has at least 64 bytes (simdjson's padding) of writable
  /// capacity past `body.size()`, so adapters may parse it in place without copying.
  std::string_view body;

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
};

/// One platform, as listed in adapters/registry.cpp.
struct adapter_info {
  std::string type;                      ///< channel `type` in the config
  config::channel_schema schema;         ///< keys a channel of this type accepts
  std::vector<std::string> headers;      ///< lower-case header names `verify`/`parse` read
  /// Builds an instance for one channel; the config has passed `schema` validation.
  std::unique_ptr<adapter> (*make)(const config::channel_config&);
  /// The account id events carry in `channel.account` (phone_number_id, page_id, bot id,
  /// shop domain), from the channel's config.
  std::string (*account)(const config::channel_config&);

  // Outbound (adapters/outbound.hpp, docs/outbound.md). All null for a type that cannot send
  // (shopify). Pure functions of their arguments, callable from any thread; `cfg` has passed
  // `schema` validation.

  /// The platform's rules for `m` beyond the common ones `adapters::validate` checks: which
  /// features the platform has, its length limits, the recipient's form. `errc::bad_request`
  /// naming the field. Callers use `adapters::validate`, which calls this.
  status (*check)(const config::channel_config& cfg, const outbound_message& m) = nullptr;
  /// The platform API call that sends `m` (which passed `validate`). `errc::bad_request` if it
  /// did not; `errc::unavailable` when the channel lacks what sending needs (access_token,
  /// bot_token), naming the key.
  result<platform_request> (*encode)(const config::channel_config& cfg,
                                     const outbound_message& m) = nullptr;
  /// Classifies the platform's answer to an `encode`d request: `http_status` 0 means no answer
  /// (timeout, connection failure) and is transient; `body` is the response body (need not be
  /// padded); `retry_after` the Retry-After header when present. See `send_result`.
  send_result (*interpret)(const config::channel_config& cfg, int http_status,
                           std::string_view body,
                           std::optional<std::string_view> retry_after) = nullptr;
  /// The type's documented rate limits, before a channel's overrides (`adapters::limits_for`).
  rate_limits default_limits;
  /// The type's conversation window (`adapters::window_for` adds the channel's settings).
  window_policy window;
};

/// Every adapter, in one explicit list (no static registration). Unique types.
const std::vector<adapter_info>& all();

/// The entry for `type`, or nullptr.
const adapter_info* find(std::string_view type);

/// The schemas of all adapters, for `config::load`.
std::vector<config::channel_schema> schemas();

}  // namespace sb::adapters

#pragma once

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"

/// What the three Meta platforms (WhatsApp Cloud API, Messenger, Instagram Messaging) share:
/// the X-Hub-Signature-256 check, the GET `hub.challenge` subscription handshake, the keys every
/// Meta channel declares, DOM reading helpers, and the `entry[].messaging[]` parser that Messenger
/// and Instagram both speak. Only the Meta adapters include this header; it is not part of the
/// adapter interface.
namespace sb::adapters::meta {

/// The one header Meta signs webhooks with (lower-case, as `request::headers` holds it).
inline constexpr const char* k_signature_header = "x-hub-signature-256";

/// Graph API base the outbound side uses unless a channel overrides `api_base`.
inline constexpr const char* k_default_api_base = "https://graph.facebook.com/v21.0";

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`. Upper- and
/// lower-case hex are accepted; the decoded 32 bytes are compared in constant time.
/// `errc::missing_signature` when the header is absent or empty, `errc::bad_signature` when the
/// prefix or hex is malformed or the MAC does not match. Reads nothing but the header and body.
status verify_signature(const request& req, std::string_view app_secret);

/// Meta's subscription handshake: a GET whose query carries `hub.mode=subscribe`,
/// `hub.verify_token` equal (constant time) to the channel's verify token, and `hub.challenge`.
/// Returns the decoded challenge (the body to answer 200 with), else `errc::handshake_failed`.
/// `verify_token_digest` is `crypto::sha256(verify_token)`: comparing digests keeps even the
/// token's length out of the timing.
result<std::string> handshake(const request& req, const crypto::digest& verify_token_digest);

/// Settings of a Messenger or Instagram channel (`instagram` takes the same keys as
/// `messenger`; `page_id` is then the Instagram professional account id).
config::channel_schema page_schema(const std::string& type);

/// Builds a Messenger (`object` "page") or Instagram (`object` "instagram") adapter for one
/// channel whose config passed `page_schema(type)`.
std::unique_ptr<adapter> make_page_adapter(const config::channel_config& cfg,
                                           const std::string& type, const std::string& object);

/// Reading helpers over a fully validated simdjson DOM, shared by the Meta parsers.
///
/// One rule throughout: a member that is absent or `null` is absent. Containers (objects and
/// arrays) of the wrong type make the body "not Meta's shape": `reader` records the first such
/// problem and the caller answers `errc::malformed_body`. Scalars of an unexpected type read as
/// absent (lenient: one odd field must not reject a whole batch of otherwise good events).
namespace json {

namespace dom = simdjson::dom;

class reader {
 public:
  /// The member as an object; nullopt when absent or null, and a problem when of another type.
  std::optional<dom::object> object(dom::object o, std::string_view key);
  /// The member as an array; as `object`.
  std::optional<dom::array> array(dom::object o, std::string_view key);
  /// An element (e.g. of an array) as an object; a problem when it is not one. `what` names it.
  std::optional<dom::object> as_object(dom::element e, std::string_view what);

  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  /// Records `what` as the problem unless one is already recorded.
  void fail(std::string what);

 private:
  std::string problem_;
};

/// A string member as is, or an integer member as exact decimal text (ids that arrive as JSON
/// numbers never pass through a double); "" otherwise.
std::string text(dom::object o, std::string_view key);
/// Like `text`, and a non-integer number as its shortest round-trip decimal (prices).
std::string number_text(dom::object o, std::string_view key);
/// A boolean member; false when absent or of another type.
bool flag(dom::object o, std::string_view key);
/// A numeric member (integer or floating); nullopt otherwise.
std::optional<double> number(dom::object o, std::string_view key);
/// A Unix time given as a number or a decimal string, seconds or milliseconds told apart by
/// magnitude (`parse_unix_auto`); an empty timestamp when absent or malformed.
timestamp unix_time(dom::object o, std::string_view key);
/// Hex SHA-256 of the element's minified JSON: a stable dedupe key for events without an id
/// (Meta retries send the same bytes, and minification is deterministic).
std::string digest(dom::element e);

}  // namespace json

}  // namespace sb::adapters::meta

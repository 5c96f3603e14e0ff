#pragma once

#include <simdjson.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "adapters/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"

/// What the three Meta platforms (WhatsApp Cloud API, Messenger, Instagram Messaging) share:
/// the X-Hub-Signature-256 check, the GET `hub.challenge` subscription handshake, the keys every
/// Meta channel declares, Meta's reading rules, and the `entry[].messaging[]` parser that Messenger
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

/// Builds a Messenger (`object` "page") or Instagram (`object` "instagram") adapter for one
/// channel of type `type` (`messenger` or `instagram`).
std::unique_ptr<adapter> make_page_adapter(const config::channel_config& cfg,
                                           const std::string& type, const std::string& object);

/// The registry entry of a Messenger or Instagram channel type, without its outbound side:
/// both take the same keys (`page_id` is then the Facebook Page id or the Instagram professional
/// account id), sign the same way and have the data-deletion callback. `make` calls
/// `make_page_adapter` with the type's `object`.
adapter_info page_info(const std::string& type, std::string display_name,
                       std::unique_ptr<adapter> (*make)(const config::channel_config&));

/// Meta's signing: `x-hub-signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>`.
std::vector<header> sign(const config::channel_config& cfg, const signing_input& in);

/// Meta's data-deletion callback (adapters/meta/signed_request.hpp) as the privacy hooks of a
/// Meta channel type: taken when the channel has an `app_secret`.
privacy_hooks deletion_callback();

/// A Messenger (`object` "page") or Instagram (`object` "instagram") webhook carrying one text
/// message, for the load tester.
synthetic_webhook synthesize_page(const synthetic_spec& spec, std::string_view object);

/// Meta's reading vocabulary, on the shared facility of adapters/json_reader.hpp.
///
/// Containers (objects and arrays) of the wrong type make the body "not Meta's shape": `reader`
/// records the first such problem and the caller answers `errc::malformed_body`. Scalars are read
/// leniently, a scalar of an unexpected type as absent: one odd field must not reject a whole
/// batch of otherwise good events.
namespace json {

namespace dom = simdjson::dom;

/// The strict container reader; problem messages quote member names in backticks.
class reader : public shape_reader {
 public:
  reader() : shape_reader('`') {}
};

using lenient::flag;
using lenient::number;
using lenient::number_text;
using lenient::text;
using lenient::unix_time;

}  // namespace json

/// Parses a Meta webhook body, `{"object":<object>,"entry":[...]}`, and calls `each` for every
/// entry, with the one reader of the body and the events of the body so far. Those events reach
/// `out` only when the whole body was well-formed; otherwise `errc::malformed_body`, its message
/// prefixed with "<type> webhook: ". Meta's shape errors are container errors only (see `json`).
status parse_entries(json::dom::parser& parser, const request& req, const std::string& type,
                     std::string_view object, std::vector<event>& out,
                     const std::function<void(json::reader& r, json::dom::object entry,
                                              std::vector<event>& events)>& each);

}  // namespace sb::adapters::meta

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/time.hpp"

/// Meta's `signed_request` (the data-deletion callback of an app: Messenger, Instagram and
/// WhatsApp channels), as pure functions: no I/O, thread-safe.
///
/// Meta POSTs `application/x-www-form-urlencoded` with `signed_request=<sig>.<payload>`, where
/// `payload` is the base64url (unpadded) JSON {"algorithm":"HMAC-SHA256","issued_at":<unix s>,
/// "user_id":"<app-scoped user id>", ...} and `sig` is the base64url of HMAC-SHA256(app secret,
/// the payload part exactly as sent, still encoded).
namespace sb::adapters::meta {

/// What a verified signed request says.
struct signed_request_payload {
  std::string user_id;         ///< app-scoped user id (text; never through a double)
  std::int64_t issued_at = 0;  ///< Unix seconds; 0 when absent
};

/// The raw value of the `signed_request` field of a form body, percent-decoded. `errc::bad_request`
/// naming the field when it is absent, empty or malformed.
result<std::string> signed_request_field(std::string_view form_body);

/// How old a signed request's `issued_at` may be: Meta calls the callback when the person asks,
/// so anything older is a replay.
inline constexpr std::int64_t k_signed_request_max_age_s = 3600;
/// How far ahead of the gateway's clock `issued_at` may be (clock skew).
inline constexpr std::int64_t k_signed_request_max_skew_s = 300;

/// Verifies `signed_request` with `app_secret` and decodes its payload; `now` is the gateway's
/// clock (injected so tests reach every branch). The signature is checked first, in constant
/// time, on the still-encoded payload; only then is the payload decoded.
/// `errc::bad_signature` when the value is not `<sig>.<payload>`, the signature is not base64url
/// of 32 bytes or does not match, or the payload's `algorithm` is not "HMAC-SHA256";
/// `errc::malformed_body` when a correctly signed payload is not JSON or has no `user_id`;
/// `errc::stale_request` when it has no `issued_at`, or one more than
/// `k_signed_request_max_age_s` before `now` or more than `k_signed_request_max_skew_s` after it.
result<signed_request_payload> verify_signed_request(std::string_view signed_request,
                                                     std::string_view app_secret, timestamp now);

/// A `signed_request` value as Meta makes it for `user_id` at `issued_at` (Unix seconds),
/// signed with `app_secret`: what `signed_request_field` finds in the callback's body. For
/// clients that must look like Meta (tests).
std::string make_signed_request(std::string_view app_secret, std::string_view user_id,
                                std::int64_t issued_at);

}  // namespace sb::adapters::meta

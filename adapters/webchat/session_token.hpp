#pragma once

#include <string>
#include <string_view>

#include "adapters/adapter.hpp"

/// Web chat session tokens: minted by the channel when a visitor starts a session
/// (`POST /chat/{tenant}/{channel}/sessions`) and checked without a lookup on every later call.
///
///   token = "wct1." + base64url(visitor "." expires_unix_s) + "." + base64url(mac)
///   mac   = HMAC-SHA256(session_key, "wct1\n" + visitor "." expires_unix_s)
///
/// `session_key` is the channel's derived key (HMAC of `storage.master_key`, tenant and channel:
/// config/config.hpp `setting_spec::derived`), so a token is bound to one tenant's channel and
/// one visitor, and is worthless elsewhere. Revocation (erasure) is the edge's: a token whose
/// visitor was erased is refused there (docs/webchat.md).
namespace sb::adapters::webchat {

/// "vis_" + 26 Crockford base-32 characters: the form of a visitor id.
bool is_visitor_id(std::string_view v) noexcept;

/// A token for `visitor` valid until `expires` (whole seconds).
std::string mint_token(std::string_view key, std::string_view visitor, timestamp expires);

/// The session of `token` at `now`: `errc::unauthorized` when it is malformed, forged (the MAC
/// compared in constant time) or expired. A `now` of 0 skips the expiry (conformance tests).
result<visitor_session> check_token(std::string_view key, std::string_view token, timestamp now);

}  // namespace sb::adapters::webchat

#pragma once

#include "adapters/adapter.hpp"

/// Web chat: the live-chat widget on the tenant's own website, where the gateway is the platform
/// (docs/webchat.md). Visitors call the gateway's visitor API (`/chat/{tenant}/{channel}/...`,
/// src/http); nobody else posts to such a channel.
///
/// - Authenticity: `Authorization: Bearer <session token>` (adapters/webchat/session_token.hpp),
///   minted by the channel when the visitor's session started, checked in constant time under
///   the channel's derived `session_key`, with its expiry against `request::now`. The edge also
///   refuses a token whose visitor was erased, and checks the Origin (CORS).
/// - Body of a visitor's message: `{"text":"…","client_id":"…"}`, strictly (nothing else).
/// - Mapping: a `message` of the token's visitor: `conversation` "<channel>:<visitor>", `peer`
///   and `sender.platform_id` the visitor id, `platform_event_id` the `client_id`,
///   `occurred_at` the reception (a browser's clock is not trusted), `subject_source` the visitor.
/// - Dedupe: "m:<visitor>:<client_id>": a retry from a flaky phone is stored once, and one
///   visitor's `client_id` never collides with another's.
/// - Account (`channel.account`): the channel's name (the gateway is the platform).
namespace sb::adapters::webchat {

/// The web chat platform: its config schema, the header it reads, its factory, its visitors.
adapter_info info();

/// The header carrying the visitor's session token (lower-case).
inline constexpr const char* k_authorization = "authorization";

}  // namespace sb::adapters::webchat

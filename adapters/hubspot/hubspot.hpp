#pragma once

#include "adapters/adapter.hpp"

/// HubSpot app webhooks (receive only): each POST is a JSON array of up to 100 events of one
/// app, for one or more portals (HubSpot accounts).
///
/// - Authenticity: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client_secret, method + URI +
///   body + X-HubSpot-Request-Timestamp)), compared in constant time. URI is the channel's
///   `public_url` as configured (the exact URL HubSpot calls, which HubSpot signs after decoding
///   a few URL-encoded characters: configure it as the app's target URL shows it), plus "?" and
///   the raw query when the request has one. The timestamp (Unix ms) must be within 5 minutes of
///   the reception time either way, else 401 `replayed_request`: within those minutes a replay
///   is a duplicate (dedupe keys; a privacy request's claim on the body).
/// - Account: `portal_id` (channel.account). One app secret signs every portal's webhooks, so a
///   body with an event of another portal or app is refused whole (403 `forbidden`), by `verify`
///   once the signature holds (nothing of it is kept) and again by `parse`.
/// - Ids: platform_event_id = eventId; dedupe_key = "<eventId>:<subscriptionId>:<objectId>:
///   <occurredAt>" (HubSpot documents eventId alone as not guaranteed unique); occurred_at =
///   occurredAt (ms); kind = subscriptionType, always.
/// - Mapping: contact.creation / propertyChange / deletion / merge / restore -> `customer`
///   (sender, peer and subject source = objectId, the contact id; conversation
///   `<channel>:<objectId>`; propertyChange: `content.payload` = propertyName and `content.text` =
///   propertyValue, text so the tenant's redaction applies to it). contact.privacyDeletion ->
///   `privacy.redact` (subject source and `privacy.platform_id` = objectId; nothing else of the
///   person), a request the gateway acts on (`request_action`, `requests_in_body`).
///   conversation.newMessage -> `message` in conversation `<channel>:<threadId>` (objectId is the
///   thread), `content.thread` = threadId, `content.payload` = messageId, no text (HubSpot sends
///   none: the backend reads it from the Conversations API), no sender. Any other type ->
///   `system`.
namespace sb::adapters::hubspot {

/// The hubspot platform: its config schema, the headers it reads, and its factory.
adapter_info info();

/// The subscription type of a GDPR deletion of a contact in HubSpot: the gateway erases the
/// contact's subject (docs/privacy.md). contact.deletion (an ordinary, restorable delete) is
/// reported as a `customer` event only.
inline constexpr const char* k_privacy_deletion = "contact.privacyDeletion";

}  // namespace sb::adapters::hubspot

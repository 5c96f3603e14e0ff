#pragma once

#include "adapters/adapter.hpp"

/// Shopify webhooks (one resource per POST; its meaning comes from `X-Shopify-Topic`).
///
/// - Authenticity: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(client_secret, raw body)); the
///   32 decoded bytes are compared in constant time.
/// - Dedupe: `X-Shopify-Webhook-Id` ("w:<id>"); else `X-Shopify-Event-Id` ("e:<topic>:<id>");
///   else the SHA-256 of topic and body ("h:<hex>").
/// - Mapping (`kind` is always the topic): orders/* → `order`; customers/data_request →
///   `privacy.data_request`; customers/redact and shop/redact → `privacy.redact`; other
///   customers/* → `customer`; every other topic → `commerce`.
/// - The three mandatory privacy topics are requests the gateway acts on (`privacy_topic_of`;
///   actors/privacy_api.cpp erases or exports, then stores a receipt): their event carries no
///   sender, conversation or contact details, only `subject_source` (the customer id, from which
///   the subject derives exactly as for the customer's orders/* and customers/* events) and the
///   `privacy` block (`platform_id` = the customer id, `request` = the data request's id).
/// - Privacy topics are strict, because Shopify signs only the body and the topic header is not
///   signed: a privacy topic's body must hold exactly the members Shopify documents for it (so no
///   signed body of another topic passes as one), and its `shop_domain` must be the channel's.
///   Otherwise `parse` answers `errc::bad_request` (not the shape of the topic's request) or
///   `errc::forbidden` (another shop), not `malformed_body`: the body is not a privacy request
///   and is not kept (actors/privacy_api.cpp answers it without quarantining it).
/// - Ids (often above 2^53) are read as 64-bit integers and rendered exactly; money stays text.
namespace sb::adapters::shopify {

/// The shopify platform: its config schema, the headers it reads, and its factory.
adapter_info info();

/// The header naming a webhook's topic (lower-case, as `request::headers` holds it).
inline constexpr const char* k_topic_header = "x-shopify-topic";

/// The mandatory privacy webhooks of every Shopify app.
enum class privacy_topic {
  none,              ///< any other topic: stored like every webhook
  customer_redact,   ///< customers/redact: erase the customer's data
  customer_request,  ///< customers/data_request: the merchant needs the customer's data
  shop_redact,       ///< shop/redact: erase everything of the shop (48 h after uninstall)
};

/// Which privacy webhook `topic` (the X-Shopify-Topic value) is, if any.
privacy_topic privacy_topic_of(std::string_view topic) noexcept;

}  // namespace sb::adapters::shopify

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
/// - Ids (often above 2^53) are read as 64-bit integers and rendered exactly; money stays text.
namespace sb::adapters::shopify {

/// The shopify platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::shopify

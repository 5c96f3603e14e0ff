#pragma once

#include <string>

#include "core/crypto.hpp"
#include "support/http_client.hpp"

/// Request signers of the five platforms (docs/DESIGN.md §4), as the platforms compute them, so
/// that e2e tests post webhooks the gateway must accept. Header-only; tests only.
namespace sb::test::signing {

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`, Meta's X-Hub-Signature-256.
inline std::string hub_signature_256(const std::string& app_secret, const std::string& body) {
  return "sha256=" + crypto::to_hex(crypto::hmac_sha256(app_secret, body));
}

/// Headers of a Meta (WhatsApp, Messenger, Instagram) webhook POST.
inline header_list meta(const std::string& app_secret, const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"User-Agent", "facebookexternalua"},
          {"X-Hub-Signature-256", hub_signature_256(app_secret, body)}};
}

inline header_list whatsapp(const std::string& app_secret, const std::string& body) {
  return meta(app_secret, body);
}

inline header_list messenger(const std::string& app_secret, const std::string& body) {
  return meta(app_secret, body);
}

inline header_list instagram(const std::string& app_secret, const std::string& body) {
  return meta(app_secret, body);
}

/// Telegram sends the `secret_token` given to setWebhook verbatim.
inline header_list telegram(const std::string& secret_token) {
  return {{"Content-Type", "application/json"}, {"X-Telegram-Bot-Api-Secret-Token", secret_token}};
}

/// `base64(HMAC-SHA256(client_secret, body))`, Shopify's X-Shopify-Hmac-Sha256.
inline std::string shopify_hmac(const std::string& client_secret, const std::string& body) {
  return crypto::base64_encode(crypto::hmac_sha256(client_secret, body));
}

/// Headers of a Shopify webhook POST.
inline header_list shopify(const std::string& client_secret, const std::string& body,
                           const std::string& topic, const std::string& webhook_id,
                           const std::string& shop_domain) {
  return {{"Content-Type", "application/json"},
          {"X-Shopify-Topic", topic},
          {"X-Shopify-Hmac-Sha256", shopify_hmac(client_secret, body)},
          {"X-Shopify-Shop-Domain", shop_domain},
          {"X-Shopify-Webhook-Id", webhook_id},
          {"X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"},
          {"X-Shopify-Triggered-At", "2024-11-29T05:00:00.000000000Z"},
          {"X-Shopify-API-Version", "2024-10"}};
}

}  // namespace sb::test::signing

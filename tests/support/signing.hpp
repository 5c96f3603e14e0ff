#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <utility>

#include "adapters/adapter.hpp"
#include "support/http_client.hpp"

/// Webhook requests as the five platforms send them (docs/DESIGN.md §4), so that e2e tests post
/// webhooks the gateway must accept. The signing itself is each platform's
/// `adapter_info::sign` (adapters/<type>/), the one implementation the unit tests and the load
/// tester use too; this adds what the platforms send besides (Content-Type, User-Agent).
/// Header-only; tests only.
namespace sb::test::signing {

/// The headers `type`'s `sign` gives for `body` to a channel with `settings`, after
/// `Content-Type: application/json` (or the content-type `sign` gives, for form bodies). Empty
/// but for Content-Type when the type is unknown.
inline header_list platform(const std::string& type,
                            const std::map<std::string, std::string>& settings,
                            const std::string& body, const adapters::signing_input& extra = {}) {
  header_list out{{"Content-Type", "application/json"}};
  const auto* info = adapters::find(type);
  if (info == nullptr || info->sign == nullptr) {
    return out;
  }
  config::channel_config cfg;
  cfg.type = type;
  cfg.settings = settings;
  adapters::signing_input in = extra;
  in.body = body;
  for (auto& h : info->sign(cfg, in)) {
    if (h.name == "content-type") {  // a form body (e-mail): the platform's own type
      out.front().second = std::move(h.value);
      continue;
    }
    out.emplace_back(std::move(h.name), std::move(h.value));
  }
  return out;
}

/// The body `type` posts for `body` to a channel with `settings`: with the signature put in for
/// the platforms that sign inside the body (`adapter_info::sign_body`, Mailgun's form fields;
/// signed now unless `extra.at` says when), else `body` itself. Post it with the headers of
/// `platform(type, settings, <this body>)`.
inline std::string platform_body(const std::string& type,
                                 const std::map<std::string, std::string>& settings,
                                 const std::string& body, const adapters::signing_input& extra = {}) {
  const auto* info = adapters::find(type);
  if (info == nullptr || info->sign_body == nullptr) {
    return body;
  }
  config::channel_config cfg;
  cfg.type = type;
  cfg.settings = settings;
  adapters::signing_input in = extra;
  in.body = body;
  return info->sign_body(cfg, in);
}

/// Headers of a Meta (WhatsApp, Messenger, Instagram) webhook POST.
inline header_list meta(const std::string& type, const std::string& app_secret,
                        const std::string& body) {
  auto h = platform(type, {{"app_secret", app_secret}}, body);
  h.insert(h.begin() + 1, {"User-Agent", "facebookexternalua"});
  return h;
}

inline header_list whatsapp(const std::string& app_secret, const std::string& body) {
  return meta("whatsapp", app_secret, body);
}

inline header_list messenger(const std::string& app_secret, const std::string& body) {
  return meta("messenger", app_secret, body);
}

inline header_list instagram(const std::string& app_secret, const std::string& body) {
  return meta("instagram", app_secret, body);
}

/// Telegram sends the `secret_token` given to setWebhook verbatim.
inline header_list telegram(const std::string& secret_token) {
  return platform("telegram", {{"secret_token", secret_token}}, "");
}

/// Headers of a Shopify webhook POST: `topic`, `webhook_id` and the `shop_domain` it claims.
inline header_list shopify(const std::string& client_secret, const std::string& body,
                           const std::string& topic, const std::string& webhook_id,
                           const std::string& shop_domain) {
  adapters::signing_input in;
  in.kind = topic;
  in.delivery_id = webhook_id;
  in.sent_at = "2024-11-29T05:00:00.000000000Z";
  auto h = platform("shopify", {{"client_secret", client_secret}, {"shop_domain", shop_domain}},
                    body, in);
  h.emplace_back("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5");
  return h;
}

/// A data-deletion callback's signed bytes for `user_id` at `issued_at` (Unix seconds; default
/// now), signed with `app_secret` by the platform's own `privacy_hooks::sign_deletion` (Meta's
/// `signed_request` value for the Meta types): post it as the callback's field. Empty for a type
/// without a deletion callback.
inline std::string deletion_request(const std::string& type, const std::string& app_secret,
                                    const std::string& user_id,
                                    std::int64_t issued_at = std::time(nullptr)) {
  const auto* info = adapters::find(type);
  if (info == nullptr || info->privacy.sign_deletion == nullptr) {
    return {};
  }
  config::channel_config cfg;
  cfg.type = type;
  cfg.settings = {{"app_secret", app_secret}};
  return info->privacy.sign_deletion(cfg, user_id, issued_at);
}

}  // namespace sb::test::signing

// Secret rotation without a window of refusals (config/config.hpp `K_previous`): the loader
// accepts `<K>_previous` for exactly the secrets a channel type's schema declares, the edge and
// the channel verify with the previous secret only after the current one refused, and push
// deliveries carry both signatures while `push.secret_previous` is set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <variant>
#include <vector>

#include "actors/channel_logic.hpp"
#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "core/ip.hpp"
#include "delivery/standard_webhooks.hpp"
#include "http/ingress_limit.hpp"
#include "http/platform_gate.hpp"
#include "http/router.hpp"

using sb::errc;

namespace {

const std::string k_head =
    "storage:\n"
    "  master_key: \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n"
    "tenants:\n"
    "  - id: acme\n"
    "    channels:\n";

sb::config::load_result load(const std::string& channels) {
  return sb::config::load_string(k_head + channels, "rot.yaml", sb::adapters::schemas());
}

bool mentions(const sb::config::load_result& r, const std::string& text) {
  return std::any_of(r.errors.problems.begin(), r.errors.problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

const std::string k_tg =
    "      - name: tg\n"
    "        type: telegram\n"
    "        secret_token: new-token\n";

sb::config::channel_config telegram(bool with_previous) {
  sb::config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  tg.settings["secret_token"] = "new-token";
  tg.settings["bot_token"] = "123456789:token";
  if (with_previous) {
    tg.settings["secret_token_previous"] = "old-token";
  }
  return tg;
}

std::vector<sb::adapters::header> token_header(const std::string& token) {
  return {{"x-telegram-bot-api-secret-token", token}};
}

}  // namespace

TEST_CASE("every secret a channel type declares has a _previous setting and nothing else does",
          "[config][rotation]") {
  for (const auto& schema : sb::adapters::schemas()) {
    const auto previous = sb::config::previous_secret_settings(schema);
    for (const auto& spec : schema.settings) {
      CAPTURE(schema.type, spec.key);
      const bool has = std::any_of(previous.begin(), previous.end(),
                                   [&](const auto& p) { return p.key == spec.key + "_previous"; });
      CHECK(has == (spec.secret && !spec.derived && !spec.list));
    }
    for (const auto& p : previous) {
      CHECK(p.secret);
      CHECK_FALSE(p.required);
    }
  }
}

TEST_CASE("the loader accepts a previous secret and refuses a previous non-secret",
          "[config][rotation]") {
  auto ok = load(k_tg + "        secret_token_previous: old-token\n");
  INFO(ok.errors.to_string());
  REQUIRE(ok.ok());
  CHECK(ok.cfg->tenants[0].channels[0].get("secret_token_previous") == "old-token");

  auto empty = load(k_tg + "        secret_token_previous: \"\"\n");  // an unset ${VAR:-}
  REQUIRE(empty.ok());
  CHECK(empty.cfg->tenants[0].channels[0].settings.count("secret_token_previous") == 0);

  auto not_secret = load(k_tg + "        api_base_previous: https://api.telegram.org\n");
  CHECK(mentions(not_secret, "rot.yaml:9: tenants[0].channels[0].api_base_previous"));

  auto derived = load(
      "      - name: chat\n"
      "        type: webchat\n"
      "        allowed_origins: [\"https://shop.example.com\"]\n"
      "        session_key_previous: abc\n");
  CHECK(mentions(derived, "session_key_previous"));

  auto typo = load(k_tg + "        secret_token_previus: old-token\n");
  CHECK(mentions(typo, "secret_token_previous"));  // "did you mean"
}

TEST_CASE("the previous config swaps each secret that has a previous value", "[config][rotation]") {
  CHECK_FALSE(sb::config::with_previous_secrets(telegram(false)));
  auto old = sb::config::with_previous_secrets(telegram(true));
  REQUIRE(old);
  CHECK(old->get("secret_token") == "old-token");
  CHECK(old->get("bot_token") == "123456789:token");  // no previous: unchanged
  CHECK(old->settings.count("secret_token_previous") == 0);
}

TEST_CASE("the edge verifies with the previous secret only after the current one refused",
          "[http][rotation]") {
  sb::config::config cfg;
  sb::config::tenant_config acme;
  acme.id = "acme-rotation";
  acme.channels.push_back(telegram(true));
  acme.channels.push_back(telegram(false));
  acme.channels.back().name = "tg-plain";
  cfg.tenants.push_back(acme);
  sb::http::channel_directory dir{cfg};
  sb::http::ingress_limits ingress{cfg};
  sb::http::platform_gate gate{cfg, ingress};
  const auto from = *sb::ip::parse_address("192.0.2.7");
  const sb::http::time_point now{std::chrono::hours{1}};

  auto post = [&](const std::string& channel, const std::string& token) {
    auto headers = token_header(token);
    sb::adapters::request req;
    req.method = "POST";
    req.headers = &headers;
    req.body = R"({"update_id":1})";
    return gate.webhook(*dir.find("acme-rotation", channel).value(), "acme-rotation", from, req,
                        now);
  };
  auto& matched = sb::metrics::catalog::webhook_previous_secret().with(
      {{"tenant", "acme-rotation"}, {"channel", "tg"}});
  const auto before = matched.value();
  CHECK(post("tg", "new-token").pass);
  CHECK(matched.value() == before);
  CHECK(post("tg", "old-token").pass);
  CHECK(matched.value() == before + 1);
  auto neither = post("tg", "guess");
  REQUIRE_FALSE(neither.pass);
  CHECK(neither.err.code == errc::bad_signature);
  CHECK(matched.value() == before + 1);
  // Without a previous secret the old one is simply wrong.
  CHECK(post("tg-plain", "old-token").err.code == errc::bad_signature);
}

TEST_CASE("Meta's data-deletion callback signed with the previous app_secret passes the edge",
          "[http][rotation]") {
  sb::config::config cfg;
  sb::config::tenant_config acme;
  acme.id = "acme-rotation-dd";
  sb::config::channel_config wa;
  wa.name = "wa";
  wa.type = "whatsapp";
  wa.settings["app_secret"] = "wa-new-secret";
  wa.settings["app_secret_previous"] = "wa-old-secret";
  wa.settings["verify_token"] = "wa-verify";
  wa.settings["phone_number_id"] = "106540352242922";
  acme.channels.push_back(wa);
  cfg.tenants.push_back(acme);
  sb::http::channel_directory dir{cfg};
  sb::http::ingress_limits ingress{cfg};
  sb::http::platform_gate gate{cfg, ingress};
  const auto from = *sb::ip::parse_address("192.0.2.8");
  const sb::http::time_point now{std::chrono::hours{1}};
  auto body = [](const std::string& secret) {
    sb::config::channel_config signer;
    signer.type = "whatsapp";
    signer.settings["app_secret"] = secret;
    return "signed_request=" + sb::adapters::find("whatsapp")
                                   ->privacy.sign_deletion(signer, "218471", std::time(nullptr));
  };
  const auto& ch = *dir.find("acme-rotation-dd", "wa").value();
  CHECK(gate.data_deletion(ch, "acme-rotation-dd", from, body("wa-new-secret"), now).pass);
  CHECK(gate.data_deletion(ch, "acme-rotation-dd", from, body("wa-old-secret"), now).pass);
  CHECK(gate.data_deletion(ch, "acme-rotation-dd", from, body("wa-other"), now).err.code ==
        errc::bad_signature);
}

TEST_CASE("a channel verifying by itself accepts the previous secret too", "[actors][rotation]") {
  const std::string master_key(32, 'k');
  const std::string body_text =
      R"({"update_id":918273601,"message":{"message_id":18,"from":{"id":7001234567,)"
      R"("is_bot":false,"first_name":"Ana"},"chat":{"id":7001234567,"first_name":"Ana",)"
      R"("type":"private"},"date":1749416383,"text":"hi"}})";
  auto status_of = [&](const sb::config::channel_config& ch, const std::string& token) {
    sb::actors::channel_logic logic("acme", ch, *sb::adapters::find("telegram"), master_key);
    std::string body = body_text;
    body.reserve(body.size() + 64);
    auto outcome = logic.ingest("POST", "", token_header(token), body, false);
    if (std::holds_alternative<sb::actors::store_events>(outcome)) {
      return 200;
    }
    auto* now = std::get_if<sb::actors::respond_now>(&outcome);
    return now != nullptr ? now->response.status : 0;
  };
  CHECK(status_of(telegram(true), "new-token") == 200);
  CHECK(status_of(telegram(true), "old-token") == 200);
  CHECK(status_of(telegram(true), "guess") == 401);
  CHECK(status_of(telegram(false), "old-token") == 401);
}

TEST_CASE("a push signer in rotation sends the new and the previous signature",
          "[delivery][rotation]") {
  const std::string new_key = "0123456789abcdef0123456789abcdef";
  const std::string old_key = "fedcba9876543210fedcba9876543210";
  const auto new_secret = "whsec_" + sb::crypto::base64_encode(new_key);
  const auto old_secret = "whsec_" + sb::crypto::base64_encode(old_key);
  auto current = sb::delivery::signer::from_secret(new_secret);
  auto previous = sb::delivery::signer::from_secret(old_secret);
  auto both = sb::delivery::signer::from_secrets(new_secret, old_secret);
  REQUIRE(current.ok());
  REQUIRE(previous.ok());
  REQUIRE(both.ok());
  const std::string body = R"({"id":"evt_1"})";
  CHECK(both->signature("evt_1", 1700000000, body) ==
        current->signature("evt_1", 1700000000, body) + " " +
            previous->signature("evt_1", 1700000000, body));
  // No previous key: one signature, as before.
  auto one = sb::delivery::signer::from_secrets(new_secret, "");
  REQUIRE(one.ok());
  CHECK(one->signature("evt_1", 1700000000, body) == current->signature("evt_1", 1700000000, body));
  CHECK_FALSE(sb::delivery::signer::from_secrets(new_secret, "whsec_!!!").ok());
}

TEST_CASE("the loader accepts push.secret_previous and checks its form", "[config][rotation]") {
  const std::string head = k_head + k_tg +
                           "    subscribers:\n"
                           "      - name: backend\n"
                           "        push:\n"
                           "          url: https://backend.example.com/hook\n"
                           "          secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  auto parse = [](const std::string& yaml) {
    return sb::config::load_string(yaml, "rot.yaml", sb::adapters::schemas());
  };
  auto ok = parse(head + "          secret_previous: whsec_" +
                  sb::crypto::base64_encode(std::string(32, 'o')) + "\n");
  INFO(ok.errors.to_string());
  REQUIRE(ok.ok());
  CHECK(ok.cfg->tenants[0].subscribers[0].push->secret_previous ==
        "whsec_" + sb::crypto::base64_encode(std::string(32, 'o')));
  CHECK(parse(head + "          secret_previous: \"\"\n").ok());
  auto bad = parse(head + "          secret_previous: not-a-key\n");
  CHECK(mentions(bad, "push.secret_previous: must be \"whsec_\""));
  CHECK_FALSE(mentions(bad, "not-a-key"));  // a secret is never echoed
}

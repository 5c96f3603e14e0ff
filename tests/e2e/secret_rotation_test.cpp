// End-to-end: rotating a platform secret without a window of refusals (docs/operations.md
// "Rotating a platform secret"). While `app_secret_previous` / `verify_token_previous` hold the
// old values, requests signed with either secret are accepted and the old one's matches are
// counted; without them the old secret is refused.
#include <catch2/catch.hpp>

#include <string>

#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;

namespace {

const test_tenant acme{"acme", "sbt_e2e_rotation_0b7d4e2a91c3"};
const std::string k_old_secret = "wa-app-secret-before-rotation";
const std::string k_old_verify = "wa-verify-token-before-rotation";

/// The standard config, with the old WhatsApp secrets of acme as `_previous` when `rotating`.
std::string rotation_config(bool rotating) {
  std::string yaml = test_config({acme});
  if (rotating) {
    const std::string anchor = "        app_secret: \"" + acme.wa_app_secret() + "\"\n";
    const auto at = yaml.find(anchor);
    REQUIRE(at != std::string::npos);
    yaml.insert(at + anchor.size(), "        app_secret_previous: \"" + k_old_secret +
                                        "\"\n        verify_token_previous: \"" + k_old_verify +
                                        "\"\n");
  }
  return yaml;
}

double previous_matches(const gateway_process& gw) {
  auto r = request("GET", gw.base_url() + "/metrics");
  REQUIRE(r.status == 200);
  const std::string series =
      R"(switchboard_webhook_previous_secret_total{tenant="acme",channel="wa-main"} )";
  const auto at = r.body.find(series);
  REQUIRE(at != std::string::npos);
  return std::stod(r.body.substr(at + series.size()));
}

http_result post(const gateway_process& gw, const std::string& secret, int n) {
  const std::string body = pl::wa_text_webhook(pl::wamid(900 + n), "16505551234", "Sheena Nelson",
                                               "rotating " + std::to_string(n), 1749416383);
  return request("POST", gw.base_url() + "/webhooks/acme/wa-main", signing::whatsapp(secret, body),
                 body);
}

http_result handshake(const gateway_process& gw, const std::string& token) {
  return request("GET", gw.base_url() +
                            "/webhooks/acme/wa-main?hub.mode=subscribe&hub.challenge=1158201444"
                            "&hub.verify_token=" +
                            token);
}

}  // namespace

TEST_CASE("a webhook signed with the previous app_secret is accepted while it is configured",
          "[e2e][rotation]") {
  gateway_process gw(rotation_config(true));
  CHECK(previous_matches(gw) == 0);
  CHECK(post(gw, acme.wa_app_secret(), 1).status == 200);
  CHECK(previous_matches(gw) == 0);
  auto old = post(gw, k_old_secret, 2);
  INFO(old.body);
  CHECK(old.status == 200);
  CHECK(previous_matches(gw) == 1);
  CHECK(post(gw, "neither-secret", 3).status == 401);
  CHECK(previous_matches(gw) == 1);
  CHECK(gw.output().find("verified with a previous secret") != std::string::npos);
  CHECK(gw.output().find(k_old_secret) == std::string::npos);  // never logged

  auto hs = handshake(gw, k_old_verify);
  CHECK(hs.status == 200);
  CHECK(hs.body == "1158201444");
  CHECK(handshake(gw, acme.wa_verify_token()).status == 200);
  CHECK(handshake(gw, "guess").status == 403);
}

TEST_CASE("without app_secret_previous the old secret is refused", "[e2e][rotation]") {
  gateway_process gw(rotation_config(false));
  CHECK(post(gw, k_old_secret, 4).status == 401);
  CHECK(post(gw, acme.wa_app_secret(), 5).status == 200);
  CHECK(previous_matches(gw) == 0);
}

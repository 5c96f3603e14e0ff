// End-to-end: a channel beside the standard five, as a new platform's own e2e tests add theirs
// (docs/architecture.md "Adding a platform"): configured through `test_server::extra_channels`
// and signed by the platform's own `adapter_info::sign`.
#include <catch2/catch.hpp>

#include <string>

#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;

namespace {

const test_tenant acme{"acme", "sbt_e2e_platform_channels_7d21c4"};

}  // namespace

TEST_CASE("a channel added beside the standard ones takes webhooks signed by its platform",
          "[e2e][webhook][plugins]") {
  test_server server;
  server.extra_channels.push_back({"wa-two",
                                   "whatsapp",
                                   {{"app_secret", "wa-two-app-secret"},
                                    {"verify_token", "wa-two-verify"},
                                    {"phone_number_id", "106540352249999"}}});
  gateway_process gw(test_config({acme}, server));

  const std::string body = pl::wa_text_webhook(pl::wamid(7), "16505551234", "Sheena Nelson",
                                               "Is this the second number?", 1749416383);
  const auto url = gw.base_url() + "/webhooks/acme/wa-two";
  // Signed with the standard channel's secret: not this channel's.
  auto wrong = request("POST", url, signing::whatsapp(acme.wa_app_secret(), body), body);
  CHECK(wrong.status == 401);
  auto signed_ok =
      request("POST", url,
              signing::platform("whatsapp", {{"app_secret", "wa-two-app-secret"}}, body), body);
  INFO(signed_ok.body);
  REQUIRE(signed_ok.status == 200);

  json page = get_events(gw.base_url(), acme.token);
  REQUIRE(page["events"].size() == 1);
  CHECK(page["events"][0]["channel"]["name"].str() == "wa-two");
  CHECK(page["events"][0]["content"]["text"].str() == "Is this the second number?");
}

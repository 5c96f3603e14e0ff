// End-to-end: GET /v1/openapi.json (docs/api.md) — the OpenAPI document compiled into the real
// binary, served without a token, cached by ETag. Its content is checked against the handler
// list by tests/unit/http/openapi_test.cpp and against the answers of this suite by
// tests/contract/openapi.test.mjs.
#include <catch2/catch.hpp>

#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"

using namespace sb::test;

namespace {

const test_tenant acme{"acme", "sbt_e2e_openapi_acme_3c2b1a09"};

}  // namespace

TEST_CASE("the OpenAPI document is served without a token and cached by its ETag",
          "[e2e][openapi]") {
  gateway_process gw(test_config({acme}));
  auto r = request("GET", gw.base_url() + "/v1/openapi.json");
  INFO(r.status << ": " << r.body.substr(0, 200));
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("access-control-allow-origin") == "*");
  json doc = json::parse(r.body);
  CHECK(doc["openapi"].str() == "3.1.0");
  CHECK(doc["paths"].has("/v1/openapi.json"));
  CHECK(doc["paths"].has("/webhooks/{tenant}/{channel}"));
  const std::string etag = r.header("etag");
  REQUIRE_FALSE(etag.empty());

  auto again = request("GET", gw.base_url() + "/v1/openapi.json", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());

  // A token is not needed, and a wrong one changes nothing: the document holds no data.
  auto with_token =
      request("GET", gw.base_url() + "/v1/openapi.json", {{"Authorization", "Bearer not-a-token"}});
  CHECK(with_token.status == 200);
  CHECK(with_token.body == r.body);

  auto wrong_method = request("POST", gw.base_url() + "/v1/openapi.json", {}, "{}");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "GET");
}

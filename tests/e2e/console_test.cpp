// End-to-end: the operator console (docs/console.md) — its static files and their security
// headers, GET /v1/overview for operators and tenant admins, and operator tokens on the
// tenants' APIs — against the real binary over real sockets.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <string>

#include "e2e/payloads.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;

namespace {

const test_tenant acme{"acme", "sbt_e2e_console_acme_5d1e2f3a4b"};
const test_tenant globex{"globex", "sbt_e2e_console_globex_9a8b7c6d"};
const std::string k_operator_token = "sbo_e2e_console_operator_4f3e2d1c";

const char* const k_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Two tenants (each with its all-scope "backend" token) and the operator "ops".
std::string console_config() {
  test_server s;
  s.extra_yaml =
      "operators:\n  - name: ops\n    token_sha256: " + token_sha256(k_operator_token) + "\n";
  return test_config({acme, globex}, s);
}

void require_error(const http_result& r, long status, const std::string& code) {
  INFO("response " << r.status << ": " << r.body);
  REQUIRE(r.status == status);
  json j = json::parse(r.body);
  CHECK(j["error"].str() == code);
  CHECK_FALSE(j["message"].str().empty());
}

json get_json(const std::string& url, const std::string& token) {
  auto r = request("GET", url, bearer(token));
  INFO("GET " << url << " -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

const json* find_by(const json& list, const std::string& key, const std::string& value) {
  for (const auto& item : list.items()) {
    if (item[key].str() == value) {
      return &item;
    }
  }
  return nullptr;
}

void post_telegram(const gateway_process& gw, const test_tenant& t, int n,
                   const std::string& text) {
  const std::string chat = "7700" + std::to_string(n);
  const std::string body =
      R"({"update_id":)" + std::to_string(91000 + n) + R"(,"message":{"message_id":)" +
      std::to_string(5000 + n) + R"(,"from":{"id":)" + chat +
      R"(,"is_bot":false,"first_name":"Ada"},"chat":{"id":)" + chat +
      R"(,"first_name":"Ada","type":"private"},"date":)" + std::to_string(std::time(nullptr)) +
      R"(,"text":)" + pl::quoted(text) + "}}";
  auto r = request("POST", gw.base_url() + "/webhooks/" + t.id + "/tg",
                   signing::telegram(t.tg_secret_token()), body);
  INFO("POST telegram -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 200);
}

}  // namespace

TEST_CASE("the console's files are served with the CSP and nosniff and an ETag", "[e2e][console]") {
  gateway_process gw(console_config());
  auto index = request("GET", gw.base_url() + "/console/");
  REQUIRE(index.status == 200);
  CHECK(index.header("content-type").rfind("text/html", 0) == 0);
  CHECK(index.header("content-security-policy") == k_csp);
  CHECK(index.header("x-content-type-options") == "nosniff");
  CHECK(index.header("referrer-policy") == "no-referrer");
  CHECK(index.header("cache-control") == "no-cache");
  // External script and style only: the CSP would block anything inline.
  CHECK(index.body.find("<script src=\"app.js\"") != std::string::npos);
  CHECK(index.body.find("<script>") == std::string::npos);
  CHECK(index.body.find("style=") == std::string::npos);
  const std::string etag = index.header("etag");
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');

  auto again = request("GET", gw.base_url() + "/console/", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.header("content-security-policy") == k_csp);

  auto js = request("GET", gw.base_url() + "/console/app.js");
  REQUIRE(js.status == 200);
  CHECK(js.header("content-type").rfind("text/javascript", 0) == 0);
  CHECK(js.header("x-content-type-options") == "nosniff");
  CHECK(js.header("content-security-policy") == k_csp);
  CHECK(js.body.find("innerHTML") == std::string::npos);
  CHECK(js.header("etag") != etag);

  auto css = request("GET", gw.base_url() + "/console/app.css");
  REQUIRE(css.status == 200);
  CHECK(css.header("content-type").rfind("text/css", 0) == 0);

  require_error(request("GET", gw.base_url() + "/console/nope.js"), 404, "not_found");
  require_error(request("GET", gw.base_url() + "/console/..%2Fwidget%2Fwidget.js"), 404,
                "not_found");
}

TEST_CASE("the overview covers every tenant for an operator and one tenant for its admin",
          "[e2e][console]") {
  gateway_process gw(console_config());
  const std::string url = gw.base_url() + "/v1/overview";

  auto all = get_json(url, k_operator_token);
  REQUIRE(all["tenants"].size() == 2);
  CHECK(all["tenants"][0]["id"].str() == "acme");
  CHECK(all["tenants"][1]["id"].str() == "globex");
  CHECK_FALSE(all["at"].str().empty());
  const json& channels = all["tenants"][0]["channels"];
  const json* tg = find_by(channels, "name", "tg");
  REQUIRE(tg != nullptr);
  CHECK((*tg)["type"].str() == "telegram");
  const json* backend = find_by(all["tenants"][0]["subscribers"], "name", "backend");
  REQUIRE(backend != nullptr);
  CHECK_FALSE((*backend)["push"].boolean());
  CHECK(all["tenants"][0]["outbound"].has("queued"));

  auto one = get_json(url + "?tenant=globex", k_operator_token);
  REQUIRE(one["tenants"].size() == 1);
  CHECK(one["tenants"][0]["id"].str() == "globex");

  auto own = get_json(url, acme.token);
  REQUIRE(own["tenants"].size() == 1);
  CHECK(own["tenants"][0]["id"].str() == "acme");

  require_error(request("GET", url + "?tenant=globex", bearer(acme.token)), 403, "forbidden");
  require_error(request("GET", url, bearer("sbo_wrong_token")), 401, "unauthorized");
  require_error(request("GET", url), 401, "unauthorized");
  require_error(request("GET", url + "?tenant=initech", bearer(k_operator_token)), 404,
                "unknown_tenant");
}

TEST_CASE("the overview's counts move after a webhook", "[e2e][console]") {
  gateway_process gw(console_config());
  const std::string url = gw.base_url() + "/v1/overview?tenant=acme";
  auto events_of_tg = [&](std::uint64_t* head) {
    auto j = get_json(url, k_operator_token);
    if (head != nullptr) {
      *head = j["tenants"][0]["head"].u64();
    }
    return (*find_by(j["tenants"][0]["channels"], "name", "tg"))["events_total"].u64();
  };
  std::uint64_t head_before = 0;
  const auto before = events_of_tg(&head_before);
  post_telegram(gw, acme, 1, "hello console");
  std::uint64_t head_after = 0;
  CHECK(eventually([&] { return events_of_tg(&head_after) == before + 1; }));
  CHECK(eventually([&] {
    events_of_tg(&head_after);
    return head_after > head_before;
  }));
  // globex saw nothing.
  auto g = get_json(gw.base_url() + "/v1/overview?tenant=globex", k_operator_token);
  CHECK((*find_by(g["tenants"][0]["channels"], "name", "tg"))["events_total"].u64() == 0);
}

TEST_CASE("an operator token reaches a tenant's APIs with ?tenant= and is audited as itself",
          "[e2e][console]") {
  gateway_process gw(console_config());
  const std::string base = gw.base_url();
  require_error(request("GET", base + "/v1/events", bearer(k_operator_token)), 400, "bad_request");
  post_telegram(gw, globex, 2, "for globex only");
  CHECK(eventually([&] {
    return get_json(base + "/v1/events?tenant=globex", k_operator_token)["events"].size() == 1;
  }));
  CHECK(get_json(base + "/v1/events?tenant=acme", k_operator_token)["events"].size() == 0);

  const std::string subject = "sub_0000000000000000";
  auto erased = request("DELETE", base + "/v1/subjects/" + subject + "?tenant=acme",
                        bearer(k_operator_token));
  INFO(erased.body);
  REQUIRE(erased.status == 200);
  CHECK(json::parse(erased.body)["receipt"].str().rfind("era_", 0) == 0);
  auto audit = get_json(base + "/v1/audit?tenant=acme", k_operator_token);
  const json* entry = find_by(audit["entries"], "action", "erase");
  REQUIRE(entry != nullptr);
  CHECK((*entry)["actor"].str() == "operator:ops");
  // The tenant admin still reads its own audit log, and not another's.
  CHECK(get_json(base + "/v1/audit", acme.token)["entries"].size() >= 1);
  require_error(request("GET", base + "/v1/audit?tenant=globex", bearer(acme.token)), 403,
                "forbidden");
}

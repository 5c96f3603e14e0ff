// End-to-end: a WooCommerce channel against the real binary. The unsigned creation ping is
// answered 200 and stores nothing; signed orders become `order` events with their exact money;
// forged and misrouted deliveries store nothing; a delivery id is a duplicate only with the same
// body; a signed body that does not parse is kept in quarantine and answered 200 (WooCommerce
// never retries and disables failing webhooks); customer.deleted is reported, not acted on.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "e2e/checks.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using e2e_checks::require_error;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_woocommerce_acme_6c1d8a"};
const std::string k_secret = "wc-e2e-webhook-secret-acme";
const std::string k_store = "https://shop.example.test";
const std::map<std::string, std::string> k_settings{{"secret", k_secret}, {"store_url", k_store}};

std::string woo_config() {
  test_server server;
  server.extra_channels.push_back(
      {"woo", "woocommerce", {{"secret", k_secret}, {"store_url", k_store}}});
  return test_config({acme}, server);
}

std::string url(const gateway_process& gw) {
  return gw.base_url() + "/webhooks/acme/woo";
}

/// Posts `body` as WooCommerce delivers topic `topic` with `delivery_id` ("" = derived from the
/// body), signed with `secret`.
http_result post(const gateway_process& gw, const std::string& body, const std::string& topic,
                 const std::string& delivery_id = "", const std::string& secret = k_secret) {
  sb::adapters::signing_input in;
  in.kind = topic;
  in.delivery_id = delivery_id;
  auto settings = k_settings;
  settings["secret"] = secret;
  auto headers = signing::platform("woocommerce", settings, body, in);
  headers.emplace_back("User-Agent", "WooCommerce/8.3.1 Hookshot (WordPress/6.4.2)");
  return request("POST", url(gw), headers, body);
}

json all_events(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token, "after=0&limit=1000")["events"];
}

json api_json(const gateway_process& gw, const std::string& path) {
  auto r = request("GET", gw.base_url() + path, bearer(acme.token));
  require_status(r, 200);
  return json::parse(r.body);
}

}  // namespace

TEST_CASE("WooCommerce's unsigned creation ping gets exactly 200 and stores nothing",
          "[e2e][woocommerce]") {
  gateway_process gw(woo_config());
  const header_list form{{"Content-Type", "application/x-www-form-urlencoded"},
                         {"User-Agent", "WooCommerce/8.3.1 Hookshot (WordPress/6.4.2)"}};
  auto ping = request("POST", url(gw), form, "webhook_id=12");
  require_status(ping, 200);
  CHECK(ping.header("content-type").find("application/json") != std::string::npos);
  CHECK(json::parse(ping.body)["status"].str() == "ok");

  // Anything else unsigned is an ordinary webhook without its signature.
  require_error(request("POST", url(gw), form, "webhook_id=12&x=1"), 401, "missing_signature");
  require_error(request("POST", url(gw), form, "webhook_id="), 401, "missing_signature");
  CHECK(all_events(gw).size() == 0);
  CHECK(api_json(gw, "/v1/quarantine?channel=woo")["quarantined"].size() == 0);
}

TEST_CASE("a signed WooCommerce order.created becomes an order event with exact money",
          "[e2e][woocommerce]") {
  gateway_process gw(woo_config());
  auto r = post(gw, fixture("woocommerce/order.created.json"), "order.created",
                "5c9a3e1b7d2f4a6c8e0b1d3f5a7c9e1b");
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 1);

  const auto events = all_events(gw);
  REQUIRE(events.size() == 1);
  const auto e = events[0];
  CHECK(e["type"].str() == "order");
  CHECK(e["kind"].str() == "created");
  CHECK(e["channel"]["name"].str() == "woo");
  CHECK(e["channel"]["type"].str() == "woocommerce");
  CHECK(e["channel"]["account"].str() == "shop.example.test");
  CHECK(e["platform_event_id"].str() == "5c9a3e1b7d2f4a6c8e0b1d3f5a7c9e1b");
  CHECK(e["sender"]["platform_id"].str() == "26");
  CHECK(e["conversation"].str() == "woo:26");
  CHECK(e["subject"].is_string());
  CHECK(e["occurred_at"].str() == "2024-12-03T15:14:07Z");
  const auto o = e["order"];
  CHECK(o["id"].str() == "727");
  CHECK(o["currency"].str() == "USD");
  CHECK(o["total"].str() == "29.35");
  REQUIRE(o["items"].size() == 2);
  CHECK(o["items"][0]["price"].str() == "3");
  CHECK(o["items"][0]["quantity"].str() == "2");
  CHECK(o["items"][1]["price"].str() == "11.99");
  CHECK(o["items"][1]["sku"].str() == "SYI-BLACK-M");
}

TEST_CASE("forged and misrouted WooCommerce deliveries are refused and store nothing",
          "[e2e][woocommerce]") {
  gateway_process gw(woo_config());
  const auto body = fixture("woocommerce/order.created.json");
  require_error(post(gw, body, "order.created", "", "not-the-secret"), 401, "bad_signature");
  auto unsigned_post = request("POST", url(gw), {{"Content-Type", "application/json"}}, body);
  require_error(unsigned_post, 401, "missing_signature");

  // The same secret set on another store's webhook: validly signed, but not this store.
  sb::adapters::signing_input in;
  in.kind = "order.created";
  auto other = signing::platform(
      "woocommerce", {{"secret", k_secret}, {"store_url", "https://other.example.test"}}, body, in);
  require_error(request("POST", url(gw), other, body), 403, "forbidden");
  CHECK(all_events(gw).size() == 0);
  CHECK(api_json(gw, "/v1/quarantine?channel=woo")["quarantined"].size() == 0);
}

TEST_CASE("a WooCommerce delivery id is a duplicate only with the same body",
          "[e2e][woocommerce]") {
  gateway_process gw(woo_config());
  const std::string id = "e3b0c44298fc1c149afbf4c8996fb924";
  const std::string first = R"({"id":794,"name":"Premium Quality","price":"21.99",)"
                            R"("date_modified_gmt":"2024-12-02T12:45:13"})";
  const std::string second = R"({"id":795,"name":"Basic Quality","price":"9.99",)"
                             R"("date_modified_gmt":"2024-12-02T12:45:13"})";
  require_status(post(gw, first, "product.updated", id), 200);
  auto again = post(gw, first, "product.updated", id);
  require_status(again, 200);
  CHECK(json::parse(again.body)["duplicates"].u64() == 1);
  CHECK(all_events(gw).size() == 1);

  // WooCommerce gives two deliveries within one second the same id: both are kept.
  auto other = post(gw, second, "product.updated", id);
  require_status(other, 200);
  CHECK(json::parse(other.body)["events"].u64() == 1);
  const auto events = all_events(gw);
  REQUIRE(events.size() == 2);
  for (const auto& e : events.items()) {
    CHECK(e["type"].str() == "commerce");
    CHECK(e["kind"].str() == "updated");
    CHECK(e["platform_event_id"].str() == id);
  }
}

TEST_CASE("a signed WooCommerce body that does not parse is quarantined and answered 200",
          "[e2e][woocommerce][quarantine]") {
  gateway_process gw(woo_config());
  const std::string body = R"({"id":727,"total":"29.35")";  // cut short: not JSON
  auto r = post(gw, body, "order.created");
  INFO(r.body);
  // WooCommerce does not retry and disables a webhook after a few failures: a 4xx would lose
  // nothing more than a 200 here, but would count towards disabling it.
  require_status(r, 200);
  CHECK(all_events(gw).size() == 0);

  const auto list = api_json(gw, "/v1/quarantine?channel=woo")["quarantined"];
  REQUIRE(list.size() == 1);
  const auto id = std::to_string(list[0]["id"].u64());
  auto raw = request("GET", gw.base_url() + "/v1/quarantine/" + id, bearer(acme.token));
  require_status(raw, 200);
  CHECK(raw.body == body);

  // A forged unparseable body is not kept.
  require_error(post(gw, body, "order.created", "", "not-the-secret"), 401, "bad_signature");
  CHECK(api_json(gw, "/v1/quarantine?channel=woo")["quarantined"].size() == 1);
}

TEST_CASE("WooCommerce customer.deleted is reported and erases nothing", "[e2e][woocommerce]") {
  gateway_process gw(woo_config());
  require_status(post(gw, fixture("woocommerce/customer.created.json"), "customer.created"), 200);
  require_status(post(gw, fixture("woocommerce/order.created.json"), "order.created"), 200);
  auto before = all_events(gw);
  REQUIRE(before.size() == 2);
  REQUIRE(before[0]["subject"].is_string());
  const auto subject = before[0]["subject"].str();
  CHECK(before[1]["subject"].str() == subject);

  auto r = post(gw, fixture("woocommerce/customer.deleted.json"), "customer.deleted");
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 1);

  const auto events = all_events(gw);
  REQUIRE(events.size() == 3);
  // The customer's earlier events are all still there.
  CHECK(events[0]["type"].str() == "customer");
  CHECK(events[0]["kind"].str() == "created");
  CHECK(events[0]["subject"].str() == subject);
  CHECK(events[1]["type"].str() == "order");
  CHECK(events[1]["subject"].str() == subject);
  const auto deleted = events[2];
  CHECK(deleted["type"].str() == "customer");
  CHECK(deleted["kind"].str() == "deleted");
  CHECK(deleted["sender"]["platform_id"].str() == "26");
  CHECK(deleted["subject"].str() == subject);  // the business can find whom to erase
  for (const auto& e : events.items()) {
    CHECK(e["type"].str().rfind("privacy.", 0) == std::string::npos);
  }
}

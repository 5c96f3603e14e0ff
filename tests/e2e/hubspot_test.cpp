// End-to-end: a HubSpot channel against the real binary: signed batches of events become
// `customer` events; forged and stale requests store nothing; contact.privacyDeletion erases the
// contact's subject before the webhook is answered, alone or among other events of its batch.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "e2e/checks.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using e2e_checks::require_error;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_hubspot_acme_4b8e1f2c9d"};
const std::string k_secret = "hs-client-secret-e2e-acme";
const std::string k_url = "https://hooks.example.test/webhooks/acme/crm";
const std::map<std::string, std::string> k_settings{{"client_secret", k_secret},
                                                    {"public_url", k_url}};

std::string hubspot_config() {
  test_server server;
  server.extra_channels.push_back({"crm",
                                   "hubspot",
                                   {{"client_secret", k_secret},
                                    {"app_id", "1160452"},
                                    {"portal_id", "62515"},
                                    {"public_url", k_url}}});
  return test_config({acme}, server);
}

/// One HubSpot event of the channel's portal and app.
std::string event(std::uint64_t event_id, const std::string& type, const std::string& object_id,
                  const std::string& extra = "") {
  return R"({"eventId":)" + std::to_string(event_id) +
         R"(,"subscriptionId":4483,"portalId":62515,"appId":1160452,"occurredAt":1695389621000,)"
         R"("subscriptionType":")" +
         type + R"(","attemptNumber":0,"objectId":)" + object_id + extra + "}";
}

std::string batch(const std::vector<std::string>& events) {
  std::string out = "[";
  for (const auto& e : events) {
    out += (out.size() > 1 ? "," : "") + e;
  }
  return out + "]";
}

/// Posts `body` as HubSpot does, signed at `at` (empty: now) with `secret`.
http_result post(const gateway_process& gw, const std::string& body, sb::timestamp at = {},
                 const std::string& secret = k_secret) {
  sb::adapters::signing_input in;
  in.at = at;
  auto settings = k_settings;
  settings["client_secret"] = secret;
  return request("POST", gw.base_url() + "/webhooks/acme/crm",
                 signing::platform("hubspot", settings, body, in), body);
}

json all_events(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token, "after=0&limit=1000")["events"];
}

std::vector<json> of_contact(const json& events, const std::string& contact) {
  std::vector<json> out;
  for (const auto& e : events.items()) {
    if (e["sender"]["platform_id"].str() == contact) {
      out.push_back(e);
    }
  }
  return out;
}

std::vector<json> of_type(const json& events, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : events.items()) {
    if (e["type"].str() == type) {
      out.push_back(e);
    }
  }
  return out;
}

std::size_t count_subject(const json& events, const std::string& subject) {
  std::size_t n = 0;
  for (const auto& e : events.items()) {
    n += e["subject"].is_string() && e["subject"].str() == subject ? 1 : 0;
  }
  return n;
}

bool has_audit(const gateway_process& gw, const std::string& action, const std::string& subject) {
  auto r = request("GET", gw.base_url() + "/v1/audit?after=0&limit=1000", bearer(acme.token));
  require_status(r, 200);
  UNSCOPED_INFO("audit log: " << r.body);
  const json audit = json::parse(r.body);
  for (const auto& e : audit["entries"].items()) {
    if (e["actor"].str() == "platform:crm" && e["action"].str() == action &&
        e["subject"].str() == subject && e["outcome"].str() == "ok") {
      return true;
    }
  }
  return false;
}

/// Stores two events of `contact` and answers the subject they derive.
std::string contact_with_history(const gateway_process& gw, const std::string& contact,
                                 std::uint64_t first_id) {
  auto r =
      post(gw, batch({event(first_id, "contact.creation", contact),
                      event(first_id + 1, "contact.propertyChange", contact,
                            R"(,"propertyName":"email","propertyValue":"arya@example.com")")}));
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 2);
  const auto events = of_contact(all_events(gw), contact);
  REQUIRE(events.size() == 2);
  REQUIRE(events[0]["subject"].is_string());
  return events[0]["subject"].str();
}

}  // namespace

TEST_CASE("a signed HubSpot contact.creation becomes a customer event", "[e2e][hubspot]") {
  gateway_process gw(hubspot_config());
  auto r = post(gw, batch({event(3816279480, "contact.creation", "1246978")}));
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 1);

  const auto events = all_events(gw);
  REQUIRE(events.size() == 1);
  const auto e = events[0];
  CHECK(e["type"].str() == "customer");
  CHECK(e["kind"].str() == "contact.creation");
  CHECK(e["channel"]["name"].str() == "crm");
  CHECK(e["channel"]["type"].str() == "hubspot");
  CHECK(e["channel"]["account"].str() == "62515");
  CHECK(e["platform_event_id"].str() == "3816279480");
  CHECK(e["sender"]["platform_id"].str() == "1246978");
  CHECK(e["conversation"].str() == "crm:1246978");
  CHECK(e["subject"].is_string());

  // HubSpot's retry of the same delivery is a duplicate.
  auto retry = post(gw, batch({event(3816279480, "contact.creation", "1246978")}));
  require_status(retry, 200);
  CHECK(json::parse(retry.body)["duplicates"].u64() == 1);
  CHECK(all_events(gw).size() == 1);
}

TEST_CASE("forged and stale HubSpot webhooks are refused and store nothing", "[e2e][hubspot]") {
  gateway_process gw(hubspot_config());
  const auto body = batch({event(501, "contact.creation", "77")});
  require_error(post(gw, body, {}, "not-the-secret"), 401, "bad_signature");
  const auto ten_minutes_ago = sb::timestamp::from_millis(sb::now().unix_ms - 10 * 60 * 1000);
  require_error(post(gw, body, ten_minutes_ago), 401, "replayed_request");
  const auto ahead = sb::timestamp::from_millis(sb::now().unix_ms + 10 * 60 * 1000);
  require_error(post(gw, body, ahead), 401, "replayed_request");
  auto unsigned_post = request("POST", gw.base_url() + "/webhooks/acme/crm",
                               {{"Content-Type", "application/json"}}, body);
  require_error(unsigned_post, 401, "missing_signature");
  // Another portal's event, signed with the one app secret: misrouted.
  std::string other = body;
  other.replace(other.find("62515"), 5, "99999");
  require_error(post(gw, other), 403, "forbidden");
  CHECK(all_events(gw).size() == 0);
}

TEST_CASE("HubSpot contact.privacyDeletion erases the contact before it is answered",
          "[e2e][hubspot][privacy]") {
  gateway_process gw(hubspot_config());
  const auto subject = contact_with_history(gw, "1246965", 100);
  REQUIRE(count_subject(all_events(gw), subject) == 2);

  const auto deletion = batch({event(3816280427, "contact.privacyDeletion", "1246965")});
  // Another portal's deletion erases nothing.
  std::string misrouted = deletion;
  misrouted.replace(misrouted.find("62515"), 5, "99999");
  require_error(post(gw, misrouted), 403, "forbidden");
  // Nor does a forged one.
  require_error(post(gw, deletion, {}, "not-the-secret"), 401, "bad_signature");
  CHECK(count_subject(all_events(gw), subject) == 2);

  auto r = post(gw, deletion);
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 1);

  auto events = all_events(gw);
  CHECK(count_subject(events, subject) == 0);
  CHECK(of_contact(events, "1246965").empty());
  auto receipts = of_type(events, "privacy.redact");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0]["kind"].str() == "contact.privacyDeletion");
  CHECK(receipts[0]["privacy"]["subject"].str() == subject);
  CHECK(receipts[0]["privacy"]["platform_id"].str() == "1246965");
  CHECK(receipts[0]["privacy"]["erased"]["events"].u64() == 2);
  CHECK(receipts[0]["privacy"]["receipt"].str().rfind("era_", 0) == 0);
  CHECK_FALSE(receipts[0].has("subject"));
  CHECK_FALSE(receipts[0].has("sender"));
  auto replay = request("GET", gw.base_url() + "/v1/events?after=0&limit=1000", bearer(acme.token));
  CHECK(replay.body.find("arya@example.com") == std::string::npos);
  CHECK(has_audit(gw, "redact", subject));

  // The same body again (HubSpot's retry, or a replay within the 5 minutes): a duplicate.
  auto again = post(gw, deletion);
  require_status(again, 200);
  CHECK(json::parse(again.body)["events"].u64() == 0);
  CHECK(json::parse(again.body)["duplicates"].u64() == 1);
  CHECK(of_type(all_events(gw), "privacy.redact").size() == 1);
}

TEST_CASE("a HubSpot batch with a privacyDeletion erases the contact and stores the rest",
          "[e2e][hubspot][privacy]") {
  gateway_process gw(hubspot_config());
  const auto erased = contact_with_history(gw, "1246965", 100);
  const auto mixed = batch(
      {event(200, "contact.propertyChange", "1246978",
             R"(,"propertyName":"lifecyclestage","propertyValue":"customer")"),
       // The erased contact's own change in the same batch goes with the erasure.
       event(201, "contact.propertyChange", "1246965",
             R"(,"propertyName":"phone","propertyValue":"+1 555 0100")"),
       event(202, "contact.privacyDeletion", "1246965"), event(203, "deal.creation", "14377")});
  auto r = post(gw, mixed);
  require_status(r, 200);
  // Three events stored, and the receipt.
  CHECK(json::parse(r.body)["events"].u64() == 4);
  CHECK(json::parse(r.body)["duplicates"].u64() == 0);

  auto events = all_events(gw);
  CHECK(count_subject(events, erased) == 0);
  CHECK(of_contact(events, "1246965").empty());
  auto other = of_contact(events, "1246978");
  REQUIRE(other.size() == 1);
  CHECK(other[0]["type"].str() == "customer");
  CHECK(other[0]["content"]["payload"].str() == "lifecyclestage");
  CHECK(of_type(events, "system").size() == 1);
  auto receipts = of_type(events, "privacy.redact");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0]["privacy"]["subject"].str() == erased);
  CHECK(receipts[0]["privacy"]["erased"]["events"].u64() == 3);
  CHECK(has_audit(gw, "redact", erased));

  // The whole batch again: nothing new is stored, nothing erased again.
  auto again = post(gw, mixed);
  require_status(again, 200);
  CHECK(json::parse(again.body)["events"].u64() == 0);
  CHECK(json::parse(again.body)["duplicates"].u64() == 4);
  events = all_events(gw);
  CHECK(of_type(events, "privacy.redact").size() == 1);
  CHECK(of_contact(events, "1246978").size() == 1);
  CHECK(of_contact(events, "1246965").empty());
}

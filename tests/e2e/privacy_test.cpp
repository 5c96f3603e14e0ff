// End-to-end: the data-protection duties of DESIGN §7 against the real binary over real
// sockets: export and erasure of a subject, the privacy.erased receipt, the audit log, Shopify's
// mandatory privacy webhooks, Meta's data-deletion callback and its status page, scopes and
// tenant isolation.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "e2e/checks.hpp"
#include "e2e/payloads.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_privacy_acme_5d4c3b2a1f0e"};
const test_tenant globex{"globex", "sbt_e2e_privacy_globex_0a1b2c3d4e"};
const std::string k_dpo = "sbt_e2e_privacy_dpo_only_77aa66bb";        // privacy
const std::string k_auditor = "sbt_e2e_privacy_admin_only_88cc99dd";  // admin
const std::string k_reader = "sbt_e2e_privacy_stream_only_11ee22ff";  // stream
const std::string k_public_url = "https://hooks.example.test";

/// The standard e2e config, plus a public URL and three single-scope subscribers of acme.
std::string privacy_config() {
  std::string y = test_config({acme, globex});
  const std::string server = "server:\n";
  y.insert(y.find(server) + server.size(), "  public_url: \"" + k_public_url + "/\"\n");
  const std::string anchor = "    scopes: [stream, send, privacy, admin]\n";
  const std::string extra = "      - name: dpo\n        token_sha256: \"" + token_sha256(k_dpo) +
                            "\"\n        scopes: [privacy]\n"
                            "      - name: auditor\n        token_sha256: \"" +
                            token_sha256(k_auditor) +
                            "\"\n        scopes: [admin]\n"
                            "      - name: reader\n        token_sha256: \"" +
                            token_sha256(k_reader) + "\"\n        scopes: [stream]\n";
  const auto first = y.find(anchor);  // acme's subscriber list comes first
  y.insert(first + anchor.size(), extra);
  return y;
}

using e2e_checks::require_error;
using e2e_checks::require_status;

http_result post_whatsapp(const gateway_process& gw, const test_tenant& t, int n,
                          const std::string& from, const std::string& name,
                          const std::string& text) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, name, text);
  auto r = request("POST", gw.base_url() + "/webhooks/" + t.id + "/wa-main",
                   signing::whatsapp(t.wa_app_secret(), body), body);
  require_status(r, 200);
  return r;
}

http_result post_shopify(const gateway_process& gw, const test_tenant& t, const std::string& topic,
                         const std::string& body, const std::string& webhook_id) {
  return request("POST", gw.base_url() + "/webhooks/" + t.id + "/shop",
                 signing::shopify(t.shop_client_secret(), body, topic, webhook_id, t.shop_domain()),
                 body);
}

/// A Shopify fixture as Shopify would send it to `t`'s shop: a privacy request names the shop
/// it is for, and the gateway acts only on its channel's own shop.
std::string shop_fixture(const test_tenant& t, const std::string& name) {
  std::string body = fixture("shopify/" + name);
  const std::string fixture_shop = "acme-dev.myshopify.com";
  for (auto at = body.find(fixture_shop); at != std::string::npos; at = body.find(fixture_shop)) {
    body.replace(at, fixture_shop.size(), t.shop_domain());
  }
  return body;
}

/// A Messenger text message from `psid` to the tenant's page.
std::string messenger_text(const test_tenant& t, const std::string& psid, const std::string& mid,
                           const std::string& text) {
  return R"({"object":"page","entry":[{"id":")" + t.fb_page_id() +
         R"(","time":1749416383000,"messaging":[{"sender":{"id":")" + psid +
         R"("},"recipient":{"id":")" + t.fb_page_id() +
         R"("},"timestamp":1749416383000,"message":{"mid":")" + mid + R"(","text":)" +
         pl::quoted(text) + "}}]}]}";
}

/// Meta's signed_request for `user_id`, issued now, signed with `app_secret` (by the
/// platform's own signing, tests/support/signing.hpp).
std::string signed_request(const std::string& app_secret, const std::string& user_id) {
  return signing::deletion_request("messenger", app_secret, user_id);
}

http_result data_deletion(const gateway_process& gw, const std::string& tenant,
                          const std::string& channel, const std::string& signed_value) {
  return request("POST", gw.base_url() + "/webhooks/" + tenant + "/" + channel + "/data-deletion",
                 {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "signed_request=" + signed_value);
}

json all_events(const gateway_process& gw, const test_tenant& t) {
  return get_events(gw.base_url(), t.token, "after=0&limit=1000")["events"];
}

/// The subject of the first stored event whose text contains `text`, or whose sender or order
/// id is `text`.
std::string subject_with(const gateway_process& gw, const test_tenant& t, const std::string& text) {
  const json events = all_events(gw, t);
  for (const auto& e : events.items()) {
    const bool match = e["content"]["text"].str().find(text) != std::string::npos ||
                       e["sender"]["platform_id"].str() == text || e["order"]["id"].str() == text;
    if (match && e["subject"].is_string()) {
      return e["subject"].str();
    }
  }
  FAIL("no stored event mentions " << text);
  return {};
}

std::size_t count_subject(const json& events, const std::string& subject) {
  std::size_t n = 0;
  for (const auto& e : events.items()) {
    n += e["subject"].is_string() && e["subject"].str() == subject ? 1 : 0;
  }
  return n;
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

http_result get_subject(const gateway_process& gw, const std::string& token,
                        const std::string& subject, const std::string& query = "") {
  return request("GET", gw.base_url() + "/v1/subjects/" + subject + query, bearer(token));
}

http_result delete_subject(const gateway_process& gw, const std::string& token,
                           const std::string& subject, const std::string& query = "") {
  return request("DELETE", gw.base_url() + "/v1/subjects/" + subject + query, bearer(token));
}

json audit(const gateway_process& gw, const std::string& query = "after=0&limit=1000") {
  auto r = request("GET", gw.base_url() + "/v1/audit?" + query, bearer(k_auditor));
  require_status(r, 200);
  return json::parse(r.body);
}

bool has_audit(const json& a, const std::string& actor, const std::string& action,
               const std::string& subject, const std::string& outcome = "ok") {
  for (const auto& e : a["entries"].items()) {
    if (e["actor"].str() == actor && e["action"].str() == action && e["subject"].str() == subject &&
        e["outcome"].str() == outcome) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("an erased subject is gone from replay and export, the receipt and audit remain",
          "[e2e][privacy][erasure]") {
  gateway_process gw(privacy_config());
  sse_client stream(gw.base_url() + "/v1/stream?types=privacy.erased", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);

  const std::string secret = "my locker code is PURPLE-ELEPHANT-4711";
  post_whatsapp(gw, acme, 1, "16505551234", "Sheena Nelson", secret);
  post_whatsapp(gw, acme, 2, "16505551234", "Sheena Nelson", "and a second message");
  post_whatsapp(gw, acme, 3, "16505559999", "Someone Else", "another person's message");
  const auto subject = subject_with(gw, acme, "PURPLE-ELEPHANT");
  const auto other = subject_with(gw, acme, "another person's");
  REQUIRE(subject != other);

  // Export (portability): identifiers, consent and every event of the person, nobody else's.
  auto before = get_subject(gw, k_dpo, subject);
  require_status(before, 200);
  json ex = json::parse(before.body);
  CHECK(ex["subject"].str() == subject);
  CHECK(ex["tenant"].str() == "acme");
  REQUIRE(ex["identifiers"].size() == 1);
  CHECK(ex["identifiers"][0]["channel"].str() == "wa-main");
  CHECK(ex["identifiers"][0]["type"].str() == "whatsapp");
  CHECK(ex["identifiers"][0]["platform_id"].str() == "16505551234");
  CHECK(ex["identifiers"][0]["name"].str() == "Sheena Nelson");
  CHECK(ex["consent"]["purposes"]["support"].boolean());
  REQUIRE(ex["events"].size() == 2);
  CHECK(ex["events"][0]["content"]["text"].str() == secret);
  CHECK(before.body.find("another person's") == std::string::npos);
  CHECK_FALSE(ex["exported_at"].str().empty());

  // Erasure.
  auto erased = delete_subject(gw, k_dpo, subject);
  require_status(erased, 200);
  json receipt = json::parse(erased.body);
  CHECK(receipt["receipt"].str().rfind("era_", 0) == 0);
  CHECK(receipt["subject"].str() == subject);
  CHECK(receipt["erased"]["events"].u64() == 2);

  // Replay and export hold nothing of the person any more; the other person is untouched.
  auto events = all_events(gw, acme);
  CHECK(count_subject(events, subject) == 0);
  CHECK(count_subject(events, other) == 1);
  auto replay = request("GET", gw.base_url() + "/v1/events?after=0&limit=1000", bearer(acme.token));
  CHECK(replay.body.find("PURPLE-ELEPHANT") == std::string::npos);
  CHECK(replay.body.find("Sheena") == std::string::npos);
  auto after = get_subject(gw, k_dpo, subject);
  require_status(after, 200);
  json empty = json::parse(after.body);
  CHECK(empty["events"].size() == 0);
  CHECK(empty["identifiers"].size() == 0);

  // The receipt: stored, streamed, carrying the subject id and nothing of the person.
  auto receipts = of_type(events, "privacy.erased");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0]["privacy"]["subject"].str() == subject);
  CHECK(receipts[0]["privacy"]["receipt"].str() == receipt["receipt"].str());
  CHECK(receipts[0]["privacy"]["erased"]["events"].u64() == 2);
  CHECK_FALSE(receipts[0].has("subject"));
  CHECK_FALSE(receipts[0].has("sender"));
  CHECK_FALSE(receipts[0].has("content"));
  CHECK_FALSE(receipts[0].has("conversation"));
  REQUIRE(stream.wait_for(1));
  auto frame = stream.frames()[0];
  CHECK(frame.event == "privacy.erased");
  CHECK(json::parse(frame.data)["privacy"]["subject"].str() == subject);

  // A retried erasure is answered 200 with zeros.
  auto again = delete_subject(gw, k_dpo, subject);
  require_status(again, 200);
  CHECK(json::parse(again.body)["erased"]["events"].u64() == 0);

  // The audit log lists the exports and the erasures, with the receipt, never content.
  auto a = audit(gw);
  CHECK(has_audit(a, "subscriber:dpo", "export", subject));
  CHECK(has_audit(a, "subscriber:dpo", "erase", subject));
  const auto audit_text = request("GET", gw.base_url() + "/v1/audit?after=0", bearer(k_auditor));
  CHECK(audit_text.body.find(receipt["receipt"].str()) != std::string::npos);
  CHECK(audit_text.body.find("PURPLE-ELEPHANT") == std::string::npos);
  CHECK(audit_text.body.find("Sheena") == std::string::npos);
  CHECK(audit_text.body.find("16505551234") == std::string::npos);
  for (const auto& e : a["entries"].items()) {
    CHECK(e["tenant"].str() == "acme");
    CHECK_FALSE(e["at"].str().empty());
  }

  // Paging: `next` resumes after the last entry returned.
  auto page = audit(gw, "after=0&limit=1");
  REQUIRE(page["entries"].size() == 1);
  auto rest = audit(gw, "after=" + std::to_string(page["next"].u64()) + "&limit=1000");
  CHECK(rest["entries"].size() + 1 == a["entries"].size());
}

TEST_CASE("privacy calls need the privacy scope, the audit log the admin scope",
          "[e2e][privacy][auth]") {
  gateway_process gw(privacy_config());
  post_whatsapp(gw, acme, 5, "16505551234", "Sheena Nelson", "hello");
  const auto subject = subject_with(gw, acme, "hello");

  require_error(get_subject(gw, k_reader, subject), 403, "forbidden");
  require_error(delete_subject(gw, k_reader, subject), 403, "forbidden");
  require_error(get_subject(gw, k_auditor, subject), 403, "forbidden");
  require_error(request("GET", gw.base_url() + "/v1/audit", bearer(k_dpo)), 403, "forbidden");
  require_error(request("GET", gw.base_url() + "/v1/audit", bearer(k_reader)), 403, "forbidden");
  require_error(request("GET", gw.base_url() + "/v1/subjects/" + subject), 401, "unauthorized");
  require_error(request("GET", gw.base_url() + "/v1/audit"), 401, "unauthorized");
  require_error(request("GET", gw.base_url() + "/v1/audit?limit=x", bearer(k_auditor)), 400,
                "bad_request");
  require_error(get_subject(gw, k_dpo, "not-a-subject"), 400, "bad_request");
  CHECK(count_subject(all_events(gw, acme), subject) == 1);
}

TEST_CASE("another tenant's token can neither export nor erase a subject",
          "[e2e][privacy][isolation]") {
  gateway_process gw(privacy_config());
  post_whatsapp(gw, acme, 6, "16505551234", "Sheena Nelson", "acme's customer TOPAZ-77");
  const auto subject = subject_with(gw, acme, "TOPAZ-77");

  // Naming the other tenant is refused outright.
  require_error(get_subject(gw, globex.token, subject, "?tenant=acme"), 403, "forbidden");
  require_error(delete_subject(gw, globex.token, subject, "?tenant=acme"), 403, "forbidden");
  // Subject ids are per tenant: in globex the id names nobody, so there is nothing to export
  // or erase, and acme's data is untouched.
  auto ex = get_subject(gw, globex.token, subject);
  require_status(ex, 200);
  CHECK(json::parse(ex.body)["events"].size() == 0);
  CHECK(ex.body.find("TOPAZ-77") == std::string::npos);
  auto del = delete_subject(gw, globex.token, subject);
  require_status(del, 200);
  CHECK(json::parse(del.body)["erased"]["events"].u64() == 0);
  CHECK(count_subject(all_events(gw, acme), subject) == 1);
  CHECK(of_type(all_events(gw, globex), "privacy.erased").size() == 1);
  CHECK(of_type(all_events(gw, acme), "privacy.erased").empty());
}

TEST_CASE("Shopify customers/redact erases the customer's earlier events and emits privacy.redact",
          "[e2e][privacy][shopify]") {
  gateway_process gw(privacy_config());
  require_status(
      post_shopify(gw, acme, "orders/create", fixture("shopify/orders__create.json"), "wh-order-1"),
      200);
  const auto subject = subject_with(gw, acme, "9007199254740993");
  REQUIRE(count_subject(all_events(gw, acme), subject) == 1);

  const auto redact = shop_fixture(acme, "customers__redact.json");
  auto r = post_shopify(gw, acme, "customers/redact", redact, "wh-redact-1");
  require_status(r, 200);
  CHECK(json::parse(r.body)["events"].u64() == 1);

  auto events = all_events(gw, acme);
  CHECK(count_subject(events, subject) == 0);
  auto receipts = of_type(events, "privacy.redact");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0]["kind"].str() == "customers/redact");
  CHECK(receipts[0]["privacy"]["subject"].str() == subject);
  CHECK(receipts[0]["privacy"]["platform_id"].str() == "9007199254740993");
  CHECK(receipts[0]["privacy"]["erased"]["events"].u64() == 1);
  CHECK(receipts[0]["privacy"]["receipt"].str().rfind("era_", 0) == 0);
  CHECK_FALSE(receipts[0].has("subject"));
  CHECK_FALSE(receipts[0].has("sender"));
  auto replay = request("GET", gw.base_url() + "/v1/events?after=0&limit=1000", bearer(acme.token));
  CHECK(replay.body.find("jon.snow@example.com") == std::string::npos);
  CHECK(replay.body.find("555-625-1199") == std::string::npos);
  CHECK(replay.body.find("Snow") == std::string::npos);
  CHECK(has_audit(audit(gw), "platform:shop", "redact", subject));

  // Shopify retries until it gets 200: the retry finds nothing left and stores no second receipt.
  auto retry = post_shopify(gw, acme, "customers/redact", redact, "wh-redact-1");
  require_status(retry, 200);
  CHECK(json::parse(retry.body)["duplicates"].u64() == 1);
  CHECK(of_type(all_events(gw, acme), "privacy.redact").size() == 1);

  // A forged redact request erases nothing.
  require_status(
      post_shopify(gw, acme, "orders/create", fixture("shopify/orders__create.json"), "wh-order-2"),
      200);
  auto forged = request("POST", gw.base_url() + "/webhooks/acme/shop",
                        signing::shopify("not-the-secret", redact, "customers/redact",
                                         "wh-redact-2", acme.shop_domain()),
                        redact);
  require_error(forged, 401, "bad_signature");
  auto other_shop = request("POST", gw.base_url() + "/webhooks/acme/shop",
                            signing::shopify(acme.shop_client_secret(), redact, "customers/redact",
                                             "wh-redact-3", "someone-else.myshopify.com"),
                            redact);
  require_error(other_shop, 403, "forbidden");
  CHECK(count_subject(all_events(gw, acme), subject) == 1);
}

TEST_CASE("Shopify customers/data_request emits privacy.data_request carrying the export",
          "[e2e][privacy][shopify]") {
  gateway_process gw(privacy_config());
  require_status(
      post_shopify(gw, acme, "orders/create", fixture("shopify/orders__create.json"), "wh-order-1"),
      200);
  const auto subject = subject_with(gw, acme, "9007199254740993");
  auto r = post_shopify(gw, acme, "customers/data_request",
                        shop_fixture(acme, "customers__data_request.json"), "wh-request-1");
  require_status(r, 200);
  auto requests = of_type(all_events(gw, acme), "privacy.data_request");
  REQUIRE(requests.size() == 1);
  const auto& e = requests[0];
  CHECK(e["subject"].str() == subject);  // the export is the person's data: sealed as theirs
  CHECK(e["privacy"]["subject"].str() == subject);
  CHECK(e["privacy"]["platform_id"].str() == "9007199254740993");
  CHECK(e["privacy"]["request"].str() == "9999");
  const auto& ex = e["privacy"]["export"];
  CHECK(ex["subject"].str() == subject);
  REQUIRE(ex["events"].size() == 1);
  CHECK(ex["events"][0]["order"]["id"].str() == "820982911946154508");
  CHECK(ex["identifiers"][0]["platform_id"].str() == "9007199254740993");
  CHECK_FALSE(e.has("sender"));
  CHECK(has_audit(audit(gw), "platform:shop", "data_request", subject));
}

TEST_CASE("Shopify shop/redact erases everything of the shop's channel",
          "[e2e][privacy][shopify]") {
  gateway_process gw(privacy_config());
  require_status(
      post_shopify(gw, acme, "orders/create", fixture("shopify/orders__create.json"), "wh-order-1"),
      200);
  require_status(post_shopify(gw, acme, "customers/create",
                              fixture("shopify/customers__create.json"), "wh-customer-1"),
                 200);
  post_whatsapp(gw, acme, 7, "16505551234", "Sheena Nelson", "not a shop event");
  auto r = post_shopify(gw, acme, "shop/redact", shop_fixture(acme, "shop__redact.json"),
                        "wh-shop-redact-1");
  require_status(r, 200);
  auto events = all_events(gw, acme);
  std::size_t shop_events = 0;
  for (const auto& e : events.items()) {
    if (e["channel"]["name"].str() == "shop") {
      ++shop_events;
      CHECK(e["type"].str() == "privacy.redact");
      CHECK(e["kind"].str() == "shop/redact");
      CHECK(e["privacy"]["erased"]["events"].u64() == 2);
      CHECK(e["privacy"]["erased"]["subjects"].u64() == 2);
      CHECK_FALSE(e["privacy"].has("subject"));
    }
  }
  CHECK(shop_events == 1);
  CHECK(of_type(events, "message").size() == 1);
  CHECK(has_audit(audit(gw), "platform:shop", "shop_redact", ""));
}

TEST_CASE("Meta's data-deletion callback erases the user and reports a status URL",
          "[e2e][privacy][meta]") {
  gateway_process gw(privacy_config());
  auto post_fb = [&](const std::string& psid, const std::string& mid, const std::string& text) {
    const auto body = messenger_text(acme, psid, mid, text);
    auto r = request("POST", gw.base_url() + "/webhooks/acme/fb",
                     signing::messenger(acme.fb_app_secret(), body), body);
    require_status(r, 200);
  };
  post_fb("7000000000000001", "m_one", "delete me RUBY-3");
  post_fb("7000000000000002", "m_two", "keep me JADE-9");
  const auto gone = subject_with(gw, acme, "RUBY-3");
  const auto kept = subject_with(gw, acme, "JADE-9");

  // A forged request: 401, nothing erased, nothing recorded.
  auto forged = data_deletion(gw, "acme", "fb", signed_request("wrong-secret", "7000000000000002"));
  require_error(forged, 401, "bad_signature");
  require_error(data_deletion(gw, "acme", "fb", "not-signed"), 401, "bad_signature");
  require_error(request("POST", gw.base_url() + "/webhooks/acme/fb/data-deletion",
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, "x=1"),
                400, "bad_request");
  CHECK(count_subject(all_events(gw, acme), kept) == 1);

  auto r =
      data_deletion(gw, "acme", "fb", signed_request(acme.fb_app_secret(), "7000000000000001"));
  require_status(r, 200);
  json answer = json::parse(r.body);
  const auto code = answer["confirmation_code"].str();
  CHECK(code.rfind("del_", 0) == 0);
  CHECK(answer["url"].str() == k_public_url + "/v1/deletion-status/" + code);

  auto events = all_events(gw, acme);
  CHECK(count_subject(events, gone) == 0);
  CHECK(count_subject(events, kept) == 1);
  auto receipts = of_type(events, "privacy.redact");
  REQUIRE(receipts.size() == 1);
  CHECK(receipts[0]["kind"].str() == "data_deletion");
  CHECK(receipts[0]["privacy"]["subject"].str() == gone);
  CHECK(receipts[0]["privacy"]["request"].str() == code);

  // The status page: no token, the code is the capability.
  auto status = request("GET", gw.base_url() + "/v1/deletion-status/" + code);
  require_status(status, 200);
  json st = json::parse(status.body);
  CHECK(st["confirmation_code"].str() == code);
  CHECK(st["status"].str() == "completed");
  CHECK_FALSE(st["requested_at"].str().empty());
  CHECK_FALSE(st["completed_at"].str().empty());
  require_error(request("GET", gw.base_url() + "/v1/deletion-status/del_NOSUCHCODE"), 404,
                "not_found");
  CHECK(has_audit(audit(gw), "platform:fb", "deletion_callback", gone));

  // Telegram and Shopify channels have no such callback.
  require_error(data_deletion(gw, "acme", "tg", signed_request("x", "1")), 404, "not_found");
  require_error(data_deletion(gw, "acme", "nope", signed_request("x", "1")), 404,
                "unknown_channel");
}

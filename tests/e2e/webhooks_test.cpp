// End-to-end: platform webhooks into the real binary over real sockets (DESIGN §4, §5).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;

namespace {

const test_tenant acme{"acme", "sbt_e2e_acme_5c0f9e27d1b84a36"};

http_result post(const gateway_process& gw, const std::string& path, const header_list& headers,
                 const std::string& body) {
  return request("POST", gw.base_url() + path, headers, body);
}

/// The contract's error shape: JSON {"error":"<code>","message":"<text>"} with `status`.
void require_error(const http_result& r, long status, const std::string& code) {
  INFO("response " << r.status << " " << r.header("content-type") << ": " << r.body);
  REQUIRE(r.status == status);
  CHECK(r.header("content-type").find("application/json") != std::string::npos);
  json j = json::parse(r.body);
  CHECK(j["error"].str() == code);
  CHECK(j["message"].is_string());
  CHECK_FALSE(j["message"].str().empty());
}

void require_ok(const http_result& r) {
  INFO("response " << r.status << ": " << r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type").find("application/json") != std::string::npos);
  json j = json::parse(r.body);
  CHECK(j["status"].str() == "ok");
}

std::vector<std::string> platform_ids(const json& events) {
  std::vector<std::string> ids;
  for (const auto& e : events.items()) {
    ids.push_back(e["platform_event_id"].str());
  }
  return ids;
}

}  // namespace

TEST_CASE("signed WhatsApp text message is stored normalized and streamed to an open SSE client",
          "[e2e][webhook][whatsapp]") {
  gateway_process gw(test_config({acme}));
  sse_client stream(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  CHECK(stream.content_type().find("text/event-stream") != std::string::npos);

  const std::string wamid = pl::wamid(1);
  const std::string body = pl::wa_text_webhook(wamid, "16505551234", "Sheena Nelson",
                                               "Does it come in another color?", 1749416383);
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), body), body));

  json page = get_events(gw.base_url(), acme.token);
  INFO("events: " << page["events"].size());
  REQUIRE(page["events"].size() == 1);
  const json& e = page["events"][0];
  CHECK(e["type"].str() == "message");
  CHECK(e["tenant"].str() == "acme");
  CHECK(e["conversation"].str() == "wa-main:16505551234");
  CHECK(e["content"]["text"].str() == "Does it come in another color?");
  CHECK(e["platform_event_id"].str() == wamid);
  CHECK(e["channel"]["type"].str() == "whatsapp");
  CHECK(e["channel"]["name"].str() == "wa-main");
  CHECK(e["channel"]["account"].str() == pl::wa_phone_number_id);
  CHECK(e["sender"]["platform_id"].str() == "16505551234");
  CHECK(e["sender"]["name"].str() == "Sheena Nelson");
  CHECK(e["occurred_at"].str() == "2025-06-08T20:59:43Z");
  CHECK(e["id"].str().rfind("evt_", 0) == 0);
  const std::uint64_t seq = e["seq"].u64();
  CHECK(seq >= 1);
  CHECK(page["next"].u64() >= seq);

  REQUIRE(stream.wait_for(1));
  auto frames = stream.frames();
  CHECK(frames[0].id == std::to_string(seq));
  CHECK(frames[0].event == "message");
  json streamed = json::parse(frames[0].data);
  CHECK(streamed["id"].str() == e["id"].str());
  CHECK(streamed["seq"].u64() == seq);
  CHECK(streamed["platform_event_id"].str() == wamid);
  CHECK(streamed["conversation"].str() == "wa-main:16505551234");
  CHECK(streamed["content"]["text"].str() == "Does it come in another color?");
}

TEST_CASE("forged or missing signatures are rejected with 401 and nothing is stored",
          "[e2e][webhook][auth]") {
  gateway_process gw(test_config({acme}));
  const std::string body =
      pl::wa_text_webhook(pl::wamid(2), "16505551234", "Sheena Nelson", "forged?");

  // Signed with a secret that is not the channel's.
  require_error(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp("not-the-app-secret", body), body), 401,
      "bad_signature");
  // Signed correctly, then the body was changed in transit.
  {
    auto headers = signing::whatsapp(acme.wa_app_secret(), body);
    std::string tampered = body;
    tampered.replace(tampered.find("forged?"), 7, "FORGED!");
    require_error(post(gw, "/webhooks/acme/wa-main", headers, tampered), 401, "bad_signature");
  }
  // A header that is not even hex.
  require_error(
      post(gw, "/webhooks/acme/wa-main",
           {{"Content-Type", "application/json"}, {"X-Hub-Signature-256", "sha256=zz"}}, body),
      401, "bad_signature");
  // No signature at all.
  require_error(post(gw, "/webhooks/acme/wa-main", {{"Content-Type", "application/json"}}, body),
                401, "missing_signature");

  // Telegram: the secret token header must equal the channel's secret_token.
  const std::string update =
      R"({"update_id":918273600,"message":{"message_id":17,"from":{"id":7001234567,)"
      R"("is_bot":false,"first_name":"Ana","language_code":"en"},"chat":{"id":7001234567,)"
      R"("first_name":"Ana","type":"private"},"date":1749416383,"text":"hi"}})";
  require_error(post(gw, "/webhooks/acme/tg", signing::telegram("wrong-secret-token"), update), 401,
                "bad_signature");
  require_error(post(gw, "/webhooks/acme/tg", {{"Content-Type", "application/json"}}, update), 401,
                "missing_signature");

  // Shopify: a base64 HMAC under another secret.
  const std::string order = R"({"id":820982911946154508,"name":"#1001","currency":"USD"})";
  require_error(post(gw, "/webhooks/acme/shop",
                     signing::shopify("not-the-client-secret", order, "orders/create",
                                      "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", acme.shop_domain()),
                     order),
                401, "bad_signature");

  // A correctly signed webhook afterwards is the only thing stored.
  const std::string good =
      pl::wa_text_webhook(pl::wamid(3), "16505551234", "Sheena Nelson", "genuine");
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), good), good));
  json page = get_events(gw.base_url(), acme.token);
  CHECK(platform_ids(page["events"]) == std::vector<std::string>{pl::wamid(3)});
}

TEST_CASE("the same webhook delivered three times is answered 200 each time and stored once",
          "[e2e][webhook][dedupe]") {
  gateway_process gw(test_config({acme}));
  const std::string body =
      pl::wa_text_webhook(pl::wamid(4), "16505551234", "Sheena Nelson", "Is it in stock?");
  const auto headers = signing::whatsapp(acme.wa_app_secret(), body);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    INFO("delivery " << attempt);
    auto r = post(gw, "/webhooks/acme/wa-main", headers, body);
    INFO("response " << r.status << ": " << r.body);
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body).is_object());
  }
  json page = get_events(gw.base_url(), acme.token);
  CHECK(platform_ids(page["events"]) == std::vector<std::string>{pl::wamid(4)});

  // A different message after the duplicates is still accepted: dedupe is per message id.
  const std::string next =
      pl::wa_text_webhook(pl::wamid(5), "16505551234", "Sheena Nelson", "Is it in stock?");
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), next), next));
  page = get_events(gw.base_url(), acme.token);
  CHECK(platform_ids(page["events"]) == std::vector<std::string>{pl::wamid(4), pl::wamid(5)});
}

TEST_CASE("webhooks for an unknown tenant or channel get 404 with a JSON error",
          "[e2e][webhook][routing]") {
  gateway_process gw(test_config({acme}));
  const std::string body = pl::wa_text_webhook(pl::wamid(6), "16505551234", "Sheena Nelson", "hi");
  const auto headers = signing::whatsapp(acme.wa_app_secret(), body);
  // One answer for both, so that tenant names cannot be told from channel names (issue 10).
  require_error(post(gw, "/webhooks/initech/wa-main", headers, body), 404, "unknown_channel");
  require_error(post(gw, "/webhooks/acme/wa-backup", headers, body), 404, "unknown_channel");
  CHECK(get_events(gw.base_url(), acme.token)["events"].size() == 0);
}

TEST_CASE("a webhook body over server.max_body_bytes is refused with 413",
          "[e2e][webhook][limits]") {
  test_server server;
  server.max_body_bytes = 4096;
  gateway_process gw(test_config({acme}, server));

  const std::string huge =
      pl::wa_text_webhook(pl::wamid(7), "16505551234", "Sheena Nelson", std::string(12000, 'x'));
  REQUIRE(huge.size() > 3 * 4096);
  require_error(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), huge), huge), 413,
      "body_too_large");

  // The limit does not refuse ordinary webhooks, and nothing of the big one was stored.
  const std::string small =
      pl::wa_text_webhook(pl::wamid(8), "16505551234", "Sheena Nelson", "small one");
  REQUIRE(small.size() < 4096);
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), small), small));
  json page = get_events(gw.base_url(), acme.token);
  CHECK(platform_ids(page["events"]) == std::vector<std::string>{pl::wamid(8)});
}

TEST_CASE("a correctly signed but malformed JSON body gets 400 malformed_body and stores nothing",
          "[e2e][webhook][malformed]") {
  gateway_process gw(test_config({acme}));
  std::string full = pl::wa_text_webhook(pl::wamid(9), "16505551234", "Sheena Nelson", "cut");
  const std::string truncated = full.substr(0, full.size() / 2);
  require_error(post(gw, "/webhooks/acme/wa-main",
                     signing::whatsapp(acme.wa_app_secret(), truncated), truncated),
                400, "malformed_body");

  const std::string not_json = "object=whatsapp_business_account&entry=1";
  require_error(post(gw, "/webhooks/acme/wa-main",
                     signing::whatsapp(acme.wa_app_secret(), not_json), not_json),
                400, "malformed_body");

  const std::string good =
      pl::wa_text_webhook(pl::wamid(10), "16505551234", "Sheena Nelson", "a well-formed one");
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), good), good));
  json page = get_events(gw.base_url(), acme.token);
  CHECK(platform_ids(page["events"]) == std::vector<std::string>{pl::wamid(10)});
}

TEST_CASE("Meta verification handshake echoes the challenge only for the right verify token",
          "[e2e][webhook][handshake]") {
  gateway_process gw(test_config({acme}));
  const std::string base = gw.base_url() + "/webhooks/acme/";

  auto good = request("GET", base + "wa-main?hub.mode=subscribe&hub.verify_token=" +
                                 acme.wa_verify_token() + "&hub.challenge=1158201444");
  INFO("good: " << good.status << " " << good.body);
  CHECK(good.status == 200);
  CHECK(good.body == "1158201444");

  auto messenger = request("GET", base + "fb?hub.mode=subscribe&hub.challenge=CHALLENGE_ACCEPTED" +
                                      "&hub.verify_token=" + acme.fb_verify_token());
  INFO("messenger: " << messenger.status << " " << messenger.body);
  CHECK(messenger.status == 200);
  CHECK(messenger.body == "CHALLENGE_ACCEPTED");

  auto wrong = request("GET", base +
                                  "wa-main?hub.mode=subscribe&hub.verify_token=guess"
                                  "&hub.challenge=1158201444");
  INFO("wrong: " << wrong.status << " " << wrong.body);
  CHECK(wrong.status == 403);
  CHECK(wrong.body.find("1158201444") == std::string::npos);

  // Another channel's token does not open this one.
  auto crossed = request("GET", base + "wa-main?hub.mode=subscribe&hub.verify_token=" +
                                    acme.fb_verify_token() + "&hub.challenge=1158201444");
  INFO("crossed: " << crossed.status << " " << crossed.body);
  CHECK(crossed.status == 403);
}

TEST_CASE("one WhatsApp POST with two entries of messages and statuses stores every event in order",
          "[e2e][webhook][whatsapp][batch]") {
  gateway_process gw(test_config({acme}));
  // Entry 1: two people, three messages (one an image) and a delivery receipt.
  // Entry 2: a third person's message and two more receipts.
  const std::string out1 = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA==";
  const std::string out2 = "wamid.HBgLMTY1MDU1NTk4NzYVAgARGBJGRURDQkEwOTg3NjU0MzIxAA==";
  const std::string body = pl::wa_webhook({
      pl::wa_value({pl::wa_contact("16505551234", "Sheena Nelson"),
                    pl::wa_contact("4915112345678", "Jonas Weber")},
                   {pl::wa_text(pl::wamid(11), "16505551234", "first", 1749416383),
                    pl::wa_image(pl::wamid(12), "4915112345678", "1003383421387256", "Taj Mahal",
                                 1749416384),
                    pl::wa_text(pl::wamid(13), "16505551234", "second", 1749416385)},
                   {pl::wa_status(out1, "delivered", "16505551234", 1749416386)}),
      pl::wa_value({pl::wa_contact("5511987654321", "Ana Souza")},
                   {pl::wa_text(pl::wamid(14), "5511987654321", "olá, tudo bem?", 1749416390)},
                   {pl::wa_status(out1, "read", "16505551234", 1749416391),
                    pl::wa_status(out2, "sent", "5511987654321", 1749416392)}),
  });
  require_ok(
      post(gw, "/webhooks/acme/wa-main", signing::whatsapp(acme.wa_app_secret(), body), body));

  json page = get_events(gw.base_url(), acme.token);
  const json& events = page["events"];
  REQUIRE(events.size() == 7);

  std::uint64_t last_seq = 0;
  std::set<std::string> ids;
  std::vector<std::string> messages;
  std::set<std::pair<std::string, std::string>> statuses;
  std::vector<std::string> sheena;
  for (const auto& e : events.items()) {
    INFO("event seq " << e["seq"].number_text() << " type " << e["type"].str());
    CHECK(e["seq"].u64() > last_seq);
    last_seq = e["seq"].u64();
    ids.insert(e["id"].str());
    CHECK(e["channel"]["type"].str() == "whatsapp");
    if (e["type"].str() == "message") {
      messages.push_back(e["platform_event_id"].str());
      if (e["conversation"].str() == "wa-main:16505551234") {
        sheena.push_back(e["content"]["text"].str());
      }
      if (e["platform_event_id"].str() == pl::wamid(12)) {
        CHECK(e["conversation"].str() == "wa-main:4915112345678");
        CHECK(e["content"]["attachments"][0]["kind"].str() == "image");
        CHECK(e["content"]["attachments"][0]["media_id"].str() == "1003383421387256");
        CHECK(e["content"]["attachments"][0]["caption"].str() == "Taj Mahal");
      }
      if (e["platform_event_id"].str() == pl::wamid(14)) {
        CHECK(e["conversation"].str() == "wa-main:5511987654321");
        CHECK(e["content"]["text"].str() == "olá, tudo bem?");
        CHECK(e["sender"]["name"].str() == "Ana Souza");
      }
    } else {
      CHECK(e["type"].str() == "status");
      statuses.emplace(e["status"]["message_id"].str(), e["status"]["state"].str());
    }
  }
  CHECK(ids.size() == 7);
  std::sort(messages.begin(), messages.end());
  std::vector<std::string> expected{pl::wamid(11), pl::wamid(12), pl::wamid(13), pl::wamid(14)};
  std::sort(expected.begin(), expected.end());
  CHECK(messages == expected);
  CHECK(statuses == std::set<std::pair<std::string, std::string>>{
                        {out1, "delivered"}, {out1, "read"}, {out2, "sent"}});
  // One person's messages keep the order the platform sent them in.
  CHECK(sheena == std::vector<std::string>{"first", "second"});
}

TEST_CASE("Telegram chat ids above 2^53 and Shopify order ids are stored exactly",
          "[e2e][webhook][telegram][shopify]") {
  gateway_process gw(test_config({acme}));

  // A supergroup: chat ids are -100 followed by the channel id, beyond a double's precision.
  const std::string update =
      R"({"update_id":918273645,"message":{"message_id":4412,"from":{"id":7001234567,)"
      R"("is_bot":false,"first_name":"Ana","last_name":"Kowalska","username":"ana_k",)"
      R"("language_code":"pl"},"chat":{"id":-1009007199254740993,"title":"Acme support",)"
      R"("type":"supergroup"},"date":1749416383,"text":"Where is my order #1001?"}})";
  require_ok(post(gw, "/webhooks/acme/tg", signing::telegram(acme.tg_secret_token()), update));

  const std::string order =
      R"({"id":820982911946154508,)"
      R"("admin_graphql_api_id":"gid://shopify/Order/820982911946154508",)"
      R"("app_id":null,"browser_ip":null,"buyer_accepts_marketing":true,)"
      R"("confirmed":false,"contact_email":"jon@example.com",)"
      R"("created_at":"2021-12-31T19:00:00-05:00","currency":"USD",)"
      R"("current_total_price":"254.98","email":"jon@example.com",)"
      R"("financial_status":"voided","name":"#1001","order_number":1001,)"
      R"("presentment_currency":"USD","subtotal_price":"244.98",)"
      R"("total_price":"254.98","total_tax":"0.00",)"
      R"("customer":{"id":115310627314723954,"email":"john@example.com",)"
      R"("first_name":"John","last_name":"Smith","state":"disabled",)"
      R"("currency":"USD"},"line_items":[{"id":866550311766439020,)"
      R"("price":"199.00","product_id":632910392,"quantity":1,)"
      R"("sku":"IPOD2008BLACK","title":"IPod Nano - 8GB",)"
      R"("variant_id":808950810}],"shipping_lines":[{"id":271878346596884015,)"
      R"("price":"10.00","title":"Generic Shipping"}]})";
  const std::string webhook_id = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";
  require_ok(post(gw, "/webhooks/acme/shop",
                  signing::shopify(acme.shop_client_secret(), order, "orders/create", webhook_id,
                                   acme.shop_domain()),
                  order));

  auto r = request("GET", gw.base_url() + "/v1/events?after=0&limit=10", bearer(acme.token));
  REQUIRE(r.status == 200);
  // Exact digits in the raw JSON, wherever a double would have rounded them.
  CHECK(r.body.find("9007199254740993") != std::string::npos);
  CHECK(r.body.find("820982911946154508") != std::string::npos);
  CHECK(r.body.find("9007199254740992") == std::string::npos);
  CHECK(r.body.find("820982911946154496") == std::string::npos);

  json events = json::parse(r.body)["events"];
  REQUIRE(events.size() == 2);
  const json& tg = events[0];
  CHECK(tg["type"].str() == "message");
  CHECK(tg["channel"]["type"].str() == "telegram");
  CHECK(tg["conversation"].str() == "tg:-1009007199254740993");
  CHECK(tg["platform_event_id"].str() == "918273645");
  CHECK(tg["sender"]["platform_id"].str() == "7001234567");
  CHECK(tg["content"]["text"].str() == "Where is my order #1001?");
  CHECK(tg["occurred_at"].str() == "2025-06-08T20:59:43Z");

  const json& shop = events[1];
  CHECK(shop["type"].str() == "order");
  CHECK(shop["channel"]["type"].str() == "shopify");
  CHECK(shop["platform_event_id"].str() == webhook_id);
  CHECK(shop["order"]["id"].is_string());
  CHECK(shop["order"]["id"].str() == "820982911946154508");
  CHECK(shop["order"]["number"].str() == "#1001");
  CHECK(shop["order"]["currency"].str() == "USD");
  CHECK(shop["order"]["total"].str() == "254.98");
  CHECK(shop["conversation"].str() == "shop:115310627314723954");
}

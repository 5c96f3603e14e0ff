// What the quarantine keeps of a request (channel_logic, with the real adapters) and the plain
// parts of its admin API (actors/quarantine_api.hpp): query and id parsing, the JSON answers.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "actors/channel_logic.hpp"
#include "actors/quarantine_api.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"

using namespace sb;

namespace {

const std::string k_master_key(32, 'k');

config::channel_config channel(const std::string& name, const std::string& type,
                               std::map<std::string, std::string> settings) {
  config::channel_config c;
  c.name = name;
  c.type = type;
  c.settings = std::move(settings);
  return c;
}

std::string padded(std::string body) {
  body.reserve(body.size() + 64);
  return body;
}

}  // namespace

TEST_CASE("a quarantined Telegram body keeps no header: the only one is the channel's secret",
          "[actors][quarantine]") {
  const auto* info = adapters::find("telegram");
  REQUIRE(info != nullptr);
  actors::channel_logic logic("acme", channel("tg", "telegram", {{"secret_token", "tg-S3cret"}}),
                              *info, k_master_key);
  std::vector<adapters::header> headers{{"x-telegram-bot-api-secret-token", "tg-S3cret"}};
  std::string body = padded("\x8f random bytes, not JSON");
  auto out = logic.ingest("POST", "", headers, body);
  auto* q = std::get_if<actors::quarantine_body>(&out);
  REQUIRE(q != nullptr);
  CHECK(q->body.body == "\x8f random bytes, not JSON");
  CHECK(q->body.channel == "tg");
  CHECK(q->body.headers.empty());
  CHECK(q->err.code == errc::malformed_body);
}

TEST_CASE("a quarantined Shopify body keeps the headers its parser reads", "[actors][quarantine]") {
  const auto* info = adapters::find("shopify");
  REQUIRE(info != nullptr);
  const std::string secret = "shop-S3cret";
  actors::channel_logic logic(
      "acme",
      channel("shop", "shopify",
              {{"client_secret", secret}, {"shop_domain", "acme.myshopify.com"}}),
      *info, k_master_key);
  const std::string raw = "{\"id\": 820982911946154508, \"truncated";
  std::vector<adapters::header> headers{
      {"x-shopify-hmac-sha256", crypto::base64_encode(crypto::hmac_sha256(secret, raw))},
      {"x-shopify-topic", "orders/create"},
      {"x-shopify-webhook-id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}};
  std::string body = padded(raw);
  auto out = logic.ingest("POST", "", headers, body);
  auto* q = std::get_if<actors::quarantine_body>(&out);
  REQUIRE(q != nullptr);
  REQUIRE(q->body.headers.size() == 3);
  CHECK(q->body.headers[1].name == "x-shopify-topic");
  CHECK(q->body.headers[1].value == "orders/create");
  CHECK(q->body.headers[2].value == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");

  // Re-ingest parses without verifying: a signature that no longer holds (a rotated secret) is
  // not asked for, the kept headers are read as the webhook's were.
  std::vector<adapters::header> kept{{"x-shopify-topic", "orders/create"},
                                     {"x-shopify-webhook-id", "b54557e4"}};
  std::string fixed = padded(test::fixture("shopify/orders__create.json"));
  auto again = logic.reingest(kept, fixed);
  auto* events = std::get_if<actors::store_events>(&again);
  REQUIRE(events != nullptr);
  REQUIRE(events->events.size() == 1);
  CHECK(events->events[0].kind == "orders/create");
  CHECK(events->events[0].platform_event_id == "b54557e4");
  CHECK(events->events[0].tenant == "acme");
  CHECK_FALSE(events->events[0].id.empty());
  // Still broken: the parser's refusal, nothing else.
  std::string broken = padded(raw);
  auto refused = logic.reingest(kept, broken);
  REQUIRE(std::holds_alternative<actors::quarantine_body>(refused));
}

TEST_CASE("quarantine queries: channel, after and limit, clamped, malformed values named",
          "[actors][quarantine]") {
  auto q = actors::parse_quarantine_query("channel=wa%2Dmain&after=12&limit=5000");
  REQUIRE(q.ok());
  CHECK(q->channel == "wa-main");
  CHECK(q->after == 12);
  CHECK(q->limit == 1000);
  auto d = actors::parse_quarantine_query("");
  REQUIRE(d.ok());
  CHECK(d->channel.empty());
  CHECK(d->after == 0);
  CHECK(d->limit == 100);
  for (const char* bad : {"after=-1", "after=x", "limit=0", "limit=", "channel=%zz",
                          "after=99999999999999999999999"}) {
    CAPTURE(bad);
    auto r = actors::parse_quarantine_query(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::bad_request);
  }
  CHECK(actors::parse_quarantine_query("limit=0").err().message.find("'limit'") !=
        std::string::npos);
}

TEST_CASE("a quarantine id is a positive decimal", "[actors][quarantine]") {
  CHECK(actors::parse_quarantine_id({"42"}).value() == 42);
  for (const auto& bad : std::vector<std::vector<std::string>>{{}, {"0"}, {"-3"}, {"4x"}, {""}}) {
    CHECK(actors::parse_quarantine_id(bad).err().code == errc::bad_request);
  }
}

TEST_CASE("the quarantine's JSON answers", "[actors][quarantine]") {
  std::vector<store::quarantine_entry> entries{
      {7, "tg", "expected \"object\"", timestamp::from_millis(1764392400123), 3145728}};
  CHECK(actors::quarantine_list_json(entries, 7, std::nullopt) ==
        R"({"quarantined":[{"id":7,"channel":"tg","reason":"expected \"object\"",)"
        R"("received_at":"2025-11-29T05:00:00.123Z","bytes":3145728}],"next":7})");
  CHECK(actors::quarantine_list_json({}, 3, std::make_pair(std::uint64_t{10}, std::uint64_t{20})) ==
        R"({"quarantined":[],"next":3,"used_bytes":10,"quota_bytes":20})");
  store::quarantined_body b;
  b.id = 9;
  b.channel = "shop";
  b.reason = "bad";
  b.received_at = timestamp::from_millis(1764392400000);
  b.body = "abc";
  b.headers = {{"x-shopify-topic", "orders/create"}};
  CHECK(actors::quarantine_meta_json(b) ==
        R"({"id":9,"channel":"shop","reason":"bad","received_at":"2025-11-29T05:00:00.000Z",)"
        R"("bytes":3,"headers":{"x-shopify-topic":"orders/create"}})");
}

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "adapters/shopify/shopify.hpp"
#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"

using sb::adapters::header;
using sb::adapters::request;

namespace {

const std::string k_secret = "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";

sb::config::channel_config channel() {
  sb::config::channel_config c;
  c.name = "shop";
  c.type = "shopify";
  c.settings = {{"client_secret", k_secret},
                {"shop_domain", "acme-dev.myshopify.com"},
                {"api_version", "2025-01"}};
  return c;
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::shopify::info().make(channel());
}

std::string sign(const std::string& body, const std::string& secret = k_secret) {
  return sb::crypto::base64_encode(sb::crypto::hmac_sha256(secret, body));
}

/// A webhook POST as Shopify sends it and the gateway hands it over (padded body).
struct post {
  std::string body;
  std::vector<header> headers;

  post(std::string b, const std::string& topic) : body(sb::test::padded(std::move(b))) {
    headers = {{"x-shopify-hmac-sha256", sign(body)},
               {"x-shopify-topic", topic},
               {"x-shopify-webhook-id", "b54557e4-8a5f-4bf7-9d70-bcd043f4a1e2"},
               {"x-shopify-shop-domain", "acme-dev.myshopify.com"},
               {"x-shopify-triggered-at", "2024-12-03T15:14:07.123456789Z"},
               {"x-shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5"},
               {"x-shopify-api-version", "2025-01"}};
  }
  void set(const std::string& name, const std::string& value) {
    for (auto& h : headers) {
      if (h.name == name) {
        h.value = value;
        return;
      }
    }
    headers.push_back({name, value});
  }
  void drop(const std::string& name) {
    std::vector<header> kept;
    for (auto& h : headers) {
      if (h.name != name) {
        kept.push_back(h);
      }
    }
    headers = std::move(kept);
  }
  request req() const {
    request r;
    r.method = "POST";
    r.headers = &headers;
    r.body = body;
    return r;
  }
};

/// The fixture for `topic` (tests/fixtures/shopify/<topic with / as __>.json).
post fixture_post(const std::string& topic) {
  std::string file = topic;
  file.replace(file.find('/'), 1, "__");
  return post(sb::test::fixture("shopify/" + file + ".json"), topic);
}

sb::event parse_one(sb::adapters::adapter& a, const post& p) {
  std::vector<sb::event> out;
  auto st = a.parse(p.req(), out);
  INFO(st.err().message);
  REQUIRE(st.ok());
  REQUIRE(out.size() == 1);
  return std::move(out.front());
}

sb::event parse_fixture(const std::string& topic) {
  auto a = make();
  return parse_one(*a, fixture_post(topic));
}

sb::error parse_error(const post& p) {
  auto a = make();
  std::vector<sb::event> out(1);  // a sentinel: a failed parse must leave `out` alone
  out.front().platform_event_id = "sentinel";
  auto st = a->parse(p.req(), out);
  CHECK(out.size() == 1);
  CHECK(out.front().platform_event_id == "sentinel");
  return st.ok() ? sb::error{sb::errc::ok, ""} : st.err();
}

std::string rfc3339(const sb::timestamp& t) {
  return sb::to_rfc3339(t);
}

void check_common(const sb::event& e, const std::string& topic) {
  CHECK(e.channel.name == "shop");
  CHECK(e.channel.type == "shopify");
  CHECK(e.channel.account == "acme-dev.myshopify.com");
  CHECK(e.kind == topic);
  CHECK(e.platform_event_id == "b54557e4-8a5f-4bf7-9d70-bcd043f4a1e2");
  CHECK(e.dedupe_key == "w:b54557e4-8a5f-4bf7-9d70-bcd043f4a1e2");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T15:14:07.123Z");
  CHECK(e.content.empty());
  CHECK_FALSE(e.status);
  CHECK(e.id.empty());
  CHECK(e.subject.empty());
}

}  // namespace

// -- Declaration ---------------------------------------------------------------------------

TEST_CASE("shopify declares its settings, headers and account", "[shopify][adapters]") {
  const auto info = sb::adapters::shopify::info();
  CHECK(info.type == "shopify");
  CHECK(info.schema.type == "shopify");
  REQUIRE(info.schema.settings.size() == 3);
  const auto& secret = info.schema.settings[0];
  CHECK(secret.key == "client_secret");
  CHECK(secret.required);
  CHECK(secret.secret);
  const auto& domain = info.schema.settings[1];
  CHECK(domain.key == "shop_domain");
  CHECK(domain.required);
  CHECK_FALSE(domain.secret);
  const auto& version = info.schema.settings[2];
  CHECK(version.key == "api_version");
  CHECK_FALSE(version.required);
  CHECK(version.default_value == "2025-01");
  for (const auto& s : info.schema.settings) {
    CHECK_FALSE(s.description.empty());
  }
  CHECK(info.headers == std::vector<std::string>{"x-shopify-hmac-sha256", "x-shopify-topic",
                                                 "x-shopify-webhook-id", "x-shopify-shop-domain",
                                                 "x-shopify-triggered-at", "x-shopify-event-id",
                                                 "x-shopify-api-version"});
  CHECK(info.account(channel()) == "acme-dev.myshopify.com");
}

TEST_CASE("shopify channel config needs client_secret and shop_domain", "[shopify][adapters]") {
  const std::string head =
      "storage:\n  master_key: \"" + std::string(64, 'b') +
      "\"\ntenants:\n  - id: acme\n    channels:\n      - name: shop\n        type: shopify\n";
  auto good = sb::config::load_string(
      head + "        client_secret: s3cret\n        shop_domain: acme-dev.myshopify.com\n",
      "s.yaml", sb::adapters::schemas());
  INFO(good.errors.to_string());
  REQUIRE(good.ok());
  CHECK(good.cfg->tenants.at(0).channels.at(0).get("api_version") == "2025-01");

  auto missing = sb::config::load_string(head, "s.yaml", sb::adapters::schemas());
  REQUIRE_FALSE(missing.ok());
  const auto text = missing.errors.to_string();
  CHECK(text.find("client_secret: missing secret") != std::string::npos);
  CHECK(text.find("shop_domain: required") != std::string::npos);
}

// -- Authenticity --------------------------------------------------------------------------

TEST_CASE("shopify accepts a body signed with the client secret", "[shopify][adapters][verify]") {
  auto a = make();
  CHECK(a->verify(fixture_post("orders/create").req()).ok());
}

TEST_CASE("shopify rejects a tampered body", "[shopify][adapters][verify]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  const auto at = p.body.find("254.98");
  REQUIRE(at != std::string::npos);
  p.body.replace(at, 6, "  0.01");
  auto st = a->verify(p.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::bad_signature);
}

TEST_CASE("shopify rejects a signature made with another secret", "[shopify][adapters][verify]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  p.set("x-shopify-hmac-sha256", sign(p.body, "shpss_someone_else"));
  auto st = a->verify(p.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::bad_signature);
}

TEST_CASE("shopify refuses a validly signed webhook of another shop",
          "[shopify][adapters][verify]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  p.set("x-shopify-shop-domain", "globex.myshopify.com");
  auto st = a->verify(p.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::forbidden);
  p.drop("x-shopify-shop-domain");
  CHECK(a->verify(p.req()).ok());
}

TEST_CASE("shopify rejects a missing signature", "[shopify][adapters][verify]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  p.drop("x-shopify-hmac-sha256");
  auto st = a->verify(p.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::missing_signature);
}

TEST_CASE("shopify rejects a signature that is not a base64 HMAC", "[shopify][adapters][verify]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  const auto good = sign(p.body);
  const auto hex = sb::crypto::to_hex(sb::crypto::hmac_sha256(k_secret, p.body));
  for (std::string bad : {std::string("not base64!"), good.substr(0, good.size() - 4),
                          sb::crypto::base64_encode(std::string(16, 'x')), hex, "sha256=" + good}) {
    CAPTURE(bad);
    p.set("x-shopify-hmac-sha256", bad);
    auto st = a->verify(p.req());
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == sb::errc::bad_signature);
  }
}

// -- Topics --------------------------------------------------------------------------------

TEST_CASE("shopify orders/create is an order with exact ids and money",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("orders/create");
  check_common(e, "orders/create");
  CHECK(e.type == "order");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "9007199254740993");  // 2^53 + 1: exact
  CHECK(e.sender->name == "Jon Snow");
  CHECK(e.sender->username.empty());
  CHECK(e.peer == "9007199254740993");
  CHECK(e.subject_source == "9007199254740993");
  CHECK(e.conversation == "shop:9007199254740993");
  REQUIRE(e.order);
  const auto& o = *e.order;
  CHECK(o.id == "820982911946154508");
  CHECK(o.number == "#1001");
  CHECK(o.currency == "USD");
  CHECK(o.total == "254.98");
  CHECK(o.financial_status == "pending");
  REQUIRE(o.items.size() == 2);
  CHECK(o.items[0].sku == "JKT-WIN-M-NVY");
  CHECK(o.items[0].title == "Winter Jacket");
  CHECK(o.items[0].quantity == "1");
  CHECK(o.items[0].price == "199.00");
  CHECK(o.items[0].currency == "USD");
  CHECK(o.items[1].sku.empty());  // "sku": null
  CHECK(o.items[1].title == "Wool Beanie");
  CHECK(o.items[1].quantity == "2");
  CHECK(o.items[1].price == "24.99");
  CHECK(o.items[1].currency == "USD");
}

TEST_CASE("shopify orders/paid is an order with its financial status",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("orders/paid");
  check_common(e, "orders/paid");
  CHECK(e.type == "order");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "7741425221763");
  CHECK(e.sender->name == "Marta Kowalska");
  CHECK(e.conversation == "shop:7741425221763");
  CHECK(e.subject_source == "7741425221763");
  REQUIRE(e.order);
  CHECK(e.order->id == "5940139491234");
  CHECK(e.order->number == "#1002");
  CHECK(e.order->currency == "EUR");
  CHECK(e.order->total == "89.90");
  CHECK(e.order->financial_status == "paid");
  REQUIRE(e.order->items.size() == 1);
  CHECK(e.order->items[0].sku == "TRS-39");
  CHECK(e.order->items[0].title == "Trail Running Shoes");
  CHECK(e.order->items[0].quantity == "1");
  CHECK(e.order->items[0].price == "84.90");
  CHECK(e.order->items[0].currency == "EUR");
}

TEST_CASE("shopify customers/create is a customer event about that customer",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("customers/create");
  check_common(e, "customers/create");
  CHECK(e.type == "customer");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "706405506930370084");
  CHECK(e.sender->name == "Bob Norman");
  CHECK(e.peer == "706405506930370084");
  CHECK(e.conversation == "shop:706405506930370084");
  CHECK(e.subject_source == "706405506930370084");
  CHECK_FALSE(e.order);
}

TEST_CASE("shopify customers/data_request is privacy.data_request for the customer",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("customers/data_request");
  check_common(e, "customers/data_request");
  CHECK(e.type == "privacy.data_request");
  CHECK(e.subject_source == "9007199254740993");  // exact: above 2^53
  REQUIRE(e.privacy);
  CHECK(e.privacy->platform_id == "9007199254740993");
  CHECK(e.privacy->request == "9999");
  // A request to act on, not a conversation: no sender, and e-mail and phone stay out.
  CHECK_FALSE(e.sender);
  CHECK(e.conversation.empty());
  CHECK(e.peer.empty());
  CHECK(e.content.empty());
  CHECK_FALSE(e.order);
  const auto json = sb::to_json(e);
  CHECK(json.find("jon.snow@example.com") == std::string::npos);
  CHECK(json.find("555-625-1199") == std::string::npos);
}

TEST_CASE("shopify customers/redact is privacy.redact for the customer",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("customers/redact");
  check_common(e, "customers/redact");
  CHECK(e.type == "privacy.redact");
  CHECK(e.subject_source == "9007199254740993");
  REQUIRE(e.privacy);
  CHECK(e.privacy->platform_id == "9007199254740993");
  CHECK(e.privacy->request.empty());
  CHECK_FALSE(e.sender);
  CHECK(e.conversation.empty());
  CHECK(e.content.empty());  // orders_to_redact is not echoed
  CHECK_FALSE(e.order);
  const auto json = sb::to_json(e);
  CHECK(json.find("jon.snow@example.com") == std::string::npos);
  CHECK(json.find("555-625-1199") == std::string::npos);
}

TEST_CASE("shopify customers/redact without a customer id names no subject",
          "[shopify][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, post(R"({"shop_id":954889,"shop_domain":"acme-dev.myshopify.com",
      "customer":{"email":"john@example.com"},"orders_to_redact":[299938]})",
                                    "customers/redact"));
  CHECK(e.type == "privacy.redact");
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
  CHECK(e.conversation.empty());
  REQUIRE(e.privacy);
  CHECK(e.privacy->platform_id.empty());
  CHECK(sb::to_json(e).find("john@example.com") == std::string::npos);
}

TEST_CASE("shopify privacy topics are told apart from every other topic", "[shopify][adapters]") {
  using sb::adapters::shopify::privacy_topic;
  using sb::adapters::shopify::privacy_topic_of;
  CHECK(privacy_topic_of("customers/redact") == privacy_topic::customer_redact);
  CHECK(privacy_topic_of("customers/data_request") == privacy_topic::customer_request);
  CHECK(privacy_topic_of("shop/redact") == privacy_topic::shop_redact);
  for (const char* other : {"customers/create", "customers/update", "orders/create", "shop/update",
                            "app/uninstalled", "", "customers/redact/"}) {
    CHECK(privacy_topic_of(other) == privacy_topic::none);
  }
}

TEST_CASE("shopify shop/redact is privacy.redact about no one person",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("shop/redact");
  check_common(e, "shop/redact");
  CHECK(e.type == "privacy.redact");
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
  CHECK(e.peer.empty());
  CHECK(e.conversation.empty());
  REQUIRE(e.privacy);
  CHECK(e.privacy->platform_id.empty());
}

TEST_CASE("shopify refuses any signed body of another topic under a privacy topic",
          "[shopify][adapters][parse][privacy]") {
  // The attack: Shopify signs only the body, so a captured webhook of any topic could be posted
  // again with X-Shopify-Topic: shop/redact. Only the documented body of each topic passes.
  const std::vector<std::string> topics{"orders/create",    "orders/paid",
                                        "customers/create", "products/update",
                                        "customers/redact", "customers/data_request",
                                        "shop/redact"};
  for (const char* privacy : {"customers/redact", "customers/data_request", "shop/redact"}) {
    for (const auto& topic : topics) {
      if (topic == privacy) {
        continue;
      }
      CAPTURE(privacy, topic);
      auto p = fixture_post(topic);
      p.set("x-shopify-topic", privacy);
      auto a = make();
      REQUIRE(a->verify(p.req()).ok());  // genuinely signed
      const auto err = parse_error(p);
      CHECK(err.code == sb::errc::bad_request);
      CHECK(err.message.find(std::string("not a ") + privacy + " request") != std::string::npos);
      CHECK(err.message.find("nothing was done or kept") != std::string::npos);
    }
  }
}

TEST_CASE("shopify privacy requests must hold exactly their documented members and types",
          "[shopify][adapters][parse][privacy]") {
  const std::string shop = R"("shop_id":954889,"shop_domain":"acme-dev.myshopify.com")";
  const std::string customer = R"("customer":{"id":191167,"email":"j@example.com","phone":null})";
  struct sample {
    const char* topic;
    std::string body;
    const char* problem;  // nullptr: accepted
  };
  const std::vector<sample> samples{
      // Accepted: exactly the documented members; customer members may be null or absent.
      {"customers/redact", "{" + shop + "," + customer + R"(,"orders_to_redact":[1,2]})", nullptr},
      {"customers/redact",
       "{" + shop + R"(,"customer":{"email":"j@example.com"},)" + R"("orders_to_redact":[]})",
       nullptr},
      {"customers/data_request",
       "{" + shop + "," + customer + R"(,"orders_requested":[1],"data_request":{"id":9999}})",
       nullptr},
      {"shop/redact", "{" + shop + "}", nullptr},
      // Refused.
      {"shop/redact", "{" + shop + R"(,"id":73014919402})", "unexpected member \"id\""},
      {"shop/redact", R"({"shop_domain":"acme-dev.myshopify.com"})", "\"shop_id\" is missing"},
      {"shop/redact", R"({"shop_id":"954889","shop_domain":"acme-dev.myshopify.com"})",
       "\"shop_id\" must be an integer"},
      {"shop/redact", R"({"shop_id":954889,"shop_domain":7})", "\"shop_domain\" must be a string"},
      {"shop/redact", "{" + shop + R"(,"shop_id":954889})", "\"shop_id\" appears twice"},
      {"customers/redact", "{" + shop + "," + customer + "}", "\"orders_to_redact\" is missing"},
      {"customers/redact", "{" + shop + "," + customer + R"(,"orders_to_redact":[1,"2"]})",
       "\"orders_to_redact\" must be an array of integers"},
      {"customers/redact", "{" + shop + "," + customer + R"(,"orders_to_redact":null})",
       "\"orders_to_redact\" must be an array of integers"},
      {"customers/redact", "{" + shop + R"(,"customer":{"id":"191167"},"orders_to_redact":[]})",
       "\"customer.id\" must be an integer"},
      {"customers/redact",
       "{" + shop + R"(,"customer":{"id":1,"first_name":"Jon"},"orders_to_redact":[]})",
       "unexpected member \"customer.first_name\""},
      {"customers/redact", "{" + shop + R"(,"customer":{"phone":"555"},"orders_to_redact":[]})",
       "names nobody"},
      {"customers/redact", "{" + shop + R"(,"customer":[],"orders_to_redact":[]})",
       "\"customer\" must be an object"},
      {"customers/redact", "{" + shop + "," + customer + R"(,"orders_requested":[]})",
       "unexpected member \"orders_requested\""},
      {"customers/data_request",
       "{" + shop + "," + customer + R"(,"orders_requested":[],"data_request":{"id":"x"}})",
       "\"data_request.id\" must be an integer"},
      {"customers/data_request",
       "{" + shop + "," + customer +
           R"(,"orders_requested":[],"data_request":{"id":1,"status":"new"}})",
       "exactly the member \"id\""},
      {"customers/data_request",
       "{" + shop + "," + customer + R"(,"orders_to_redact":[],"data_request":{"id":1}})",
       "unexpected member \"orders_to_redact\""},
  };
  for (const auto& smp : samples) {
    CAPTURE(smp.topic, smp.body);
    if (smp.problem == nullptr) {
      auto a = make();
      CHECK(parse_one(*a, post(smp.body, smp.topic)).kind == smp.topic);
    } else {
      const auto err = parse_error(post(smp.body, smp.topic));
      CHECK(err.code == sb::errc::bad_request);
      CHECK(err.message.find(smp.problem) != std::string::npos);
    }
  }
}

TEST_CASE("shopify privacy requests naming another shop in the body are forbidden",
          "[shopify][adapters][parse][privacy]") {
  // The body is what Shopify signs; the shop-domain header is not signed and may be left out.
  for (const char* topic : {"customers/redact", "customers/data_request", "shop/redact"}) {
    CAPTURE(topic);
    auto p = fixture_post(topic);
    const auto at = p.body.find("acme-dev.myshopify.com");
    REQUIRE(at != std::string::npos);
    p.body.replace(at, 22, "globex.myshopify.com");
    p.set("x-shopify-hmac-sha256", sign(p.body));
    p.drop("x-shopify-shop-domain");
    auto a = make();
    REQUIRE(a->verify(p.req()).ok());
    const auto err = parse_error(p);
    CHECK(err.code == sb::errc::forbidden);
    CHECK(err.message.find("another shop") != std::string::npos);
  }
}

TEST_CASE("shopify products/update is commerce with the topic as kind",
          "[shopify][adapters][parse]") {
  const auto e = parse_fixture("products/update");
  check_common(e, "products/update");
  CHECK(e.type == "commerce");
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
  CHECK(e.conversation.empty());
  CHECK_FALSE(e.order);
}

TEST_CASE("shopify topics without a model are commerce, never dropped",
          "[shopify][adapters][parse]") {
  auto a = make();
  auto app = parse_one(*a, post(R"({"id":73014919402,"name":"Acme Dev",
      "email":"owner@example.com","domain":"acme.example",
      "myshopify_domain":"acme-dev.myshopify.com","updated_at":"2024-12-06T10:00:00-05:00"})",
                                "app/uninstalled"));
  CHECK(app.type == "commerce");
  CHECK(app.kind == "app/uninstalled");
  // orders/edited carries an order_edit, not an Order: still kept, as commerce.
  auto edited = parse_one(*a, post(R"({"order_edit":{"id":78912328,"app_id":null,
      "created_at":"2024-12-06T10:00:00-05:00","notify_customer":false,
      "order_id":820982911946154508,"staff_note":"","user_id":null,
      "line_items":{"additions":[],"removals":[]}}})",
                                   "orders/edited"));
  CHECK(edited.type == "commerce");
  CHECK(edited.kind == "orders/edited");
  CHECK_FALSE(edited.order);
}

TEST_CASE("shopify orders/delete is an order known by its id only", "[shopify][adapters][parse]") {
  auto a = make();
  auto e = parse_one(*a, post(R"({"id":820982911946154508})", "orders/delete"));
  CHECK(e.type == "order");
  REQUIRE(e.order);
  CHECK(e.order->id == "820982911946154508");
  CHECK(e.order->number.empty());
  CHECK(e.order->items.empty());
  CHECK_FALSE(e.sender);
  CHECK(e.conversation.empty());
}

// -- Identity and time ---------------------------------------------------------------------

TEST_CASE("shopify dedupe falls back from webhook id to event id to content",
          "[shopify][adapters][parse]") {
  auto a = make();
  auto p = fixture_post("shop/redact");
  p.drop("x-shopify-webhook-id");
  auto by_event = parse_one(*a, p);
  CHECK(by_event.platform_event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5");
  CHECK(by_event.dedupe_key == "e:shop/redact:98880550-7158-44d4-b7cd-2c97c8a091b5");

  p.drop("x-shopify-event-id");
  auto by_content = parse_one(*a, p);
  CHECK(by_content.platform_event_id.empty());
  const auto expected =
      "h:" + sb::crypto::to_hex(sb::crypto::sha256("shop/redact\n" +
                                                   sb::test::fixture("shopify/shop__redact.json")));
  CHECK(by_content.dedupe_key == expected);
  CHECK(parse_one(*a, p).dedupe_key == expected);  // a retry dedupes

  p.set("x-shopify-topic", "customers/redact");
  p.body =
      sb::test::padded(R"({"shop_id":1,"shop_domain":"acme-dev.myshopify.com","customer":{"id":2},)"
                       R"("orders_to_redact":[]})");
  auto other = parse_one(*a, p);
  CHECK(other.dedupe_key != expected);
}

TEST_CASE("shopify occurred_at falls back to the body's updated_at then created_at",
          "[shopify][adapters][parse]") {
  auto a = make();
  auto p = fixture_post("orders/create");
  p.drop("x-shopify-triggered-at");
  CHECK(rfc3339(parse_one(*a, p).occurred_at) == "2024-12-03T15:14:06Z");  // -05:00 → UTC
  p.set("x-shopify-triggered-at", "yesterday");
  CHECK(rfc3339(parse_one(*a, p).occurred_at) == "2024-12-03T15:14:06Z");

  auto created_only = post(R"({"id":1,"created_at":"2024-12-01T08:00:00+01:00"})", "orders/create");
  created_only.drop("x-shopify-triggered-at");
  CHECK(rfc3339(parse_one(*a, created_only).occurred_at) == "2024-12-01T07:00:00Z");

  auto no_time = post(R"({"shop_id":1,"shop_domain":"acme-dev.myshopify.com"})", "shop/redact");
  no_time.drop("x-shopify-triggered-at");
  CHECK(parse_one(*a, no_time).occurred_at.empty());
}

TEST_CASE("shopify ids above 2^53 and up to uint64 survive exactly", "[shopify][adapters][parse]") {
  auto a = make();
  auto e = parse_one(*a, post(R"({"id":18446744073709551615,"name":"#1","currency":"USD",
      "total_price":"1.00","customer":{"id":9007199254740993,"first_name":"Ada","last_name":null},
      "line_items":[{"id":9007199254740995,"sku":"A","title":"T","quantity":3,"price":"0.33"}]})",
                              "orders/updated"));
  REQUIRE(e.order);
  CHECK(e.order->id == "18446744073709551615");
  CHECK(e.sender->platform_id == "9007199254740993");
  CHECK(e.sender->name == "Ada");
  REQUIRE(e.order->items.size() == 1);
  CHECK(e.order->items[0].quantity == "3");
  CHECK(e.order->items[0].currency == "USD");  // no price_set: the order's currency
}

// -- Malformed -----------------------------------------------------------------------------

TEST_CASE("shopify request without a topic is malformed", "[shopify][adapters][parse]") {
  auto p = fixture_post("orders/create");
  p.drop("x-shopify-topic");
  const auto err = parse_error(p);
  CHECK(err.code == sb::errc::malformed_body);
  CHECK(err.message.find("X-Shopify-Topic") != std::string::npos);
}

TEST_CASE("shopify body that is not JSON is malformed", "[shopify][adapters][parse]") {
  CHECK(parse_error(post(R"({"update_id":1,"x":[1,2,})", "orders/create")).code ==
        sb::errc::malformed_body);
  CHECK(parse_error(post(R"({"id":1,"name":"#1")", "orders/create")).code ==
        sb::errc::malformed_body);
  CHECK(parse_error(post("", "shop/redact")).code == sb::errc::malformed_body);
}

TEST_CASE("shopify body of the wrong shape is malformed", "[shopify][adapters][parse]") {
  struct bad_case {
    const char* topic;
    const char* body;
  };
  for (const auto& c : {
           bad_case{"orders/create", R"([{"id":1}])"},
           bad_case{"orders/create", R"("order")"},
           bad_case{"orders/create", R"({"id":1.5})"},
           bad_case{"orders/create", R"({"id":"820982911946154508"})"},
           bad_case{"orders/create", R"({"id":1,"total_price":254.98})"},
           bad_case{"orders/create", R"({"id":1,"line_items":{}})"},
           bad_case{"orders/create", R"({"id":1,"line_items":[1]})"},
           bad_case{"orders/create", R"({"id":1,"line_items":[{"quantity":"2"}]})"},
           bad_case{"orders/create", R"({"id":1,"customer":{"id":true}})"},
           bad_case{"orders/create", R"({"id":1,"customer":"jon"})"},
           bad_case{"customers/create", R"({"id":1,"first_name":7})"},
       }) {
    CAPTURE(c.topic, c.body);
    CHECK(parse_error(post(c.body, c.topic)).code == sb::errc::malformed_body);
  }
  // A privacy topic's body of the wrong shape is not a privacy request at all: refused, never
  // kept ("shopify privacy requests must hold exactly their documented members and types").
  for (const auto& c : {
           bad_case{"customers/redact", R"({"shop_id":1,"orders_to_redact":[1]})"},
           bad_case{"customers/data_request", R"({"shop_id":1,"customer":{"id":-0.5}})"},
       }) {
    CAPTURE(c.topic, c.body);
    CHECK(parse_error(post(c.body, c.topic)).code == sb::errc::bad_request);
  }
}

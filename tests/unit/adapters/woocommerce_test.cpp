#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/woocommerce/woocommerce.hpp"
#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::adapters::header;
using sb::test::webhook_request;

namespace {

const std::string k_secret = "wc-webhook-secret-7Yq2pL9x";
const std::map<std::string, std::string> k_settings{{"secret", k_secret},
                                                    {"store_url", "https://Shop.Example.com"}};

sb::config::channel_config channel() {
  return sb::test::make_channel("woo", "woocommerce", k_settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::woocommerce::info().make(channel());
}

/// A delivery of `body` as WooCommerce signs it for topic `topic` (`delivery` = its delivery id,
/// "" = one derived from the body).
webhook_request post(const std::string& body, const std::string& topic,
                     const std::string& delivery = "") {
  webhook_request w;
  sb::config::channel_config cfg = channel();
  sb::adapters::signing_input in;
  in.body = body;
  in.kind = topic;
  in.delivery_id = delivery;
  w.headers = sb::adapters::woocommerce::info().sign(cfg, in);
  w.body = sb::test::padded(body);
  return w;
}

/// The fixture tests/fixtures/woocommerce/<name>.json, signed as the topic its name starts with.
webhook_request fixture_post(const std::string& name) {
  return sb::test::signed_post("woocommerce", k_settings,
                               sb::test::fixture("woocommerce/" + name + ".json"), name + ".json");
}

void set(webhook_request& w, const std::string& name, const std::string& value) {
  for (auto& h : w.headers) {
    if (h.name == name) {
      h.value = value;
      return;
    }
  }
  w.headers.push_back({name, value});
}

void drop(webhook_request& w, const std::string& name) {
  std::vector<header> kept;
  for (auto& h : w.headers) {
    if (h.name != name) {
      kept.push_back(h);
    }
  }
  w.headers = std::move(kept);
}

sb::errc verify_code(const webhook_request& w) {
  auto st = make()->verify(w.req());
  return st.ok() ? sb::errc::ok : st.err().code;
}

sb::event parse_one(const webhook_request& w) {
  auto a = make();
  auto verified = a->verify(w.req());
  INFO(verified.err().message);
  REQUIRE(verified.ok());
  std::vector<sb::event> out;
  auto st = a->parse(w.req(), out);
  INFO(st.err().message);
  REQUIRE(st.ok());
  REQUIRE(out.size() == 1);
  return std::move(out.front());
}

sb::error parse_error(const webhook_request& w) {
  auto a = make();
  std::vector<sb::event> out(1);  // a sentinel: a failed parse must leave `out` alone
  out.front().platform_event_id = "sentinel";
  auto st = a->parse(w.req(), out);
  CHECK(out.size() == 1);
  CHECK(out.front().platform_event_id == "sentinel");
  return st.ok() ? sb::error{sb::errc::ok, ""} : st.err();
}

std::string header_of(const webhook_request& w, const std::string& name) {
  for (const auto& h : w.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return {};
}

void check_common(const sb::event& e, const webhook_request& w, const std::string& kind) {
  CHECK(e.channel.name == "woo");
  CHECK(e.channel.type == "woocommerce");
  CHECK(e.channel.account == "shop.example.com");
  CHECK(e.kind == kind);
  const auto delivery = header_of(w, "x-wc-webhook-delivery-id");
  REQUIRE(delivery.size() == 32);
  CHECK(e.platform_event_id == delivery);
  CHECK(e.dedupe_key ==
        "d:" + delivery + ":" + sb::crypto::to_hex(sb::crypto::sha256(std::string(w.req().body))));
  CHECK(e.id.empty());
  CHECK(e.subject.empty());
  CHECK_FALSE(e.status);
}

}  // namespace

// -- Declaration ---------------------------------------------------------------------------

TEST_CASE("woocommerce declares its settings, headers, account and quarantine answer",
          "[woocommerce][adapters]") {
  const auto info = sb::adapters::woocommerce::info();
  CHECK(info.type == "woocommerce");
  CHECK(info.display_name == "WooCommerce");
  REQUIRE(info.schema.settings.size() == 2);
  CHECK(info.schema.settings[0].key == "secret");
  CHECK(info.schema.settings[0].required);
  CHECK(info.schema.settings[0].secret);
  CHECK(info.schema.settings[1].key == "store_url");
  CHECK(info.schema.settings[1].required);
  CHECK_FALSE(info.schema.settings[1].secret);
  CHECK(info.headers == std::vector<std::string>{"x-wc-webhook-signature", "x-wc-webhook-source",
                                                 "x-wc-webhook-topic", "x-wc-webhook-resource",
                                                 "x-wc-webhook-event", "x-wc-webhook-id",
                                                 "x-wc-webhook-delivery-id"});
  CHECK(info.account(channel()) == "shop.example.com");
  CHECK(info.ok_when_quarantined);
  CHECK(info.outbound == nullptr);                // receive only
  CHECK(info.privacy.request_action == nullptr);  // deletions are reported, never acted on
}

TEST_CASE("woocommerce account is the store's lower-case host", "[woocommerce][adapters]") {
  using sb::adapters::woocommerce::host_of;
  CHECK(host_of("https://shop.example.com") == "shop.example.com");
  CHECK(host_of("https://Shop.Example.COM/") == "shop.example.com");
  CHECK(host_of("http://shop.example.com:8443/store/") == "shop.example.com");
  CHECK(host_of("https://admin:pw@shop.example.com/x") == "shop.example.com");
  CHECK(host_of("https://[2001:db8::1]:8080/") == "[2001:db8::1]");
}

TEST_CASE("woocommerce channel config needs secret and an http(s) store_url",
          "[woocommerce][adapters]") {
  const std::string head =
      "storage:\n  master_key: \"" + std::string(64, 'b') +
      "\"\ntenants:\n  - id: acme\n    channels:\n      - name: woo\n        type: woocommerce\n";
  auto good = sb::config::load_string(
      head + "        secret: s3cret\n        store_url: https://shop.example.com/\n", "w.yaml",
      sb::adapters::schemas());
  INFO(good.errors.to_string());
  CHECK(good.ok());

  auto missing = sb::config::load_string(head, "w.yaml", sb::adapters::schemas());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.errors.to_string().find("secret: missing secret") != std::string::npos);
  CHECK(missing.errors.to_string().find("store_url: required") != std::string::npos);

  for (const char* bad : {"shop.example.com", "https://", "https://shop.example.com/?a=1"}) {
    CAPTURE(bad);
    auto r = sb::config::load_string(
        head + "        secret: s3cret\n        store_url: \"" + bad + "\"\n", "w.yaml",
        sb::adapters::schemas());
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.to_string().find("store_url: must") != std::string::npos);
  }
}

// -- Authenticity --------------------------------------------------------------------------

TEST_CASE("woocommerce accepts a body signed with the webhook secret",
          "[woocommerce][adapters][verify]") {
  auto w = fixture_post("order.created");
  CHECK(header_of(w, "x-wc-webhook-signature") ==
        sb::crypto::base64_encode(sb::crypto::hmac_sha256(k_secret, w.body)));
  CHECK(verify_code(w) == sb::errc::ok);
}

TEST_CASE("woocommerce rejects tampered, foreign, malformed and missing signatures",
          "[woocommerce][adapters][verify]") {
  auto tampered = fixture_post("order.created");
  const auto at = tampered.body.find("29.35");
  REQUIRE(at != std::string::npos);
  tampered.body.replace(at, 5, " 0.01");
  CHECK(verify_code(tampered) == sb::errc::bad_signature);

  auto foreign = fixture_post("order.created");
  set(foreign, "x-wc-webhook-signature",
      sb::crypto::base64_encode(sb::crypto::hmac_sha256("someone-else", foreign.body)));
  CHECK(verify_code(foreign) == sb::errc::bad_signature);

  auto w = fixture_post("order.created");
  const auto good = header_of(w, "x-wc-webhook-signature");
  const auto hex = sb::crypto::to_hex(sb::crypto::hmac_sha256(k_secret, w.body));
  for (std::string bad : {std::string("not base64!"), good.substr(0, good.size() - 4),
                          sb::crypto::base64_encode(std::string(16, 'x')), hex, "sha256=" + good}) {
    CAPTURE(bad);
    set(w, "x-wc-webhook-signature", bad);
    CHECK(verify_code(w) == sb::errc::bad_signature);
  }

  auto missing = fixture_post("order.created");
  drop(missing, "x-wc-webhook-signature");
  CHECK(verify_code(missing) == sb::errc::missing_signature);
}

TEST_CASE("woocommerce refuses a validly signed delivery of another store",
          "[woocommerce][adapters][verify]") {
  auto w = fixture_post("order.created");
  CHECK(header_of(w, "x-wc-webhook-source") == "https://Shop.Example.com/");
  // With or without the trailing slash the store's home URL is the same.
  set(w, "x-wc-webhook-source", "https://Shop.Example.com");
  CHECK(verify_code(w) == sb::errc::ok);
  for (const char* other : {"https://other-shop.example.com/", "https://Shop.Example.com/blog/",
                            "http://evil.test/", "https://Shop.Example.com//"}) {
    CAPTURE(other);
    set(w, "x-wc-webhook-source", other);
    auto st = make()->verify(w.req());
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == sb::errc::forbidden);
    CHECK(st.err().message.find("store_url") != std::string::npos);
  }
  drop(w, "x-wc-webhook-source");
  auto st = make()->verify(w.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::forbidden);
  CHECK(st.err().message.find("X-WC-Webhook-Source") != std::string::npos);
}

TEST_CASE("woocommerce store_url with a trailing slash accepts the source without one",
          "[woocommerce][adapters][verify]") {
  auto settings = k_settings;
  settings["store_url"] = "https://Shop.Example.com/";
  auto a = sb::adapters::woocommerce::info().make(
      sb::test::make_channel("woo", "woocommerce", settings));
  auto w = fixture_post("order.created");
  CHECK(a->verify(w.req()).ok());
  set(w, "x-wc-webhook-source", "https://Shop.Example.com");
  CHECK(a->verify(w.req()).ok());
}

// -- The creation ping ---------------------------------------------------------------------

TEST_CASE("woocommerce answers exactly the unsigned creation ping, and nothing else",
          "[woocommerce][adapters][setup]") {
  auto a = make();
  for (const char* ping : {"webhook_id=12", "webhook_id=0", "webhook_id=12345678901234567890"}) {
    CAPTURE(ping);
    webhook_request w;
    w.body = sb::test::padded(ping);
    for (bool verified : {false, true}) {
      auto reply = a->setup_request(w.req(), verified);
      REQUIRE(reply);
      CHECK(reply->content_type == "application/json");
      CHECK(reply->body == R"({"status":"ok"})");
    }
  }
  for (const char* not_ping :
       {"webhook_id=12&x=1", "webhook_id=", "webhook_id=123456789012345678901", "webhook_id=1a",
        "webhook_id=-1", "webhook_id= 12", "webhook_id=12\n", "Webhook_id=12", "x=1&webhook_id=12",
        "", R"({"webhook_id":12})", "webhook_id=12 "}) {
    CAPTURE(not_ping);
    webhook_request w;
    w.body = sb::test::padded(not_ping);
    CHECK_FALSE(a->setup_request(w.req(), false));
    CHECK_FALSE(a->setup_request(w.req(), true));
  }
  // An ordinary signed webhook is not a setup request.
  auto order = fixture_post("order.created");
  CHECK_FALSE(a->setup_request(order.req(), true));
}

// -- Dedupe --------------------------------------------------------------------------------

TEST_CASE("woocommerce dedupe key tells apart two bodies of one delivery id",
          "[woocommerce][adapters][parse]") {
  // WooCommerce derives the delivery id from the webhook id and the current second.
  const std::string id = "0a6a0c6ad7a2a7e4d5b6e0a8e4c1f3b2";
  const auto first = parse_one(
      post(R"({"id":1,"date_created_gmt":"2024-12-03T15:14:05"})", "product.updated", id));
  const auto again = parse_one(
      post(R"({"id":1,"date_created_gmt":"2024-12-03T15:14:05"})", "product.updated", id));
  const auto other = parse_one(
      post(R"({"id":2,"date_created_gmt":"2024-12-03T15:14:05"})", "product.updated", id));
  CHECK(first.platform_event_id == id);
  CHECK(other.platform_event_id == id);
  CHECK(first.dedupe_key == again.dedupe_key);
  CHECK(first.dedupe_key != other.dedupe_key);
  CHECK(first.dedupe_key.rfind("d:" + id + ":", 0) == 0);
}

TEST_CASE("woocommerce without a delivery id dedupes on topic and body",
          "[woocommerce][adapters][parse]") {
  const std::string body = R"({"id":794})";
  auto w = post(body, "product.updated");
  drop(w, "x-wc-webhook-delivery-id");
  const auto e = parse_one(w);
  CHECK(e.platform_event_id.empty());
  CHECK(e.dedupe_key == "h:" + sb::crypto::to_hex(sb::crypto::sha256("product.updated\n" + body)));
  auto other_topic = post(body, "product.created");
  drop(other_topic, "x-wc-webhook-delivery-id");
  CHECK(parse_one(other_topic).dedupe_key != e.dedupe_key);
}

// -- Topics --------------------------------------------------------------------------------

TEST_CASE("woocommerce order.created of a customer is an order with exact money",
          "[woocommerce][adapters][parse]") {
  const auto w = fixture_post("order.created");
  const auto e = parse_one(w);
  check_common(e, w, "created");
  CHECK(e.type == "order");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "26");
  CHECK(e.sender->name == "John Doe");
  CHECK(e.peer == "26");
  CHECK(e.subject_source == "26");
  CHECK(e.conversation == "woo:26");
  CHECK(e.content.text == "Please leave the parcel at the back door.");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-03T15:14:07Z");
  REQUIRE(e.order);
  const auto& o = *e.order;
  CHECK(o.id == "727");
  CHECK(o.number == "727");
  CHECK(o.currency == "USD");
  CHECK(o.total == "29.35");
  CHECK(o.financial_status == "processing");
  REQUIRE(o.items.size() == 2);
  CHECK(o.items[0].sku == "WOO-SINGLE-1");
  CHECK(o.items[0].title == "Woo Single #1");
  CHECK(o.items[0].quantity == "2");
  CHECK(o.items[0].price == "3");
  CHECK(o.items[0].currency == "USD");
  CHECK(o.items[1].sku == "SYI-BLACK-M");
  CHECK(o.items[1].title == "Ship Your Idea &ndash; Color: Black, Size: M Test");
  CHECK(o.items[1].quantity == "1");
  CHECK(o.items[1].price == "11.99");
  CHECK(o.items[1].currency == "USD");
}

TEST_CASE("woocommerce money given as numbers keeps the JSON's exact text",
          "[woocommerce][adapters][parse]") {
  const auto e = parse_one(
      post(R"({"id":9,"customer_id":3,"currency":"EUR","total": 20.50 ,"line_items":[)"
           R"({"name":"A","quantity":1,"price":10.50 },{"name":"B","quantity":3,"price":"1.10"},)"
           R"({"name":"C","quantity":1,"price":0.1000000000000000055511151231257827},)"
           R"({"name":"D","quantity":1,"price":1e2},{"name":"E","quantity":1,"price":10}]})",
           "order.created"));
  REQUIRE(e.order);
  CHECK(e.order->total == "20.50");
  REQUIRE(e.order->items.size() == 5);
  CHECK(e.order->items[0].price == "10.50");
  CHECK(e.order->items[1].price == "1.10");
  CHECK(e.order->items[2].price == "0.1000000000000000055511151231257827");
  CHECK(e.order->items[3].price == "1e2");
  CHECK(e.order->items[4].price == "10");
  for (const auto& i : e.order->items) {
    CHECK(i.currency == "EUR");
  }
}

TEST_CASE("woocommerce guest order derives its subject from the billing e-mail",
          "[woocommerce][adapters][parse]") {
  const auto w = fixture_post("order.created.guest");
  CHECK(header_of(w, "x-wc-webhook-topic") == "order.created");
  const auto e = parse_one(w);
  check_common(e, w, "created");
  CHECK(e.type == "order");
  // Never customer 0: the lower-case billing e-mail names the guest.
  CHECK(e.subject_source == "email:marie.dupont@example.fr");
  CHECK(e.peer == "email:marie.dupont@example.fr");
  CHECK(e.conversation == "woo:email:marie.dupont@example.fr");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "email:marie.dupont@example.fr");
  CHECK(e.sender->name == "Marie Dupont");
  CHECK(e.content.text.empty());
  REQUIRE(e.order);
  CHECK(e.order->id == "731");
  CHECK(e.order->currency == "EUR");
  CHECK(e.order->total == "24.80");
  CHECK(e.order->financial_status == "on-hold");
  REQUIRE(e.order->items.size() == 1);
  CHECK(e.order->items[0].price == "19.9");
  CHECK(e.order->items[0].currency == "EUR");
}

TEST_CASE("woocommerce guest order without an e-mail has no subject",
          "[woocommerce][adapters][parse]") {
  for (const char* body :
       {R"({"id":5,"customer_id":0,"billing":{"first_name":"A","email":""}})",
        R"({"id":5,"customer_id":0})", R"({"id":5,"billing":{"first_name":"A"}})"}) {
    CAPTURE(body);
    const auto e = parse_one(post(body, "order.created"));
    CHECK(e.type == "order");
    CHECK(e.subject_source.empty());
    CHECK(e.peer.empty());
    CHECK(e.conversation.empty());
    CHECK_FALSE(e.sender);
  }
}

TEST_CASE("woocommerce order.updated carries the new status", "[woocommerce][adapters][parse]") {
  const auto w = fixture_post("order.updated");
  const auto e = parse_one(w);
  check_common(e, w, "updated");
  CHECK(e.type == "order");
  CHECK(e.subject_source == "26");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-05T17:30:41Z");
  REQUIRE(e.order);
  CHECK(e.order->financial_status == "completed");
  CHECK(e.order->total == "29.35");
}

TEST_CASE("woocommerce order.deleted is reported with the order id only and no subject",
          "[woocommerce][adapters][parse][privacy]") {
  const auto w = fixture_post("order.deleted");
  const auto e = parse_one(w);
  check_common(e, w, "deleted");
  CHECK(e.type == "order");
  REQUIRE(e.order);
  CHECK(e.order->id == "727");
  CHECK(e.order->items.empty());
  // An order id names no person: it must not derive a subject that a customer id could share.
  CHECK(e.subject_source.empty());
  CHECK_FALSE(e.sender);
  CHECK(e.conversation.empty());
}

TEST_CASE("woocommerce customer.created is a customer event about that customer",
          "[woocommerce][adapters][parse]") {
  const auto w = fixture_post("customer.created");
  const auto e = parse_one(w);
  check_common(e, w, "created");
  CHECK(e.type == "customer");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "26");
  CHECK(e.sender->name == "John Doe");
  CHECK(e.peer == "26");
  CHECK(e.subject_source == "26");
  CHECK(e.conversation == "woo:26");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-01T18:20:46Z");
  CHECK_FALSE(e.order);
}

TEST_CASE("woocommerce customer.deleted is a customer event of kind deleted, not an erasure",
          "[woocommerce][adapters][parse][privacy]") {
  const auto w = fixture_post("customer.deleted");
  const auto e = parse_one(w);
  check_common(e, w, "deleted");
  CHECK(e.type == "customer");  // never privacy.redact: the topic header is not signed
  CHECK_FALSE(e.privacy);
  CHECK(e.subject_source == "26");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "26");
  CHECK(e.conversation == "woo:26");
  CHECK(e.occurred_at.empty());
}

TEST_CASE("woocommerce product.updated and other topics are commerce of their event",
          "[woocommerce][adapters][parse]") {
  const auto w = fixture_post("product.updated");
  const auto e = parse_one(w);
  check_common(e, w, "updated");
  CHECK(e.type == "commerce");
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-02T12:45:13Z");

  for (const char* topic : {"coupon.created", "product.deleted", "product.restored",
                            "action.woocommerce_add_to_cart"}) {
    CAPTURE(topic);
    const std::string t = topic;
    const auto c = parse_one(post(R"({"id":12})", topic));
    CHECK(c.type == "commerce");
    CHECK(c.kind == t.substr(t.find('.') + 1));
  }
}

TEST_CASE("woocommerce order.restored is an order event of kind restored",
          "[woocommerce][adapters][parse]") {
  const auto e =
      parse_one(post(sb::test::fixture("woocommerce/order.updated.json"), "order.restored"));
  CHECK(e.type == "order");
  CHECK(e.kind == "restored");
  CHECK(e.subject_source == "26");
}

TEST_CASE("woocommerce reads the event from its header, else from the topic",
          "[woocommerce][adapters][parse]") {
  auto w = post(R"({"id":26,"first_name":"John"})", "customer.updated");
  drop(w, "x-wc-webhook-event");
  drop(w, "x-wc-webhook-resource");
  auto e = parse_one(w);
  CHECK(e.type == "customer");
  CHECK(e.kind == "updated");
  drop(w, "x-wc-webhook-topic");
  set(w, "x-wc-webhook-resource", "customer");
  set(w, "x-wc-webhook-event", "created");
  e = parse_one(w);
  CHECK(e.type == "customer");
  CHECK(e.kind == "created");
}

// -- Malformed -----------------------------------------------------------------------------

TEST_CASE("woocommerce names what is wrong with a body it cannot read",
          "[woocommerce][adapters][parse]") {
  struct sample {
    std::string body;
    std::string topic;
    std::string says;
  };
  const std::vector<sample> samples{
      {"not json", "order.created", "not valid JSON"},
      {"[1,2]", "order.created", "must be a JSON object"},
      {R"({"number":"7"})", "order.created", R"(missing "id")"},
      {R"({"id":"7"})", "order.created", R"("id" must be an integer)"},
      {R"({"id":7,"total":true})", "order.created", R"("total" must be a decimal string)"},
      {R"({"id":7,"line_items":[1]})", "order.created", R"("line_items" must be an object)"},
      {R"({"id":7,"billing":"x"})", "order.created", R"("billing" must be an object)"},
      {R"({})", "customer.deleted", R"(missing "id")"},
      {R"({"id":7,"customer_id":"3"})", "order.created", R"("customer_id" must be an integer)"},
  };
  for (const auto& s : samples) {
    CAPTURE(s.body, s.topic);
    const auto err = parse_error(post(s.body, s.topic));
    CHECK(err.code == sb::errc::malformed_body);
    CHECK(err.message.find("WooCommerce webhook") != std::string::npos);
    CHECK(err.message.find(s.says) != std::string::npos);
  }
  auto no_topic = post(R"({"id":1})", "order.created");
  for (const char* h : {"x-wc-webhook-topic", "x-wc-webhook-resource", "x-wc-webhook-event"}) {
    drop(no_topic, h);
  }
  const auto err = parse_error(no_topic);
  CHECK(err.code == sb::errc::malformed_body);
  CHECK(err.message.find("X-WC-Webhook-Topic") != std::string::npos);
}

// -- Signing and the load tester -------------------------------------------------------------

TEST_CASE("woocommerce sign sends the headers WooCommerce sends", "[woocommerce][adapters]") {
  const auto info = sb::adapters::woocommerce::info();
  sb::adapters::signing_input in;
  in.body = R"({"id":1})";
  const auto h = info.sign(channel(), in);
  REQUIRE(h.size() == 7);
  CHECK(h[0].name == "x-wc-webhook-signature");
  CHECK(h[1].value == "https://Shop.Example.com/");
  CHECK(h[2].value == "order.created");  // the default topic
  CHECK(h[3].value == "order");
  CHECK(h[4].value == "created");
  CHECK(h[6].name == "x-wc-webhook-delivery-id");
  in.kind = "customer.deleted";
  in.delivery_id = "abc";
  const auto d = info.sign(channel(), in);
  CHECK(d[2].value == "customer.deleted");
  CHECK(d[3].value == "customer");
  CHECK(d[4].value == "deleted");
  CHECK(d[6].value == "abc");
  // A fixture's variant label after a second dot is not part of the topic.
  in.kind = "order.created.guest";
  CHECK(info.sign(channel(), in)[2].value == "order.created");
}

TEST_CASE("woocommerce synthetic webhooks verify, parse and differ per run and request",
          "[woocommerce][adapters]") {
  const auto info = sb::adapters::woocommerce::info();
  sb::adapters::synthetic_spec spec;
  spec.account = "shop.example.com";
  spec.person = 4;
  spec.run = 31;
  spec.n = 7;
  spec.text = "where is my parcel.";
  const auto w = info.synthesize(spec);
  CHECK(w.kind == "order.created");
  REQUIRE(w.platform_ids.size() == 1);
  CHECK(w.platform_ids[0] == w.delivery_id);

  auto req = post(w.body, w.kind, w.delivery_id);
  const auto e = parse_one(req);
  CHECK(e.type == "order");
  CHECK(e.platform_event_id == w.delivery_id);
  CHECK(e.subject_source == "5");  // person + 1: never the guest's 0
  CHECK(e.content.text == "where is my parcel.");
  REQUIRE(e.order);

  auto next = spec;
  next.n = 8;
  auto other_run = spec;
  other_run.run = 32;
  const auto w2 = info.synthesize(next);
  const auto w3 = info.synthesize(other_run);
  CHECK(w2.delivery_id != w.delivery_id);
  CHECK(w3.delivery_id != w.delivery_id);
  CHECK(parse_one(post(w2.body, w2.kind, w2.delivery_id)).order->id != e.order->id);
  CHECK(parse_one(post(w3.body, w3.kind, w3.delivery_id)).order->id != e.order->id);
}

#include "adapters/shopify/shopify.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::adapters::shopify {

namespace {

namespace dom = simdjson::dom;

constexpr const char* k_hmac_header = "x-shopify-hmac-sha256";
constexpr const char* k_webhook_id_header = "x-shopify-webhook-id";
constexpr const char* k_shop_domain_header = "x-shopify-shop-domain";
constexpr const char* k_triggered_at_header = "x-shopify-triggered-at";
constexpr const char* k_event_id_header = "x-shopify-event-id";
constexpr const char* k_api_version_header = "x-shopify-api-version";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// Builds the one event of a Shopify webhook body.
class body_reader {
 public:
  body_reader(const channel_ref& channel, event& e) : channel_(channel), e_(e) {}

  shape_reader& reader() { return r_; }

  /// A customer as sender, peer and subject.
  void customer(dom::object c) {
    auto id = r_.id(c, "id");
    if (id.empty()) {
      return;  // customers/redact may identify the customer by e-mail only
    }
    sender_info s;
    s.platform_id = id;
    s.name = join_name(r_.string(c, "first_name"), r_.string(c, "last_name"));
    e_.sender = std::move(s);
    e_.subject_source = id;
    e_.peer = id;
    e_.conversation = channel_.name + ":" + id;
  }

  /// A privacy request: who it is about (the customer id, as the subject source), never the
  /// contact details the payload also gives.
  void privacy_request(dom::object body, privacy_topic topic) {
    e_.type = topic == privacy_topic::customer_request ? event_type::privacy_data_request
                                                       : event_type::privacy_redact;
    e_.privacy.emplace();
    if (topic == privacy_topic::shop_redact) {
      return;  // the whole shop: no one person
    }
    auto c = r_.object(body, "customer");
    r_.require(c.has_value(), "customer");
    if (c) {
      // customers/redact may identify the customer by e-mail only: then no subject matches.
      const auto id = r_.id(*c, "id");
      e_.subject_source = id;
      e_.privacy->platform_id = id;
    }
    if (topic == privacy_topic::customer_request) {
      if (auto req = r_.object(body, "data_request")) {
        e_.privacy->request = r_.id(*req, "id");
      }
    }
  }

  void order(dom::object o) {
    order_info info;
    info.id = r_.id(o, "id");
    if (info.id.empty()) {
      // orders/edited, orders/risk_assessment_changed …: not an Order resource at the top.
      e_.type = event_type::commerce;
      return;
    }
    e_.type = event_type::order;
    info.number = r_.string(o, "name");
    info.currency = r_.string(o, "currency");
    info.total = r_.string(o, "total_price");
    info.financial_status = r_.string(o, "financial_status");
    if (auto items = r_.array(o, "line_items")) {
      for (auto el : *items) {
        dom::object li;
        if (el.get_object().get(li) != simdjson::SUCCESS) {
          r_.wrong_type("line_items", "an array of objects");
          break;
        }
        info.items.push_back(item(li, info.currency));
      }
    }
    e_.order = std::move(info);
    if (auto c = r_.object(o, "customer")) {
      customer(*c);
    }
  }

  /// When the body says when it changed: updated_at, else created_at.
  timestamp body_time(dom::object o) {
    for (const char* key : {"updated_at", "created_at"}) {
      if (auto t = parse_rfc3339(r_.string(o, key))) {
        return *t;
      }
    }
    return {};
  }

 private:
  order_item item(dom::object li, const std::string& order_currency) {
    order_item i;
    i.sku = r_.string(li, "sku");
    i.title = r_.string(li, "title");
    i.quantity = r_.id(li, "quantity");
    i.price = r_.string(li, "price");
    // The shop's currency of the price; the order's currency when price_set is absent.
    if (auto set = r_.object(li, "price_set")) {
      if (auto shop = r_.object(*set, "shop_money")) {
        i.currency = r_.string(*shop, "currency_code");
      }
    }
    if (i.currency.empty()) {
      i.currency = order_currency;
    }
    return i;
  }

  const channel_ref& channel_;
  event& e_;
  shape_reader r_;
};

class shopify_adapter final : public adapter {
 public:
  explicit shopify_adapter(const config::channel_config& cfg)
      : client_secret_(cfg.get("client_secret")) {
    channel_.name = cfg.name;
    channel_.type = "shopify";
    channel_.account = cfg.get("shop_domain");
  }

  status verify(const request& req) const override {
    const auto given = req.header_value(k_hmac_header);
    if (given.empty()) {
      return {errc::missing_signature, "missing X-Shopify-Hmac-Sha256 header"};
    }
    const auto decoded = crypto::base64_decode(given);
    if (!decoded || decoded->size() != 32) {
      return {errc::bad_signature, "X-Shopify-Hmac-Sha256 is not a base64 HMAC-SHA256"};
    }
    const auto expected = crypto::hmac_sha256(client_secret_, req.body);
    const std::string_view expected_bytes{reinterpret_cast<const char*>(expected.data()),
                                          expected.size()};
    if (!crypto::constant_time_equal(*decoded, expected_bytes)) {
      return {errc::bad_signature,
              "X-Shopify-Hmac-Sha256 does not match the body signed with the channel's "
              "client_secret"};
    }
    // One app secret signs every shop's webhooks: a validly signed webhook of another shop is
    // misrouted, not ours to store.
    const auto shop = req.header_value(k_shop_domain_header);
    if (!shop.empty() && shop != channel_.account) {
      return {errc::forbidden,
              "X-Shopify-Shop-Domain names another shop than this channel's "
              "shop_domain"};
    }
    return {};
  }

  status parse(const request& req, std::vector<event>& out) override {
    const auto topic = req.header_value(k_topic_header);
    if (topic.empty()) {
      return malformed("missing X-Shopify-Topic header: the body cannot be interpreted without it");
    }
    auto root = parse_body(parser_, req);
    if (!root) {
      return malformed(root.err().message);
    }
    dom::object body;
    if (root->get_object().get(body) != simdjson::SUCCESS) {
      return malformed("the body of topic " + std::string(topic) + " must be a JSON object");
    }

    event e;
    e.channel = channel_;
    e.kind = std::string(topic);
    identify(req, topic, e);
    body_reader b(channel_, e);
    if (auto t = parse_rfc3339(req.header_value(k_triggered_at_header))) {
      e.occurred_at = *t;
    } else {
      e.occurred_at = b.body_time(body);
    }

    if (starts_with(topic, "orders/")) {
      b.order(body);
    } else if (const auto p = privacy_topic_of(topic); p != privacy_topic::none) {
      b.privacy_request(body, p);
    } else if (starts_with(topic, "customers/")) {
      e.type = event_type::customer;
      b.customer(body);
    } else {
      e.type = event_type::commerce;
    }
    if (!b.reader().ok()) {
      return malformed(std::string(topic) + ": " + b.reader().problem());
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  /// platform_event_id and dedupe_key: the delivery's webhook id, which Shopify keeps across
  /// retries; else the event id (per topic: one event may trigger several topics); else the
  /// content itself.
  static void identify(const request& req, std::string_view topic, event& e) {
    if (const auto webhook_id = req.header_value(k_webhook_id_header); !webhook_id.empty()) {
      e.platform_event_id = std::string(webhook_id);
      e.dedupe_key = "w:" + e.platform_event_id;
    } else if (const auto event_id = req.header_value(k_event_id_header); !event_id.empty()) {
      e.platform_event_id = std::string(event_id);
      e.dedupe_key = "e:" + std::string(topic) + ":" + e.platform_event_id;
    } else {
      std::string material(topic);
      material += '\n';
      material += req.body;
      e.dedupe_key = "h:" + crypto::to_hex(crypto::sha256(material));
    }
  }

  static status malformed(std::string why) {
    return {errc::malformed_body, "Shopify webhook: " + std::move(why)};
  }

  channel_ref channel_;
  std::string client_secret_;
  dom::parser parser_;  // reused: its buffers grow to the largest body seen
};

}  // namespace

privacy_topic privacy_topic_of(std::string_view topic) noexcept {
  if (topic == "customers/redact") {
    return privacy_topic::customer_redact;
  }
  if (topic == "customers/data_request") {
    return privacy_topic::customer_request;
  }
  if (topic == "shop/redact") {
    return privacy_topic::shop_redact;
  }
  return privacy_topic::none;
}

adapter_info info() {
  adapter_info i;
  i.type = "shopify";
  i.schema.type = "shopify";
  i.schema.settings = {
      {"client_secret", true, true, "",
       "The app's client secret (API secret key): verifies X-Shopify-Hmac-Sha256."},
      {"shop_domain", true, false, "",
       "The shop's myshopify.com domain, e.g. example.myshopify.com (channel.account)."},
      {"api_version", false, false, "2025-01", "Admin API version for outbound calls."},
  };
  i.headers = {k_hmac_header,         k_topic_header,    k_webhook_id_header, k_shop_domain_header,
               k_triggered_at_header, k_event_id_header, k_api_version_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<shopify_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return cfg.get("shop_domain"); };
  return i;
}

}  // namespace sb::adapters::shopify

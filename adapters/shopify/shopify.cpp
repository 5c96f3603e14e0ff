#include "adapters/shopify/shopify.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"
#include "adapters/signed_time.hpp"

#include <algorithm>
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

// -- the privacy topics' bodies ---------------------------------------------------------------
//
// Shopify signs the body only: the topic is an unsigned header. A privacy request is therefore
// accepted only with exactly the members Shopify documents for its topic (shopify.dev, "Privacy
// law compliance"), so no signed body of another topic (an order, a product, another privacy
// request) passes as one:
//   customers/redact:       shop_id, shop_domain, customer {id, email, phone}, orders_to_redact
//   customers/data_request: shop_id, shop_domain, customer {id, email, phone}, orders_requested,
//                           data_request {id}
//   shop/redact:            shop_id, shop_domain
// Every top-level member must be present, once, of its type (ids are integers, orders an array
// of integers). Inside `customer`, members may be absent or null (a customer without a phone,
// one known by e-mail only) but nothing else may appear, and `id` or `email` must name someone.

enum class member_kind { integer, text, integer_array, customer, data_request };

struct member_rule {
  std::string_view key;
  member_kind kind;
};

const std::vector<member_rule>& rules_of(privacy_topic topic) {
  static const std::vector<member_rule> customer_redact{
      {"shop_id", member_kind::integer},
      {"shop_domain", member_kind::text},
      {"customer", member_kind::customer},
      {"orders_to_redact", member_kind::integer_array}};
  static const std::vector<member_rule> customer_request{
      {"shop_id", member_kind::integer},
      {"shop_domain", member_kind::text},
      {"customer", member_kind::customer},
      {"orders_requested", member_kind::integer_array},
      {"data_request", member_kind::data_request}};
  static const std::vector<member_rule> shop_redact{{"shop_id", member_kind::integer},
                                                    {"shop_domain", member_kind::text}};
  switch (topic) {
    case privacy_topic::customer_redact:
      return customer_redact;
    case privacy_topic::customer_request:
      return customer_request;
    case privacy_topic::shop_redact:
    case privacy_topic::none:
      break;
  }
  return shop_redact;
}

bool is_integer(dom::element el) {
  return el.is_int64() || el.is_uint64();
}

std::string quoted(std::string_view key) {
  std::string out("\"");
  out.append(key).push_back('"');
  return out;
}

/// Why `el` is not a `customer` {id, email, phone}; "" when it is one.
std::string customer_problem(dom::element el) {
  dom::object c;
  if (el.get_object().get(c) != simdjson::SUCCESS) {
    return "member \"customer\" must be an object";
  }
  bool named = false;
  std::vector<std::string_view> seen;
  for (dom::key_value_pair field : c) {
    const auto key = field.key;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return "member \"customer." + std::string(key) + "\" appears twice";
    }
    seen.push_back(key);
    const bool null = field.value.is_null();
    if (key == "id") {
      if (!null && !is_integer(field.value)) {
        return "member \"customer.id\" must be an integer";
      }
      named = named || !null;
    } else if (key == "email" || key == "phone") {
      if (!null && !field.value.is_string()) {
        return "member \"customer." + std::string(key) + "\" must be a string";
      }
      named = named || (key == "email" && !null);
    } else {
      return "unexpected member \"customer." + std::string(key) + "\"";
    }
  }
  if (!named) {
    return "member \"customer\" names nobody (neither \"id\" nor \"email\")";
  }
  return {};
}

/// Why `el` is not of `kind`; "" when it is.
std::string member_problem(std::string_view key, member_kind kind, dom::element el) {
  switch (kind) {
    case member_kind::integer:
      return is_integer(el) ? std::string() : "member " + quoted(key) + " must be an integer";
    case member_kind::text:
      return el.is_string() ? std::string() : "member " + quoted(key) + " must be a string";
    case member_kind::integer_array: {
      dom::array a;
      if (el.get_array().get(a) != simdjson::SUCCESS) {
        return "member " + quoted(key) + " must be an array of integers";
      }
      for (auto item : a) {
        if (!is_integer(item)) {
          return "member " + quoted(key) + " must be an array of integers";
        }
      }
      return {};
    }
    case member_kind::customer:
      return customer_problem(el);
    case member_kind::data_request: {
      dom::object o;
      if (el.get_object().get(o) != simdjson::SUCCESS || o.size() != 1) {
        return "member \"data_request\" must be an object with exactly the member \"id\"";
      }
      dom::element id;
      if (o.at_key("id").get(id) != simdjson::SUCCESS || !is_integer(id)) {
        return "member \"data_request.id\" must be an integer";
      }
      return {};
    }
  }
  return {};
}

/// Checks that `body` is exactly a request of privacy topic `topic` (see above) for the shop
/// `shop_domain`: `errc::bad_request` naming the first problem, `errc::forbidden` when the body's
/// `shop_domain` is another shop's.
status check_privacy_request(dom::object body, std::string_view topic_name, privacy_topic topic,
                             std::string_view shop_domain) {
  const auto& rules = rules_of(topic);
  std::vector<bool> present(rules.size(), false);
  std::string problem;
  std::string_view body_shop;
  for (dom::key_value_pair field : body) {
    auto rule = std::find_if(rules.begin(), rules.end(),
                             [&](const member_rule& r) { return r.key == field.key; });
    if (rule == rules.end()) {
      problem = "unexpected member " + quoted(field.key);
      break;
    }
    const auto i = static_cast<std::size_t>(rule - rules.begin());
    if (present[i]) {
      problem = "member " + quoted(field.key) + " appears twice";
      break;
    }
    present[i] = true;
    problem = member_problem(rule->key, rule->kind, field.value);
    if (!problem.empty()) {
      break;
    }
    if (rule->key == "shop_domain" && field.value.get_string().get(body_shop)) {
      body_shop = {};  // a string: checked above
    }
  }
  for (std::size_t i = 0; problem.empty() && i < rules.size(); ++i) {
    if (!present[i]) {
      problem = "member " + quoted(rules[i].key) + " is missing";
    }
  }
  if (!problem.empty()) {
    return {errc::bad_request,
            "Shopify " + std::string(topic_name) + ": the body is not a " +
                std::string(topic_name) + " request (" + problem +
                "); a privacy topic is accepted only with exactly its documented members, so "
                "nothing was done or kept"};
  }
  if (body_shop != shop_domain) {
    return {errc::forbidden, "Shopify " + std::string(topic_name) +
                                 ": the body's shop_domain names another shop than this "
                                 "channel's shop_domain; nothing was done or kept"};
  }
  return {};
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
    e_.conversation = conversation_key::format(channel_.name, id);
  }

  /// A privacy request: who it is about (the customer id, as the subject source), never the
  /// contact details the payload also gives. The body has passed `check_privacy_request`.
  void privacy_request(dom::object body, privacy_topic topic) {
    e_.type = topic == privacy_topic::customer_request ? event_type::privacy_data_request
                                                       : event_type::privacy_redact;
    e_.privacy.emplace();
    if (topic == privacy_topic::shop_redact) {
      return;  // the whole shop: no one person
    }
    if (auto c = r_.object(body, "customer")) {
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
    if (!same_digest(*decoded, expected)) {
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
      if (auto st = check_privacy_request(body, topic, p, channel_.account); !st) {
        return st;
      }
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

namespace {

/// A webhook id shaped like Shopify's UUIDs, from a digest's hex.
std::string uuid_of(const std::string& hex) {
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  std::vector<header> h{{k_hmac_header, crypto::base64_encode(crypto::hmac_sha256(
                                            cfg.get("client_secret"), in.body))},
                        {k_topic_header, std::string(in.kind)},
                        {k_webhook_id_header, in.delivery_id.empty()
                                                  ? uuid_of(crypto::to_hex(crypto::sha256(in.body)))
                                                  : std::string(in.delivery_id)},
                        {k_shop_domain_header, cfg.get("shop_domain")}};
  if (!in.sent_at.empty()) {
    h.push_back({k_triggered_at_header, std::string(in.sent_at)});
  }
  h.push_back({k_api_version_header, "2024-10"});
  return h;
}

privacy_action request_action(std::string_view topic) {
  switch (privacy_topic_of(topic)) {
    case privacy_topic::customer_redact:
      return privacy_action::erase_person;
    case privacy_topic::customer_request:
      return privacy_action::export_person;
    case privacy_topic::shop_redact:
      return privacy_action::erase_channel;
    case privacy_topic::none:
      break;
  }
  return privacy_action::none;
}

/// The load tester's webhook: an orders/create of one customer.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  const auto uid = std::to_string(spec.run) + "x" + std::to_string(spec.n);
  w.kind = "orders/create";
  w.delivery_id = uuid_of(crypto::to_hex(crypto::sha256("lt" + uid)));
  w.platform_ids.push_back(w.delivery_id);
  const auto order_id = std::to_string(820982911946154508ULL + spec.run * 100000000ULL + spec.n);
  w.body = R"({"id":)" + order_id + R"(,"name":"#)" + std::to_string(1000 + spec.n) +
           R"(","currency":"USD","total_price":"254.98","financial_status":"paid",)"
           R"("created_at":"2024-12-03T10:14:05-05:00","note":")" +
           spec.text + R"(","customer":{"id":)" + std::to_string(7000000000ULL + spec.person) +
           R"(,"email":"buyer)" + std::to_string(spec.person) +
           R"(@example.com","first_name":"Load","last_name":"Tester"}})";
  return w;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "shopify";
  i.display_name = "Shopify";
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
  i.sign = sign;
  // The three mandatory privacy webhooks: requests to act on (docs/privacy.md).
  i.privacy.request_header = k_topic_header;
  i.privacy.request_action = request_action;
  i.synthesize = synthesize;
  return i;
}

}  // namespace sb::adapters::shopify

#include "adapters/woocommerce/woocommerce.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/json_reader.hpp"
#include "adapters/signed_time.hpp"
#include "core/crypto.hpp"

namespace sb::adapters::woocommerce {

namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

constexpr const char* k_signature_header = "x-wc-webhook-signature";
constexpr const char* k_source_header = "x-wc-webhook-source";
constexpr const char* k_topic_header = "x-wc-webhook-topic";
constexpr const char* k_resource_header = "x-wc-webhook-resource";
constexpr const char* k_event_header = "x-wc-webhook-event";
constexpr const char* k_webhook_id_header = "x-wc-webhook-id";
constexpr const char* k_delivery_id_header = "x-wc-webhook-delivery-id";

constexpr std::string_view k_ping_prefix = "webhook_id=";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// `url` without one trailing slash: WooCommerce sends home_url('/'), operators write the store
/// URL with or without it.
std::string_view without_trailing_slash(std::string_view url) {
  if (!url.empty() && url.back() == '/') {
    url.remove_suffix(1);
  }
  return url;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// A UTC time WooCommerce writes without a zone ("2017-03-22T19:28:02").
std::optional<timestamp> gmt_time(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return parse_rfc3339(text + "Z");
}

/// The JSON's own text of the numbers among an order's money (`total`, `line_items[].price`):
/// the DOM keeps a number only as a double, which would turn 10.50 into 10.5. Read with
/// simdjson's On Demand API from the raw body, only when a money member is a non-integer number.
struct raw_money {
  std::string total;
  std::vector<std::string> prices;  ///< per line item, "" where `price` is not a number
};

/// A number's token without the white space On Demand may leave after it.
std::string number_token(ondemand::value v) {
  std::string_view token = v.raw_json_token();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())) != 0) {
    token.remove_suffix(1);
  }
  return std::string(token);
}

bool is_number(ondemand::value v) {
  ondemand::json_type t;
  return v.type().get(t) == simdjson::SUCCESS && t == ondemand::json_type::number;
}

/// The prices of a `line_items` array, in order; nullopt when it cannot be read.
std::optional<std::vector<std::string>> raw_prices(ondemand::value items) {
  ondemand::array a;
  if (items.get_array().get(a) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::vector<std::string> prices;
  for (auto item : a) {
    ondemand::object li;
    if (item.get_object().get(li) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    std::string price;
    bool seen = false;
    for (auto field : li) {
      std::string_view key;
      ondemand::value v;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
          field.value().get(v) != simdjson::SUCCESS) {
        return std::nullopt;
      }
      if (key == "price" && !seen) {  // the DOM reads a duplicate's first value: so do we
        seen = true;
        if (is_number(v)) {
          price = number_token(v);
        }
      }
    }
    prices.push_back(std::move(price));
  }
  return prices;
}

std::optional<raw_money> read_raw_money(ondemand::parser& parser, std::string_view body) {
  // The body has simdjson's padding past its end (`request::body`).
  ondemand::document doc;
  ondemand::object root;
  if (parser.iterate(body.data(), body.size(), body.size() + simdjson::SIMDJSON_PADDING).get(doc) !=
          simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  raw_money out;
  bool total_seen = false;
  bool items_seen = false;
  for (auto field : root) {
    std::string_view key;
    ondemand::value v;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(v) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    if (key == "total" && !total_seen) {
      total_seen = true;
      if (is_number(v)) {
        out.total = number_token(v);
      }
    } else if (key == "line_items" && !items_seen) {
      items_seen = true;
      auto prices = raw_prices(v);
      if (!prices) {
        return std::nullopt;
      }
      out.prices = std::move(*prices);
    }
  }
  return out;
}

/// Builds the one event of a WooCommerce webhook body.
class body_reader {
 public:
  body_reader(const channel_ref& channel, event& e, ondemand::parser& raw_parser,
              std::string_view body)
      : channel_(channel), e_(e), raw_parser_(raw_parser), body_(body) {}

  shape_reader& reader() { return r_; }

  /// The person the event is about: sender, peer, subject source and conversation.
  void person(std::string id, std::string name) {
    if (id.empty()) {
      return;
    }
    sender_info s;
    s.platform_id = id;
    s.name = std::move(name);
    e_.sender = std::move(s);
    e_.subject_source = id;
    e_.peer = id;
    e_.conversation = conversation_key::format(channel_.name, id);
  }

  void order(dom::object o) {
    order_info info;
    info.id = required_id(o);
    info.number = r_.string(o, "number");
    info.currency = r_.string(o, "currency");
    info.total = money(o, "total", [](raw_money& raw) { return raw.total; });
    info.financial_status = r_.string(o, "status");
    if (auto items = r_.array(o, "line_items")) {
      std::size_t index = 0;
      for (auto el : *items) {
        auto li = r_.as_object(el, "line_items");
        if (!li) {
          break;
        }
        info.items.push_back(item(*li, index++, info.currency));
      }
    }
    e_.order = std::move(info);
    e_.content.text = r_.string(o, "customer_note");

    auto billing = r_.object(o, "billing");
    std::string name;
    std::string email;
    if (billing) {
      name = join_name(r_.string(*billing, "first_name"), r_.string(*billing, "last_name"));
      email = r_.string(*billing, "email");
    }
    const auto customer = r_.id(o, "customer_id");
    if (!customer.empty() && customer != "0") {
      person(customer, std::move(name));
    } else if (!email.empty()) {
      // A guest: the address is the only thing that names the person across orders.
      person("email:" + lower(email), std::move(name));
    }
  }

  void customer(dom::object c) {
    const auto id = required_id(c);
    person(id == "0" ? std::string() : id,
           join_name(r_.string(c, "first_name"), r_.string(c, "last_name")));
  }

  /// A `*.deleted` body: only the id (see the header: a deletion is reported, never acted on).
  std::string deleted_id(dom::object o) { return required_id(o); }

  /// When the body says the resource changed: date_modified_gmt, else date_created_gmt.
  timestamp body_time(dom::object o) {
    for (const char* key : {"date_modified_gmt", "date_created_gmt"}) {
      if (auto t = gmt_time(r_.string(o, key))) {
        return *t;
      }
    }
    return {};
  }

 private:
  std::string required_id(dom::object o) {
    auto id = r_.id(o, "id");
    r_.require(!id.empty(), "\"id\"");
    return id;
  }

  order_item item(dom::object li, std::size_t index, const std::string& order_currency) {
    order_item i;
    i.sku = r_.string(li, "sku");
    i.title = r_.string(li, "name");
    i.quantity = r_.id(li, "quantity");
    i.price = money(li, "price", [index](raw_money& raw) {
      return index < raw.prices.size() ? raw.prices[index] : std::string();
    });
    i.currency = order_currency;
    return i;
  }

  /// A money member as exact decimal text: a string as is ("29.35"), a number as the JSON's own
  /// text (`raw_money`, taken by `pick`).
  template <class Pick>
  std::string money(dom::object o, std::string_view key, Pick pick) {
    auto el = member(o, key);
    if (!el) {
      return {};
    }
    std::string_view s;
    if (el->get_string().get(s) == simdjson::SUCCESS) {
      return std::string(s);
    }
    if (auto i = integer_text(*el)) {
      return std::move(*i);
    }
    if (el->type() != dom::element_type::DOUBLE) {
      r_.wrong_type(key, "a decimal string or a number");
      return {};
    }
    if (!raw_) {
      raw_ = read_raw_money(raw_parser_, body_);
    }
    auto text = raw_ ? pick(*raw_) : std::string();
    if (text.empty()) {
      r_.fail("cannot read the exact text of the number \"" + std::string(key) + "\"");
    }
    return text;
  }

  const channel_ref& channel_;
  event& e_;
  shape_reader r_;
  ondemand::parser& raw_parser_;
  std::string_view body_;
  std::optional<raw_money> raw_;
};

class woocommerce_adapter final : public adapter {
 public:
  explicit woocommerce_adapter(const config::channel_config& cfg)
      : secret_(cfg.get("secret")), source_(without_trailing_slash(cfg.get("store_url"))) {
    channel_.name = cfg.name;
    channel_.type = "woocommerce";
    channel_.account = host_of(cfg.get("store_url"));
  }

  status verify(const request& req) const override {
    const auto given = req.header_value(k_signature_header);
    if (given.empty()) {
      return {errc::missing_signature, "missing X-WC-Webhook-Signature header"};
    }
    const auto decoded = crypto::base64_decode(given);
    if (!decoded || decoded->size() != 32) {
      return {errc::bad_signature, "X-WC-Webhook-Signature is not a base64 HMAC-SHA256"};
    }
    const auto expected = crypto::hmac_sha256(secret_, req.body);
    if (!same_digest(*decoded, expected)) {
      return {errc::bad_signature,
              "X-WC-Webhook-Signature does not match the body signed with the channel's secret"};
    }
    // One secret may be set on several stores' webhooks: a validly signed delivery of another
    // store is misrouted, not ours to store.
    const auto source = req.header_value(k_source_header);
    if (source.empty()) {
      return {errc::forbidden,
              "missing X-WC-Webhook-Source header: the delivery does not say which store sent "
              "it, and only the channel's store_url is accepted"};
    }
    if (without_trailing_slash(source) != source_) {
      return {errc::forbidden,
              "X-WC-Webhook-Source names another store than this channel's store_url"};
    }
    return {};
  }

  std::optional<edge_reply> setup_request(const request& req, bool /*verified*/) const override {
    // Unsigned and proving nothing: answered only for its exact shape, and nothing is stored.
    if (!is_ping(req.body)) {
      return std::nullopt;
    }
    edge_reply reply;
    reply.content_type = "application/json";
    reply.body = R"({"status":"ok"})";
    return reply;
  }

  status parse(const request& req, std::vector<event>& out) override {
    const auto topic = req.header_value(k_topic_header);
    const auto dot = topic.find('.');
    std::string_view resource = req.header_value(k_resource_header);
    std::string_view what = req.header_value(k_event_header);
    if (resource.empty() && dot != std::string_view::npos) {
      resource = topic.substr(0, dot);
    }
    if (what.empty() && dot != std::string_view::npos) {
      what = topic.substr(dot + 1);
    }
    if (resource.empty() || what.empty()) {
      return malformed(
          "missing X-WC-Webhook-Topic header (or X-WC-Webhook-Resource and X-WC-Webhook-Event): "
          "the body cannot be interpreted without it");
    }
    const std::string name = std::string(resource) + "." + std::string(what);
    auto root = parse_body(parser_, req);
    if (!root) {
      return malformed(name + ": " + root.err().message);
    }
    dom::object body;
    if (root->get_object().get(body) != simdjson::SUCCESS) {
      return malformed("the body of topic " + name + " must be a JSON object");
    }

    event e;
    e.channel = channel_;
    e.kind = std::string(what);
    identify(req, topic.empty() ? std::string_view(name) : topic, e);
    body_reader b(channel_, e, raw_parser_, req.body);
    e.occurred_at = b.body_time(body);

    const bool deleted = what == "deleted";
    if (resource == "order") {
      e.type = event_type::order;
      if (deleted) {
        order_info info;
        info.id = b.deleted_id(body);
        e.order = std::move(info);
      } else {
        b.order(body);
      }
    } else if (resource == "customer") {
      e.type = event_type::customer;
      if (deleted) {
        b.person(b.deleted_id(body), {});
      } else {
        b.customer(body);
      }
    } else {
      e.type = event_type::commerce;
    }
    if (!b.reader().ok()) {
      return malformed(name + ": " + b.reader().problem());
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  /// platform_event_id and dedupe_key: the delivery id is shared by the deliveries of one
  /// webhook within one second, so the body's digest goes with it.
  static void identify(const request& req, std::string_view topic, event& e) {
    if (const auto delivery = req.header_value(k_delivery_id_header); !delivery.empty()) {
      e.platform_event_id = std::string(delivery);
      e.dedupe_key = "d:" + e.platform_event_id + ":" + crypto::to_hex(crypto::sha256(req.body));
    } else {
      std::string material(topic);
      material += '\n';
      material += req.body;
      e.dedupe_key = "h:" + crypto::to_hex(crypto::sha256(material));
    }
  }

  static status malformed(std::string why) {
    return {errc::malformed_body, "WooCommerce webhook: " + std::move(why)};
  }

  channel_ref channel_;
  std::string secret_;
  std::string source_;           // store_url without a trailing slash
  dom::parser parser_;           // reused: its buffers grow to the largest body seen
  ondemand::parser raw_parser_;  // only for money given as non-integer numbers
};

/// The topic `sign` sends for `kind`: a WooCommerce topic is `resource.event`; anything after a
/// second dot is a test fixture's variant label (tests/fixtures/woocommerce/
/// order.created.guest.json signs as order.created), never sent.
std::string topic_of(std::string_view kind) {
  if (kind.empty()) {
    return "order.created";
  }
  const auto dot = kind.find('.');
  const auto second = dot == std::string_view::npos ? dot : kind.find('.', dot + 1);
  return std::string(kind.substr(0, second));
}

/// A delivery id shaped like WooCommerce's (32 hex digits), from a digest's hex.
std::string delivery_id_of(const std::string& hex) {
  return hex.substr(0, 32);
}

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  const auto topic = topic_of(in.kind);
  const auto dot = topic.find('.');
  const auto resource = topic.substr(0, dot);
  const auto what = dot == std::string::npos ? std::string() : topic.substr(dot + 1);
  return {
      {k_signature_header, crypto::base64_encode(crypto::hmac_sha256(cfg.get("secret"), in.body))},
      {k_source_header, std::string(without_trailing_slash(cfg.get("store_url"))) + "/"},
      {k_topic_header, topic},
      {k_resource_header, resource},
      {k_event_header, what},
      {k_webhook_id_header, "17"},
      {k_delivery_id_header, in.delivery_id.empty()
                                 ? delivery_id_of(crypto::to_hex(crypto::sha256(in.body)))
                                 : std::string(in.delivery_id)}};
}

/// The load tester's webhook: an order.created of one registered customer.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  const auto uid = std::to_string(spec.run) + "x" + std::to_string(spec.n);
  w.kind = "order.created";
  w.delivery_id = delivery_id_of(crypto::to_hex(crypto::sha256("lt" + uid)));
  w.platform_ids.push_back(w.delivery_id);
  const auto order_id = std::to_string(1000000000ULL + spec.run * 10000000ULL + spec.n);
  w.body = R"({"id":)" + order_id + R"(,"parent_id":0,"number":")" + order_id +
           R"(","status":"processing","currency":"USD","date_created_gmt":"2024-12-03T15:14:05",)"
           R"("date_modified_gmt":"2024-12-03T15:14:07","total":"29.35","customer_id":)" +
           std::to_string(spec.person + 1) + R"(,"customer_note":")" + spec.text +
           R"(","billing":{"first_name":"Load","last_name":"Tester","email":"buyer)" +
           std::to_string(spec.person) +
           R"(@example.com"},"line_items":[{"id":315,"name":"Woo Single #1","product_id":93,)"
           R"("quantity":2,"sku":"WOO-1","total":"18.00","price":9}]})";
  return w;
}

std::vector<config::setting_problem> check(const config::channel_config& cfg) {
  const auto url = cfg.get("store_url");
  if ((!starts_with(url, "https://") && !starts_with(url, "http://")) || host_of(url).empty()) {
    return {{"store_url",
             "must be the store's address as WooCommerce sends it in X-WC-Webhook-Source, e.g. "
             "https://shop.example.com"}};
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return {{"store_url", "must not hold a query or fragment: it is the store's home URL"}};
  }
  return {};
}

}  // namespace

std::string host_of(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
  }
  url = url.substr(0, url.find_first_of("/?#"));
  if (const auto at = url.rfind('@'); at != std::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  if (starts_with(url, "[")) {  // an IPv6 literal: its colons are not a port
    url = url.substr(0, url.find(']') == std::string_view::npos ? url.size() : url.find(']') + 1);
  } else {
    url = url.substr(0, url.find(':'));
  }
  return lower(url);
}

bool is_ping(std::string_view body) noexcept {
  if (!starts_with(body, k_ping_prefix)) {
    return false;
  }
  const auto digits = body.substr(k_ping_prefix.size());
  return !digits.empty() && digits.size() <= 20 &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

adapter_info info() {
  adapter_info i;
  i.type = "woocommerce";
  i.display_name = "WooCommerce";
  i.schema.type = "woocommerce";
  i.schema.settings = {
      {"secret", true, true, "",
       "The webhook's secret (WooCommerce > Settings > Advanced > Webhooks): verifies "
       "X-WC-Webhook-Signature."},
      {"store_url", true, false, "",
       "The store's address, e.g. https://shop.example.com: X-WC-Webhook-Source must name it "
       "(a trailing slash is ignored); its host is channel.account."},
  };
  i.schema.check = check;
  i.headers = {k_signature_header, k_source_header,     k_topic_header,      k_resource_header,
               k_event_header,     k_webhook_id_header, k_delivery_id_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<woocommerce_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return host_of(cfg.get("store_url")); };
  i.sign = sign;
  // No retries, and a webhook disabled after a few failures: keep and acknowledge bad bodies.
  i.ok_when_quarantined = true;
  i.synthesize = synthesize;
  return i;
}

}  // namespace sb::adapters::woocommerce

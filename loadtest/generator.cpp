#include "loadtest/generator.hpp"

#include <algorithm>
#include <cmath>

#include "core/crypto.hpp"

namespace sb::loadtest {

namespace {

constexpr std::size_t recent_capacity = 512;

std::string get(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string{} : it->second;
}

std::string padded_number(std::uint64_t v, int width) {
  auto s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) {
    s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  }
  return s;
}

}  // namespace

std::vector<header_pair> sign(const std::string& type,
                              const std::map<std::string, std::string>& settings,
                              const std::string& body, const std::string& topic,
                              const std::string& webhook_id) {
  if (type == "whatsapp" || type == "messenger" || type == "instagram") {
    return {{"x-hub-signature-256",
             "sha256=" + crypto::to_hex(crypto::hmac_sha256(get(settings, "app_secret"), body))}};
  }
  if (type == "telegram") {
    return {{"x-telegram-bot-api-secret-token", get(settings, "secret_token")}};
  }
  if (type == "shopify") {
    return {{"x-shopify-hmac-sha256",
             crypto::base64_encode(crypto::hmac_sha256(get(settings, "client_secret"), body))},
            {"x-shopify-topic", topic},
            {"x-shopify-webhook-id", webhook_id},
            {"x-shopify-shop-domain", get(settings, "shop_domain")},
            {"x-shopify-api-version", "2024-10"}};
  }
  return {};
}

const char* to_string(request_kind k) {
  switch (k) {
    case request_kind::valid:
      return "valid";
    case request_kind::duplicate:
      return "duplicate";
    case request_kind::bad_signature:
      return "bad_signature";
    case request_kind::malformed:
      return "malformed";
  }
  return "?";
}

generator::generator(const scenario& s, std::vector<target> targets, std::uint64_t run_id)
    : s_(s), targets_(std::move(targets)), run_id_(run_id % 100000), rng_(s.seed) {
  std::vector<double> w;
  for (const auto& m : s_.mix) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      if (targets_[i].type == m.type) {
        idx.push_back(i);
      }
    }
    by_type_.push_back(std::move(idx));
    w.push_back(m.weight);
  }
  mix_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
  std::vector<double> sw;
  for (const auto& z : s_.text_sizes) {
    sw.push_back(z.weight);
  }
  sizes_ = std::discrete_distribution<std::size_t>(sw.begin(), sw.end());
  double total = 0;
  zipf_cdf_.reserve(s_.conversations);
  for (std::uint64_t k = 1; k <= s_.conversations; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k), s_.zipf_s);
    zipf_cdf_.push_back(total);
  }
  for (auto& c : zipf_cdf_) {
    c /= total;
  }
}

std::uint64_t generator::pick_conversation() {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const auto it = std::lower_bound(zipf_cdf_.begin(), zipf_cdf_.end(), u);
  return static_cast<std::uint64_t>(
      std::min<std::ptrdiff_t>(it - zipf_cdf_.begin(), zipf_cdf_.size() - 1));
}

std::string generator::text(std::size_t bytes) {
  static const char* const words[] = {
      "hello",  "order",  "shipping", "when",   "is",   "my",    "package",   "arriving",
      "thanks", "please", "help",     "refund", "size", "color", "available", "today"};
  std::string out;
  out.reserve(bytes + 10);
  while (out.size() < bytes) {
    if (!out.empty()) {
      out += ' ';
    }
    out += words[rng_() % (sizeof(words) / sizeof(words[0]))];
  }
  out.resize(std::max<std::size_t>(bytes, 1));
  if (out.back() == ' ') {
    out.back() = '.';
  }
  return out;
}

webhook generator::fresh(const target& t, std::uint64_t n) {
  webhook w;
  w.tenant = t.tenant;
  w.target = "/webhooks/" + t.tenant + "/" + t.channel;
  w.type = t.type;
  const auto conv = pick_conversation();
  const auto msg = text(s_.text_sizes[sizes_(rng_)].bytes);
  const auto uid = std::to_string(run_id_) + "x" + std::to_string(n);
  std::string topic;
  std::string webhook_id;
  if (t.type == "whatsapp") {
    const auto wa_id = "1650" + padded_number(conv, 7);
    const int batch =
        1 + static_cast<int>(rng_() % static_cast<std::uint64_t>(s_.whatsapp_batch_max));
    std::string msgs;
    for (int i = 0; i < batch; ++i) {
      const auto id = "wamid.LT" + uid + "_" + std::to_string(i);
      w.platform_ids.push_back(id);
      msgs += std::string(i > 0 ? "," : "") + R"({"from":")" + wa_id + R"(","id":")" + id +
              R"(","timestamp":"1749416383","type":"text","text":{"body":")" + msg + R"("}})";
    }
    w.body = R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398",)"
             R"("changes":[{"value":{"messaging_product":"whatsapp","metadata":)"
             R"({"display_phone_number":"15550783881","phone_number_id":")" +
             t.account + R"("},"contacts":[{"profile":{"name":"Load Tester"},"wa_id":")" + wa_id +
             R"("}],"messages":[)" + msgs + R"(]},"field":"messages"}]}]})";
  } else if (t.type == "telegram") {
    // update_id is an integer: run id in the high digits keeps runs apart (< 2^53).
    const auto update_id = std::to_string(run_id_ * 10000000000ULL + n);
    w.platform_ids.push_back(update_id);
    const auto chat = std::to_string(500000000 + conv);
    w.body = R"({"update_id":)" + update_id + R"(,"message":{"message_id":)" +
             std::to_string(n % 1000000000) + R"(,"from":{"id":)" + chat +
             R"(,"is_bot":false,"first_name":"Load","last_name":"Tester","language_code":"en"},)"
             R"("chat":{"id":)" +
             chat +
             R"(,"first_name":"Load","last_name":"Tester","type":"private"},"date":1733230345,)"
             R"("text":")" +
             msg + R"("}})";
  } else if (t.type == "messenger" || t.type == "instagram") {
    const auto mid = "m_LT" + uid;
    w.platform_ids.push_back(mid);
    const auto psid = "69" + padded_number(conv, 14);
    w.body = std::string(R"({"object":")") + (t.type == "messenger" ? "page" : "instagram") +
             R"(","entry":[{"id":")" + t.account +
             R"(","time":1718630400123,"messaging":[{"sender":{"id":")" + psid +
             R"("},"recipient":{"id":")" + t.account +
             R"("},"timestamp":1718630399871,"message":{"mid":")" + mid + R"(","text":")" + msg +
             R"("}}]}]})";
  } else if (t.type == "shopify") {
    topic = "orders/create";
    const auto h = crypto::to_hex(crypto::sha256("lt" + uid));
    webhook_id = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                 h.substr(16, 4) + "-" + h.substr(20, 12);
    w.platform_ids.push_back(webhook_id);
    const auto order_id = std::to_string(820982911946154508ULL + run_id_ * 100000000ULL + n);
    w.body = R"({"id":)" + order_id + R"(,"name":"#)" + std::to_string(1000 + n) +
             R"(","currency":"USD","total_price":"254.98","financial_status":"paid",)"
             R"("created_at":"2024-12-03T10:14:05-05:00","note":")" +
             msg + R"(","customer":{"id":)" + std::to_string(7000000000ULL + conv) +
             R"(,"email":"buyer)" + std::to_string(conv) +
             R"(@example.com","first_name":"Load","last_name":"Tester"}})";
  }
  w.headers = sign(t.type, t.settings, w.body, topic, webhook_id);
  return w;
}

webhook generator::next() {
  const auto n = n_++;
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  if (u < s_.duplicate_ratio && !recent_.empty()) {
    webhook d = recent_[rng_() % recent_.size()];
    d.kind = request_kind::duplicate;
    return d;
  }
  const auto& ids = by_type_[mix_(rng_)];
  const auto& t = targets_[ids[rng_() % ids.size()]];
  webhook w = fresh(t, n);
  if (u >= s_.duplicate_ratio && u < s_.duplicate_ratio + s_.invalid_ratio) {
    if (rng_() % 2 == 0) {
      w.kind = request_kind::bad_signature;
      // One character of the signature (or secret) in the middle, to a different digit: still
      // well-formed hex / base64, never equal even compared case-insensitively.
      auto& v = w.headers.front().second;
      auto& c = v[v.size() / 2];
      c = c == '0' ? '1' : '0';
    } else {
      // Validly signed, but not JSON: the gateway must answer 400 and quarantine it.
      w.kind = request_kind::malformed;
      w.body.resize(w.body.size() / 2);
      const auto& t2 = t;
      const std::string topic = t2.type == "shopify" ? "orders/create" : "";
      const std::string wid = t2.type == "shopify" ? w.platform_ids.front() : "";
      w.headers = sign(t2.type, t2.settings, w.body, topic, wid);
    }
    return w;
  }
  recent_.push_back(w);
  if (recent_.size() > recent_capacity) {
    recent_.pop_front();
  }
  return w;
}

}  // namespace sb::loadtest

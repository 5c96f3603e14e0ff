#include "loadtest/generator.hpp"

#include <algorithm>
#include <cmath>

#include "adapters/adapter.hpp"

namespace sb::loadtest {

namespace {

constexpr std::size_t recent_capacity = 512;

}  // namespace

std::vector<header_pair> sign(const target& t, std::string& body, const std::string& event_kind,
                              const std::string& delivery_id, bool forge) {
  const auto* info = adapters::find(t.type);
  if (info == nullptr || info->sign == nullptr) {
    return {};
  }
  config::channel_config channel;
  channel.name = t.channel;
  channel.type = t.type;
  channel.settings = t.settings;
  if (forge) {
    for (const auto& key : info->schema.settings) {
      auto it = channel.settings.find(key.key);
      if (key.secret && it != channel.settings.end() && !it->second.empty()) {
        auto& c = it->second[it->second.size() / 2];
        c = c == '0' ? '1' : '0';
      }
    }
  }
  adapters::signing_input in;
  in.kind = event_kind;
  in.delivery_id = delivery_id;
  if (info->sign_body != nullptr) {
    in.body = body;
    body = info->sign_body(channel, in);
  }
  in.body = body;
  std::vector<header_pair> out;
  for (auto& h : info->sign(channel, in)) {
    out.emplace_back(std::move(h.name), std::move(h.value));
  }
  return out;
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
  const auto* info = adapters::find(t.type);
  if (info == nullptr || info->synthesize == nullptr) {
    return w;  // targets_from admits no such type
  }
  adapters::synthetic_spec spec;
  spec.account = t.account;
  spec.person = conv;
  spec.run = run_id_;
  spec.n = n;
  spec.text = msg;
  if (info->synthetic_batches) {
    spec.messages = 1 + static_cast<int>(rng_() % static_cast<std::uint64_t>(s_.batch_max));
  }
  auto synthetic = info->synthesize(spec);
  w.body = std::move(synthetic.body);
  if (info->sign_body != nullptr) {
    w.unsigned_body = w.body;
  }
  w.platform_ids = std::move(synthetic.platform_ids);
  w.event_kind = std::move(synthetic.kind);
  w.delivery_id = std::move(synthetic.delivery_id);
  w.headers = sign(t, w.body, w.event_kind, w.delivery_id);
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
    const auto* info = adapters::find(t.type);
    const bool forged = rng_() % 2 == 0;
    if (forged && info != nullptr && info->sign_body != nullptr) {
      // The signature is in the body (Mailgun): signed with an altered secret instead.
      w.kind = request_kind::bad_signature;
      w.body = w.unsigned_body;
      w.headers = sign(t, w.body, w.event_kind, w.delivery_id, true);
    } else if (forged) {
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
      w.headers = sign(t, w.body, w.event_kind, w.delivery_id);
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

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "loadtest/generator.hpp"
#include "loadtest/report.hpp"
#include "loadtest/scenario.hpp"
#include "support/fixtures.hpp"

using namespace sb::loadtest;

namespace {

/// The example config: the same loader, schemas and secrets the gateway uses.
std::shared_ptr<const sb::config::config> example_config() {
  auto r = sb::config::load_file(std::string(SB_SOURCE_DIR) + "/config/switchboard.example.yaml",
                                 sb::adapters::schemas());
  REQUIRE(r.ok());
  return r.cfg;
}

scenario all_platforms(double duplicate_ratio, double invalid_ratio) {
  auto s = parse_scenario(
      "config: switchboard.yaml\n"
      "mix: {whatsapp: 3, telegram: 2, messenger: 1, instagram: 1, shopify: 1}\n"
      "conversations: 50\n"
      "text_sizes: [{bytes: 10, weight: 1}, {bytes: 300, weight: 1}]\n"
      "duplicate_ratio: " +
          std::to_string(duplicate_ratio) + "\n" +
          "invalid_ratio: " + std::to_string(invalid_ratio) + "\n",
      "/x");
  REQUIRE(s.ok());
  return s.value();
}

struct verdict {
  sb::status verified;
  sb::status parsed;
  std::vector<std::string> ids;
};

/// Hands `w` to the gateway's own adapter for the channel it targets.
verdict gateway_view(const sb::config::config& cfg, const target& t, const webhook& w) {
  const auto* channel = cfg.find_tenant(t.tenant)->find_channel(t.channel);
  REQUIRE(channel != nullptr);
  auto adapter = sb::adapters::find(t.type)->make(*channel);
  std::vector<sb::adapters::header> headers;
  for (const auto& [k, v] : w.headers) {
    headers.push_back({k, v});
  }
  const auto body = sb::test::padded(w.body);
  sb::adapters::request req;
  req.method = "POST";
  req.headers = &headers;
  req.body = body;
  verdict v{adapter->verify(req), {}, {}};
  if (v.verified) {
    std::vector<sb::event> events;
    v.parsed = adapter->parse(req, events);
    for (const auto& e : events) {
      v.ids.push_back(e.platform_event_id);
    }
  }
  return v;
}

const target& target_of(const std::vector<target>& ts, const webhook& w) {
  for (const auto& t : ts) {
    if (w.target == "/webhooks/" + t.tenant + "/" + t.channel) {
      return t;
    }
  }
  FAIL("no target for " << w.target);
  return ts.front();
}

}  // namespace

TEST_CASE("scenario parsing validates its keys") {
  CHECK_FALSE(parse_scenario("mix: {telegram: 1}\n", "").ok());  // no config
  CHECK_FALSE(parse_scenario("config: a.yaml\nmix: {telegram: 1}\nbogus: 1\n", "").ok());
  CHECK_FALSE(parse_scenario("config: a.yaml\nmix: {telegram: 1}\nmode: sideways\n", "").ok());
  auto s = parse_scenario("config: a.yaml\nmix: {telegram: 1}\nmode: open\nrate: 250\n", "/etc");
  REQUIRE(s.ok());
  CHECK(s.value().config_path == "/etc/a.yaml");
  CHECK(s.value().mode == loop_mode::open);
  CHECK(s.value().rate == 250);
}

TEST_CASE("every signer is accepted by the gateway's own verifier, tampering is rejected") {
  const auto cfg = example_config();
  const auto s = all_platforms(0, 0);
  auto targets = targets_from(*cfg, s);
  REQUIRE(targets.ok());
  generator gen(s, targets.value(), 1234);
  std::set<std::string> types_seen;
  std::set<std::string> ids_seen;
  for (int i = 0; i < 300; ++i) {
    auto w = gen.next();
    REQUIRE(w.kind == request_kind::valid);
    const auto& t = target_of(targets.value(), w);
    types_seen.insert(t.type);
    INFO(t.type << ": " << w.body);
    const auto v = gateway_view(*cfg, t, w);
    REQUIRE(v.verified.ok());
    REQUIRE(v.parsed.ok());
    // Every event the gateway parses carries exactly the ids the generator promised.
    CHECK(v.ids == w.platform_ids);
    for (const auto& id : w.platform_ids) {
      CHECK(ids_seen.insert(id).second);  // unique per request: every request is new
    }
    if (i < 40) {
      auto tampered = w;
      tampered.body[tampered.body.size() / 2] ^= 1;
      if (t.type == "telegram") {
        tampered.headers.front().second += "x";  // Telegram signs no bytes: a wrong token
      }
      CHECK_FALSE(gateway_view(*cfg, t, tampered).verified.ok());
    }
  }
  CHECK(types_seen ==
        std::set<std::string>{"whatsapp", "telegram", "messenger", "instagram", "shopify"});
}

TEST_CASE("invalid requests are rejected by the gateway's adapters, duplicates are byte copies") {
  const auto cfg = example_config();
  const auto s = all_platforms(0.3, 0.4);
  auto targets = targets_from(*cfg, s);
  REQUIRE(targets.ok());
  generator gen(s, targets.value(), 99);
  std::map<std::string, webhook> originals;
  std::map<request_kind, int> kinds;
  for (int i = 0; i < 400; ++i) {
    auto w = gen.next();
    ++kinds[w.kind];
    const auto& t = target_of(targets.value(), w);
    const auto v = gateway_view(*cfg, t, w);
    switch (w.kind) {
      case request_kind::valid:
        CHECK(v.verified.ok());
        CHECK(v.parsed.ok());
        originals[w.platform_ids.front()] = w;
        break;
      case request_kind::duplicate: {
        auto it = originals.find(w.platform_ids.front());
        REQUIRE(it != originals.end());
        CHECK(it->second.body == w.body);
        CHECK(it->second.headers == w.headers);
        break;
      }
      case request_kind::bad_signature:
        CHECK_FALSE(v.verified.ok());
        break;
      case request_kind::malformed:
        CHECK(v.verified.ok());
        CHECK_FALSE(v.parsed.ok());
        break;
    }
  }
  CHECK(kinds[request_kind::duplicate] > 60);
  CHECK(kinds[request_kind::bad_signature] > 40);
  CHECK(kinds[request_kind::malformed] > 40);
}

TEST_CASE("conversation popularity follows Zipf: rank 1 dominates, the tail is reached") {
  const auto cfg = example_config();
  auto s = all_platforms(0, 0);
  s.conversations = 100;
  s.zipf_s = 1.0;
  generator gen(s, targets_from(*cfg, s).value(), 1);
  std::vector<int> counts(100, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    ++counts[gen.pick_conversation()];
  }
  // H(100) = 5.187: P(rank 1) = 0.193, P(rank 2) = 0.096, P(rank 100) = 0.0019.
  CHECK(counts[0] == Approx(0.193 * n).epsilon(0.05));
  CHECK(counts[1] == Approx(0.096 * n).epsilon(0.07));
  CHECK(counts[99] > 0);
  CHECK(counts[0] > counts[9] * 5);
}

TEST_CASE("reports render: JSON has the figures, HTML is self-contained") {
  run_result r;
  r.mode = "open";
  r.measured = 100;
  r.expected = 100;
  r.measured_s = 10;
  r.per_second = {5, 10, 10};
  for (int i = 1; i <= 100; ++i) {
    r.ack.record(i * 1000);
  }
  r.stream_checked = true;
  r.metrics_after = "sb_requests_total{code=\"200\"} 100\n";
  const auto json = render_json(r);
  CHECK(json.find("\"throughput_rps\":10.0") != std::string::npos);
  CHECK(json.find("\"p99_ms\":99.") != std::string::npos);
  CHECK(json.find("\"lost\":0") != std::string::npos);
  CHECK(json.find("sb_requests_total{code=\\\"200\\\"} 100\\n") != std::string::npos);
  CHECK(json.find("\"metrics_before\":null") != std::string::npos);
  const auto html = render_html(r);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("sb_requests_total{code=&quot;200&quot;}") != std::string::npos);
}

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/metrics.hpp"

using namespace sb::metrics;

TEST_CASE("counters and gauges render with HELP, TYPE and escaped labels", "[metrics]") {
  registry r;
  auto& c = r.counters("x_requests_total", "Requests.\nSecond line", {"route", "status"});
  c.with({{"route", "/a/{b}"}, {"status", "200"}}).inc(3);
  c.with({{"route", "q\"uo\\te"}, {"status", "503"}}).inc();
  r.gauges("x_open", "Open things.").with({}).set(-2);
  r.counters("x_empty_total", "No children yet.", {"kind"});

  CHECK(r.render() ==
        "# HELP x_requests_total Requests.\\nSecond line\n"
        "# TYPE x_requests_total counter\n"
        "x_requests_total{route=\"/a/{b}\",status=\"200\"} 3\n"
        "x_requests_total{route=\"q\\\"uo\\\\te\",status=\"503\"} 1\n"
        "# HELP x_open Open things.\n"
        "# TYPE x_open gauge\n"
        "x_open -2\n"
        "# HELP x_empty_total No children yet.\n"
        "# TYPE x_empty_total counter\n");
}

TEST_CASE("a label tuple resolves to the same metric every time", "[metrics]") {
  registry r;
  auto& f = r.counters("x_total", "X.", {"tenant"});
  CHECK(&f.with({{"tenant", "acme"}}) == &f.with({{"tenant", "acme"}}));
  CHECK(&f.with({{"tenant", "acme"}}) != &f.with({{"tenant", "globex"}}));
  CHECK(&r.counters("x_total", "X.", {"tenant"}) == &f);
  CHECK_THROWS_AS(r.gauges("x_total", "X.", {"tenant"}), std::logic_error);
  CHECK_THROWS_AS(r.counters("x_total", "X.", {"other"}), std::logic_error);
  CHECK_THROWS_AS(f.with({{"tenant", "a"}, {"channel", "b"}}), std::logic_error);
}

TEST_CASE("histogram buckets are cumulative, with +Inf, sum and count", "[metrics]") {
  registry r;
  auto& h = r.histograms("x_seconds", "Latency.", {0.1, 0.5, 1}, {"op"}).with({{"op", "commit"}});
  h.observe(0.05);
  h.observe(0.1);  // on a bound: counted in that bucket (le = less or equal)
  h.observe(0.3);
  h.observe(7);
  CHECK(h.count() == 4);
  CHECK(h.sum() == Approx(7.45));
  CHECK(r.render() ==
        "# HELP x_seconds Latency.\n"
        "# TYPE x_seconds histogram\n"
        "x_seconds_bucket{op=\"commit\",le=\"0.1\"} 2\n"
        "x_seconds_bucket{op=\"commit\",le=\"0.5\"} 3\n"
        "x_seconds_bucket{op=\"commit\",le=\"1\"} 3\n"
        "x_seconds_bucket{op=\"commit\",le=\"+Inf\"} 4\n"
        "x_seconds_sum{op=\"commit\"} 7.45\n"
        "x_seconds_count{op=\"commit\"} 4\n");
}

TEST_CASE("a histogram without labels renders le as its only label", "[metrics]") {
  registry r;
  r.histograms("x_batch", "Batch.", size_buckets(4)).with({}).observe(3);
  std::string out = r.render();
  CHECK(out.find("x_batch_bucket{le=\"2\"} 0\n") != std::string::npos);
  CHECK(out.find("x_batch_bucket{le=\"4\"} 1\n") != std::string::npos);
  CHECK(out.find("x_batch_sum 3\n") != std::string::npos);
  CHECK(out.find("x_batch_count 1\n") != std::string::npos);
}

TEST_CASE("concurrent increments and observations are all counted", "[metrics]") {
  registry r;
  auto& c = r.counters("x_total", "X.").with({});
  auto& g = r.gauges("x_gauge", "G.").with({});
  auto& h = r.histograms("x_h", "H.", {1, 2}).with({});
  constexpr int threads = 4;
  constexpr int per_thread = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        g.inc();
        g.dec();
        h.observe(1.5);
      }
    });
  }
  std::string during = r.render();  // rendering while writers run is safe
  for (auto& t : ts) {
    t.join();
  }
  CHECK(c.value() == threads * per_thread);
  CHECK(g.value() == 0);
  CHECK(h.count() == threads * per_thread);
  CHECK(h.bucket(1) == threads * per_thread);
  CHECK(h.sum() == Approx(1.5 * threads * per_thread));
  CHECK_FALSE(during.empty());
}

TEST_CASE("the catalog registers every reason and kind up front", "[metrics]") {
  catalog::register_all();
  std::string out = global().render();
  CHECK(out.find("switchboard_webhook_rejections_total{tenant=\"\",channel=\"\","
                 "reason=\"unknown_channel\"} 0\n") != std::string::npos);
  CHECK(out.find("switchboard_actor_restarts_total{kind=\"store_writer\"}") != std::string::npos);
  CHECK(out.find("# TYPE switchboard_webhook_ack_seconds histogram\n") != std::string::npos);
  CHECK(out.find("switchboard_build_info{version=\"") != std::string::npos);
}

TEST_CASE("a channel's webhook rejections have zero series for alerted and flood reasons only",
          "[metrics]") {
  const auto& set = catalog::webhook_rejections("t-rej", "c-rej");
  CHECK(&catalog::webhook_rejections("t-rej", "c-rej") == &set);  // one set per pair
  CHECK(&set.at(sb::errc::bad_signature) != &set.at(sb::errc::missing_signature));
  CHECK(&set.at(sb::errc::ok) == &set.at(sb::errc::internal));
  std::string out = global().render();
  const std::string head =
      "switchboard_webhook_rejections_total{tenant=\"t-rej\",channel=\"c-rej\",";
  for (auto code :
       {sb::errc::missing_signature, sb::errc::bad_signature, sb::errc::handshake_failed,
        sb::errc::overloaded, sb::errc::unavailable, sb::errc::internal, sb::errc::quarantine_full,
        sb::errc::rate_limited, sb::errc::too_many_auth_failures}) {
    CAPTURE(sb::to_string(code));
    CHECK(out.find(head + "reason=\"" + sb::to_string(code) + "\"} 0\n") != std::string::npos);
  }
  // Rarer reasons appear on first use, counted as any other.
  CHECK(out.find(head + "reason=\"malformed_body\"") == std::string::npos);
  set.at(sb::errc::malformed_body).inc();
  CHECK(global().render().find(head + "reason=\"malformed_body\"} 1\n") != std::string::npos);
  // Reasons a webhook cannot be answered with have no zero series.
  CHECK(out.find(head + "reason=\"window_closed\"") == std::string::npos);
  CHECK(out.find(head + "reason=\"unauthorized\"") == std::string::npos);
  CHECK(out.find(head + "reason=\"unknown_channel\"") == std::string::npos);
  // One would still be counted, under its own reason.
  set.at(sb::errc::too_many_streams).inc();
  CHECK(global().render().find(head + "reason=\"too_many_streams\"} 1\n") != std::string::npos);
  set.at(sb::errc::bad_signature).inc(2);
  CHECK(global().render().find(head + "reason=\"bad_signature\"} 2\n") != std::string::npos);
}

TEST_CASE("a family takes only its own label names, in its order", "[metrics][labels]") {
  registry r;
  auto& f = r.counters("x_total", "X.", {"tenant", "channel"});
  auto& c = f.with({{"tenant", "acme"}, {"channel", "wa"}});
  CHECK(&f.with({{"tenant", "acme"}, {"channel", "wa"}}) == &c);
  // The values swapped by mistake would be another series: the names catch it.
  CHECK_THROWS_AS(f.with({{"channel", "wa"}, {"tenant", "acme"}}), std::logic_error);
  CHECK_THROWS_AS(f.with({{"tenant", "acme"}}), std::logic_error);
  CHECK_THROWS_AS(f.with({}), std::logic_error);
  CHECK_THROWS_AS(f.with({{"tenant", "acme"}, {"subscriber", "wa"}}), std::logic_error);
}

TEST_CASE("labels format in the exposition form and parse back", "[metrics][labels]") {
  const labels l{{"route", "q\"uo\\te\nx"}, {"status", "503"}};
  CHECK(l.str() == "{route=\"q\\\"uo\\\\te\\nx\",status=\"503\"}");
  auto back = labels::parse(l.str());
  REQUIRE(back);
  CHECK(*back == l);
  REQUIRE(back->find("route"));
  CHECK(*back->find("route") == "q\"uo\\te\nx");
  CHECK(back->find("tenant") == nullptr);
  CHECK(labels{}.str().empty());
  CHECK(labels::parse("")->empty());
  CHECK(labels::parse("{}")->empty());
  std::string bucket;
  labels{{"op", "commit"}}.append_to(bucket, "le", "0.5");
  CHECK(bucket == "{op=\"commit\",le=\"0.5\"}");
}

TEST_CASE("labels refuse what is not the exposition form", "[metrics][labels]") {
  CHECK_FALSE(labels::parse("tenant=\"a\""));
  CHECK_FALSE(labels::parse("{tenant=a}"));
  CHECK_FALSE(labels::parse("{tenant=\"a}"));
  CHECK_FALSE(labels::parse("{=\"a\"}"));
  CHECK_FALSE(labels::parse("{tenant=\"a\",}"));
  CHECK_FALSE(labels::parse("{tenant=\"a\"channel=\"b\"}"));
  CHECK_FALSE(labels::parse("{tenant=\"a\\x\"}"));  // an escape the format does not have
}

TEST_CASE("labels compare and hash by names, values and order", "[metrics][labels]") {
  const labels a{{"tenant", "acme"}, {"channel", "wa"}};
  const labels b{{"channel", "wa"}, {"tenant", "acme"}};
  CHECK(a == labels{{"tenant", "acme"}, {"channel", "wa"}});
  CHECK(a != b);
  CHECK(a != labels{{"tenant", "acme"}, {"channel", "tg"}});
  CHECK(std::hash<labels>{}(a) ==
        std::hash<labels>{}(labels{{"tenant", "acme"}, {"channel", "wa"}}));
  std::unordered_set<labels> seen{a, b, labels{{"tenant", "acme"}, {"channel", "wa"}}};
  CHECK(seen.size() == 2);
}

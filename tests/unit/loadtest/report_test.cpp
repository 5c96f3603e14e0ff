#include <catch2/catch.hpp>

#include <string>

#include "loadtest/report.hpp"

using namespace sb::loadtest;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A run of 10 s measured after 2 s of warm-up, `unexpected_429` of its answers 429.
run_result a_run(std::uint64_t unexpected_429) {
  run_result r;
  r.scenario_path = "loadtest/scenarios/standard.yaml";
  r.started_at = "2026-12-04T17:00:00Z";
  r.mode = "open";
  r.target_rate = 300;
  r.warmup_s = 2;
  r.measured_s = 10;
  r.sent = 3600;
  r.measured = 3000;
  r.expected = 3000 - unexpected_429;
  r.unexpected = unexpected_429;
  if (unexpected_429 > 0) {
    r.unexpected_by_status["429"] = unexpected_429;
    r.unexpected_status["valid whatsapp -> 429"] = unexpected_429;
  }
  r.hints.config_path = "config/switchboard.example.yaml";
  r.hints.rate_limits.push_back("tenants[0].rate_limit (acme: 500 rps, burst 1000)");
  timeline t;
  for (std::size_t second = 0; second < 12; ++second) {
    for (int i = 0; i < 300; ++i) {
      t.record(second, second > 5 && i < 100 ? 429 : 200, true, 1000 + i);
    }
  }
  r.seconds = t.seconds();
  return r;
}

}  // namespace

TEST_CASE("the headline counts only expected answers") {
  auto r = a_run(1000);
  CHECK(r.throughput() == Approx(200));
  CHECK(r.responses_per_second() == Approx(300));
  const auto summary = render_summary(r);
  CHECK(contains(summary, "throughput: 200.0 expected answers/s (1,000 unexpected answers not "
                          "counted; 300.0 responses/s of any status)"));
  CHECK(contains(render_json(r), "\"throughput_rps\":200.0,\"responses_rps\":300.0"));
}

TEST_CASE("a run with unexpected statuses fails and names the likely cause") {
  const auto r = a_run(1000);
  const auto reasons = failure_reasons(r);
  REQUIRE(reasons.size() == 2);
  CHECK(reasons[0] == "1,000 of 3,600 requests got an unexpected answer (warm-up included):");
  CHECK(contains(reasons[1], "429 x1,000: likely the tenant's rate limit: tenants[0].rate_limit "
                             "(acme: 500 rps, burst 1000) in config/switchboard.example.yaml"));
  const auto plain = render_verdict(r, false);
  CHECK(plain.rfind("FAILED: 1,000 of 3,600", 0) == 0);
  CHECK_FALSE(contains(plain, "\033["));
  CHECK(contains(render_verdict(r, true), "\033[1;97;41m FAILED \033[0m"));
  CHECK(contains(render_json(r), "\"verdict\":\"failed\""));
  const auto html = render_html(r);
  CHECK(contains(html, "<div class='verdict failed' id='verdict' role='alert'><strong>FAILED"));
  CHECK(contains(html, "tenants[0].rate_limit"));
}

TEST_CASE("a clean run passes") {
  const auto r = a_run(0);
  CHECK(failure_reasons(r).empty());
  CHECK(render_verdict(r, false) == "PASSED: every answer as expected\n");
  CHECK(contains(render_json(r), "\"verdict\":\"passed\",\"failures\":[]"));
  CHECK(contains(render_html(r), "class='verdict passed'"));
}

TEST_CASE("each unexpected status has its own likely cause") {
  config_hints none;
  CHECK(contains(likely_cause("401", none), "secrets"));
  CHECK(contains(likely_cause("503", none), "overloaded"));
  CHECK(contains(likely_cause("error:connect", none), "not running"));
  CHECK(contains(likely_cause("error:timeout", none), "timeout_s"));
  // A 429 with no tenant rate limit: the failed-signature budget of the one source address.
  CHECK(contains(likely_cause("429", none), "limits.auth_failures_per_source"));
}

TEST_CASE("a 429's error code names one cause and not the other") {
  config_hints hints;
  hints.config_path = "gw.yaml";
  hints.rate_limits.push_back("tenants[0].rate_limit (acme: 500 rps, burst 1000)");
  hints.auth_failures_per_source = "limits.auth_failures_per_source (5/s)";
  const auto limited = likely_cause("429 rate_limited", hints);
  CHECK(contains(limited,
                 "the tenant's rate limit: tenants[0].rate_limit (acme: 500 rps, burst "
                 "1000) in gw.yaml"));
  CHECK_FALSE(contains(limited, "failed-signature"));
  const auto budget = likely_cause("429 too_many_failures", hints);
  CHECK(contains(budget,
                 "the failed-signature budget limits.auth_failures_per_source (5/s) in "
                 "gw.yaml"));
  CHECK_FALSE(contains(budget, "rate limit"));
  // Without the code the answer may be either: both are named.
  const auto either = likely_cause("429", hints);
  CHECK(contains(either, "rate_limit"));
  CHECK(contains(either, "failed-signature budget"));
}

TEST_CASE("axis ticks are round 1-2-5 steps that cover the maximum") {
  CHECK(nice_ticks(10, 5) == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(nice_ticks(11, 5) == std::vector<double>{0, 5, 10, 15});
  CHECK(nice_ticks(3400, 5) == std::vector<double>{0, 1000, 2000, 3000, 4000});
  CHECK(nice_ticks(0.27, 5) == std::vector<double>{0, 0.1, 0.2, 0.3});
  CHECK(nice_ticks(0, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
}

TEST_CASE("the timeline counts status classes and latency per second") {
  timeline t;
  t.record(0, 200, true, 1000);
  t.record(0, 200, true, 3000);
  t.record(1, 429, false, 50000);
  t.record(1, 0, false, 90000);
  t.record(3, 503, false, 10);
  const auto s = t.seconds();
  REQUIRE(s.size() == 4);
  CHECK(s[0].ok == 2);
  CHECK(s[0].expected == 2);
  CHECK(s[0].p99_us == Approx(3000).epsilon(0.01));
  CHECK(s[1].client == 1);
  CHECK(s[1].no_answer == 1);
  CHECK(s[1].max_us == 90000);
  CHECK(s[2].total() == 0);  // a stall: a second with no answer shows as a gap
  CHECK(s[3].server == 1);
}

TEST_CASE("the HTML report plots status and latency over time with the target and warm-up") {
  const auto html = render_html(a_run(1000));
  CHECK(contains(html, "<title>Load test standard.yaml, 2026-12-04T17:00:00Z</title>"));
  CHECK(contains(html, "id='status-over-time'"));
  CHECK(contains(html, "id='latency-over-time'"));
  CHECK(contains(html, "data-series='2xx'"));
  CHECK(contains(html, "data-series='4xx'"));
  CHECK(contains(html, "data-series='target rate'"));
  CHECK(contains(html, "data-series='warm-up'"));
  CHECK(contains(html, "data-series='p99'"));
  CHECK_FALSE(contains(html, "<script"));
  CHECK_FALSE(contains(html, "http://fonts"));
}

TEST_CASE("events stored before the run are reported and not counted") {
  auto r = a_run(0);
  r.store.push_back({"acme", 1234, "head seq from /v1/overview"});
  CHECK(contains(render_summary(r), "1,234 events were already stored before the run (tenant "
                                    "acme, seq 1..1234): not counted"));
  CHECK(contains(render_json(r), "\"store_before\":[{\"tenant\":\"acme\",\"head\":1234"));
  r.stream_checked = true;
  r.loss.acked = 7;
  const auto json = render_json(r);
  CHECK(contains(json, "\"events_acked\":7,\"acked\":7"));  // the old key kept for scripts
}

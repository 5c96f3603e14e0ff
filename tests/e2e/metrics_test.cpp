// End-to-end: GET /metrics on the real binary (Prometheus text format 0.0.4, docs/operations.md).
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;

namespace {

const test_tenant acme{"acme", "sbt_e2e_acme_5c0f9e27d1b84a36"};

/// Scrapes /metrics (no token) and parses every sample line into series -> value, failing the
/// test on any line that is neither a comment nor `name{labels} value`.
std::map<std::string, double> scrape(const gateway_process& gw) {
  auto r = request("GET", gw.base_url() + "/metrics");
  INFO("response " << r.status << ": " << r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type").find("text/plain; version=0.0.4") == 0);
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})?) (-?[0-9][0-9.e+-]*|\+Inf|NaN)$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::map<std::string, double> out;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      CHECK(std::regex_match(line, comment));
      continue;
    }
    std::smatch m;
    INFO("line: " << line);
    REQUIRE(std::regex_match(line, m, sample));
    CHECK(out.count(m[1]) == 0);  // no series twice
    out[m[1]] = std::stod(m[3]);
  }
  return out;
}

double value(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("/metrics counts a valid, a duplicate and a forged webhook exactly", "[e2e][metrics]") {
  gateway_process gw(test_config({acme}));
  const auto before = scrape(gw);

  const std::string body = pl::wa_text_webhook(pl::wamid(7), "16505551234", "Sheena Nelson",
                                               "metrics please", 1749416383);
  const auto signed_headers = signing::whatsapp(acme.wa_app_secret(), body);
  const auto forged_headers = signing::whatsapp("not-the-app-secret", body);
  const std::string path = gw.base_url() + "/webhooks/acme/wa-main";
  CHECK(request("POST", path, signed_headers, body).status == 200);
  CHECK(request("POST", path, signed_headers, body).status == 200);  // a platform retry
  CHECK(request("POST", path, forged_headers, body).status == 401);

  // The ack latency is observed when the response's write completes, which can be just after
  // the client has read it: scrape again (briefly) until all three are in. Each extra scrape
  // counts itself, which the last check allows for.
  auto after = scrape(gw);
  int extra_scrapes = 0;
  while (extra_scrapes < 200 && value(after, "switchboard_webhook_ack_seconds_count") -
                                        value(before, "switchboard_webhook_ack_seconds_count") <
                                    3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = scrape(gw);
    ++extra_scrapes;
  }
  auto delta = [&](const std::string& series) {
    INFO(series);
    return value(after, series) - value(before, series);
  };
  const std::string route = R"(route="/webhooks/{tenant}/{channel}")";
  CHECK(delta("switchboard_http_requests_total{" + route + R"(,status="200"})") == 2);
  CHECK(delta("switchboard_http_requests_total{" + route + R"(,status="401"})") == 1);
  const std::string wa = R"(switchboard_webhook_rejections_total{tenant="acme",channel="wa-main",)";
  CHECK(delta(wa + R"(reason="bad_signature"})") == 1);
  CHECK(delta(wa + R"(reason="missing_signature"})") == 0);
  // Zero series from the first scrape: for every reason a webhook can have, not for the others.
  CHECK(before.count(wa + R"(reason="missing_signature"})") == 1);
  CHECK(before.count(wa + R"(reason="too_many_failures"})") == 1);
  CHECK(before.count(wa + R"(reason="unauthorized"})") == 0);
  CHECK(before.count(wa + R"(reason="window_closed"})") == 0);
  CHECK(before.count(wa + R"(reason="unknown_channel"})") == 0);
  CHECK(delta(R"(switchboard_events_stored_total{tenant="acme",channel="wa-main"})") == 1);
  CHECK(delta(R"(switchboard_events_duplicate_total{tenant="acme",channel="wa-main"})") == 1);
  CHECK(delta("switchboard_webhook_ack_seconds_count") == 3);
  CHECK(delta(R"(switchboard_webhook_ack_seconds_bucket{le="+Inf"})") == 3);
  CHECK(delta("switchboard_webhook_ack_seconds_sum") > 0);
  CHECK(delta("switchboard_store_commit_batch_size_count") == 2);
  CHECK(delta("switchboard_store_commit_seconds_count") == 2);
  // The valid webhook and its retry each went through a commit; the forged one went nowhere.
  for (const char* stage :
       {"to_tenant", "to_channel", "channel", "to_commit", "commit", "to_reply", "reply"}) {
    CHECK(delta(std::string(R"(switchboard_webhook_stage_seconds_count{stage=")") + stage +
                R"("})") == 2);
  }
  CHECK(delta(R"(switchboard_webhook_stage_seconds_sum{stage="commit"})") > 0);
  CHECK(value(after, R"(switchboard_actor_restarts_total{kind="channel"})") == 0);
  CHECK(value(after, "switchboard_http_connections_open") >= 1);  // this scrape's own
  CHECK(value(after, "switchboard_sse_streams_open") == 0);
  // The first scrape itself was counted once (and each extra one).
  CHECK(delta(R"(switchboard_http_requests_total{route="/metrics",status="200"})") ==
        1 + extra_scrapes);
}

TEST_CASE("webhook rejections take their labels from the config and never from the path",
          "[e2e][metrics]") {
  gateway_process gw(test_config({acme}));
  const auto before = scrape(gw);
  const std::string unknown = R"(switchboard_webhook_rejections_total{tenant="",channel="",)"
                              R"(reason="unknown_channel"})";
  CHECK(before.count(unknown) == 1);
  CHECK(request("POST", gw.base_url() + "/webhooks/acme/no-such-channel", {}, "{}").status == 404);
  CHECK(request("POST", gw.base_url() + "/webhooks/evil-tenant/wa-main", {}, "{}").status == 404);
  const auto after = scrape(gw);
  CHECK(value(after, unknown) - value(before, unknown) == 2);
  for (const auto& [series, v] : after) {
    INFO(series);
    CHECK(series.find("no-such-channel") == std::string::npos);
    CHECK(series.find("evil-tenant") == std::string::npos);
  }
}

TEST_CASE("/metrics shows the process metrics and the build", "[e2e][metrics]") {
  gateway_process gw(test_config({acme}));
  const auto m = scrape(gw);
  CHECK(value(m, "process_resident_memory_bytes") > 1e6);
  CHECK(value(m, "process_virtual_memory_bytes") >= value(m, "process_resident_memory_bytes"));
  CHECK(m.count("process_cpu_seconds_total") == 1);
  CHECK(value(m, "process_open_fds") >= 3);
  CHECK(value(m, "process_max_fds") >= value(m, "process_open_fds"));
  // Started within the last ten minutes, by the wall clock.
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(value(m, "process_start_time_seconds") > now_s - 600);
  CHECK(value(m, "process_start_time_seconds") <= now_s + 1);
  int build_series = 0;
  for (const auto& [series, v] : m) {
    if (series.rfind("switchboard_build_info{", 0) == 0) {
      ++build_series;
      CHECK(v == 1);
      static const std::regex form(
          R"re(switchboard_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+",)re"
          R"re(commit="([0-9a-f]{4,40}|unknown)"\})re");
      CHECK(std::regex_match(series, form));
    }
  }
  CHECK(build_series == 1);
}

TEST_CASE("/metrics takes GET only", "[e2e][metrics]") {
  gateway_process gw(test_config({acme}));
  auto r = request("POST", gw.base_url() + "/metrics", {}, "{}");
  CHECK(r.status == 405);
  CHECK(r.header("allow") == "GET");
}

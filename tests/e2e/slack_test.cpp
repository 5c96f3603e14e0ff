// End-to-end: a Slack channel in the real binary (adapters/slack/): the signed url_verification
// answered at the edge, signed events stored normalized, forged, stale and tampered requests
// refused, Slack's retries stored once, and chat.postMessage against a fake Web API on
// 127.0.0.1.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include "e2e/checks.hpp"
#include "e2e/outbound_support.hpp"
#include "integration/delivery/receiver.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using e2e_checks::require_error;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_slack_4b8e21c7d90f"};
const std::string k_secret = "dev-slack-signing-secret-e2e";
const std::string k_bot_token = "xoxb-17653672481-19874698323-e2eSlackBotToken";
const std::string k_team = "T061EG9R6";

const std::map<std::string, std::string> k_signing{{"signing_secret", k_secret}};

/// The standard tenant plus a Slack channel "sl" whose Web API is `api_base`.
std::string slack_config(const std::string& api_base = "https://slack.com/api") {
  test_server server;
  server.extra_channels.push_back({"sl",
                                   "slack",
                                   {{"signing_secret", k_secret},
                                    {"bot_token", k_bot_token},
                                    {"team_id", k_team},
                                    {"api_base", api_base}}});
  return test_config({acme}, server);
}

/// Slack's headers for `body`, signed with `secret` at `at` (empty: now).
header_list slack_headers(const std::string& body, const std::string& secret = k_secret,
                          sb::timestamp at = {}) {
  sb::adapters::signing_input in;
  in.at = at;
  return signing::platform("slack", {{"signing_secret", secret}}, body, in);
}

http_result post(const gateway_process& gw, const header_list& headers, const std::string& body) {
  return request("POST", gw.base_url() + "/webhooks/acme/sl", headers, body);
}

std::size_t stored(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token)["events"].size();
}

}  // namespace

TEST_CASE("slack's signed url_verification is answered with the challenge and stores nothing",
          "[e2e][webhook][slack]") {
  gateway_process gw(slack_config());
  const auto body = fixture("slack/url_verification.json");

  auto answered = post(gw, slack_headers(body), body);
  require_status(answered, 200);
  CHECK(answered.header("content-type").find("text/plain") != std::string::npos);
  CHECK(answered.body == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");

  // Unsigned, or signed by another app, it proves nothing: refused, no challenge given.
  auto unsigned_post = post(gw, {{"Content-Type", "application/json"}}, body);
  require_error(unsigned_post, 401, "missing_signature");
  CHECK(unsigned_post.body.find("3eZbrw1aBm2r") == std::string::npos);
  auto forged = post(gw, slack_headers(body, "another-apps-secret"), body);
  require_error(forged, 401, "bad_signature");
  CHECK(forged.body.find("3eZbrw1aBm2r") == std::string::npos);

  CHECK(stored(gw) == 0);
}

TEST_CASE("a signed slack message is stored normalized and a retry of it is stored once",
          "[e2e][webhook][slack]") {
  gateway_process gw(slack_config());
  sse_client stream(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  const auto body = fixture("slack/message_channel_thread.json");

  auto first = post(gw, slack_headers(body), body);
  require_status(first, 200);
  CHECK(json::parse(first.body)["events"].u64() == 1);

  json page = get_events(gw.base_url(), acme.token);
  REQUIRE(page["events"].size() == 1);
  const json& e = page["events"][0];
  CHECK(e["type"].str() == "message");
  CHECK(e["channel"]["name"].str() == "sl");
  CHECK(e["channel"]["type"].str() == "slack");
  CHECK(e["channel"]["account"].str() == k_team);
  CHECK(e["conversation"].str() == "sl:C2147483705");
  CHECK(e["sender"]["platform_id"].str() == "U0G9QF9C6");
  CHECK(e["platform_event_id"].str() == "Ev0PV6C4QK");
  CHECK(e["occurred_at"].str() == "2024-12-03T13:03:32Z");
  CHECK(e["content"]["text"].str() ==
        "Same problem here since this morning, the checkout page times out.");
  CHECK(e["content"]["thread"].str() == "1733230877.003100");
  CHECK(e["subject"].str().rfind("sub_", 0) == 0);
  REQUIRE(stream.wait_for(1));
  CHECK(json::parse(stream.frames().at(0).data)["platform_event_id"].str() == "Ev0PV6C4QK");

  // Slack retries a delivery it saw no 200 for with the same event_id, signed anew.
  auto retry_headers = slack_headers(body);
  retry_headers.emplace_back("X-Slack-Retry-Num", "1");
  retry_headers.emplace_back("X-Slack-Retry-Reason", "http_timeout");
  auto retry = post(gw, retry_headers, body);
  require_status(retry, 200);
  CHECK(json::parse(retry.body)["events"].u64() == 0);
  CHECK(json::parse(retry.body)["duplicates"].u64() == 1);
  CHECK(stored(gw) == 1);
}

TEST_CASE("forged, stale, tampered and misrouted slack requests are refused and not stored",
          "[e2e][webhook][slack]") {
  gateway_process gw(slack_config());
  const auto body = fixture("slack/message.json");

  require_error(post(gw, slack_headers(body, "another-apps-secret"), body), 401, "bad_signature");

  // Correctly signed, ten minutes ago: a replay.
  const auto ten_minutes_ago = sb::timestamp::from_seconds(outbound_e2e::now_s() - 600);
  auto stale = post(gw, slack_headers(body, k_secret, ten_minutes_ago), body);
  require_error(stale, 401, "replayed_request");
  CHECK(json::parse(stale.body)["message"].str().find("stale") != std::string::npos);

  auto tampered = body;
  tampered.replace(tampered.find("on its way"), 10, "on its wav");
  require_error(post(gw, slack_headers(body), tampered), 401, "bad_signature");

  require_error(post(gw, {{"Content-Type", "application/json"}}, body), 401, "missing_signature");

  // Validly signed (one app signs every workspace's events), but another workspace's.
  auto other = body;
  for (int i = 0; i < 2; ++i) {
    other.replace(other.find("\"team_id\": \"T061EG9R6\""), 22, "\"team_id\": \"T0OTHERWS\"");
  }
  require_error(post(gw, slack_headers(other), other), 403, "forbidden");

  CHECK(stored(gw) == 0);
  // The genuine request still goes through.
  require_status(post(gw, slack_headers(body), body), 200);
  CHECK(stored(gw) == 1);
}

TEST_CASE("slack messages go out through chat.postMessage: a 429 is waited out, an error fails",
          "[e2e][outbound][slack]") {
  std::atomic<int> good_attempts{0};
  receiver api([&](const received_request& r, std::size_t) {
    const std::vector<std::pair<std::string, std::string>> json_type{
        {"Content-Type", "application/json; charset=utf-8"}};
    if (r.target != "/api/chat.postMessage") {
      return reply{404, json_type, R"({"ok":false,"error":"unknown_method"})"};
    }
    if (r.has("C0MISSING1")) {
      return reply{200, json_type, R"({"ok":false,"error":"channel_not_found"})"};
    }
    if (good_attempts++ == 0) {
      return reply{429,
                   {{"Content-Type", "application/json; charset=utf-8"}, {"Retry-After", "1"}},
                   R"({"ok":false,"error":"ratelimited"})"};
    }
    return reply{200, json_type,
                 R"({"ok":true,"channel":"C2147483705","ts":"1733231100.000700",)"
                 R"("message":{"type":"message","text":"On it.","ts":"1733231100.000700"}})"};
  });
  gateway_process gw(slack_config(api.url("/api")));

  auto accepted = outbound_e2e::send_message(
      gw, acme.token,
      R"({"channel":"sl","to":"C2147483705","text":"On it.","thread":"1733230877.003100"})");
  require_status(accepted, 202);
  const auto id = json::parse(accepted.body)["id"].str();
  json sent = json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, "sent").body);
  CHECK(sent["platform_message_id"].str() == "1733231100.000700");
  CHECK(sent["attempts"].u64() == 2);

  auto tried = api.requests();
  REQUIRE(tried.size() == 2);
  for (const auto& r : tried) {
    CHECK(r.method == "POST");
    CHECK(r.header("authorization") == "Bearer " + k_bot_token);
    CHECK(r.header("content-type").find("application/json") != std::string::npos);
    json b = json::parse(r.body);
    CHECK(b["channel"].str() == "C2147483705");
    CHECK(b["text"].str() == "On it.");
    CHECK(b["thread_ts"].str() == "1733230877.003100");
  }
  // The 429's Retry-After was waited out (a lower bound: the platform's word, not a timing).
  CHECK(tried[1].at - tried[0].at >= std::chrono::milliseconds(900));

  auto refused = outbound_e2e::send_message(gw, acme.token,
                                            R"({"channel":"sl","to":"C0MISSING1","text":"Hi"})");
  require_status(refused, 202);
  const auto refused_id = json::parse(refused.body)["id"].str();
  json failed =
      json::parse(outbound_e2e::wait_message_state(gw, acme.token, refused_id, "failed").body);
  CHECK(failed["error"]["code"].str() == "channel_not_found");
  CHECK(failed["attempts"].u64() == 1);
  CHECK(api.requests().size() == 3);  // no retry
}

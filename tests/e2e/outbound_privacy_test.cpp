// End-to-end, the real binary against fake platforms on 127.0.0.1 (docs/outbound.md): a
// pseudonymizing tenant's backend replies by the pseudonymous conversation its events name and
// the platform gets the person's real id, which the backend never sees and the outbox never holds
// in the clear; an Idempotency-Key replayed after a restart gets the first answer even when the
// policy would now refuse the message; a bad outbound rate setting stops --check-config and
// start-up.
#include <catch2/catch.hpp>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "e2e/checks.hpp"
#include "e2e/outbound_support.hpp"
#include "e2e/payloads.hpp"
#include "integration/delivery/receiver.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/signing.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant hush{"hush", "sbt_e2e_outbound_hush_8d1e4a7c02"};      // pseudonymizes
const test_tenant strict{"strict", "sbt_e2e_outbound_strict_2b9f6c1e57"};  // no replies after STOP
const std::string k_phone = "16505551234";
const std::int64_t k_chat = 532189746;

using outbound_e2e::now_s;
using outbound_e2e::fake_platforms;
using e2e_checks::require_status;

/// hush (privacy.pseudonymize: true): wa-main and tg. strict (replies after an opt-out turned
/// off): wa-main. Each has the subscriber `backend` (stream, send, privacy). SQLite under `dir`.
std::string config_yaml(const fake_platforms& fake, const std::string& dir) {
  yaml_config y;
  y.server("io_threads: 2").sqlite(dir);
  for (const auto* t : {&hush, &strict}) {
    y.tenant(t->id, t == &hush ? "    privacy:\n      pseudonymize: true\n"
                               : "    privacy:\n      allow_replies_after_opt_out: false\n");
    y.whatsapp(*t, {{"access_token", "wa-token-" + t->id}, {"api_base", fake.base("/wa/" + t->id)}});
    if (t == &hush) {
      y.telegram(*t, {{"bot_token", "123456789:tg-bot-token"}, {"api_base", fake.base("/tg")}});
    }
    y.subscriber("backend", t->token, "[stream, send, privacy]");
  }
  return y.str();
}

/// POST /v1/messages as `t` (a 503 is retried).
http_result send(const gateway_process& gw, const test_tenant& t, const std::string& body,
                 const header_list& extra = {}) {
  return outbound_e2e::send_message(gw, t.token, body, extra);
}

std::string send_ok(const gateway_process& gw, const test_tenant& t, const std::string& body,
                    const header_list& extra = {}) {
  auto r = send(gw, t, body, extra);
  require_status(r, 202);
  return json::parse(r.body)["id"].str();
}

/// The message once its state is `state`; the answer never names the person's number.
json wait_state(const gateway_process& gw, const test_tenant& t, const std::string& id,
                const std::string& state) {
  auto r = outbound_e2e::wait_message_state(gw, t.token, id, state);
  CHECK(r.body.find(k_phone) == std::string::npos);
  return json::parse(r.body);
}

void post_whatsapp(const gateway_process& gw, const test_tenant& t, int n, const std::string& from,
                   const std::string& text) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, "Sheena Nelson", text, now_s());
  require_status(request("POST", gw.base_url() + "/webhooks/" + t.id + "/wa-main",
                         signing::whatsapp(t.wa_app_secret(), body), body),
                 200);
}

/// The newest event of `type` on `channel` (its JSON), once there is one.
json newest_event(const gateway_process& gw, const test_tenant& t, const std::string& type,
                  const std::string& channel) {
  json found;
  bool any = false;
  json all = get_events(gw.base_url(), t.token, "after=0&limit=1000&types=" + type);
  for (const auto& e : all["events"].items()) {
    if (e["channel"]["name"].str() == channel) {
      found = e;
      any = true;
    }
  }
  REQUIRE(any);
  return found;
}

/// The `outbound.status` event that says `id` was sent, once it is there.
json wait_sent_event(const gateway_process& gw, const test_tenant& t, const std::string& id) {
  return outbound_e2e::wait_sent_event(gw, t.token, id);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs `command` through the shell; its exit code and what it wrote (stdout and stderr).
std::pair<int, std::string> run(const std::string& command) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE(
    "a pseudonymizing tenant replies by its pseudonymous conversation, the platform gets the "
    "real id, which neither the backend nor the outbox sees",
    "[e2e][outbound][privacy]") {
  fake_platforms fake;
  temp_dir dir{"sb-e2e-outbound-privacy"};
  std::string conversation;
  {
    gateway_process gw(config_yaml(fake, dir.path));
    post_whatsapp(gw, hush, 1, k_phone, "Where is my order?");
    json in = newest_event(gw, hush, "message", "wa-main");
    conversation = in["conversation"].str();
    INFO(conversation);
    REQUIRE(conversation.rfind("wa-main:anon_", 0) == 0);

    // The backend answers by the conversation it was given.
    const auto id = send_ok(gw, hush,
                            R"({"conversation":")" + conversation +
                                R"(","text":"It ships today."})");
    REQUIRE(fake.wait_for("/wa/hush/", 1));
    auto req = fake.to("/wa/hush/").at(0);
    CHECK(req.target == "/wa/hush/" + hush.wa_phone_number_id() + "/messages");
    CHECK(json::parse(req.body)["to"].str() == k_phone);
    CHECK(json::parse(req.body)["text"]["body"].str() == "It ships today.");
    json sent = wait_state(gw, hush, id, "sent");
    CHECK(sent["conversation"].str() == conversation);

    // The status event names the conversation and the person's subject, never the number.
    json status = wait_sent_event(gw, hush, id);
    CHECK(status["conversation"].str() == conversation);
    CHECK(status["subject"].str() == in["subject"].str());

    // A message to the real id belongs to the same pseudonymous conversation (and window).
    const auto by_id = send_ok(gw, hush, R"({"channel":"wa-main","to":")" + k_phone +
                                             R"(","text":"Tracking: 42"})");
    CHECK(wait_state(gw, hush, by_id, "sent")["conversation"].str() == conversation);

    // A pseudonym nobody wrote from is not a person: 404, nothing sent.
    auto unknown = send(gw, hush, R"({"conversation":"wa-main:anon_0000000000000000",)"
                                  R"("template":{"name":"hello","language":"en_US"}})");
    require_status(unknown, 404);
    CHECK(json::parse(unknown.body)["error"].str() == "unknown_conversation");
    CHECK(json::parse(unknown.body)["message"].str().find("'conversation'") != std::string::npos);

    // Telegram: the chat id comes back as the number it is.
    const std::string tg_update =
        R"({"update_id":9001,"message":{"message_id":5001,"from":{"id":)" +
        std::to_string(k_chat) + R"(,"is_bot":false,"first_name":"Amélie"},"chat":{"id":)" +
        std::to_string(k_chat) + R"(,"first_name":"Amélie","type":"private"},"date":)" +
        std::to_string(now_s()) + R"(,"text":"hello"}})";
    require_status(request("POST", gw.base_url() + "/webhooks/hush/tg",
                           signing::telegram(hush.tg_secret_token()), tg_update),
                   200);
    const std::string tg_conversation = newest_event(gw, hush, "message", "tg")["conversation"].str();
    REQUIRE(tg_conversation.rfind("tg:anon_", 0) == 0);
    const auto tg_id =
        send_ok(gw, hush, R"({"conversation":")" + tg_conversation + R"(","text":"Hi!"})");
    REQUIRE(fake.wait_for("/tg/", 1));
    CHECK(json::parse(fake.to("/tg/").at(0).body)["chat_id"].number_text() ==
          std::to_string(k_chat));
    wait_state(gw, hush, tg_id, "sent");
  }  // SIGKILL

  // The outbox holds the number only sealed (message, window row), and the pseudonymous
  // conversation only as a keyed digest.
  const std::string bytes = file_bytes(dir.path + "/outbox.db") +
                            file_bytes(dir.path + "/outbox.db-wal");
  CHECK(bytes.find(conversation) == std::string::npos);
  CHECK(bytes.find(k_phone) == std::string::npos);

  // After a restart the conversation still reaches the person.
  gateway_process gw(config_yaml(fake, dir.path));
  const auto again =
      send_ok(gw, hush, R"({"conversation":")" + conversation + R"(","text":"Delivered?"})");
  wait_state(gw, hush, again, "sent");
  auto wa = fake.to("/wa/hush/");
  REQUIRE(wa.size() == 3);
  CHECK(json::parse(wa.back().body)["to"].str() == k_phone);
}

TEST_CASE(
    "an Idempotency-Key replayed after a restart gets the first answer, even when the policy "
    "would now refuse the message, the platform gets it once",
    "[e2e][outbound][idempotency]") {
  fake_platforms fake;
  temp_dir dir{"sb-e2e-outbound-privacy"};
  const std::string body = R"({"channel":"wa-main","to":"16505557777","text":"On its way."})";
  const header_list key{{"Idempotency-Key", "reply-order-42"}};
  std::string id;
  {
    gateway_process gw(config_yaml(fake, dir.path));
    post_whatsapp(gw, strict, 1, "16505557777", "Where is my parcel?");
    id = send_ok(gw, strict, body, key);
    wait_state(gw, strict, id, "sent");
    auto metrics = request("GET", gw.base_url() + "/metrics", {});
    require_status(metrics, 200);
    const std::string series =
        "switchboard_outbound_messages_total{tenant=\"strict\",channel=\"wa-main\",state=";
    CHECK(metrics.body.find(series + "\"queued\"} 1\n") != std::string::npos);
    CHECK(metrics.body.find(series + "\"sent\"} 1\n") != std::string::npos);
  }  // SIGKILL: the memory of keys is gone

  gateway_process gw(config_yaml(fake, dir.path));
  // The person opts out: strict sends them nothing any more, not even replies...
  post_whatsapp(gw, strict, 2, "16505557777", "STOP");
  auto refused = send(gw, strict, body);
  require_status(refused, 409);
  CHECK(json::parse(refused.body)["error"].str() == "opted_out");
  // ...but the retry of the request that was accepted is answered as it was then.
  auto replay = send(gw, strict, body, key);
  require_status(replay, 202);
  CHECK(json::parse(replay.body)["id"].str() == id);
  CHECK(json::parse(replay.body)["state"].str() == "sent");
  CHECK(replay.header("idempotent-replayed") == "true");
  // The same key for another message is still a conflict, and a replay is still recognised
  // once the tenant remembers the key in memory again.
  auto other = send(gw, strict, R"({"channel":"wa-main","to":"16505557777","text":"Other."})", key);
  require_status(other, 409);
  CHECK(json::parse(other.body)["error"].str() == "idempotency_conflict");
  require_status(send(gw, strict, body, key), 202);
  CHECK(fake.to("/wa/strict/").size() == 1);
  // Counted: the refusal by its reason; the replays are not new messages.
  auto metrics = request("GET", gw.base_url() + "/metrics", {});
  CHECK(metrics.body.find(
            "switchboard_outbound_refusals_total{tenant=\"strict\",reason=\"opted_out\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.body.find("switchboard_outbound_messages_total{tenant=\"strict\",channel=\"wa-"
                          "main\",state=\"queued\"}") == std::string::npos);
}

TEST_CASE("a bad outbound rate setting fails --check-config and start-up, naming the key",
          "[e2e][outbound][config]") {
  temp_dir dir{"sb-e2e-outbound-privacy"};
  const std::string path = dir.path + "/switchboard.yaml";
  {
    std::ofstream f(path);
    f << "storage:\n"
         "  backend: memory\n"
         "  master_key: \""
      << test_master_key
      << "\"\n"
         "tenants:\n"
         "  - id: acme\n"
         "    channels:\n"
         "      - name: tg\n"
         "        type: telegram\n"
         "        secret_token: s\n"
         "        rate_per_second: fast\n";
  }
  const std::string problem =
      path + ":10: tenants[0].channels[0].rate_per_second: must be a non-negative number";
  auto [check_code, check_out] = run(std::string(SB_BINARY) + " --check-config " + path);
  INFO(check_out);
  CHECK(check_code == 1);
  CHECK(check_out.find(problem) != std::string::npos);
  // `timeout` ends a gateway that would start anyway (124): it must not get that far.
  auto [start_code, start_out] = run("timeout 20 " + std::string(SB_BINARY) + " --config " + path);
  INFO(start_out);
  CHECK(start_code == 2);
  CHECK(start_out.find(problem) != std::string::npos);
}

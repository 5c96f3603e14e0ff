// End-to-end: outbound messages (DESIGN §6, §7; docs/outbound.md) from the real binary to fake
// platform servers on 127.0.0.1: the exact request each platform gets, the 24-hour window,
// consent, status correlation, a restart that resumes an unsent message, the limits, and the
// API's errors, scopes and tenant isolation.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
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
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"
#include "support/signing.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_outbound_acme_6c2f90d1b7"};
const test_tenant globex{"globex", "sbt_e2e_outbound_globex_3e8a51c4f2"};
const std::string k_reader = "sbt_e2e_outbound_reader_9b0d27e6a4";    // acme, stream only
const std::string k_limited = "sbt_e2e_outbound_limited_5f1c83a9e0";  // acme, send, 1 per 100 s
const std::string k_wa_token = "wa-access-token-acme";
const std::string k_fb_token = "fb-access-token-acme";
const std::string k_tg_token = "123456789:tg-bot-token-acme";
const std::string k_phone_id = "106540352242922";

using outbound_e2e::now_ms;
using outbound_e2e::now_s;
using outbound_e2e::fake_platforms;
using e2e_checks::require_status;

struct options {
  std::string store_dir;  ///< "" = memory
  bool ingress_limit = false;
};

/// acme: wa-main, tg and fb pointing at `fake`; subscribers backend (stream, send, privacy),
/// reader (stream), limited (send, 1 message per 100 s). globex: wa-main and tg, replies to
/// opted-out people turned off, subscriber backend.
std::string outbound_config(const fake_platforms& fake, const options& o = {}) {
  yaml_config y;
  y.server("io_threads: 2");
  if (!o.store_dir.empty()) {
    y.sqlite(o.store_dir);
  }
  for (const auto* t : {&acme, &globex}) {
    const bool is_acme = t == &acme;
    y.tenant(t->id, is_acme ? (o.ingress_limit ? "    rate_limit: {rps: 0.01, burst: 2}\n" : "")
                            : "    privacy:\n      allow_replies_after_opt_out: false\n");
    y.whatsapp(*t, {{"access_token", "wa-access-token-" + t->id},
                    {"api_base", fake.base("/wa/v21.0")}});
    y.telegram(*t, {{"bot_token", "123456789:tg-bot-token-" + t->id},
                    {"api_base", fake.base("/tg")}});
    if (is_acme) {
      y.messenger(*t, {{"access_token", k_fb_token}, {"api_base", fake.base("/fb/v21.0")}},
                  "        human_agent_tag: true\n");
    }
    y.subscriber("backend", t->token, "[stream, send, privacy]");
    if (is_acme) {
      y.subscriber("reader", k_reader, "[stream]");
      y.subscriber("limited", k_limited, "[send]",
                   "        send_rate_limit: {rps: 0.01, burst: 1}\n");
    }
  }
  return y.str();
}

using e2e_checks::require_error;

std::string message_of(const http_result& r) {
  return json::parse(r.body)["message"].str();
}

http_result send(const gateway_process& gw, const std::string& token, const std::string& body,
                 const header_list& extra = {}) {
  return outbound_e2e::send_message(gw, token, body, extra);
}

/// POST /v1/messages that must be accepted; returns the out_ id.
std::string send_ok(const gateway_process& gw, const std::string& body,
                    const std::string& token = acme.token) {
  auto r = send(gw, token, body);
  require_status(r, 202);
  json j = json::parse(r.body);
  const std::string id = j["id"].str();
  CHECK(id.rfind("out_", 0) == 0);
  CHECK(j["state"].str() == "queued");
  CHECK(r.header("location") == "/v1/messages/" + id);
  return id;
}

http_result get_message(const gateway_process& gw, const std::string& id,
                        const std::string& token = acme.token, const std::string& query = "") {
  return request("GET", gw.base_url() + "/v1/messages/" + id + query, bearer(token));
}

/// The message once its state is `state` (a generous bound only).
json wait_state(const gateway_process& gw, const std::string& id, const std::string& state) {
  return json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, state).body);
}

/// The outbound.status events of `id` on /v1/events, once `n` of them are there.
std::vector<json> wait_statuses(const gateway_process& gw, const std::string& id, std::size_t n,
                                const std::string& token = acme.token) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    std::vector<json> out;
    json all = get_events(gw.base_url(), token, "after=0&limit=1000&types=outbound.status");
    for (const auto& e : all["events"].items()) {
      if (e["outbound"]["id"].str() == id) {
        out.push_back(e);
      }
    }
    if (out.size() >= n || std::chrono::steady_clock::now() >= until) {
      REQUIRE(out.size() >= n);
      return out;
    }
    std::this_thread::sleep_for(20ms);
  }
}

/// Waits for the `outbound.status` event that says `id` was sent.
void wait_sent_status(const gateway_process& gw, const std::string& id) {
  outbound_e2e::wait_sent_event(gw, acme.token, id);
}

std::vector<std::string> states_of(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(e["outbound"]["state"].str());
  }
  return out;
}

/// The subject of the newest `message` event of `conversation`.
std::string subject_of(const gateway_process& gw, const std::string& conversation) {
  return outbound_e2e::newest_subject(gw, acme.token, conversation);
}

void post_whatsapp(const gateway_process& gw, const test_tenant& t, int n, const std::string& from,
                   const std::string& text, long timestamp_s) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, "Sheena Nelson", text, timestamp_s);
  require_status(request("POST", gw.base_url() + "/webhooks/" + t.id + "/wa-main",
                         signing::whatsapp(t.wa_app_secret(), body), body),
                 200);
}

void post_whatsapp_status(const gateway_process& gw, const std::string& wamid,
                          const std::string& state, const std::string& recipient) {
  const auto body = pl::wa_status_webhook(wamid, state, recipient, now_s());
  require_status(request("POST", gw.base_url() + "/webhooks/acme/wa-main",
                         signing::whatsapp(acme.wa_app_secret(), body), body),
                 200);
}

void post_telegram(const gateway_process& gw, const test_tenant& t, int update_id,
                   std::int64_t chat, const std::string& text, long date_s) {
  const std::string body =
      R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" +
      std::to_string(5000 + update_id) + R"(,"from":{"id":)" + std::to_string(chat) +
      R"(,"is_bot":false,"first_name":"Amélie"},"chat":{"id":)" + std::to_string(chat) +
      R"(,"first_name":"Amélie","type":"private"},"date":)" + std::to_string(date_s) +
      R"(,"text":)" + pl::quoted(text) + "}}";
  require_status(request("POST", gw.base_url() + "/webhooks/" + t.id + "/tg",
                         signing::telegram(t.tg_secret_token()), body),
                 200);
}

/// One Messenger `messaging` item to the page, as a whole webhook body.
std::string messenger_body(const std::string& item) {
  return R"({"object":"page","entry":[{"id":")" + acme.fb_page_id() + R"(","time":)" +
         std::to_string(now_ms()) + R"(,"messaging":[)" + item + "]}]}";
}

void post_messenger(const gateway_process& gw, const std::string& item) {
  const auto body = messenger_body(item);
  require_status(request("POST", gw.base_url() + "/webhooks/acme/fb",
                         signing::messenger(acme.fb_app_secret(), body), body),
                 200);
}

std::string messenger_text(const std::string& psid, const std::string& mid, const std::string& text,
                           std::int64_t at_ms) {
  return R"({"sender":{"id":")" + psid + R"("},"recipient":{"id":")" + acme.fb_page_id() +
         R"("},"timestamp":)" + std::to_string(at_ms) + R"(,"message":{"mid":")" + mid +
         R"(","text":)" + pl::quoted(text) + "}}";
}

std::string messenger_read(const std::string& psid, std::int64_t watermark) {
  return R"({"sender":{"id":")" + psid + R"("},"recipient":{"id":")" + acme.fb_page_id() +
         R"("},"timestamp":)" + std::to_string(watermark + 10) + R"(,"read":{"watermark":)" +
         std::to_string(watermark) + "}}";
}

}  // namespace

TEST_CASE(
    "WhatsApp: a reply in the window goes to /{phone_number_id}/messages with the access token, "
    "sent, delivered and read reach the stream with its id",
    "[e2e][outbound][whatsapp]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));
  sse_client stream(gw.base_url() + "/v1/stream?types=outbound.status", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);

  post_whatsapp(gw, acme, 1, "16505551234", "Where is my order?", now_s());
  const auto id = send_ok(
      gw,
      R"({"channel":"wa-main","to":"16505551234","text":"It ships today.","purpose":"support"})");

  REQUIRE(fake.wait_for("/wa/", 1));
  const auto req = fake.to("/wa/").at(0);
  CHECK(req.method == "POST");
  CHECK(req.target == "/wa/v21.0/" + k_phone_id + "/messages");
  CHECK(req.header("authorization") == "Bearer " + k_wa_token);
  CHECK(req.header("content-type") == "application/json");
  json body = json::parse(req.body);
  CHECK(body["messaging_product"].str() == "whatsapp");
  CHECK(body["to"].str() == "16505551234");
  CHECK(body["type"].str() == "text");
  CHECK(body["text"]["body"].str() == "It ships today.");

  json sent = wait_state(gw, id, "sent");
  CHECK(sent["id"].str() == id);
  CHECK(sent["channel"].str() == "wa-main");
  CHECK(sent["conversation"].str() == "wa-main:16505551234");
  CHECK(sent["purpose"].str() == "support");
  CHECK(sent["platform_message_id"].str() == "wamid.OUT1");
  CHECK(sent["attempts"].u64() == 1);
  CHECK(sent["error"].is_null());
  CHECK_FALSE(sent["created_at"].str().empty());

  // The platform's receipts for that wamid are linked to the out_ id.
  wait_statuses(gw, id, 1);  // "sent" is announced first
  post_whatsapp_status(gw, "wamid.OUT1", "delivered", "16505551234");
  wait_state(gw, id, "delivered");
  post_whatsapp_status(gw, "wamid.OUT1", "read", "16505551234");
  wait_state(gw, id, "read");
  auto statuses = wait_statuses(gw, id, 3);
  CHECK(states_of(statuses) == std::vector<std::string>{"sent", "delivered", "read"});
  for (const auto& e : statuses) {
    CHECK(e["type"].str() == "outbound.status");
    CHECK(e["conversation"].str() == "wa-main:16505551234");
    CHECK(e["channel"]["name"].str() == "wa-main");
    CHECK(e["outbound"]["platform_message_id"].str() == "wamid.OUT1");
    CHECK(e["subject"].str() == subject_of(gw, "wa-main:16505551234"));
  }
  // A repeated receipt (the platform retries webhooks) changes nothing.
  post_whatsapp_status(gw, "wamid.OUT1", "delivered", "16505551234");

  // The same events on the SSE stream.
  REQUIRE(stream.wait_for(3));
  auto frames = stream.frames();
  std::vector<std::string> streamed;
  for (const auto& f : frames) {
    CHECK(f.event == "outbound.status");
    json e = json::parse(f.data);
    CHECK(e["outbound"]["id"].str() == id);
    streamed.push_back(e["outbound"]["state"].str());
  }
  CHECK(streamed == std::vector<std::string>{"sent", "delivered", "read"});
  CHECK(wait_statuses(gw, id, 3).size() == 3);
}

TEST_CASE("Telegram: sendMessage with an inline keyboard, the bot token in the path, no window",
          "[e2e][outbound][telegram]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));
  // Nobody wrote: Telegram has no customer-service window.
  const auto id = send_ok(
      gw,
      R"({"channel":"tg","to":532189746,"text":"Rate us",)"
      R"("keyboard":[[{"text":"Good","callback_data":"rate:up"},{"text":"Site","url":"https://acme.example"}]]})");
  REQUIRE(fake.wait_for("/tg/", 1));
  const auto req = fake.to("/tg/").at(0);
  CHECK(req.method == "POST");
  CHECK(req.target == "/tg/bot" + k_tg_token + "/sendMessage");
  CHECK(req.header("authorization").empty());
  CHECK(req.header("content-type") == "application/json");
  json body = json::parse(req.body);
  CHECK(body["chat_id"].number_text() == "532189746");
  CHECK(body["text"].str() == "Rate us");
  const json& row = body["reply_markup"]["inline_keyboard"][0];
  CHECK(row[0]["text"].str() == "Good");
  CHECK(row[0]["callback_data"].str() == "rate:up");
  CHECK(row[1]["url"].str() == "https://acme.example");

  json sent = wait_state(gw, id, "sent");
  CHECK(sent["platform_message_id"].str() == "7000");
  CHECK(sent["conversation"].str() == "tg:532189746");
}

TEST_CASE(
    "Messenger: quick replies go to /me/messages with the page token, a read watermark marks "
    "the reply read",
    "[e2e][outbound][messenger]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));
  const std::string psid = "1254477777772919";
  post_messenger(gw, messenger_text(psid, "m_in_1", "Which colors?", now_ms()));
  const auto id = send_ok(gw, R"({"conversation":"fb:)" + psid +
                                  R"(","text":"Pick a color:","quick_replies":[{"title":"Red",)"
                                  R"("payload":"COLOR_RED"},{"title":"Green"}]})");
  REQUIRE(fake.wait_for("/fb/", 1));
  const auto req = fake.to("/fb/").at(0);
  CHECK(req.method == "POST");
  CHECK(req.target == "/fb/v21.0/me/messages");
  CHECK(req.header("authorization") == "Bearer " + k_fb_token);
  CHECK(req.header("content-type") == "application/json");
  CHECK(req.target.find("access_token") == std::string::npos);
  json body = json::parse(req.body);
  CHECK(body["recipient"]["id"].str() == psid);
  CHECK(body["messaging_type"].str() == "RESPONSE");
  CHECK(body["message"]["text"].str() == "Pick a color:");
  CHECK(body["message"]["quick_replies"][0]["content_type"].str() == "text");
  CHECK(body["message"]["quick_replies"][0]["payload"].str() == "COLOR_RED");
  CHECK(body["message"]["quick_replies"][1]["payload"].str() == "Green");

  json sent = wait_state(gw, id, "sent");
  CHECK(sent["platform_message_id"].str() == "m_OUT1");
  wait_statuses(gw, id, 1);
  // Messenger's read receipt names no message: everything sent up to its watermark was read.
  post_messenger(gw, messenger_read(psid, now_ms() + 1000));
  wait_state(gw, id, "read");
  CHECK(states_of(wait_statuses(gw, id, 2)) == std::vector<std::string>{"sent", "read"});
}

TEST_CASE(
    "the 24-hour window: free-form text to a person who has not written is refused with 409, a "
    "template goes, and their message opens the window",
    "[e2e][outbound][window]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));
  const std::string text = R"({"channel":"wa-main","to":"15550001111","text":"Hello!"})";

  auto refused = send(gw, acme.token, text);
  require_error(refused, 409, "window_closed");
  CHECK(message_of(refused).find("template") != std::string::npos);
  CHECK(message_of(refused).find("24 hours") != std::string::npos);

  const auto templ = send_ok(gw, R"({"channel":"wa-main","to":"15550001111",)"
                                 R"("template":{"name":"order_update","language":"en_US"}})");
  wait_state(gw, templ, "sent");
  REQUIRE(fake.to("/wa/").size() == 1);  // the refused text never reached the platform
  json body = json::parse(fake.to("/wa/").at(0).body);
  CHECK(body["type"].str() == "template");
  CHECK(body["template"]["name"].str() == "order_update");
  CHECK(body["template"]["language"]["code"].str() == "en_US");

  // A message from the person two days ago does not open it; one now does.
  post_whatsapp(gw, acme, 11, "15550001111", "old question", now_s() - 48 * 3600);
  require_error(send(gw, acme.token, text), 409, "window_closed");
  post_whatsapp(gw, acme, 12, "15550001111", "Hi, any news?", now_s());
  const auto reply = send_ok(gw, text);
  wait_state(gw, reply, "sent");
  CHECK(fake.to("/wa/").size() == 2);

  // Messenger: outside the window only a human agent, within 7 days, where the channel allows.
  const std::string psid = "2254477777772919";
  const std::string fb_text = R"({"channel":"fb","to":")" + psid + R"(","text":"Following up"})";
  const std::string human = R"({"channel":"fb","to":")" + psid +
                            R"(","text":"Following up","messaging_type":"MESSAGE_TAG",)"
                            R"("tag":"HUMAN_AGENT"})";
  auto fb_refused = send(gw, acme.token, fb_text);
  require_error(fb_refused, 409, "window_closed");
  CHECK(message_of(fb_refused).find("HUMAN_AGENT") != std::string::npos);
  CHECK(message_of(fb_refused).find("7 days") != std::string::npos);
  require_error(send(gw, acme.token, human), 409, "window_closed");  // never wrote at all
  post_messenger(gw, messenger_text(psid, "m_in_3d", "help?", now_ms() - 3LL * 24 * 3600 * 1000));
  require_error(send(gw, acme.token, fb_text), 409, "window_closed");
  const auto tagged = send_ok(gw, human);
  wait_state(gw, tagged, "sent");
  json fb_body = json::parse(fake.to("/fb/").at(0).body);
  CHECK(fb_body["messaging_type"].str() == "MESSAGE_TAG");
  CHECK(fb_body["tag"].str() == "HUMAN_AGENT");
}

TEST_CASE(
    "consent: marketing needs granted consent, after STOP only replies go out, and not where "
    "the tenant turns replies off",
    "[e2e][outbound][consent]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));

  // Marketing to a person in the window: consent first.
  post_whatsapp(gw, acme, 21, "16505559876", "Hi", now_s());
  const std::string promo =
      R"({"channel":"wa-main","to":"16505559876","text":"20% off today","purpose":"marketing"})";
  auto refused = send(gw, acme.token, promo);
  require_error(refused, 409, "consent_required");
  CHECK(message_of(refused).find("marketing") != std::string::npos);
  const auto subject = subject_of(gw, "wa-main:16505559876");
  require_status(
      request("PUT", gw.base_url() + "/v1/subjects/" + subject + "/consent",
              {{"Authorization", "Bearer " + acme.token}, {"Content-Type", "application/json"}},
              R"({"purpose":"marketing","granted":true})"),
      200);
  wait_state(gw, send_ok(gw, promo), "sent");

  // A person who sent STOP two days ago: nothing that is not a reply, not even a template.
  post_whatsapp(gw, acme, 22, "16505550000", "STOP", now_s() - 48 * 3600);
  auto templ = send(gw, acme.token,
                    R"({"channel":"wa-main","to":"16505550000",)"
                    R"("template":{"name":"order_update","language":"en_US"}})");
  require_error(templ, 409, "opted_out");
  // They write again: support replies go (the tenant allows them by default), marketing not.
  post_whatsapp(gw, acme, 23, "16505550000", "Where is my parcel?", now_s());
  wait_state(gw, send_ok(gw, R"({"channel":"wa-main","to":"16505550000","text":"On its way."})"),
             "sent");
  auto promo_after_stop =
      send(gw, acme.token,
           R"({"channel":"wa-main","to":"16505550000","text":"Sale!","purpose":"marketing"})");
  REQUIRE(promo_after_stop.status == 409);

  // Telegram has no window: an opted-out chat gets only replies to a recent message.
  post_telegram(gw, acme, 31, 900100, "STOP", now_s() - 48 * 3600);
  require_error(send(gw, acme.token, R"({"channel":"tg","to":900100,"text":"News!"})"), 409,
                "opted_out");

  // globex turns replies after an opt-out off: STOP now, and even a reply is refused.
  post_whatsapp(gw, globex, 41, "16505551111", "STOP", now_s());
  auto globex_reply =
      send(gw, globex.token, R"({"channel":"wa-main","to":"16505551111","text":"Noted."})");
  require_error(globex_reply, 409, "opted_out");
  CHECK(message_of(globex_reply).find("allow_replies_after_opt_out") != std::string::npos);
  CHECK(fake.to("/wa/").size() == 2);  // the marketing message and the reply, nothing else
}

TEST_CASE(
    "a message the platform refused with 503 is sent after a restart, under the same id, the "
    "window survives the restart too",
    "[e2e][outbound][durability]") {
  fake_platforms fake;
  temp_dir dir{"sb-e2e-outbound"};
  fake.failing() = 503;
  std::string id;
  {
    gateway_process gw(outbound_config(fake, {dir.path}));
    post_whatsapp(gw, acme, 51, "16505552222", "Hello", now_s());
    id = send_ok(gw, R"({"channel":"tg","to":532189746,"text":"Your code is 1234"})");
    REQUIRE(fake.wait_for("/tg/", 1));  // tried, refused: queued for a retry
    auto r = get_message(gw, id);
    require_status(r, 200);
    CHECK(json::parse(r.body)["state"].str() != "sent");
  }  // SIGKILL: nothing graceful
  fake.failing() = 0;
  const auto tried_before = fake.to("/tg/").size();

  gateway_process gw(outbound_config(fake, {dir.path}));
  json sent = wait_state(gw, id, "sent");
  CHECK(sent["attempts"].u64() >= 2);
  const auto tg = fake.to("/tg/");
  REQUIRE(tg.size() > tried_before);
  CHECK(json::parse(tg.back().body)["text"].str() == "Your code is 1234");
  wait_sent_status(gw, id);

  // The person wrote before the restart: the window is restored from the outbox.
  const auto reply = send_ok(gw, R"({"channel":"wa-main","to":"16505552222","text":"Hi!"})");
  wait_state(gw, reply, "sent");
}

TEST_CASE(
    "window rows a power cut took (they commit without a disk sync) are written again from the "
    "event log at start",
    "[e2e][outbound][durability][window]") {
  fake_platforms fake;
  temp_dir dir{"sb-e2e-outbound"};
  {
    gateway_process gw(outbound_config(fake, {dir.path}));
    post_whatsapp(gw, acme, 61, "16505553333", "Hello", now_s());
    // A send reads the window through the outbox writer, after the rows that wait there.
    wait_state(gw, send_ok(gw, R"({"channel":"wa-main","to":"16505553333","text":"Hi!"})"),
               "sent");
  }  // SIGKILL
  {
    // What a power cut can do to the rows written without a sync: the outbox lost them.
    raw_db raw(dir.path, "outbox.db");
    REQUIRE(raw.rows("SELECT seq FROM window_heads WHERE tenant = 'acme'").at(0).at(0) != "0");
    raw.exec("DELETE FROM last_inbound");
    raw.exec("UPDATE window_heads SET seq = 0");
  }
  gateway_process gw(outbound_config(fake, {dir.path}));
  // Without the repair the window would be closed (409 window_closed).
  wait_state(gw, send_ok(gw, R"({"channel":"wa-main","to":"16505553333","text":"Again"})"),
             "sent");
  raw_db raw(dir.path, "outbox.db");
  CHECK(raw.rows("SELECT count(*) FROM last_inbound WHERE tenant = 'acme'").at(0).at(0) == "1");
}

TEST_CASE("limits: the tenant's webhook rate and a token's send rate answer 429 with Retry-After",
          "[e2e][outbound][limits]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake, {"", true}));
  const std::string url = gw.base_url() + "/webhooks/acme/tg";
  auto update = [](int n) {
    return R"({"update_id":)" + std::to_string(n) +
           R"(,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1733230345,"text":"x"}})";
  };
  // burst 2, then one per 100 s.
  for (int n = 1; n <= 2; ++n) {
    require_status(request("POST", url, signing::telegram(acme.tg_secret_token()), update(n)), 200);
  }
  auto limited = request("POST", url, signing::telegram(acme.tg_secret_token()), update(3));
  require_error(limited, 429, "rate_limited");
  const int retry_after = std::stoi(limited.header("retry-after"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 100);
  // Another tenant is not affected.
  require_status(request("POST", gw.base_url() + "/webhooks/globex/tg",
                         signing::telegram(globex.tg_secret_token()), update(4)),
                 200);

  // `limited` may send one message per 100 s.
  const std::string msg = R"({"channel":"tg","to":532189746,"text":"one"})";
  send_ok(gw, msg, k_limited);
  auto second = send(gw, k_limited, msg);
  require_error(second, 429, "rate_limited");
  CHECK(std::stoi(second.header("retry-after")) >= 1);
  // The tenant's other tokens have their own budget.
  send_ok(gw, msg);
}

TEST_CASE(
    "POST /v1/messages: bad input is a 400 naming the field, scopes, tenants and idempotency "
    "keys are enforced",
    "[e2e][outbound][api]") {
  fake_platforms fake;
  gateway_process gw(outbound_config(fake));
  const std::string ok_body = R"({"channel":"tg","to":532189746,"text":"hi"})";

  require_error(send(gw, "", ok_body), 401, "unauthorized");
  require_error(send(gw, k_reader, ok_body), 403, "forbidden");
  require_error(get_message(gw, "out_01JDX3V7Q4K9M2T8R6W5Y0ZB1C", k_reader), 403, "forbidden");

  struct bad {
    std::string body;
    std::string field;
  };
  for (const auto& b : std::vector<bad>{
           {R"({"channel":"tg","to":532189746,"text":5})", "'text'"},
           {R"({"channel":"tg","to":532189746,"text":"x","colour":"red"})", "'colour'"},
           {R"({"channel":"tg","to":532189746,"text":"x","purpose":"sales"})", "'purpose'"},
           {R"({"channel":"tg","to":532189746,"template":{"name":"t","language":"en"}})",
            "'template'"},
           {R"({"to":532189746,"text":"x"})", "'channel'"},
           {R"(not json)", ""},
       }) {
    CAPTURE(b.body);
    auto r = send(gw, acme.token, b.body);
    require_error(r, 400, "bad_request");
    CHECK(message_of(r).find(b.field) != std::string::npos);
  }
  auto unknown = send(gw, acme.token, R"({"channel":"nope","to":"1","text":"x"})");
  require_error(unknown, 404, "unknown_channel");
  CHECK(message_of(unknown).find("'channel'") != std::string::npos);
  auto bad_key = send(gw, acme.token, ok_body, {{"Idempotency-Key", "has spaces in it"}});
  require_error(bad_key, 400, "bad_request");
  CHECK(message_of(bad_key).find("Idempotency-Key") != std::string::npos);
  CHECK(fake.to("/").empty());

  // Idempotency: the retry gets the same message; another body with the key is refused.
  const header_list key{{"Idempotency-Key", "order-42-shipped"}};
  auto first = send(gw, acme.token, ok_body, key);
  require_status(first, 202);
  const auto id = json::parse(first.body)["id"].str();
  auto retry = send(gw, acme.token, ok_body, key);
  require_status(retry, 202);
  CHECK(json::parse(retry.body)["id"].str() == id);
  CHECK(retry.header("idempotent-replayed") == "true");
  require_error(send(gw, acme.token, R"({"channel":"tg","to":532189746,"text":"other"})", key), 409,
                "idempotency_conflict");
  wait_state(gw, id, "sent");
  CHECK(fake.to("/tg/").size() == 1);

  // Tenant isolation: another tenant's token does not find acme's message, nor may it ask.
  require_error(get_message(gw, id, globex.token), 404, "not_found");
  require_error(get_message(gw, id, globex.token, "?tenant=acme"), 403, "forbidden");
  require_error(get_message(gw, "out_01JDX3V7Q4K9M2T8R6W5Y0ZB1C"), 404, "not_found");
}

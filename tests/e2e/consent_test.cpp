// End-to-end: consent, restriction, keywords, card-number redaction and pseudonymization
// (DESIGN §5, §7) against the real binary over real sockets: what each backend reads on
// /v1/events and on the SSE stream, the consent API with its scope and tenant rules.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/checks.hpp"
#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_consent_acme_3f9a1c7e5b2d"};
const test_tenant globex{"globex", "sbt_e2e_consent_globex_8d6e4f2a0c1b"};
// acme's other backends: a marketing tool (stream only) and an ai assistant (stream, privacy).
const std::string k_promo = "sbt_e2e_consent_promo_4a5b6c7d8e9f";
const std::string k_assistant = "sbt_e2e_consent_assistant_1a2b3c4d";

/// acme redacts card numbers and has three backends: "backend" (support, every scope), "promo"
/// (marketing, stream) and "assistant" (ai, stream + privacy). globex pseudonymizes.
std::string consent_config() {
  std::string y = test_config({acme, globex});
  auto after = [&](const std::string& anchor, const std::string& text, std::size_t from = 0) {
    auto at = y.find(anchor, from);
    REQUIRE(at != std::string::npos);
    y.insert(at + anchor.size(), text);
  };
  after("  - id: acme\n", "    privacy:\n      redact: [card_numbers]\n");
  after("  - id: globex\n",
        "    privacy:\n      pseudonymize: true\n      redact: [card_numbers]\n");
  after("    scopes: [stream, send, privacy, admin]\n",
        "        purposes: [support]\n"
        "      - name: promo\n        token_sha256: \"" +
            token_sha256(k_promo) +
            "\"\n        scopes: [stream]\n        purposes: [marketing]\n"
            "      - name: assistant\n        token_sha256: \"" +
            token_sha256(k_assistant) +
            "\"\n        scopes: [stream, privacy]\n        purposes: [ai]\n");
  return y;
}

using e2e_checks::require_status;
using e2e_checks::require_error;

void post_whatsapp(const gateway_process& gw, const test_tenant& t, int n, const std::string& from,
                   const std::string& text) {
  const auto body = pl::wa_text_webhook(pl::wamid(n), from, "Sheena Nelson", text);
  auto r = request("POST", gw.base_url() + "/webhooks/" + t.id + "/wa-main",
                   signing::whatsapp(t.wa_app_secret(), body), body);
  require_status(r, 200);
}

void post_telegram(const gateway_process& gw, const test_tenant& t, int update_id,
                   const std::string& text) {
  const std::string body = R"({"update_id":)" + std::to_string(update_id) +
                           R"(,"message":{"message_id":)" + std::to_string(5000 + update_id) +
                           R"(,"from":{"id":532189746,"is_bot":false,"first_name":"Amélie",)"
                           R"("username":"amelie_d","language_code":"fr"},)"
                           R"("chat":{"id":532189746,"first_name":"Amélie","type":"private"},)"
                           R"("date":1733230345,"text":)" +
                           pl::quoted(text) + "}}";
  auto r = request("POST", gw.base_url() + "/webhooks/" + t.id + "/tg",
                   signing::telegram(t.tg_secret_token()), body);
  require_status(r, 200);
}

http_result put_consent(const gateway_process& gw, const std::string& token,
                        const std::string& subject, const std::string& body,
                        const std::string& query = "") {
  return request("PUT", gw.base_url() + "/v1/subjects/" + subject + "/consent" + query,
                 {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                 body);
}

http_result restrict(const gateway_process& gw, const std::string& token,
                     const std::string& subject, bool on) {
  return request("POST", gw.base_url() + "/v1/subjects/" + subject + "/restrict",
                 {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                 on ? R"({"restricted":true})" : R"({"restricted":false})");
}

/// The texts of the message events a backend reads, in order.
std::vector<std::string> texts(const json& events) {
  std::vector<std::string> out;
  for (const auto& e : events.items()) {
    if (e["type"].str() == "message") {
      out.push_back(e["content"]["text"].str());
    }
  }
  return out;
}

/// The consent blocks of the consent.changed events a backend reads, in order (as JSON text of
/// their members, e.g. "purpose=marketing granted=false opted_out=true source=keyword").
std::vector<std::string> changes(const json& events) {
  std::vector<std::string> out;
  for (const auto& e : events.items()) {
    if (e["type"].str() != "consent.changed") {
      continue;
    }
    std::string s;
    for (const auto& [k, v] : e["consent"].members()) {
      s += (s.empty() ? "" : " ") + k + "=" +
           (v.is_string() ? v.str() : (v.boolean() ? "true" : "false"));
    }
    out.push_back(s);
  }
  return out;
}

json events_of(const gateway_process& gw, const std::string& token) {
  return get_events(gw.base_url(), token)["events"];
}

/// Polls /v1/events until `pred(events)` holds (a generous bound only).
template <class Pred>
json wait_events(const gateway_process& gw, const std::string& token, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  json events = events_of(gw, token);
  while (!pred(events) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
    events = events_of(gw, token);
  }
  return events;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> frame_texts(const sse_client& s, std::string* last_type = nullptr) {
  std::vector<std::string> out;
  for (const auto& f : s.frames()) {
    json e = json::parse(f.data);
    if (e["type"].str() == "message") {
      out.push_back(e["content"]["text"].str());
    }
    if (last_type != nullptr) {
      *last_type = e["type"].str();
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "STOP from WhatsApp withdraws marketing: consent.changed for all, the person's events "
    "no longer reach the marketing backend, and START gives them back",
    "[e2e][privacy][consent]") {
  gateway_process gw(consent_config());
  const std::string person = "16505551234";
  post_whatsapp(gw, acme, 1, person, "Hi, is the blue one in stock?");
  auto support = events_of(gw, acme.token);
  REQUIRE(support.size() == 1);
  const std::string subject = support[0]["subject"].str();
  // Marketing is off until the person grants it.
  CHECK(events_of(gw, k_promo).size() == 0);

  auto r = put_consent(gw, acme.token, subject, R"({"purpose":"marketing","granted":true})");
  require_status(r, 200);
  json state = json::parse(r.body);
  CHECK(state["subject"].str() == subject);
  CHECK(state["purposes"]["marketing"].boolean());
  CHECK(state["purposes"]["support"].boolean());
  CHECK(state["explicit"]["marketing"].boolean());
  CHECK_FALSE(state["restricted"].boolean());
  CHECK_FALSE(state["opted_out"].boolean());
  CHECK(texts(events_of(gw, k_promo)) == std::vector<std::string>{"Hi, is the blue one in stock?"});

  sse_client promo_stream(gw.base_url() + "/v1/stream?after=0", bearer(k_promo));
  REQUIRE(promo_stream.wait_connected() == 200);
  REQUIRE(promo_stream.wait_for(2));  // the message and the api consent.changed

  post_whatsapp(gw, acme, 2, person, " STOP ");
  auto all = wait_events(gw, acme.token, [](const json& e) { return changes(e).size() == 2; });
  REQUIRE(changes(all) == std::vector<std::string>{
                              "purpose=marketing granted=true source=api",
                              "purpose=marketing granted=false opted_out=true source=keyword"});
  const json& stop_event = all[all.size() - 1];
  CHECK(stop_event["type"].str() == "consent.changed");
  CHECK(stop_event["subject"].str() == subject);
  CHECK(stop_event["conversation"].str() == "wa-main:" + person);
  CHECK(stop_event["channel"]["name"].str() == "wa-main");
  CHECK_FALSE(stop_event.has("content"));

  post_whatsapp(gw, acme, 3, person, "When does it arrive?");
  post_whatsapp(gw, acme, 4, "4915112345678", "Another person writing");
  // The support backend reads everything; the marketing one only the change.
  all = wait_events(gw, acme.token, [](const json& e) { return texts(e).size() == 4; });
  CHECK(texts(all) == std::vector<std::string>{"Hi, is the blue one in stock?", " STOP ",
                                               "When does it arrive?", "Another person writing"});
  auto promo = events_of(gw, k_promo);
  CHECK(texts(promo).empty());  // read time: the grant is gone, so is the earlier message
  CHECK(changes(promo).size() == 2);
  // Live: the stream gets the keyword's consent.changed, nothing of what followed.
  // Not the keyword message itself either: the stream reads only up to the head the tenant has
  // announced, which it moves past the STOP only once marketing is withdrawn.
  REQUIRE(promo_stream.wait_for(3));
  std::string last;
  CHECK(frame_texts(promo_stream, &last) ==
        std::vector<std::string>{"Hi, is the blue one in stock?"});
  CHECK(last == "consent.changed");
  // Consent is judged when an event is read: a stream that has not yet read past "When does it
  // arrive?" when START grants marketing again sends it then (as a pull would). So that the
  // frames below do not depend on that timing, the stream first reads past both messages: a
  // consent change of the other person, which every stream gets, comes after them.
  std::string other;
  for (const auto& e : all.items()) {
    if (e["type"].str() == "message" && e["content"]["text"].str() == "Another person writing") {
      other = e["subject"].str();
    }
  }
  REQUIRE_FALSE(other.empty());
  require_status(
      put_consent(gw, acme.token, other, R"({"purpose":"marketing","granted":false})"), 200);
  REQUIRE(promo_stream.wait_for(4));

  // START: marketing on again; the START message itself is judged with the new state.
  post_whatsapp(gw, acme, 5, person, "start");
  wait_events(gw, k_promo, [](const json& e) { return changes(e).size() == 4; });
  post_whatsapp(gw, acme, 6, person, "Thanks!");
  // Read time again: with marketing granted, the person's earlier messages are readable too.
  promo = wait_events(gw, k_promo, [](const json& e) { return texts(e).size() == 5; });
  CHECK(texts(promo) == std::vector<std::string>{"Hi, is the blue one in stock?", " STOP ",
                                                 "When does it arrive?", "start", "Thanks!"});
  CHECK(contains(changes(promo), "purpose=marketing granted=true opted_out=false source=keyword"));
  REQUIRE(promo_stream.wait_for(7));  // + "start", its consent.changed, "Thanks!"
  CHECK(frame_texts(promo_stream) ==
        std::vector<std::string>{"Hi, is the blue one in stock?", "start", "Thanks!"});
}

TEST_CASE("the consent API needs the privacy scope, validates strictly and stays in its tenant",
          "[e2e][privacy][consent]") {
  gateway_process gw(consent_config());
  post_whatsapp(gw, acme, 1, "16505551234", "Hello");
  const std::string subject = events_of(gw, acme.token)[0]["subject"].str();
  const std::string grant = R"({"purpose":"marketing","granted":true})";

  require_error(request("PUT", gw.base_url() + "/v1/subjects/" + subject + "/consent", {}, grant),
                401, "unauthorized");
  require_error(put_consent(gw, k_promo, subject, grant), 403, "forbidden");
  require_error(restrict(gw, k_promo, subject, true), 403, "forbidden");
  // Another tenant's token cannot name acme...
  require_error(put_consent(gw, globex.token, subject, grant, "?tenant=acme"), 403, "forbidden");
  // ...and without naming it, it addresses its own tenant's subject of that id: acme's person
  // is untouched (subject ids are per tenant; a person may object before ever writing).
  require_status(put_consent(gw, globex.token, subject, grant), 200);
  CHECK(events_of(gw, k_promo).size() == 0);
  CHECK(events_of(gw, acme.token).size() == 1);  // no consent.changed in acme
  CHECK(events_of(gw, globex.token)[0]["type"].str() == "consent.changed");

  auto bad = [&](const std::string& s, const std::string& body, const std::string& needle) {
    auto r = put_consent(gw, acme.token, s, body);
    require_error(r, 400, "bad_request");
    INFO(r.body);
    CHECK(json::parse(r.body)["message"].str().find(needle) != std::string::npos);
  };
  bad("sub_123", grant, "'subject'");
  bad("sub_5KQ2C7WZ3N4B6Y8U", grant, "'subject'");  // U is not Crockford
  bad(subject, R"({"purpose":"newsletter","granted":false})", "newsletter");
  bad(subject, R"({"purpose":"marketing","granted":"yes"})", "'granted'");
  bad(subject, R"({"purpose":"marketing"})", "'granted'");
  bad(subject, R"({"purpose":"marketing","granted":true,"until":"2030"})", "'until'");
  bad(subject, "granted", "JSON");
  require_error(request("POST", gw.base_url() + "/v1/subjects/" + subject + "/restrict",
                        bearer(acme.token), R"({"restricted":"yes"})"),
                400, "bad_request");

  // The ai assistant may object to ai itself (privacy scope): it then reads nothing of the person.
  CHECK(texts(events_of(gw, k_assistant)) == std::vector<std::string>{"Hello"});
  require_status(put_consent(gw, k_assistant, subject, R"({"purpose":"ai","granted":false})"), 200);
  CHECK(texts(events_of(gw, k_assistant)).empty());
  CHECK(texts(events_of(gw, acme.token)) == std::vector<std::string>{"Hello"});
}

TEST_CASE(
    "a restricted person's events are stored but reach no backend until the restriction "
    "is lifted",
    "[e2e][privacy][consent]") {
  gateway_process gw(consent_config());
  const std::string person = "16505551234";
  post_whatsapp(gw, acme, 1, person, "First message");
  const std::string subject = events_of(gw, acme.token)[0]["subject"].str();
  sse_client stream(gw.base_url() + "/v1/stream?after=0", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  REQUIRE(stream.wait_for(1));

  auto r = restrict(gw, acme.token, subject, true);
  require_status(r, 200);
  CHECK(json::parse(r.body)["restricted"].boolean());
  post_whatsapp(gw, acme, 2, person, "Second message");
  post_whatsapp(gw, acme, 3, "4915112345678", "Someone else");
  auto support = wait_events(gw, acme.token, [](const json& e) { return texts(e).size() == 1; });
  // Nothing of the restricted person, for anyone: not even what was read before.
  CHECK(texts(support) == std::vector<std::string>{"Someone else"});
  CHECK(changes(support) == std::vector<std::string>{"restricted=true source=api"});
  CHECK(texts(events_of(gw, k_assistant)) == std::vector<std::string>{"Someone else"});
  REQUIRE(stream.wait_for(3));  // consent.changed and "Someone else"
  CHECK(frame_texts(stream) == std::vector<std::string>{"First message", "Someone else"});
  // The events are stored: `next` moved past all four.
  CHECK(get_events(gw.base_url(), acme.token)["next"].u64() == 4);

  require_status(restrict(gw, acme.token, subject, false), 200);
  support = events_of(gw, acme.token);
  CHECK(texts(support) ==
        std::vector<std::string>{"First message", "Second message", "Someone else"});
  CHECK(changes(support) ==
        std::vector<std::string>{"restricted=true source=api", "restricted=false source=api"});
  sse_client replay(gw.base_url() + "/v1/stream?after=0", bearer(acme.token));
  REQUIRE(replay.wait_for(5));
  CHECK(frame_texts(replay) ==
        std::vector<std::string>{"First message", "Second message", "Someone else"});
}

TEST_CASE("a card number in a Telegram message is redacted before storage, other numbers stay",
          "[e2e][privacy][redaction]") {
  gateway_process gw(consent_config());
  sse_client stream(gw.base_url() + "/v1/stream?after=0", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  post_telegram(gw, acme, 918273645,
                "Please charge 4111 1111 1111 1111 for order #100234567890123");
  post_telegram(gw, acme, 918273646, "Ref 4111 1111 1111 1112, call +44 20 7946 0018");
  auto events = events_of(gw, acme.token);
  REQUIRE(events.size() == 2);
  CHECK(events[0]["content"]["text"].str() ==
        "Please charge [card number] for order #100234567890123");
  REQUIRE(events[0]["redactions"].size() == 1);
  CHECK(events[0]["redactions"][0].str() == "card_number");
  CHECK(events[0]["sender"]["username"].str() == "amelie_d");  // acme does not pseudonymize
  CHECK(events[1]["content"]["text"].str() == "Ref 4111 1111 1111 1112, call +44 20 7946 0018");
  CHECK_FALSE(events[1].has("redactions"));
  REQUIRE(stream.wait_for(2));
  auto frames = stream.frames();
  json first = json::parse(frames[0].data);
  CHECK(first["content"]["text"].str() == "Please charge [card number] for order #100234567890123");
  CHECK(first["redactions"][0].str() == "card_number");
  CHECK(frames[0].data.find("4111") == std::string::npos);
}

TEST_CASE("a pseudonymizing tenant stores no sender and masks phone numbers and e-mail addresses",
          "[e2e][privacy][redaction]") {
  gateway_process gw(consent_config());
  post_whatsapp(gw, globex, 1, "16505551234",
                "I'm sheena.nelson@example.com, call me on +1 650 555 1234 about order #1001");
  post_whatsapp(gw, globex, 2, "16505551234", "STOP");
  auto events = wait_events(gw, globex.token, [](const json& e) { return e.size() == 3; });
  REQUIRE(events.size() == 3);
  const json& e = events[0];
  CHECK_FALSE(e.has("sender"));
  CHECK(e["content"]["text"].str() == "I'm [email], call me on [phone] about order #1001");
  REQUIRE(e["redactions"].size() == 2);
  CHECK(e["redactions"][0].str() == "email_address");
  CHECK(e["redactions"][1].str() == "phone_number");
  // The subject is derived from the platform id before masking; the conversation hides it.
  CHECK(e["subject"].str().rfind("sub_", 0) == 0);
  CHECK(e["conversation"].str().rfind("wa-main:anon_", 0) == 0);
  for (const auto& ev : events.items()) {
    CHECK(ev["subject"].str() == e["subject"].str());
    CHECK(ev["conversation"].str() == e["conversation"].str());
  }
  // Nowhere in what the backend reads: the phone number, the name, the address.
  auto body = request("GET", gw.base_url() + "/v1/events?after=0", bearer(globex.token)).body;
  CHECK(body.find("16505551234") == std::string::npos);
  CHECK(body.find("650 555") == std::string::npos);
  CHECK(body.find("Sheena") == std::string::npos);
  CHECK(body.find("example.com") == std::string::npos);
  CHECK(events[2]["type"].str() == "consent.changed");
}

// End-to-end: e-mail received through Mailgun Routes (a route's forward() posts each message as a
// signed HTML form) against the real binary: what a backend reads on /v1/events, and what the
// edge refuses (forged and stale signatures, a token replayed with another body) without storing
// anything.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "e2e/checks.hpp"
#include "support/fixtures.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using e2e_checks::require_error;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_email_inbound_5c81d2"};
const std::string k_type = "email";
const std::map<std::string, std::string> k_settings{
    {"address", "support@example.com"}, {"inbound_signing_key", "dev-mailgun-signing-key-e2e"}};

/// acme with an e-mail channel "mail" (receive only: no smtp_url); with `redact_cards`, acme
/// redacts card numbers.
std::string config(bool redact_cards = false) {
  test_server server;
  server.extra_channels.push_back({"mail", k_type, {k_settings.begin(), k_settings.end()}});
  std::string y = test_config({acme}, server);
  if (redact_cards) {
    const std::string anchor = "  - id: acme\n";
    const auto at = y.find(anchor);
    REQUIRE(at != std::string::npos);
    y.insert(at + anchor.size(), "    privacy:\n      redact: [card_numbers]\n");
  }
  return y;
}

std::string url(const gateway_process& gw) {
  return gw.base_url() + "/webhooks/acme/mail";
}

/// `unsigned_body` signed as Mailgun does (now, unless `at` is set).
std::string signed_body(const std::string& unsigned_body, sb::timestamp at = {}) {
  sb::adapters::signing_input in;
  in.at = at;
  return signing::platform_body(k_type, k_settings, unsigned_body, in);
}

http_result post(const gateway_process& gw, const std::string& body,
                 const std::map<std::string, std::string>& settings = k_settings) {
  return request("POST", url(gw), signing::platform(k_type, settings, body), body);
}

json events_of(const gateway_process& gw) {
  return get_events(gw.base_url(), acme.token)["events"];
}

/// The /v1/events answer as the backend reads it, unparsed.
std::string raw_events(const gateway_process& gw) {
  auto r = request("GET", gw.base_url() + "/v1/events?after=0&limit=1000", bearer(acme.token));
  require_status(r, 200);
  return r.body;
}

}  // namespace

TEST_CASE("a signed Mailgun reply is stored as a message with subject, stripped text and thread",
          "[e2e][email]") {
  gateway_process gw(config());
  auto r = post(gw, signed_body(fixture("email/reply_urlencoded.txt")));
  require_status(r, 200);

  json events = events_of(gw);
  REQUIRE(events.size() == 1);
  const json& e = events[0];
  CHECK(e["type"].str() == "message");
  CHECK(e["channel"]["name"].str() == "mail");
  CHECK(e["channel"]["type"].str() == "email");
  CHECK(e["channel"]["account"].str() == "support@example.com");
  CHECK(e["sender"]["platform_id"].str() == "jane.doe@example.org");
  CHECK(e["sender"]["name"].str() == "Jane Doe");
  CHECK(e["conversation"].str() == "mail:jane.doe@example.org");
  CHECK(e["platform_event_id"].str() == "CAJx8vN3Qk2r9pT7wYc0m=4hV@mail.example.org");
  CHECK(e["occurred_at"].str() == "2024-12-03T15:14:05Z");
  CHECK(e["content"]["subject"].str() == "Re: Your order #1001 has shipped");
  CHECK(e["content"]["text"].str() ==
        "Thanks, but the tracking link does not work for me. Could you send it again?");
  CHECK(e["content"]["thread"].str() == "sb.01JE3K8Q2M7NRX4T5VB6CWD9EF@example.com");
  CHECK(e["content"]["reply_to"].str() == "sb.01JE3M4A7B8C9D0E1F2G3H4J5K@example.com");
}

TEST_CASE("a multipart Mailgun message stores its attachments' size and SHA-256, not the bytes",
          "[e2e][email]") {
  gateway_process gw(config());
  const auto body = signed_body(fixture("email/new_message_multipart.txt"));
  auto headers = signing::platform(k_type, k_settings, body);
  CHECK(headers.front().second.rfind("multipart/form-data; boundary=", 0) == 0);
  auto r = request("POST", url(gw), headers, body);
  require_status(r, 200);

  json events = events_of(gw);
  REQUIRE(events.size() == 1);
  const json& atts = events[0]["content"]["attachments"];
  REQUIRE(atts.size() == 2);
  CHECK(atts[0]["kind"].str() == "file");
  CHECK(atts[0]["file_name"].str() == "invoice-2024-117.pdf");
  CHECK(atts[0]["mime_type"].str() == "application/pdf");
  CHECK(atts[0]["size"].u64() == 218);
  CHECK(atts[0]["sha256"].str() ==
        "a6946076beaeb23e666cc3e268cac0b34c2c281d1497aaf7952609d31043199f");
  CHECK(atts[1]["kind"].str() == "image");
  CHECK(atts[1]["size"].u64() == 69);
  CHECK(atts[1]["sha256"].str() ==
        "b1ff9c8ea3a780bad09b346c423d2d0e46815926879b18e841d928376a946640");
  // Metadata only: the PDF's bytes are nowhere in what the backend reads.
  CHECK(raw_events(gw).find("%PDF") == std::string::npos);
}

TEST_CASE("forged and stale Mailgun signatures are refused and nothing is stored", "[e2e][email]") {
  gateway_process gw(config());
  const auto unsigned_body = fixture("email/reply_urlencoded.txt");

  auto impostor = k_settings;
  impostor["inbound_signing_key"] = "dev-another-key-change-me";
  auto forged = post(gw, signing::platform_body(k_type, impostor, unsigned_body), impostor);
  require_error(forged, 401, "bad_signature");

  const auto nine_hours_ago = sb::timestamp::from_seconds(sb::now().unix_ms / 1000 - 9 * 3600);
  auto stale = post(gw, signed_body(unsigned_body, nine_hours_ago));
  require_error(stale, 401, "replayed_request");

  auto unsigned_post = post(gw, unsigned_body);
  require_error(unsigned_post, 401, "missing_signature");

  CHECK(events_of(gw).size() == 0);
}

TEST_CASE(
    "Mailgun's retry of a request is stored once and its signature with another body is a "
    "replay",
    "[e2e][email]") {
  gateway_process gw(config());
  const auto body = signed_body(fixture("email/reply_urlencoded.txt"));
  require_status(post(gw, body), 200);
  require_status(post(gw, body), 200);  // the platform's retry: the same bytes
  REQUIRE(events_of(gw).size() == 1);

  // The same timestamp, token and signature with another text: a captured signature reused.
  std::string other = body;
  const std::string from = "stripped-text=Thanks";
  const auto at = other.find(from);
  REQUIRE(at != std::string::npos);
  other.replace(at, from.size(), "stripped-text=Refund+everything+to+account+123");
  auto replayed = post(gw, other);
  require_error(replayed, 401, "replayed_request");
  json events = events_of(gw);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["content"]["text"].str().rfind("Thanks", 0) == 0);
}

TEST_CASE("a card number in an e-mail's subject and text is masked when the tenant redacts",
          "[e2e][email][redaction]") {
  gateway_process gw(config(true));
  require_status(post(gw, signed_body(fixture("email/card_number.txt"))), 200);
  json events = events_of(gw);
  REQUIRE(events.size() == 1);
  const json& e = events[0];
  CHECK(e["content"]["subject"].str() == "Please charge [card number] for order #1002");
  CHECK(e["content"]["text"].str().find("[card number]") != std::string::npos);
  REQUIRE(e["redactions"].size() >= 1);
  CHECK(e["redactions"][0].str() == "card_number");
  CHECK(raw_events(gw).find("4111") == std::string::npos);
}

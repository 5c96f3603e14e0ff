// The window and consent decision of outbound messages (src/outbound/send_policy.hpp), with the
// clock as a plain value.
#include <catch2/catch.hpp>

#include <string>

#include "outbound/send_policy.hpp"

using sb::errc;
using sb::timestamp;
using sb::outbound::decide_send;
using sb::outbound::send_facts;
using sb::privacy::consent_state;
using sb::privacy::purpose;

namespace {

constexpr std::int64_t k_hour = 3600LL * 1000;
const timestamp k_now = timestamp::from_millis(1'800'000'000'000);

sb::config::channel_config channel(const std::string& type, bool human_agent = false) {
  sb::config::channel_config c;
  c.name = "c";
  c.type = type;
  if (human_agent) {
    c.settings["human_agent_tag"] = "true";
  }
  return c;
}

sb::adapters::window_policy whatsapp_window() {
  sb::adapters::window_policy w;
  w.window_hours = 24;
  w.template_opens_window = true;
  w.platform = "WhatsApp";
  return w;
}

sb::adapters::window_policy messenger_window(bool human_agent) {
  sb::adapters::window_policy w;
  w.window_hours = 24;
  w.human_agent_hours = human_agent ? 7 * 24 : 0;
  w.message_tags = true;
  w.platform = "Messenger";
  return w;
}

send_facts whatsapp_text(std::int64_t hours_since_inbound) {
  send_facts f;
  f.window = whatsapp_window();
  f.last_inbound_ms = hours_since_inbound < 0 ? 0 : k_now.unix_ms - hours_since_inbound * k_hour;
  f.now = k_now;
  return f;
}

send_facts messenger_text(std::int64_t hours_since_inbound, bool human_agent) {
  send_facts f = whatsapp_text(hours_since_inbound);
  f.window = messenger_window(human_agent);
  f.messaging_type = "RESPONSE";
  return f;
}

consent_state opted_out() {
  consent_state s;
  s.opted_out = true;
  s.granted[static_cast<unsigned>(purpose::marketing)] = false;
  return s;
}

consent_state restricted() {
  consent_state s;
  s.restricted = true;
  return s;
}

consent_state marketing_granted() {
  consent_state s;
  s.granted[static_cast<unsigned>(purpose::marketing)] = true;
  return s;
}

errc code_of(const send_facts& f) {
  auto r = decide_send(f);
  return r ? r->code : errc::ok;
}

}  // namespace

TEST_CASE("free-form WhatsApp messages need a message from the person within 24 hours",
          "[outbound][policy]") {
  CHECK(code_of(whatsapp_text(0)) == errc::ok);
  CHECK(code_of(whatsapp_text(23)) == errc::ok);
  CHECK(code_of(whatsapp_text(24)) == errc::window_closed);
  CHECK(code_of(whatsapp_text(-1)) == errc::window_closed);  // never wrote

  auto last_ms = whatsapp_text(0);
  last_ms.last_inbound_ms = k_now.unix_ms - 24 * k_hour + 1;
  CHECK(code_of(last_ms) == errc::ok);

  auto refusal = decide_send(whatsapp_text(-1));
  REQUIRE(refusal);
  CHECK(refusal->message.find("template") != std::string::npos);
  CHECK(refusal->message.find("has not written") != std::string::npos);
}

TEST_CASE("a WhatsApp template may be sent at any time", "[outbound][policy]") {
  auto f = whatsapp_text(-1);
  f.is_template = true;
  CHECK(code_of(f) == errc::ok);
  f.last_inbound_ms = k_now.unix_ms - 30 * 24 * k_hour;
  CHECK(code_of(f) == errc::ok);
}

TEST_CASE("a person's clock ahead of ours still opens the window", "[outbound][policy]") {
  auto f = whatsapp_text(0);
  f.last_inbound_ms = k_now.unix_ms + 5000;
  CHECK(code_of(f) == errc::ok);
}

TEST_CASE("Messenger's HUMAN_AGENT tag extends the window to 7 days where the channel enables it",
          "[outbound][policy]") {
  auto tagged = [](std::int64_t hours, bool enabled) {
    auto f = messenger_text(hours, enabled);
    f.messaging_type = "MESSAGE_TAG";
    f.tag = "HUMAN_AGENT";
    return f;
  };
  CHECK(code_of(messenger_text(2, false)) == errc::ok);
  CHECK(code_of(messenger_text(30, true)) == errc::window_closed);
  CHECK(code_of(tagged(30, true)) == errc::ok);
  CHECK(code_of(tagged(7 * 24 - 1, true)) == errc::ok);
  CHECK(code_of(tagged(7 * 24, true)) == errc::window_closed);
  CHECK(code_of(tagged(30, false)) == errc::window_closed);

  auto untagged = decide_send(messenger_text(30, true));
  REQUIRE(untagged);
  CHECK(untagged->message.find("HUMAN_AGENT") != std::string::npos);
  CHECK(untagged->message.find("7 days") != std::string::npos);
  CHECK(untagged->message.find("template") == std::string::npos);

  auto disabled = decide_send(messenger_text(30, false));
  REQUIRE(disabled);
  CHECK(disabled->message.find("human_agent_tag") != std::string::npos);

  // A template is WhatsApp's; it opens nothing on Messenger.
  auto templ = messenger_text(30, true);
  templ.is_template = true;
  CHECK(code_of(templ) == errc::window_closed);
}

TEST_CASE("Meta's update tags go at any time, CUSTOMER_FEEDBACK within 7 days",
          "[outbound][policy]") {
  auto tagged = [](std::int64_t hours, const std::string& tag) {
    auto f = messenger_text(hours, false);
    f.messaging_type = "MESSAGE_TAG";
    f.tag = tag;
    return f;
  };
  for (const char* tag : {"ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"}) {
    CAPTURE(tag);
    CHECK(code_of(tagged(-1, tag)) == errc::ok);
    CHECK(code_of(tagged(30 * 24, tag)) == errc::ok);
  }
  CHECK(code_of(tagged(6 * 24, "CUSTOMER_FEEDBACK")) == errc::ok);
  CHECK(code_of(tagged(7 * 24, "CUSTOMER_FEEDBACK")) == errc::window_closed);
  // Tags are Meta's: on WhatsApp they open nothing.
  auto wa = whatsapp_text(-1);
  wa.messaging_type = "MESSAGE_TAG";
  wa.tag = "ACCOUNT_UPDATE";
  CHECK(code_of(wa) == errc::window_closed);
}

TEST_CASE("the windows these tests use are the adapters' own", "[outbound][policy]") {
  auto same = [](const sb::adapters::window_policy& a, const sb::adapters::window_policy& b) {
    return a.window_hours == b.window_hours && a.human_agent_hours == b.human_agent_hours &&
           a.template_opens_window == b.template_opens_window && a.message_tags == b.message_tags &&
           a.platform == b.platform;
  };
  CHECK(same(sb::adapters::window_for(channel("whatsapp")), whatsapp_window()));
  CHECK(same(sb::adapters::window_for(channel("messenger")), messenger_window(false)));
  CHECK(same(sb::adapters::window_for(channel("messenger", true)), messenger_window(true)));
  CHECK(sb::adapters::window_for(channel("telegram")).window_hours == 0);
}

TEST_CASE("Telegram has no window", "[outbound][policy]") {
  send_facts f;
  f.window = sb::adapters::window_for(channel("telegram"));
  f.now = k_now;
  CHECK(code_of(f) == errc::ok);
}

TEST_CASE("marketing needs granted consent, whatever the window", "[outbound][policy]") {
  auto f = whatsapp_text(1);
  f.purpose = purpose::marketing;
  CHECK(code_of(f) == errc::consent_required);
  f.consent = marketing_granted();
  CHECK(code_of(f) == errc::ok);

  // Consent does not open the window: outside it, marketing goes as a template.
  auto outside = whatsapp_text(-1);
  outside.purpose = purpose::marketing;
  outside.consent = marketing_granted();
  CHECK(code_of(outside) == errc::window_closed);
  outside.is_template = true;
  CHECK(code_of(outside) == errc::ok);

  f.consent = std::nullopt;
  auto refusal = decide_send(f);
  REQUIRE(refusal);
  CHECK(refusal->message.find("marketing") != std::string::npos);
}

TEST_CASE("an opted-out person gets support replies only, where the tenant allows them",
          "[outbound][policy]") {
  auto reply = whatsapp_text(1);
  reply.consent = opted_out();
  CHECK(code_of(reply) == errc::ok);

  reply.tenant_allows_replies = false;
  CHECK(code_of(reply) == errc::opted_out);

  // A template outside the window is not a reply: the person asked to be left alone.
  auto templ = whatsapp_text(-1);
  templ.is_template = true;
  templ.consent = opted_out();
  CHECK(code_of(templ) == errc::opted_out);

  // Consent is judged before the window: the refusal names the real reason.
  auto telegram = send_facts{};
  telegram.window = sb::adapters::window_for(channel("telegram"));
  telegram.now = k_now;
  telegram.consent = opted_out();
  CHECK(code_of(telegram) == errc::opted_out);
  telegram.last_inbound_ms = k_now.unix_ms - k_hour;
  CHECK(code_of(telegram) == errc::ok);
}

TEST_CASE("a restricted person gets support replies only, where the tenant allows them",
          "[outbound][policy]") {
  auto f = whatsapp_text(1);
  f.consent = restricted();
  CHECK(code_of(f) == errc::ok);
  f.purpose = purpose::marketing;
  CHECK(code_of(f) != errc::ok);
  f.purpose = purpose::support;
  f.tenant_allows_replies = false;
  CHECK(code_of(f) == errc::restricted);
  auto refusal = decide_send(f);
  REQUIRE(refusal);
  CHECK(refusal->message.find("allow_replies_after_opt_out") != std::string::npos);

  auto old = whatsapp_text(25);
  old.is_template = true;
  old.consent = restricted();
  CHECK(code_of(old) == errc::restricted);
}

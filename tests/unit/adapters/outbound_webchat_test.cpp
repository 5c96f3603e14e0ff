// Web chat replies: what an agent may send a visitor, the event that delivers it (the gateway is
// the platform), and how the store's outcome is read back as the platform's answer.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/webchat/outbound.hpp"
#include "core/json.hpp"
#include "outbound_support.hpp"

using sb::adapters::send_outcome;
using sb::test::outbound::invalid;
using sb::test::outbound::message;
using sb::test::outbound::sender;

namespace {

const std::string k_visitor = "vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K";
const std::string k_outbound_id = "out_01JDQ40000AAAABBBBCCCCDDDD";

sb::config::channel_config channel(const std::string& max_bytes = "") {
  sb::config::channel_config c;
  c.name = "web";
  c.type = "webchat";
  c.settings = {{"session_key", std::string(32, 'k')},
                {"allowed_origins", "https://shop.example.com"},
                {"allow_no_origin", "false"},
                {"title", "Acme support"},
                {"session_ttl_hours", "720"},
                {"sessions_per_ip_per_minute", "10"},
                {"messages_per_visitor_per_minute", "30"}};
  if (!max_bytes.empty()) {
    c.settings["max_message_bytes"] = max_bytes;
  }
  return c;
}

std::string body_to(const std::string& to, const std::string& rest) {
  return R"({"channel":"web","to":")" + to + R"(",)" + rest + "}";
}

}  // namespace

TEST_CASE("a web chat reply is delivered by storing an echo message in the visitor's conversation",
          "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  const auto m = message(cfg, body_to(k_visitor, R"("text":"Your order ships today.")"));
  auto ev = sender(cfg)->local_delivery(m, k_outbound_id);
  REQUIRE(ev.has_value());
  CHECK(ev->type == sb::event_type::message);
  CHECK(ev->channel.name == "web");
  CHECK(ev->channel.type == "webchat");
  CHECK(ev->channel.account == "web");
  CHECK(ev->conversation == "web:" + k_visitor);
  CHECK(ev->peer == k_visitor);
  CHECK(ev->subject_source == k_visitor);
  CHECK(ev->subject.empty());  // the sender sets the outbox record's
  CHECK(ev->tenant.empty());   // and the tenant
  REQUIRE(ev->sender.has_value());
  CHECK(ev->sender->platform_id == "web");
  CHECK(ev->sender->name == "Acme support");
  CHECK(ev->content.text == "Your order ships today.");
  CHECK(ev->content.echo);
  CHECK(ev->dedupe_key == "out:" + k_outbound_id);
  // Deterministic: a retried attempt is the same event, with the same id.
  CHECK(ev->id == "evt_01JDQ40000AAAABBBBCCCCDDDD");
  CHECK(ev->platform_event_id == ev->id);
  auto again = sender(cfg)->local_delivery(m, k_outbound_id);
  REQUIRE(again.has_value());
  CHECK(again->id == ev->id);
  CHECK(again->dedupe_key == ev->dedupe_key);
  // Another message is another event.
  auto other = sender(cfg)->local_delivery(m, "out_01JDQ40000AAAABBBBCCCCDDDE");
  REQUIRE(other.has_value());
  CHECK(other->id != ev->id);
  CHECK(other->dedupe_key != ev->dedupe_key);
}

TEST_CASE("a web chat reply may name the visitor's conversation instead of channel and to",
          "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  const auto m = message(cfg, R"({"conversation":"web:)" + k_visitor + R"(","text":"Hello"})");
  CHECK(m.to == k_visitor);
  auto ev = sender(cfg)->local_delivery(m, k_outbound_id);
  REQUIRE(ev.has_value());
  CHECK(ev->conversation == "web:" + k_visitor);
}

TEST_CASE("web chat takes text only and refuses what the widget cannot show, naming the field",
          "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  CHECK(invalid(cfg, body_to("15551234567", R"("text":"Hi")")).find("field 'to'") == 0);
  CHECK(invalid(cfg, body_to("vis_short", R"("text":"Hi")")).find("visitor id") !=
        std::string::npos);
  auto media = invalid(cfg, body_to(k_visitor, R"("media":{"kind":"image",)"
                                               R"("url":"https://x.example/a.png"})"));
  CHECK(media.find("field 'media'") == 0);
  CHECK(media.find("text only") != std::string::npos);
  CHECK(invalid(cfg, body_to(k_visitor, R"("text":"Hi","reply_to":"evt_1")")).find(
            "field 'reply_to'") == 0);
  CHECK(invalid(cfg, body_to(k_visitor, R"("text":"Hi","thread":"1.2")")).find("field 'thread'") ==
        0);
  // A template names the types that take one; web chat is not among them.
  CHECK(invalid(cfg, body_to(k_visitor, R"("template":{"name":"t","language":"en"})"))
            .find("field 'template'") == 0);
}

TEST_CASE("web chat text is limited by the channel's max_message_bytes or 4096 bytes",
          "[adapters][outbound][webchat]") {
  {
    const auto cfg = channel();
    message(cfg, body_to(k_visitor, "\"text\":\"" + std::string(4096, 'a') + "\""));
    // 2049 two-byte letters: within the API's 4096 characters, over web chat's 4096 bytes.
    std::string letters;
    for (int i = 0; i < 2049; ++i) {
      letters += "\u00e9";
    }
    auto too_long = invalid(cfg, body_to(k_visitor, "\"text\":\"" + letters + "\""));
    CHECK(too_long.find("field 'text'") == 0);
    CHECK(too_long.find("4096 bytes") != std::string::npos);
  }
  {
    const auto cfg = channel("10");
    message(cfg, body_to(k_visitor, R"("text":"0123456789")"));
    auto too_long = invalid(cfg, body_to(k_visitor, R"("text":"0123456789a")"));
    CHECK(too_long.find("10 bytes") != std::string::npos);
    // Bytes, not characters: five two-byte letters fill ten bytes.
    message(cfg, body_to(k_visitor, R"("text":"ééééé")"));
    CHECK_FALSE(invalid(cfg, body_to(k_visitor, R"("text":"éééééé")")).empty());
  }
}

TEST_CASE("web chat never makes an API call and refuses to deliver an invalid message",
          "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  const auto m = message(cfg, body_to(k_visitor, R"("text":"Hi")"));
  auto req = sender(cfg)->encode(m);
  REQUIRE_FALSE(req.ok());
  CHECK(req.err().code == sb::errc::unavailable);
  auto bad = m;
  bad.to = "12345";
  auto refused = sender(cfg)->encode(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == sb::errc::bad_request);
  CHECK_FALSE(sender(cfg)->local_delivery(bad, k_outbound_id).has_value());
}

TEST_CASE("the store's outcome reads as the platform's answer", "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  const auto out = sender(cfg);
  auto stored = out->interpret(201, R"({"id":"evt_01JDQ40000AAAABBBBCCCCDDDD"})", std::nullopt);
  CHECK(stored.outcome == send_outcome::sent);
  CHECK(stored.platform_message_id == "evt_01JDQ40000AAAABBBBCCCCDDDD");
  CHECK(stored.error_code.empty());

  auto failed = out->interpret(
      503, R"({"error":"unavailable","message":"the event store is restarting; retry"})",
      std::nullopt);
  CHECK(failed.outcome == send_outcome::transient);
  CHECK(failed.platform_message_id.empty());
  CHECK(failed.error_title.find("the event store is restarting") != std::string::npos);

  CHECK(out->interpret(0, "", std::nullopt).outcome == send_outcome::transient);
  CHECK(out->interpret(503, "not json", std::nullopt).outcome == send_outcome::transient);
  CHECK(out->interpret(201, "{}", std::nullopt).outcome == send_outcome::sent);
}

TEST_CASE("web chat has no conversation window and a fixed channel rate",
          "[adapters][outbound][webchat]") {
  const auto cfg = channel();
  const auto out = sender(cfg);
  CHECK(out->window().window_hours == 0);
  CHECK_FALSE(out->window().template_opens_window);
  CHECK(out->limits().per_channel_rps == 100);  // fixed: the type declares no rate keys
  CHECK(out->limits().per_recipient_rps == 0);
  CHECK(out->account() == "web");
  const auto* info = sb::adapters::find("webchat");
  REQUIRE(info != nullptr);
  CHECK(info->receipt_watermark == nullptr);  // every receipt names its message
  CHECK_FALSE(info->features.templates);
  CHECK_FALSE(info->features.threads);
}

TEST_CASE("other platforms deliver through their API, never locally",
          "[adapters][outbound][webchat]") {
  for (const auto& a : sb::adapters::all()) {
    if (a.outbound == nullptr || a.visitors.mint != nullptr) {
      continue;
    }
    sb::config::channel_config c;
    c.name = "x";
    c.type = a.type;
    for (const auto& spec : a.schema.settings) {
      c.settings[spec.key] = spec.default_value.empty() ? "x" : spec.default_value;
    }
    auto out = a.outbound(c);
    REQUIRE(out != nullptr);
    sb::adapters::outbound_message m;
    m.channel = "x";
    m.to = "1";
    m.text = "Hi";
    INFO(a.type);
    CHECK_FALSE(out->local_delivery(m, k_outbound_id).has_value());
  }
}

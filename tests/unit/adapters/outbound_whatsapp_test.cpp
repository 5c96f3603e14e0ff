// WhatsApp Cloud API: the send request's exact shape, and how its answers are classified.
#include <catch2/catch.hpp>

#include <string>

#include "outbound_support.hpp"

using sb::adapters::limit_scope;
using sb::adapters::send_outcome;
using sb::test::outbound::answer;
using sb::test::outbound::canonical;
using sb::test::outbound::encode;
using sb::test::outbound::header;
using sb::test::outbound::message;

namespace {

sb::config::channel_config channel() {
  sb::config::channel_config c;
  c.name = "wa-main";
  c.type = "whatsapp";
  c.settings = {{"app_secret", "s"},
                {"verify_token", "v"},
                {"phone_number_id", "106540352242922"},
                {"access_token", "EAAGm0PX4ZCpsBA-token"},
                {"api_base", "http://127.0.0.1:4010/v21.0/"}};
  return c;
}

}  // namespace

TEST_CASE("whatsapp text goes to the phone number's messages edge with a bearer token",
          "[adapters][outbound][whatsapp]") {
  const auto cfg = channel();
  auto req =
      encode(cfg, message(cfg, R"({"channel":"wa-main","to":"16505551234","text":"Hi \"Ada\""})"));
  CHECK(req.method == "POST");
  CHECK(req.url == "http://127.0.0.1:4010/v21.0/106540352242922/messages");
  CHECK(header(req, "Authorization") == "Bearer EAAGm0PX4ZCpsBA-token");
  CHECK(header(req, "Content-Type") == "application/json");
  CHECK(req.operation == "whatsapp text");
  CHECK(
      canonical(req.body) ==
      canonical(
          R"({"messaging_product":"whatsapp","recipient_type":"individual",)"
          R"("to":"16505551234","type":"text","text":{"body":"Hi \"Ada\"","preview_url":false}})"));
  // The token never appears in what may be logged.
  CHECK(req.operation.find("EAAG") == std::string::npos);
  CHECK(req.url.find("EAAG") == std::string::npos);
}

TEST_CASE("whatsapp replies quote the message in context", "[adapters][outbound][whatsapp]") {
  const auto cfg = channel();
  auto req = encode(cfg, message(cfg, R"({"channel":"wa-main","to":"16505551234","text":"Yes",)"
                                      R"("reply_to":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUE"})"));
  CHECK(
      canonical(req.body) ==
      canonical(
          R"({"messaging_product":"whatsapp","recipient_type":"individual",)"
          R"("to":"16505551234","context":{"message_id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUE"},)"
          R"("type":"text","text":{"body":"Yes","preview_url":false}})"));
}

TEST_CASE("whatsapp media go by link or by media id", "[adapters][outbound][whatsapp]") {
  const auto cfg = channel();
  auto image = encode(
      cfg,
      message(cfg,
              R"({"channel":"wa-main","to":"16505551234","media":)"
              R"({"kind":"image","url":"https://acme.example/p.jpg","caption":"Your parcel"}})"));
  CHECK(image.operation == "whatsapp image");
  CHECK(
      canonical(image.body) ==
      canonical(
          R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",)"
          R"("type":"image","image":{"link":"https://acme.example/p.jpg","caption":"Your parcel"}})"));

  auto doc = encode(
      cfg,
      message(cfg,
              R"({"channel":"wa-main","to":"16505551234","media":)"
              R"({"kind":"document","media_id":"1013859600285441","filename":"invoice.pdf"}})"));
  CHECK(canonical(doc.body) ==
        canonical(
            R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",)"
            R"("type":"document","document":{"id":"1013859600285441","filename":"invoice.pdf"}})"));

  auto sticker = encode(cfg, message(cfg, R"({"channel":"wa-main","to":"16505551234","media":)"
                                          R"({"kind":"sticker","media_id":"798882015472548"}})"));
  CHECK(canonical(sticker.body) ==
        canonical(
            R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",)"
            R"("type":"sticker","sticker":{"id":"798882015472548"}})"));
}

TEST_CASE("whatsapp templates carry name, language code and components verbatim",
          "[adapters][outbound][whatsapp]") {
  const auto cfg = channel();
  auto req = encode(
      cfg,
      message(cfg, R"({"conversation":"wa-main:16505551234","purpose":"marketing","template":)"
                   R"({"name":"order_update","language":"en_US","components":[{"type":"body",)"
                   R"("parameters":[{"type":"text","text":"#42"},{"type":"currency","currency":)"
                   R"({"fallback_value":"$10.99","code":"USD","amount_1000":10990}}]}]}})"));
  CHECK(req.operation == "whatsapp template");
  CHECK(
      canonical(req.body) ==
      canonical(
          R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",)"
          R"("type":"template","template":{"name":"order_update","language":{"code":"en_US"},)"
          R"("components":[{"type":"body","parameters":[{"type":"text","text":"#42"},)"
          R"({"type":"currency","currency":{"fallback_value":"$10.99","code":"USD","amount_1000":10990}}]}]}})"));

  auto bare = encode(cfg, message(cfg, R"({"channel":"wa-main","to":"16505551234","template":)"
                                       R"({"name":"hello_world","language":"en_US"}})"));
  CHECK(canonical(bare.body) ==
        canonical(
            R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",)"
            R"("type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}})"));
}

TEST_CASE("a whatsapp channel without access_token cannot encode",
          "[adapters][outbound][whatsapp]") {
  auto cfg = channel();
  const auto m = message(cfg, R"({"channel":"wa-main","to":"16505551234","text":"x"})");
  cfg.settings["access_token"] = "";
  auto r = sb::adapters::outbound_for(cfg)->encode(m);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == sb::errc::unavailable);
  CHECK(r.err().message == "channel wa-main has no access_token: set it to send messages");
}

TEST_CASE("the default Graph API base is used when api_base is unset",
          "[adapters][outbound][whatsapp]") {
  auto cfg = channel();
  cfg.settings.erase("api_base");
  auto req = encode(cfg, message(cfg, R"({"channel":"wa-main","to":"16505551234","text":"x"})"));
  CHECK(req.url == "https://graph.facebook.com/v21.0/106540352242922/messages");
}

TEST_CASE("whatsapp answers are classified", "[adapters][outbound][whatsapp]") {
  const auto cfg = channel();

  auto sent = answer(cfg, 200, "200_text_sent.json");
  CHECK(sent.outcome == send_outcome::sent);
  CHECK(sent.platform_message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA");
  CHECK(sent.error_code.empty());

  auto tmpl = answer(cfg, 200, "200_template_accepted.json");
  CHECK(tmpl.outcome == send_outcome::sent);
  CHECK(tmpl.platform_message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGNEQ0MDI2RjM1QUQ5QTk4QUIA");

  // Outside the 24-hour window: no retry will help.
  auto window = answer(cfg, 400, "400_re_engagement_131047.json");
  CHECK(window.outcome == send_outcome::permanent);
  CHECK(window.error_code == "131047");
  CHECK(window.error_title ==
        "(#131047) Re-engagement message: Message failed to send because more than 24 hours have "
        "passed since the customer last replied to this number.");

  auto throughput = answer(cfg, 400, "400_rate_limit_130429.json");
  CHECK(throughput.outcome == send_outcome::rate_limited);
  CHECK(throughput.scope == limit_scope::channel);
  CHECK(throughput.retry_after_ms == 1000);
  CHECK(throughput.error_code == "130429");

  auto pair = answer(cfg, 400, "400_pair_rate_limit_131056.json");
  CHECK(pair.outcome == send_outcome::rate_limited);
  CHECK(pair.scope == limit_scope::recipient);
  CHECK(pair.retry_after_ms == 6000);

  auto waba = answer(cfg, 400, "400_waba_rate_limit_80007.json");
  CHECK(waba.outcome == send_outcome::rate_limited);
  CHECK(waba.retry_after_ms == 60000);

  // A Retry-After header wins over the default wait.
  auto told = answer(cfg, 429, "400_rate_limit_130429.json", std::string_view(" 7 "));
  CHECK(told.outcome == send_outcome::rate_limited);
  CHECK(told.retry_after_ms == 7000);

  auto invalid = answer(cfg, 400, "400_invalid_parameter_100.json");
  CHECK(invalid.outcome == send_outcome::permanent);
  CHECK(invalid.error_code == "100");

  auto expired = answer(cfg, 401, "401_token_expired_190.json");
  CHECK(expired.outcome == send_outcome::permanent);
  CHECK(expired.error_code == "190");

  auto wrong = answer(cfg, 500, "500_something_went_wrong_131000.json");
  CHECK(wrong.outcome == send_outcome::transient);
  CHECK(wrong.error_code == "131000");

  using sb::test::outbound::interpret;
  auto garbage = interpret(cfg, 502, "<html>Bad Gateway</html>", std::nullopt);
  CHECK(garbage.outcome == send_outcome::transient);
  CHECK(garbage.error_code == "502");
  auto timeout = interpret(cfg, 0, "", std::nullopt);
  CHECK(timeout.outcome == send_outcome::transient);
  auto unavailable = interpret(cfg, 503, "", std::string_view("30"));
  CHECK(unavailable.outcome == send_outcome::transient);
  CHECK(unavailable.retry_after_ms == 30000);
  // The platform took it, but said nothing we can read: sent, without an id (a retry could
  // deliver it twice).
  auto odd = interpret(cfg, 200, "OK", std::nullopt);
  CHECK(odd.outcome == send_outcome::sent);
  CHECK(odd.platform_message_id.empty());
  // A 429 without a body still slows down.
  auto bare429 = interpret(cfg, 429, "", std::nullopt);
  CHECK(bare429.outcome == send_outcome::rate_limited);
  CHECK(bare429.retry_after_ms == 1000);
}

// Messenger and Instagram Send API: the request's exact shape, and how answers are classified.
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

sb::config::channel_config channel(const std::string& type = "messenger") {
  sb::config::channel_config c;
  c.name = type == "messenger" ? "fb" : "ig";
  c.type = type;
  c.settings = {{"app_secret", "s"},
                {"verify_token", "v"},
                {"page_id", "1098765432101234"},
                {"access_token", "EAAJpageToken"},
                {"api_base", "http://127.0.0.1:4030/v21.0"}};
  return c;
}

}  // namespace

TEST_CASE("messenger text with quick replies goes to me/messages as RESPONSE",
          "[adapters][outbound][messenger]") {
  const auto cfg = channel();
  auto req =
      encode(cfg, message(cfg, R"({"channel":"fb","to":"1254477777772919","text":"Pick a color:",)"
                               R"("quick_replies":[{"title":"Red","payload":"COLOR_RED"},)"
                               R"({"title":"Green"},{"content_type":"user_phone_number"}]})"));
  CHECK(req.method == "POST");
  CHECK(req.url == "http://127.0.0.1:4030/v21.0/me/messages");
  CHECK(header(req, "Authorization") == "Bearer EAAJpageToken");
  CHECK(header(req, "Content-Type") == "application/json");
  CHECK(req.operation == "messenger messages");
  CHECK(req.url.find("access_token") == std::string::npos);
  CHECK(canonical(req.body) ==
        canonical(R"({"recipient":{"id":"1254477777772919"},"messaging_type":"RESPONSE",)"
                  R"("message":{"text":"Pick a color:","quick_replies":[)"
                  R"({"content_type":"text","title":"Red","payload":"COLOR_RED"},)"
                  R"({"content_type":"text","title":"Green","payload":"Green"},)"
                  R"({"content_type":"user_phone_number"}]}})"));
}

TEST_CASE("messenger tags and replies", "[adapters][outbound][messenger]") {
  auto cfg = channel();
  cfg.settings["human_agent_tag"] = "true";
  auto req = encode(
      cfg,
      message(cfg,
              R"({"channel":"fb","to":"1254477777772919","text":"Following up",)"
              R"("messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","reply_to":"m_AG5Hz2U"})"));
  CHECK(
      canonical(req.body) ==
      canonical(
          R"({"recipient":{"id":"1254477777772919"},"messaging_type":"MESSAGE_TAG",)"
          R"("tag":"HUMAN_AGENT","message":{"text":"Following up"},"reply_to":{"mid":"m_AG5Hz2U"}})"));

  auto update = encode(
      cfg, message(cfg, R"({"channel":"fb","to":"1","text":"Shipped","messaging_type":"UPDATE"})"));
  CHECK(canonical(update.body) ==
        canonical(
            R"({"recipient":{"id":"1"},"messaging_type":"UPDATE","message":{"text":"Shipped"}})"));
}

TEST_CASE("messenger attachments go by url (reusable) or attachment_id",
          "[adapters][outbound][messenger]") {
  const auto cfg = channel();
  auto image = encode(
      cfg,
      message(
          cfg,
          R"({"channel":"fb","to":"1","media":{"kind":"image","url":"https://acme.example/p.jpg"}})"));
  CHECK(
      canonical(image.body) ==
      canonical(
          R"({"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"attachment":)"
          R"({"type":"image","payload":{"url":"https://acme.example/p.jpg","is_reusable":true}}}})"));
  auto file = encode(
      cfg,
      message(
          cfg,
          R"({"channel":"fb","to":"1","media":{"kind":"document","media_id":"1857777774821032"}})"));
  CHECK(canonical(file.body) ==
        canonical(R"({"recipient":{"id":"1"},"messaging_type":"RESPONSE","message":{"attachment":)"
                  R"({"type":"file","payload":{"attachment_id":"1857777774821032"}}}})"));
}

TEST_CASE("instagram speaks the same Send API", "[adapters][outbound][instagram]") {
  const auto cfg = channel("instagram");
  auto req =
      encode(cfg, message(cfg, R"({"conversation":"ig:17841405793187218","text":"Thanks!"})"));
  CHECK(req.url == "http://127.0.0.1:4030/v21.0/me/messages");
  CHECK(req.operation == "instagram messages");
  CHECK(header(req, "Authorization") == "Bearer EAAJpageToken");
  CHECK(canonical(req.body) ==
        canonical(R"({"recipient":{"id":"17841405793187218"},"messaging_type":"RESPONSE",)"
                  R"("message":{"text":"Thanks!"}})"));
}

TEST_CASE("messenger and instagram answers are classified",
          "[adapters][outbound][messenger][instagram]") {
  const auto fb = channel();
  auto sent = answer(fb, 200, "200_sent.json");
  CHECK(sent.outcome == send_outcome::sent);
  CHECK(sent.platform_message_id ==
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P");

  auto window = answer(fb, 400, "400_outside_window_10.json");
  CHECK(window.outcome == send_outcome::permanent);
  CHECK(window.error_code == "10");
  CHECK(window.error_title.rfind("(#10) This message is sent outside of allowed window.", 0) == 0);

  auto limited = answer(fb, 400, "400_rate_limit_613.json");
  CHECK(limited.outcome == send_outcome::rate_limited);
  CHECK(limited.scope == limit_scope::channel);
  CHECK(limited.retry_after_ms == 10000);
  CHECK(limited.error_code == "613");

  auto gone = answer(fb, 400, "400_person_unavailable_551.json");
  CHECK(gone.outcome == send_outcome::permanent);
  CHECK(gone.error_title == "(#551) This person isn't available right now.");

  auto unexpected = answer(fb, 500, "500_unexpected_2.json");
  CHECK(unexpected.outcome == send_outcome::transient);
  CHECK(unexpected.error_code == "2");
  // Code 2 says "retry later" even when it comes with a 4xx.
  auto unexpected400 = answer(fb, 400, "500_unexpected_2.json");
  CHECK(unexpected400.outcome == send_outcome::transient);

  const auto ig = channel("instagram");
  auto ig_sent = answer(ig, 200, "200_sent.json");
  CHECK(ig_sent.outcome == send_outcome::sent);
  CHECK(ig_sent.platform_message_id.rfind("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE", 0) == 0);
  auto ig_window = answer(ig, 400, "400_outside_window_10.json");
  CHECK(ig_window.outcome == send_outcome::permanent);
  CHECK(ig_window.error_code == "10");

  using sb::test::outbound::interpret;
  CHECK(interpret(fb, 503, "Service Unavailable", std::nullopt).outcome == send_outcome::transient);
  CHECK(interpret(fb, 0, "", std::nullopt).outcome == send_outcome::transient);
}

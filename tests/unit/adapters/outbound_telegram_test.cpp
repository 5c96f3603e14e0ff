// Telegram Bot API: the send request's exact shape, and how its answers are classified.
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

const std::string k_bot_token = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

sb::config::channel_config channel() {
  sb::config::channel_config c;
  c.name = "tg";
  c.type = "telegram";
  c.settings = {
      {"secret_token", "s"}, {"bot_token", k_bot_token}, {"api_base", "http://127.0.0.1:4020"}};
  return c;
}

}  // namespace

TEST_CASE("telegram text goes to sendMessage with the bot token in the path",
          "[adapters][outbound][telegram]") {
  const auto cfg = channel();
  auto req = encode(cfg, message(cfg, R"({"channel":"tg","to":"123456789","text":"Hello"})"));
  CHECK(req.method == "POST");
  CHECK(req.url == "http://127.0.0.1:4020/bot" + k_bot_token + "/sendMessage");
  CHECK(header(req, "Content-Type") == "application/json");
  CHECK(header(req, "Authorization") == "<absent>");
  CHECK(req.operation == "telegram sendMessage");
  CHECK(req.operation.find("AAHdq") == std::string::npos);
  CHECK(canonical(req.body) == canonical(R"({"chat_id":123456789,"text":"Hello"})"));
}

TEST_CASE("telegram chat ids stay exact: negative, beyond 2^53, or a @username",
          "[adapters][outbound][telegram]") {
  const auto cfg = channel();
  auto big = encode(cfg, message(cfg, R"({"channel":"tg","to":"-10099999999999999","text":"x"})"));
  // The writer emits chat_id first: compare the bytes, so no double could have rounded it.
  CHECK(big.body.rfind(R"({"chat_id":-10099999999999999,)", 0) == 0);
  auto huge = encode(cfg, message(cfg, R"({"channel":"tg","to":9007199254740993,"text":"x"})"));
  CHECK(huge.body.rfind(R"({"chat_id":9007199254740993,)", 0) == 0);
  auto name = encode(cfg, message(cfg, R"({"channel":"tg","to":"@acme_news","text":"x"})"));
  CHECK(canonical(name.body) == canonical(R"({"chat_id":"@acme_news","text":"x"})"));
}

TEST_CASE("telegram inline keyboards and replies", "[adapters][outbound][telegram]") {
  const auto cfg = channel();
  auto req = encode(
      cfg, message(cfg, R"({"conversation":"tg:-1001234567890","text":"Rate us","reply_to":"4242",)"
                        R"("keyboard":[[{"text":"\ud83d\udc4d","callback_data":"rate:up"},)"
                        R"({"text":"\ud83d\udc4e","callback_data":"rate:down"}],)"
                        R"([{"text":"Help","url":"https://acme.example/help"}]]})"));
  CHECK(
      canonical(req.body) ==
      canonical(
          R"({"chat_id":-1001234567890,"text":"Rate us",)"
          R"("reply_parameters":{"message_id":4242,"allow_sending_without_reply":true},)"
          R"("reply_markup":{"inline_keyboard":[[{"text":"\ud83d\udc4d","callback_data":"rate:up"},)"
          R"({"text":"\ud83d\udc4e","callback_data":"rate:down"}],)"
          R"([{"text":"Help","url":"https://acme.example/help"}]]}})"));
}

TEST_CASE("telegram media pick their method", "[adapters][outbound][telegram]") {
  const auto cfg = channel();
  auto photo = encode(
      cfg,
      message(cfg, R"({"channel":"tg","to":"123456789","media":)"
                   R"({"kind":"image","url":"https://acme.example/p.jpg","caption":"Receipt"}})"));
  CHECK(photo.url == "http://127.0.0.1:4020/bot" + k_bot_token + "/sendPhoto");
  CHECK(canonical(photo.body) ==
        canonical(
            R"({"chat_id":123456789,"photo":"https://acme.example/p.jpg","caption":"Receipt"})"));

  auto doc = encode(cfg, message(cfg, R"({"channel":"tg","to":"123456789","media":)"
                                      R"({"kind":"document","media_id":"BQACAgIAAxkBAAIBZ2Zm"},)"
                                      R"("keyboard":[[{"text":"Paid","callback_data":"paid"}]]})"));
  CHECK(doc.url == "http://127.0.0.1:4020/bot" + k_bot_token + "/sendDocument");
  CHECK(canonical(doc.body) ==
        canonical(
            R"({"chat_id":123456789,"document":"BQACAgIAAxkBAAIBZ2Zm",)"
            R"("reply_markup":{"inline_keyboard":[[{"text":"Paid","callback_data":"paid"}]]}})"));

  auto video = encode(
      cfg, message(cfg, R"({"channel":"tg","to":"1","media":{"kind":"video","media_id":"v"}})"));
  CHECK(video.operation == "telegram sendVideo");
  CHECK(canonical(video.body) == canonical(R"({"chat_id":1,"video":"v"})"));
  auto audio = encode(
      cfg, message(cfg, R"({"channel":"tg","to":"1","media":{"kind":"audio","media_id":"a"}})"));
  CHECK(audio.operation == "telegram sendAudio");
  auto sticker = encode(
      cfg, message(cfg, R"({"channel":"tg","to":"1","media":{"kind":"sticker","media_id":"s"}})"));
  CHECK(sticker.operation == "telegram sendSticker");
  CHECK(canonical(sticker.body) == canonical(R"({"chat_id":1,"sticker":"s"})"));
}

TEST_CASE("a telegram channel without bot_token cannot encode", "[adapters][outbound][telegram]") {
  auto cfg = channel();
  const auto m = message(cfg, R"({"channel":"tg","to":"1","text":"x"})");
  cfg.settings["bot_token"] = "";
  auto r = sb::adapters::outbound_for(cfg)->encode(m);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == sb::errc::unavailable);
  CHECK(r.err().message.find("bot_token") != std::string::npos);
}

TEST_CASE("telegram answers are classified", "[adapters][outbound][telegram]") {
  const auto cfg = channel();

  auto sent = answer(cfg, 200, "200_send_message.json");
  CHECK(sent.outcome == send_outcome::sent);
  CHECK(sent.platform_message_id == "4242");
  auto photo = answer(cfg, 200, "200_send_photo.json");
  CHECK(photo.platform_message_id == "9007199254740993");

  auto flood = answer(cfg, 429, "429_too_many_requests.json");
  CHECK(flood.outcome == send_outcome::rate_limited);
  CHECK(flood.retry_after_ms == 3000);
  CHECK(flood.scope == limit_scope::recipient);
  CHECK(flood.error_code == "429");
  CHECK(flood.error_title == "Too Many Requests: retry after 3");
  // parameters.retry_after is the authority even when a header says otherwise.
  auto both = answer(cfg, 429, "429_too_many_requests.json", std::string_view("10"));
  CHECK(both.retry_after_ms == 3000);

  auto gateway = answer(cfg, 502, "502_bad_gateway.html");
  CHECK(gateway.outcome == send_outcome::transient);
  CHECK(gateway.error_code == "502");

  auto missing = answer(cfg, 400, "400_chat_not_found.json");
  CHECK(missing.outcome == send_outcome::permanent);
  CHECK(missing.error_code == "400");
  CHECK(missing.error_title == "Bad Request: chat not found");

  auto blocked = answer(cfg, 403, "403_bot_blocked.json");
  CHECK(blocked.outcome == send_outcome::permanent);
  CHECK(blocked.error_title == "Forbidden: bot was blocked by the user");

  auto migrated = answer(cfg, 400, "400_migrated_to_supergroup.json");
  CHECK(migrated.outcome == send_outcome::permanent);
  CHECK(migrated.error_title ==
        "Bad Request: group chat was upgraded to a supergroup chat (migrate_to_chat_id "
        "-1001987654321)");

  auto token = answer(cfg, 401, "401_unauthorized.json");
  CHECK(token.outcome == send_outcome::permanent);
  CHECK(token.error_code == "401");

  using sb::test::outbound::interpret;
  CHECK(interpret(cfg, 0, "", std::nullopt).outcome == send_outcome::transient);
  auto odd = interpret(cfg, 200, R"({"ok":false,"error_code":400,"description":"Bad Request"})",
                       std::nullopt);
  CHECK(odd.outcome == send_outcome::permanent);
  auto bare429 = interpret(cfg, 429, "", std::string_view("5"));
  CHECK(bare429.outcome == send_outcome::rate_limited);
  CHECK(bare429.retry_after_ms == 5000);
}

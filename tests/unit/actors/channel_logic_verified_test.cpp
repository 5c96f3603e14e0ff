// channel_logic and the edge's `verified` flag (issue 10 row 2): a request the HTTP edge has
// verified is not verified twice; anything else still is.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "actors/channel_logic.hpp"
#include "adapters/adapter.hpp"

namespace {

const std::string k_master_key(32, 'k');

sb::config::channel_config telegram_channel() {
  sb::config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  tg.settings["secret_token"] = "s3cret";
  tg.settings["bot_token"] = "123456789:token";
  return tg;
}

std::string update_body() {
  std::string body =
      R"({"update_id":918273600,"message":{"message_id":17,"from":{"id":7001234567,)"
      R"("is_bot":false,"first_name":"Ana"},"chat":{"id":7001234567,"first_name":"Ana",)"
      R"("type":"private"},"date":1749416383,"text":"hi"}})";
  body.reserve(body.size() + 64);
  return body;
}

}  // namespace

TEST_CASE("without the edge's verified flag channel_logic verifies the signature itself",
          "[actors][channel_logic]") {
  const auto cfg = telegram_channel();
  sb::actors::channel_logic logic("acme", cfg, *sb::adapters::find("telegram"), k_master_key);
  std::vector<sb::adapters::header> wrong{{"x-telegram-bot-api-secret-token", "guess"}};
  auto body = update_body();
  auto outcome = logic.ingest("POST", "", wrong, body);
  auto* now = std::get_if<sb::actors::respond_now>(&outcome);
  REQUIRE(now != nullptr);
  CHECK(now->response.status == 401);

  std::vector<sb::adapters::header> right{{"x-telegram-bot-api-secret-token", "s3cret"}};
  body = update_body();
  auto stored = logic.ingest("POST", "", right, body, false);
  REQUIRE(std::holds_alternative<sb::actors::store_events>(stored));
}

TEST_CASE("a request the edge verified is parsed without a second verification",
          "[actors][channel_logic]") {
  const auto cfg = telegram_channel();
  sb::actors::channel_logic logic("acme", cfg, *sb::adapters::find("telegram"), k_master_key);
  // The edge verified the request; what reaches the channel is only parsed.
  std::vector<sb::adapters::header> none;
  auto body = update_body();
  auto outcome = logic.ingest("POST", "", none, body, true);
  auto* events = std::get_if<sb::actors::store_events>(&outcome);
  REQUIRE(events != nullptr);
  REQUIRE(events->events.size() == 1);
  CHECK(events->events[0].tenant == "acme");
}

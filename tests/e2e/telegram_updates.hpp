#pragma once

// Telegram updates as the end-to-end tests send them: a private chat's text message, signed with
// the tenant's secret token and posted to its `tg` channel.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

namespace sb::test {

/// Update `update_id` of a private chat with user `chat` (the chat id is the user's), text
/// "update <update_id>", from a person named `first_name` "Test".
inline std::string telegram_update(std::uint64_t update_id, std::uint64_t chat,
                                   const std::string& first_name) {
  const std::string id = std::to_string(update_id);
  const std::string user = std::to_string(chat);
  return R"({"update_id":)" + id + R"(,"message":{"message_id":)" + id + R"(,"from":{"id":)" +
         user + R"(,"is_bot":false,"first_name":")" + first_name +
         R"(","last_name":"Test"},"chat":{"id":)" + user + R"(,"first_name":")" + first_name +
         R"(","type":"private"},"date":1749416383,"text":"update )" + id + R"("}})";
}

/// Posts `telegram_update(update_id, chat, first_name)` to `<base>/webhooks/<tenant>/tg`, signed;
/// requires a 200 and answers its body.
inline json post_telegram_update(const std::string& base, const test_tenant& tenant,
                                 std::uint64_t update_id, std::uint64_t chat,
                                 const std::string& first_name) {
  auto r = request("POST", base + "/webhooks/" + tenant.id + "/tg",
                   signing::telegram(tenant.tg_secret_token()),
                   telegram_update(update_id, chat, first_name), std::chrono::seconds(10));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

}  // namespace sb::test

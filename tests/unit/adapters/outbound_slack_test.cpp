// Slack Web API chat.postMessage: the send request's exact shape, what a Slack message may carry,
// and how Slack's answers are classified.
#include <catch2/catch.hpp>

#include <string>

#include "outbound_support.hpp"

using sb::adapters::limit_scope;
using sb::adapters::send_outcome;
using sb::test::outbound::answer;
using sb::test::outbound::canonical;
using sb::test::outbound::encode;
using sb::test::outbound::header;
using sb::test::outbound::invalid;
using sb::test::outbound::message;

namespace {

const std::string k_bot_token = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";

sb::config::channel_config channel(const std::string& bot_token = k_bot_token) {
  sb::config::channel_config c;
  c.name = "sl";
  c.type = "slack";
  c.settings = {{"signing_secret", "s"},
                {"bot_token", bot_token},
                {"team_id", "T061EG9R6"},
                {"api_base", "http://127.0.0.1:4020/api/"}};
  return c;
}

}  // namespace

TEST_CASE("slack text goes to chat.postMessage with the bot token as a Bearer token",
          "[adapters][outbound][slack]") {
  const auto cfg = channel();
  auto req = encode(cfg, message(cfg, R"({"channel":"sl","to":"D0PNCRP9N","text":"Hello"})"));
  CHECK(req.method == "POST");
  CHECK(req.url == "http://127.0.0.1:4020/api/chat.postMessage");
  CHECK(header(req, "Authorization") == "Bearer " + k_bot_token);
  CHECK(header(req, "Content-Type") == "application/json; charset=utf-8");
  CHECK(req.operation == "slack chat.postMessage");
  // The token is in the Authorization header only.
  CHECK(req.url.find("xoxb") == std::string::npos);
  CHECK(req.body.find("xoxb") == std::string::npos);
  CHECK(req.operation.find("xoxb") == std::string::npos);
  CHECK(canonical(req.body) == canonical(R"({"channel":"D0PNCRP9N","text":"Hello"})"));

  auto by_conversation =
      encode(cfg, message(cfg, R"({"conversation":"sl:C2147483705","text":"Hi all"})"));
  CHECK(canonical(by_conversation.body) ==
        canonical(R"({"channel":"C2147483705","text":"Hi all"})"));
}

TEST_CASE("a slack message posted into a thread carries thread_ts", "[adapters][outbound][slack]") {
  const auto cfg = channel();
  auto req = encode(cfg, message(cfg, R"({"channel":"sl","to":"C2147483705","text":"On it.",)"
                                      R"("thread":"1733230877.003100"})"));
  CHECK(canonical(req.body) ==
        canonical(R"({"channel":"C2147483705","text":"On it.","thread_ts":"1733230877.003100"})"));
}

TEST_CASE("slack recipients, text length, media and reply_to are checked",
          "[adapters][outbound][slack]") {
  const auto cfg = channel();
  for (const char* to : {"C2147483705", "D0PNCRP9N", "G0AB12", "U061F7AUR", "W0123ABC"}) {
    INFO(to);
    message(cfg, std::string(R"({"channel":"sl","to":")") + to + R"(","text":"x"})");
  }
  for (const char* to :
       {"c2147483705", "X2147483705", "C1", "C21474-83705", "#general", "16505551234"}) {
    INFO(to);
    CHECK(invalid(cfg, std::string(R"({"channel":"sl","to":")") + to + R"(","text":"x"})")
              .find("Slack conversation or user id") != std::string::npos);
  }
  // Slack's own limit, 40000 characters (not bytes), checked on the message model: the API's
  // body parser caps every platform's text at 4096 characters before it.
  auto long_text = [&](std::string text) {
    sb::adapters::outbound_message m;
    m.channel = "sl";
    m.to = "D0PNCRP9N";
    m.text = std::move(text);
    sb::adapters::apply_defaults(cfg, m);
    return sb::adapters::validate(cfg, m);
  };
  CHECK(long_text(std::string(40000, 'a')).ok());
  std::string accents;
  for (int i = 0; i < 40000; ++i) {
    accents += "\xc3\xa9";
  }
  CHECK(long_text(accents).ok());
  auto too_long = long_text(std::string(40001, 'a'));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.err().code == sb::errc::bad_request);
  CHECK(too_long.err().message.find("40000") != std::string::npos);
  auto empty = long_text("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.err().message.find("'text'") != std::string::npos);

  CHECK(invalid(cfg, R"({"channel":"sl","to":"D0PNCRP9N","media":)"
                     R"({"kind":"image","url":"https://acme.example/p.jpg"}})")
            .find("files.upload") != std::string::npos);
  CHECK(
      invalid(cfg, R"({"channel":"sl","to":"D0PNCRP9N","text":"x","reply_to":"1733230345.000200"})")
          .find("'thread'") != std::string::npos);
  CHECK(invalid(cfg, R"({"channel":"sl","to":"D0PNCRP9N","text":"x","thread":"yesterday"})")
            .find("'thread'") != std::string::npos);
  CHECK(invalid(cfg, R"({"channel":"sl","to":"D0PNCRP9N","text":"x","keyboard":)"
                     R"([[{"text":"a","callback_data":"b"}]]})")
            .find("'keyboard'") != std::string::npos);
}

TEST_CASE("a slack channel without a bot_token cannot send, and says which key is missing",
          "[adapters][outbound][slack]") {
  const auto cfg = channel("");
  auto m = message(cfg, R"({"channel":"sl","to":"D0PNCRP9N","text":"Hello"})");
  auto r = sb::adapters::outbound_for(cfg)->encode(m);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == sb::errc::unavailable);
  CHECK(r.err().message.find("bot_token") != std::string::npos);
}

TEST_CASE("slack answers are classified: sent, rate limited, transient, permanent",
          "[adapters][outbound][slack]") {
  const auto cfg = channel();

  auto ok = answer(cfg, 200, "200_post_message.json");
  CHECK(ok.outcome == send_outcome::sent);
  CHECK(ok.platform_message_id == "1733231100.000700");
  CHECK(ok.error_code.empty());

  auto limited = answer(cfg, 429, "429_ratelimited.json", std::string_view("30"));
  CHECK(limited.outcome == send_outcome::rate_limited);
  CHECK(limited.retry_after_ms == 30000);
  CHECK(limited.scope == limit_scope::recipient);
  auto limited_default = answer(cfg, 429, "429_ratelimited.json");
  CHECK(limited_default.outcome == send_outcome::rate_limited);
  CHECK(limited_default.retry_after_ms == 1000);
  auto limited_in_body =
      sb::test::outbound::interpret(cfg, 200, R"({"ok":false,"error":"ratelimited"})", {});
  CHECK(limited_in_body.outcome == send_outcome::rate_limited);
  CHECK(limited_in_body.retry_after_ms == 1000);
  CHECK(limited_in_body.scope == limit_scope::recipient);

  auto internal = answer(cfg, 200, "200_internal_error.json");
  CHECK(internal.outcome == send_outcome::transient);
  CHECK(internal.error_code == "internal_error");
  for (const char* code : {"fatal_error", "service_unavailable", "request_timeout"}) {
    INFO(code);
    auto r = sb::test::outbound::interpret(
        cfg, 200, std::string(R"({"ok":false,"error":")") + code + R"("})", {});
    CHECK(r.outcome == send_outcome::transient);
    CHECK(r.error_code == code);
  }
  CHECK(sb::test::outbound::interpret(cfg, 503, "<html>Service Unavailable</html>", {}).outcome ==
        send_outcome::transient);
  CHECK(sb::test::outbound::interpret(cfg, 0, "", {}).outcome == send_outcome::transient);

  for (const auto& [file, code] : std::vector<std::pair<std::string, std::string>>{
           {"200_channel_not_found.json", "channel_not_found"},
           {"200_not_in_channel.json", "not_in_channel"},
           {"200_invalid_auth.json", "invalid_auth"},
           {"200_missing_scope.json", "missing_scope"},
           {"200_unknown_error.json", "some_future_error"}}) {
    INFO(file);
    auto r = answer(cfg, 200, file);
    CHECK(r.outcome == send_outcome::permanent);
    CHECK(r.error_code == code);
    CHECK(r.error_title.find("Slack refused the message") == 0);
    CHECK(r.retry_after_ms == 0);
  }
  CHECK(answer(cfg, 200, "200_not_in_channel.json").error_title.find("invite") !=
        std::string::npos);
  CHECK(answer(cfg, 200, "200_unknown_error.json").error_title.find("some_future_error") !=
        std::string::npos);
}

TEST_CASE("slack's default limits: one message a second per conversation, twenty per channel",
          "[adapters][outbound][slack]") {
  const auto out = sb::adapters::outbound_for(channel());
  REQUIRE(out != nullptr);
  CHECK(out->limits().per_recipient_rps == Approx(1.0));
  CHECK(out->limits().per_recipient_burst >= 1);
  CHECK(out->limits().per_recipient_burst <= 5);
  CHECK(out->limits().per_channel_rps == Approx(20.0));
  CHECK(out->window().window_hours == 0);
  CHECK(out->account() == "T061EG9R6");
}

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "adapters/telegram/telegram.hpp"
#include "config/loader.hpp"
#include "support/fixtures.hpp"

using sb::adapters::header;
using sb::adapters::request;

namespace {

const std::string k_secret = "tg-Secret_token-42";
const std::string k_bot_token = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

sb::config::channel_config channel(const std::string& bot_token = k_bot_token) {
  sb::config::channel_config c;
  c.name = "tg";
  c.type = "telegram";
  c.settings = {{"secret_token", k_secret},
                {"bot_token", bot_token},
                {"api_base", "https://api.telegram.org"}};
  return c;
}

std::unique_ptr<sb::adapters::adapter> make(const std::string& bot_token = k_bot_token) {
  return sb::adapters::telegram::info().make(channel(bot_token));
}

/// A POST as the gateway hands it over: body with simdjson padding, the secret header.
struct post {
  std::string body;
  std::vector<header> headers;

  explicit post(std::string b, const std::string& token = k_secret)
      : body(sb::test::padded(std::move(b))) {
    if (!token.empty()) {
      headers.push_back({"x-telegram-bot-api-secret-token", token});
    }
  }
  request req() const {
    request r;
    r.method = "POST";
    r.headers = &headers;
    r.body = body;
    return r;
  }
};

/// Parses one body that must yield exactly one event.
sb::event parse_one(sb::adapters::adapter& a, const std::string& body) {
  post p(body);
  std::vector<sb::event> out;
  auto st = a.parse(p.req(), out);
  INFO(st.err().message);
  REQUIRE(st.ok());
  REQUIRE(out.size() == 1);
  return std::move(out.front());
}

sb::event parse_fixture(const std::string& name) {
  auto a = make();
  return parse_one(*a, sb::test::fixture("telegram/" + name));
}

sb::errc parse_error(const std::string& body) {
  auto a = make();
  post p(body);
  std::vector<sb::event> out(1);  // a sentinel: a failed parse must leave `out` alone
  out.front().platform_event_id = "sentinel";
  auto st = a->parse(p.req(), out);
  CHECK(out.size() == 1);
  CHECK(out.front().platform_event_id == "sentinel");
  return st.ok() ? sb::errc::ok : st.err().code;
}

std::string rfc3339(const sb::timestamp& t) {
  return sb::to_rfc3339(t);
}

/// Checks the sender and subject of a Telegram user.
void check_person(const sb::event& e, const std::string& id, const std::string& name,
                  const std::string& username) {
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == id);
  CHECK(e.sender->name == name);
  CHECK(e.sender->username == username);
  CHECK(e.subject_source == id);
}

void check_channel(const sb::event& e) {
  CHECK(e.channel.name == "tg");
  CHECK(e.channel.type == "telegram");
  CHECK(e.channel.account == "7012345678");
}

}  // namespace

// -- Declaration ---------------------------------------------------------------------------

TEST_CASE("telegram declares its settings, header and account", "[telegram][adapters]") {
  const auto info = sb::adapters::telegram::info();
  CHECK(info.type == "telegram");
  CHECK(info.schema.type == "telegram");
  // The webhook keys, then the outbound keys (tests/unit/adapters/outbound_limits_test.cpp).
  REQUIRE(info.schema.settings.size() == 8);
  CHECK(info.schema.settings[3].key == "rate_per_second");
  CHECK(info.schema.settings[7].key == "group_per_minute");
  const auto& secret = info.schema.settings[0];
  CHECK(secret.key == "secret_token");
  CHECK(secret.required);
  CHECK(secret.secret);
  const auto& bot = info.schema.settings[1];
  CHECK(bot.key == "bot_token");
  CHECK_FALSE(bot.required);
  CHECK(bot.secret);
  CHECK(bot.default_value.empty());
  const auto& base = info.schema.settings[2];
  CHECK(base.key == "api_base");
  CHECK_FALSE(base.secret);
  CHECK(base.default_value == "https://api.telegram.org");
  for (const auto& s : info.schema.settings) {
    CHECK_FALSE(s.description.empty());
  }
  CHECK(info.headers == std::vector<std::string>{"x-telegram-bot-api-secret-token"});
}

TEST_CASE("telegram account is the bot id before the token's colon", "[telegram][adapters]") {
  const auto info = sb::adapters::telegram::info();
  CHECK(info.account(channel()) == "7012345678");
  CHECK(info.account(channel("")) == "");
  CHECK(info.account(channel("no-colon-here")) == "");
  CHECK(info.account(channel("12ab:xyz")) == "");
  CHECK(info.account(channel(":xyz")) == "");
}

TEST_CASE("telegram channel config gets defaults and needs secret_token", "[telegram][adapters]") {
  const std::string head =
      "storage:\n  master_key: \"" + std::string(64, 'a') +
      "\"\ntenants:\n  - id: acme\n    channels:\n      - name: tg\n        type: telegram\n";
  auto good = sb::config::load_string(head + "        secret_token: abc_DEF-123\n", "t.yaml",
                                      sb::adapters::schemas());
  INFO(good.errors.to_string());
  REQUIRE(good.ok());
  const auto& ch = good.cfg->tenants.at(0).channels.at(0);
  CHECK(ch.get("api_base") == "https://api.telegram.org");
  CHECK(ch.get("bot_token") == "");

  auto missing = sb::config::load_string(head, "t.yaml", sb::adapters::schemas());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.errors.to_string().find("secret_token: missing secret") != std::string::npos);
}

// -- Authenticity --------------------------------------------------------------------------

TEST_CASE("telegram accepts the configured secret token", "[telegram][adapters][verify]") {
  auto a = make();
  post p(sb::test::fixture("telegram/text.json"));
  CHECK(a->verify(p.req()).ok());
}

TEST_CASE("telegram rejects a missing secret token header", "[telegram][adapters][verify]") {
  auto a = make();
  post p(sb::test::fixture("telegram/text.json"), "");
  auto st = a->verify(p.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::missing_signature);
}

TEST_CASE("telegram rejects a wrong secret token", "[telegram][adapters][verify]") {
  auto a = make();
  for (std::string wrong : {"tg-Secret_token-43", "tg-secret_token-42", "tg-Secret_token-4",
                            "tg-Secret_token-420", "x"}) {
    CAPTURE(wrong);
    post p(sb::test::fixture("telegram/text.json"), wrong);
    auto st = a->verify(p.req());
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == sb::errc::bad_signature);
  }
}

// -- Messages ------------------------------------------------------------------------------

TEST_CASE("telegram private text message is normalized", "[telegram][adapters][parse]") {
  const auto e = parse_fixture("text.json");
  check_channel(e);
  CHECK(e.type == "message");
  CHECK(e.kind.empty());
  CHECK(e.platform_event_id == "918273645");
  CHECK(e.dedupe_key == "u:918273645");
  CHECK(e.peer == "532189746");
  CHECK(e.conversation == "tg:532189746");
  check_person(e, "532189746", "Amélie Durand", "amelie_d");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T12:52:25Z");
  CHECK(e.content.text == "Bonjour ! Has order #1001 shipped yet?");
  CHECK(e.content.attachments.empty());
  CHECK(e.content.reply_to.empty());
  CHECK(e.content.payload.empty());
  CHECK_FALSE(e.content.reaction);
  CHECK_FALSE(e.status);
  CHECK_FALSE(e.order);
  // Gateway fields stay unset.
  CHECK(e.id.empty());
  CHECK(e.tenant.empty());
  CHECK(e.subject.empty());
  CHECK(e.received_at.empty());
}

TEST_CASE("telegram group reply keeps the large chat id and the replied-to message",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("group_reply.json");
  CHECK(e.type == "message");
  CHECK(e.platform_event_id == "918273646");
  CHECK(e.peer == "-1001234567890123");
  CHECK(e.conversation == "tg:-1001234567890123");
  check_person(e, "6093482211", "Kenji", "kenji_w");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T12:53:22Z");
  CHECK(e.content.text == "Will the API be down too?");
  CHECK(e.content.reply_to == "48190");
  CHECK(e.content.attachments.empty());
}

TEST_CASE("telegram photo becomes its largest size with the caption as text",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("photo.json");
  CHECK(e.type == "message");
  CHECK(e.conversation == "tg:532189746");
  check_person(e, "532189746", "Amélie Durand", "amelie_d");
  CHECK(e.content.text == "The parcel arrived like this");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "image");
  CHECK(a.media_id ==
        "AgACAgQAAxkBAAIWz2dPn3Fh2s0AAWcG8z0v1qHfHq6KAAJxwzEbV3qBUjSkbBvC5J6RAQADAgADeQADNgQ");
  CHECK(a.mime_type.empty());
  CHECK(a.file_name.empty());
}

TEST_CASE("telegram photo sizes are compared by area, not position",
          "[telegram][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, R"({"update_id":7,"message":{"message_id":1,"date":1733230501,
      "chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},
      "photo":[{"file_id":"big","file_unique_id":"b","width":1280,"height":960},
               {"file_id":"small","file_unique_id":"s","width":90,"height":67}]}})");
  REQUIRE(e.content.attachments.size() == 1);
  CHECK(e.content.attachments[0].media_id == "big");
  CHECK(e.content.text.empty());
}

TEST_CASE("telegram document becomes a file with name and mime type",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("document.json");
  CHECK(e.type == "message");
  CHECK(e.content.text.empty());
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "file");
  CHECK(a.media_id == "BQACAgQAAxkBAAIW0GdPn7KlvF6F9S20KTd2Zm504Nq0AAJfFQACV3qBUlBqtQnuV3OMNgQ");
  CHECK(a.file_name == "invoice-1001.pdf");
  CHECK(a.mime_type == "application/pdf");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T12:57:02Z");
}

TEST_CASE("telegram voice note becomes a voice attachment", "[telegram][adapters][parse]") {
  const auto e = parse_fixture("voice.json");
  CHECK(e.type == "message");
  CHECK(e.platform_event_id == "918273649");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "voice");
  CHECK(a.media_id == "AwACAgQAAxkBAAIW0WdPoBwzQ4m2Xk9s0P1l8b3xYV0uAAJgFQACV3qBUtm3AAGpKQ3ZhDYE");
  CHECK(a.mime_type == "audio/ogg");
  CHECK(e.content.text.empty());
}

TEST_CASE("telegram location carries its coordinates", "[telegram][adapters][parse]") {
  const auto e = parse_fixture("location.json");
  CHECK(e.type == "message");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "location");
  REQUIRE(a.latitude);
  REQUIRE(a.longitude);
  CHECK(*a.latitude == Approx(48.858093).epsilon(1e-12));
  CHECK(*a.longitude == Approx(2.294694).epsilon(1e-12));
  CHECK(a.name.empty());
  CHECK(a.address.empty());
}

TEST_CASE("telegram venue is one location with name and address", "[telegram][adapters][parse]") {
  const auto e = parse_fixture("venue.json");
  CHECK(e.type == "message");
  REQUIRE(e.content.attachments.size() == 1);  // not twice, though `location` is repeated
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "location");
  REQUIRE(a.latitude);
  REQUIRE(a.longitude);
  CHECK(*a.latitude == Approx(48.860611).epsilon(1e-12));
  CHECK(*a.longitude == Approx(2.337644).epsilon(1e-12));
  CHECK(a.name == "Musée du Louvre");
  CHECK(a.address == "Rue de Rivoli, 75001 Paris");
}

TEST_CASE("telegram shared contact carries name and phone number", "[telegram][adapters][parse]") {
  const auto e = parse_fixture("contact.json");
  CHECK(e.type == "message");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "contact");
  CHECK(a.name == "Amélie Durand");
  CHECK(a.phone == "+33612345678");
  CHECK(a.media_id.empty());
}

TEST_CASE("telegram edited message is message.edited at its edit time",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("edited_message.json");
  CHECK(e.type == "message.edited");
  CHECK(e.platform_event_id == "918273654");
  CHECK(e.dedupe_key == "u:918273654");
  CHECK(e.conversation == "tg:532189746");
  check_person(e, "532189746", "Amélie Durand", "amelie_d");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T12:52:57Z");  // edit_date, not date
  CHECK(e.content.text == "Bonjour ! Has order #1002 shipped yet?");
}

TEST_CASE("telegram channel post has the channel as sender and no subject",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("channel_post.json");
  CHECK(e.type == "message");
  CHECK(e.platform_event_id == "918273655");
  CHECK(e.peer == "-1009007199254740993");  // below -2^53: exact
  CHECK(e.conversation == "tg:-1009007199254740993");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "-1009007199254740993");
  CHECK(e.sender->name == "Acme Announcements");
  CHECK(e.sender->username == "acme_news");
  CHECK(e.subject_source.empty());
  CHECK(e.content.text == "Winter sale starts Monday: 20% off everything.");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T13:06:40Z");
}

TEST_CASE("telegram anonymous admin message has the group as sender, not its placeholder user",
          "[telegram][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, R"({"update_id":13,"message":{"message_id":48240,
      "from":{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"},
      "sender_chat":{"id":-1001234567890123,"title":"Acme Support Community","type":"supergroup"},
      "chat":{"id":-1001234567890123,"title":"Acme Support Community","type":"supergroup"},
      "date":1733231600,"text":"Pinned: read the rules"}})");
  CHECK(e.type == "message");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "-1001234567890123");
  CHECK(e.sender->name == "Acme Support Community");
  CHECK(e.subject_source.empty());
}

TEST_CASE("telegram service message becomes system named after its content",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("new_chat_members.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "new_chat_members");
  CHECK(e.conversation == "tg:-1001234567890123");
  check_person(e, "6871203345", "Priya Raman", "");
  CHECK(e.content.empty());
}

// -- Other update kinds --------------------------------------------------------------------

TEST_CASE("telegram callback query is a postback with the button's message text",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("callback_query.json");
  CHECK(e.type == "postback");
  CHECK(e.platform_event_id == "918273653");
  CHECK(e.dedupe_key == "u:918273653");
  CHECK(e.peer == "532189746");
  CHECK(e.conversation == "tg:532189746");
  check_person(e, "532189746", "Amélie Durand", "amelie_d");
  CHECK(e.content.payload == "feedback:yes:5829");
  CHECK(e.content.text == "Was this answer helpful?");
  CHECK(e.occurred_at.empty());  // a callback query has no date of its own
}

TEST_CASE("telegram callback query under an inline message talks to the user",
          "[telegram][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, R"({"update_id":8,"callback_query":{"id":"4382","from":
      {"id":532189746,"is_bot":false,"first_name":"Amélie"},"inline_message_id":"AAAAAKzq",
      "chat_instance":"-69183462","data":"vote:2"}})");
  CHECK(e.type == "postback");
  CHECK(e.conversation == "tg:532189746");
  CHECK(e.content.payload == "vote:2");
  CHECK(e.content.text.empty());
}

TEST_CASE("telegram message reaction reports the new emoji and the message",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("message_reaction.json");
  CHECK(e.type == "reaction");
  CHECK(e.platform_event_id == "918273657");
  CHECK(e.conversation == "tg:-1001234567890123");
  check_person(e, "6093482211", "Kenji", "kenji_w");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T13:10:00Z");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji == "👍");
  CHECK(e.content.reaction->message_id == "48213");
}

TEST_CASE("telegram removed reaction has an empty emoji", "[telegram][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, R"({"update_id":9,"message_reaction":{"chat":{"id":-100123,
      "type":"supergroup","title":"G"},"message_id":77,"user":{"id":42,"is_bot":false,
      "first_name":"Kai"},"date":1733231400,"old_reaction":[{"type":"emoji","emoji":"🔥"}],
      "new_reaction":[]}})");
  CHECK(e.type == "reaction");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji.empty());
  CHECK(e.content.reaction->message_id == "77");
}

TEST_CASE("telegram bot blocked by the user is a system my_chat_member event",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("my_chat_member.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "my_chat_member");
  CHECK(e.platform_event_id == "918273656");
  CHECK(e.conversation == "tg:532189746");
  check_person(e, "532189746", "Amélie Durand", "amelie_d");
  CHECK(e.content.text == "kicked");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T13:08:20Z");
}

TEST_CASE("telegram unknown update kind is kept as system with its name",
          "[telegram][adapters][parse]") {
  const auto e = parse_fixture("chat_join_request.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "chat_join_request");
  CHECK(e.platform_event_id == "918273658");
  CHECK(e.dedupe_key == "u:918273658");
  CHECK(e.conversation == "tg:-1001234567890123");
  check_person(e, "6871203345", "Priya Raman", "");
  CHECK(rfc3339(e.occurred_at) == "2024-12-03T13:11:40Z");
  CHECK(e.content.empty());
}

TEST_CASE("telegram update kinds of any shape are never dropped", "[telegram][adapters][parse]") {
  auto a = make();
  auto poll = parse_one(*a, R"({"update_id":10,"poll":{"id":"5893","question":"Tea?",
      "options":[{"text":"Yes","voter_count":3}],"total_voter_count":3,"is_closed":false}})");
  CHECK(poll.type == "system");
  CHECK(poll.kind == "poll");
  CHECK(poll.conversation.empty());
  CHECK_FALSE(poll.sender);
  CHECK(poll.subject_source.empty());

  auto odd = parse_one(*a, R"({"update_id":11,"future_kind":[1,2,3]})");
  CHECK(odd.type == "system");
  CHECK(odd.kind == "future_kind");

  // A known member name with an unexpected type inside an unknown kind is not an error.
  auto lenient = parse_one(*a, R"({"update_id":12,"chat_boost":{"chat":{"id":"x"},"date":"y"}})");
  CHECK(lenient.kind == "chat_boost");
  CHECK(lenient.conversation.empty());
  CHECK(lenient.occurred_at.empty());
}

// -- Exactness and robustness --------------------------------------------------------------

TEST_CASE("telegram ids beyond 2^53 and int64 survive exactly", "[telegram][adapters][parse]") {
  auto a = make();
  const auto e = parse_one(*a, R"({"update_id":9007199254740993,"message":{"message_id":1,
      "date":1733230345,"chat":{"id":-9007199254740993,"type":"supergroup","title":"Big"},
      "from":{"id":18446744073709551615,"is_bot":false,"first_name":"Max"},"text":"hi",
      "reply_to_message":{"message_id":9223372036854775807,"date":1,"chat":{"id":1,
      "type":"private"}}}})");
  CHECK(e.platform_event_id == "9007199254740993");
  CHECK(e.dedupe_key == "u:9007199254740993");
  CHECK(e.peer == "-9007199254740993");
  CHECK(e.conversation == "tg:-9007199254740993");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "18446744073709551615");
  CHECK(e.subject_source == "18446744073709551615");
  CHECK(e.content.reply_to == "9223372036854775807");
}

TEST_CASE("telegram events own their strings across parses", "[telegram][adapters][parse]") {
  auto a = make();
  const auto first = parse_one(*a, sb::test::fixture("telegram/text.json"));
  const auto second = parse_one(*a, sb::test::fixture("telegram/photo.json"));
  CHECK(first.content.text == "Bonjour ! Has order #1001 shipped yet?");
  CHECK(first.sender->name == "Amélie Durand");
  CHECK(second.content.text == "The parcel arrived like this");
}

TEST_CASE("telegram body that is not JSON is malformed", "[telegram][adapters][parse]") {
  CHECK(parse_error(R"({"update_id":1,"x":[1,2,})") == sb::errc::malformed_body);
  CHECK(parse_error("") == sb::errc::malformed_body);
  CHECK(parse_error("update_id=1") == sb::errc::malformed_body);
  // Well-formed but for the invalid UTF-8 in the text.
  CHECK(parse_error("{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":1,"
                    "\"chat\":{\"id\":5},\"text\":\"\xff\xfe\"}}") == sb::errc::malformed_body);
}

TEST_CASE("telegram body of the wrong shape is malformed", "[telegram][adapters][parse]") {
  const std::string chat = R"("chat":{"id":5,"type":"private"})";
  const std::string from = R"("from":{"id":5,"is_bot":false,"first_name":"A"})";
  for (std::string body : {
           std::string(R"([{"update_id":1}])"),
           std::string("null"),
           std::string(R"({"message":{"message_id":1,"date":1,)" + chat + "}}"),
           std::string(R"({"update_id":"1","message":{"message_id":1,"date":1,)" + chat + "}}"),
           std::string(R"({"update_id":1.5,"message":{"message_id":1,"date":1,)" + chat + "}}"),
           std::string(R"({"update_id":1})"),
           std::string(R"({"update_id":1,"message":"hello"})"),
           std::string(R"({"update_id":1,"message":{"message_id":1,"date":1,"text":"no chat"}})"),
           std::string(R"({"update_id":1,"message":{"date":1,"chat":{"id":"5"},"text":"t"}})"),
           std::string(R"({"update_id":1,"message":{"date":1,)" + chat + R"(,"text":42}})"),
           std::string(R"({"update_id":1,"message":{"date":"today",)" + chat + R"(,"text":"t"}})"),
           std::string(R"({"update_id":1,"message":{"date":1,)" + chat + R"(,"photo":{}}})"),
           std::string(R"({"update_id":1,"message":{"date":1,)" + chat + R"(,"photo":[1]}})"),
           std::string(R"({"update_id":1,"message":{"date":1,)" + chat +
                       R"(,"location":{"latitude":"48"}}})"),
           std::string(R"({"update_id":1,"callback_query":{"id":"1","data":"x"}})"),
           std::string(R"({"update_id":1,"callback_query":{"id":"1",)" + from +
                       R"(,"data":["x"]}})"),
           std::string(R"({"update_id":1,"my_chat_member":{)" + chat + "," + from +
                       R"(,"date":1}})"),
           std::string(R"({"update_id":1,"message_reaction":{)" + chat +
                       R"(,"date":1,"new_reaction":[]}})"),
       }) {
    CAPTURE(body);
    CHECK(parse_error(body) == sb::errc::malformed_body);
  }
}

TEST_CASE("telegram malformed body error names the problem", "[telegram][adapters][parse]") {
  auto a = make();
  post p(R"({"update_id":1,"message":{"date":1,"chat":{"id":5.5},"text":"t"}})");
  std::vector<sb::event> out;
  auto st = a->parse(p.req(), out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::malformed_body);
  CHECK(st.err().message.find("message") != std::string::npos);
  CHECK(st.err().message.find("\"id\" must be an integer") != std::string::npos);
  CHECK(out.empty());
}

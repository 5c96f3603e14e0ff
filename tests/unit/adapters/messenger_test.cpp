#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/messenger/messenger.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::test::signed_post;

namespace {

const std::string k_page = "104612345678901";
const std::string k_psid = "6789012345678901";
const std::map<std::string, std::string> k_settings{
    {"app_secret", "c0ffee00c0ffee00c0ffee00c0ffee00"},
    {"verify_token", "fb-verify-2b7e"},
    {"page_id", k_page},
    {"access_token", "EAAGm0PX4ZCpsBAPAGEACCESS"},
    {"api_base", "https://graph.facebook.com/v21.0"},
};

sb::config::channel_config channel() {
  return sb::test::make_channel("fb", "messenger", k_settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::messenger::info().make(channel());
}

std::vector<sb::event> parse_fixture(const std::string& name) {
  return sb::test::verify_and_parse(channel(), name);
}

sb::event parse_one(const std::string& name) {
  auto events = parse_fixture(name);
  REQUIRE(events.size() == 1);
  return events.front();
}

/// An event in the conversation with the PSID, sent by `sender`.
void check_with_psid(const sb::event& e, const std::string& sender = k_psid) {
  CHECK(e.channel.name == "fb");
  CHECK(e.channel.type == "messenger");
  CHECK(e.channel.account == k_page);
  CHECK(e.conversation == "fb:" + k_psid);
  CHECK(e.peer == k_psid);
  CHECK(e.subject_source == k_psid);
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == sender);
}

}  // namespace

TEST_CASE("messenger text message is normalized with millisecond time", "[messenger]") {
  const auto e = parse_one("text.json");
  check_with_psid(e);
  const std::string mid =
      "m_Dq3MFJzM9xYb2y7HkQYxj8W3n4C0vZcMgB0fG7D8dYsR3nE1rV5jA6oPbTq2xLhKsQ9wYv4uNzE7iG0cH1lJ5w";
  CHECK(e.type == "message");
  CHECK(e.kind.empty());
  CHECK(e.content.text == "hello, world!");
  CHECK(e.platform_event_id == mid);
  CHECK(e.dedupe_key == "m:" + mid);
  CHECK(e.occurred_at.has_ms);
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:19:59.871Z");
  CHECK_FALSE(e.content.echo);
  CHECK(e.content.attachments.empty());
}

TEST_CASE("messenger attachments keep kind and unescaped CDN url", "[messenger]") {
  const auto e = parse_one("attachments.json");
  check_with_psid(e);
  CHECK(e.type == "message");
  CHECK(e.content.text.empty());
  REQUIRE(e.content.attachments.size() == 2);
  CHECK(e.content.attachments[0].kind == "image");
  CHECK(e.content.attachments[0].url ==
        "https://scontent.xx.fbcdn.net/v/t1.15752-9/448765432_1234567890123456_n.jpg"
        "?_nc_cat=1&ccb=1-7&_nc_sid=fc17b8&oh=03_Q7cD1ATx&oe=66A1B2C3");
  CHECK(e.content.attachments[1].kind == "file");
  CHECK(e.content.attachments[1].url ==
        "https://cdn.fbsbx.com/v/t59.2708-21/448123456_987654321098765_n.pdf/quote.pdf"
        "?_nc_cat=109&ccb=1-7&oh=03_Q7cD1AZz&oe=66A1B2C4");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:20:12.345Z");
}

TEST_CASE("messenger sticker becomes a sticker attachment with the sticker id", "[messenger]") {
  const auto e = parse_one("sticker.json");
  REQUIRE(e.content.attachments.size() == 1);
  CHECK(e.content.attachments[0].kind == "sticker");
  CHECK(e.content.attachments[0].media_id == "369239263222822");
  CHECK(e.content.attachments[0].url.rfind("https://scontent.xx.fbcdn.net/", 0) == 0);
}

TEST_CASE("messenger quick reply is a postback with its payload and text", "[messenger]") {
  const auto e = parse_one("quick_reply.json");
  check_with_psid(e);
  const std::string mid =
      "m_QuIcKrEpLy9876543210zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA9876543210q";
  CHECK(e.type == "postback");
  CHECK(e.content.payload == "PICK_RED");
  CHECK(e.content.text == "Red");
  CHECK(e.platform_event_id == mid);
  CHECK(e.dedupe_key == "m:" + mid);
}

TEST_CASE("messenger reply names the message replied to", "[messenger]") {
  const auto e = parse_one("reply_to.json");
  CHECK(e.type == "message");
  CHECK(e.content.text == "Yes, that one");
  CHECK(e.content.reply_to == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU");
  CHECK(e.dedupe_key == "m:m_1457764197618:41d102a3e1ae206a38_reply");
}

TEST_CASE("messenger postback keeps title, payload and mid", "[messenger]") {
  const auto e = parse_one("postback.json");
  check_with_psid(e);
  const std::string mid =
      "m_PoStBaCk-1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  CHECK(e.type == "postback");
  CHECK(e.content.text == "Get Started");
  CHECK(e.content.payload == "GET_STARTED");
  CHECK(e.platform_event_id == mid);
  CHECK(e.dedupe_key == "m:" + mid);
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:20:30.789Z");
}

TEST_CASE("messenger echo is flagged and belongs to the recipient's conversation", "[messenger]") {
  const auto e = parse_one("echo.json");
  check_with_psid(e, k_page);  // the page sent it; the person is the recipient
  const std::string mid =
      "m_EcHo0123456789-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789ab";
  CHECK(e.type == "message");
  CHECK(e.content.echo);
  CHECK(e.content.text == "Thanks! Your order ships tomorrow.");
  CHECK(e.dedupe_key == "m:" + mid);
}

TEST_CASE("messenger read is a read status keyed by reader and watermark", "[messenger]") {
  const auto e = parse_one("read.json");
  check_with_psid(e);
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "read");
  CHECK(e.status->message_id.empty());
  CHECK(e.status->recipient == k_psid);
  CHECK(e.dedupe_key == "read:" + k_psid + ":1718630440000");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:20:50.100Z");
}

TEST_CASE("messenger delivery is a delivered status naming the first mid", "[messenger]") {
  const auto e = parse_one("delivery.json");
  check_with_psid(e);
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "delivered");
  CHECK(e.status->message_id ==
        "m_EcHo0123456789-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789ab");
  CHECK(e.dedupe_key == "dlv:" + k_psid + ":1718630445000");
  // Deliveries carry no timestamp: the watermark dates them.
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:20:45.000Z");
}

TEST_CASE("messenger reaction names emoji, action and message", "[messenger]") {
  const auto e = parse_one("reaction.json");
  check_with_psid(e);
  const std::string mid =
      "m_EcHo0123456789-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789ab";
  CHECK(e.type == "reaction");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji == "\xE2\x9D\xA4\xEF\xB8\x8F");  // U+2764 U+FE0F
  CHECK(e.content.reaction->message_id == mid);
  CHECK(e.dedupe_key == "r:" + mid + ":react:\xE2\x9D\xA4\xEF\xB8\x8F");
}

TEST_CASE("messenger message edit is a message.edited event with the new text", "[messenger]") {
  const auto e = parse_one("message_edit.json");
  check_with_psid(e);
  CHECK(e.type == "message.edited");
  CHECK(e.content.text == "hello, world! (edited)");
  CHECK(e.platform_event_id ==
        "m_Dq3MFJzM9xYb2y7HkQYxj8W3n4C0vZcMgB0fG7D8dYsR3nE1rV5jA6oPbTq2xLhKsQ9wYv4uNzE7iG0cH1lJ5w");
  // Not the original message's key: the edit must not dedupe against it.
  CHECK(e.dedupe_key.rfind("h:", 0) == 0);
}

TEST_CASE("messenger item of an unknown kind is a system event named by its key", "[messenger]") {
  const auto e = parse_one("optin.json");
  check_with_psid(e);
  CHECK(e.type == "system");
  CHECK(e.kind == "optin");
  CHECK(e.dedupe_key.rfind("h:", 0) == 0);
  CHECK(e.dedupe_key.size() == 2 + 64);
  CHECK(parse_one("optin.json").dedupe_key == e.dedupe_key);
}

TEST_CASE("messenger batch of two entries yields every item in order", "[messenger]") {
  const auto events = parse_fixture("batch.json");
  REQUIRE(events.size() == 4);
  CHECK(events[0].content.text == "first");
  CHECK(events[0].conversation == "fb:" + k_psid);
  CHECK(events[1].content.text == "second");
  CHECK(events[1].dedupe_key ==
        "m:m_BaTcH-0002-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  CHECK(events[2].content.text == "hola");
  CHECK(events[2].conversation == "fb:7012345678901234");
  CHECK(events[2].sender->platform_id == "7012345678901234");
  CHECK(events[3].type == "status");
  CHECK(events[3].status->state == "delivered");
  CHECK(events[3].dedupe_key == "dlv:7012345678901234:1718630500004");
  for (const auto& e : events) {
    CHECK(e.channel.account == k_page);
  }
}

TEST_CASE("messenger verify and handshake use the channel's secrets", "[messenger]") {
  auto a = make();
  auto post = signed_post("messenger", k_settings, sb::test::fixture("messenger/text.json"));
  CHECK(a->verify(post.req()).ok());
  auto tampered = signed_post("messenger", k_settings, sb::test::fixture("messenger/text.json"));
  tampered.body[tampered.body.find("hello")] = 'j';
  CHECK(a->verify(tampered.req()).err().code == sb::errc::bad_signature);
  post.headers.clear();
  CHECK(a->verify(post.req()).err().code == sb::errc::missing_signature);

  auto good = sb::test::get_request(
      "hub.mode=subscribe&hub.verify_token=fb-verify-2b7e&hub.challenge=CHALLENGE_ACCEPTED");
  REQUIRE(a->handshake(good.req()).ok());
  CHECK(a->handshake(good.req()).value() == "CHALLENGE_ACCEPTED");
  auto bad = sb::test::get_request(
      "hub.mode=subscribe&hub.verify_token=wa-verify-Token-8c1f&hub.challenge=CHALLENGE_ACCEPTED");
  CHECK(a->handshake(bad.req()).err().code == sb::errc::handshake_failed);
}

TEST_CASE("messenger rejects malformed bodies and other platforms' shapes", "[messenger]") {
  auto a = make();
  std::vector<sb::event> out;
  for (const std::string body :
       {"{\"entry\":[],\"x\":[1,2,}", "{\"object\":\"instagram\",\"entry\":[]}",
        "{\"object\":\"page\",\"entry\":{}}",
        "{\"object\":\"page\",\"entry\":[{\"messaging\":[1]}]}"}) {
    auto post = signed_post("messenger", k_settings, body);
    INFO(body);
    CHECK(a->parse(post.req(), out).err().code == sb::errc::malformed_body);
    CHECK(out.empty());
  }
}

TEST_CASE("messenger schema matches the instagram one and names the page", "[messenger]") {
  const auto info = sb::adapters::messenger::info();
  CHECK(info.type == "messenger");
  CHECK(info.headers == std::vector<std::string>{"x-hub-signature-256"});
  CHECK(info.account(channel()) == k_page);
  std::vector<std::string> keys;
  for (const auto& s : info.schema.settings) {
    keys.push_back(s.key);
    CHECK_FALSE(s.description.empty());
    CHECK(s.secret ==
          (s.key == "app_secret" || s.key == "verify_token" || s.key == "access_token"));
    CHECK(s.required == (s.key == "app_secret" || s.key == "verify_token" || s.key == "page_id"));
  }
  // The webhook keys, then the outbound ones (tests/unit/adapters/outbound_limits_test.cpp).
  CHECK(keys == std::vector<std::string>{"app_secret", "verify_token", "page_id", "access_token",
                                         "api_base", "rate_per_second", "rate_burst",
                                         "recipient_per_minute", "recipient_burst",
                                         "human_agent_tag"});
}

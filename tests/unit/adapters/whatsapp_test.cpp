#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/whatsapp/whatsapp.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::test::signed_post;

namespace {

const std::map<std::string, std::string> k_settings{
    {"app_secret", "5f0c1e9a7b3d2c4e6a8b0d1f3e5c7a9b"},
    {"verify_token", "wa-verify-Token-8c1f"},
    {"phone_number_id", "106540352242922"},
    {"access_token", ""},
    {"waba_id", "102290129340398"},
    {"api_base", "https://graph.facebook.com/v21.0"},
};

sb::config::channel_config channel() {
  return sb::test::make_channel("wa-main", "whatsapp", k_settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::whatsapp::info().make(channel());
}

/// Verifies and parses a fixture the way the gateway does: verify, then parse.
std::vector<sb::event> parse_fixture(const std::string& name) {
  return sb::test::verify_and_parse(channel(), name);
}

sb::event parse_one(const std::string& name) {
  auto events = parse_fixture(name);
  REQUIRE(events.size() == 1);
  return events.front();
}

/// The fields every event from Sheena Nelson's number carries.
void check_from_sheena(const sb::event& e) {
  CHECK(e.channel.name == "wa-main");
  CHECK(e.channel.type == "whatsapp");
  CHECK(e.channel.account == "106540352242922");
  CHECK(e.conversation == "wa-main:16505551234");
  CHECK(e.peer == "16505551234");
  CHECK(e.subject_source == "16505551234");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "16505551234");
  CHECK(e.sender->name == "Sheena Nelson");
}

void check_message_id(const sb::event& e, const std::string& wamid) {
  CHECK(e.platform_event_id == wamid);
  CHECK(e.dedupe_key == "m:" + wamid);
}

}  // namespace

TEST_CASE("whatsapp text message is normalized with sender name from contacts", "[whatsapp]") {
  const auto e = parse_one("text.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
  CHECK(e.type == "message");
  CHECK(e.kind.empty());
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-06-08T20:59:43Z");
  CHECK(e.content.text == "Does it come in another color?");
  CHECK(e.content.attachments.empty());
  CHECK(e.content.reply_to.empty());
  CHECK_FALSE(e.status);
  CHECK_FALSE(e.order);
  // The adapter leaves the gateway's fields alone.
  CHECK(e.id.empty());
  CHECK(e.tenant.empty());
  CHECK(e.subject.empty());
  CHECK(e.received_at.empty());
}

TEST_CASE("whatsapp image keeps media id, mime type, sha256, caption and url", "[whatsapp]") {
  const auto e = parse_one("image.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzRUIwQzQ1NjdBMjNFMjI5NkU3RQA=");
  CHECK(e.type == "message");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-06-08T21:00:01Z");
  CHECK(e.content.text.empty());
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "image");
  CHECK(a.media_id == "1003383421387256");
  CHECK(a.mime_type == "image/jpeg");
  CHECK(a.caption == "Taj Mahal");
  CHECK(a.sha256 == "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3");
  CHECK(a.url ==
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
        "?mid=1003383421387256&ext=1749416401&hash=ATtVdR6Pq4");
  CHECK(a.file_name.empty());
}

TEST_CASE("whatsapp voice recording becomes a voice attachment", "[whatsapp]") {
  const auto e = parse_one("audio_voice.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTg3MkE1NTNGQjQ1QjA5RTAxNQA=");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "voice");
  CHECK(a.media_id == "1684957655563226");
  CHECK(a.mime_type == "audio/ogg; codecs=opus");
  CHECK(a.sha256 == "2a1b0e5fd4f9a1c3e6b7d8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9");
}

TEST_CASE("whatsapp document becomes a file attachment with its file name", "[whatsapp]") {
  const auto e = parse_one("document.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-06-18T19:46:32Z");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "file");
  CHECK(a.media_id == "9581046745302711");
  CHECK(a.file_name == "invoice-2025-06.pdf");
  CHECK(a.mime_type == "application/pdf");
  CHECK(a.caption == "Invoice for June");
}

TEST_CASE("whatsapp location keeps coordinates, name and address", "[whatsapp]") {
  const auto e = parse_one("location.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCRjk5QzA3NTMwNzcxMjg2NQA=");
  CHECK(e.type == "message");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "location");
  REQUIRE(a.latitude);
  REQUIRE(a.longitude);
  CHECK(*a.latitude == Approx(37.483307));
  CHECK(*a.longitude == Approx(-122.148981));
  CHECK(a.name == "Meta Headquarters");
  CHECK(a.address == "1 Hacker Way, Menlo Park, CA 94025");
}

TEST_CASE("whatsapp contacts become contact attachments with name and first phone", "[whatsapp]") {
  const auto e = parse_one("contacts.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTExMjIzMzQ0NTU2Njc3ODg5OQA=");
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "contact");
  CHECK(a.name == "Barbara J. Johnson");
  CHECK(a.phone == "+1 (940) 555-1234");
}

TEST_CASE("whatsapp interactive button reply is a postback replying to the business message",
          "[whatsapp]") {
  const auto e = parse_one("interactive_button_reply.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUE5RDZCNUE3M0Y1MDNDMTc0RgA=");
  CHECK(e.type == "postback");
  CHECK(e.content.payload == "change-button");
  CHECK(e.content.text == "Change");
  CHECK(e.content.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI0QjVBODc0N0E3RDIzNzNEMkQA");
}

TEST_CASE("whatsapp list reply is a postback with the row id", "[whatsapp]") {
  const auto e = parse_one("interactive_list_reply.json");
  CHECK(e.type == "postback");
  CHECK(e.content.payload == "priority_express");
  CHECK(e.content.text == "Express Shipping");
  CHECK(e.content.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCRjc5MDY5MEI4NzJGQkU4MzIA");
}

TEST_CASE("whatsapp template quick-reply button is a postback with its payload", "[whatsapp]") {
  const auto e = parse_one("button.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQzc2QjA4NjVDQTVGMDZFNzg3OQA=");
  CHECK(e.type == "postback");
  CHECK(e.content.payload == "STOP_PROMOTIONS");
  CHECK(e.content.text == "Stop promotions");
  CHECK(e.content.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGRjE2MDA1QTdBMjVCNzk4Q0UA");
}

TEST_CASE("whatsapp reaction names the emoji and the message reacted to", "[whatsapp]") {
  const auto e = parse_one("reaction.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTI1NUFFMzQ3MDk0RjdDNjk0RQA=");
  CHECK(e.type == "reaction");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji == "\xF0\x9F\x91\x8D");  // U+1F44D, sent as a surrogate pair
  CHECK(e.content.reaction->message_id ==
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJEQjVEQzRGQjk3N0E2MjA5NUIA");
}

TEST_CASE("whatsapp reaction with an empty emoji is a removed reaction", "[whatsapp]") {
  const auto e = parse_one("reaction_removed.json");
  CHECK(e.type == "reaction");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji.empty());
  CHECK(e.content.reaction->message_id ==
        "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJEQjVEQzRGQjk3N0E2MjA5NUIA");
  CHECK(e.dedupe_key == "m:wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdGNDJFMTcxQzg5RTNFNDc2NQA=");
}

TEST_CASE("whatsapp order keeps items with exact prices and the order text", "[whatsapp]") {
  const auto e = parse_one("order.json");
  check_from_sheena(e);
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
  CHECK(e.type == "order");
  CHECK(e.content.text == "Love these!");
  REQUIRE(e.order);
  CHECK(e.order->currency == "USD");
  REQUIRE(e.order->items.size() == 2);
  CHECK(e.order->items[0].sku == "di9ozbzfi4");
  CHECK(e.order->items[0].quantity == "2");
  CHECK(e.order->items[0].price == "7.99");
  CHECK(e.order->items[0].currency == "USD");
  CHECK(e.order->items[1].sku == "nqryix03ez");
  CHECK(e.order->items[1].quantity == "1");
  CHECK(e.order->items[1].price == "19");
}

TEST_CASE("whatsapp user_changed_number is a system event without a contacts array", "[whatsapp]") {
  const auto e = parse_one("system_user_changed_number.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "user_changed_number");
  CHECK(e.content.text == "User Sheena Nelson changed from 16505551234 to 12195555358");
  CHECK(e.conversation == "wa-main:16505551234");
  CHECK(e.subject_source == "16505551234");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "16505551234");
  CHECK(e.sender->name.empty());  // system webhooks carry no contacts[]
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUQ3MjlGQTk3MUYzNjcwOTAyMgA=");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-02-12T00:43:44Z");
}

TEST_CASE("whatsapp unsupported message is kept as a system event", "[whatsapp]") {
  const auto e = parse_one("unsupported.json");
  check_from_sheena(e);
  CHECK(e.type == "system");
  CHECK(e.kind == "unsupported");
  check_message_id(e, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=");
}

TEST_CASE("whatsapp read status names message, recipient and state", "[whatsapp]") {
  const auto e = parse_one("status_read.json");
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "read");
  CHECK(e.status->message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA");
  CHECK(e.status->recipient == "16505551234");
  CHECK(e.status->error_code.empty());
  CHECK(e.conversation == "wa-main:16505551234");
  CHECK(e.peer == "16505551234");
  CHECK(e.subject_source == "16505551234");
  CHECK_FALSE(e.sender);
  CHECK(e.platform_event_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA");
  CHECK(e.dedupe_key == "s:wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA:read");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-06-18T16:22:53Z");
}

TEST_CASE("whatsapp failed status carries the first error's code and title", "[whatsapp]") {
  const auto e = parse_one("status_failed.json");
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "failed");
  CHECK(e.status->message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIzQzc0ODlFMzdDNkFBM0QyRDYA");
  CHECK(e.status->recipient == "16505551234");
  CHECK(e.status->error_code == "131050");
  CHECK(e.status->error_title ==
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
        "messages on WhatsApp from your business");
  CHECK(e.dedupe_key == "s:wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIzQzc0ODlFMzdDNkFBM0QyRDYA:failed");
}

TEST_CASE("whatsapp change of another field is one system event keyed by its content hash",
          "[whatsapp]") {
  const auto e = parse_one("template_status_update.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "message_template_status_update");
  CHECK(e.conversation.empty());
  CHECK(e.peer.empty());
  CHECK(e.subject_source.empty());
  CHECK_FALSE(e.sender);
  CHECK(e.dedupe_key.rfind("h:", 0) == 0);
  CHECK(e.dedupe_key.size() == 2 + 64);
  CHECK(sb::to_rfc3339(e.occurred_at) == "2025-06-08T21:11:40Z");
  // Same bytes, same key: a platform retry dedupes.
  CHECK(parse_one("template_status_update.json").dedupe_key == e.dedupe_key);
}

TEST_CASE("whatsapp batch yields every message and status of every entry in order", "[whatsapp]") {
  const auto events = parse_fixture("batch.json");
  REQUIRE(events.size() == 7);

  CHECK(events[0].type == "message");
  CHECK(events[0].content.text == "Hi, is my order shipped?");
  CHECK(events[0].sender->name == "Sheena Nelson");
  CHECK(events[0].conversation == "wa-main:16505551234");

  CHECK(events[1].type == "message");
  CHECK(events[1].content.text == "Gracias!");
  CHECK(events[1].sender->platform_id == "5215512345678");
  CHECK(events[1].sender->name == "Luis Ortega");
  CHECK(events[1].conversation == "wa-main:5215512345678");
  CHECK(events[1].content.reply_to ==
        "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjlBQkMxMjM0NTY3ODlBQkNERUYA");

  REQUIRE(events[2].content.attachments.size() == 1);
  CHECK(events[2].content.attachments[0].kind == "sticker");
  CHECK(events[2].content.attachments[0].media_id == "2417893908417452");
  CHECK(events[2].content.attachments[0].mime_type == "image/webp");

  const std::string sent = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCQVRDSFNUQVRVUzAwMDAwMQA=";
  CHECK(events[3].type == "status");
  CHECK(events[3].status->state == "sent");
  CHECK(events[3].dedupe_key == "s:" + sent + ":sent");
  CHECK(events[4].status->state == "delivered");
  CHECK(events[4].dedupe_key == "s:" + sent + ":delivered");
  CHECK(sb::to_rfc3339(events[4].occurred_at) == "2025-06-08T22:00:05Z");

  CHECK(events[5].type == "message");
  CHECK(events[5].sender->name == "Luis Ortega");
  REQUIRE(events[5].content.attachments.size() == 1);
  CHECK(events[5].content.attachments[0].kind == "video");
  CHECK(events[5].content.attachments[0].caption == "Unboxing");

  CHECK(events[6].type == "status");
  CHECK(events[6].status->state == "read");
  CHECK(events[6].status->recipient == "5215512345678");
  CHECK(events[6].conversation == "wa-main:5215512345678");

  for (const auto& e : events) {
    CHECK(e.channel.account == "106540352242922");
  }
}

TEST_CASE("whatsapp verify accepts Meta's signature and rejects tampering", "[whatsapp]") {
  auto a = make();
  auto post = signed_post("whatsapp", k_settings, sb::test::fixture("whatsapp/text.json"));
  CHECK(a->verify(post.req()).ok());

  SECTION("tampered body") {
    post.body[post.body.find("color")] = 'C';
    CHECK(a->verify(post.req()).err().code == sb::errc::bad_signature);
  }
  SECTION("missing header") {
    post.headers.clear();
    CHECK(a->verify(post.req()).err().code == sb::errc::missing_signature);
  }
  SECTION("malformed header") {
    post.headers[0].value = "sha1=" + post.headers[0].value.substr(7, 40);
    CHECK(a->verify(post.req()).err().code == sb::errc::bad_signature);
  }
  SECTION("signed with another app's secret") {
    auto other = k_settings;
    other["app_secret"] = "0000000000000000000000000000000a";
    post.headers = sb::test::sign_for("whatsapp", other, post.body);
    CHECK(a->verify(post.req()).err().code == sb::errc::bad_signature);
  }
}

TEST_CASE("whatsapp handshake echoes the challenge only for the right verify token", "[whatsapp]") {
  auto a = make();
  auto good = sb::test::get_request(
      "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wa-verify-Token-8c1f");
  auto answer = a->handshake(good.req());
  REQUIRE(answer.ok());
  CHECK(answer.value() == "1158201444");

  auto bad = sb::test::get_request(
      "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wa-verify-Token-8c1e");
  CHECK(a->handshake(bad.req()).err().code == sb::errc::handshake_failed);
}

TEST_CASE("whatsapp malformed JSON is rejected and leaves the output untouched", "[whatsapp]") {
  auto a = make();
  std::vector<sb::event> out(1);
  out[0].type = "sentinel";
  for (const std::string body :
       {"{\"entry\":[],\"x\":[1,2,}", "not json", "[]", "{\"object\":\"page\",\"entry\":[]}",
        "{\"object\":\"whatsapp_business_account\"}",
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":{}}]}"}) {
    auto post = signed_post("whatsapp", k_settings, body);
    auto st = a->parse(post.req(), out);
    INFO(body);
    CHECK(st.err().code == sb::errc::malformed_body);
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == "sentinel");
  }
}

TEST_CASE("whatsapp unknown message type becomes a system event named by the type", "[whatsapp]") {
  auto a = make();
  auto post = signed_post("whatsapp", k_settings,
                          R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
{"field":"messages","value":{"messaging_product":"whatsapp","messages":[
{"from":"16505551234","id":"wamid.NEWKIND","timestamp":"1749416383","type":"poll_vote",
 "poll_vote":{"option":"A"}}]}}]}]})");
  std::vector<sb::event> out;
  REQUIRE(a->parse(post.req(), out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].type == "system");
  CHECK(out[0].kind == "poll_vote");
  CHECK(out[0].dedupe_key == "m:wamid.NEWKIND");
  CHECK(out[0].conversation == "wa-main:16505551234");
}

TEST_CASE("whatsapp body with an empty entry list yields no events", "[whatsapp]") {
  auto a = make();
  auto post =
      signed_post("whatsapp", k_settings, R"({"object":"whatsapp_business_account","entry":[]})");
  std::vector<sb::event> out;
  CHECK(a->parse(post.req(), out).ok());
  CHECK(out.empty());
}

TEST_CASE("whatsapp schema declares secrets and defaults", "[whatsapp]") {
  const auto info = sb::adapters::whatsapp::info();
  CHECK(info.type == "whatsapp");
  CHECK(info.headers == std::vector<std::string>{"x-hub-signature-256"});
  CHECK(info.account(channel()) == "106540352242922");
  std::map<std::string, sb::config::setting_spec> by_key;
  for (const auto& s : info.schema.settings) {
    by_key[s.key] = s;
    CHECK_FALSE(s.description.empty());
  }
  // Six webhook keys and four outbound ones (tests/unit/adapters/outbound_limits_test.cpp).
  REQUIRE(by_key.size() == 10);
  CHECK(by_key["rate_per_second"].default_value == "80");
  CHECK(by_key["recipient_burst"].default_value == "45");
  CHECK(by_key["app_secret"].required);
  CHECK(by_key["app_secret"].secret);
  CHECK(by_key["verify_token"].required);
  CHECK(by_key["verify_token"].secret);
  CHECK(by_key["phone_number_id"].required);
  CHECK_FALSE(by_key["phone_number_id"].secret);
  CHECK_FALSE(by_key["access_token"].required);
  CHECK(by_key["access_token"].secret);
  CHECK_FALSE(by_key["waba_id"].required);
  CHECK(by_key["api_base"].default_value == "https://graph.facebook.com/v21.0");
}

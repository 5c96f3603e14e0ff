#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/instagram/instagram.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::test::signed_post;

namespace {

const std::string k_account = "17841405822304914";
const std::string k_igsid = "1254459154682919";
const std::string k_mid =
    "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTg1"
    "NjAzNDA1Nzc2OTc2MTozMTk3MDQ1NDM0NjE4MTc1NjE3NTQ0NzQ1OTU4NjQxMzQ0MAZDZD";
const std::map<std::string, std::string> k_settings{
    {"app_secret", "1a2b3c4d5e6f70819a2b3c4d5e6f7081"},
    {"verify_token", "ig-verify-77"},
    {"page_id", k_account},
    {"api_base", "https://graph.facebook.com/v21.0"},
};

sb::config::channel_config channel() {
  return sb::test::make_channel("ig", "instagram", k_settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::instagram::info().make(channel());
}

sb::event parse_one(const std::string& name) {
  auto events = sb::test::verify_and_parse(channel(), name);
  REQUIRE(events.size() == 1);
  return events.front();
}

void check_with_igsid(const sb::event& e) {
  CHECK(e.channel.name == "ig");
  CHECK(e.channel.type == "instagram");
  CHECK(e.channel.account == k_account);
  CHECK(e.conversation == "ig:" + k_igsid);
  CHECK(e.peer == k_igsid);
  CHECK(e.subject_source == k_igsid);
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == k_igsid);
}

}  // namespace

TEST_CASE("instagram text message is normalized", "[instagram]") {
  const auto e = parse_one("text.json");
  check_with_igsid(e);
  CHECK(e.type == "message");
  CHECK(e.content.text == "Do you ship to Canada?");
  CHECK(e.platform_event_id == k_mid);
  CHECK(e.dedupe_key == "m:" + k_mid);
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:23:19.000Z");
}

TEST_CASE("instagram story reply names the story it answers", "[instagram]") {
  const auto e = parse_one("story_reply.json");
  check_with_igsid(e);
  CHECK(e.type == "message");
  CHECK(e.content.text == "Love this look!");
  CHECK(e.content.reply_to == "17998325467123456");
}

TEST_CASE("instagram reply names the message replied to", "[instagram]") {
  const auto e = parse_one("reply_to.json");
  check_with_igsid(e);
  CHECK(e.content.text == "This one please");
  CHECK(e.content.reply_to == k_mid);
}

TEST_CASE("instagram image attachment keeps its url", "[instagram]") {
  const auto e = parse_one("image.json");
  REQUIRE(e.content.attachments.size() == 1);
  CHECK(e.content.attachments[0].kind == "image");
  CHECK(e.content.attachments[0].url ==
        "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18045123456789012&signature=AbzX4");
}

TEST_CASE("instagram reaction and its removal", "[instagram]") {
  const auto e = parse_one("reaction.json");
  check_with_igsid(e);
  CHECK(e.type == "reaction");
  REQUIRE(e.content.reaction);
  CHECK(e.content.reaction->emoji == "\xE2\x9D\xA4\xEF\xB8\x8F");
  CHECK(e.content.reaction->message_id == k_mid);
  CHECK(e.dedupe_key == "r:" + k_mid + ":react:\xE2\x9D\xA4\xEF\xB8\x8F");

  const auto removed = parse_one("unreact.json");
  CHECK(removed.type == "reaction");
  REQUIRE(removed.content.reaction);
  CHECK(removed.content.reaction->emoji.empty());
  CHECK(removed.dedupe_key == "r:" + k_mid + ":unreact:");
}

TEST_CASE("instagram seen is a read status naming the message", "[instagram]") {
  const auto e = parse_one("seen.json");
  check_with_igsid(e);
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "read");
  CHECK(e.status->message_id == k_mid);
  CHECK(e.dedupe_key == "read:" + k_igsid + ":" + k_mid);
}

TEST_CASE("instagram comment change is a system event attributed to the commenter", "[instagram]") {
  const auto e = parse_one("comment.json");
  CHECK(e.type == "system");
  CHECK(e.kind == "comments");
  CHECK(e.content.text == "Is this available in blue?");
  CHECK(e.platform_event_id == "17865799348089039");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "1262458124586219");
  CHECK(e.sender->username == "maya.travels");
  CHECK(e.subject_source == "1262458124586219");
  CHECK(e.conversation.empty());  // a public comment is not a DM thread
  CHECK(e.dedupe_key.rfind("h:", 0) == 0);
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-06-17T13:24:00Z");
}

TEST_CASE("instagram accepts only object instagram", "[instagram]") {
  auto a = make();
  std::vector<sb::event> out;
  auto page = signed_post("instagram", k_settings, sb::test::fixture("messenger/text.json"));
  CHECK(a->parse(page.req(), out).err().code == sb::errc::malformed_body);
  auto broken = signed_post("instagram", k_settings, "{\"entry\":[],\"x\":[1,2,}");
  CHECK(a->parse(broken.req(), out).err().code == sb::errc::malformed_body);
  CHECK(out.empty());
}

TEST_CASE("instagram verify and handshake use the channel's secrets", "[instagram]") {
  auto a = make();
  auto post = signed_post("instagram", k_settings, sb::test::fixture("instagram/text.json"));
  CHECK(a->verify(post.req()).ok());
  post.body[post.body.find("Canada")] = 'c';
  CHECK(a->verify(post.req()).err().code == sb::errc::bad_signature);

  auto good =
      sb::test::get_request("hub.mode=subscribe&hub.verify_token=ig-verify-77&hub.challenge=42");
  REQUIRE(a->handshake(good.req()).ok());
  CHECK(a->handshake(good.req()).value() == "42");
  auto wrong_mode =
      sb::test::get_request("hub.mode=unsubscribe&hub.verify_token=ig-verify-77&hub.challenge=42");
  CHECK(a->handshake(wrong_mode.req()).err().code == sb::errc::handshake_failed);
}

TEST_CASE("instagram account is the professional account id", "[instagram]") {
  const auto info = sb::adapters::instagram::info();
  CHECK(info.type == "instagram");
  CHECK(info.account(channel()) == k_account);
  CHECK(info.headers == std::vector<std::string>{"x-hub-signature-256"});
}

// Slack Events API: the v0 signature and its freshness window, the workspace check, the
// url_verification setup request, and the mapping of each event to schema v1.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "adapters/slack/slack.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::adapters::header;
using sb::test::k_signed_at;
using sb::test::webhook_request;

namespace {

const std::string k_signing_secret = "8f742231b10e8888abcd99yyyzzz85a5";
const std::string k_team = "T061EG9R6";
const std::map<std::string, std::string> k_settings{{"signing_secret", k_signing_secret},
                                                    {"bot_token", "xoxb-17653672481-19874698323"},
                                                    {"team_id", k_team},
                                                    {"api_base", "https://slack.com/api"}};

sb::config::channel_config channel(
    const std::map<std::string, std::string>& settings = k_settings) {
  return sb::test::make_channel("sl", "slack", settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::slack::info().make(channel());
}

/// `body` signed by Slack at `at` (with `secret`), received at `k_signed_at`.
webhook_request signed_at(std::string body, sb::timestamp at,
                          const std::string& secret = k_signing_secret) {
  auto settings = k_settings;
  settings["signing_secret"] = secret;
  sb::adapters::signing_input in;
  in.body = body;
  in.at = at;
  webhook_request w;
  w.headers = sb::adapters::slack::info().sign(channel(settings), in);
  w.body = sb::test::padded(std::move(body));
  w.now = k_signed_at;
  return w;
}

webhook_request post(std::string body) {
  return signed_at(std::move(body), k_signed_at);
}

sb::errc verify_code(const webhook_request& w) {
  auto st = make()->verify(w.req());
  return st.ok() ? sb::errc::ok : st.err().code;
}

std::string verify_message(const webhook_request& w) {
  auto st = make()->verify(w.req());
  return st.ok() ? std::string() : st.err().message;
}

/// Verifies and parses one body that must yield exactly one event.
sb::event parse_one(const std::string& body) {
  auto a = make();
  auto w = post(body);
  auto verified = a->verify(w.req());
  INFO(verified.err().message);
  REQUIRE(verified.ok());
  std::vector<sb::event> out;
  auto st = a->parse(w.req(), out);
  INFO(st.err().message);
  REQUIRE(st.ok());
  REQUIRE(out.size() == 1);
  return std::move(out.front());
}

sb::event parse_fixture(const std::string& name) {
  return parse_one(sb::test::fixture("slack/" + name));
}

/// The parse error of `body` (errc::ok when it parses); a failed parse must leave `out` alone.
sb::status parse_status(const std::string& body) {
  auto a = make();
  auto w = post(body);
  std::vector<sb::event> out(1);
  out.front().platform_event_id = "sentinel";
  auto st = a->parse(w.req(), out);
  if (!st.ok()) {
    CHECK(out.size() == 1);
    CHECK(out.front().platform_event_id == "sentinel");
  }
  return st;
}

sb::errc parse_error(const std::string& body) {
  auto st = parse_status(body);
  return st.ok() ? sb::errc::ok : st.err().code;
}

/// `text` with the first `from` replaced by `to` (which must be there).
std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string header_of(const std::vector<header>& headers, const std::string& name) {
  for (const auto& h : headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return {};
}

}  // namespace

// -- signature -----------------------------------------------------------------------------------

TEST_CASE("slack signs v0:timestamp:body with the signing secret, signature header first",
          "[adapters][slack]") {
  const std::string body = R"({"type":"event_callback"})";
  auto w = post(body);
  REQUIRE(w.headers.size() == 2);
  CHECK(w.headers[0].name == "x-slack-signature");
  CHECK(w.headers[1].name == "x-slack-request-timestamp");
  CHECK(w.headers[1].value == "1732856400");
  // Slack's documented computation, written out independently of the adapter.
  const auto mac = sb::crypto::hmac_sha256(k_signing_secret, "v0:1732856400:" + body);
  CHECK(w.headers[0].value == "v0=" + sb::crypto::to_hex(mac));
  CHECK(verify_code(w) == sb::errc::ok);
}

TEST_CASE("slack refuses a tampered body, signature or timestamp, and a wrong secret",
          "[adapters][slack]") {
  const auto body = sb::test::fixture("slack/message.json");

  auto tampered_body = post(body);
  tampered_body.body = sb::test::padded(replace(body, "on its way", "on its wav"));
  CHECK(verify_code(tampered_body) == sb::errc::bad_signature);

  auto tampered_signature = post(body);
  auto& sig = tampered_signature.headers[0].value;
  sig.back() = sig.back() == '0' ? '1' : '0';
  CHECK(verify_code(tampered_signature) == sb::errc::bad_signature);

  // The timestamp is signed: moving it (to pass the freshness check) breaks the signature.
  auto moved = post(body);
  moved.headers[1].value = "1732856401";
  CHECK(verify_code(moved) == sb::errc::bad_signature);

  CHECK(verify_code(signed_at(body, k_signed_at, "another-apps-secret")) ==
        sb::errc::bad_signature);

  for (const char* wrong : {"v1=abc", "v0=", "v0=zz", "sha256=00"}) {
    auto odd = post(body);
    odd.headers[0].value = wrong;
    INFO(wrong);
    CHECK(verify_code(odd) == sb::errc::bad_signature);
  }
  auto not_seconds = post(body);
  not_seconds.headers[1].value = "2024-11-29T05:00:00Z";
  CHECK(verify_code(not_seconds) == sb::errc::bad_signature);
  CHECK(verify_message(not_seconds).find("Unix seconds") != std::string::npos);
}

TEST_CASE("slack refuses a request without its signature or timestamp header",
          "[adapters][slack]") {
  const auto body = sb::test::fixture("slack/message.json");
  auto no_signature = post(body);
  no_signature.headers.erase(no_signature.headers.begin());
  CHECK(verify_code(no_signature) == sb::errc::missing_signature);
  CHECK(verify_message(no_signature).find("X-Slack-Signature") != std::string::npos);

  auto no_timestamp = post(body);
  no_timestamp.headers.pop_back();
  CHECK(verify_code(no_timestamp) == sb::errc::missing_signature);
  CHECK(verify_message(no_timestamp).find("X-Slack-Request-Timestamp") != std::string::npos);
}

TEST_CASE("slack accepts a timestamp within 300 s either way and refuses one beyond as stale",
          "[adapters][slack]") {
  const auto body = sb::test::fixture("slack/message.json");
  const auto at = [](std::int64_t offset_s) {
    return sb::timestamp::from_seconds(k_signed_at.unix_ms / 1000 + offset_s);
  };
  CHECK(verify_code(signed_at(body, at(-300))) == sb::errc::ok);
  CHECK(verify_code(signed_at(body, at(300))) == sb::errc::ok);

  auto old = signed_at(body, at(-301));
  CHECK(verify_code(old) == sb::errc::replayed_request);
  CHECK(verify_message(old).find("stale") != std::string::npos);
  CHECK(verify_message(old).find("301 s old") != std::string::npos);

  auto ten_minutes = signed_at(body, at(-600));
  CHECK(verify_code(ten_minutes) == sb::errc::replayed_request);

  auto future = signed_at(body, at(301));
  CHECK(verify_code(future) == sb::errc::replayed_request);
  CHECK(verify_message(future).find("in the future") != std::string::npos);

  // Freshness is judged by the reception time the gateway gives, not by a clock of its own.
  auto late = signed_at(body, at(-600));
  late.now = at(-500);
  CHECK(verify_code(late) == sb::errc::ok);
}

// -- url_verification ----------------------------------------------------------------------------

TEST_CASE("a signed url_verification is answered with its challenge and stores nothing",
          "[adapters][slack]") {
  auto a = make();
  auto w = post(sb::test::fixture("slack/url_verification.json"));
  REQUIRE(a->verify(w.req()).ok());
  auto reply = a->setup_request(w.req(), true);
  REQUIRE(reply.has_value());
  CHECK(reply->content_type == "text/plain");
  CHECK(reply->body == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
  // Before verification it proves nothing: never answered then.
  CHECK_FALSE(a->setup_request(w.req(), false).has_value());

  std::vector<sb::event> out;
  auto parsed = a->parse(w.req(), out);
  CHECK(parsed.ok());
  CHECK(out.empty());
}

TEST_CASE("an ordinary slack event is no setup request, even when it mentions one",
          "[adapters][slack]") {
  auto a = make();
  auto message = post(sb::test::fixture("slack/message.json"));
  CHECK_FALSE(a->setup_request(message.req(), true).has_value());
  auto mentions = post(replace(sb::test::fixture("slack/message.json"),
                               "\"text\": \"Hi! Is my order on its way?\"",
                               R"("text": "{\"type\":\"url_verification\",\"challenge\":\"x\"}")"));
  CHECK_FALSE(a->setup_request(mentions.req(), true).has_value());
  auto no_challenge = post(R"({"token":"t","type":"url_verification"})");
  CHECK_FALSE(a->setup_request(no_challenge.req(), true).has_value());
  CHECK(parse_error(R"({"token":"t","type":"url_verification"})") == sb::errc::malformed_body);
}

// -- workspace -----------------------------------------------------------------------------------

TEST_CASE("a verified slack event of another workspace is refused as forbidden",
          "[adapters][slack]") {
  const auto body = sb::test::fixture("slack/message.json");
  // One app's signing secret signs every workspace's events: the signature holds.
  // The envelope's team_id and its authorizations' (context_team_id is not read).
  const auto other =
      replace(replace(body, "\"team_id\": \"T061EG9R6\"", "\"team_id\": \"T0OTHERWS\""),
              "\"team_id\": \"T061EG9R6\"", "\"team_id\": \"T0OTHERWS\"");
  CHECK(verify_code(post(other)) == sb::errc::ok);
  auto st = parse_status(other);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::forbidden);
  CHECK(st.err().message.find("T0OTHERWS") != std::string::npos);
  CHECK(st.err().message.find("T061EG9R6") != std::string::npos);

  // A Slack Connect event names the workspace it happened in; the installation it is delivered
  // for (authorizations) is this channel's.
  const auto connect = replace(body, "\"team_id\": \"T061EG9R6\"", "\"team_id\": \"T0OTHERWS\"");
  CHECK(parse_error(connect) == sb::errc::ok);
}

// -- mapping -------------------------------------------------------------------------------------

TEST_CASE("a slack direct message becomes a message in the DM's conversation",
          "[adapters][slack]") {
  auto e = parse_fixture("message.json");
  CHECK(e.type == "message");
  CHECK(e.kind.empty());
  CHECK(e.channel.name == "sl");
  CHECK(e.channel.type == "slack");
  CHECK(e.channel.account == k_team);
  CHECK(e.peer == "D0PNCRP9N");
  CHECK(e.conversation == "sl:D0PNCRP9N");
  REQUIRE(e.sender.has_value());
  CHECK(e.sender->platform_id == "U061F7AUR");
  CHECK(e.subject_source == "U061F7AUR");
  CHECK(e.platform_event_id == "Ev0PV52K21");
  CHECK(e.dedupe_key == "Ev0PV52K21");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-03T12:52:25Z");
  CHECK(e.content.text == "Hi! Is my order on its way?");
  CHECK(e.content.thread.empty());
  CHECK_FALSE(e.content.echo);
  CHECK(e.content.attachments.empty());
}

TEST_CASE("a slack reply in a channel thread carries the thread's ts", "[adapters][slack]") {
  auto e = parse_fixture("message_channel_thread.json");
  CHECK(e.type == "message");
  CHECK(e.conversation == "sl:C2147483705");
  CHECK(e.sender->platform_id == "U0G9QF9C6");
  CHECK(e.content.thread == "1733230877.003100");
  CHECK(e.content.text == "Same problem here since this morning, the checkout page times out.");

  // A thread's parent carries thread_ts equal to its own ts: not "in" a thread.
  auto parent = parse_one(replace(sb::test::fixture("slack/message_channel_thread.json"),
                                  "\"thread_ts\": \"1733230877.003100\"",
                                  "\"thread_ts\": \"1733231012.004900\""));
  CHECK(parent.content.thread.empty());

  auto broadcast = parse_one(replace(sb::test::fixture("slack/message_channel_thread.json"),
                                     "\"type\": \"message\",",
                                     "\"type\": \"message\", \"subtype\": \"thread_broadcast\","));
  CHECK(broadcast.type == "message");
  CHECK(broadcast.content.thread == "1733230877.003100");
}

TEST_CASE("occurred_at falls back to the event's ts, with its milliseconds", "[adapters][slack]") {
  auto e = parse_one(
      replace(sb::test::fixture("slack/message.json"), "\"event_time\": 1733230345,", ""));
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-03T12:52:25.000Z");
  auto f = parse_one(
      replace(replace(sb::test::fixture("slack/message.json"), "\"event_time\": 1733230345,", ""),
              "\"ts\": \"1733230345.000200\"", "\"ts\": \"1733230345.123456\""));
  CHECK(sb::to_rfc3339(f.occurred_at) == "2024-12-03T12:52:25.123Z");
}

TEST_CASE("a slack message_changed becomes message.edited with the new text", "[adapters][slack]") {
  auto e = parse_fixture("message_changed.json");
  CHECK(e.type == "message.edited");
  CHECK(e.conversation == "sl:D0PNCRP9N");
  REQUIRE(e.sender.has_value());
  CHECK(e.sender->platform_id == "U061F7AUR");
  CHECK(e.subject_source == "U061F7AUR");
  CHECK(e.content.text == "Hi! Is my order #1001 on its way?");
  CHECK(e.platform_event_id == "Ev0PV7B8WD");
}

TEST_CASE("slack reactions: added with the emoji's name, removed with none", "[adapters][slack]") {
  auto added = parse_fixture("reaction_added.json");
  CHECK(added.type == "reaction");
  CHECK(added.conversation == "sl:D0PNCRP9N");
  CHECK(added.sender->platform_id == "U061F7AUR");
  CHECK(added.subject_source == "U061F7AUR");
  REQUIRE(added.content.reaction.has_value());
  CHECK(added.content.reaction->emoji == "thumbsup");
  CHECK(added.content.reaction->message_id == "1733230500.000400");

  auto removed = parse_one(replace(sb::test::fixture("slack/reaction_added.json"),
                                   "\"reaction_added\"", "\"reaction_removed\""));
  CHECK(removed.type == "reaction");
  REQUIRE(removed.content.reaction.has_value());
  CHECK(removed.content.reaction->emoji.empty());
  CHECK(removed.content.reaction->message_id == "1733230500.000400");
}

TEST_CASE("a message this slack app posted is an echo, another app's is not", "[adapters][slack]") {
  auto own = parse_fixture("bot_message_echo.json");
  CHECK(own.type == "message");
  CHECK(own.content.echo);
  CHECK(own.content.text == "Your order #1001 shipped today.");

  // Only the bot profile names the app (legacy bot_message): still this app's own.
  const auto legacy = replace(replace(sb::test::fixture("slack/bot_message_echo.json"),
                                      "\"app_id\": \"A0MDYCDME\",\n    \"blocks\"",
                                      "\"subtype\": \"bot_message\",\n    \"blocks\""),
                              "\"user\": \"U0LAN0Z89\",", "\"username\": \"Acme Support\",");
  auto bot = parse_one(legacy);
  CHECK(bot.type == "message");
  CHECK(bot.content.echo);
  REQUIRE(bot.sender.has_value());
  CHECK(bot.sender->platform_id == "B0LAN0Z7X");
  CHECK(bot.sender->name == "Acme Support");
  CHECK(bot.subject_source.empty());  // a bot is not a person

  auto other_app = parse_one(replace(replace(sb::test::fixture("slack/bot_message_echo.json"),
                                             "\"app_id\": \"A0MDYCDME\",\n    \"blocks\"",
                                             "\"app_id\": \"A0OTHERAPP\",\n    \"blocks\""),
                                     "\"app_id\": \"A0MDYCDME\",\n      \"icons\"",
                                     "\"app_id\": \"A0OTHERAPP\",\n      \"icons\""));
  CHECK_FALSE(other_app.content.echo);
}

TEST_CASE("slack files become attachments, their kind from the MIME type", "[adapters][slack]") {
  auto e = parse_fixture("file_share.json");
  CHECK(e.type == "message");
  CHECK(e.content.text == "Here is the broken box");
  REQUIRE(e.content.attachments.size() == 2);
  const auto& image = e.content.attachments[0];
  CHECK(image.kind == "image");
  CHECK(image.media_id == "F07RJ6A1D8B");
  CHECK(image.url == "https://files.slack.com/files-pri/T061EG9R6-F07RJ6A1D8B/img_2041.jpg");
  CHECK(image.mime_type == "image/jpeg");
  CHECK(image.file_name == "IMG_2041.jpg");
  REQUIRE(image.size.has_value());
  CHECK(*image.size == 284716);
  const auto& pdf = e.content.attachments[1];
  CHECK(pdf.kind == "file");
  CHECK(pdf.mime_type == "application/pdf");
  CHECK(pdf.file_name == "receipt.pdf");

  for (const auto& [mime, kind] : std::vector<std::pair<std::string, std::string>>{
           {"video/mp4", "video"}, {"audio/webm", "audio"}, {"imagex/odd", "file"}}) {
    auto one = parse_one(replace(sb::test::fixture("slack/file_share.json"),
                                 "\"mimetype\": \"image/jpeg\"", "\"mimetype\": \"" + mime + "\""));
    CHECK(one.content.attachments.at(0).kind == kind);
  }
}

TEST_CASE("slack events the adapter does not model are system events with their kind",
          "[adapters][slack]") {
  auto joined = parse_fixture("member_joined_channel.json");
  CHECK(joined.type == "system");
  CHECK(joined.kind == "member_joined_channel");
  CHECK(joined.conversation == "sl:C2147483705");
  CHECK(joined.sender->platform_id == "U0G9QF9C6");
  CHECK(joined.platform_event_id == "Ev0PVA7N1G");

  // A channel given as an object (channel_created) is not a conversation id: no conversation.
  auto created = parse_one(replace(replace(sb::test::fixture("slack/member_joined_channel.json"),
                                           "\"member_joined_channel\"", "\"channel_created\""),
                                   "\"channel\": \"C2147483705\"",
                                   R"("channel": {"id": "C0NEW", "name": "fun"})"));
  CHECK(created.type == "system");
  CHECK(created.kind == "channel_created");
  CHECK(created.conversation.empty());

  const std::string deleted = R"({"token":"t","team_id":"T061EG9R6","api_app_id":"A0MDYCDME",)"
                              R"("event":{"type":"message","subtype":"message_deleted",)"
                              R"("hidden":true,"deleted_ts":"1733230345.000200",)"
                              R"("channel":"D0PNCRP9N","ts":"1733230700.000800",)"
                              R"("event_ts":"1733230700.000800","channel_type":"im",)"
                              R"("previous_message":{"type":"message","user":"U061F7AUR",)"
                              R"("text":"Hi!","ts":"1733230345.000200"}},)"
                              R"("type":"event_callback","event_id":"Ev0PVB1XYZ",)"
                              R"("event_time":1733230700})";
  auto gone = parse_one(deleted);
  CHECK(gone.type == "system");
  CHECK(gone.kind == "message.message_deleted");
  CHECK(gone.conversation == "sl:D0PNCRP9N");
  CHECK(gone.content.text.empty());
}

TEST_CASE("slack's app_rate_limited envelope is a system event", "[adapters][slack]") {
  auto e = parse_one(R"({"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","type":"app_rate_limited",)"
                     R"("team_id":"T061EG9R6","minute_rate_limited":1518467820,)"
                     R"("api_app_id":"A0MDYCDME"})");
  CHECK(e.type == "system");
  CHECK(e.kind == "app_rate_limited");
  CHECK(e.dedupe_key == "app_rate_limited:1518467820");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2018-02-12T20:37:00Z");
}

TEST_CASE("a slack retry carries the same event_id: the same dedupe key", "[adapters][slack]") {
  const auto body = sb::test::fixture("slack/message.json");
  auto a = make();
  // The retry comes later, signed anew, with X-Slack-Retry-Num and -Reason.
  auto retry = signed_at(body, sb::timestamp::from_seconds(k_signed_at.unix_ms / 1000 + 60));
  retry.now = sb::timestamp::from_seconds(k_signed_at.unix_ms / 1000 + 61);
  retry.headers.push_back({"x-slack-retry-num", "1"});
  retry.headers.push_back({"x-slack-retry-reason", "http_timeout"});
  REQUIRE(a->verify(retry.req()).ok());
  std::vector<sb::event> out;
  REQUIRE(a->parse(post(body).req(), out).ok());
  REQUIRE(a->parse(retry.req(), out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].dedupe_key == out[1].dedupe_key);
  CHECK(out[0].platform_event_id == out[1].platform_event_id);
  // Another event of the same conversation is not a duplicate.
  REQUIRE(a->parse(post(replace(body, "Ev0PV52K21", "Ev0PV52K22")).req(), out).ok());
  CHECK(out[2].dedupe_key != out[0].dedupe_key);
}

TEST_CASE("bodies that are not slack Events API envelopes are malformed", "[adapters][slack]") {
  CHECK(parse_error("not json") == sb::errc::malformed_body);
  CHECK(parse_error("[1,2]") == sb::errc::malformed_body);
  CHECK(parse_error(R"({"ok":true})") == sb::errc::malformed_body);
  CHECK(parse_error(R"({"type":"block_actions","team_id":"T061EG9R6"})") ==
        sb::errc::malformed_body);
  CHECK(parse_error(R"({"type":7})") == sb::errc::malformed_body);
  // event_callback without event_id, without event, without event.type.
  CHECK(parse_error(R"({"type":"event_callback","team_id":"T061EG9R6","event":{"type":"x"}})") ==
        sb::errc::malformed_body);
  CHECK(parse_error(R"({"type":"event_callback","team_id":"T061EG9R6","event_id":"Ev1"})") ==
        sb::errc::malformed_body);
  CHECK(parse_error(R"({"type":"event_callback","team_id":"T061EG9R6","event_id":"Ev1",)"
                    R"("event":{"user":"U1"}})") == sb::errc::malformed_body);
  // A message must name its conversation; a file must have an id.
  CHECK(parse_error(R"({"type":"event_callback","team_id":"T061EG9R6","event_id":"Ev1",)"
                    R"("event":{"type":"message","user":"U1","text":"x","ts":"1.2"}})") ==
        sb::errc::malformed_body);
  auto st = parse_status(
      replace(sb::test::fixture("slack/file_share.json"), "\"id\": \"F07RJ6A1D8B\",", ""));
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().message.find("files[].id") != std::string::npos);
}

// -- sign, synthesize, registry ------------------------------------------------------------------

TEST_CASE("slack's synthetic webhook verifies and parses into the ids it announces",
          "[adapters][slack]") {
  const auto& info = sb::adapters::slack::info();
  sb::adapters::synthetic_spec spec;
  spec.account = k_team;
  spec.person = 7;
  spec.run = 4242;
  spec.n = 19;
  spec.text = "Hello there. Load test";
  auto w = info.synthesize(spec);
  REQUIRE(w.platform_ids.size() == 1);
  auto e = parse_one(w.body);
  CHECK(e.type == "message");
  CHECK(e.platform_event_id == w.platform_ids[0]);
  CHECK(e.content.text == "Hello there. Load test");
  CHECK(e.sender->platform_id == "U100000007");
  CHECK(e.conversation == "sl:D100000007");
  spec.n = 20;
  CHECK(info.synthesize(spec).platform_ids[0] != w.platform_ids[0]);
  spec.n = 19;
  spec.run = 4243;
  CHECK(info.synthesize(spec).platform_ids[0] != w.platform_ids[0]);
}

TEST_CASE("slack's channel account is its team_id and its headers are the signed pair",
          "[adapters][slack]") {
  const auto info = sb::adapters::slack::info();
  CHECK(info.account(channel()) == k_team);
  CHECK(info.headers == std::vector<std::string>{"x-slack-signature", "x-slack-request-timestamp"});
  CHECK(info.features.threads);
  sb::adapters::signing_input now_signed;
  now_signed.body = "{}";
  auto h = info.sign(channel(), now_signed);  // no `at`: signed now
  const auto stamp = std::stoll(header_of(h, "x-slack-request-timestamp"));
  CHECK(stamp * 1000 > k_signed_at.unix_ms);
}

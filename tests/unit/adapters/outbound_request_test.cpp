// POST /v1/messages bodies: strict parsing, per-channel validation, the outbox record.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/outbound.hpp"
#include "outbound_support.hpp"

using sb::adapters::media_kind;
using sb::adapters::outbound_message;
using sb::adapters::parse_send_request;

namespace {

sb::config::channel_config channel(const std::string& name, const std::string& type) {
  sb::config::channel_config c;
  c.name = name;
  c.type = type;
  return c;
}

/// The 400 message for a body the parser rejects.
std::string rejected(const std::string& body) {
  auto r = parse_send_request(body);
  INFO(body);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == sb::errc::bad_request);
  return r.err().message;
}

}  // namespace

TEST_CASE("a send request targets channel and to, with purpose support by default",
          "[adapters][outbound]") {
  auto r =
      parse_send_request(R"({"channel":"wa-main","to":"16505551234","text":"Your order shipped"})");
  REQUIRE(r.ok());
  const auto& m = r->message;
  CHECK(m.channel == "wa-main");
  CHECK(m.to == "16505551234");
  CHECK(m.conversation == "wa-main:16505551234");
  CHECK(m.purpose == "support");
  CHECK(m.text == "Your order shipped");
  CHECK_FALSE(m.media.has_value());
  CHECK(m.id.empty());
  CHECK(m.tenant.empty());
}

TEST_CASE("a send request may target a conversation as events name it", "[adapters][outbound]") {
  auto r = parse_send_request(
      R"({"conversation":"tg:-1001234567890","text":"hi","purpose":"marketing"})");
  REQUIRE(r.ok());
  CHECK(r->message.channel == "tg");
  CHECK(r->message.to == "-1001234567890");
  CHECK(r->message.conversation == "tg:-1001234567890");
  CHECK(r->message.purpose == "marketing");
}

TEST_CASE("an integer recipient is kept exactly, beyond 2^53", "[adapters][outbound]") {
  auto r = parse_send_request(R"({"channel":"tg","to":-10099999999999999,"text":"hi"})");
  REQUIRE(r.ok());
  CHECK(r->message.to == "-10099999999999999");
  auto reply =
      parse_send_request(R"({"channel":"tg","to":"1","text":"x","reply_to":9007199254740993})");
  REQUIRE(reply.ok());
  CHECK(reply->message.reply_to == "9007199254740993");
}

TEST_CASE("every part of a send request is read", "[adapters][outbound]") {
  auto media = parse_send_request(
      R"({"channel":"wa","to":"1","media":{"kind":"document","url":"https://acme.example/i.pdf",)"
      R"("caption":"Invoice","filename":"invoice.pdf"}})");
  REQUIRE(media.ok());
  REQUIRE(media->message.media.has_value());
  CHECK(media->message.media->kind == media_kind::document);
  CHECK(media->message.media->url == "https://acme.example/i.pdf");
  CHECK(media->message.media->caption == "Invoice");
  CHECK(media->message.media->filename == "invoice.pdf");

  auto tmpl = parse_send_request(
      R"({"channel":"wa","to":"1","template":{"name":"order_update","language":"en_US",)"
      R"("components":[ {"type":"body", "parameters":[{"type":"text","text":"42"}]} ]}})");
  REQUIRE(tmpl.ok());
  REQUIRE(tmpl->message.template_message.has_value());
  CHECK(tmpl->message.template_message->name == "order_update");
  CHECK(tmpl->message.template_message->language == "en_US");
  CHECK(tmpl->message.template_message->components ==
        R"([{"type":"body","parameters":[{"type":"text","text":"42"}]}])");

  auto kb = parse_send_request(
      R"({"channel":"tg","to":"1","text":"Pick","keyboard":[[{"text":"Yes","callback_data":"y"},)"
      R"({"text":"No","callback_data":"n"}],[{"text":"Site","url":"https://acme.example"}]]})");
  REQUIRE(kb.ok());
  REQUIRE(kb->message.keyboard.size() == 2);
  CHECK(kb->message.keyboard[0].size() == 2);
  CHECK(kb->message.keyboard[0][1].callback_data == "n");
  CHECK(kb->message.keyboard[1][0].url == "https://acme.example");

  auto qr = parse_send_request(
      R"({"channel":"fb","to":"1","text":"Color?","quick_replies":[{"title":"Red","payload":"R"},)"
      R"({"content_type":"user_email"}],"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"})");
  REQUIRE(qr.ok());
  REQUIRE(qr->message.quick_replies.size() == 2);
  CHECK(qr->message.quick_replies[0].content_type == "text");
  CHECK(qr->message.quick_replies[0].title == "Red");
  CHECK(qr->message.quick_replies[1].content_type == "user_email");
  CHECK(qr->message.messaging_type == "MESSAGE_TAG");
  CHECK(qr->message.tag == "HUMAN_AGENT");
}

TEST_CASE("send request errors name their field", "[adapters][outbound]") {
  CHECK(rejected("not json").find("not valid JSON") != std::string::npos);
  CHECK(rejected("[1]") == "the body must be a JSON object");
  CHECK(rejected(R"({"channel":"wa","to":"1","text":"x","colour":"red"})") ==
        "field 'colour' is unknown");
  CHECK(rejected(R"({"channel":"wa","to":"1","text":5})") == "field 'text' must be a string");
  CHECK(rejected(R"({"channel":"wa","to":true,"text":"x"})") ==
        "field 'to' must be a string or an integer");
  CHECK(rejected(R"({"channel":"wa","to":"1","text":"x","purpose":"ai"})") ==
        "field 'purpose' must be support or marketing");
  CHECK(rejected(R"({"conversation":"wa:1","channel":"wa","text":"x"})") ==
        "give either 'conversation' or 'channel' and 'to', not both");
  CHECK(rejected(R"({"text":"x"})") == "give 'conversation', or 'channel' and 'to'");
  CHECK(rejected(R"({"channel":"wa","text":"x"})") == "field 'to' is required with 'channel'");
  CHECK(rejected(R"({"to":"1","text":"x"})") == "field 'channel' is required with 'to'");
  CHECK(rejected(R"({"conversation":"wa-main","text":"x"})") ==
        "field 'conversation' must be \"<channel>:<recipient>\"");
  CHECK(rejected(R"({"channel":"wa","to":"1"})") ==
        "nothing to send: give 'text', 'media' or 'template'");
  CHECK(rejected(R"({"channel":"wa","to":"1","text":")" + std::string(4097, 'a') + "\"}") ==
        "field 'text' is longer than 4096 characters");
  CHECK(rejected(R"({"channel":"wa","to":"1","media":{"kind":"gif","url":"https://a.example"}})") ==
        "field 'media.kind' must be image, video, audio, document or sticker");
  CHECK(rejected(R"({"channel":"wa","to":"1","media":{"kind":"image"}})") ==
        "field 'media' needs exactly one of 'url' and 'media_id'");
  CHECK(rejected(R"({"channel":"wa","to":"1","media":{"kind":"image","url":"ftp://a/b"}})") ==
        "field 'media.url' must be an http:// or https:// URL");
  CHECK(rejected(R"({"channel":"wa","to":"1","media":{"kind":"image","link":"https://a.b"}})") ==
        "field 'media.link' is unknown");
  CHECK(
      rejected(R"({"channel":"wa","to":"1","text":"x","media":{"kind":"image","media_id":"5"}})") ==
      "field 'text' cannot be combined with 'media': put the text in 'media.caption'");
  CHECK(rejected(R"({"channel":"wa","to":"1","template":{"name":"t"}})") ==
        "field 'template.language' is required (a language code such as en_US)");
  CHECK(
      rejected(
          R"({"channel":"wa","to":"1","template":{"name":"t","language":"en","components":{}}})") ==
      "field 'template.components' must be an array");
  CHECK(
      rejected(R"({"channel":"wa","to":"1","text":"x","template":{"name":"t","language":"en"}})") ==
      "field 'template' cannot be combined with 'text' or 'media'");
  CHECK(rejected(R"({"channel":"tg","to":"1","text":"x","keyboard":[[{"text":"a"}]]})") ==
        "field 'keyboard[0][0]' needs exactly one of 'callback_data' and 'url'");
  CHECK(rejected(R"({"channel":"tg","to":"1","text":"x","keyboard":[{"text":"a"}]})") ==
        "field 'keyboard[0]' must be an array of buttons");
  CHECK(
      rejected(R"({"channel":"tg","to":"1","text":"x","keyboard":[[{"text":"a","callback_data":")" +
               std::string(65, 'c') + "\"}]]}") ==
      "field 'keyboard[0][0].callback_data' must be at most 64 bytes");
  std::string thirteen_plus_one;
  for (int i = 0; i < 14; ++i) {
    thirteen_plus_one += std::string(i ? "," : "") + R"({"title":"t","payload":"p"})";
  }
  CHECK(rejected(R"({"channel":"fb","to":"1","text":"x","quick_replies":[)" + thirteen_plus_one +
                 "]}") == "field 'quick_replies' takes at most 13 entries");
  CHECK(rejected(R"({"channel":"fb","to":"1","text":"x","quick_replies":[{"payload":"p"}]})") ==
        "field 'quick_replies[0].title' is required for content_type text");
  CHECK(rejected(R"({"channel":"fb","to":"1","media":{"kind":"image","media_id":"1"},)"
                 R"("quick_replies":[{"title":"a"}]})") == "field 'quick_replies' needs 'text'");
  CHECK(rejected(R"({"channel":"fb","to":"1","text":"x","messaging_type":"NOW"})") ==
        "field 'messaging_type' must be RESPONSE, UPDATE or MESSAGE_TAG");
  CHECK(rejected(R"({"channel":"fb","to":"1","text":"x","tag":"HUMAN_AGENT"})") ==
        "field 'tag' is required with messaging_type MESSAGE_TAG, and only with it");
}

TEST_CASE("features are checked against the channel type they target", "[adapters][outbound]") {
  using sb::test::outbound::invalid;
  const auto wa = channel("wa", "whatsapp");
  const auto tg = channel("tg", "telegram");
  const auto fb = channel("fb", "messenger");
  const auto ig = channel("ig", "instagram");
  CHECK(invalid(tg, R"({"channel":"tg","to":"1","template":{"name":"t","language":"en"}})") ==
        "field 'template' is only for whatsapp channels");
  CHECK(
      invalid(
          wa,
          R"({"channel":"wa","to":"1","text":"x","keyboard":[[{"text":"a","url":"https://a.b"}]]})") ==
      "field 'keyboard' is only for telegram channels");
  CHECK(invalid(wa, R"({"channel":"wa","to":"1","text":"x","quick_replies":[{"title":"a"}]})") ==
        "field 'quick_replies' is only for messenger and instagram channels");
  CHECK(invalid(tg, R"({"channel":"tg","to":"1","text":"x","messaging_type":"UPDATE"})") ==
        "field 'messaging_type' is only for messenger and instagram channels");
  CHECK(invalid(fb, R"({"channel":"fb","to":"1","text":")" + std::string(2001, 'a') + "\"}") ==
        "field 'text' is longer than Messenger's 2000 characters");
  // Instagram counts bytes: 334 three-byte characters are 1002 bytes.
  std::string euros;
  for (int i = 0; i < 334; ++i) {
    euros += "\xE2\x82\xAC";
  }
  CHECK(invalid(ig, R"({"channel":"ig","to":"1","text":")" + euros + "\"}") ==
        "field 'text' is longer than Instagram's 1000 bytes");
  CHECK(invalid(fb, R"({"channel":"fb","to":"1","media":{"kind":"sticker","media_id":"1"}})") ==
        "field 'media.kind': stickers cannot be sent on messenger");
  CHECK(invalid(
            fb,
            R"({"channel":"fb","to":"1","media":{"kind":"image","media_id":"1","caption":"c"}})") ==
        "field 'media.caption' is not supported on messenger: send the text as its own message");
  CHECK(invalid(ig, R"({"channel":"ig","to":"1","media":{"kind":"document","media_id":"1"}})") ==
        "field 'media.kind': documents cannot be sent on instagram");
  CHECK(invalid(fb, R"({"channel":"fb","to":"abc","text":"x"})") ==
        "field 'to' must be the person's page-scoped id (PSID): digits");
  CHECK(invalid(wa, R"({"channel":"wa","to":"+1 650","text":"x"})") ==
        "field 'to' must be a WhatsApp id (the phone number's digits)");
  CHECK(invalid(
            wa,
            R"({"channel":"wa","to":"1","media":{"kind":"audio","media_id":"1","caption":"c"}})") ==
        "field 'media.caption' is not supported for audio on whatsapp");
  CHECK(
      invalid(
          wa,
          R"({"channel":"wa","to":"1","media":{"kind":"image","media_id":"1","filename":"a.png"}})") ==
      "field 'media.filename' is only for documents");
  CHECK(invalid(tg, R"({"channel":"tg","to":"alice","text":"x"})") ==
        "field 'to' must be a Telegram chat id (an integer, negative for groups) or "
        "@channelusername");
  CHECK(invalid(tg, R"({"channel":"tg","to":"1","text":"x","reply_to":"wamid.X"})") ==
        "field 'reply_to' must be a Telegram message_id (an integer)");
  CHECK(
      invalid(
          fb,
          R"({"channel":"fb","to":"1","text":"x","messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"})") ==
      "field 'tag': HUMAN_AGENT needs the channel setting human_agent_tag: true (Meta's Human "
      "Agent permission)");
  CHECK(
      invalid(
          ig,
          R"({"channel":"ig","to":"1","text":"x","messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE"})") ==
      "field 'tag' must be HUMAN_AGENT on instagram");
  auto agent = fb;
  agent.settings["human_agent_tag"] = "true";
  CHECK(invalid(agent, R"({"channel":"fb","to":"1","text":"x","purpose":"marketing",)"
                       R"("messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"})") ==
        "field 'tag': message tags cannot carry purpose marketing");
  const auto shop = channel("shop", "shopify");
  CHECK(invalid(shop, R"({"channel":"shop","to":"1","text":"x"})") ==
        "field 'channel': channel shop (type shopify) cannot send messages");

  // And what is valid stays valid.
  auto m = sb::test::outbound::message(
      agent,
      R"({"channel":"fb","to":"1","text":"x","messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"})");
  CHECK(m.channel_type == "messenger");
  auto d = sb::test::outbound::message(fb, R"({"channel":"fb","to":"1","text":"x"})");
  CHECK(d.messaging_type == "RESPONSE");
  auto t = sb::test::outbound::message(tg, R"({"channel":"tg","to":"@acme_news","text":"x"})");
  CHECK(t.messaging_type.empty());
}

TEST_CASE("the outbox record round-trips every field", "[adapters][outbound]") {
  outbound_message m;
  m.id = "out_01J0ZK8Q4W3X5Y6Z7A8B9C0D1E";
  m.tenant = "acme";
  m.channel = "tg";
  m.channel_type = "telegram";
  m.to = "-10099999999999999";
  m.conversation = "tg:-10099999999999999";
  m.purpose = "marketing";
  m.media =
      sb::adapters::outbound_media{media_kind::video, "", "BAACAgIAAxkBAAIBY", "Clip \"1\"", ""};
  m.template_message = sb::adapters::outbound_template{
      "order_update", "en_US", R"([{"type":"body","parameters":[{"type":"text","text":"42"}]}])"};
  m.keyboard = {{{"Yes", "y", ""}, {"No", "n", ""}}, {{"Site", "", "https://acme.example"}}};
  m.quick_replies = {{"text", "Red", "R"}, {"user_email", "", ""}};
  m.messaging_type = "MESSAGE_TAG";
  m.tag = "HUMAN_AGENT";
  m.reply_to = "4242";
  m.idempotency_key = "key-1";
  m.created_at = sb::timestamp::from_millis(1717880383123);

  auto back = sb::adapters::outbound_from_json(sb::adapters::to_json(m));
  INFO(sb::adapters::to_json(m));
  REQUIRE(back.ok());
  CHECK(back->id == m.id);
  CHECK(back->tenant == m.tenant);
  CHECK(back->channel == m.channel);
  CHECK(back->channel_type == m.channel_type);
  CHECK(back->to == m.to);
  CHECK(back->conversation == m.conversation);
  CHECK(back->purpose == m.purpose);
  CHECK(back->text == m.text);
  REQUIRE(back->media.has_value());
  CHECK(back->media->kind == media_kind::video);
  CHECK(back->media->media_id == m.media->media_id);
  CHECK(back->media->caption == m.media->caption);
  REQUIRE(back->template_message.has_value());
  CHECK(back->template_message->components == m.template_message->components);
  CHECK(back->template_message->language == "en_US");
  REQUIRE(back->keyboard.size() == 2);
  CHECK(back->keyboard[0][1].text == "No");
  CHECK(back->keyboard[1][0].url == "https://acme.example");
  REQUIRE(back->quick_replies.size() == 2);
  CHECK(back->quick_replies[1].content_type == "user_email");
  CHECK(back->messaging_type == m.messaging_type);
  CHECK(back->tag == m.tag);
  CHECK(back->reply_to == m.reply_to);
  CHECK(back->idempotency_key == m.idempotency_key);
  CHECK(back->created_at.unix_ms == m.created_at.unix_ms);
  CHECK(back->created_at.has_ms);
  // Writing it again gives the same bytes: the record is stable.
  CHECK(sb::adapters::to_json(*back) == sb::adapters::to_json(m));

  // A plain text message round-trips too (no optional parts).
  auto plain = parse_send_request(R"({"channel":"wa","to":"16505551234","text":"h\u00e9 \"x\""})");
  REQUIRE(plain.ok());
  auto plain_back = sb::adapters::outbound_from_json(sb::adapters::to_json(plain->message));
  REQUIRE(plain_back.ok());
  CHECK(plain_back->text == "h\xC3\xA9 \"x\"");
  CHECK(plain_back->purpose == "support");
  CHECK_FALSE(plain_back->media.has_value());
  CHECK_FALSE(plain_back->template_message.has_value());
}

TEST_CASE("an outbox record that is not one is malformed", "[adapters][outbound]") {
  CHECK(sb::adapters::outbound_from_json("{").err().code == sb::errc::malformed_body);
  CHECK(sb::adapters::outbound_from_json(R"({"id":"out_1"})").err().code ==
        sb::errc::malformed_body);
  CHECK(sb::adapters::outbound_from_json(R"({"channel":"wa","to":"1","media":{"kind":"gif"}})")
            .err()
            .code == sb::errc::malformed_body);
}

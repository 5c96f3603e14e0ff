// A channel's sending side (adapters/outbound.hpp `outbound_channel`): its settings are read
// once, when the channel is built, into the platform's own types; nothing re-reads the config
// per send.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/adapter.hpp"
#include "adapters/outbound.hpp"
#include "unit/adapters/outbound_support.hpp"

using sb::test::outbound::header;
using sb::test::outbound::message;

namespace {

sb::config::channel_config channel(const std::string& type) {
  sb::config::channel_config c;
  c.name = "ch";
  c.type = type;
  if (type == "whatsapp") {
    c.settings = {{"access_token", "EAAG-built-with"}, {"phone_number_id", "106540352242922"}};
  } else if (type == "telegram") {
    c.settings = {{"bot_token", "123456789:built-with"}};
  } else {
    c.settings = {{"access_token", "EAAG-page-built-with"}, {"page_id", "106540352242923"}};
  }
  return c;
}

}  // namespace

TEST_CASE("a channel's sending side keeps the settings it was built with",
          "[adapters][outbound][plugins]") {
  for (const char* type : {"whatsapp", "telegram", "messenger", "instagram"}) {
    CAPTURE(type);
    auto cfg = channel(type);
    const auto out = sb::adapters::outbound_for(cfg);
    REQUIRE(out != nullptr);
    const auto m = message(cfg, std::string(R"({"channel":"ch","to":")") +
                                    (std::string(type) == "telegram" ? "42" : "1650555") +
                                    R"(","text":"hi"})");
    auto before = out->encode(m);
    REQUIRE(before.ok());
    const std::string account = out->account();
    CHECK(account == sb::adapters::find(type)->account(cfg));
    // The config changes after the channel was built (a reload builds a new one): the built
    // side does not look.
    cfg.settings["access_token"] = "";
    cfg.settings["bot_token"] = "";
    cfg.settings["api_base"] = "http://127.0.0.1:9";
    auto after = out->encode(m);
    REQUIRE(after.ok());
    CHECK(after->url == before->url);
    CHECK(header(*after, "Authorization") == header(*before, "Authorization"));
    CHECK(out->account() == account);
    // A side built from the changed config sees the change.
    const auto rebuilt = sb::adapters::outbound_for(cfg)->encode(m);
    REQUIRE_FALSE(rebuilt.ok());
    CHECK(rebuilt.err().code == sb::errc::unavailable);
  }
}

TEST_CASE("human_agent_tag is read once into the channel's window and checks",
          "[adapters][outbound][plugins]") {
  auto cfg = channel("messenger");
  cfg.settings["human_agent_tag"] = "true";
  const auto out = sb::adapters::outbound_for(cfg);
  REQUIRE(out != nullptr);
  CHECK(out->human_agent_tag());
  CHECK(out->window().human_agent_hours == 7 * 24);
  CHECK(out->window().message_tags);
  const auto tagged =
      message(cfg, R"({"channel":"ch","to":"1650555","text":"hi","messaging_type":"MESSAGE_TAG",)"
                   R"("tag":"HUMAN_AGENT"})");
  cfg.settings["human_agent_tag"] = "false";
  CHECK(out->check(tagged).ok());
  CHECK(out->window().human_agent_hours == 7 * 24);

  const auto off = sb::adapters::outbound_for(cfg);
  CHECK_FALSE(off->human_agent_tag());
  CHECK(off->window().human_agent_hours == 0);
  const auto refused = off->check(tagged);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().message.find("human_agent_tag") != std::string::npos);
}

TEST_CASE("a type that cannot send has no sending side, and validation says so",
          "[adapters][outbound][plugins]") {
  sb::config::channel_config shop;
  shop.name = "shop";
  shop.type = "shopify";
  CHECK(sb::adapters::outbound_for(shop) == nullptr);
  sb::adapters::outbound_message m;
  m.to = "1";
  m.text = "hi";
  const auto st = sb::adapters::validate(shop, nullptr, m);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().message == "field 'channel': channel shop (type shopify) cannot send messages");
}

// Rate-limit defaults and overrides, outbound channel settings, and the conversation window.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"

using sb::adapters::limits_for;
using sb::adapters::window_for;

namespace {

sb::config::channel_config channel(const std::string& type) {
  sb::config::channel_config c;
  c.name = "ch";
  c.type = type;
  return c;
}

}  // namespace

TEST_CASE("each sending type has documented default rate limits", "[adapters][outbound]") {
  auto wa = limits_for(channel("whatsapp"));
  CHECK(wa.per_channel_rps == 80);
  CHECK(wa.per_channel_burst == 80);
  CHECK(wa.per_recipient_rps == Approx(1.0 / 6));
  CHECK(wa.per_recipient_burst == 45);
  CHECK(wa.per_group_per_minute == 0);

  auto tg = limits_for(channel("telegram"));
  CHECK(tg.per_channel_rps == 30);
  CHECK(tg.per_recipient_rps == 1);
  CHECK(tg.per_recipient_burst == 1);
  CHECK(tg.per_group_per_minute == 20);

  for (const char* type : {"messenger", "instagram"}) {
    auto page = limits_for(channel(type));
    CHECK(page.per_channel_rps == 300);
    CHECK(page.per_recipient_rps == 0);
  }

  auto shop = limits_for(channel("shopify"));
  CHECK(shop.per_channel_rps == 0);
  CHECK(sb::adapters::find("shopify")->outbound == nullptr);
}

TEST_CASE("channel settings override the rate limits", "[adapters][outbound]") {
  auto cfg = channel("whatsapp");
  cfg.settings = {{"rate_per_second", "20"},
                  {"rate_burst", "5"},
                  {"recipient_per_minute", "3"},
                  {"recipient_burst", "2"}};
  auto l = limits_for(cfg);
  CHECK(l.per_channel_rps == 20);
  CHECK(l.per_channel_burst == 5);
  CHECK(l.per_recipient_rps == Approx(0.05));
  CHECK(l.per_recipient_burst == 2);

  auto tg = channel("telegram");
  tg.settings = {{"group_per_minute", "0"}};
  CHECK(limits_for(tg).per_group_per_minute == 0);
}

TEST_CASE("bad outbound settings are reported by key", "[adapters][outbound]") {
  auto cfg = channel("telegram");
  cfg.name = "tg";
  CHECK(sb::adapters::check_outbound_settings(cfg).ok());
  cfg.settings = {{"rate_per_second", "fast"}};
  auto s = sb::adapters::check_outbound_settings(cfg);
  REQUIRE_FALSE(s.ok());
  CHECK(s.err().message == "tg.rate_per_second must be a non-negative number");
  CHECK(limits_for(cfg).per_channel_rps == 0);  // never a made-up limit

  cfg.settings = {{"recipient_per_minute", "-1"}};
  CHECK(sb::adapters::check_outbound_settings(cfg).err().message ==
        "tg.recipient_per_minute must be a non-negative number");
  cfg.settings = {{"rate_per_second", "10"}, {"rate_burst", "0.5"}};
  CHECK(sb::adapters::check_outbound_settings(cfg).err().message ==
        "tg.rate_burst must be at least 1 when rate_per_second is set (a bucket smaller than one "
        "message never sends)");
  auto fb = channel("messenger");
  fb.name = "fb";
  fb.settings = {{"human_agent_tag", "yes"}};
  CHECK(sb::adapters::check_outbound_settings(fb).err().message ==
        "fb.human_agent_tag must be true or false");
}

TEST_CASE("group chats are Telegram's negative chat ids", "[adapters][outbound]") {
  CHECK(sb::adapters::is_group_recipient(channel("telegram"), "-1001234567890"));
  CHECK(sb::adapters::is_group_recipient(channel("telegram"), "-4567"));
  CHECK_FALSE(sb::adapters::is_group_recipient(channel("telegram"), "123456789"));
  CHECK_FALSE(sb::adapters::is_group_recipient(channel("telegram"), "@acme_news"));
  CHECK_FALSE(sb::adapters::is_group_recipient(channel("whatsapp"), "-1"));
}

TEST_CASE("the conversation window depends on the platform and the human agent setting",
          "[adapters][outbound]") {
  auto wa = window_for(channel("whatsapp"));
  CHECK(wa.window_hours == 24);
  CHECK(wa.template_opens_window);
  CHECK(wa.human_agent_hours == 0);

  auto tg = window_for(channel("telegram"));
  CHECK(tg.window_hours == 0);

  auto fb = channel("messenger");
  CHECK(window_for(fb).window_hours == 24);
  CHECK(window_for(fb).human_agent_hours == 0);
  fb.settings["human_agent_tag"] = "true";
  CHECK(window_for(fb).human_agent_hours == 168);
  CHECK_FALSE(window_for(fb).template_opens_window);
}

TEST_CASE("the loader fills the outbound settings' defaults from the adapters' schemas",
          "[adapters][outbound]") {
  const std::string yaml =
      "storage:\n"
      "  master_key: \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n"
      "tenants:\n"
      "  - id: acme\n"
      "    channels:\n"
      "      - {name: tg, type: telegram, secret_token: s, bot_token: \"1:x\", "
      "recipient_burst: 3}\n"
      "      - {name: fb, type: messenger, app_secret: a, verify_token: v, page_id: \"1\", "
      "human_agent_tag: true}\n";
  auto r = sb::config::load_string(yaml, "test.yaml", sb::adapters::schemas());
  INFO(r.errors.to_string());
  REQUIRE(r.ok());
  const auto& tg = r.cfg->tenants[0].channels[0];
  CHECK(tg.get("rate_per_second") == "30");
  CHECK(tg.get("recipient_per_minute") == "60");
  CHECK(tg.get("group_per_minute") == "20");
  auto l = limits_for(tg);
  CHECK(l.per_channel_rps == 30);
  CHECK(l.per_recipient_rps == Approx(1));
  CHECK(l.per_recipient_burst == 3);
  CHECK(sb::adapters::check_outbound_settings(tg).ok());
  const auto& fb = r.cfg->tenants[0].channels[1];
  CHECK(fb.get("human_agent_tag") == "true");
  CHECK(window_for(fb).human_agent_hours == 168);
}

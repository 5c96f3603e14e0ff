#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "config_test_support.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"

using sb::test::config::scoped_env;
using strings = std::vector<std::string>;

namespace {

/// The example's environment overrides, unset so that its DEV-ONLY defaults apply.
const strings k_overrides{
    "SWITCHBOARD_MASTER_KEY", "ACME_WA_APP_SECRET",     "ACME_WA_VERIFY_TOKEN",
    "ACME_WA_ACCESS_TOKEN",   "ACME_WA_API_BASE",       "ACME_TG_SECRET_TOKEN",
    "ACME_TG_BOT_TOKEN",      "ACME_TG_API_BASE",       "ACME_FB_APP_SECRET",
    "ACME_FB_VERIFY_TOKEN",   "ACME_FB_ACCESS_TOKEN",   "ACME_FB_API_BASE",
    "ACME_IG_APP_SECRET",     "ACME_IG_VERIFY_TOKEN",   "ACME_IG_ACCESS_TOKEN",
    "ACME_IG_API_BASE",       "ACME_SHOP_CLIENT_SECRET"};

/// Unsets every override for its lifetime.
struct clean_env {
  std::vector<std::unique_ptr<scoped_env>> vars;
  clean_env() {
    for (const auto& name : k_overrides) {
      vars.push_back(std::make_unique<scoped_env>(name, std::nullopt));
    }
  }
};

sb::config::load_result load_example(const std::vector<sb::config::channel_schema>& schemas) {
  return sb::config::load_string(sb::config::embedded_default(), "<embedded>", schemas);
}

}  // namespace

TEST_CASE("the embedded default is config/switchboard.example.yaml byte for byte", "[config]") {
  CHECK(sb::config::embedded_default() ==
        sb::test::read_file(std::string(SB_SOURCE_DIR) + "/config/switchboard.example.yaml"));
}

TEST_CASE("the example config loads cleanly with the adapters' schemas", "[config]") {
  clean_env env;
  auto r = load_example(sb::adapters::schemas());
  REQUIRE(r.errors.problems == strings{});
  // Adding a platform touches the example config: every adapter has a channel in it.
  std::set<std::string> types;
  for (const auto& c : r.cfg->find_tenant("acme")->channels) {
    types.insert(c.type);
  }
  for (const auto& a : sb::adapters::all()) {
    CAPTURE(a.type);
    CHECK(types.count(a.type) == 1);
  }
}

TEST_CASE("the example config is a working demo with DEV-ONLY secrets", "[config]") {
  clean_env env;
  const auto schemas = sb::test::config::documented_schemas();
  auto r = load_example(schemas);
  REQUIRE(r.errors.problems == strings{});
  const auto& c = *r.cfg;
  CHECK(c.source == "<embedded>");
  CHECK(c.server.listen == "127.0.0.1:8080");
  CHECK(c.storage.backend == "sqlite");  // durable by default, as DESIGN §8
  CHECK(c.storage.master_key.size() == 32);
  REQUIRE(c.tenants.size() == 1);
  const auto& acme = c.tenants[0];
  CHECK(acme.id == "acme");
  CHECK(acme.privacy.redact_card_numbers);

  const std::vector<std::pair<std::string, std::string>> expected{{"wa-main", "whatsapp"},
                                                                  {"tg", "telegram"},
                                                                  {"fb", "messenger"},
                                                                  {"ig", "instagram"},
                                                                  {"shop", "shopify"},
                                                                  {"slack", "slack"},
                                                                  {"woo", "woocommerce"},
                                                                  {"crm", "hubspot"},
                                                                  {"mail", "email"},
                                                                  {"web", "webchat"}};
  REQUIRE(acme.channels.size() == expected.size());
  for (const auto& [name, type] : expected) {
    const auto* ch = acme.find_channel(name);
    REQUIRE(ch != nullptr);
    CHECK(ch->type == type);
    // Every secret falls back to a value that says it is for development only.
    for (const auto& s : schemas) {
      if (s.type != type) {
        continue;
      }
      for (const auto& spec : s.settings) {
        // A derived key is the gateway's own (from storage.master_key), never a dev default.
        if (spec.secret && !spec.derived && (spec.required || !ch->get(spec.key).empty())) {
          CAPTURE(name, spec.key);
          CHECK(ch->get(spec.key).find("dev-") != std::string::npos);
        }
      }
    }
  }

  REQUIRE(acme.subscribers.size() == 1);
  const auto& helpdesk = acme.subscribers[0];
  CHECK(helpdesk.name == "helpdesk");
  for (auto s : {sb::config::scope::stream, sb::config::scope::send, sb::config::scope::privacy,
                 sb::config::scope::admin}) {
    CHECK(helpdesk.has_scope(s));
  }
  // The dev token is written in a comment of the file, for the README and for curl.
  const std::string dev_token = "sbt_dev_helpdesk_change_me";
  CHECK(helpdesk.token_sha256 == sb::crypto::to_hex(sb::crypto::sha256(dev_token)));
  CHECK(sb::config::embedded_default().find("# DEV-ONLY token: " + dev_token) != std::string::npos);
}

TEST_CASE("the example config takes its secrets from the environment", "[config]") {
  clean_env env;
  const std::string key(64, 'f');
  scoped_env master("SWITCHBOARD_MASTER_KEY", key);
  scoped_env wa("ACME_WA_APP_SECRET", std::string("real-wa-secret"));
  scoped_env shop("ACME_SHOP_CLIENT_SECRET", std::string("real-shop-secret"));
  scoped_env api("ACME_TG_API_BASE", std::string("http://127.0.0.1:9999"));
  auto r = load_example(sb::test::config::documented_schemas());
  REQUIRE(r.errors.problems == strings{});
  const auto& acme = r.cfg->tenants.at(0);
  CHECK(r.cfg->storage.master_key == std::string(32, '\xff'));
  CHECK(acme.find_channel("wa-main")->get("app_secret") == "real-wa-secret");
  CHECK(acme.find_channel("shop")->get("client_secret") == "real-shop-secret");
  CHECK(acme.find_channel("tg")->get("api_base") == "http://127.0.0.1:9999");
}

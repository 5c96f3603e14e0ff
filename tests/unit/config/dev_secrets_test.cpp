#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/dev_secrets.hpp"
#include "config/loader.hpp"
#include "config_test_support.hpp"

using sb::test::config::scoped_env;

namespace {

std::shared_ptr<const sb::config::config> load(const std::string& yaml) {
  auto r = sb::config::load_string(yaml, "t.yaml", sb::adapters::schemas());
  INFO(r.errors.to_string());
  REQUIRE(r.ok());
  return r.cfg;
}

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
  for (const auto& p : problems) {
    if (p.find(what) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE(
    "the example config's fallbacks are found as DEV-ONLY secrets, naming how to replace "
    "them and never the value",
    "[config][security]") {
  scoped_env key("SWITCHBOARD_MASTER_KEY", std::nullopt);
  scoped_env wa("ACME_WA_APP_SECRET", std::nullopt);
  auto cfg = load(sb::config::embedded_default());
  auto found = sb::config::dev_only_secrets(*cfg, sb::adapters::schemas());
  CHECK(mentions(found,
                 "storage.master_key: the example config's public DEV-ONLY value; set "
                 "SWITCHBOARD_MASTER_KEY"));
  CHECK(mentions(found, "tenants[acme].channels[wa-main].app_secret"));
  CHECK(mentions(found, "set ACME_WA_APP_SECRET"));
  CHECK(mentions(found, "tenants[acme].subscribers[helpdesk].token_sha256"));
  CHECK_FALSE(mentions(found, "dev-wa-app-secret"));
  CHECK_FALSE(mentions(found, "api_base"));  // not a secret
  CHECK(sb::config::loopback_only(*cfg));
}

TEST_CASE("real secrets from the environment are not DEV-ONLY", "[config][security]") {
  scoped_env key("SWITCHBOARD_MASTER_KEY",
                 std::string("aa3e5f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e"));
  scoped_env wa("ACME_WA_APP_SECRET", std::string("a-real-secret-from-the-vault"));
  auto cfg = load(sb::config::embedded_default());
  auto found = sb::config::dev_only_secrets(*cfg, sb::adapters::schemas());
  CHECK_FALSE(mentions(found, "storage.master_key"));
  CHECK_FALSE(mentions(found, "wa-main].app_secret"));
  CHECK(mentions(found, "tg].secret_token"));  // still unset: still the public fallback
}

TEST_CASE("a copied DEV-ONLY value is found in any config, and listeners decide loopback",
          "[config][security]") {
  auto cfg = load(R"(
server: {listen: "0.0.0.0:8080", metrics: {listen: "127.0.0.1:9090"}}
storage: {backend: memory, master_key: "0D3E5F1A2B4C6D8E0F1A3B5C7D9E1F2A4B6C8D0E2F4A6B8C0D2E4F6A8B0C2D4E"}
tenants:
  - id: shop1
    channels:
      - {name: tg, type: telegram, secret_token: "dev-tg-secret-token"}
)");
  auto found = sb::config::dev_only_secrets(*cfg, sb::adapters::schemas());
  CHECK(mentions(found, "storage.master_key"));  // upper-case hex of the same key
  CHECK(mentions(found, "tenants[shop1].channels[tg].secret_token"));
  CHECK_FALSE(sb::config::loopback_only(*cfg));

  auto local = load(R"(
server: {listen: "127.0.0.1:8080", metrics: {listen: "0.0.0.0:9090"}}
storage: {backend: memory, master_key: "aa3e5f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e"}
tenants:
  - id: shop1
    channels:
      - {name: tg, type: telegram, secret_token: "s3cr3t"}
)");
  CHECK(sb::config::dev_only_secrets(*local, sb::adapters::schemas()).empty());
  CHECK_FALSE(sb::config::loopback_only(*local));  // the metrics listener is public
}

// `config::for_tenant` (config/config.hpp): what a tenant's actors hold is the whole config's
// globals and their own tenant, nothing of the others.
#include <catch2/catch.hpp>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"

using namespace sb;

TEST_CASE("a tenant's view of the config keeps every global and only that tenant", "[config]") {
  const char* yaml = R"(server:
  listen: "127.0.0.1:9123"
  public_url: "https://hooks.example.com"
storage:
  master_key: "0000000000000000000000000000000000000000000000000000000000000007"
cluster:
  node_id: gw-7
log:
  access: true
control_plane:
  secret_grace_seconds: 60
privacy:
  retention_days: 9
limits:
  events_per_webhook: 17
operators:
  - {name: ops, token_sha256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
tenants:
  - id: a
    channels: [{name: tg, type: telegram, secret_token: "a-secret-token-123"}]
  - id: b
    channels: [{name: tg, type: telegram, secret_token: "b-secret-token-123"}]
)";
  auto loaded = config::load_string(yaml, "test.yaml", adapters::schemas());
  REQUIRE(loaded.ok());
  const auto& whole = *loaded.cfg;
  auto b = config::for_tenant(whole, whole.tenants.at(1));
  REQUIRE(b->tenants.size() == 1);
  CHECK(b->tenants[0].id == "b");
  CHECK(b->tenants[0].channels.at(0).get("secret_token") == "b-secret-token-123");
  CHECK(b->find_tenant("a") == nullptr);
  CHECK(b->source == "test.yaml");
  CHECK(b->server.listen == "127.0.0.1:9123");
  CHECK(b->public_url() == "https://hooks.example.com");
  CHECK(b->storage.root_key == whole.storage.root_key);
  CHECK(b->storage.master_key == whole.storage.master_key);
  CHECK(b->cluster.node_id == "gw-7");
  CHECK(b->log.access);
  CHECK(b->control_plane.secret_grace_seconds == 60);
  CHECK(b->privacy.retention_days == 9);
  CHECK(b->limits.events_per_webhook == 17);
  REQUIRE(b->operators.size() == 1);
  CHECK(b->operators[0].name == "ops");
  // A new member of `config` must be copied by for_tenant too: this size changes with it.
  constexpr std::size_t members =
      sizeof(std::string) + sizeof(config::server_config) + sizeof(config::storage_config) +
      sizeof(config::cluster_config) + sizeof(config::log_config) +
      sizeof(config::control_plane_config) + sizeof(config::privacy_defaults_config) +
      sizeof(config::limits_config) + sizeof(std::vector<config::tenant_config>) +
      sizeof(std::vector<config::operator_config>);
  constexpr std::size_t align = alignof(config::config);
  CHECK(sizeof(config::config) == (members + align - 1) / align * align);  // with tail padding
}

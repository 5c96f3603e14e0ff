#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "core/crypto.hpp"
#include "http/auth.hpp"

using sb::errc;
using sb::config::scope;
using sb::http::bearer_token;
using sb::http::token_index;

namespace {

std::string digest_of(const std::string& token) {
  return sb::crypto::to_hex(sb::crypto::sha256(token));
}

sb::config::subscriber_config subscriber(std::string name, const std::string& token,
                                         unsigned scopes) {
  sb::config::subscriber_config s;
  s.name = std::move(name);
  s.token_sha256 = token.empty() ? "" : digest_of(token);
  s.scopes = scopes;
  return s;
}

constexpr unsigned stream = static_cast<unsigned>(scope::stream);
constexpr unsigned send = static_cast<unsigned>(scope::send);

sb::config::config two_tenants() {
  sb::config::config cfg;
  sb::config::tenant_config acme;
  acme.id = "acme";
  acme.subscribers.push_back(subscriber("helpdesk", "tok-acme", stream | send));
  acme.subscribers.push_back(subscriber("sender", "tok-send-only", send));
  acme.subscribers.push_back(subscriber("pusher", "", 0));  // push only: no API token
  sb::config::tenant_config globex;
  globex.id = "globex";
  globex.subscribers.push_back(subscriber("crm", "tok-globex", stream));
  cfg.tenants = {acme, globex};
  return cfg;
}

}  // namespace

TEST_CASE("a known bearer token authenticates as its subscriber and tenant", "[http]") {
  token_index index(two_tenants());
  CHECK(index.size() == 3);
  auto who = index.authenticate("Bearer tok-acme", scope::stream);
  REQUIRE(who.ok());
  CHECK((*who)->tenant == "acme");
  CHECK((*who)->subscriber == "helpdesk");
  CHECK((*who)->has_scope(scope::send));

  auto own_tenant = index.authenticate("bearer   tok-globex ", scope::stream, "globex");
  REQUIRE(own_tenant.ok());
  CHECK((*own_tenant)->subscriber == "crm");
}

TEST_CASE("a missing, malformed or unknown bearer token is unauthorized", "[http]") {
  token_index index(two_tenants());
  for (const char* header : {"", "Bearer", "Bearer ", "Basic dG9rLWFjbWU=", "Bearertok-acme",
                             "Bearer tok-unknown", "Bearer TOK-ACME"}) {
    INFO("Authorization: " << header);
    auto who = index.authenticate(header, scope::stream);
    REQUIRE_FALSE(who.ok());
    CHECK(who.err().code == errc::unauthorized);
  }
}

TEST_CASE("a token without the needed scope is forbidden", "[http]") {
  token_index index(two_tenants());
  auto who = index.authenticate("Bearer tok-send-only", scope::stream);
  REQUIRE_FALSE(who.ok());
  CHECK(who.err().code == errc::forbidden);
  CHECK(who.err().message.find("stream") != std::string::npos);
}

TEST_CASE("a token never reaches another tenant", "[http]") {
  token_index index(two_tenants());
  auto who = index.authenticate("Bearer tok-acme", scope::stream, "globex");
  REQUIRE_FALSE(who.ok());
  CHECK(who.err().code == errc::forbidden);
  CHECK(index.authenticate("Bearer tok-globex", scope::stream, "acme").err().code ==
        errc::forbidden);
}

TEST_CASE("a token configured on two subscribers is refused for both", "[http]") {
  auto cfg = two_tenants();
  cfg.tenants[1].subscribers.push_back(subscriber("copy", "tok-acme", stream));
  token_index index(cfg);
  CHECK(index.find("tok-acme") == nullptr);
  CHECK(index.authenticate("Bearer tok-acme", scope::stream).err().code == errc::unauthorized);
  CHECK(index.find("tok-globex") != nullptr);
}

TEST_CASE("upper-case digests in the config still match", "[http]") {
  auto cfg = two_tenants();
  auto& digest = cfg.tenants[1].subscribers[0].token_sha256;
  for (auto& c : digest) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  token_index index(cfg);
  CHECK(index.find("tok-globex") != nullptr);
}

TEST_CASE("the bearer scheme is case-insensitive and the token is trimmed", "[http]") {
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("BEARER\tabc  ") == "abc");
  CHECK(bearer_token("Bearer") == "");
  CHECK(bearer_token("Token abc") == "");
}

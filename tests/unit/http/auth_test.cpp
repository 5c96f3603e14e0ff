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

namespace {

constexpr unsigned admin = static_cast<unsigned>(scope::admin);

/// Two tenants, a tenant admin of acme, and the operator "ops".
sb::config::config with_operator() {
  auto cfg = two_tenants();
  cfg.tenants[0].subscribers.push_back(subscriber("acme-admin", "tok-acme-admin", admin));
  sb::config::operator_config op;
  op.name = "ops";
  op.token_sha256 = digest_of("tok-operator");
  cfg.operators.push_back(op);
  return cfg;
}

}  // namespace

TEST_CASE("an operator token has every scope on every tenant it names", "[http][console]") {
  token_index index(with_operator());
  for (const char* tenant : {"acme", "globex"}) {
    for (auto s : {scope::stream, scope::send, scope::privacy, scope::admin}) {
      auto who = index.authenticate("Bearer tok-operator", s, tenant);
      CAPTURE(tenant, static_cast<unsigned>(s));
      REQUIRE(who.ok());
      CHECK((*who)->tenant == tenant);
      CHECK((*who)->subscriber == "operator:ops");
      CHECK((*who)->is_operator);
    }
  }
  REQUIRE(index.find_operator("Bearer tok-operator") != nullptr);
  CHECK(*index.find_operator("Bearer tok-operator") == "ops");
  CHECK(index.find_operator("Bearer tok-acme-admin") == nullptr);
  CHECK(index.find_operator("Bearer tok-operatoR") == nullptr);
  CHECK(index.find("tok-operator") == nullptr);  // not a subscriber's token
}

TEST_CASE("an operator token must name the tenant when there are several", "[http][console]") {
  token_index index(with_operator());
  auto none = index.authenticate("Bearer tok-operator", scope::admin);
  REQUIRE_FALSE(none.ok());
  CHECK(none.err().code == errc::bad_request);
  CHECK(none.err().message.find("?tenant=") != std::string::npos);

  auto unknown = index.authenticate("Bearer tok-operator", scope::admin, "initech");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.err().code == errc::unknown_tenant);

  // With one tenant the operator's calls default to it.
  auto one = with_operator();
  one.tenants.pop_back();
  token_index single(one);
  auto who = single.authenticate("Bearer tok-operator", scope::privacy);
  REQUIRE(who.ok());
  CHECK((*who)->tenant == "acme");
}

TEST_CASE("a tenant admin token keeps to its own tenant beside operators", "[http][console]") {
  token_index index(with_operator());
  auto own = index.authenticate("Bearer tok-acme-admin", scope::admin);
  REQUIRE(own.ok());
  CHECK((*own)->tenant == "acme");
  CHECK_FALSE((*own)->is_operator);
  auto other = index.authenticate("Bearer tok-acme-admin", scope::admin, "globex");
  REQUIRE_FALSE(other.ok());
  CHECK(other.err().code == errc::forbidden);
  // A subscriber token without admin is still refused admin calls.
  auto helpdesk = index.authenticate("Bearer tok-acme", scope::admin, "acme");
  REQUIRE_FALSE(helpdesk.ok());
  CHECK(helpdesk.err().code == errc::forbidden);
}

TEST_CASE("a wrong token is unauthorized with operators configured", "[http][console]") {
  token_index index(with_operator());
  for (const char* h : {"Bearer tok-operator2", "Bearer ", "Basic tok-operator", ""}) {
    CAPTURE(h);
    auto who = index.authenticate(h, scope::stream, "acme");
    REQUIRE_FALSE(who.ok());
    CHECK(who.err().code == errc::unauthorized);
  }
}

TEST_CASE("an operator token that a subscriber also holds opens nothing", "[http][console]") {
  auto cfg = with_operator();
  cfg.operators.front().token_sha256 = digest_of("tok-globex");  // the loader refuses this
  token_index index(cfg);
  CHECK(index.find_operator("Bearer tok-globex") == nullptr);
  auto who = index.authenticate("Bearer tok-globex", scope::admin, "acme");
  REQUIRE_FALSE(who.ok());
  CHECK(who.err().code == errc::forbidden);  // still only globex's stream token
}

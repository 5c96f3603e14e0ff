#pragma once

// Shared by the web chat e2e tests (webchat_visitor_test.cpp, webchat_reply_test.cpp): the
// merchant's page as the visitor API sees it, and a session started from it.

#include <catch2/catch.hpp>

#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace sb::test::webchat {

/// The merchant's origin, allowed by the tests' web chat channels.
inline const std::string shop = "http://shop.example";

/// `more` with the shop's Origin: a request from the merchant's page.
inline header_list from_shop(header_list more = {}) {
  more.emplace_back("Origin", shop);
  return more;
}

/// A visitor's JSON request with their session token, from the shop's page.
inline header_list visitor_headers(const std::string& token) {
  return from_shop({{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
}

struct session {
  std::string visitor;
  std::string token;
};

/// Starts a session on `channel` of tenant acme from the shop's page, with `body` (none when
/// empty), and requires a 201 naming a visitor, a token and its expiry.
inline session start_session(const gateway_process& gw, const std::string& channel = "web",
                             const std::string& body = "") {
  header_list h = from_shop();
  if (!body.empty()) {
    h.emplace_back("Content-Type", "application/json");
  }
  auto r = request("POST", gw.base_url() + "/chat/acme/" + channel + "/sessions", h, body);
  INFO("POST sessions -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 201);
  json j = json::parse(r.body);
  REQUIRE(j["visitor"].str().rfind("vis_", 0) == 0);
  REQUIRE_FALSE(j["token"].str().empty());
  CHECK_FALSE(j["expires_at"].str().empty());
  return {j["visitor"].str(), j["token"].str()};
}

}  // namespace sb::test::webchat

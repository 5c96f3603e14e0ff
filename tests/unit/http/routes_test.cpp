// Walks the handler list (src/http/routes.hpp): every entry is reached by its own pattern, every
// other method on its path is 405 with the pattern's methods in Allow, no two patterns compete
// for a path, and every API entry carries exactly one actor-side handler that can run where its
// call goes. A route added to the list is tested here the day it is added.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "actors/api_handlers.hpp"
#include "http/routes.hpp"

using namespace sb;
using http::access;
using http::handler_kind;
using http::route_def;

namespace {

/// "/a/{x}/b" as {"a", "{x}", "b"}.
std::vector<std::string> segments_of(std::string_view pattern) {
  std::vector<std::string> out;
  pattern.remove_prefix(1);
  for (;;) {
    auto slash = pattern.find('/');
    out.emplace_back(pattern.substr(0, slash));
    if (slash == std::string_view::npos) {
      return out;
    }
    pattern.remove_prefix(slash + 1);
  }
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// A path of `pattern` whose i-th parameter is "p%2Di" (decoded "p-i"), and those decoded values.
std::string sample_path(std::string_view pattern, std::vector<std::string>& params) {
  std::string path;
  params.clear();
  for (const auto& s : segments_of(pattern)) {
    path += '/';
    if (is_param(s)) {
      path += "p%2D" + std::to_string(params.size());
      params.push_back("p-" + std::to_string(params.size()));
    } else {
      path += s;
    }
  }
  return path;
}

/// The methods of every entry with `pattern`, in list order.
std::vector<std::string> methods_of(std::string_view pattern) {
  std::vector<std::string> out;
  for (const auto& d : http::routes()) {
    if (d.pattern == pattern) {
      out.emplace_back(d.method);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& methods) {
  std::string out;
  for (const auto& m : methods) {
    out += (out.empty() ? "" : ", ") + m;
  }
  return out;
}

}  // namespace

TEST_CASE("every entry of the handler list is reached by its own pattern", "[http][routes]") {
  REQUIRE_FALSE(http::routes().empty());
  for (const auto& def : http::routes()) {
    std::vector<std::string> params;
    const std::string path = sample_path(def.pattern, params);
    INFO(def.method << " " << path << " (" << def.name << ")");
    const std::string target = path + "?q=1";  // the route's query is a view into it
    auto r = http::match_route(def.method, target);
    REQUIRE(r.def == &def);
    CHECK(r.params == params);
    CHECK(r.query == "q=1");
    // The absolute form reaches it too.
    CHECK(http::match_route(def.method, "https://gw.example" + path).def == &def);
  }
}

TEST_CASE("a method no entry of a path has is 405 with that path's methods in Allow",
          "[http][routes]") {
  const std::vector<std::string> methods{"GET",   "POST", "PUT",     "DELETE",
                                         "PATCH", "HEAD", "OPTIONS", "CONNECT"};
  std::set<std::string_view> patterns;
  for (const auto& def : http::routes()) {
    patterns.insert(def.pattern);
  }
  for (auto pattern : patterns) {
    std::vector<std::string> params;
    const std::string path = sample_path(pattern, params);
    const auto allowed = methods_of(pattern);
    const std::string allow = joined(allowed);
    for (const auto& method : methods) {
      INFO(method << " " << path);
      auto r = http::match_route(method, path);
      if (std::find(allowed.begin(), allowed.end(), method) != allowed.end()) {
        REQUIRE(r.def != nullptr);
        CHECK(r.def->method == method);
        CHECK(r.def->pattern == pattern);
        continue;
      }
      CHECK(r.def == nullptr);
      CHECK(r.err.code == errc::method_not_allowed);
      CHECK(r.allow == allow);
      CHECK(r.err.message == method + " is not allowed here; use " + allow);
    }
  }
}

TEST_CASE("no two patterns of the handler list match the same path", "[http][routes]") {
  // Two patterns of as many segments overlap unless some segment is a different literal in
  // each; the 405 logic (one Allow per pattern) relies on there being none.
  std::set<std::string_view> patterns;
  for (const auto& def : http::routes()) {
    patterns.insert(def.pattern);
  }
  for (auto a : patterns) {
    for (auto b : patterns) {
      if (a >= b) {
        continue;
      }
      auto sa = segments_of(a);
      auto sb = segments_of(b);
      if (sa.size() != sb.size()) {
        continue;
      }
      bool apart = false;
      for (std::size_t i = 0; i < sa.size(); ++i) {
        // Different literals; or an empty segment ("/console/") against a parameter, which is
        // never empty.
        apart = apart || (!is_param(sa[i]) && !is_param(sb[i]) && sa[i] != sb[i]) ||
                (sa[i].empty() && is_param(sb[i])) || (sb[i].empty() && is_param(sa[i]));
      }
      INFO(a << " and " << b);
      CHECK(apart);
    }
  }
}

TEST_CASE("every API entry carries one actor handler that runs where its call goes",
          "[http][routes]") {
  std::set<std::string_view> names;
  for (const auto& def : http::routes()) {
    INFO(def.method << " " << def.pattern << " (" << def.name << ")");
    CHECK_FALSE(def.name.empty());
    CHECK(names.insert(def.name).second);
    const bool in_tenant = def.api.in_tenant != nullptr;
    const bool in_root = def.api.in_root != nullptr;
    if (def.kind != handler_kind::api) {
      CHECK_FALSE(in_tenant);
      CHECK_FALSE(in_root);
      continue;
    }
    CHECK(in_tenant != in_root);
    if (in_tenant) {
      // The call needs a tenant: the token's, or the one the platform's path names.
      const bool tenant_known =
          def.who == access::token ||
          (def.who == access::platform && def.pattern.rfind("/webhooks/{tenant}/", 0) == 0);
      CHECK(tenant_known);
    } else {
      CHECK(def.who == access::open);  // nothing names a tenant: the root serves it
    }
  }
}

TEST_CASE("API entries are bound to the handlers of their operations", "[http][routes]") {
  auto handler = [](std::string_view method, std::string_view target) {
    auto r = http::match_route(method, target);
    INFO(method << " " << target << ": " << r.err.message);
    REQUIRE(r.def != nullptr);
    REQUIRE(r.def->kind == handler_kind::api);
    return r.def->api;
  };
  CHECK(handler("GET", "/v1/subjects/s").in_tenant == &actors::export_subject);
  CHECK(handler("DELETE", "/v1/subjects/s").in_tenant == &actors::erase_subject);
  CHECK(handler("PUT", "/v1/subjects/s/consent").in_tenant == &actors::put_consent);
  CHECK(handler("POST", "/v1/subjects/s/restrict").in_tenant == &actors::restrict_subject);
  CHECK(handler("GET", "/v1/audit").in_tenant == &actors::list_audit);
  CHECK(handler("GET", "/v1/deletion-status/del_1").in_root == &actors::deletion_status);
  CHECK(handler("POST", "/webhooks/acme/fb/data-deletion").in_tenant ==
        &actors::meta_data_deletion);
  CHECK(handler("POST", "/v1/messages").in_tenant == &actors::send_message);
  CHECK(handler("GET", "/v1/messages/out_1").in_tenant == &actors::get_message);
  CHECK(handler("GET", "/v1/quarantine").in_tenant == &actors::list_quarantine);
  CHECK(handler("DELETE", "/v1/quarantine").in_tenant == &actors::purge_quarantine_of_channel);
  CHECK(handler("GET", "/v1/quarantine/1").in_tenant == &actors::get_quarantined);
  CHECK(handler("DELETE", "/v1/quarantine/1").in_tenant == &actors::purge_quarantined);
  CHECK(handler("POST", "/v1/quarantine/1/reingest").in_tenant == &actors::reingest_quarantined);
  CHECK(handler("POST", "/v1/subscribers/hook/enable").in_tenant == &actors::enable_subscriber);
}

TEST_CASE("a parameter that decodes to a slash matches only the webhook routes", "[http][routes]") {
  // A webhook's tenant and channel are looked up as given: an unknown one gets the one
  // unknown-endpoint answer, whatever its shape.
  auto webhook = http::match_route("POST", "/webhooks/a%2Fb/tg");
  REQUIRE(webhook.def != nullptr);
  CHECK(webhook.def->kind == handler_kind::webhook);
  CHECK(webhook.params == std::vector<std::string>{"a/b", "tg"});
  for (const char* target : {"/v1/subjects/a%2Fb", "/v1/quarantine/1%2F2",
                             "/webhooks/a%2Fb/tg/data-deletion", "/v1/subscribers/a%2Fb/redrive"}) {
    INFO(target);
    auto r = http::match_route("POST", target);
    CHECK(r.def == nullptr);
    CHECK(r.err.code == errc::not_found);
  }
}

TEST_CASE("only the probes, the deletion-status page, static files, the API document, platform "
          "and visitor routes need no bearer token",
          "[http][routes]") {
  // A route added to the list needs a token unless it is named here: one that is open by mistake
  // fails this test. Visitor routes carry a web chat session token instead (checked by the
  // visitor gate, tests/e2e/webchat_test.cpp), but to start a session.
  const std::set<std::string_view> without_token{
      "OPTIONS /chat/{tenant}/{channel}/sessions",
      "POST /chat/{tenant}/{channel}/sessions",
      "OPTIONS /chat/{tenant}/{channel}/messages",
      "POST /chat/{tenant}/{channel}/messages",
      "OPTIONS /chat/{tenant}/{channel}/read",
      "POST /chat/{tenant}/{channel}/read",
      "GET /chat/{tenant}/{channel}/stream",
      "GET /chat/{tenant}/{channel}/widget.js",
      "GET /console/",
      "GET /console/{file}",
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",  // its own token when server.metrics.token_sha256 is set
      "GET /v1/deletion-status/{code}",
      "GET /v1/openapi.json",
      "GET /webhooks/{tenant}/{channel}",
      "POST /webhooks/{tenant}/{channel}",
      "POST /webhooks/{tenant}/{channel}/data-deletion",
  };
  for (const auto& def : http::routes()) {
    const std::string key = std::string(def.method) + " " + std::string(def.pattern);
    INFO(key);
    const bool bearer =
        def.who == access::token || def.who == access::subscriber || def.who == access::operator_;
    CHECK(bearer != (without_token.count(key) == 1));
    // The control plane is for operators only (a subscriber's token, any scope, is 403).
    CHECK((def.pattern.rfind("/v1/admin/", 0) == 0) == (def.who == access::operator_));
    if (def.who == access::platform) {
      CHECK(def.pattern.rfind("/webhooks/{tenant}/{channel}", 0) == 0);  // verified per channel
    }
  }
}

// The OpenAPI document (docs/openapi.json, compiled in and served as GET /v1/openapi.json)
// against the handler list (src/http/routes.hpp): every route is documented, every documented
// operation is a route, and each carries its route's name, credentials and path parameters. A
// route added to the list without its documentation (or the reverse) fails here. The document's
// schemas are checked against the real answers by tests/contract/openapi.test.mjs (docs/api.md).
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "http/assets.hpp"
#include "http/routes.hpp"

using namespace sb;
using http::access;

namespace {

/// The methods an OpenAPI path item may hold, as its keys spell them.
const std::set<std::string> k_methods{"get",     "put",  "post",  "delete",
                                      "options", "head", "patch", "trace"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

const char* access_name(access a) {
  switch (a) {
    case access::open:
      return "open";
    case access::platform:
      return "platform";
    case access::metrics:
      return "metrics";
    case access::token:
      return "token";
    case access::subscriber:
      return "subscriber";
    case access::visitor:
      return "visitor";
    case access::operator_:
      return "operator";
  }
  return "?";
}

/// The "{name}" parameters of a pattern, in order.
std::vector<std::string> params_of(std::string_view pattern) {
  std::vector<std::string> out;
  for (auto open = pattern.find('{'); open != std::string_view::npos;
       open = pattern.find('{', open + 1)) {
    auto close = pattern.find('}', open);
    out.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return out;
}

/// A security requirement: scheme name -> scopes.
using requirement = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// One documented operation, as much of it as the handler list can check.
struct operation {
  std::string operation_id;
  std::string x_access;
  std::string x_scope;
  std::set<std::string> path_params;    ///< `parameters` with "in":"path" (inline ones)
  std::vector<std::string> param_refs;  ///< "#/components/parameters/<name>"
  std::vector<requirement> security;
  bool has_security = false;
};

/// The string at `e`; "" when it is absent or not a string.
std::string string_of(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view v;
  return e.get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}
std::string string_of(simdjson::dom::element e) {
  return string_of(simdjson::simdjson_result<simdjson::dom::element>(std::move(e)));
}

/// The compiled-in document, parsed once: "METHOD /path" -> operation, and the path parameters
/// of components.parameters by name.
struct document {
  std::map<std::string, operation> operations;
  std::map<std::string, std::string> component_path_params;  ///< component name -> param name
  std::string error;                                         ///< why it did not parse

  document() {
    const http::asset* a = http::find_asset("docs/openapi.json");
    if (a == nullptr) {
      error = "docs/openapi.json is not compiled in (src/http/CMakeLists.txt)";
      return;
    }
    static simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(a->bytes.data(), a->bytes.size()).get(root) != simdjson::SUCCESS) {
      error = "docs/openapi.json is not JSON";
      return;
    }
    simdjson::dom::object params;
    if (root.at_pointer("/components/parameters").get_object().get(params) == simdjson::SUCCESS) {
      for (auto p : params) {
        if (string_of(p.value["in"]) == "path") {
          component_path_params[std::string(p.key)] = string_of(p.value["name"]);
        }
      }
    }
    simdjson::dom::object paths;
    if (root["paths"].get_object().get(paths) != simdjson::SUCCESS) {
      error = "docs/openapi.json has no paths";
      return;
    }
    for (auto path : paths) {
      simdjson::dom::object item;
      if (path.value.get_object().get(item) != simdjson::SUCCESS) {
        continue;
      }
      for (auto m : item) {
        if (k_methods.count(std::string(m.key)) == 0) {
          continue;  // "parameters", "summary", ...
        }
        operation op;
        op.operation_id = string_of(m.value["operationId"]);
        op.x_access = string_of(m.value["x-access"]);
        op.x_scope = string_of(m.value["x-scope"]);
        simdjson::dom::array list;
        if (m.value["parameters"].get_array().get(list) == simdjson::SUCCESS) {
          for (auto p : list) {
            if (auto r = string_of(p["$ref"]); !r.empty()) {
              op.param_refs.push_back(r);
            } else if (string_of(p["in"]) == "path") {
              op.path_params.insert(string_of(p["name"]));
            }
          }
        }
        simdjson::dom::array security;
        if (m.value["security"].get_array().get(security) == simdjson::SUCCESS) {
          op.has_security = true;
          for (auto item : security) {
            requirement schemes;
            simdjson::dom::object req;
            if (item.get_object().get(req) == simdjson::SUCCESS) {
              for (auto scheme : req) {
                std::vector<std::string> scopes;
                simdjson::dom::array names;
                if (scheme.value.get_array().get(names) == simdjson::SUCCESS) {
                  for (auto n : names) {
                    scopes.push_back(string_of(n));
                  }
                }
                schemes.emplace_back(std::string(scheme.key), std::move(scopes));
              }
            }
            op.security.push_back(std::move(schemes));
          }
        }
        operations[upper(m.key) + " " + std::string(path.key)] = std::move(op);
      }
    }
  }

  /// The path parameters `op` declares, its $refs resolved.
  std::set<std::string> path_params(const operation& op) const {
    std::set<std::string> out = op.path_params;
    const std::string prefix = "#/components/parameters/";
    for (const auto& r : op.param_refs) {
      if (r.rfind(prefix, 0) == 0) {
        auto it = component_path_params.find(r.substr(prefix.size()));
        if (it != component_path_params.end()) {
          out.insert(it->second);
        }
      }
    }
    return out;
  }
};

const document& doc() {
  static const document d;
  return d;
}

std::string key_of(const http::route_def& def) {
  return std::string(def.method) + " " + std::string(def.pattern);
}

}  // namespace

TEST_CASE("every route of the handler list is in the OpenAPI document and nothing else is",
          "[http][openapi]") {
  const auto& d = doc();
  INFO(d.error);
  REQUIRE(d.error.empty());
  std::set<std::string> routes;
  for (const auto& def : http::routes()) {
    routes.insert(key_of(def));
  }
  // CORS preflights are routes of the list (OPTIONS .../sessions, ...) and documented as such:
  // nothing is excluded.
  for (const auto& r : routes) {
    INFO("a route of src/http/routes.cpp missing from docs/openapi.json: " << r);
    CHECK(d.operations.count(r) == 1);
  }
  for (const auto& [key, op] : d.operations) {
    INFO("an operation of docs/openapi.json that is no route of src/http/routes.cpp: " << key);
    CHECK(routes.count(key) == 1);
  }
}

TEST_CASE("each documented operation carries its route's name credentials and path parameters",
          "[http][openapi]") {
  const auto& d = doc();
  REQUIRE(d.error.empty());
  for (const auto& def : http::routes()) {
    auto it = d.operations.find(key_of(def));
    if (it == d.operations.end()) {
      continue;  // reported by the test above
    }
    const operation& op = it->second;
    INFO(key_of(def));
    CHECK(op.operation_id == def.name);
    CHECK(op.x_access == access_name(def.who));
    // Every operation states its security: none for the open, platform and session-starting
    // routes, the bearer scheme with the route's scope for the token routes.
    REQUIRE(op.has_security);
    switch (def.who) {
      case access::token: {
        CHECK(op.x_scope == sb::config::scope_name(def.scope));
        REQUIRE(op.security.size() == 1);
        REQUIRE(op.security[0].size() == 1);
        CHECK(op.security[0][0].first == "bearer");
        CHECK(op.security[0][0].second ==
              std::vector<std::string>{sb::config::scope_name(def.scope)});
        break;
      }
      case access::subscriber: {
        // `admin`, or the subscriber's own token with `stream`.
        CHECK(op.x_scope == "admin");
        REQUIRE(op.security.size() == 2);
        CHECK(op.security[0] == requirement{{"bearer", {"admin"}}});
        CHECK(op.security[1] == requirement{{"bearer", {"stream"}}});
        break;
      }
      case access::open:
      case access::platform:
        CHECK(op.x_scope.empty());
        CHECK(op.security.empty());
        break;
      case access::metrics:
        // Open unless server.metrics.token_sha256 is set: `{}` or the metrics token.
        CHECK(op.security.size() == 2);
        break;
      case access::operator_:
        // An operator's bearer token: no scope (operators have every one).
        CHECK(op.x_scope.empty());
        REQUIRE(op.security.size() == 1);
        REQUIRE(op.security[0].size() == 1);
        CHECK(op.security[0][0].first == "bearer");
        CHECK(op.security[0][0].second.empty());
        break;
      case access::visitor:
        // Starting a session needs no token; every other visitor call the session's.
        if (def.kind == http::handler_kind::visitor_session) {
          CHECK(op.security.empty());
        } else {
          CHECK_FALSE(op.security.empty());
          for (const auto& req : op.security) {
            REQUIRE(req.size() == 1);
            CHECK(lower(req[0].first).find("visitor") == 0);
          }
        }
        break;
    }
    const auto wanted = params_of(def.pattern);
    CHECK(d.path_params(op) == std::set<std::string>(wanted.begin(), wanted.end()));
  }
}

TEST_CASE("the API document is served from the main listener without a token", "[http][openapi]") {
  auto r = http::match_route("GET", "/v1/openapi.json");
  REQUIRE(r.def != nullptr);
  CHECK(r.def->kind == http::handler_kind::api_document);
  CHECK(r.def->who == access::open);
  CHECK(r.def->where == http::served_on::main);
  const http::asset* a = http::find_asset("docs/openapi.json");
  REQUIRE(a != nullptr);
  CHECK(a->content_type == "application/json");
  CHECK(a->bytes.find("\"openapi\": \"3.1.0\"") != std::string_view::npos);
}

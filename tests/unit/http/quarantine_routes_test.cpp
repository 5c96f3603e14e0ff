// The quarantine's and the subscriber-enable routes in the handler list (`http::routes()`):
// admin scope, their operations and handlers and parameters, and that the dead-letter routes
// beside them still route as before.
#include <catch2/catch.hpp>

#include "actors/api_handlers.hpp"
#include "http/router.hpp"

using namespace sb;

namespace {

http::route api(std::string_view method, std::string_view target) {
  auto r = http::match_route(method, target);
  INFO(method << " " << target << ": " << r.err.message);
  REQUIRE(r.def != nullptr);
  REQUIRE(r.def->kind == http::handler_kind::api);
  CHECK(r.def->who == http::access::token);
  CHECK(r.def->scope == config::scope::admin);
  return r;
}

}  // namespace

TEST_CASE("quarantine and subscriber-enable routes need the admin scope and name their op",
          "[http][quarantine]") {
  auto list = api("GET", "/v1/quarantine?channel=tg&after=3");
  CHECK(list.def->name == "quarantine.list");
  CHECK(list.def->api.in_tenant == &actors::list_quarantine);
  CHECK(list.query == "channel=tg&after=3");
  CHECK(api("DELETE", "/v1/quarantine?channel=tg").def->name == "quarantine.purge_channel");
  auto one = api("GET", "/v1/quarantine/17?meta");
  CHECK(one.def->name == "quarantine.get");
  CHECK(one.params == std::vector<std::string>{"17"});
  CHECK(api("DELETE", "/v1/quarantine/17").def->name == "quarantine.purge");
  auto again = api("POST", "/v1/quarantine/17/reingest");
  CHECK(again.def->name == "quarantine.reingest");
  CHECK(again.params == std::vector<std::string>{"17"});
  auto enable = api("POST", "/v1/subscribers/hook%2D1/enable");
  CHECK(enable.def->name == "subscriber.enable");
  CHECK(enable.def->api.in_tenant == &actors::enable_subscriber);
  CHECK(enable.params == std::vector<std::string>{"hook-1"});
  CHECK(enable.def->pattern == "/v1/subscribers/{name}/enable");

  auto wrong = http::match_route("PUT", "/v1/quarantine/17");
  CHECK(wrong.err.code == errc::method_not_allowed);
  CHECK(wrong.allow == "GET, DELETE");
  CHECK(http::match_route("GET", "/v1/subscribers/hook/enable").err.code ==
        errc::method_not_allowed);
  // The dead-letter routes are not API routes and are untouched.
  auto redrive = http::match_route("POST", "/v1/subscribers/hook/redrive");
  REQUIRE(redrive.def != nullptr);
  CHECK(redrive.def->kind == http::handler_kind::redrive);
  auto letters = http::match_route("GET", "/v1/subscribers/hook/dead-letters");
  REQUIRE(letters.def != nullptr);
  CHECK(letters.def->kind == http::handler_kind::dead_letters);
}

// The quarantine's and the subscriber-enable routes in `http::api_routes()`: admin scope, their
// ops and parameters, and that the dead-letter routes beside them still route as before.
#include <catch2/catch.hpp>

#include "http/router.hpp"

using namespace sb;

namespace {

http::route api(std::string_view method, std::string_view target) {
  auto r = http::match_route(method, target);
  INFO(method << " " << target << ": " << r.err.message);
  REQUIRE(r.kind == http::route_kind::api);
  CHECK(r.api->scope == static_cast<unsigned>(config::scope::admin));
  return r;
}

}  // namespace

TEST_CASE("quarantine and subscriber-enable routes need the admin scope and name their op",
          "[http][quarantine]") {
  auto list = api("GET", "/v1/quarantine?channel=tg&after=3");
  CHECK(list.api->op == "quarantine.list");
  CHECK(list.query == "channel=tg&after=3");
  CHECK(api("DELETE", "/v1/quarantine?channel=tg").api->op == "quarantine.purge_channel");
  auto one = api("GET", "/v1/quarantine/17?meta");
  CHECK(one.api->op == "quarantine.get");
  CHECK(one.params == std::vector<std::string>{"17"});
  CHECK(api("DELETE", "/v1/quarantine/17").api->op == "quarantine.purge");
  auto again = api("POST", "/v1/quarantine/17/reingest");
  CHECK(again.api->op == "quarantine.reingest");
  CHECK(again.params == std::vector<std::string>{"17"});
  auto enable = api("POST", "/v1/subscribers/hook%2D1/enable");
  CHECK(enable.api->op == "subscriber.enable");
  CHECK(enable.params == std::vector<std::string>{"hook-1"});
  CHECK(enable.api->metric == "/v1/subscribers/{name}/enable");

  auto wrong = http::match_route("PUT", "/v1/quarantine/17");
  CHECK(wrong.err.code == errc::method_not_allowed);
  CHECK(wrong.allow == "GET, DELETE");
  CHECK(http::match_route("GET", "/v1/subscribers/hook/enable").err.code ==
        errc::method_not_allowed);
  // The dead-letter routes are not API routes and are untouched.
  CHECK(http::match_route("POST", "/v1/subscribers/hook/redrive").kind ==
        http::route_kind::redrive);
  CHECK(http::match_route("GET", "/v1/subscribers/hook/dead-letters").kind ==
        http::route_kind::dead_letters);
}

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "http/request_log.hpp"

using sb::http::new_request_id;
using sb::http::request_id_for;
using sb::http::valid_request_id;

TEST_CASE("a client's request id is kept when it is 1 to 128 visible ASCII characters",
          "[request_id]") {
  CHECK(valid_request_id("abc-123"));
  CHECK(valid_request_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
  CHECK(valid_request_id(std::string(128, 'x')));
  CHECK(request_id_for("trace/42:a_b.c") == "trace/42:a_b.c");
}

TEST_CASE("a request id that is empty too long or not printable is replaced", "[request_id]") {
  CHECK_FALSE(valid_request_id(""));
  CHECK_FALSE(valid_request_id(std::string(129, 'x')));
  CHECK_FALSE(valid_request_id("has space"));
  CHECK_FALSE(valid_request_id("line\nbreak"));
  CHECK_FALSE(valid_request_id("tab\t"));
  CHECK_FALSE(valid_request_id("del\x7f"));
  CHECK_FALSE(valid_request_id("caf\xc3\xa9"));
  CHECK_FALSE(valid_request_id(std::string("nul\0", 4)));
  const std::string replaced = request_id_for("evil\r\nSet-Cookie: x=1");
  CHECK(replaced.find("evil") == std::string::npos);
  CHECK(valid_request_id(replaced));
}

TEST_CASE("generated request ids are valid unique and share the process prefix", "[request_id]") {
  std::set<std::string> seen;
  std::string prefix;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_request_id();
    CHECK(valid_request_id(id));
    const auto dash = id.find('-');
    REQUIRE(dash == 16);
    if (prefix.empty()) {
      prefix = id.substr(0, dash);
    }
    CHECK(id.substr(0, dash) == prefix);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
  CHECK(request_id_for("").rfind(prefix + "-", 0) == 0);
}

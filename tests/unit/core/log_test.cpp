#include <catch2/catch.hpp>

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/log.hpp"

namespace {

using sb::log::field;
using sb::log::format;
using sb::log::format_line;
using sb::log::level;

// 2026-12-04T16:46:50.123Z
constexpr std::int64_t k_ms = 1796402810123;

/// Parses one JSON log line (without its '\n'); fails the test when it is not valid JSON.
simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  simdjson::dom::element doc;
  auto error = p.parse(line.data(), line.size() - 1).get(doc);
  INFO(line);
  REQUIRE(error == simdjson::SUCCESS);
  return doc;
}

std::string text_of(simdjson::dom::element e, const char* key) {
  std::string_view v;
  REQUIRE(e[key].get(v) == simdjson::SUCCESS);
  return std::string(v);
}

}  // namespace

TEST_CASE("a text line keeps the format existing log readers know", "[log]") {
  CHECK(format_line(format::text, k_ms, level::warn, "store", "disk is slow") ==
        "2026-12-04T16:46:50.123Z WARN store: disk is slow\n");
}

TEST_CASE("text fields follow the message as key=value and odd values are quoted", "[log]") {
  const std::string line =
      format_line(format::text, k_ms, level::info, "http", "request",
                  {{"status", 200}, {"route", "/v1/events"}, {"tenant", ""}, {"x", "a b=\"c\""}});
  CHECK(line ==
        "2026-12-04T16:46:50.123Z INFO http: request status=200 route=/v1/events tenant=\"\" "
        "x=\"a b=\\\"c\\\"\"\n");
}

TEST_CASE("a JSON line has ts level component msg and the fields in order", "[log]") {
  simdjson::dom::parser p;
  const std::string line = format_line(
      format::json, k_ms, level::error, "subscriber", "push attempt got no response",
      {{"cause", "refused"}, {"seq", std::uint64_t{18446744073709551615ull}}, {"delta", -5}});
  CHECK(line.rfind("{\"ts\":\"2026-12-04T16:46:50.123Z\",\"level\":\"error\","
                   "\"component\":\"subscriber\",\"msg\":\"push attempt got no response\","
                   "\"cause\":\"refused\",",
                   0) == 0);
  auto doc = parse(p, line);
  CHECK(text_of(doc, "level") == "error");
  CHECK(text_of(doc, "cause") == "refused");
  std::uint64_t seq = 0;
  REQUIRE(doc["seq"].get(seq) == simdjson::SUCCESS);
  CHECK(seq == 18446744073709551615ull);
  std::int64_t delta = 0;
  REQUIRE(doc["delta"].get(delta) == simdjson::SUCCESS);
  CHECK(delta == -5);
}

TEST_CASE("every level has its lower-case JSON name", "[log]") {
  simdjson::dom::parser p;
  CHECK(text_of(parse(p, format_line(format::json, k_ms, level::debug, "c", "m")), "level") ==
        "debug");
  CHECK(text_of(parse(p, format_line(format::json, k_ms, level::info, "c", "m")), "level") ==
        "info");
  CHECK(text_of(parse(p, format_line(format::json, k_ms, level::warn, "c", "m")), "level") ==
        "warn");
}

TEST_CASE("a JSON line stays one valid line whatever bytes the message and fields hold", "[log]") {
  simdjson::dom::parser p;
  std::string nasty = "quote\" backslash\\ newline\n cr\r tab\t nul";
  nasty.push_back('\0');
  nasty += " bell\x07 del\x7f";
  const std::string invalid_utf8 = "bad \xff\xfe lone \xc3 end";
  const std::string valid_utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  const std::string line = format_line(format::json, k_ms, level::info, "http\n\"x", nasty,
                                       {{"k\"ey", invalid_utf8}, {"ok", valid_utf8}});
  auto doc = parse(p, line);  // also checks: no raw '\n' inside the line
  CHECK(text_of(doc, "msg") == nasty);
  CHECK(text_of(doc, "component") == "http\n\"x");
  CHECK(text_of(doc, "k\"ey") == "bad \xef\xbf\xbd\xef\xbf\xbd lone \xef\xbf\xbd end");
  CHECK(text_of(doc, "ok") == valid_utf8);
}

TEST_CASE("the format is process-wide and text by default", "[log]") {
  CHECK(sb::log::current_format() == format::text);
  sb::log::set_format(format::json);
  CHECK(sb::log::current_format() == format::json);
  sb::log::set_format(format::text);
  CHECK(sb::log::current_format() == format::text);
}

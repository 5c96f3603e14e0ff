#include <catch2/catch.hpp>

#include <string>

#include "loadtest/sse_count.hpp"

using sb::loadtest::sse_counter;

namespace {
// Two frames as the gateway writes them, and a keep-alive comment between them.
const std::string k_body =
    "id: 41\nevent: message.received\ndata: {\"seq\":41,\"type\":\"message.received\","
    "\"text\":\"id: 99 is not a line of its own\"}\n\n"
    ": keep-alive\n\n"
    "id: 42\nevent: message.received\ndata: {\"seq\":42}\n\n";
}  // namespace

TEST_CASE("the SSE counter counts id lines, whole or split anywhere") {
  for (std::size_t cut = 0; cut <= k_body.size(); ++cut) {
    sse_counter c;
    c.feed(std::string_view(k_body).substr(0, cut));
    c.feed(std::string_view(k_body).substr(cut));
    INFO("split at " << cut);
    CHECK(c.events() == 2);
    CHECK(c.last_id() == 42);
  }
  sse_counter bytewise;
  for (char ch : k_body) {
    bytewise.feed(std::string_view(&ch, 1));
  }
  CHECK(bytewise.events() == 2);
}

TEST_CASE("the SSE counter ignores data, comments, unfinished and malformed id lines") {
  sse_counter c;
  c.feed("data: id: 7\n: id: 8\nid: x9\nid:\nid: 12345678901234567890123456789012345\n");
  CHECK(c.events() == 0);
  c.feed("id:5\r\n");  // no space after the colon, CRLF line end: both allowed by the SSE spec
  CHECK(c.events() == 1);
  CHECK(c.last_id() == 5);
  c.feed("id: 6");  // no newline yet: not counted
  CHECK(c.events() == 1);
  c.feed("\n");
  CHECK(c.events() == 2);
  CHECK(c.last_id() == 6);
}

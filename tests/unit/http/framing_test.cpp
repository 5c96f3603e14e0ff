// Strict request framing (src/http/framing.hpp, issue 10 row 7: request smuggling).
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "http/framing.hpp"

using sb::errc;
using sb::http::check_framing;
using te = std::vector<std::string_view>;

TEST_CASE("a request without Transfer-Encoding is framed by Content-Length or has no body",
          "[http][framing]") {
  CHECK(check_framing({}, true).ok());
  CHECK(check_framing({}, false).ok());
  CHECK(check_framing({}, true, true).ok());  // HTTP/1.0 with Content-Length
}

TEST_CASE("exactly one Transfer-Encoding of exactly chunked is accepted, in any case",
          "[http][framing]") {
  CHECK(check_framing(te{"chunked"}, false).ok());
  CHECK(check_framing(te{"Chunked"}, false).ok());
  CHECK(check_framing(te{"CHUNKED"}, false).ok());
  CHECK(check_framing(te{" chunked\t"}, false).ok());  // optional whitespace around the value
}

TEST_CASE("any other Transfer-Encoding is refused with 400 bad_request", "[http][framing]") {
  for (std::string_view value :
       {"chunked, identity", "identity, chunked", "gzip, chunked", "chunked, chunked", "chunked,",
        ",chunked", "identity", "gzip", "", " ", "chunked;q=1", "chunked\x0b", "xchunked", "chunke",
        "chunked chunked"}) {
    INFO("Transfer-Encoding: '" << value << "'");
    auto st = check_framing(te{value}, false);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == errc::bad_request);
    CHECK_FALSE(st.err().message.empty());
  }
}

TEST_CASE("two Transfer-Encoding fields are refused even when each says chunked",
          "[http][framing]") {
  CHECK_FALSE(check_framing(te{"chunked", "chunked"}, false).ok());
  CHECK_FALSE(check_framing(te{"identity", "chunked"}, false).ok());
}

TEST_CASE("Transfer-Encoding with Content-Length is refused rather than one of them ignored",
          "[http][framing]") {
  auto st = check_framing(te{"chunked"}, true);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == errc::bad_request);
  CHECK(st.err().message.find("Content-Length") != std::string::npos);
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is refused", "[http][framing]") {
  CHECK_FALSE(check_framing(te{"chunked"}, false, true).ok());
}

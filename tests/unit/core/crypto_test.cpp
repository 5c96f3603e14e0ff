#include <catch2/catch.hpp>

#include "core/crypto.hpp"

using namespace sb::crypto;

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2", "[crypto]") {
  auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  CHECK(to_hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("SHA-256 of abc", "[crypto]") {
  CHECK(to_hex(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("base64 round trips and rejects garbage", "[crypto]") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto enc = base64_encode(s);
    auto dec = base64_decode(enc);
    REQUIRE(dec);
    CHECK(*dec == s);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm9v!mFy"));
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff", 2));
}

TEST_CASE("hex decoding accepts both cases and rejects odd lengths", "[crypto]") {
  CHECK(from_hex("0aFF") == std::string("\x0a\xff", 2));
  CHECK_FALSE(from_hex("abc"));
  CHECK_FALSE(from_hex("zz"));
}

TEST_CASE("constant_time_equal compares content and length", "[crypto]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK(constant_time_equal("", ""));
}

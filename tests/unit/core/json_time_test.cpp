#include <catch2/catch.hpp>

#include "core/event.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/url.hpp"

using namespace sb;

TEST_CASE("JSON strings escape controls and repair invalid UTF-8", "[json]") {
  std::string out;
  json::append_string(out, "a\"b\\c\n\x01 é 😀 \xff");
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001 é 😀 \xef\xbf\xbd\"");
}

TEST_CASE("RFC 3339 formatting keeps milliseconds only when the source had them", "[time]") {
  CHECK(to_rfc3339(timestamp::from_seconds(1749416383)) == "2025-06-08T20:59:43Z");
  CHECK(to_rfc3339(timestamp::from_millis(1749416383123)) == "2025-06-08T20:59:43.123Z");
}

TEST_CASE("RFC 3339 parsing honours offsets and fractions", "[time]") {
  auto t = parse_rfc3339("2024-01-01T12:00:00-05:00");
  REQUIRE(t);
  CHECK(to_rfc3339(*t) == "2024-01-01T17:00:00Z");
  auto f = parse_rfc3339("2025-06-08T20:59:43.5Z");
  REQUIRE(f);
  CHECK(f->unix_ms == 1749416383500);
  CHECK(f->has_ms);
  CHECK_FALSE(parse_rfc3339("2025-06-08 nonsense"));
  CHECK_FALSE(parse_rfc3339("2025-13-08T20:59:43Z"));
}

TEST_CASE("Unix times in seconds and milliseconds are told apart", "[time]") {
  CHECK(parse_unix_auto("1749416383")->unix_ms == 1749416383000);
  CHECK(parse_unix_auto("1458692752478")->unix_ms == 1458692752478);
  CHECK_FALSE(parse_unix_auto("12a"));
}

TEST_CASE("event ids are prefixed ULIDs, unique and increasing", "[ids]") {
  auto a = ids::event_id();
  auto b = ids::event_id();
  CHECK(a.size() == 30);
  CHECK(a.rfind("evt_", 0) == 0);
  CHECK(a < b);
}

TEST_CASE("subject ids are stable per tenant key and differ across tenants", "[ids]") {
  auto s1 = ids::subject_id("key-a", "whatsapp", "1065", "16505551234");
  CHECK(s1 == ids::subject_id("key-a", "whatsapp", "1065", "16505551234"));
  CHECK(s1 != ids::subject_id("key-b", "whatsapp", "1065", "16505551234"));
  CHECK(s1.size() == 20);
}

TEST_CASE("query parameters are percent-decoded", "[url]") {
  CHECK(url::query_param("hub.mode=subscribe&hub.challenge=a%20b+c", "hub.challenge") ==
        std::string("a b c"));
  CHECK_FALSE(url::query_param("a=1", "b"));
  CHECK_FALSE(url::query_param("a=%zz", "a"));
}

TEST_CASE("path segments are percent-decoded with '+' kept literal", "[url]") {
  CHECK(url::decode_segment("ac%6De+x") == std::string("acme+x"));
  CHECK(url::decode("ac%6De+x") == std::string("acme x"));
  CHECK_FALSE(url::decode_segment("a%zz"));
  CHECK_FALSE(url::decode_segment("a%2"));
}

TEST_CASE("a raw query parameter tells absent from bare and keeps escapes", "[url]") {
  CHECK(url::raw_query_param("a=1&b=%zz", "b") == std::string_view("%zz"));
  CHECK(url::raw_query_param("a&b=2", "a") == std::string_view(""));
  CHECK_FALSE(url::raw_query_param("a=1", "ab"));
  CHECK(url::raw_query_param("a=1&a=2", "a") == std::string_view("1"));
}

TEST_CASE("API query numbers: after and limit keep their default when absent, limit is clamped",
          "[url]") {
  CHECK(url::parse_u64("18446744073709551615") == 18446744073709551615ull);
  for (const char* bad : {"", "-1", " 1", "1e3", "18446744073709551616", "0x10"}) {
    CAPTURE(bad);
    CHECK_FALSE(url::parse_u64(bad));
  }
  CHECK_FALSE(url::decoded_query_param("a=1", "b")->has_value());
  CHECK(url::decoded_query_param("b=x%2Dy", "b")->value() == "x-y");
  CHECK(url::decoded_query_param("b=%zz", "b").err().code == errc::bad_request);

  std::uint64_t after = 7;
  std::size_t limit = 100;
  REQUIRE(url::parse_after_param("types=message", after).ok());
  REQUIRE(url::parse_limit_param("types=message", 1000, limit).ok());
  CHECK(after == 7);
  CHECK(limit == 100);
  REQUIRE(url::parse_after_param("after=12&limit=5000", after).ok());
  REQUIRE(url::parse_limit_param("after=12&limit=5000", 1000, limit).ok());
  CHECK(after == 12);
  CHECK(limit == 1000);
  CHECK(url::parse_after_param("after=x", after).err().message.find("'after'") !=
        std::string::npos);
  CHECK(url::parse_limit_param("limit=0", 1000, limit).err().message ==
        "parameter 'limit' must be an integer from 1 to 1000");
  CHECK(after == 12);
  CHECK(limit == 1000);
}

TEST_CASE("an event renders absent fields as absent", "[event]") {
  event e;
  e.id = "evt_1";
  e.tenant = "acme";
  e.channel = {"wa-main", "whatsapp", "1065"};
  e.type = event_type::message;
  e.content.text = "hi";
  auto j = to_json(e);
  CHECK(j == R"({"id":"evt_1","tenant":"acme","channel":{"name":"wa-main","type":"whatsapp",)"
             R"("account":"1065"},"type":"message","content":{"text":"hi"}})");
}

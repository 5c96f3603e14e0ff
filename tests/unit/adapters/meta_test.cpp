#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "adapters/meta/meta.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

namespace meta = sb::adapters::meta;

namespace {

const std::string k_secret = "meta-app-secret-0123456789";
const std::string k_body = R"({"object":"page","entry":[]})";

/// A request carrying `k_body` and one X-Hub-Signature-256 value (none when empty).
struct hub_request {
  std::string body = sb::test::padded(k_body);
  std::vector<sb::adapters::header> headers;

  explicit hub_request(const std::string& signature) {
    if (!signature.empty()) {
      headers.push_back({"x-hub-signature-256", signature});
    }
  }
  sb::adapters::request req() const {
    sb::adapters::request r;
    r.method = "POST";
    r.headers = &headers;
    r.body = body;
    return r;
  }
};

std::string hex_mac() {
  return sb::crypto::to_hex(sb::crypto::hmac_sha256(k_secret, k_body));
}

std::string upper(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'f') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

sb::errc verify_code(const std::string& signature) {
  hub_request r(signature);
  auto st = meta::verify_signature(r.req(), k_secret);
  return st.ok() ? sb::errc::ok : st.err().code;
}

}  // namespace

TEST_CASE("hub signature accepts lower- and upper-case hex of the body's HMAC", "[meta]") {
  CHECK(verify_code("sha256=" + hex_mac()) == sb::errc::ok);
  CHECK(verify_code("sha256=" + upper(hex_mac())) == sb::errc::ok);
}

TEST_CASE("hub signature distinguishes missing from bad", "[meta]") {
  CHECK(verify_code("") == sb::errc::missing_signature);
  const auto mac = hex_mac();
  // Wrong prefix, truncated, overlong, non-hex, wrong MAC.
  CHECK(verify_code("sha1=" + mac.substr(0, 40)) == sb::errc::bad_signature);
  CHECK(verify_code(mac) == sb::errc::bad_signature);
  CHECK(verify_code("sha256=" + mac.substr(0, 62)) == sb::errc::bad_signature);
  CHECK(verify_code("sha256=" + mac + "00") == sb::errc::bad_signature);
  CHECK(verify_code("sha256=" + std::string(64, 'g')) == sb::errc::bad_signature);
  auto flipped = mac;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  CHECK(verify_code("sha256=" + flipped) == sb::errc::bad_signature);
  CHECK(verify_code("sha256=" + sb::crypto::to_hex(sb::crypto::hmac_sha256("other", k_body))) ==
        sb::errc::bad_signature);
}

TEST_CASE("hub handshake answers the decoded challenge for the right token", "[meta]") {
  const auto digest = sb::crypto::sha256("my verify token");
  auto ok = sb::test::get_request(
      "hub.mode=subscribe&hub.verify_token=my+verify%20token&hub.challenge=abc%2Fdef");
  auto answer = meta::handshake(ok.req(), digest);
  REQUIRE(answer.ok());
  CHECK(answer.value() == "abc/def");

  for (const std::string query :
       {"hub.mode=subscribe&hub.verify_token=my+verify+toke&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=my+verify+token+&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=my+verify+token&hub.challenge=1",
        "hub.verify_token=my+verify+token&hub.challenge=1", "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=my+verify+token", ""}) {
    auto r = sb::test::get_request(query);
    INFO(query);
    CHECK(meta::handshake(r.req(), digest).err().code == sb::errc::handshake_failed);
  }
}

TEST_CASE("meta ids and prices are read as exact text, never through a double", "[meta]") {
  simdjson::dom::parser parser;
  const auto json = sb::test::padded(
      R"({"big":9007199254740993,"max":18446744073709551615,"neg":-42,"s":"0012",)"
      R"("price":7.99,"whole":19,"ts_s":"1749416383","ts_ms":1718630399871,"b":true,"n":null})");
  simdjson::dom::element root;
  REQUIRE(parser.parse(json.data(), json.size(), false).get(root) == simdjson::SUCCESS);
  simdjson::dom::object o;
  REQUIRE(root.get_object().get(o) == simdjson::SUCCESS);
  CHECK(meta::json::text(o, "big") == "9007199254740993");
  CHECK(meta::json::text(o, "max") == "18446744073709551615");
  CHECK(meta::json::text(o, "neg") == "-42");
  CHECK(meta::json::text(o, "s") == "0012");
  CHECK(meta::json::text(o, "price").empty());  // a float is not an id
  CHECK(meta::json::text(o, "n").empty());
  CHECK(meta::json::text(o, "absent").empty());
  CHECK(meta::json::number_text(o, "price") == "7.99");
  CHECK(meta::json::number_text(o, "whole") == "19");
  CHECK(meta::json::flag(o, "b"));
  CHECK_FALSE(meta::json::flag(o, "s"));
  const auto s = meta::json::unix_time(o, "ts_s");
  CHECK(s.unix_ms == 1749416383000);
  CHECK_FALSE(s.has_ms);
  const auto ms = meta::json::unix_time(o, "ts_ms");
  CHECK(ms.unix_ms == 1718630399871);
  CHECK(ms.has_ms);
  CHECK(meta::json::unix_time(o, "s").unix_ms == 12000);
  CHECK(meta::json::unix_time(o, "price").empty());

  meta::json::reader r;
  CHECK_FALSE(r.object(o, "absent"));
  CHECK_FALSE(r.object(o, "n"));
  CHECK(r.ok());
  CHECK_FALSE(r.array(o, "s"));
  CHECK_FALSE(r.ok());
  CHECK(r.problem() == "`s` must be an array");
}

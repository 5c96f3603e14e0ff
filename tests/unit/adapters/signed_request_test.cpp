// Meta's data-deletion callback: `signed_request` built here exactly as Meta builds it (the
// payload JSON base64url-encoded without padding, signed with HMAC-SHA256 under the app secret
// over the encoded payload, the signature base64url-encoded), then verified and decoded.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/meta/signed_request.hpp"
#include "core/crypto.hpp"

namespace {

const std::string k_app_secret = "fb-app-secret-4f2c9a0e1b7d";

/// base64url without padding, as Meta encodes both parts.
std::string b64url(const std::string& bytes) {
  std::string s = sb::crypto::base64_encode(bytes);
  for (auto& c : s) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  return s;
}

std::string sign(const std::string& payload_json, const std::string& secret = k_app_secret) {
  const std::string payload = b64url(payload_json);
  const auto mac = sb::crypto::hmac_sha256(secret, payload);
  return b64url(std::string(reinterpret_cast<const char*>(mac.data()), mac.size())) + "." + payload;
}

// The gateway's clock in these tests: a minute after k_payload's issued_at.
const sb::timestamp k_now = sb::timestamp::from_millis((1291836800LL + 60) * 1000);

const std::string k_payload =
    R"({"algorithm":"HMAC-SHA256","expires":1291840400,"issued_at":1291836800,)"
    R"("user_id":"218471"})";

}  // namespace

TEST_CASE("a signed_request signed with the app secret yields its user id",
          "[meta][signed_request]") {
  auto r = sb::adapters::meta::verify_signed_request(sign(k_payload), k_app_secret, k_now);
  REQUIRE(r);
  CHECK(r->user_id == "218471");
  CHECK(r->issued_at == 1291836800);
}

TEST_CASE("a numeric user id above 2^53 is kept exactly", "[meta][signed_request]") {
  auto r = sb::adapters::meta::verify_signed_request(
      sign(R"({"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":9007199254740993})"),
      k_app_secret, k_now);
  REQUIRE(r);
  CHECK(r->user_id == "9007199254740993");
}

TEST_CASE("a signed_request signed with another secret is refused", "[meta][signed_request]") {
  auto r = sb::adapters::meta::verify_signed_request(sign(k_payload, "another-app-secret"),
                                                     k_app_secret, k_now);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == sb::errc::bad_signature);
}

TEST_CASE("a tampered payload no longer matches its signature", "[meta][signed_request]") {
  auto good = sign(k_payload);
  const auto dot = good.find('.');
  // Same signature, another user: the forgery the check exists for.
  const std::string forged =
      good.substr(0, dot) + "." +
      b64url(R"({"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":"999999"})");
  auto r = sb::adapters::meta::verify_signed_request(forged, k_app_secret, k_now);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == sb::errc::bad_signature);
}

TEST_CASE("a signed_request with another algorithm is refused even when signed",
          "[meta][signed_request]") {
  auto r = sb::adapters::meta::verify_signed_request(
      sign(R"({"algorithm":"HMAC-SHA1","issued_at":1291836800,"user_id":"218471"})"), k_app_secret,
      k_now);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == sb::errc::bad_signature);
  auto none = sb::adapters::meta::verify_signed_request(
      sign(R"({"issued_at":1291836800,"user_id":"218471"})"), k_app_secret, k_now);
  REQUIRE_FALSE(none);
  CHECK(none.err().code == sb::errc::bad_signature);
}

TEST_CASE("malformed signed_request values are refused with a clear code",
          "[meta][signed_request]") {
  using sb::adapters::meta::verify_signed_request;
  for (const std::string bad : {"", ".", "abc", "abc.", ".abc", "!!!.e30", "c2ln.e30"}) {
    CAPTURE(bad);
    auto r = verify_signed_request(bad, k_app_secret, k_now);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == sb::errc::bad_signature);
  }
  // Correctly signed, but not what Meta sends: the signature held, the content is wrong.
  auto not_json = verify_signed_request(sign("not json"), k_app_secret, k_now);
  REQUIRE_FALSE(not_json);
  CHECK(not_json.err().code == sb::errc::malformed_body);
  auto no_user = verify_signed_request(sign(R"({"algorithm":"HMAC-SHA256"})"), k_app_secret, k_now);
  REQUIRE_FALSE(no_user);
  CHECK(no_user.err().code == sb::errc::malformed_body);
}

TEST_CASE("the signed_request field is read from the form body", "[meta][signed_request]") {
  using sb::adapters::meta::signed_request_field;
  const auto value = sign(k_payload);
  auto plain = signed_request_field("signed_request=" + value);
  REQUIRE(plain);
  CHECK(*plain == value);
  // Form-encoded by a client that escapes more than it must; other fields are ignored.
  std::string escaped = value;
  escaped.replace(escaped.find('.'), 1, "%2E");
  auto decoded = signed_request_field("foo=bar&signed_request=" + escaped);
  REQUIRE(decoded);
  CHECK(*decoded == value);
  for (const std::string bad : {"", "signed_request=", "other=1", "signed_request=%zz"}) {
    CAPTURE(bad);
    auto r = signed_request_field(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == sb::errc::bad_request);
    CHECK(r.err().message.find("signed_request") != std::string::npos);
  }
}

TEST_CASE("a signed_request older than an hour or from the future is refused as stale",
          "[meta][signed_request]") {
  using sb::adapters::meta::verify_signed_request;
  const std::int64_t now_s = 1700000000;
  const auto now = sb::timestamp::from_millis(now_s * 1000);
  auto issued = [](std::int64_t at) {
    return sign(R"({"algorithm":"HMAC-SHA256","issued_at":)" + std::to_string(at) +
                R"(,"user_id":"218471"})");
  };
  // Fresh: from an hour ago to five minutes ahead (clock skew).
  for (std::int64_t at : {now_s, now_s - 3600, now_s + 300}) {
    CAPTURE(at);
    auto r = verify_signed_request(issued(at), k_app_secret, now);
    REQUIRE(r);
    CHECK(r->issued_at == at);
  }
  // Stale: 1970, a second past the hour, too far ahead, or no issued_at at all.
  for (std::int64_t at : {std::int64_t{1}, now_s - 3601, now_s - 86400, now_s + 301}) {
    CAPTURE(at);
    auto r = verify_signed_request(issued(at), k_app_secret, now);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == sb::errc::stale_request);
    CHECK(r.err().message.find("issued") != std::string::npos);
  }
  auto undated = verify_signed_request(sign(R"({"algorithm":"HMAC-SHA256","user_id":"218471"})"),
                                       k_app_secret, now);
  REQUIRE_FALSE(undated);
  CHECK(undated.err().code == sb::errc::stale_request);
  // The signature is judged first: a forged stale request is a bad signature, not stale.
  auto forged = verify_signed_request(
      sign(R"({"algorithm":"HMAC-SHA256","issued_at":1,"user_id":"1"})", "another-app-secret"),
      k_app_secret, now);
  REQUIRE_FALSE(forged);
  CHECK(forged.err().code == sb::errc::bad_signature);
}

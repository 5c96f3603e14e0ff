#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "delivery/standard_webhooks.hpp"

using namespace sb;

TEST_CASE("the signature matches the Standard Webhooks reference vector", "[delivery][signer]") {
  // From the specification's example; recomputed independently with
  // `openssl dgst -sha256 -mac HMAC -macopt hexkey:<base64-decoded secret> -binary | base64`.
  auto s = delivery::signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(s.ok());
  CHECK(s->signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("the signed content is id, timestamp and body joined by dots", "[delivery][signer]") {
  const std::string key = "0123456789abcdef0123456789abcdef";
  auto s = delivery::signer::from_secret("whsec_" + crypto::base64_encode(key));
  REQUIRE(s.ok());
  const std::string body = R"({"id":"evt_1","text":"héllo"})";
  auto expected =
      "v1," + crypto::base64_encode(crypto::hmac_sha256(key, "evt_1.1700000000." + body));
  CHECK(s->signature("evt_1", 1700000000, body) == expected);
  // Any change to id, timestamp or body changes the signature.
  CHECK(s->signature("evt_2", 1700000000, body) != expected);
  CHECK(s->signature("evt_1", 1700000001, body) != expected);
  CHECK(s->signature("evt_1", 1700000000, body + " ") != expected);
}

TEST_CASE("the three headers carry id, timestamp and signature", "[delivery][signer]") {
  auto s = delivery::signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(s.ok());
  auto h = s->headers("evt_9", 1614265330, "{}");
  REQUIRE(h.size() == 3);
  CHECK(h[0] == std::make_pair(std::string("webhook-id"), std::string("evt_9")));
  CHECK(h[1] == std::make_pair(std::string("webhook-timestamp"), std::string("1614265330")));
  CHECK(h[2].first == "webhook-signature");
  CHECK(h[2].second == s->signature("evt_9", 1614265330, "{}"));
}

TEST_CASE("a secret that is not base64 is refused", "[delivery][signer]") {
  CHECK_FALSE(delivery::signer::from_secret("whsec_not base64!").ok());
  CHECK_FALSE(delivery::signer::from_secret("whsec_").ok());
  // Without the prefix the base64 is taken as is, as the reference libraries do.
  CHECK(delivery::signer::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());
}

TEST_CASE("the event id is read from the stored JSON", "[delivery][signer]") {
  CHECK(delivery::event_id_of(R"({"id":"evt_01JDX3V7Q4","seq":42})") == "evt_01JDX3V7Q4");
  CHECK(delivery::event_id_of(R"({"seq":42,"content":{"id":"x"},"id":"evt_2"})") == "evt_2");
  CHECK(delivery::event_id_of(R"({"seq":42})").empty());
  CHECK(delivery::event_id_of("not json").empty());
}

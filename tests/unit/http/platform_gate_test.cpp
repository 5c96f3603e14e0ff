// The edge's decisions about platform requests (src/http/platform_gate.hpp, issue 10 row 2):
// with the real adapters, on injected time.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "core/crypto.hpp"
#include "core/ip.hpp"
#include "http/ingress_limit.hpp"
#include "http/platform_gate.hpp"
#include "http/router.hpp"

using namespace std::chrono_literals;
using sb::errc;
using sb::http::gate_verdict;
using sb::http::time_point;

namespace {

const time_point t0{std::chrono::hours{1000}};

/// acme: telegram "tg" and whatsapp "wa", a tenant rate limit of 1/s (burst 2); failures:
/// 3 per source (1/s), 5 per channel (1/s).
sb::config::config gate_config() {
  sb::config::config cfg;
  sb::config::tenant_config acme;
  acme.id = "acme";
  acme.rate_limit.rps = 1;
  acme.rate_limit.burst = 2;
  sb::config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  tg.settings["secret_token"] = "s3cret";
  acme.channels.push_back(tg);
  sb::config::channel_config wa;
  wa.name = "wa";
  wa.type = "whatsapp";
  wa.settings["app_secret"] = "wa-app-secret";
  wa.settings["verify_token"] = "wa-verify";
  wa.settings["phone_number_id"] = "106540352242922";
  acme.channels.push_back(wa);
  cfg.tenants.push_back(acme);
  cfg.limits.auth_failures_per_source.rps = 1;
  cfg.limits.auth_failures_per_source.burst = 3;
  cfg.limits.auth_failures_per_channel.rps = 1;
  cfg.limits.auth_failures_per_channel.burst = 5;
  return cfg;
}

sb::ip::address addr(const std::string& text) {
  auto a = sb::ip::parse_address(text);
  REQUIRE(a);
  return *a;
}

struct fixture {
  sb::config::config cfg = gate_config();
  sb::http::channel_directory dir{cfg};
  sb::http::ingress_limits ingress{cfg};
  sb::http::platform_gate gate{cfg, ingress};

  const sb::http::channel_entry& channel(const std::string& name) {
    auto c = dir.find("acme", name);
    REQUIRE(c.ok());
    return **c;
  }

  /// A Telegram POST from `from` carrying `token` (none when empty), source check included.
  gate_verdict telegram(const std::string& from, const std::string& token, time_point now) {
    std::vector<sb::adapters::header> headers;
    if (!token.empty()) {
      headers.push_back({"x-telegram-bot-api-secret-token", token});
    }
    sb::adapters::request req;
    req.method = "POST";
    req.headers = &headers;
    req.body = R"({"update_id":1})";
    auto admitted = gate.admit_source(addr(from), now);
    if (!admitted.pass) {
      return admitted;
    }
    return gate.webhook(channel("tg"), "acme", addr(from), req, now);
  }
};

/// A data-deletion callback body for a whatsapp channel with `secret`, signed now by the
/// platform's own signing (`privacy_hooks::sign_deletion`).
std::string signed_request_body(const std::string& secret) {
  sb::config::channel_config cfg;
  cfg.type = "whatsapp";
  cfg.settings["app_secret"] = secret;
  return "signed_request=" +
         sb::adapters::find("whatsapp")->privacy.sign_deletion(cfg, "218471", std::time(nullptr));
}

}  // namespace

TEST_CASE("unsigned requests never spend the tenant's rate limit", "[http][gate]") {
  fixture f;
  for (int i = 0; i < 3; ++i) {
    auto v = f.telegram("192.0.2." + std::to_string(i + 1), "", t0);
    REQUIRE_FALSE(v.pass);
    CHECK(v.err.code == errc::missing_signature);
  }
  // The tenant's burst of 2 is intact for the platform's own requests.
  CHECK(f.telegram("198.51.100.1", "s3cret", t0).pass);
  CHECK(f.telegram("198.51.100.1", "s3cret", t0).pass);
  auto limited = f.telegram("198.51.100.1", "s3cret", t0);
  REQUIRE_FALSE(limited.pass);
  CHECK(limited.err.code == errc::rate_limited);
  CHECK(limited.retry_after_s == 1);
}

TEST_CASE("a source's failures are answered 401 until its budget is spent, then 429",
          "[http][gate]") {
  fixture f;
  for (int i = 0; i < 3; ++i) {
    auto v = f.telegram("192.0.2.1", "wrong", t0);
    REQUIRE_FALSE(v.pass);
    CHECK(v.err.code == errc::bad_signature);
    CHECK(v.retry_after_s == 0);
  }
  auto blocked = f.telegram("192.0.2.1", "wrong", t0);
  REQUIRE_FALSE(blocked.pass);
  CHECK(blocked.err.code == errc::too_many_auth_failures);
  CHECK(blocked.retry_after_s >= 1);
  // Blocked before verification: a correct token from that source is refused too ...
  CHECK(f.telegram("192.0.2.1", "s3cret", t0).err.code == errc::too_many_auth_failures);
  // ... but not from anywhere else, and not once the source's bucket has a token again.
  CHECK(f.telegram("192.0.2.2", "s3cret", t0).pass);
  CHECK(f.telegram("192.0.2.1", "s3cret", t0 + 2s).pass);
}

TEST_CASE("a spent channel budget turns failures into 429 but never refuses a valid signature",
          "[http][gate]") {
  fixture f;
  // Five sources fail once each: the channel's burst of 5.
  for (int i = 1; i <= 5; ++i) {
    auto v = f.telegram("192.0.2." + std::to_string(i), "forged", t0);
    CHECK(v.err.code == errc::bad_signature);
  }
  // A sixth source, fresh itself, is over the channel's budget.
  auto over = f.telegram("192.0.2.6", "forged", t0);
  REQUIRE_FALSE(over.pass);
  CHECK(over.err.code == errc::too_many_auth_failures);
  CHECK(over.retry_after_s >= 1);
  // The platform's own requests still pass, from any source.
  CHECK(f.telegram("192.0.2.6", "s3cret", t0).pass);
  CHECK(f.telegram("203.0.113.1", "s3cret", t0).pass);
  // The other channel's budget is its own.
  std::vector<sb::adapters::header> none;
  sb::adapters::request req;
  req.method = "POST";
  req.headers = &none;
  req.body = "{}";
  auto wa = f.gate.webhook(f.channel("wa"), "acme", addr("192.0.2.7"), req, t0);
  CHECK(wa.err.code == errc::missing_signature);
}

TEST_CASE("the GET handshake is verified at the edge and its failures are counted",
          "[http][gate]") {
  fixture f;
  sb::adapters::request req;
  std::vector<sb::adapters::header> none;
  req.method = "GET";
  req.headers = &none;
  req.query = "hub.mode=subscribe&hub.verify_token=wa-verify&hub.challenge=1158201444";
  auto ok = f.gate.handshake(f.channel("wa"), "acme", addr("192.0.2.1"), req, t0);
  REQUIRE(ok.pass);
  CHECK(ok.challenge == "1158201444");

  req.query = "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1";
  for (int i = 0; i < 3; ++i) {
    auto v = f.gate.handshake(f.channel("wa"), "acme", addr("192.0.2.9"), req, t0);
    CHECK(v.err.code == errc::handshake_failed);
  }
  CHECK(f.gate.admit_source(addr("192.0.2.9"), t0).err.code == errc::too_many_auth_failures);

  // A channel type without a handshake: 405, not a failure.
  auto tg = f.gate.handshake(f.channel("tg"), "acme", addr("192.0.2.10"), req, t0);
  CHECK(tg.err.code == errc::method_not_allowed);
  CHECK(f.gate.sources().size() == 1);
}

TEST_CASE("Meta's data-deletion callback is verified at the edge before it costs the tenant",
          "[http][gate]") {
  fixture f;
  const auto& wa = f.channel("wa");
  auto forged = f.gate.data_deletion(wa, "acme", addr("192.0.2.1"),
                                     signed_request_body("not-the-secret"), t0);
  CHECK(forged.err.code == errc::bad_signature);
  auto missing = f.gate.data_deletion(wa, "acme", addr("192.0.2.1"), "user=1", t0);
  CHECK_FALSE(missing.pass);
  CHECK(f.gate.sources().size() == 1);  // both counted against 192.0.2.1

  CHECK(
      f.gate
          .data_deletion(wa, "acme", addr("198.51.100.1"), signed_request_body("wa-app-secret"), t0)
          .pass);
  // A channel without app_secret has no such callback.
  auto tg = f.gate.data_deletion(f.channel("tg"), "acme", addr("198.51.100.1"),
                                 signed_request_body("wa-app-secret"), t0);
  CHECK(tg.err.code == errc::not_found);
  // Verified calls charge the tenant's rate limit (burst 2, one spent above).
  CHECK(
      f.gate
          .data_deletion(wa, "acme", addr("198.51.100.1"), signed_request_body("wa-app-secret"), t0)
          .pass);
  CHECK(
      f.gate
          .data_deletion(wa, "acme", addr("198.51.100.1"), signed_request_body("wa-app-secret"), t0)
          .err.code == errc::rate_limited);
}

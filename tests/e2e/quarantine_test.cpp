// End-to-end: the quarantine cannot fill the disk (issue "Hostile edges", row 6). Telegram's
// secret is a static header, so whoever holds it can post bodies that verify and do not parse;
// each is kept in quarantine. Against the real binary on the SQLite store with a small
// `limits.quarantine_bytes_per_channel`: bodies are kept until the quota, then answered 503
// `quarantine_full` with Retry-After and nothing more is written (the data directory stays the
// size it was); the admin API lists, downloads, re-ingests (a still-bad body: 400, kept) and
// purges (audited), after which bodies are accepted again.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"
#include "e2e/checks.hpp"
#include "e2e/yaml_config.hpp"

using namespace sb::test;
using e2e_checks::require_error;

namespace {

const test_tenant acme{"acme", "sbt_e2e_quarantine_admin_5e1f07"};
const std::string k_reader_token = "sbt_e2e_quarantine_reader_c2a4b9";
constexpr std::uint64_t k_quota = 65536;
constexpr std::size_t k_body_size = 8192;

/// acme on the SQLite store in `dir` with a quarantine of `k_quota` bytes per channel: channel
/// tg; `ops` (stream, admin) and `reader` (stream).
std::string quarantine_config(const std::string& dir) {
  return yaml_config()
      .sqlite(dir)
      .section("limits:\n  quarantine_bytes_per_channel: " + std::to_string(k_quota) + "\n")
      .tenant("acme")
      .telegram(acme)
      .subscriber("ops", acme.token, "[stream, admin]")
      .subscriber("reader", k_reader_token, "[stream]")
      .str();
}

/// Random bytes (never JSON: the first byte is not one a JSON text may start with).
std::string random_body(std::mt19937_64& rng) {
  std::string body(k_body_size, '\0');
  for (auto& c : body) {
    c = static_cast<char>(rng() & 0xff);
  }
  body[0] = '\x8f';
  return body;
}

http_result post_body(const gateway_process& gw, const std::string& body) {
  return request("POST", gw.base_url() + "/webhooks/acme/tg",
                 signing::telegram(acme.tg_secret_token()), body);
}

http_result api(const gateway_process& gw, const std::string& method, const std::string& path,
                const std::string& token = acme.token) {
  return request(method, gw.base_url() + path, token.empty() ? header_list{} : bearer(token));
}

json api_json(const gateway_process& gw, const std::string& method, const std::string& path) {
  auto r = api(gw, method, path);
  INFO(method << " " << path << " -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}


std::uintmax_t dir_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      total += e.file_size();
    }
  }
  return total;
}

}  // namespace

TEST_CASE(
    "signed unparseable bodies fill a channel's quarantine only up to its quota, then get "
    "503 with Retry-After and nothing more is written",
    "[e2e][quarantine]") {
  temp_dir store("sb-e2e-quarantine");
  gateway_process gw(quarantine_config(store.path));
  std::mt19937_64 rng(20261203);

  std::vector<std::string> kept;
  http_result refused;
  for (int i = 0; i < 64; ++i) {
    auto body = random_body(rng);
    auto r = post_body(gw, body);
    if (r.status == 503) {
      refused = r;
      break;
    }
    INFO(r.body);
    REQUIRE(r.status == 400);
    CHECK(json::parse(r.body)["error"].str() == "malformed_body");
    kept.push_back(std::move(body));
  }
  INFO("kept " << kept.size());
  REQUIRE(refused.status == 503);
  CHECK(json::parse(refused.body)["error"].str() == "quarantine_full");
  CHECK(refused.header("retry-after") == "60");
  // The quota holds what it says: no more than it, and not room for one more body.
  REQUIRE(kept.size() >= 1);
  CHECK(kept.size() <= k_quota / k_body_size);
  auto list = api_json(gw, "GET", "/v1/quarantine?channel=tg");
  CHECK(list["quarantined"].size() == kept.size());
  CHECK(list["quota_bytes"].u64() == k_quota);
  const std::uint64_t used = list["used_bytes"].u64();
  CHECK(used <= k_quota);
  CHECK(used + k_body_size > k_quota);

  // The attack goes on: every body is refused and the data directory does not grow.
  const auto size_before = dir_bytes(store.path);
  for (int i = 0; i < 40; ++i) {
    auto r = post_body(gw, random_body(rng));
    REQUIRE(r.status == 503);
  }
  CHECK(dir_bytes(store.path) < size_before + k_body_size);
  CHECK(api_json(gw, "GET", "/v1/quarantine?channel=tg")["quarantined"].size() == kept.size());
  auto metrics = request("GET", gw.base_url() + "/metrics");
  CHECK(metrics.body.find("switchboard_webhook_rejections_total{tenant=\"acme\",channel=\"tg\","
                          "reason=\"quarantine_full\"} 41\n") != std::string::npos);

  // Legitimate traffic is untouched.
  auto ok = post_body(gw, R"({"update_id":9001,"message":{"message_id":1,"from":{"id":42,)"
                          R"("is_bot":false,"first_name":"Ada"},"chat":{"id":42,"type":"private"},)"
                          R"("date":1749416383,"text":"still here"}})");
  INFO(ok.body);
  CHECK(ok.status == 200);

  // Who may look: admins of the tenant only.
  require_error(api(gw, "GET", "/v1/quarantine", ""), 401, "unauthorized");
  require_error(api(gw, "GET", "/v1/quarantine", k_reader_token), 403, "forbidden");
  require_error(api(gw, "GET", "/v1/quarantine?tenant=globex"), 403, "forbidden");

  // Download: the exact bytes; the metadata keeps no header (Telegram's only one is its secret).
  const auto first = list["quarantined"][0];
  const std::string first_id = std::to_string(first["id"].u64());
  auto raw = api(gw, "GET", "/v1/quarantine/" + first_id);
  REQUIRE(raw.status == 200);
  CHECK(raw.header("content-type") == "application/octet-stream");
  CHECK(raw.body == kept[0]);
  auto meta = api_json(gw, "GET", "/v1/quarantine/" + first_id + "?meta");
  CHECK(meta["bytes"].u64() == k_body_size);
  CHECK(meta["channel"].str() == "tg");
  CHECK(meta["headers"].is_object());
  CHECK(meta["headers"].size() == 0);
  CHECK(meta["received_at"].str().size() == 24);

  // Re-ingest of a body the adapter still refuses: 400 with the parser's message; it stays.
  auto again = api(gw, "POST", "/v1/quarantine/" + first_id + "/reingest");
  require_error(again, 400, "malformed_body");
  CHECK(json::parse(again.body)["message"].str().find("stays in quarantine") != std::string::npos);
  require_error(api(gw, "GET", "/v1/quarantine/999999"), 404, "not_found");
  require_error(api(gw, "GET", "/v1/quarantine/abc"), 400, "bad_request");
  require_error(api(gw, "DELETE", "/v1/quarantine"), 400, "bad_request");

  // A purge makes room: the next body is kept, the one after it refused again.
  auto purged = api_json(gw, "DELETE", "/v1/quarantine/" + first_id);
  CHECK(purged["purged"].u64() == 1);
  CHECK(purged["bytes"].u64() == k_body_size);
  require_error(api(gw, "DELETE", "/v1/quarantine/" + first_id), 404, "not_found");
  CHECK(post_body(gw, random_body(rng)).status == 400);
  CHECK(post_body(gw, random_body(rng)).status == 503);

  auto all = api_json(gw, "DELETE", "/v1/quarantine?channel=tg");
  CHECK(all["purged"].u64() == kept.size());
  auto empty = api_json(gw, "GET", "/v1/quarantine?channel=tg");
  CHECK(empty["quarantined"].size() == 0);
  CHECK(empty["used_bytes"].u64() == 0);

  // Purges and the download are in the audit log, by the admin's subscriber name.
  auto audit = api_json(gw, "GET", "/v1/audit");
  std::vector<std::string> details;
  std::size_t downloads = 0;
  for (const auto& e : audit["entries"].items()) {
    if (e["action"].str() == "quarantine_purge") {
      CHECK(e["actor"].str() == "subscriber:ops");
      details.push_back(e["detail"].str());
    } else if (e["action"].str() == "quarantine_download") {
      ++downloads;
    }
  }
  REQUIRE(details.size() == 2);
  CHECK(details[0] == "id=" + first_id + " channel=tg bytes=" + std::to_string(k_body_size));
  CHECK(details[1].rfind("channel=tg bodies=" + std::to_string(kept.size()) + " ", 0) == 0);
  CHECK(downloads == 1);
}

// End-to-end: the control plane (docs/control-plane.md) against the real binary. An operator
// creates a tenant, a channel and a subscriber by API; a signed webhook to the new channel is
// stored and read with the token the API returned; the channel's secret is rotated (the old one
// works during the grace, then 401); the channel is deleted (404) and the tenant (its data
// erased, a receipt). Bodies are validated with every problem at once; a subscriber's token is
// 403 and none is 401; what the file defines is read-only (409) unless the file hands its tenants
// to the control plane (manage_file_tenants); everything survives a restart.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "e2e/telegram_updates.hpp"
#include "e2e/yaml_config.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;

namespace {

const std::string k_operator_token = "sbo_e2e_control_plane_operator_4f1c";
const test_tenant filed{"filed", "sbt_e2e_control_plane_filed_9d2e"};

std::string control_config(const std::string& dir, int grace_seconds) {
  yaml_config y;
  y.sqlite(dir);
  y.section("control_plane:\n  secret_grace_seconds: " + std::to_string(grace_seconds) +
            "\noperators:\n  - name: ops\n    token_sha256: " +
            yaml_quoted(token_sha256(k_operator_token)) + "\n");
  y.tenant("filed").telegram(filed).subscriber("reader", filed.token, "[stream, admin]");
  return y.str();
}

struct admin_api {
  std::string base;

  http_result call(const std::string& method, const std::string& path, const std::string& body = {},
                   const std::string& token = k_operator_token) {
    header_list h = bearer(token);
    h.emplace_back("Content-Type", "application/json");
    return request(method, base + path, h, body);
  }
};

http_result post_update(const std::string& base, const std::string& tenant,
                        const std::string& secret, std::uint64_t update_id) {
  return request("POST", base + "/webhooks/" + tenant + "/tg", signing::telegram(secret),
                 telegram_update(update_id, 4242, "Nadia"));
}

/// Polls until `post` answers `status` (at most 15 s); the last status seen.
template <class F>
long wait_for_status(F post, long status) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  long last = 0;
  while (std::chrono::steady_clock::now() < until) {
    last = post();
    if (last == status) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

}  // namespace

TEST_CASE("an operator onboards a tenant by API and its webhooks are stored and read",
          "[e2e][control]") {
  temp_dir dir("sb-control");
  gateway_process gw(control_config(dir.path, 2));
  admin_api api{gw.base_url()};

  auto t = api.call("POST", "/v1/admin/tenants", R"({"id":"bistro","rate_limit":{"rps":100}})");
  INFO(t.body);
  REQUIRE(t.status == 201);
  CHECK(json::parse(t.body)["source"].str() == "api");

  const std::string old_secret = "bistro-telegram-secret-before";
  auto c = api.call("POST", "/v1/admin/tenants/bistro/channels",
                    R"({"name":"tg","type":"telegram","secret_token":")" + old_secret + R"("})");
  INFO(c.body);
  REQUIRE(c.status == 201);
  CHECK(c.body.find(old_secret) == std::string::npos);  // write-only
  CHECK(json::parse(c.body)["secret_token"]["set"].boolean());

  auto s = api.call("POST", "/v1/admin/tenants/bistro/subscribers",
                    R"({"name":"desk","scopes":["stream","admin"],"purposes":["support"]})");
  INFO(s.body);
  REQUIRE(s.status == 201);
  const std::string token = json::parse(s.body)["token"].str();
  REQUIRE(token.rfind("sbt_", 0) == 0);

  // The new channel takes webhooks at once, and the returned token reads them.
  auto w = post_update(gw.base_url(), "bistro", old_secret, 7001);
  INFO(w.body);
  REQUIRE(w.status == 200);
  auto events = get_events(gw.base_url(), token);
  REQUIRE(events["events"].size() == 1);
  CHECK(events["events"][0]["tenant"].str() == "bistro");
  // Tenants are isolated: the file's tenant's token does not read it.
  CHECK(request("GET", gw.base_url() + "/v1/events?tenant=bistro", bearer(filed.token)).status ==
        403);

  // The token is shown once: reading the subscriber shows a marker, never the token or digest.
  auto desk = api.call("GET", "/v1/admin/tenants/bistro/subscribers/desk");
  REQUIRE(desk.status == 200);
  CHECK(desk.body.find(token) == std::string::npos);
  CHECK(desk.body.find(token_sha256(token)) == std::string::npos);
  CHECK(json::parse(desk.body)["token"]["set"].boolean());

  // Rotating the secret: the new one works at once, the old one during the grace, then 401.
  const std::string new_secret = "bistro-telegram-secret-after";
  auto rot = api.call("PATCH", "/v1/admin/tenants/bistro/channels/tg",
                      R"({"secret_token":")" + new_secret + R"("})");
  INFO(rot.body);
  REQUIRE(rot.status == 200);
  CHECK(json::parse(rot.body)["secret_token"].has("previous_until"));
  CHECK(post_update(gw.base_url(), "bistro", new_secret, 7002).status == 200);
  CHECK(post_update(gw.base_url(), "bistro", old_secret, 7003).status == 200);
  std::uint64_t next_id = 7100;
  CHECK(wait_for_status(
            [&] { return post_update(gw.base_url(), "bistro", old_secret, ++next_id).status; },
            401) == 401);
  CHECK(post_update(gw.base_url(), "bistro", new_secret, 7004).status == 200);

  // A rotated token: the old one stops, the new one reads.
  auto rt = api.call("POST", "/v1/admin/tenants/bistro/subscribers/desk/rotate-token");
  REQUIRE(rt.status == 200);
  const std::string token2 = json::parse(rt.body)["token"].str();
  CHECK(token2 != token);
  CHECK(request("GET", gw.base_url() + "/v1/events", bearer(token)).status == 401);
  // 7001 to 7004, and the old secret's updates accepted while the grace lasted.
  const std::size_t stored = get_events(gw.base_url(), token2)["events"].size();
  CHECK(stored >= 4);

  // The audit log holds every change, by the operator.
  auto audit = request("GET", gw.base_url() + "/v1/audit", bearer(token2));
  REQUIRE(audit.status == 200);
  for (const char* action : {"tenant_create", "channel_create", "subscriber_create",
                             "channel_update", "subscriber_rotate_token"}) {
    INFO(action);
    CHECK(audit.body.find(std::string("\"action\":\"") + action + "\"") != std::string::npos);
  }
  CHECK(audit.body.find("\"actor\":\"operator:ops\"") != std::string::npos);

  // A deleted channel answers 404 at once.
  REQUIRE(api.call("DELETE", "/v1/admin/tenants/bistro/channels/tg").status == 200);
  auto gone = post_update(gw.base_url(), "bistro", new_secret, 7005);
  CHECK(gone.status == 404);

  // Deleting the tenant needs its id as confirmation, then erases its data with a receipt.
  auto unconfirmed = api.call("DELETE", "/v1/admin/tenants/bistro", R"({"confirm":"bistr"})");
  CHECK(unconfirmed.status == 400);
  auto del = api.call("DELETE", "/v1/admin/tenants/bistro", R"({"confirm":"bistro"})");
  INFO(del.body);
  REQUIRE(del.status == 200);
  auto receipt = json::parse(del.body);
  CHECK(receipt["receipt"].str().rfind("era_", 0) == 0);
  CHECK(receipt["erased"]["events"].u64() == stored);
  CHECK(receipt["erased"]["keys_destroyed"].u64() >= 1);
  CHECK(request("GET", gw.base_url() + "/v1/events", bearer(token2)).status == 401);
  CHECK(api.call("GET", "/v1/admin/tenants/bistro").status == 404);
  auto list = json::parse(api.call("GET", "/v1/admin/tenants").body);
  REQUIRE(list["tenants"].size() == 1);
  CHECK(list["tenants"][0]["id"].str() == "filed");
}

TEST_CASE("the control plane refuses bad bodies at once and callers who are not operators",
          "[e2e][control]") {
  temp_dir dir("sb-control");
  gateway_process gw(control_config(dir.path, 3600));
  admin_api api{gw.base_url()};

  // Every problem at once, each at its JSON pointer, with the config file's messages.
  auto bad = api.call(
      "POST", "/v1/admin/tenants",
      R"({"id":"Bad Id!","rate_limit":{"rps":-1},"privacy":{"retention_days":"x"},"colour":"red"})");
  INFO(bad.body);
  REQUIRE(bad.status == 400);
  auto problems = json::parse(bad.body);
  CHECK(problems["error"].str() == "invalid_config");
  CHECK(problems["problems"].size() >= 4);
  std::string pointers;
  for (const auto& p : problems["problems"].items()) {
    pointers += p["pointer"].str() + " ";
    CHECK(!p["message"].str().empty());
  }
  for (const char* pointer : {"/id", "/rate_limit/rps", "/privacy/retention_days", "/colour"}) {
    INFO(pointers);
    CHECK(pointers.find(std::string(pointer) + " ") != std::string::npos);
  }
  REQUIRE(api.call("POST", "/v1/admin/tenants", R"({"id":"cafe"})").status == 201);
  auto ch = api.call("POST", "/v1/admin/tenants/cafe/channels",
                     R"({"name":"wa","type":"whatsapp","phone_number_id":"1","bogus":true})");
  INFO(ch.body);
  REQUIRE(ch.status == 400);
  CHECK(json::parse(ch.body)["problems"].size() >= 3);  // app_secret, verify_token, bogus
  CHECK(api.call("POST", "/v1/admin/tenants", "not json").status == 400);
  CHECK(api.call("POST", "/v1/admin/tenants", R"({"id":"cafe"})").status == 409);

  // The file's tenants are read-only here.
  auto file_change = api.call("PATCH", "/v1/admin/tenants/filed", R"({"rate_limit":{"rps":1}})");
  CHECK(file_change.status == 409);
  CHECK(json::parse(file_change.body)["error"].str() == "conflict");
  CHECK(api.call("GET", "/v1/admin/tenants/filed").status == 200);

  // A subscriber's token, even with every scope, is not an operator's; no token is 401.
  auto sub = api.call("GET", "/v1/admin/tenants", {}, filed.token);
  CHECK(sub.status == 403);
  CHECK(request("GET", gw.base_url() + "/v1/admin/tenants").status == 401);
  CHECK(api.call("POST", "/v1/admin/tenants", R"({"id":"sneaky"})", filed.token).status == 403);
  CHECK(api.call("GET", "/v1/admin/tenants/sneaky").status == 404);
}

TEST_CASE("tenants defined by API survive a restart with their secrets and tokens",
          "[e2e][control]") {
  temp_dir dir("sb-control");
  std::string token;
  const std::string secret = "kiosk-telegram-secret-0001";
  {
    gateway_process gw(control_config(dir.path, 3600));
    admin_api api{gw.base_url()};
    REQUIRE(api.call("POST", "/v1/admin/tenants", R"({"id":"kiosk"})").status == 201);
    REQUIRE(api.call("POST", "/v1/admin/tenants/kiosk/channels",
                     R"({"name":"tg","type":"telegram","secret_token":")" + secret + R"("})")
                .status == 201);
    auto s = api.call("POST", "/v1/admin/tenants/kiosk/subscribers",
                      R"({"name":"desk","scopes":["stream"]})");
    REQUIRE(s.status == 201);
    token = json::parse(s.body)["token"].str();
    REQUIRE(post_update(gw.base_url(), "kiosk", secret, 8001).status == 200);
    CHECK(gw.terminate().exited);
  }
  // The store holds the secret sealed: not in the database file's bytes.
  for (const char* file : {"/switchboard.db", "/switchboard.db-wal"}) {
    std::ifstream db(dir.path + file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
    CHECK(bytes.find(secret) == std::string::npos);
  }
  gateway_process gw(control_config(dir.path, 3600));
  CHECK(post_update(gw.base_url(), "kiosk", secret, 8002).status == 200);
  CHECK(post_update(gw.base_url(), "kiosk", "not-the-secret", 8003).status == 401);
  CHECK(get_events(gw.base_url(), token)["events"].size() == 2);
}

TEST_CASE("manage_file_tenants imports the file's tenant once, then the API changes it",
          "[e2e][control]") {
  temp_dir dir("sb-control-import");
  auto managed_config = [&] {
    yaml_config y;
    y.sqlite(dir.path);
    y.section(
        "control_plane:\n  manage_file_tenants: true\noperators:\n  - name: ops\n"
        "    token_sha256: " +
        yaml_quoted(token_sha256(k_operator_token)) + "\n");
    y.tenant("filed").telegram(filed).subscriber("reader", filed.token, "[stream, admin]");
    return y.str();
  };
  const std::string rotated = "filed-rotated-secret-0002";
  {
    gateway_process gw(managed_config());
    admin_api api{gw.base_url()};
    auto t = api.call("GET", "/v1/admin/tenants/filed");
    INFO(t.body);
    REQUIRE(t.status == 200);
    const auto view = json::parse(t.body);
    CHECK(view["source"].str() == "api");
    CHECK_FALSE(view["imported_from"].str().empty());
    CHECK(view["channels"][0]["secret_token"]["set"].boolean());
    CHECK(t.body.find(filed.tg_secret_token()) == std::string::npos);

    auto p = api.call("PATCH", "/v1/admin/tenants/filed/channels/tg",
                      R"({"secret_token":")" + rotated + R"("})");
    INFO(p.body);
    REQUIRE(p.status == 200);
    CHECK(post_update(gw.base_url(), "filed", rotated, 9001).status == 200);
    // The file's secret is the previous one now, accepted during its grace.
    CHECK(post_update(gw.base_url(), "filed", filed.tg_secret_token(), 9002).status == 200);
    auto audit = json::parse(
        request("GET", gw.base_url() + "/v1/audit?tenant=filed", bearer(k_operator_token)).body);
    std::vector<std::string> actions;
    for (std::size_t i = 0; i < audit["entries"].size(); ++i) {
      actions.push_back(audit["entries"][i]["action"].str());
    }
    CHECK(actions == std::vector<std::string>{"tenant_import", "channel_update"});
    CHECK(gw.terminate().exited);
  }
  // Restarted on the same file: the stored tenant is served, the file's entry is not read again.
  gateway_process gw(managed_config());
  CHECK(post_update(gw.base_url(), "filed", rotated, 9003).status == 200);
  CHECK(post_update(gw.base_url(), "filed", "not-the-secret", 9004).status == 401);
  CHECK(get_events(gw.base_url(), filed.token)["events"].size() == 3);
}

TEST_CASE("a channel created through one replica takes webhooks on the other",
          "[e2e][control][replicas]") {
  pg_cluster db;
  auto replica = [&](const std::string& node) {
    return yaml_config()
        .postgres(db.dsn())
        .section("cluster:\n  node_id: " + node +
                 "\n  lease_ms: 1000\noperators:\n  - name: ops\n" +
                 "    token_sha256: " + yaml_quoted(token_sha256(k_operator_token)) + "\n")
        .tenant("filed")
        .telegram(filed)
        .str();
  };
  gateway_process a(replica("a"));
  gateway_process b(replica("b"));
  admin_api on_a{a.base_url()};
  admin_api on_b{b.base_url()};

  const std::string secret = "replicated-telegram-secret-1";
  REQUIRE(on_a.call("POST", "/v1/admin/tenants", R"({"id":"spread"})").status == 201);
  REQUIRE(on_a.call("POST", "/v1/admin/tenants/spread/channels",
                    R"({"name":"tg","type":"telegram","secret_token":")" + secret + R"("})")
              .status == 201);
  // Replica b hears of it (LISTEN/NOTIFY) and serves the channel without a restart. The
  // deadline is generous (a noisy machine); docs/control-plane.md gives the measured delay.
  std::uint64_t id = 9000;
  CHECK(wait_for_status([&] { return post_update(b.base_url(), "spread", secret, ++id).status; },
                        200) == 200);
  auto t = on_b.call("GET", "/v1/admin/tenants/spread");
  REQUIRE(t.status == 200);
  CHECK(json::parse(t.body)["channels"].size() == 1);

  // A change made on b reaches a: a subscriber created there reads on a.
  auto s = on_b.call("POST", "/v1/admin/tenants/spread/subscribers",
                     R"({"name":"desk","scopes":["stream"]})");
  REQUIRE(s.status == 201);
  const std::string token = json::parse(s.body)["token"].str();
  CHECK(wait_for_status(
            [&] { return request("GET", a.base_url() + "/v1/events", bearer(token)).status; },
            200) == 200);

  // A deleted channel stops on both.
  REQUIRE(on_a.call("DELETE", "/v1/admin/tenants/spread/channels/tg").status == 200);
  CHECK(wait_for_status([&] { return post_update(b.base_url(), "spread", secret, ++id).status; },
                        404) == 404);
}

// End-to-end: the web chat visitor API (docs/webchat.md) at the HTTP edge, against the real
// binary: sessions, CORS and preflight, messages stored as `webchat` events and deduped per
// visitor, forged, foreign and expired tokens, the visitor limits (which never slow a platform's
// webhooks), read bodies, another visitor's stream, and the widget script.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "core/time.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "e2e/webchat_support.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using namespace sb::test::webchat;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_acme_93b1c0d4e5f6a728"};

/// acme with two web chat channels: "web" for http://shop.example (`sessions` new sessions per
/// address and `messages` messages per visitor a minute, texts of at most 200 bytes), and "app"
/// for native apps (no Origin needed).
std::string chat_config(const std::string& sessions = "30", const std::string& messages = "30") {
  test_server server;
  server.extra_channels.push_back({"web",
                                   "webchat",
                                   {{"allowed_origins", shop},
                                    {"title", "Acme </script> support"},
                                    {"consent_notice", "We keep your messages for support."},
                                    {"sessions_per_ip_per_minute", sessions},
                                    {"messages_per_visitor_per_minute", messages},
                                    {"max_message_bytes", "200"}}});
  server.extra_channels.push_back(
      {"app", "webchat", {{"allowed_origins", shop}, {"allow_no_origin", "true"}}});
  return test_config({acme}, server);
}

http_result post_message(const gateway_process& gw, const std::string& token,
                         const std::string& text, const std::string& client_id) {
  return request("POST", gw.base_url() + "/chat/acme/web/messages", visitor_headers(token),
                 R"({"text":")" + text + R"(","client_id":")" + client_id + R"("})");
}

/// The answer carries the CORS headers of an allowed origin.
void require_cors(const http_result& r) {
  INFO("response " << r.status << ": " << r.body);
  CHECK(r.header("access-control-allow-origin") == shop);
  CHECK(r.header("vary") == "Origin");
}

/// An error JSON of `code`, readable by the shop's page.
void require_error(const http_result& r, long status, const std::string& code) {
  INFO("response " << r.status << ": " << r.body);
  REQUIRE(r.status == status);
  json j = json::parse(r.body);
  CHECK(j["error"].str() == code);
  CHECK_FALSE(j["message"].str().empty());
  require_cors(r);
}

/// The message events of channel `channel` stored so far.
std::vector<json> chat_events(const gateway_process& gw, const std::string& channel) {
  std::vector<json> out;
  const json all = get_events(gw.base_url(), acme.token);
  for (const auto& e : all["events"].items()) {
    if (e["type"].str() == "message" && e["channel"]["name"].str() == channel) {
      out.push_back(e);
    }
  }
  return out;
}

const std::string telegram_update =
    R"({"update_id":918273645,"message":{"message_id":4412,"from":{"id":7001234567,)"
    R"("is_bot":false,"first_name":"Ana"},"chat":{"id":7001234567,"type":"private"},)"
    R"("date":1749416383,"text":"Where is my order?"}})";

}  // namespace

TEST_CASE("a visitor session is minted for an allowed origin only", "[e2e][webchat]") {
  gateway_process gw(chat_config("4"));
  const std::string url = gw.base_url() + "/chat/acme/web/sessions";

  auto r = request("POST", url, from_shop());
  INFO(r.body);
  REQUIRE(r.status == 201);
  require_cors(r);
  json j = json::parse(r.body);
  CHECK(j["visitor"].str().rfind("vis_", 0) == 0);
  CHECK(j["visitor"].str().size() == 30);
  CHECK(j["token"].str().rfind("wct1.", 0) == 0);
  auto expires = sb::parse_rfc3339(j["expires_at"].str());
  REQUIRE(expires);
  const auto ttl_ms = expires->unix_ms - sb::now().unix_ms;
  CHECK(ttl_ms > 719LL * 3600 * 1000);
  CHECK(ttl_ms <= 720LL * 3600 * 1000);

  // A body with unknown members is refused, readable by the page.
  auto bad =
      request("POST", url, from_shop({{"Content-Type", "application/json"}}), R"({"nick":"Ana"})");
  require_error(bad, 400, "bad_request");
  CHECK_THAT(json::parse(bad.body)["message"].str(), Catch::Contains("nick"));

  // A page of another site, and a request without Origin, are refused without CORS grant.
  auto other = request("POST", url, {{"Origin", "https://evil.example"}});
  REQUIRE(other.status == 403);
  CHECK(json::parse(other.body)["error"].str() == "forbidden");
  CHECK(other.header("access-control-allow-origin").empty());
  auto none = request("POST", url);
  REQUIRE(none.status == 403);
  CHECK_THAT(json::parse(none.body)["message"].str(), Catch::Contains("allow_no_origin"));
  // ... unless the channel is for native apps.
  auto app = request("POST", gw.base_url() + "/chat/acme/app/sessions");
  INFO(app.body);
  CHECK(app.status == 201);
  CHECK(app.header("access-control-allow-origin").empty());

  // Past the address's budget (4 a minute: the 201, the 400 and two more): 429 with Retry-After.
  CHECK(request("POST", url, from_shop()).status == 201);
  CHECK(request("POST", url, from_shop()).status == 201);
  auto limited = request("POST", url, from_shop());
  require_error(limited, 429, "rate_limited");
  CHECK(std::stoi(limited.header("retry-after")) >= 1);

  // Not a visitor channel, or no channel at all: the webhooks' one 404.
  auto tg = request("POST", gw.base_url() + "/chat/acme/tg/sessions", from_shop());
  auto unknown = request("POST", gw.base_url() + "/chat/nobody/web/sessions", from_shop());
  auto webhook = request("POST", gw.base_url() + "/webhooks/nobody/web", {}, "{}");
  CHECK(tg.status == 404);
  CHECK(tg.body == unknown.body);
  CHECK(tg.body == webhook.body);
}

TEST_CASE("a session body with what the visitor gave is handed on and answered with CORS",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  auto r = request("POST", gw.base_url() + "/chat/acme/web/sessions",
                   from_shop({{"Content-Type", "application/json"}}),
                   R"({"name":"Ana","purposes":{"marketing":false}})");
  INFO(r.status << ": " << r.body);
  // The tenant records it (actors::start_visitor_session) and answers the 201; whatever it
  // answers reaches the page with the CORS grant.
  require_cors(r);
  if (r.status == 201) {
    CHECK(json::parse(r.body)["token"].str().rfind("wct1.", 0) == 0);
  }
}

TEST_CASE("the CORS preflight is answered for allowed origins only", "[e2e][webchat]") {
  gateway_process gw(chat_config());
  for (const char* path : {"/sessions", "/messages", "/read"}) {
    INFO(path);
    const std::string url = gw.base_url() + "/chat/acme/web" + path;
    auto ok =
        request("OPTIONS", url,
                from_shop({{"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "authorization,content-type"}}));
    CHECK(ok.status == 204);
    CHECK(ok.body.empty());
    require_cors(ok);
    CHECK(ok.header("access-control-allow-methods") == "POST");
    CHECK(ok.header("access-control-allow-headers") ==
          "Authorization, Content-Type, Last-Event-ID");
    CHECK(ok.header("access-control-max-age") == "600");
    CHECK(ok.header("access-control-allow-credentials").empty());

    auto refused =
        request("OPTIONS", url,
                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    CHECK(refused.status == 403);
    CHECK(refused.header("access-control-allow-origin").empty());
    CHECK(refused.header("access-control-allow-methods").empty());
  }
}

TEST_CASE("a visitor's message is stored once as a webchat message of their conversation",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  sse_client stream(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  const session ana = start_session(gw);
  const session bob = start_session(gw);

  auto first = post_message(gw, ana.token, "Hello, is my order on its way?", "c-1");
  INFO(first.body);
  REQUIRE(first.status == 202);
  require_cors(first);
  CHECK(first.body == R"({"accepted":true,"duplicate":false})");

  REQUIRE(stream.wait_for(1));
  const auto frame = stream.frames().front();
  CHECK(frame.event == "message");
  json e = json::parse(frame.data);
  CHECK(e["channel"]["type"].str() == "webchat");
  CHECK(e["channel"]["name"].str() == "web");
  CHECK(e["conversation"].str() == "web:" + ana.visitor);
  CHECK(e["content"]["text"].str() == "Hello, is my order on its way?");

  // A retry of the same message: stored once.
  auto retry = post_message(gw, ana.token, "Hello, is my order on its way?", "c-1");
  REQUIRE(retry.status == 202);
  CHECK(retry.body == R"({"accepted":true,"duplicate":true})");
  // Another visitor's message with the same client_id is theirs, not a duplicate.
  auto other = post_message(gw, bob.token, "Hi there", "c-1");
  REQUIRE(other.status == 202);
  CHECK(other.body == R"({"accepted":true,"duplicate":false})");

  auto events = chat_events(gw, "web");
  REQUIRE(events.size() == 2);
  CHECK(events[0]["conversation"].str() == "web:" + ana.visitor);
  CHECK(events[1]["conversation"].str() == "web:" + bob.visitor);

  // A body the adapter refuses (400, not quarantined), a text past max_message_bytes within the
  // envelope (the adapter's 400), and a body past the envelope (the gate's 413).
  require_error(request("POST", gw.base_url() + "/chat/acme/web/messages",
                        visitor_headers(ana.token), R"({"text":"x"})"),
                400, "bad_request");
  require_error(post_message(gw, ana.token, std::string(201, 'a'), "c-2"), 400, "bad_request");
  require_error(post_message(gw, ana.token, std::string(600, 'a'), "c-3"), 413, "body_too_large");
  CHECK(chat_events(gw, "web").size() == 2);
}

TEST_CASE("forged, foreign and expired visitor tokens are refused", "[e2e][webchat]") {
  const std::string yaml = chat_config();
  gateway_process gw(yaml);
  const session ana = start_session(gw);
  const session app = start_session(gw, "app");

  std::string forged = ana.token;
  const std::size_t at = forged.size() - 5;
  forged[at] = forged[at] == 'A' ? 'B' : 'A';

  // A token of this channel that expired a minute ago, minted with the channel's derived key.
  auto loaded = sb::config::load_string(yaml, "test.yaml", sb::adapters::schemas());
  REQUIRE(loaded.ok());
  const auto* web = loaded.cfg->tenants.front().find_channel("web");
  REQUIRE(web != nullptr);
  const auto* info = sb::adapters::find("webchat");
  REQUIRE(info != nullptr);
  const auto past = sb::timestamp::from_seconds(sb::now().unix_ms / 1000 - 60);
  const std::string expired = info->visitors.mint(*web, ana.visitor, past);
  // The same key and a future expiry is accepted: the test mints as the gateway does.
  const auto future = sb::timestamp::from_seconds(sb::now().unix_ms / 1000 + 3600);
  auto minted = post_message(gw, info->visitors.mint(*web, ana.visitor, future), "ok", "c-9");
  CHECK(minted.status == 202);

  for (const auto& token : {forged, app.token, expired, std::string("wct1.nonsense")}) {
    INFO(token);
    auto r = post_message(gw, token, "hello", "c-1");
    require_error(r, 401, "unauthorized");
    CHECK(r.header("www-authenticate") == "Bearer");
    auto read = request("POST", gw.base_url() + "/chat/acme/web/read", visitor_headers(token),
                        R"({"up_to":1})");
    require_error(read, 401, "unauthorized");
  }
  CHECK_THAT(json::parse(post_message(gw, expired, "hello", "c-1").body)["message"].str(),
             Catch::Contains("expired"));
  auto missing = request("POST", gw.base_url() + "/chat/acme/web/messages", from_shop(),
                         R"({"text":"hello","client_id":"c-1"})");
  require_error(missing, 401, "unauthorized");
  CHECK(chat_events(gw, "web").size() == 1);  // the freshly minted one only
}

TEST_CASE("a visitor past their message budget gets 429 while others and platforms are served",
          "[e2e][webchat][webhook]") {
  gateway_process gw(chat_config("30", "3"));
  const session ana = start_session(gw);
  const session bob = start_session(gw);
  for (int i = 0; i < 3; ++i) {
    auto r = post_message(gw, ana.token, "message " + std::to_string(i), "a-" + std::to_string(i));
    INFO(r.body);
    REQUIRE(r.status == 202);
  }
  auto limited = post_message(gw, ana.token, "one too many", "a-3");
  require_error(limited, 429, "rate_limited");
  CHECK(std::stoi(limited.header("retry-after")) >= 1);

  CHECK(post_message(gw, bob.token, "my turn", "b-0").status == 202);
  auto tg = request("POST", gw.base_url() + "/webhooks/acme/tg",
                    signing::telegram(acme.tg_secret_token()), telegram_update);
  INFO(tg.body);
  CHECK(tg.status == 200);
  CHECK(chat_events(gw, "web").size() == 4);
}

TEST_CASE("a read receipt body is validated and a visitor streams only their own conversation",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  const session ana = start_session(gw);
  const session bob = start_session(gw);
  const std::string read = gw.base_url() + "/chat/acme/web/read";
  for (const char* bad : {"", "{}", R"({"up_to":0})", R"({"up_to":"3"})", R"({"up_to":3,"x":1})"}) {
    INFO(bad);
    require_error(request("POST", read, visitor_headers(ana.token), bad), 400, "bad_request");
  }
  // A valid one is handed to the tenant (actors::visitor_read); its answer carries CORS.
  require_cors(request("POST", read, visitor_headers(ana.token), R"({"up_to":1})"));
  // Each receipt costs a read of the visitor's events on a privacy worker: a flood of them is
  // refused per visitor, and another visitor's receipt still goes through.
  long last = 0;
  http_result flooded;
  for (int i = 0; i < 200 && last != 429; ++i) {
    flooded = request("POST", read, visitor_headers(ana.token), R"({"up_to":1})");
    last = flooded.status;
  }
  require_error(flooded, 429, "rate_limited");
  CHECK(std::stoi(flooded.header("retry-after")) >= 1);
  CHECK(request("POST", read, visitor_headers(bob.token), R"({"up_to":1})").status != 429);

  const std::string stream = gw.base_url() + "/chat/acme/web/stream?token=" + ana.token;
  auto other = request("GET", stream + "&visitor=" + bob.visitor, from_shop());
  require_error(other, 403, "forbidden");
  CHECK_THAT(json::parse(other.body)["message"].str(), Catch::Contains("own conversation"));
  std::string forged = bob.token;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'x' ? 'y' : 'x';
  require_error(
      request("GET", gw.base_url() + "/chat/acme/web/stream?token=" + forged, from_shop()), 401,
      "unauthorized");
  require_error(request("GET", stream + "&after=x", from_shop()), 400, "bad_request");
  auto no_origin = request("GET", stream);
  CHECK(no_origin.status == 403);
}

TEST_CASE("the widget script is served with its channel's config and cached by ETag",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  const std::string url = gw.base_url() + "/chat/acme/web/widget.js";
  auto r = request("GET", url);  // a <script> tag sends no Origin
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(r.header("cache-control") == "public, max-age=300");
  CHECK(r.header("x-content-type-options") == "nosniff");
  CHECK(r.header("cross-origin-resource-policy") == "cross-origin");
  const std::string etag = r.header("etag");
  REQUIRE(etag.size() > 2);
  CHECK(r.body.find("__SB_CHANNEL_CONFIG__") == std::string::npos);

  std::ifstream source(std::string(SB_SOURCE_DIR) + "/web/widget/widget.js");
  std::stringstream text;
  text << source.rdbuf();
  if (text.str().find("__SB_CHANNEL_CONFIG__") != std::string::npos) {
    CHECK_THAT(r.body, Catch::Contains(R"("tenant":"acme","channel":"web")"));
    CHECK_THAT(r.body, Catch::Contains(R"("title":"Acme \u003c/script\u003e support")"));
    CHECK_THAT(r.body, Catch::Contains(R"("max_message_bytes":200)"));
  } else {
    CHECK(r.body == text.str());
  }

  auto cached = request("GET", url, {{"If-None-Match", etag}});
  CHECK(cached.status == 304);
  CHECK(cached.body.empty());
  CHECK(request("GET", url, {{"If-None-Match", "\"other\""}}).status == 200);
  // Each channel has its own script (its config), so its own ETag.
  auto app = request("GET", gw.base_url() + "/chat/acme/app/widget.js");
  REQUIRE(app.status == 200);
  CHECK(app.header("etag") != etag);
  CHECK(request("GET", gw.base_url() + "/chat/acme/tg/widget.js").status == 404);
}

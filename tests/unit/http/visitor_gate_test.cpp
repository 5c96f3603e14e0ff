// The web chat visitor gate's rules (src/http/visitor_gate.hpp): the Origin rule, the bodies it
// accepts, the script-safe widget config, and its per-key budgets, on injected time.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "actors/channel_logic.hpp"
#include "core/ids.hpp"
#include "core/ip.hpp"
#include "http/visitor_gate.hpp"

using namespace std::chrono_literals;
using sb::errc;
using namespace sb::http;

namespace {

const sb::token_bucket::time_point t0{std::chrono::hours{1000}};

sb::adapters::visitor_settings shop_settings() {
  sb::adapters::visitor_settings s;
  s.allowed_origins = {"https://shop.example.com", "http://127.0.0.1:8081"};
  return s;
}

std::string header_value(const header_pairs& h, std::string_view name) {
  for (const auto& [n, v] : h) {
    if (n == name) {
      return v;
    }
  }
  return "<absent>";
}

/// acme: a web chat channel "web" and a telegram channel "tg".
sb::config::config chat_config() {
  sb::config::config cfg;
  cfg.storage.master_key = std::string(64, 'a');
  cfg.storage.root_key = cfg.storage.master_key;
  sb::config::tenant_config acme;
  acme.id = "acme";
  sb::config::channel_config web;
  web.name = "web";
  web.type = "webchat";
  web.settings["session_key"] = std::string(64, 'b');
  web.settings["allowed_origins"] = "https://shop.example.com\nhttps://www.example.com";
  web.settings["allow_no_origin"] = "false";
  web.settings["title"] = "Acme </script> & co";
  web.settings["consent_notice"] = "We keep your messages.";
  web.settings["session_ttl_hours"] = "720";
  web.settings["sessions_per_ip_per_minute"] = "2";
  web.settings["messages_per_visitor_per_minute"] = "3";
  web.settings["max_message_bytes"] = "100";
  acme.channels.push_back(web);
  sb::config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  tg.settings["secret_token"] = "s3cret";
  acme.channels.push_back(tg);
  cfg.tenants.push_back(acme);
  return cfg;
}

}  // namespace

TEST_CASE("an Origin is allowed only when it equals an allowed origin exactly",
          "[http][visitor_gate]") {
  const auto s = shop_settings();
  auto ok = check_origin(s, {"https://shop.example.com"});
  REQUIRE(ok);
  CHECK(*ok == "https://shop.example.com");
  CHECK(check_origin(s, {"http://127.0.0.1:8081"}));
  for (std::string_view bad :
       {"https://shop.example.com/", "http://shop.example.com", "https://SHOP.example.com",
        "https://shop.example.com:443", "https://evil.example.com", "null", ""}) {
    INFO(bad);
    auto r = check_origin(s, {bad});
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::forbidden);
    CHECK_THAT(r.err().message, Catch::Contains("allowed_origins"));
  }
  // Two Origin headers: not one origin.
  CHECK_FALSE(check_origin(s, {"https://shop.example.com", "https://shop.example.com"}));
}

TEST_CASE("a request without Origin is served only with allow_no_origin", "[http][visitor_gate]") {
  auto s = shop_settings();
  auto refused = check_origin(s, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::forbidden);
  CHECK_THAT(refused.err().message, Catch::Contains("allow_no_origin"));
  s.allow_no_origin = true;
  auto served = check_origin(s, {});
  REQUIRE(served);
  CHECK(served->empty());
  // allow_no_origin does not open the channel to other websites.
  CHECK_FALSE(check_origin(s, {"https://evil.example.com"}));
}

TEST_CASE("a refused Origin is quoted bounded and printable", "[http][visitor_gate]") {
  const std::string huge = "https://" + std::string(10000, 'a') + "\"\x01";
  auto r = check_origin(shop_settings(), {huge});
  REQUIRE_FALSE(r);
  CHECK(r.err().message.size() < 250);
  CHECK(r.err().message.find('\x01') == std::string::npos);
  auto odd = check_origin(shop_settings(), {"https://a\"b\x7f"});
  REQUIRE_FALSE(odd);
  CHECK_THAT(odd.err().message, Catch::Contains("\"https://a?b?\""));
}

TEST_CASE("CORS headers grant the origin and vary by it", "[http][visitor_gate]") {
  auto h = cors_headers("https://shop.example.com");
  CHECK(header_value(h, "Access-Control-Allow-Origin") == "https://shop.example.com");
  CHECK(header_value(h, "Vary") == "Origin");
  CHECK(header_value(h, "Access-Control-Expose-Headers") == "Retry-After");
  CHECK(header_value(h, "Access-Control-Allow-Credentials") == "<absent>");
  auto none = cors_headers("");
  CHECK(header_value(none, "Access-Control-Allow-Origin") == "<absent>");
  CHECK(header_value(none, "Vary") == "Origin");

  auto p = preflight_headers("OPTIONS, POST");
  CHECK(header_value(p, "Access-Control-Allow-Methods") == "POST");
  CHECK(header_value(p, "Access-Control-Allow-Headers") ==
        "Authorization, Content-Type, Last-Event-ID");
  CHECK(header_value(p, "Access-Control-Max-Age") == "600");
  CHECK(header_value(preflight_headers("GET, OPTIONS, POST"), "Access-Control-Allow-Methods") ==
        "GET, POST");
}

TEST_CASE("the bearer token is read case-insensitively and nothing else is",
          "[http][visitor_gate]") {
  CHECK(bearer_of("Bearer wct1.abc") == "wct1.abc");
  CHECK(bearer_of("bearer wct1.abc") == "wct1.abc");
  CHECK(bearer_of("Basic dXNlcg==").empty());
  CHECK(bearer_of("Bearer ").empty());
  CHECK(bearer_of("").empty());
}

TEST_CASE("a session body is empty or strictly name e-mail and purposes", "[http][visitor_gate]") {
  for (std::string_view empty : {"", "  \n", "{}"}) {
    auto b = parse_session_body(empty);
    REQUIRE(b);
    CHECK(b->empty());
  }
  auto full = parse_session_body(
      R"({"name":"Zoë","email":"zoe@example.com","purposes":{"analytics":false,"marketing":true}})");
  REQUIRE(full);
  CHECK(full->name == "Zoë");
  CHECK(full->email == "zoe@example.com");
  REQUIRE(full->purposes.size() == 2);
  CHECK(full->purposes[0] == std::make_pair(std::string("analytics"), false));
  CHECK(full->purposes[1] == std::make_pair(std::string("marketing"), true));
  CHECK_FALSE(full->empty());
  // Empty strings read as not given.
  auto blank = parse_session_body(R"({"name":"","email":""})");
  REQUIRE(blank);
  CHECK(blank->empty());
  // 100 characters of two bytes each is within the bound; 101 is not.
  std::string hundred;
  for (int i = 0; i < 100; ++i) {
    hundred += "é";
  }
  CHECK(parse_session_body(R"({"name":")" + hundred + "\"}"));
  CHECK_FALSE(parse_session_body(R"({"name":")" + hundred + "e\"}"));
  CHECK(parse_session_body(R"({"email":")" + std::string(242, 'a') + "@example.com\"}"));
  CHECK_FALSE(parse_session_body(R"({"email":")" + std::string(243, 'a') + "@example.com\"}"));

  for (std::string_view bad : {R"([])",
                               R"("x")",
                               R"({"name":1})",
                               R"({"name":"a","age":3})",
                               R"({"nick":"a"})",
                               R"({"name":"a","name":"b"})",
                               R"({"name":"tab\there"})",
                               R"({"email":"nobody"})",
                               R"({"email":"a@b"})",
                               R"({"email":"a@@b.example"})",
                               R"({"email":"@b.example"})",
                               R"({"email":"a b@c.example"})",
                               R"({"email":"a@b.example."})",
                               R"({"email":"a@.example"})",
                               R"({"purposes":[]})",
                               R"({"purposes":{"sales":true}})",
                               R"({"purposes":{"ai":"yes"}})",
                               R"({"purposes":{"ai":true,"ai":false}})",
                               R"({"name":"a")",
                               R"(null)"}) {
    INFO(bad);
    auto r = parse_session_body(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::bad_request);
    CHECK_FALSE(r.err().message.empty());
  }
  CHECK_THAT(parse_session_body(R"({"age":3})").err().message, Catch::Contains("\"age\""));
  CHECK_THAT(parse_session_body(R"({"purposes":{"sales":true}})").err().message,
             Catch::Contains("marketing"));
}

TEST_CASE("a read body is exactly a positive up_to", "[http][visitor_gate]") {
  auto ok = parse_read_body(R"({"up_to":42})");
  REQUIRE(ok);
  CHECK(*ok == 42);
  for (std::string_view bad :
       {"", "{}", R"({"up_to":0})", R"({"up_to":-1})", R"({"up_to":1.5})", R"({"up_to":"4"})",
        R"({"up_to":4,"more":1})", R"({"up_to":4,"up_to":5})", R"([4])", R"({"upto":4})"}) {
    INFO(bad);
    auto r = parse_read_body(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::bad_request);
    CHECK_THAT(r.err().message, Catch::Contains("up_to"));
  }
}

TEST_CASE("the session answer and the start_visitor_session body", "[http][visitor_gate]") {
  const auto answer = session_answer("vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K", "wct1.x.y",
                                     sb::timestamp::from_seconds(1767225600));
  CHECK(answer == R"({"visitor":"vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K","token":"wct1.x.y",)"
                  R"("expires_at":"2026-01-01T00:00:00Z"})");
  session_body b;
  b.email = "zoe@example.com";
  b.purposes = {{"marketing", false}};
  CHECK(session_call_body("vis_1", b, answer) ==
        R"({"visitor":"vis_1","email":"zoe@example.com","purposes":{"marketing":false},)"
        R"("answer":)" +
            answer + "}");
}

TEST_CASE("the widget config is JSON that cannot end a script", "[http][visitor_gate]") {
  sb::adapters::visitor_settings s;
  s.title = "</script><script>alert(1)</script> & \xE2\x80\xA8 \xE2\x80\xA9";
  s.consent_notice = "We keep \"your\" messages.";
  s.max_message_bytes = 4096;
  const std::string cfg = widget_config("acme", "web", s);
  for (std::string_view unsafe : {"<", ">", "&", "\xE2\x80\xA8", "\xE2\x80\xA9"}) {
    CHECK(cfg.find(unsafe) == std::string::npos);
  }
  CHECK_THAT(cfg, Catch::Contains("\\u003c/script\\u003e"));
  CHECK_THAT(cfg, Catch::Contains("\\u0026"));
  CHECK_THAT(cfg, Catch::Contains("\\u2028"));
  // Still the same JSON value.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(cfg).get(root) == simdjson::SUCCESS);
  std::string_view title;
  REQUIRE(root["title"].get_string().get(title) == simdjson::SUCCESS);
  CHECK(title == s.title);
  std::uint64_t max = 0;
  REQUIRE(root["max_message_bytes"].get_uint64().get(max) == simdjson::SUCCESS);
  CHECK(max == 4096);
  std::string_view tenant;
  REQUIRE(root["tenant"].get_string().get(tenant) == simdjson::SUCCESS);
  CHECK(tenant == "acme");
}

TEST_CASE("the widget's placeholder is replaced once", "[http][visitor_gate]") {
  CHECK(render_widget("const C = __SB_CHANNEL_CONFIG__;\nrun(C);", R"({"a":1})") ==
        "const C = {\"a\":1};\nrun(C);");
  CHECK(render_widget("no placeholder", R"({"a":1})") == "no placeholder");
}

TEST_CASE("If-None-Match matches the ETag weakly and in lists", "[http][visitor_gate]") {
  CHECK(etag_matches("\"abc\"", "\"abc\""));
  CHECK(etag_matches("W/\"abc\"", "\"abc\""));
  CHECK(etag_matches("\"x\", \"abc\"", "\"abc\""));
  CHECK(etag_matches("*", "\"abc\""));
  CHECK_FALSE(etag_matches("\"abd\"", "\"abc\""));
  CHECK_FALSE(etag_matches("", "\"abc\""));
  CHECK_FALSE(etag_matches("abc", "\"abc\""));
}

TEST_CASE("the channel's 200 becomes the visitor's 202", "[http][visitor_gate]") {
  CHECK(accepted_duplicate(R"({"status":"ok","events":1,"duplicates":0})") == false);
  CHECK(accepted_duplicate(R"({"status":"ok","events":0,"duplicates":1})") == true);
  CHECK_FALSE(accepted_duplicate(R"({"status":"ok","events":0,"duplicates":0})"));
  CHECK_FALSE(accepted_duplicate(R"({"status":"ok","events":1,"duplicates":1})"));
  CHECK_FALSE(accepted_duplicate(R"({"status":"ok","events":2,"duplicates":0})"));
  CHECK_FALSE(accepted_duplicate(R"({"error":"bad_request","message":"x"})"));
  CHECK_FALSE(accepted_duplicate("not json"));
  CHECK(message_answer(true) == R"({"accepted":true,"duplicate":true})");
  CHECK(message_answer(false) == R"({"accepted":true,"duplicate":false})");
}

TEST_CASE("per-key budgets refuse past the rate and refill", "[http][visitor_gate]") {
  keyed_buckets b(3);  // 3 a minute, a burst of 3
  CHECK(b.take("a", t0) == 0);
  CHECK(b.take("a", t0) == 0);
  CHECK(b.take("a", t0) == 0);
  const int wait = b.take("a", t0);
  CHECK(wait == 20);
  CHECK(b.take("b", t0) == 0);  // another key has its own budget
  CHECK(b.take("a", t0 + 19s) > 0);
  CHECK(b.take("a", t0 + 20s) == 0);
}

TEST_CASE("per-key budgets hold at most max_keys keys", "[http][visitor_gate]") {
  keyed_buckets b(1, 100);
  for (int i = 0; i < 1000; ++i) {
    CHECK(b.take("k" + std::to_string(i), t0) == 0);
    REQUIRE(b.size() <= 100);
  }
  CHECK(b.size() == 100);
  // The most recently used keys are kept (and still refused); the oldest were forgotten.
  CHECK(b.take("k999", t0) > 0);
  CHECK(b.take("k0", t0) == 0);

  keyed_buckets unlimited(0);
  for (int i = 0; i < 100; ++i) {
    CHECK(unlimited.take("a", t0) == 0);
  }
  CHECK(unlimited.size() == 0);
}

TEST_CASE("an IPv6 source is budgeted per /64", "[http][visitor_gate]") {
  auto v4 = sb::ip::parse_address("192.0.2.7");
  auto a = sb::ip::parse_address("2001:db8:1:2::1");
  auto b = sb::ip::parse_address("2001:db8:1:2:ffff::9");
  auto c = sb::ip::parse_address("2001:db8:1:3::1");
  REQUIRE((v4 && a && b && c));
  CHECK(source_key(*v4) == "192.0.2.7");
  CHECK(source_key(*a) == source_key(*b));
  CHECK(source_key(*a) != source_key(*c));
}

TEST_CASE("the gate knows the visitor channels only and derives subjects as the channel does",
          "[http][visitor_gate]") {
  const auto cfg = chat_config();
  visitor_gate gate(cfg);
  CHECK(gate.find("acme", "tg") == nullptr);
  CHECK(gate.find("acme", "nope") == nullptr);
  CHECK(gate.find("globex", "web") == nullptr);
  const visitor_channel* web = gate.find("acme", "web");
  REQUIRE(web != nullptr);
  CHECK(web->settings.allowed_origins.size() == 2);
  CHECK(web->settings.max_message_bytes == 100);
  const std::string visitor = "vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K";
  CHECK(web->subject_of(visitor) ==
        sb::ids::subject_id(sb::actors::derive_subject_key(cfg.storage.master_key, "acme"),
                            "webchat", "web", visitor));
  // Budgets from the settings: 2 sessions per address, 3 messages per visitor.
  CHECK(web->sessions->take("192.0.2.1", t0) == 0);
  CHECK(web->sessions->take("192.0.2.1", t0) == 0);
  CHECK(web->sessions->take("192.0.2.1", t0) > 0);
  // The widget, rendered once with its config, when the asset holds the placeholder.
  REQUIRE_FALSE(web->widget.empty());
  CHECK(web->widget.find(k_widget_placeholder) == std::string::npos);
  CHECK_THAT(web->widget, Catch::Contains(widget_config("acme", "web", web->settings)));
  CHECK(web->widget_etag.size() == 18);
  CHECK(web->widget_etag.front() == '"');
}

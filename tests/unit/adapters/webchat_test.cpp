#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "adapters/webchat/session_token.hpp"
#include "adapters/webchat/webchat.hpp"
#include "unit/adapters/signing.hpp"

using sb::errc;
using sb::timestamp;
namespace webchat = sb::adapters::webchat;

namespace {

const std::string k_key = "3f0b6c1e9a4d7f2e8b5c0a1d6e9f3b7c2a8d4e1f0b9c6a3d7e2f5b8c1a4d0e9f";
const std::string k_visitor = "vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K";
const timestamp k_now = timestamp::from_seconds(1764000000);

sb::config::channel_config channel(std::map<std::string, std::string> more = {}) {
  std::map<std::string, std::string> s{{"session_key", k_key},
                                       {"allowed_origins", "https://shop.example.com"},
                                       {"allow_no_origin", "false"},
                                       {"title", "Acme support"},
                                       {"consent_notice", ""},
                                       {"session_ttl_hours", "720"},
                                       {"sessions_per_ip_per_minute", "10"},
                                       {"messages_per_visitor_per_minute", "30"},
                                       {"max_message_bytes", "4096"}};
  for (auto& [k, v] : more) {
    s[k] = v;
  }
  return sb::test::make_channel("web", "webchat", s);
}

/// A visitor's message as the edge submits it: the body and the visitor's bearer token.
sb::test::webhook_request message(const std::string& body, const std::string& token) {
  sb::test::webhook_request w;
  w.body = sb::test::padded(body);
  w.headers = {{"authorization", "Bearer " + token}};
  w.now = k_now;
  return w;
}

std::string token(timestamp expires = timestamp::from_seconds(1764000000 + 3600),
                  const std::string& key = k_key, const std::string& visitor = k_visitor) {
  return webchat::mint_token(key, visitor, expires);
}

sb::errc code_of(const sb::status& s) {
  return s.ok() ? errc::ok : s.err().code;
}

sb::errc code_of(const sb::result<sb::adapters::visitor_session>& s) {
  return s.ok() ? errc::ok : s.err().code;
}

}  // namespace

TEST_CASE("a web chat session token names its visitor and is checked without a lookup",
          "[webchat]") {
  const auto t = token();
  CHECK(t.rfind("wct1.", 0) == 0);
  CHECK(t.find(k_visitor) == std::string::npos);  // opaque: the visitor id is not in clear
  auto s = webchat::check_token(k_key, t, k_now);
  REQUIRE(s.ok());
  CHECK(s->visitor == k_visitor);
  CHECK(s->expires.unix_ms == (1764000000LL + 3600) * 1000);
}

TEST_CASE("a forged, foreign, altered or expired web chat token is refused", "[webchat]") {
  const auto t = token();
  // Another channel's key (another tenant or channel derives another key).
  CHECK(code_of(webchat::check_token(std::string(64, 'b'), t, k_now)) == errc::unauthorized);
  // One character changed anywhere.
  for (std::size_t i : {std::size_t{6}, t.size() / 2, t.size() - 2}) {
    auto altered = t;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    CHECK(code_of(webchat::check_token(k_key, altered, k_now)) == errc::unauthorized);
  }
  // Expired: refused from its expiry on, with a message that says so.
  auto expired = webchat::check_token(k_key, token(k_now), k_now);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.err().message.find("expired") != std::string::npos);
  // Not a token at all, or absurdly long: refused before any decoding.
  CHECK(code_of(webchat::check_token(k_key, "", k_now)) == errc::unauthorized);
  CHECK(code_of(webchat::check_token(k_key, "wct1." + std::string(400, 'A'), k_now)) ==
        errc::unauthorized);
  // A well-signed payload that is not a visitor id is refused too.
  CHECK(code_of(webchat::check_token(k_key, token(k_now, k_key, "vis_short"), k_now)) ==
        errc::unauthorized);
}

TEST_CASE("visitor ids are vis_ and 26 Crockford characters", "[webchat]") {
  CHECK(webchat::is_visitor_id(k_visitor));
  CHECK_FALSE(webchat::is_visitor_id("vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6"));   // 25
  CHECK_FALSE(webchat::is_visitor_id("vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6U"));  // U is not Crockford
  CHECK_FALSE(webchat::is_visitor_id("usr_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K"));
}

TEST_CASE("a visitor's message is a webchat message of their conversation", "[webchat]") {
  auto a = webchat::info().make(channel());
  auto post = message(R"({"text":"Is the blue jacket still available in M?","client_id":"c-17"})",
                      token());
  REQUIRE(a->verify(post.req()).ok());
  std::vector<sb::event> out;
  REQUIRE(a->parse(post.req(), out).ok());
  REQUIRE(out.size() == 1);
  const auto& e = out[0];
  CHECK(e.type == "message");
  CHECK(e.channel.name == "web");
  CHECK(e.channel.type == "webchat");
  CHECK(e.conversation == "web:" + k_visitor);
  CHECK(e.peer == k_visitor);
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == k_visitor);
  CHECK(e.platform_event_id == "c-17");
  CHECK(e.content.text == "Is the blue jacket still available in M?");
  CHECK(e.occurred_at.unix_ms == k_now.unix_ms);  // the reception: a browser's clock is not trusted
  CHECK(e.subject_source == k_visitor);
  // Per visitor: another visitor's same client_id is another message.
  CHECK(e.dedupe_key == "m:" + k_visitor + ":c-17");
}

TEST_CASE("a visitor's bad message is refused as the visitor's request and never quarantined",
          "[webchat]") {
  auto a = webchat::info().make(channel({{"max_message_bytes", "10"}}));
  for (const char* body : {R"({"text":"hi"})", R"({"client_id":"c"})", R"({"text":"","client_id":"c"})",
                           R"({"text":"hi","client_id":"c","admin":true})", R"(["hi"])", "not json",
                           R"({"text":"longer than ten","client_id":"c"})",
                           R"({"text":7,"client_id":"c"})"}) {
    INFO(body);
    auto post = message(body, token());
    std::vector<sb::event> out;
    auto parsed = a->parse(post.req(), out);
    CHECK(code_of(parsed) == errc::bad_request);  // 400 from the channel, not quarantined
    CHECK(out.empty());
  }
  // Without a token of this channel nothing is parsed (the channel verifies first anyway).
  auto foreign = message(R"({"text":"hi","client_id":"c"})", token(timestamp::from_seconds(1764003600),
                                                                    std::string(64, 'c')));
  CHECK(code_of(a->verify(foreign.req())) == errc::bad_signature);
  auto missing = message(R"({"text":"hi","client_id":"c"})", "");
  missing.headers.clear();
  CHECK(code_of(a->verify(missing.req())) == errc::missing_signature);
}

TEST_CASE("a web chat channel's settings are checked when the config loads", "[webchat]") {
  const auto& check = webchat::info().schema.check;
  REQUIRE(check);
  CHECK(check(channel()).empty());
  auto problems = check(channel({{"allowed_origins", "https://shop.example.com/\nshop.example.com"},
                                 {"max_message_bytes", "0"},
                                 {"session_ttl_hours", "x"}}));
  std::vector<std::string> keys;
  for (const auto& p : problems) {
    keys.push_back(p.key);
  }
  CHECK(keys == std::vector<std::string>{"allowed_origins", "allowed_origins", "session_ttl_hours",
                                         "max_message_bytes"});
  // No origin at all: only for native apps, said explicitly.
  CHECK_FALSE(check(channel({{"allowed_origins", ""}})).empty());
  CHECK(check(channel({{"allowed_origins", ""}, {"allow_no_origin", "true"}})).empty());
  const auto s = webchat::info().visitors.settings(channel());
  CHECK(s.allowed_origins == std::vector<std::string>{"https://shop.example.com"});
  CHECK(s.session_ttl_ms == 720LL * 3600 * 1000);
  CHECK(s.max_message_bytes == 4096);
}

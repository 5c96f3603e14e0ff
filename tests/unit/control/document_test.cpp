// The control plane's documents (src/control/document.hpp): JSON merge patch as RFC 7396 says,
// the stored form's round trip, the tenant composed for the loader (a grace that ended drops its
// previous secret), and what the API shows of secrets and tokens.
#include <catch2/catch.hpp>

#include "adapters/adapter.hpp"
#include "control/document.hpp"

using namespace sb;
using namespace sb::control;

TEST_CASE("a merge patch replaces members, removes nulls and merges objects recursively",
          "[control]") {
  // RFC 7396 appendix A, a selection.
  CHECK(merge_patch(R"({"a":"b"})", R"({"a":"c"})") == R"({"a":"c"})");
  CHECK(merge_patch(R"({"a":"b"})", R"({"b":"c"})") == R"({"a":"b","b":"c"})");
  CHECK(merge_patch(R"({"a":"b"})", R"({"a":null})") == R"({})");
  CHECK(merge_patch(R"({"a":"b","b":"c"})", R"({"a":null})") == R"({"b":"c"})");
  CHECK(merge_patch(R"({"a":["b"]})", R"({"a":"c"})") == R"({"a":"c"})");
  CHECK(merge_patch(R"({"a":"c"})", R"({"a":["b"]})") == R"({"a":["b"]})");
  CHECK(merge_patch(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})") == R"({"a":{"b":"d"}})");
  CHECK(merge_patch(R"({"a":[{"b":"c"}]})", R"({"a":[1]})") == R"({"a":[1]})");
  CHECK(merge_patch(R"(["a","b"])", R"(["c","d"])") == R"(["c","d"])");
  CHECK(merge_patch(R"({"a":"b"})", R"(["c"])") == R"(["c"])");
  CHECK(merge_patch(R"({"e":null})", R"({"a":1})") == R"({"e":null,"a":1})");
  CHECK(merge_patch("", R"({"a":{"bb":{"ccc":null}}})") == R"({"a":{"bb":{}}})");
  CHECK(merge_patch("", R"({"id":"t2", "rate_limit" : { "rps": 5 }})") ==
        R"({"id":"t2","rate_limit":{"rps":5}})");
}

TEST_CASE("members of a JSON object are read by name", "[control]") {
  CHECK(member(R"({"a":{"b":1},"c":"d"})", "a") == std::optional<std::string>(R"({"b":1})"));
  CHECK_FALSE(member(R"({"a":1})", "b"));
  CHECK_FALSE(member("[1]", "a"));
  CHECK(string_member(R"({"c":"d"})", "c") == std::optional<std::string>("d"));
  CHECK_FALSE(string_member(R"({"c":1})", "c"));
  CHECK(member_names(R"({"x":1,"y":2})") == std::vector<std::string>{"x", "y"});
  CHECK(is_object("{}"));
  CHECK_FALSE(is_object("[]"));
  CHECK_FALSE(is_object("{"));
}

namespace {

tenant_document sample() {
  tenant_document d;
  d.id = "bistro";
  d.body = R"({"id":"bistro","rate_limit":{"rps":10}})";
  channel_entry c;
  c.name = "tg";
  c.body =
      R"({"name":"tg","type":"telegram","secret_token":"new-secret-value-1","secret_token_previous":"old-secret-value-1"})";
  c.secret_set_at["secret_token"] = 1000;
  c.previous_until["secret_token"] = 5000;
  d.channels.push_back(c);
  subscriber_entry s;
  s.name = "desk";
  s.body =
      R"({"name":"desk","scopes":["stream"],"token_sha256":"ab12","push":{"url":"https://x.example/h","secret":"whsec_abc"}})";
  s.created_at_ms = 900;
  s.token_set_at_ms = 950;
  d.subscribers.push_back(s);
  d.former_channels = {"wa"};
  d.created_at_ms = 800;
  d.updated_at_ms = 1000;
  return d;
}

}  // namespace

TEST_CASE("a tenant document survives its stored form", "[control]") {
  const auto d = sample();
  auto back = parse_document(to_json(d));
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(d));
  CHECK(back->channels.at(0).previous_until.at("secret_token") == 5000);
  CHECK(back->former_channels == std::vector<std::string>{"wa"});
  CHECK_FALSE(parse_document("{}"));
  CHECK_FALSE(parse_document(R"({"v":2,"id":"x","body":{}})"));
}

TEST_CASE("the composed tenant keeps a previous secret only while its grace lasts", "[control]") {
  const auto d = sample();
  const auto during = tenant_json(d, 4999);
  CHECK(during.find("old-secret-value-1") != std::string::npos);
  CHECK(during.find(R"("channels":[{"name":"tg")") != std::string::npos);
  CHECK(during.find(R"("subscribers":[{"name":"desk")") != std::string::npos);
  const auto after = tenant_json(d, 5000);
  CHECK(after.find("old-secret-value-1") == std::string::npos);
  CHECK(after.find("new-secret-value-1") != std::string::npos);
  CHECK(next_grace_end(d, 4000) == std::optional<std::int64_t>(5000));
  CHECK_FALSE(next_grace_end(d, 5000));
}

TEST_CASE("the API shows secrets and tokens only as set", "[control]") {
  const auto d = sample();
  const auto ch = redacted_channel(d.channels.at(0), adapters::schemas());
  CHECK(ch.find("secret-value") == std::string::npos);
  CHECK(ch.find("_previous") == std::string::npos);
  CHECK(
      ch.find(
          R"("secret_token":{"set":true,"set_at":"1970-01-01T00:00:01.000Z","previous_until":"1970-01-01T00:00:05.000Z"})") !=
      std::string::npos);
  const auto sub = redacted_subscriber(d.subscribers.at(0));
  CHECK(sub.find("ab12") == std::string::npos);
  CHECK(sub.find("whsec_abc") == std::string::npos);
  CHECK(sub.find(R"("token":{"set":true,"set_at":"1970-01-01T00:00:00.950Z"})") !=
        std::string::npos);
  CHECK(sub.find(R"("url":"https://x.example/h")") != std::string::npos);
  CHECK(writable_secrets(adapters::schemas(), "telegram") ==
        std::vector<std::string>{"secret_token", "bot_token"});
}

// Tenants, channels and subscribers given by API (issue 17's control plane): the body is read by
// the config file's key tables, with the file's defaults and messages, and its problems come back
// with JSON pointers, every one at once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "config_test_support.hpp"
#include "core/crypto.hpp"

using sb::config::object_problem;
using sb::test::config::scoped_env;
using strings = std::vector<std::string>;

namespace {

const std::string k_master_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// The example config's helpdesk token (sbt_dev_helpdesk_change_me), held by beta's helpdesk.
const std::string k_beta_token = "faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e";
const std::string k_ops_token = "1111111111111111111111111111111111111111111111111111111111111111";
const std::string k_new_token = "2222222222222222222222222222222222222222222222222222222222222222";

const std::vector<sb::config::channel_schema>& schemas() {
  static const auto s = sb::adapters::schemas();
  return s;
}

/// Lines 1-6 of a file: storage, a global retention of 90 days and an operator.
std::string head() {
  return "storage:\n  master_key: \"" + k_master_hex +
         "\"\nprivacy:\n  retention_days: 90\noperators:\n  - {name: ops, token_sha256: " +
         k_ops_token + "}\n";
}

/// The tenant `beta` the gateway is running, from line 8 of a file.
const std::string k_beta = R"(  - id: beta
    channels:
      - {name: tg, type: telegram, secret_token: beta-secret-1}
    subscribers:
      - {name: helpdesk, token_sha256: faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e, scopes: [stream]}
)";

/// The running config: beta and the operator.
const sb::config::config& running() {
  static const auto r =
      sb::config::load_string(head() + "tenants:\n" + k_beta, "run.yaml", schemas());
  REQUIRE(r.errors.problems == strings{});
  return *r.cfg;
}

const sb::config::tenant_config& beta() {
  return *running().find_tenant("beta");
}

/// The same config with `tenant_body` (one JSON line) as a second tenant: YAML reads JSON, so
/// the file gets exactly the text the API gets.
sb::config::load_result file_with(const std::string& tenant_body) {
  return sb::config::load_string(head() + "tenants:\n" + k_beta + "  - " + tenant_body + "\n",
                                 "test.yaml", schemas());
}

/// The file's problems of `file_with(tenant_body)`, as (path below tenants[1], message).
std::vector<std::pair<std::string, std::string>> file_problems(const std::string& tenant_body) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : file_with(tenant_body).errors.problems) {
    const auto path_at = p.find(": ") + 2;  // after "test.yaml:13"
    const auto message_at = p.find(": ", path_at);
    std::string path = p.substr(path_at, message_at - path_at);
    const std::string prefix = "tenants[1].";
    REQUIRE(path.rfind(prefix, 0) == 0);
    out.emplace_back(path.substr(prefix.size()), p.substr(message_at + 2));
  }
  return out;
}

strings pointers(const std::vector<object_problem>& ps) {
  strings out;
  for (const auto& p : ps) {
    out.push_back(p.pointer);
  }
  return out;
}

strings messages(const std::vector<object_problem>& ps) {
  strings out;
  for (const auto& p : ps) {
    out.push_back(p.message);
  }
  return out;
}

/// The one problem of a body, which must be the body's own (pointer "").
std::string root_problem(const std::vector<object_problem>& ps) {
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].pointer.empty());
  return ps[0].message;
}

const std::string k_acme =
    R"({"id": "acme", "rate_limit": {"rps": 20}, "channels": [{"name": "tg", "type": "telegram", "secret_token": "acme-tg-secret", "bot_token": "123456789:AAE-acme"}, {"name": "web", "type": "webchat", "allowed_origins": ["https://shop.acme.example"]}], "subscribers": [{"name": "desk", "token_sha256": "2222222222222222222222222222222222222222222222222222222222222222", "scopes": ["stream", "send"]}]})";

}  // namespace

TEST_CASE("a tenant given by API is the tenant the file would give", "[config][object]") {
  auto r = sb::config::parse_tenant_object(k_acme, running(), schemas());
  REQUIRE(pointers(r.problems) == strings{});
  REQUIRE(r.ok());
  const auto& t = *r.value;

  auto f = file_with(k_acme);
  REQUIRE(f.errors.problems == strings{});
  const auto& expected = *f.cfg->find_tenant("acme");

  CHECK(t.id == "acme");
  CHECK(t.rate_limit.rps == 20);
  CHECK(t.rate_limit.burst == expected.rate_limit.burst);  // burst defaults to rps
  CHECK(t.rate_limit.burst == 20);
  // The running config's global retention reaches the tenant, as in the file.
  CHECK(t.privacy.retention_days == 90);
  CHECK(t.privacy.retention_days == expected.privacy.retention_days);
  CHECK(t.privacy.opt_out_keywords == expected.privacy.opt_out_keywords);
  CHECK(t.privacy.allow_replies_after_opt_out == expected.privacy.allow_replies_after_opt_out);
  REQUIRE(t.channels.size() == 2);
  for (std::size_t i = 0; i < t.channels.size(); ++i) {
    INFO(t.channels[i].name);
    CHECK(t.channels[i].name == expected.channels[i].name);
    CHECK(t.channels[i].type == expected.channels[i].type);
    // Every default and the derived web chat key (from the same root key) included.
    CHECK(t.channels[i].settings == expected.channels[i].settings);
  }
  CHECK(t.channels[0].get("api_base") == "https://api.telegram.org");
  CHECK(t.channels[0].source == "<api>:1");
  CHECK(t.channels[1].get("title") == "Chat with us");
  REQUIRE(t.subscribers.size() == 1);
  const auto& s = t.subscribers[0];
  const auto& es = expected.subscribers[0];
  CHECK(s.name == "desk");
  CHECK(s.token_sha256 == k_new_token);
  CHECK(s.scopes == es.scopes);
  CHECK(s.has_scope(sb::config::scope::send));
  CHECK(s.purposes == strings{"support"});
  CHECK_FALSE(s.push);
  CHECK(s.send_rate_limit.rps == es.send_rate_limit.rps);
}

TEST_CASE("a body's problems all come back with pointers and the file's messages",
          "[config][object]") {
  const std::string body =
      R"({"id": "acme", "rate_limit": {"rps": -1}, "channels": [{"name": "tg", "type": "telegram", "bot_token": "123456789:AAE-acme"}], "subscribers": [{"name": "desk", "token_sha256": ")" +
      k_new_token + R"(", "scopes": ["stream", "root"]}]})";
  auto r = sb::config::parse_tenant_object(body, running(), schemas());
  CHECK_FALSE(r.value);
  CHECK(pointers(r.problems) ==
        strings{"/rate_limit/rps", "/channels/0/secret_token", "/subscribers/0/scopes/1"});
  CHECK(messages(r.problems) == strings{
                                    "must be a number >= 0 (got '-1')",
                                    "missing secret",
                                    "unknown scope 'root'; known: stream, send, privacy, admin",
                                });
  // Exactly the file's messages for the same keys.
  const auto file = file_problems(body);
  REQUIRE(file.size() == 3);
  CHECK(file[0] == std::make_pair(std::string("rate_limit.rps"), r.problems[0].message));
  CHECK(file[1] == std::make_pair(std::string("channels[0].secret_token"), r.problems[1].message));
  CHECK(file[2] == std::make_pair(std::string("subscribers[0].scopes[1]"), r.problems[2].message));
}

TEST_CASE("an unknown key in a body gets the file's did you mean", "[config][object]") {
  auto t = sb::config::parse_tenant_object(R"({"id": "acme", "privacy": {"retention": 7}})",
                                           running(), schemas());
  REQUIRE(t.problems.size() == 1);
  CHECK(t.problems[0].pointer == "/privacy/retention");
  CHECK(t.problems[0].message == "unknown key; did you mean 'retention_days'?");

  auto c = sb::config::parse_channel_object(
      R"({"name": "tg2", "type": "telegram", "secret_tokn": "s"})", beta(), running(), schemas());
  CHECK(pointers(c.problems) == strings{"/secret_tokn", "/secret_token"});
  CHECK(messages(c.problems) ==
        strings{"unknown key for channel type telegram; did you mean 'secret_token'?",
                "missing secret"});
}

TEST_CASE("keys that are not names still get a pointer of their own", "[config][object]") {
  auto r = sb::config::parse_tenant_object(
      R"({"id": "acme", "a/b~c": 1, "x.y": 2, "privacy": {"[0]": true}})", running(), schemas());
  CHECK(pointers(r.problems) == strings{"/a~1b~0c", "/x.y", "/privacy/[0]"});
  // A required key that is missing is pointed at where it belongs.
  auto c = sb::config::parse_tenant_object(R"({"id": "acme", "channels": [{"name": "x"}]})",
                                           running(), schemas());
  CHECK(pointers(c.problems) == strings{"/channels/0/type"});
}

TEST_CASE("an id or name already in use is refused against the running config",
          "[config][object]") {
  auto t = sb::config::parse_tenant_object(R"({"id": "beta"})", running(), schemas());
  REQUIRE(t.problems.size() == 1);
  CHECK(t.problems[0].pointer == "/id");
  CHECK(t.problems[0].message == "duplicate tenant id 'beta' (already in use)");

  auto c = sb::config::parse_channel_object(
      R"({"name": "tg", "type": "telegram", "secret_token": "beta-secret-2"})", beta(), running(),
      schemas());
  REQUIRE(c.problems.size() == 1);
  CHECK(c.problems[0].pointer == "/name");
  CHECK(c.problems[0].message == "duplicate channel name 'tg' (already in use in tenant 'beta')");

  auto s = sb::config::parse_subscriber_object(
      R"({"name": "helpdesk", "token_sha256": ")" + k_new_token + R"("})", beta(), running(),
      schemas());
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].pointer == "/name");
  CHECK(s.problems[0].message ==
        "duplicate subscriber name 'helpdesk' (already in use in tenant 'beta')");

  // Within one body the file's own rule holds, with the body's lines.
  auto twice = sb::config::parse_tenant_object(
      "{\n  \"id\": \"acme\",\n  \"channels\": [\n    {\"name\": \"tg\", \"type\": \"telegram\", "
      "\"secret_token\": \"a\"},\n    {\"name\": \"tg\", \"type\": \"telegram\", "
      "\"secret_token\": \"b\"}\n  ]\n}",
      running(), schemas());
  REQUIRE(twice.problems.size() == 1);
  CHECK(twice.problems[0].pointer == "/channels/1/name");
  CHECK(twice.problems[0].message == "duplicate channel name 'tg' (first at line 4)");
}

TEST_CASE("a token any subscriber or operator holds is refused with the file's message",
          "[config][object]") {
  auto upper = k_beta_token;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto s = sb::config::parse_subscriber_object(
      R"({"name": "desk", "token_sha256": ")" + upper + R"(", "scopes": ["stream"]})", beta(),
      running(), schemas());
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].pointer == "/token_sha256");
  CHECK(s.problems[0].message ==
        "same token as subscriber 'helpdesk' of tenant 'beta'; a token belongs to one subscriber");

  // In another tenant's body, and an operator's token.
  auto t = sb::config::parse_tenant_object(
      R"({"id": "acme", "subscribers": [{"name": "a", "token_sha256": ")" + k_beta_token +
          R"("}, {"name": "b", "token_sha256": ")" + k_ops_token + R"("}]})",
      running(), schemas());
  CHECK(pointers(t.problems) ==
        strings{"/subscribers/0/token_sha256", "/subscribers/1/token_sha256"});
  CHECK(messages(t.problems) ==
        strings{"same token as subscriber 'helpdesk' of tenant 'beta'; a token belongs to one "
                "subscriber",
                "same token as operator 'ops'; a token belongs to one subscriber"});
  // The file's message, but for where the first holder is (a line of this text there).
  const auto file =
      file_problems(R"({"id": "acme", "subscribers": [{"name": "a", "token_sha256": ")" +
                    k_beta_token + R"("}]})");
  REQUIRE(file.size() == 1);
  CHECK(file[0].second ==
        "same token as tenants[0].subscribers[0] (line 12); a token belongs to one subscriber");
}

TEST_CASE("a subscriber body gets the file's defaults and rules", "[config][object]") {
  auto s = sb::config::parse_subscriber_object(
      R"({"name": "assistant", "purposes": ["ai"], "push": {"url": "https://ai.acme.example/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})",
      beta(), running(), schemas());
  REQUIRE(pointers(s.problems) == strings{});
  REQUIRE(s.value);
  CHECK(s.value->token_sha256.empty());
  CHECK(s.value->scopes == 0);
  CHECK(s.value->purposes == strings{"ai"});
  REQUIRE(s.value->push);
  CHECK(s.value->push->url == "https://ai.acme.example/hook");
  CHECK_FALSE(s.value->push->timeout_ms);  // the gateway's delivery default

  auto lonely =
      sb::config::parse_subscriber_object(R"({"name": "lonely"})", beta(), running(), schemas());
  CHECK(root_problem(lonely.problems) ==
        "needs token_sha256 (API access) or push (delivery), or both");
}

TEST_CASE("a derived channel key comes from the running root key and is refused in a body",
          "[config][object]") {
  const std::string body =
      R"({"name": "web", "type": "webchat", "allowed_origins": "https://shop.beta.example"})";
  auto c = sb::config::parse_channel_object(body, beta(), running(), schemas());
  REQUIRE(pointers(c.problems) == strings{});
  const auto key = c.value->get("session_key");
  CHECK(key == sb::crypto::to_hex(sb::crypto::hmac_sha256(running().storage.root_key,
                                                          "channel-key:beta/web/session_key")));
  CHECK(c.value->list("allowed_origins") == strings{"https://shop.beta.example"});

  // After a master key rotation the store's root key is the one used.
  auto rotated = running();
  sb::config::set_root_key(rotated, std::string(32, '\x07'), schemas());
  auto r = sb::config::parse_channel_object(body, beta(), rotated, schemas());
  REQUIRE(r.value);
  CHECK(r.value->get("session_key") ==
        sb::crypto::to_hex(
            sb::crypto::hmac_sha256(std::string(32, '\x07'), "channel-key:beta/web/session_key")));
  CHECK(r.value->get("session_key") != key);

  auto given = sb::config::parse_channel_object(
      R"({"name": "web", "type": "webchat", "session_key": "00ff", "allow_no_origin": true})",
      beta(), running(), schemas());
  REQUIRE(given.problems.size() == 1);
  CHECK(given.problems[0].pointer == "/session_key");
  CHECK(given.problems[0].message ==
        "is derived from storage.master_key by the gateway; remove it");
}

TEST_CASE("a body never reads the gateway's environment", "[config][object]") {
  scoped_env secret("SB_OBJECT_TEST_SECRET", std::string("from-the-environment"));
  auto c = sb::config::parse_channel_object(
      R"({"name": "web", "type": "webchat", "title": "${SB_OBJECT_TEST_SECRET}", "consent_notice": "${SB_OBJECT_TEST_SECRET:-x}", "allowed_origins": ["${not a name}"]})",
      beta(), running(), schemas());
  CHECK_FALSE(c.value);
  // The last is web chat's own rule, as the file would report it with no origin left.
  CHECK(pointers(c.problems) ==
        strings{"/title", "/consent_notice", "/allowed_origins/0", "/allowed_origins"});
  CHECK(messages(c.problems) ==
        strings{"${SB_OBJECT_TEST_SECRET}: an API body does not read the gateway's environment; "
                "send the value itself (write $${ for a literal ${)",
                "${SB_OBJECT_TEST_SECRET}: an API body does not read the gateway's environment; "
                "send the value itself (write $${ for a literal ${)",
                "an API body does not read the gateway's environment; send the value itself "
                "(write $${ for a literal ${)",
                "list the websites that embed the widget (or set allow_no_origin: true for "
                "native apps only)"});
  for (const auto& p : c.problems) {
    CHECK(p.message.find("from-the-environment") == std::string::npos);
  }
  // $${ is a literal ${, as in the file.
  auto literal = sb::config::parse_channel_object(
      R"({"name": "web", "type": "webchat", "title": "Hi $${HOME}", "allow_no_origin": true})",
      beta(), running(), schemas());
  REQUIRE(literal.value);
  CHECK(literal.value->get("title") == "Hi ${HOME}");
}

TEST_CASE("a body that is not JSON is one problem of the whole body", "[config][object]") {
  auto problem = [](const std::string& body) {
    return root_problem(sb::config::parse_tenant_object(body, running(), schemas()).problems);
  };
  CHECK(problem("") == "the body must be a JSON object (it is empty)");
  CHECK(problem(" \n ") == "the body must be a JSON object (it is empty)");
  // YAML is not JSON, though yaml-cpp would read it.
  CHECK(problem("id: acme") ==
        "the body must be a JSON object (invalid JSON at line 1, column 1: unexpected "
        "character 'i')");
  CHECK(problem("{'id': 'acme'}") ==
        "the body must be a JSON object (invalid JSON at line 1, column 2: expected a key in "
        "double quotes)");
  CHECK(problem("{\n  \"id\": \"acme\",\n}") ==
        "the body must be a JSON object (invalid JSON at line 3, column 1: expected a key in "
        "double quotes)");
  CHECK(problem(R"({"id": "acme"} {})") ==
        "the body must be a JSON object (invalid JSON at line 1, column 16: unexpected text "
        "after the JSON value)");
  CHECK(problem(R"({"id": "acme", "rate_limit": {"rps": 01}})") ==
        "the body must be a JSON object (invalid JSON at line 1, column 39: expected ',' or "
        "'}')");
  CHECK(problem("{\"id\": \"ac\xffme\"}") ==
        "the body must be a JSON object (invalid JSON at line 1, column 11: invalid UTF-8)");
  CHECK(problem(R"({"id": "\ud83d"})") ==
        "the body must be a JSON object (invalid JSON at line 1, column 9: a \\u escape of half "
        "a surrogate pair)");
  CHECK(problem("{\"id\": \"a\tb\"}").find("a control character in a string") != std::string::npos);
  CHECK(problem(std::string("{\"id\": \"a\\\0\"}", 13)) ==
        "the body must be a JSON object (invalid JSON at line 1, column 10: invalid escape in a "
        "string)");
  CHECK(problem(R"({"id": &a "x"})").find("unexpected character '&'") != std::string::npos);
  CHECK(problem(R"({"id": "acme")").find("expected ',' or '}'") != std::string::npos);
  // Bounded: yaml-cpp recurses per level, and reads no flow key past 1024 characters.
  CHECK(problem(std::string(10000, '[') + std::string(10000, ']')) ==
        "the body must be a JSON object (invalid JSON at line 1, column 33: nested deeper than "
        "32 levels)");
  CHECK(problem("{\"" + std::string(300, 'k') + "\": 1}") ==
        "the body must be a JSON object (invalid JSON at line 1, column 2: a key longer than 256 "
        "characters)");
}

TEST_CASE("a body that is JSON but not an object is one problem of the whole body",
          "[config][object]") {
  auto problem = [](const std::string& body) {
    return root_problem(
        sb::config::parse_subscriber_object(body, beta(), running(), schemas()).problems);
  };
  CHECK(problem("[]") == "the body must be a JSON object, not an array");
  CHECK(problem(R"("desk")") == "the body must be a JSON object, not a string");
  CHECK(problem(" 42") == "the body must be a JSON object, not a number");
  CHECK(problem("null") == "the body must be a JSON object, not null");
  CHECK(problem("true") == "the body must be a JSON object, not a boolean");
}

TEST_CASE("JSON escapes read as JSON means them", "[config][object]") {
  // A pretty-printed body with tabs, escapes, and an emoji as Python's json.dumps writes it.
  auto c = sb::config::parse_channel_object(
      "{\n\t\"name\": \"web\",\n\t\"type\": \"webchat\",\n\t\"title\": "
      "\"Hi \\ud83d\\ude00 \\u00e9\\/\\\"x\\\"\",\n\t\"allowed_origins\": "
      "[\"https://shop.beta.example\"]\n}",
      beta(), running(), schemas());
  REQUIRE(pointers(c.problems) == strings{});
  CHECK(c.value->get("title") == "Hi \xF0\x9F\x98\x80 \xC3\xA9/\"x\"");
  CHECK(c.value->source == "<api>:1");

  // A key given twice is the file's problem, with the body's line.
  auto twice = sb::config::parse_subscriber_object(
      "{\"name\": \"desk\",\n \"name\": \"desk2\", \"token_sha256\": \"" + k_new_token + "\"}",
      beta(), running(), schemas());
  REQUIRE(twice.problems.size() == 1);
  CHECK(twice.problems[0].pointer == "/name");
  CHECK(twice.problems[0].message == "duplicate key (first at line 1)");
}

TEST_CASE("a body may break lines wherever JSON allows", "[config][object]") {
  // CRLF, a lone CR, and line breaks between a key and its ':' (YAML alone would refuse that);
  // the lines messages cite are still the body's.
  auto s =
      sb::config::parse_subscriber_object("{\"name\"\r\n: \"desk\",\r\"token_sha256\"\n\n:\r\n\"" +
                                              k_new_token + "\",\n\"name\": \"x\"}",
                                          beta(), running(), schemas());
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].pointer == "/name");
  CHECK(s.problems[0].message == "duplicate key (first at line 1)");

  auto ok = sb::config::parse_subscriber_object(
      "{\r\n  \"name\"\r\n  :\r\n  \"desk\",\r  \"token_sha256\": \"" + k_new_token + "\"\r\n}\r\n",
      beta(), running(), schemas());
  REQUIRE(pointers(ok.problems) == strings{});
  CHECK(ok.value->name == "desk");
  CHECK(ok.value->token_sha256 == k_new_token);
}

namespace {

/// Everything of a tenant the gateway reads, compared member by member (channels' `source`
/// names where each was read, so it differs by design).
void check_same_tenant(const sb::config::tenant_config& a, const sb::config::tenant_config& b) {
  INFO("tenant " << a.id);
  CHECK(a.id == b.id);
  CHECK(a.rate_limit.rps == b.rate_limit.rps);
  CHECK(a.rate_limit.burst == b.rate_limit.burst);
  CHECK(a.privacy.pseudonymize == b.privacy.pseudonymize);
  CHECK(a.privacy.redact_card_numbers == b.privacy.redact_card_numbers);
  CHECK(a.privacy.retention_days == b.privacy.retention_days);
  CHECK(a.privacy.opt_out_keywords == b.privacy.opt_out_keywords);
  CHECK(a.privacy.opt_in_keywords == b.privacy.opt_in_keywords);
  CHECK(a.privacy.allow_replies_after_opt_out == b.privacy.allow_replies_after_opt_out);
  REQUIRE(a.channels.size() == b.channels.size());
  for (std::size_t i = 0; i < a.channels.size(); ++i) {
    INFO("channel " << a.channels[i].name);
    CHECK(a.channels[i].name == b.channels[i].name);
    CHECK(a.channels[i].type == b.channels[i].type);
    CHECK(a.channels[i].settings == b.channels[i].settings);
  }
  REQUIRE(a.subscribers.size() == b.subscribers.size());
  for (std::size_t i = 0; i < a.subscribers.size(); ++i) {
    const auto& x = a.subscribers[i];
    const auto& y = b.subscribers[i];
    INFO("subscriber " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.token_sha256 == y.token_sha256);
    CHECK(x.scopes == y.scopes);
    CHECK(x.purposes == y.purposes);
    CHECK(x.send_rate_limit.rps == y.send_rate_limit.rps);
    CHECK(x.send_rate_limit.burst == y.send_rate_limit.burst);
    REQUIRE(x.push.has_value() == y.push.has_value());
    if (x.push) {
      CHECK(x.push->url == y.push->url);
      CHECK(x.push->secret == y.push->secret);
      CHECK(x.push->secret_previous == y.push->secret_previous);
      CHECK(x.push->timeout_ms == y.push->timeout_ms);
      CHECK(x.push->max_in_flight == y.push->max_in_flight);
      CHECK(x.push->retry_schedule_ms == y.push->retry_schedule_ms);
    }
  }
}

}  // namespace

TEST_CASE("a file tenant's file_object reads back by the API's rules as the same tenant",
          "[config][control]") {
  scoped_env secret("SB_OBJECT_TEST_SECRET", "from-the-environment-1");
  // Every kind of value: the example config's tenants (web chat's list and derived key, push
  // knobs, privacy), plus a secret from the environment, a literal "${", numbers written as
  // text and as numbers, and a key with no value.
  const std::string extra = R"(  - id: gamma
    rate_limit: {rps: 2.5}
    privacy:
      retention_days: 12
      redact: [card_numbers]
    channels:
      - name: tg
        type: telegram
        secret_token: "${SB_OBJECT_TEST_SECRET}"
        secret_token_previous: ${SB_OBJECT_TEST_SECRET}-old
        bot_token: '1234:a$${b}c'
        api_base:
    subscribers:
      - name: hook
        push:
          url: "http://127.0.0.1:9/hook"
          secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
          retry_schedule_ms: [0, "1000", 60000]
          timeout_ms: "2000"
        send_rate_limit: {rps: 1}
        purposes: [support, ai]
)";
  std::string yaml = sb::config::embedded_default();
  yaml.replace(yaml.find("\ntenants:\n"), 10,
               "\ncontrol_plane:\n  manage_file_tenants: true\nprivacy:\n  retention_days: 45\n"
               "tenants:\n" +
                   extra);
  auto loaded = sb::config::load_string(yaml, "example.yaml", schemas());
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.ok());
  const auto& cfg = *loaded.cfg;
  REQUIRE(cfg.tenants.size() >= 2);
  for (const auto& t : cfg.tenants) {
    INFO(t.file_object);
    REQUIRE_FALSE(t.file_object.empty());
    auto others = cfg;
    others.tenants.erase(std::remove_if(others.tenants.begin(), others.tenants.end(),
                                        [&](const auto& o) { return o.id == t.id; }),
                         others.tenants.end());
    auto back = sb::config::parse_tenant_object(t.file_object, others, schemas());
    for (const auto& p : back.problems) {
      FAIL_CHECK(p.pointer << ": " << p.message);
    }
    REQUIRE(back.ok());
    check_same_tenant(t, *back.value);
  }
  const auto* gamma = cfg.find_tenant("gamma");
  CHECK(gamma->file_object.find("from-the-environment-1") != std::string::npos);
  CHECK(gamma->file_object.find(R"("bot_token":"1234:a$${b}c")") != std::string::npos);
  CHECK(gamma->file_object.find(R"("rps":2.5)") != std::string::npos);
  CHECK(gamma->file_object.find(R"("api_base":null)") != std::string::npos);
  CHECK(gamma->find_channel("tg")->get("bot_token") == "1234:a${b}c");
  // Without the key, nothing is kept.
  auto plain = sb::config::load_string(sb::config::embedded_default(), "example.yaml", schemas());
  REQUIRE(plain.ok());
  for (const auto& t : plain.cfg->tenants) {
    CHECK(t.file_object.empty());
  }
}

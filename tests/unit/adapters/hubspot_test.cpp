#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/hubspot/hubspot.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::adapters::header;

namespace {

const std::string k_secret = "hs-client-secret-3f9c1e7a";
const std::string k_url = "https://hooks.example.com/webhooks/acme/crm";

sb::config::channel_config channel() {
  return sb::test::make_channel("crm", "hubspot",
                                {{"client_secret", k_secret},
                                 {"app_id", "1160452"},
                                 {"portal_id", "62515"},
                                 {"public_url", k_url}});
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::hubspot::info().make(channel());
}

/// HubSpot's v3 signature, written out here (not through `sign`) so the scheme itself is
/// checked: base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
std::string v3(const std::string& method, const std::string& uri, const std::string& body,
               const std::string& stamp, const std::string& secret = k_secret) {
  return sb::crypto::base64_encode(sb::crypto::hmac_sha256(secret, method + uri + body + stamp));
}

const std::string k_stamp = std::to_string(sb::test::k_signed_at.unix_ms);

/// A POST of `body` signed as HubSpot does, received at `k_signed_at`.
sb::test::webhook_request post(const std::string& body, const std::string& query = "",
                               const std::string& stamp = k_stamp) {
  sb::test::webhook_request w;
  w.query = query;
  w.body = sb::test::padded(body);
  const std::string uri = query.empty() ? k_url : k_url + "?" + query;
  w.headers = {{"x-hubspot-signature-v3", v3("POST", uri, body, stamp)},
               {"x-hubspot-request-timestamp", stamp}};
  return w;
}

sb::test::webhook_request fixture_post(const std::string& file) {
  return post(sb::test::fixture("hubspot/" + file));
}

sb::errc verify_code(const sb::test::webhook_request& w) {
  auto st = make()->verify(w.req());
  return st.ok() ? sb::errc::ok : st.err().code;
}

std::vector<sb::event> parse_ok(const sb::test::webhook_request& w) {
  auto a = make();
  auto verified = a->verify(w.req());
  INFO(verified.err().message);
  REQUIRE(verified.ok());
  std::vector<sb::event> out;
  auto st = a->parse(w.req(), out);
  INFO(st.err().message);
  REQUIRE(st.ok());
  return out;
}

sb::event parse_one(const std::string& file) {
  auto out = parse_ok(fixture_post(file));
  REQUIRE(out.size() == 1);
  return std::move(out.front());
}

/// The parse error of `body` (signed); `out` must stay as it was.
sb::error parse_error(const std::string& body) {
  auto w = post(body);
  std::vector<sb::event> out(1);
  out.front().platform_event_id = "sentinel";
  auto st = make()->parse(w.req(), out);
  CHECK(out.size() == 1);
  CHECK(out.front().platform_event_id == "sentinel");
  return st.ok() ? sb::error{sb::errc::ok, ""} : st.err();
}

std::string event_json(const std::string& type, const std::string& extra = "",
                       const std::string& portal = "62515", const std::string& app = "1160452") {
  return R"({"eventId":7,"subscriptionId":4483,"portalId":)" + portal + R"(,"appId":)" + app +
         R"(,"occurredAt":1695389621000,"subscriptionType":")" + type +
         R"(","attemptNumber":0,"objectId":123)" + extra + "}";
}

void check_common(const sb::event& e) {
  CHECK(e.channel.name == "crm");
  CHECK(e.channel.type == "hubspot");
  CHECK(e.channel.account == "62515");
  CHECK(e.id.empty());
  CHECK(e.subject.empty());
}

}  // namespace

// -- Declaration ---------------------------------------------------------------------------

TEST_CASE("hubspot declares its settings, headers and account", "[hubspot][adapters]") {
  const auto info = sb::adapters::hubspot::info();
  CHECK(info.type == "hubspot");
  CHECK(info.display_name == "HubSpot");
  REQUIRE(info.schema.settings.size() == 4);
  for (const auto& s : info.schema.settings) {
    INFO(s.key);
    CHECK(s.required);
    CHECK(s.secret == (s.key == "client_secret"));
  }
  CHECK(info.headers ==
        std::vector<std::string>{"x-hubspot-signature-v3", "x-hubspot-request-timestamp"});
  CHECK(info.account(channel()) == "62515");
  CHECK(info.outbound == nullptr);
  CHECK(info.privacy.request_header.empty());
}

TEST_CASE("hubspot settings are checked for their form", "[hubspot][adapters]") {
  const auto info = sb::adapters::hubspot::info();
  REQUIRE(info.schema.check);
  CHECK(info.schema.check(channel()).empty());
  auto c = channel();
  c.settings["portal_id"] = "acme";
  c.settings["app_id"] = "";
  c.settings["public_url"] = "hooks.example.com/webhooks/acme/crm";
  auto problems = info.schema.check(c);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].key == "portal_id");
  CHECK(problems[1].key == "app_id");
  CHECK(problems[2].key == "public_url");
  c = channel();
  c.settings["public_url"] = k_url + "?token=1";
  problems = info.schema.check(c);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].problem.find("query") != std::string::npos);
}

// -- Authenticity ----------------------------------------------------------------------------

TEST_CASE("hubspot accepts a v3 signature over method, URL, body and timestamp",
          "[hubspot][adapters]") {
  CHECK(verify_code(fixture_post("contact_creation.json")) == sb::errc::ok);
}

TEST_CASE("hubspot rejects a tampered body, another secret and another URL",
          "[hubspot][adapters]") {
  auto tampered = fixture_post("contact_property_change.json");
  tampered.body[tampered.body.find("123")] = '9';
  CHECK(verify_code(tampered) == sb::errc::bad_signature);

  const auto body = sb::test::fixture("hubspot/contact_creation.json");
  auto impostor = post(body);
  impostor.headers[0].value = v3("POST", k_url, body, k_stamp, "not-the-secret");
  CHECK(verify_code(impostor) == sb::errc::bad_signature);

  auto elsewhere = post(body);
  elsewhere.headers[0].value = v3("POST", "https://evil.example.com/hook", body, k_stamp);
  CHECK(verify_code(elsewhere) == sb::errc::bad_signature);

  // The timestamp is signed: changing it breaks the signature.
  auto moved = post(body);
  moved.headers[1].value = std::to_string(sb::test::k_signed_at.unix_ms + 1000);
  CHECK(verify_code(moved) == sb::errc::bad_signature);

  auto garbage = post(body);
  garbage.headers[0].value = "not base64 at all!";
  CHECK(verify_code(garbage) == sb::errc::bad_signature);

  auto not_ms = post(body, "", "yesterday");
  CHECK(verify_code(not_ms) == sb::errc::bad_signature);
}

TEST_CASE("hubspot answers missing_signature without either header", "[hubspot][adapters]") {
  auto no_signature = fixture_post("contact_creation.json");
  no_signature.headers.erase(no_signature.headers.begin());
  CHECK(verify_code(no_signature) == sb::errc::missing_signature);
  auto no_stamp = fixture_post("contact_creation.json");
  no_stamp.headers.pop_back();
  CHECK(verify_code(no_stamp) == sb::errc::missing_signature);
}

TEST_CASE("hubspot refuses a correctly signed request older or newer than 5 minutes",
          "[hubspot][adapters]") {
  const auto body = sb::test::fixture("hubspot/contact_creation.json");
  const auto at = [&](std::int64_t offset_ms) {
    return post(body, "", std::to_string(sb::test::k_signed_at.unix_ms + offset_ms));
  };
  CHECK(verify_code(at(-299'000)) == sb::errc::ok);
  CHECK(verify_code(at(299'000)) == sb::errc::ok);
  auto old = at(-301'000);
  CHECK(verify_code(old) == sb::errc::replayed_request);
  CHECK(make()->verify(old.req()).err().message.find("stale") != std::string::npos);
  CHECK(verify_code(at(-600'000)) == sb::errc::replayed_request);
  CHECK(verify_code(at(301'000)) == sb::errc::replayed_request);
  auto no_clock = at(0);
  no_clock.now = {};
  CHECK(verify_code(no_clock) == sb::errc::replayed_request);
}

TEST_CASE("hubspot signs the query string when the request has one", "[hubspot][adapters]") {
  const auto body = sb::test::fixture("hubspot/contact_creation.json");
  CHECK(verify_code(post(body, "source=crm&v=3")) == sb::errc::ok);
  // Signed without the query, received with one (and the other way round): not HubSpot's.
  auto without = post(body);
  without.query = "source=crm&v=3";
  CHECK(verify_code(without) == sb::errc::bad_signature);
  auto with = post(body, "source=crm&v=3");
  with.query.clear();
  CHECK(verify_code(with) == sb::errc::bad_signature);
}

TEST_CASE("hubspot's sign gives the signature, then the timestamp in ms, for public_url or url",
          "[hubspot][adapters]") {
  const auto info = sb::adapters::hubspot::info();
  const auto body = sb::test::fixture("hubspot/contact_creation.json");
  sb::adapters::signing_input in;
  in.body = body;
  in.at = sb::test::k_signed_at;
  auto h = info.sign(channel(), in);
  REQUIRE(h.size() == 2);
  CHECK(h[0].name == "x-hubspot-signature-v3");
  CHECK(h[0].value == v3("POST", k_url, body, k_stamp));
  CHECK(h[1].name == "x-hubspot-request-timestamp");
  CHECK(h[1].value == k_stamp);
  const std::string with_query = k_url + "?a=b";
  in.url = with_query;
  h = info.sign(channel(), in);
  CHECK(h[0].value == v3("POST", with_query, body, k_stamp));
}

TEST_CASE("hubspot refuses a body with an event of another portal or app, whole",
          "[hubspot][adapters]") {
  const auto other_portal = "[" + event_json("contact.creation") + "," +
                            event_json("contact.creation", "", "99999") + "]";
  auto w = post(other_portal);
  auto st = make()->verify(w.req());
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::forbidden);
  CHECK(st.err().message.find("portal 99999") != std::string::npos);
  CHECK(parse_error(other_portal).code == sb::errc::forbidden);

  const auto other_app = "[" + event_json("contact.creation", "", "62515", "42") + "]";
  CHECK(verify_code(post(other_app)) == sb::errc::forbidden);
  CHECK(parse_error(other_app).code == sb::errc::forbidden);
}

// -- Mapping ---------------------------------------------------------------------------------

TEST_CASE("hubspot contact.creation is a customer event of the contact", "[hubspot][adapters]") {
  const auto e = parse_one("contact_creation.json");
  check_common(e);
  CHECK(e.type == sb::event_type::customer);
  CHECK(e.kind == "contact.creation");
  CHECK(e.platform_event_id == "3816279480");
  CHECK(e.dedupe_key == "3816279480:4482:1246978:1695389621000");
  CHECK(e.occurred_at.unix_ms == 1695389621000);
  CHECK(e.occurred_at.has_ms);
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "1246978");
  CHECK(e.subject_source == "1246978");
  CHECK(e.peer == "1246978");
  CHECK(e.conversation == "crm:1246978");
  CHECK(e.content.empty());
  CHECK_FALSE(e.privacy);
}

TEST_CASE("hubspot contact.propertyChange carries the property name and its value as text",
          "[hubspot][adapters]") {
  const auto e = parse_one("contact_property_change.json");
  check_common(e);
  CHECK(e.type == sb::event_type::customer);
  CHECK(e.kind == "contact.propertyChange");
  CHECK(e.platform_event_id == "100");
  CHECK(e.dedupe_key == "100:4483:123:1695389621000");
  CHECK(e.subject_source == "123");
  CHECK(e.conversation == "crm:123");
  CHECK(e.content.payload == "email");
  // In text, where the tenant's redaction of e-mail addresses and phone numbers applies.
  CHECK(e.content.text == "jon.snow@example.com");
}

TEST_CASE("hubspot contact.deletion is reported as a customer event, not an erasure",
          "[hubspot][adapters]") {
  const auto e = parse_one("contact_deletion.json");
  CHECK(e.type == sb::event_type::customer);
  CHECK(e.kind == "contact.deletion");
  CHECK(e.subject_source == "1246965");
  CHECK_FALSE(e.privacy);
  const auto info = sb::adapters::hubspot::info();
  CHECK(info.privacy.request_action("contact.deletion") == sb::adapters::privacy_action::none);
}

TEST_CASE("hubspot contact.merge and contact.restore are customer events", "[hubspot][adapters]") {
  for (const char* type : {"contact.merge", "contact.restore"}) {
    INFO(type);
    auto out = parse_ok(post("[" + event_json(type) + "]"));
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == sb::event_type::customer);
    CHECK(out[0].kind == type);
    CHECK(out[0].subject_source == "123");
  }
}

TEST_CASE("hubspot contact.privacyDeletion is a privacy.redact request naming only the contact",
          "[hubspot][adapters]") {
  const auto e = parse_one("contact_privacy_deletion.json");
  check_common(e);
  CHECK(e.type == sb::event_type::privacy_redact);
  CHECK(e.kind == "contact.privacyDeletion");
  CHECK(e.platform_event_id == "3816280427");
  CHECK(e.dedupe_key == "3816280427:4485:1246965:1695389809000");
  CHECK(e.subject_source == "1246965");
  REQUIRE(e.privacy);
  CHECK(e.privacy->platform_id == "1246965");
  CHECK_FALSE(e.sender);
  CHECK(e.conversation.empty());
  CHECK(e.content.empty());
  const auto info = sb::adapters::hubspot::info();
  CHECK(info.privacy.request_action(e.kind) == sb::adapters::privacy_action::erase_person);
}

TEST_CASE("hubspot conversation.newMessage is a message of the thread, without text",
          "[hubspot][adapters]") {
  const auto e = parse_one("conversation_new_message.json");
  check_common(e);
  CHECK(e.type == sb::event_type::message);
  CHECK(e.kind == "conversation.newMessage");
  CHECK(e.platform_event_id == "4130927154");
  CHECK(e.peer == "5913455001");
  CHECK(e.conversation == "crm:5913455001");
  CHECK(e.content.thread == "5913455001");
  CHECK(e.content.payload == "f2a1b0b0c4d44c0bb1a8f5d0e3c2a1b9");
  CHECK(e.content.text.empty());
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
}

TEST_CASE("hubspot subscription types it does not map are system events", "[hubspot][adapters]") {
  const auto e = parse_one("deal_creation.json");
  CHECK(e.type == sb::event_type::system);
  CHECK(e.kind == "deal.creation");
  CHECK(e.platform_event_id == "1872436712");
  CHECK(e.subject_source.empty());
  CHECK(e.conversation.empty());
}

TEST_CASE("hubspot maps every event of a batch, in order", "[hubspot][adapters]") {
  auto out = parse_ok(fixture_post("batch_mixed.json"));
  REQUIRE(out.size() == 3);
  CHECK(out[0].type == sb::event_type::customer);
  CHECK(out[0].content.payload == "lifecyclestage");
  CHECK(out[0].content.text == "subscriber");
  CHECK(out[1].type == sb::event_type::customer);
  CHECK(out[1].kind == "contact.creation");
  CHECK(out[2].type == sb::event_type::system);
  CHECK(out[2].kind == "company.creation");
  std::set<std::string> keys;
  for (const auto& e : out) {
    keys.insert(e.dedupe_key);
  }
  CHECK(keys.size() == 3);
}

TEST_CASE("hubspot's dedupe key tells apart events that share an eventId", "[hubspot][adapters]") {
  // HubSpot documents eventId as not guaranteed unique: the subscription, the object and the
  // time complete it.
  auto out =
      parse_ok(post("[" + event_json("contact.creation") + "," +
                    event_json("contact.propertyChange", R"(,"propertyName":"email")") + "]"));
  REQUIRE(out.size() == 2);
  CHECK(out[0].platform_event_id == out[1].platform_event_id);
  CHECK(out[0].dedupe_key == "7:4483:123:1695389621000");
  // Same eventId and subscription: the object id differs.
  std::string other = event_json("contact.creation");
  other.replace(other.find("\"objectId\":123"), 14, "\"objectId\":124");
  auto again = parse_ok(post("[" + other + "]"));
  REQUIRE(again.size() == 1);
  CHECK(again[0].dedupe_key == "7:4483:124:1695389621000");
  // A retry (attemptNumber 1) of the same event has the same key.
  std::string retry = event_json("contact.creation");
  retry.replace(retry.find("\"attemptNumber\":0"), 17, "\"attemptNumber\":1");
  auto retried = parse_ok(post("[" + retry + "]"));
  CHECK(retried[0].dedupe_key == out[0].dedupe_key);
}

TEST_CASE("hubspot bodies that are not arrays of events are malformed", "[hubspot][adapters]") {
  for (const std::string& body :
       {std::string("{\"eventId\":1}"), std::string("[1,2]"), std::string("not json"),
        "[" + event_json("contact.creation") + ",\"x\"]",
        std::string(R"([{"subscriptionId":1,"portalId":62515,"appId":1160452,)"
                    R"("occurredAt":1,"subscriptionType":"contact.creation","objectId":1}])"),
        std::string(R"([{"eventId":1,"portalId":62515,"appId":1160452,"occurredAt":1,)"
                    R"("objectId":1}])"),
        std::string(R"([{"eventId":"1","portalId":62515,"appId":1160452,"occurredAt":1,)"
                    R"("subscriptionType":"contact.creation","objectId":1}])"),
        std::string(R"([{"eventId":1,"appId":1160452,"occurredAt":1,)"
                    R"("subscriptionType":"contact.creation","objectId":1}])"),
        std::string(R"([{"eventId":1,"portalId":62515,"appId":1160452,"occurredAt":1,)"
                    R"("subscriptionType":"contact.creation"}])")}) {
    INFO(body);
    auto err = parse_error(body);
    CHECK(err.code == sb::errc::malformed_body);
    CHECK(err.message.rfind("HubSpot webhook: ", 0) == 0);
  }
  auto empty = parse_ok(post("[]"));
  CHECK(empty.empty());
}

// -- Privacy hooks and the load tester -------------------------------------------------------

TEST_CASE("hubspot tells from the raw body whether it holds a privacy deletion",
          "[hubspot][adapters]") {
  const auto info = sb::adapters::hubspot::info();
  const auto in_body = info.privacy.requests_in_body;
  REQUIRE(in_body != nullptr);
  CHECK(in_body(sb::test::fixture("hubspot/contact_privacy_deletion.json")));
  CHECK(in_body("[" + event_json("contact.creation") + "," + event_json("contact.privacyDeletion") +
                "]"));
  // Escaped, it is the same type.
  CHECK(in_body("[" + event_json("contact.privacyDeletio\\u006e") + "]"));
  for (const char* file : {"contact_creation.json", "contact_deletion.json", "batch_mixed.json",
                           "conversation_new_message.json", "deal_creation.json"}) {
    INFO(file);
    CHECK_FALSE(in_body(sb::test::fixture(std::string("hubspot/") + file)));
  }
  // Named elsewhere than in the type, or not JSON: no request.
  CHECK_FALSE(in_body("[" +
                      event_json("contact.propertyChange",
                                 R"(,"propertyName":"note","propertyValue":"privacyDeletion")") +
                      "]"));
  CHECK_FALSE(in_body("contact.privacyDeletion"));
}

TEST_CASE("hubspot's synthetic webhook verifies and parses, with unique event ids",
          "[hubspot][adapters]") {
  const auto info = sb::adapters::hubspot::info();
  std::set<std::string> ids;
  for (std::uint64_t run : {1, 99999}) {
    for (std::uint64_t n : {0, 1, 12345}) {
      sb::adapters::synthetic_spec spec;
      spec.account = "62515";
      spec.person = 3;
      spec.run = run;
      spec.n = n;
      spec.text = "hello there.";
      const auto w = info.synthesize(spec);
      auto req = sb::test::signed_post("hubspot", channel().settings, w.body);
      auto out = parse_ok(req);
      REQUIRE(out.size() == 1);
      CHECK(out[0].kind == "contact.propertyChange");
      CHECK(out[0].sender->platform_id == "1246968");
      CHECK(out[0].content.text == "hello there.");
      CHECK(w.platform_ids == std::vector<std::string>{out[0].platform_event_id});
      CHECK(ids.insert(out[0].platform_event_id).second);
    }
  }
}

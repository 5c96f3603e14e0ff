// The send flow of POST /v1/messages (outbound/send_flow.hpp) driven by hand: every step's
// outcome is an input, so each path to an answer is reached without actors, stores or time.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "adapters/outbound.hpp"
#include "config/config.hpp"
#include "outbound/send_flow.hpp"

using sb::errc;
using sb::outbound::key_memory;
using sb::outbound::lookup_result;
using sb::outbound::send_flow;
using sb::outbound::send_request;
using sb::outbound::send_setup;
using sb::outbound::send_step;
using sb::outbound::sender_reply;

namespace {

/// A tenant with a Telegram channel "tg" (sends) and a Shopify channel "shop" (cannot send).
struct tenant_fixture {
  sb::config::tenant_config tenant;
  std::map<std::string, std::shared_ptr<const sb::adapters::outbound_channel>> channels;

  explicit tenant_fixture(bool pseudonymize = false) {
    tenant.id = "acme";
    tenant.privacy.pseudonymize = pseudonymize;
    sb::config::channel_config tg;
    tg.name = "tg";
    tg.type = "telegram";
    tg.settings = {{"bot_token", "123456789:flow-test"}};
    sb::config::channel_config shop;
    shop.name = "shop";
    shop.type = "shopify";
    tenant.channels = {tg, shop};
    for (const auto& ch : tenant.channels) {
      if (auto out = sb::adapters::outbound_for(ch)) {
        channels.emplace(ch.name, std::move(out));
      }
    }
  }

  send_setup setup(bool has_outbox = true) const {
    send_setup s;
    s.tenant = &tenant;
    s.subject_key = std::string(32, 's');
    s.has_outbox = has_outbox;
    s.channel_of = [this](const std::string& name) {
      auto it = channels.find(name);
      return it == channels.end() ? nullptr : it->second;
    };
    return s;
  }

  send_flow flow(std::string body, std::string key = {}, std::string content_type = {},
                 bool has_outbox = true) const {
    send_request r;
    r.caller = "backend";
    r.content_type = std::move(content_type);
    r.idempotency_key = std::move(key);
    r.body = std::move(body);
    return send_flow(std::move(r), setup(has_outbox));
  }
};

const std::string k_hello = R"({"channel":"tg","to":"12345","text":"hello"})";

/// Admitted, no key memory, sender up: the flow waits at the step after `find_sender`.
void admit_to_sender(send_flow& f) {
  f.on_admission(0);
  if (f.next() == send_step::check_key) {
    f.on_key({});
  }
  REQUIRE(f.next() == send_step::find_sender);
  f.on_sender(true);
}

/// The record a first request with `body` created (the outbox's copy of it).
sb::store::outbound_record created_by(const tenant_fixture& t, const std::string& body,
                                      const std::string& key) {
  auto f = t.flow(body, key);
  admit_to_sender(f);
  if (f.next() == send_step::look_up) {
    f.on_looked_up({});
  }
  REQUIRE(f.next() == send_step::read_window);
  return f.record();
}

void check_error(const send_flow& f, errc code, int retry_after_s = 0) {
  REQUIRE(f.next() == send_step::done);
  CHECK(f.answer().code == code);
  CHECK(f.answer().retry_after_s == retry_after_s);
  CHECK_FALSE(f.answer().message.empty());
}

}  // namespace

TEST_CASE("a valid message goes through rate limit, sender, window and policy to a 202",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello, {}, "application/json; charset=utf-8");
  CHECK(f.next() == send_step::admit);
  f.on_admission(0);
  CHECK(f.next() == send_step::find_sender);  // no key: nothing to remember
  CHECK(f.channel() == "tg");
  f.on_sender(true);
  CHECK_FALSE(f.holds_key());
  CHECK(f.next() == send_step::read_window);  // no key, no pseudonym: no outbox lookup
  CHECK_FALSE(f.subject().empty());
  f.on_window(1234);
  CHECK(f.next() == send_step::decide);
  CHECK(f.last_inbound_ms() == 1234);
  CHECK(f.sending_side()->name() == "tg");
  f.on_decided(std::nullopt);
  REQUIRE(f.next() == send_step::hand_to_sender);

  const auto rec = f.record();
  CHECK(rec.id.rfind("out_", 0) == 0);
  CHECK(rec.tenant == "acme");
  CHECK(rec.channel == "tg");
  CHECK(rec.conversation == "tg:12345");
  CHECK(rec.recipient == "12345");
  CHECK(rec.subject == f.subject());
  CHECK(rec.caller == "backend");
  CHECK(rec.state == sb::store::outbound_state::queued);

  f.on_sender_reply({{}, rec, true});
  REQUIRE(f.next() == send_step::done);
  CHECK(f.answer().code == errc::ok);
  CHECK(f.answer().record.id == rec.id);
  CHECK_FALSE(f.answer().replayed);
  CHECK(f.key_id() == rec.id);
}

TEST_CASE("a caller over its send rate limit is answered 429 with the wait",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello);
  f.on_admission(3);
  check_error(f, errc::rate_limited, 3);
}

TEST_CASE("a request is validated before anything is asked of the outbox or the sender",
          "[outbound][send_flow]") {
  tenant_fixture t;
  SECTION("a body sent as another media type is refused 415") {
    auto f = t.flow(k_hello, {}, "text/plain");
    f.on_admission(0);
    check_error(f, errc::unsupported_media);
  }
  SECTION("a malformed body is answered with the parser's error") {
    auto f = t.flow(R"({"channel":"tg","to":"12345"})");  // nothing to send
    f.on_admission(0);
    check_error(f, errc::bad_request);
  }
  SECTION("a channel the tenant does not have is unknown_channel") {
    auto f = t.flow(R"({"channel":"nope","to":"12345","text":"hi"})");
    f.on_admission(0);
    check_error(f, errc::unknown_channel);
    CHECK(f.answer().message.find("'nope'") != std::string::npos);
  }
  SECTION("a recipient the platform cannot take is the platform's bad_request") {
    auto f = t.flow(R"({"channel":"tg","to":"not a chat","text":"hi"})");
    f.on_admission(0);
    check_error(f, errc::bad_request);
    CHECK(f.answer().message.find("'to'") != std::string::npos);
  }
  SECTION("a channel whose type cannot send is refused") {
    auto f = t.flow(R"({"channel":"shop","to":"12345","text":"hi"})");
    f.on_admission(0);
    check_error(f, errc::bad_request);
  }
  SECTION("an Idempotency-Key that is not visible ASCII is refused") {
    auto f = t.flow(k_hello, "has space");
    f.on_admission(0);
    check_error(f, errc::bad_request);
    CHECK(f.answer().message.find("Idempotency-Key") != std::string::npos);
    CHECK_FALSE(f.holds_key());
  }
  SECTION("a gateway without an outbox accepts nothing to send, for good") {
    auto f = t.flow(k_hello, {}, {}, false);
    f.on_admission(0);
    check_error(f, errc::unavailable, 0);
  }
}

TEST_CASE("a duplicate request whose key is still in flight is answered 409",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello, "k1");
  f.on_admission(0);
  REQUIRE(f.next() == send_step::check_key);
  CHECK(f.key() == "k1");
  f.on_key({key_memory::state::in_flight, {}});
  check_error(f, errc::idempotency_conflict);
  CHECK_FALSE(f.holds_key());  // the request in flight keeps it
}

TEST_CASE("a duplicate of a key known in memory is answered from the outbox's record",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto earlier = created_by(t, k_hello, "k1");
  auto f = t.flow(k_hello, "k1");
  f.on_admission(0);
  f.on_key({key_memory::state::created, earlier.id});
  REQUIRE(f.next() == send_step::read_earlier);
  CHECK(f.earlier_id() == earlier.id);

  SECTION("the same message: the earlier 202, replayed") {
    f.on_earlier(earlier);
    REQUIRE(f.next() == send_step::done);
    CHECK(f.answer().code == errc::ok);
    CHECK(f.answer().replayed);
    CHECK(f.answer().record.id == earlier.id);
  }
  SECTION("another message under the same key: 409") {
    auto other = created_by(t, R"({"channel":"tg","to":"12345","text":"other"})", "k1");
    other.id = earlier.id;
    f.on_earlier(other);
    check_error(f, errc::idempotency_conflict);
  }
  SECTION("the message is gone (erased or expired): 409 naming it") {
    f.on_earlier(sb::error{errc::not_found, "no such message"});
    check_error(f, errc::idempotency_conflict);
    CHECK(f.answer().message.find(earlier.id) != std::string::npos);
  }
  SECTION("a store error reading it: 503") {
    f.on_earlier(sb::error{errc::internal, "disk"});
    check_error(f, errc::unavailable, 1);
  }
  SECTION("the outbox writer is down: 503") {
    f.on_no_answer();
    check_error(f, errc::unavailable, 1);
    CHECK(f.answer().message.find("restarting") != std::string::npos);
  }
  CHECK_FALSE(f.holds_key());
}

TEST_CASE("a sender that is down answers 503 before the message gets an id or holds its key",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello, "k1");
  f.on_admission(0);
  f.on_key({});
  f.on_sender(false);
  check_error(f, errc::unavailable, 1);
  CHECK_FALSE(f.holds_key());
  CHECK(f.message().id.empty());
}

TEST_CASE("with a key the outbox is asked first, and its earlier message stands",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto earlier = created_by(t, k_hello, "k1");
  auto f = t.flow(k_hello, "k1");
  admit_to_sender(f);
  CHECK(f.holds_key());
  REQUIRE(f.next() == send_step::look_up);
  CHECK(f.resolving().empty());

  SECTION("nothing known: the message is judged") {
    f.on_looked_up({});
    CHECK(f.next() == send_step::read_window);
    CHECK(f.key_id().empty());
  }
  SECTION("the same message: replayed, and the key stands for it") {
    f.on_looked_up({{}, earlier, {}});
    REQUIRE(f.next() == send_step::done);
    CHECK(f.answer().code == errc::ok);
    CHECK(f.answer().replayed);
    CHECK(f.key_id() == earlier.id);
  }
  SECTION("another message: 409, and the key still stands for the earlier one") {
    auto other = created_by(t, R"({"channel":"tg","to":"999","text":"hello"})", "k1");
    f.on_looked_up({{}, other, {}});
    check_error(f, errc::idempotency_conflict);
    CHECK(f.key_id() == other.id);
  }
  SECTION("a store error: 503, and the key is forgotten") {
    f.on_looked_up({sb::error{errc::internal, "disk"}, std::nullopt, {}});
    check_error(f, errc::unavailable, 1);
    CHECK(f.key_id().empty());
  }
  SECTION("a timeout: 503") {
    f.on_no_answer();
    check_error(f, errc::unavailable, 1);
  }
}

TEST_CASE("a pseudonymizing tenant's reply by pseudonym is resolved through the outbox",
          "[outbound][send_flow]") {
  tenant_fixture t(true);
  const std::string conversation = "tg:anon_0123456789abcdef";
  auto f = t.flow(R"({"conversation":")" + conversation + R"(","text":"hi"})");
  admit_to_sender(f);
  REQUIRE(f.next() == send_step::look_up);
  CHECK(f.resolving() == conversation);

  SECTION("a known person: their real id is the recipient, the pseudonym stays in the record") {
    f.on_looked_up({{}, std::nullopt, "12345"});
    REQUIRE(f.next() == send_step::read_window);
    CHECK(f.message().to == "12345");
    CHECK(f.message().conversation == conversation);
    CHECK(f.record().recipient == "anon_0123456789abcdef");
  }
  SECTION("nobody known by it: unknown_conversation") {
    f.on_looked_up({});
    check_error(f, errc::unknown_conversation);
  }
  SECTION("a stored peer the platform cannot take is refused") {
    f.on_looked_up({{}, std::nullopt, "not a chat"});
    check_error(f, errc::bad_request);
  }
}

TEST_CASE("a pseudonymizing tenant's message to a real id joins the pseudonymous conversation",
          "[outbound][send_flow]") {
  tenant_fixture t(true);
  auto f = t.flow(k_hello);
  admit_to_sender(f);
  CHECK(f.next() == send_step::read_window);  // nothing to resolve, no key
  CHECK(f.message().conversation.rfind("tg:anon_", 0) == 0);
  CHECK(f.record().recipient == f.message().conversation.substr(3));
  CHECK(f.message().to == "12345");
}

TEST_CASE("a conversation window that cannot be read answers 503", "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello);
  admit_to_sender(f);
  REQUIRE(f.next() == send_step::read_window);
  f.on_no_answer();
  check_error(f, errc::unavailable, 1);
  CHECK(f.answer().message.find("window") != std::string::npos);
}

TEST_CASE("a consent or window refusal is the answer, and nothing is handed to the sender",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello, "k1");
  admit_to_sender(f);
  f.on_looked_up({});
  f.on_window(0);
  REQUIRE(f.next() == send_step::decide);
  f.on_decided(sb::error{errc::opted_out, "the person opted out"});
  check_error(f, errc::opted_out);
  CHECK(f.answer().message == "the person opted out");
  CHECK(f.key_id().empty());  // refused: the key may be used again
}

TEST_CASE("the sender's answers: stored, known key, shed, refused, gone", "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello, "k1");
  admit_to_sender(f);
  f.on_looked_up({});
  f.on_window(0);
  f.on_decided(std::nullopt);
  REQUIRE(f.next() == send_step::hand_to_sender);
  const auto rec = f.record();
  CHECK(rec.idempotency_key == "k1");

  SECTION("stored and queued: 202") {
    f.on_sender_reply({{}, rec, true});
    CHECK(f.answer().code == errc::ok);
    CHECK_FALSE(f.answer().replayed);
    CHECK(f.key_id() == rec.id);
  }
  SECTION("the outbox knew the key (a race with the lookup): the earlier message, replayed") {
    auto earlier = created_by(t, k_hello, "k1");
    f.on_sender_reply({{}, earlier, false});
    CHECK(f.answer().code == errc::ok);
    CHECK(f.answer().replayed);
    CHECK(f.answer().record.id == earlier.id);
    CHECK(f.key_id() == earlier.id);
  }
  SECTION("the channel's queue is full (shed): 503 with Retry-After") {
    f.on_sender_reply({sb::error{errc::overloaded, "queue full"}, {}, true});
    check_error(f, errc::overloaded, 1);
    CHECK(f.key_id().empty());
  }
  SECTION("the outbox did not store it: 503 with Retry-After") {
    f.on_sender_reply({sb::error{errc::unavailable, "store error"}, {}, true});
    check_error(f, errc::unavailable, 1);
  }
  SECTION("a refusal that a retry does not change: without Retry-After") {
    f.on_sender_reply({sb::error{errc::bad_request, "not for this channel"}, {}, true});
    check_error(f, errc::bad_request, 0);
  }
  SECTION("the sender is gone or timed out: 503 that says a retry cannot send twice") {
    f.on_no_answer();
    check_error(f, errc::unavailable, 1);
    CHECK(f.answer().message.find("Idempotency-Key") != std::string::npos);
    CHECK(f.key_id().empty());
  }
  CHECK(f.holds_key());
}

TEST_CASE("an input that does not belong to the current step changes nothing",
          "[outbound][send_flow]") {
  tenant_fixture t;
  auto f = t.flow(k_hello);
  f.on_window(5);
  f.on_sender(true);
  f.on_no_answer();  // admit is answered at once, never "not answered"
  CHECK(f.next() == send_step::admit);
  f.on_admission(0);
  f.on_sender_reply({{}, {}, true});
  f.on_decided(sb::error{errc::opted_out, "x"});
  CHECK(f.next() == send_step::find_sender);
  f.on_sender(true);
  f.on_sender(false);
  CHECK(f.next() == send_step::read_window);
  f.on_window(7);
  f.on_window(9);
  CHECK(f.last_inbound_ms() == 7);
  f.on_decided(std::nullopt);
  f.on_sender_reply({sb::error{errc::overloaded, "full"}, {}, true});
  REQUIRE(f.next() == send_step::done);
  const auto before = f.answer().code;
  f.on_sender_reply({{}, {}, true});
  f.on_no_answer();
  CHECK(f.answer().code == before);
}

TEST_CASE("pseudonyms have the form anon_ and 16 letters or digits", "[outbound][send_flow]") {
  CHECK(sb::outbound::is_pseudonym("anon_0123456789abcdef"));
  CHECK_FALSE(sb::outbound::is_pseudonym("anon_0123456789abcde"));
  CHECK_FALSE(sb::outbound::is_pseudonym("anon_0123456789abcde!"));
  CHECK_FALSE(sb::outbound::is_pseudonym("12345"));
  CHECK(std::string(sb::outbound::to_string(send_step::hand_to_sender)) == "hand_to_sender");
}

// The outbound status events' dedupe key: composed once, by the sender and the tenant alike.
#include <catch2/catch.hpp>

#include <unordered_set>

#include "store/outbound_dedupe_key.hpp"

using sb::store::outbound_dedupe_key;
using sb::store::outbound_state;

TEST_CASE("an outbound dedupe key names the message and the state it reached",
          "[store][dedupe_key]") {
  const outbound_dedupe_key k("msg_01H8", outbound_state::delivered);
  CHECK(k.str() == "outbound:msg_01H8:delivered");
  auto back = outbound_dedupe_key::parse(k.str());
  REQUIRE(back);
  CHECK(*back == k);
  CHECK(back->message_id() == "msg_01H8");
  CHECK(back->state() == outbound_state::delivered);
}

TEST_CASE("an outbound dedupe key parses every state and nothing else", "[store][dedupe_key]") {
  for (auto s : {outbound_state::queued, outbound_state::sending, outbound_state::sent,
                 outbound_state::delivered, outbound_state::read, outbound_state::failed}) {
    auto k = outbound_dedupe_key::parse(outbound_dedupe_key("m:1", s).str());
    REQUIRE(k);
    CHECK(k->state() == s);
    CHECK(k->message_id() == "m:1");  // the state is after the last ':'
  }
  CHECK_FALSE(outbound_dedupe_key::parse("outbound:m1:lost"));
  CHECK_FALSE(outbound_dedupe_key::parse("outbound::sent"));
  CHECK_FALSE(outbound_dedupe_key::parse("outbound:sent"));
  CHECK_FALSE(outbound_dedupe_key::parse("s:wamid.1:delivered"));  // a platform's own key
  CHECK_FALSE(outbound_dedupe_key::parse(""));
}

TEST_CASE("outbound dedupe keys compare and hash by message and state", "[store][dedupe_key]") {
  const outbound_dedupe_key a("m1", outbound_state::sent), b("m1", outbound_state::read),
      c("m2", outbound_state::sent);
  CHECK(a != b);
  CHECK(a != c);
  CHECK(a == outbound_dedupe_key("m1", outbound_state::sent));
  std::unordered_set<outbound_dedupe_key> seen{a, b, c,
                                               outbound_dedupe_key("m1", outbound_state::sent)};
  CHECK(seen.size() == 3);
}

// The conversation key: the one place that composes and splits "<channel>:<peer>".
#include <catch2/catch.hpp>

#include <set>
#include <unordered_set>

#include "core/conversation_key.hpp"

using sb::conversation_key;

TEST_CASE("a conversation key formats as channel colon peer and parses back",
          "[core][conversation_key]") {
  const conversation_key k("wa-main", "15551234567");
  CHECK(k.str() == "wa-main:15551234567");
  CHECK(conversation_key::format("wa-main", "15551234567") == k.str());
  auto back = conversation_key::parse(k.str());
  REQUIRE(back);
  CHECK(*back == k);
  CHECK(back->channel() == "wa-main");
  CHECK(back->peer() == "15551234567");
}

TEST_CASE("a conversation key splits at the first colon, so a peer may contain colons",
          "[core][conversation_key]") {
  auto k = conversation_key::parse("shop:gid://shopify/Customer:42");
  REQUIRE(k);
  CHECK(k->channel() == "shop");
  CHECK(k->peer() == "gid://shopify/Customer:42");
  CHECK(k->str() == "shop:gid://shopify/Customer:42");
}

TEST_CASE("a conversation key refuses strings without a channel or a peer",
          "[core][conversation_key]") {
  CHECK_FALSE(conversation_key::parse(""));
  CHECK_FALSE(conversation_key::parse("no-colon"));
  CHECK_FALSE(conversation_key::parse(":peer"));
  CHECK_FALSE(conversation_key::parse("channel:"));
  CHECK_FALSE(conversation_key::parse(":"));
}

TEST_CASE("conversation keys compare and hash by channel and peer", "[core][conversation_key]") {
  const conversation_key a("tg", "1"), b("tg", "2"), c("wa", "1");
  CHECK(a != b);
  CHECK(a != c);
  CHECK(a == conversation_key("tg", "1"));
  CHECK(a < b);
  CHECK(b < c);
  // "a:b" + "c" and "a" + "b:c" are different keys, though one string could name both.
  CHECK(conversation_key("a:b", "c") != conversation_key("a", "b:c"));
  std::unordered_set<conversation_key> seen{a, b, c, conversation_key("tg", "1")};
  CHECK(seen.size() == 3);
  CHECK(std::hash<conversation_key>{}(a) ==
        std::hash<conversation_key>{}(conversation_key("tg", "1")));
  std::set<conversation_key> ordered{c, b, a};
  CHECK(ordered.begin()->str() == "tg:1");
}

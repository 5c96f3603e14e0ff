// The plain classes behind two bounds of the tenant actor, without an actor system: the live
// conversation actors past `limits.conversations_per_tenant` (conversation_lru) and the head
// readers may read up to (announced_head, docs/architecture.md "Consent is judged when an event
// is read").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/conversation_lru.hpp"
#include "store/announced_head.hpp"

using sb::conversation_lru;
using sb::store::announced_head;

namespace {

/// What `conversation_for` does: touch, or make room and insert. Returns the evicted keys.
std::vector<std::string> use(conversation_lru<int>& lru, const std::string& key, int value = 0) {
  std::vector<std::string> evicted;
  if (lru.touch(key) != nullptr) {
    return evicted;
  }
  while (lru.full()) {
    evicted.push_back(lru.pop_lru().first);
  }
  lru.insert(key, value);
  return evicted;
}

std::vector<std::string> keys(conversation_lru<int>& lru) {
  std::vector<std::string> out;
  lru.for_each([&](const std::string& k, int) { out.push_back(k); });
  return out;
}

}  // namespace

TEST_CASE("past the cap the least recently used conversation makes room for a new one",
          "[actors][limits]") {
  conversation_lru<int> lru(3);
  CHECK(use(lru, "wa:1", 1).empty());
  CHECK(use(lru, "wa:2", 2).empty());
  CHECK(use(lru, "wa:3", 3).empty());
  CHECK(lru.size() == 3);
  CHECK(use(lru, "wa:4", 4) == std::vector<std::string>{"wa:1"});
  CHECK(use(lru, "wa:5", 5) == std::vector<std::string>{"wa:2"});
  CHECK(lru.size() == 3);
  CHECK(keys(lru) == std::vector<std::string>{"wa:5", "wa:4", "wa:3"});
  CHECK(lru.find("wa:1") == nullptr);
  REQUIRE(lru.find("wa:3") != nullptr);
  CHECK(*lru.find("wa:3") == 3);
}

TEST_CASE("a conversation with a new event is kept and an older idle one is stopped instead",
          "[actors][limits]") {
  conversation_lru<int> lru(3);
  use(lru, "a");
  use(lru, "b");
  use(lru, "c");
  CHECK(use(lru, "a").empty());  // an event for "a": it is the most recent now
  CHECK(use(lru, "d") == std::vector<std::string>{"b"});
  CHECK(use(lru, "e") == std::vector<std::string>{"c"});
  CHECK(use(lru, "f") == std::vector<std::string>{"a"});
  // `find` (introspection) does not count as use.
  REQUIRE(lru.find("d") != nullptr);
  CHECK(use(lru, "g") == std::vector<std::string>{"d"});
}

TEST_CASE("a conversation actor that stopped by itself leaves the bookkeeping at once",
          "[actors][limits]") {
  conversation_lru<int> lru(2);
  use(lru, "a");
  use(lru, "b");
  CHECK(lru.erase("a"));
  CHECK_FALSE(lru.erase("a"));
  CHECK(lru.size() == 1);
  CHECK_FALSE(lru.full());
  CHECK(use(lru, "c").empty());  // room without evicting anyone
  CHECK(use(lru, "d") == std::vector<std::string>{"b"});
  CHECK(lru.erase("d"));
  CHECK(lru.erase("c"));
  CHECK(lru.empty());
  CHECK(use(lru, "e").empty());
}

TEST_CASE("tens of thousands of senders never hold more conversations than the cap",
          "[actors][limits]") {
  conversation_lru<int> lru(100);
  std::size_t evicted = 0;
  for (int i = 0; i < 50000; ++i) {
    evicted += use(lru, "wa-main:" + std::to_string(16505550000LL + i), i).size();
    REQUIRE(lru.size() <= 100);
  }
  CHECK(lru.size() == 100);
  CHECK(evicted == 50000 - 100);
  // The survivors are the last hundred, most recent first.
  auto k = keys(lru);
  CHECK(k.front() == "wa-main:" + std::to_string(16505550000LL + 49999));
  CHECK(k.back() == "wa-main:" + std::to_string(16505550000LL + 49900));
}

TEST_CASE("commits in seq order are announced at once", "[actors][consent]") {
  announced_head h(10);
  CHECK(h.value() == 10);
  CHECK(h.committed(11, 13));
  CHECK(h.value() == 13);
  CHECK(h.committed(14, 14));
  CHECK(h.value() == 14);
  CHECK_FALSE(h.waiting());
}

TEST_CASE("a commit past a gap waits until the commit of the gap's seqs arrives",
          "[actors][consent]") {
  announced_head h(0);
  // Seq 1 (say a STOP message) is stored, its commit still on its way; seq 2's arrives first.
  CHECK_FALSE(h.committed(2, 3));
  CHECK(h.value() == 0);  // a reader must not pass seq 1 yet
  CHECK(h.waiting());
  CHECK(h.highest() == 3);
  CHECK_FALSE(h.committed(6, 6));
  CHECK_FALSE(h.committed(5, 5));
  CHECK(h.value() == 0);
  CHECK(h.committed(1, 1));  // the keyword is applied now: 1..3 announced
  CHECK(h.value() == 3);
  CHECK(h.committed(4, 4));
  CHECK(h.value() == 6);
  CHECK_FALSE(h.waiting());
}

TEST_CASE("seqs at or below the announced head change nothing", "[actors][consent]") {
  announced_head h(5);
  CHECK_FALSE(h.committed(3, 5));  // committed before the tenant actor (re)started
  CHECK(h.value() == 5);
  CHECK(h.committed(4, 7));  // overlaps: only 6 and 7 are new
  CHECK(h.value() == 7);
  CHECK_FALSE(h.committed(9, 10));
  CHECK_FALSE(h.committed(9, 9));  // again: merged, no change
  CHECK(h.committed(8, 8));
  CHECK(h.value() == 10);
}

TEST_CASE("a commit that never comes is given up on and the head moves over what followed",
          "[actors][consent]") {
  announced_head h(0);
  CHECK_FALSE(h.committed(3, 4));
  CHECK_FALSE(h.committed(8, 9));
  CHECK(h.give_up_through(2));  // 1..2 lost: 3..4 follow without a gap
  CHECK(h.value() == 4);
  CHECK(h.waiting());
  CHECK_FALSE(h.give_up_through(3));  // already past
  CHECK(h.give_up_through(8));        // inside the pending 8..9
  CHECK(h.value() == 9);
  CHECK_FALSE(h.waiting());
  CHECK(h.give_up_through(12));  // stored, nothing committed after it
  CHECK(h.value() == 12);
  CHECK(h.committed(13, 13));
  CHECK(h.value() == 13);
}

// The live tail (store/live_tail.hpp) in front of both stores: what it serves is what the store
// would (same JSON, types, bounds, paging), it serves the newest events from memory, older ones
// from the store, and an erasure or a sweep leaves nothing erased in memory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/live_tail.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;

namespace {

using test::raw_db;
using test::store_support::append;
using test::store_support::erase;
using test::store_support::make_event;
using test::store_support::memory_backend;
using test::store_support::open_sqlite;
using test::store_support::read_all;
using test::store_support::seqs;
using test::store_support::sqlite_backend;

/// Events 1..n of tenant acme, one request each, subjects alternating sub_a / sub_b, every third
/// a reaction.
void fill(store::event_log& log, int n, int first = 1) {
  for (int i = first; i < first + n; ++i) {
    auto e = make_event("acme", "wa", "k" + std::to_string(i), i % 2 == 0 ? "sub_b" : "sub_a");
    if (i % 3 == 0) {
      e.type = event_type::reaction;
    }
    append(log, {{"acme", {e}}});
  }
}

void same(const std::vector<store::stored_event>& a, const std::vector<store::stored_event>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].seq == b[i].seq);
    CHECK(a[i].type == b[i].type);
    CHECK(a[i].subject == b[i].subject);
    CHECK(a[i].conversation == b[i].conversation);
    CHECK(a[i].json == b[i].json);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("the live tail answers reads as the store does", "[store][tail]",
                   memory_backend, sqlite_backend) {
  TestType backend;
  auto inner = backend.open();
  auto plain = inner.log;
  auto tailed = store::with_live_tail(inner, {8, 1u << 20});
  fill(*tailed.log, 20);  // the tail holds 13..20

  // From the tail (13..20), from the store (before 13), and across both by paging.
  for (std::uint64_t after : {0u, 5u, 12u, 13u, 17u, 19u, 20u}) {
    for (std::size_t limit : {1u, 3u, 100u}) {
      for (std::uint64_t upto : {std::uint64_t{18}, store::event_log::k_unbounded}) {
        for (const std::vector<std::string>& types :
             {std::vector<std::string>{}, std::vector<std::string>{event_type::reaction}}) {
          CAPTURE(after, limit, upto, types.size());
          auto a = plain->read("acme", after, limit, types, upto);
          auto b = tailed.log->read("acme", after, limit, types, upto);
          REQUIRE(a.ok());
          REQUIRE(b.ok());
          CHECK(a->next == b->next);
          same(a->events, b->events);
        }
      }
    }
  }
  same(read_all(*plain, "acme"), read_all(*tailed.log, "acme"));
  // Duplicates add nothing; another tenant has its own tail.
  append(*tailed.log, {{"acme", {make_event("acme", "wa", "k20", "sub_a")}},
                       {"globex", {make_event("globex", "wa", "k1", "sub_a")}}});
  CHECK(seqs(read_all(*tailed.log, "acme")).size() == 20);
  same(read_all(*plain, "globex"), read_all(*tailed.log, "globex"));
}

TEMPLATE_TEST_CASE("the live tail shares one rendered SSE frame per event among its readers",
                   "[store][tail]", memory_backend, sqlite_backend) {
  TestType backend;
  auto inner = backend.open();
  auto tailed = store::with_live_tail(inner, {8, 1u << 20});
  fill(*tailed.log, 12);  // the tail holds 5..12

  store::shared_read a;
  store::shared_read b;
  REQUIRE(tailed.log->read_cached("acme", 6, 100, {}, 11, a));
  REQUIRE(tailed.log->read_cached("acme", 6, 100, {}, 11, b));
  CHECK(a.next == 11);
  REQUIRE(a.events.size() == 5);  // 7..11: `upto` bounds it
  auto stored = inner.log->read("acme", 6, 100, {}, 11);
  REQUIRE(stored.ok());
  REQUIRE(stored->events.size() == a.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const auto& e = *a.events[i];
    const auto& s = stored->events[i];
    CAPTURE(s.seq);
    CHECK(a.events[i] == b.events[i]);  // the same memory for both readers, not a copy
    CHECK(e.seq == s.seq);
    CHECK(e.type == s.type);
    CHECK(e.subject == s.subject);
    CHECK(e.json() == s.json);  // what the store itself renders
    CHECK(e.frame == "id: " + std::to_string(s.seq) + "\nevent: " + s.type + "\ndata: " + s.json +
                         "\n\n");
    CHECK(store::share(s)->frame == e.frame);
  }
  // Older than the tail, or nothing new: not answered from memory.
  store::shared_read none;
  CHECK_FALSE(tailed.log->read_cached("acme", 2, 100, {}, store::event_log::k_unbounded, none));
  CHECK_FALSE(tailed.log->read_cached("acme", 12, 100, {}, store::event_log::k_unbounded, none));
  CHECK(none.events.empty());
  // A type filter keeps the shared events of that type.
  store::shared_read reactions;
  REQUIRE(tailed.log->read_cached("acme", 4, 100, {event_type::reaction}, 12, reactions));
  CHECK(reactions.next == 12);
  REQUIRE(reactions.events.size() == 3);  // 6, 9, 12
  CHECK(reactions.events[0]->seq == 6);
}

TEST_CASE("the live tail serves new events from memory and forgets them on erasure",
          "[store][tail]") {
  test::temp_dir dir("sb-tail");
  auto inner = open_sqlite(dir.path);
  auto tailed = store::with_live_tail(inner, {64, 1u << 20});
  fill(*tailed.log, 10);
  {
    // Gone from the file (as if another reader raced a delete): the tail still has them, so it
    // is what answered.
    raw_db raw(dir.path);
    raw.exec("DELETE FROM events WHERE tenant = 'acme' AND seq > 8");
  }
  CHECK(seqs(read_all(*inner.log, "acme")).size() == 8);
  auto from_tail = tailed.log->read("acme", 8, 10, {});
  REQUIRE(from_tail.ok());
  CHECK(seqs(from_tail->events) == std::vector<std::uint64_t>{9, 10});

  // An erasure through the tailed privacy store empties the tenant's tail: nothing of sub_a is
  // served afterwards, from memory or from the store.
  auto out = erase(*tailed.privacy, "acme", "sub_a");
  CHECK(out.events == 4);  // 1, 3, 5, 7 (9 was deleted above)
  auto after = read_all(*tailed.log, "acme");
  CHECK(seqs(after) == std::vector<std::uint64_t>{2, 4, 6, 8});
  // New events go to the tail again, from the next seq on.
  fill(*tailed.log, 2, 11);
  CHECK(seqs(read_all(*tailed.log, "acme")) == std::vector<std::uint64_t>{2, 4, 6, 8, 11, 12});

  // A sweep that deletes events empties it too.
  auto swept = tailed.privacy->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000));
  REQUIRE(swept.ok());
  CHECK(swept->events == 6);
  CHECK(read_all(*tailed.log, "acme").empty());
}

// The checkpoints run on a thread of their own (store/sqlite/checkpointer.hpp); the WAL must still
// start over as it fills, or it would grow with everything ever written.
TEST_CASE("the WAL stays bounded while its checkpoints run on their own thread", "[store][wal]") {
  test::temp_dir dir("sb-wal");
  auto stores = open_sqlite(dir.path);
  const std::string text(2000, 'x');  // ~2.5 KB a row: 40 MB in all
  std::uint64_t peak = 0;
  for (int batch = 0; batch < 160; ++batch) {
    std::vector<event> events;
    for (int i = 0; i < 100; ++i) {
      auto e = make_event("acme", "wa", "k" + std::to_string(batch * 100 + i), "sub_a");
      e.content.text = text;
      events.push_back(std::move(e));
    }
    append(*stores.log, {{"acme", events}});
    std::error_code ec;
    peak = std::max<std::uint64_t>(
        peak, std::filesystem::file_size(dir.path + "/switchboard.db-wal", ec));
  }
  INFO("largest WAL: " << peak << " bytes");
  CHECK(peak > 0);
  CHECK(peak < 20u << 20);  // SQLite's automatic checkpoints keep it near 4 MB
  CHECK(read_all(*stores.log, "acme").size() == 16000);
}

// The SQLite store's schema version 3: the subject index is brought up to date in bulk (an export
// reads the index and the recent events it does not cover yet; an erasure first brings it up to
// date), index entries leave with their events, dedupe digests are the dedupe table's key, and a
// version 2 store (the first encrypted layout) is migrated. Real database files in fresh temporary
// directories; the v2 store is built here byte for byte as that version wrote it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite/database.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;

namespace {

using test::raw_db;
using test::store_support::append;
using test::store_support::build_old_store;
using test::store_support::erase;
using test::store_support::export_of;
using test::store_support::make_event;
using test::store_support::old_store_writer;
using test::store_support::open_sqlite;
using test::store_support::privacy;
using test::store_support::read_all;
using test::store_support::seqs;

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("sb-index") {}
};

/// Index entries whose event is gone (none may exist: they would grow without bound).
std::int64_t stale_index_entries(raw_db& raw) {
  return raw.number(
      "SELECT COUNT(*) FROM subject_events s WHERE NOT EXISTS (SELECT 1 FROM subject_keys k, "
      "events e WHERE k.id = s.subject_key AND e.tenant = k.tenant AND e.seq = s.seq "
      "AND e.subject_key = s.subject_key)");
}

/// The SQLite stores in `dir` with `t`: sizes the defaults make too large for a test to cross.
store::stores open_tuned(const std::string& dir, const store::sqlite::tuning& t) {
  auto s = store::sqlite::make_stores(dir, config::durability::none,
                                      test::store_support::k_master_key, t);
  INFO((s ? std::string() : s.err().message));
  REQUIRE(s.ok());
  return std::move(s.value());
}

/// Merge rounds of 16,384 keys (the default is 65,536).
store::sqlite::tuning small_rounds() {
  store::sqlite::tuning t;
  t.dedupe_merge_keys = 16384;
  return t;
}

/// Appends `n` events of tenant acme in batches of 100: every 7th of sub_a, every 5th of sub_b
/// (when not sub_a's), every 11th without a subject, the rest spread over 300 other subjects.
/// Returns the seqs of each subject.
std::map<std::string, std::vector<std::uint64_t>> append_many(store::event_log& log, int n,
                                                              int first = 0) {
  std::map<std::string, std::vector<std::uint64_t>> by_subject;
  for (int i = first; i < first + n;) {
    std::vector<event> batch;
    for (int j = 0; j < 100 && i < first + n; ++j, ++i) {
      std::string subject = i % 7 == 0    ? "sub_a"
                            : i % 5 == 0  ? "sub_b"
                            : i % 11 == 0 ? ""
                                          : "sub_" + std::to_string(i % 300);
      batch.push_back(
          make_event("acme", i % 2 == 0 ? "wa" : "tg", "k" + std::to_string(i), subject, 1000 + i));
    }
    auto out = append(log, {{"acme", batch}});
    for (std::size_t j = 0; j < batch.size(); ++j) {
      REQUIRE_FALSE(out[0][j].duplicate);
      by_subject[batch[j].subject].push_back(out[0][j].seq);
    }
  }
  return by_subject;
}

// The schema the store wrote as version 2, verbatim (sqlite3 .schema of such a store).
constexpr const char* k_v2_schema = R"sql(
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  channel TEXT NOT NULL,
  dedupe_key TEXT,
  type TEXT NOT NULL,
  conversation TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant, seq)
);
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  body BLOB
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
CREATE TABLE cursors (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, subscriber)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at_ms INTEGER NOT NULL
, subject TEXT NOT NULL DEFAULT '');
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
CREATE INDEX events_received_at ON events (tenant, received_at_ms);
CREATE INDEX events_subject ON events (tenant, subject, seq) WHERE subject <> '';
CREATE TABLE IF NOT EXISTS "dedupe" (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel, key)
) WITHOUT ROWID;
CREATE INDEX dedupe_created_at ON dedupe (tenant, created_at_ms);
CREATE INDEX dead_letters_subject ON dead_letters (tenant, subject) WHERE subject <> '';
CREATE INDEX dead_letters_failed_at ON dead_letters (tenant, failed_at_ms);
CREATE INDEX quarantine_received_at ON quarantine (tenant, received_at_ms);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE subject_keys (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  channel TEXT NOT NULL,
  wrapped_key BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
CREATE INDEX subject_keys_channel ON subject_keys (tenant, channel) WHERE subject <> '';
CREATE TABLE consent (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  granted TEXT NOT NULL,
  restricted INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, id);
CREATE TABLE deletion_requests (
  code TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  subject TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

}  // namespace

TEST_CASE("an export and an erasure find a subject's events in the index and in its recent tail",
          "[privacy]") {
  temp_dir dir;
  std::map<std::string, std::vector<std::uint64_t>> by_subject;
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto p = privacy(stores);
    by_subject = append_many(*log, 6000);
    {
      // Both parts exist: events the index covers and a tail it does not cover yet.
      raw_db raw(dir.path);
      const auto indexed = raw.number("SELECT indexed FROM tenant_heads WHERE tenant = 'acme'");
      CHECK(indexed > 0);
      CHECK(indexed < 6000);
    }
    CHECK(seqs(export_of(*p, "acme", "sub_a")) == by_subject["sub_a"]);
    auto first = export_of(*p, "acme", "sub_b", 10);
    CHECK(seqs(first) == std::vector<std::uint64_t>(by_subject["sub_b"].begin(),
                                                    by_subject["sub_b"].begin() + 10));
    CHECK(first[0].json.find("\"subject\":\"sub_b\"") != std::string::npos);

    auto out = erase(*p, "acme", "sub_a");
    CHECK(out.events == by_subject["sub_a"].size());
    CHECK(out.dedupe_keys == by_subject["sub_a"].size());
    CHECK(out.key_destroyed);
    CHECK(export_of(*p, "acme", "sub_a").empty());
    raw_db raw(dir.path);
    CHECK(raw.number("SELECT indexed FROM tenant_heads WHERE tenant = 'acme'") == 6000);
    CHECK(stale_index_entries(raw) == 0);
  }
  // After a restart, with a new tail: the same, for another subject.
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  auto more = append_many(*log, 700, 6000);
  for (auto& [subject, list] : more) {
    by_subject[subject].insert(by_subject[subject].end(), list.begin(), list.end());
  }
  CHECK(seqs(export_of(*p, "acme", "sub_b")) == by_subject["sub_b"]);
  auto out = erase(*p, "acme", "sub_b");
  CHECK(out.events == by_subject["sub_b"].size());
  CHECK(export_of(*p, "acme", "sub_b").empty());
  // Every other event is still there, and a retry of an erased event is still a duplicate.
  const auto left = read_all(*log, "acme");
  CHECK(left.size() ==
        6700 - by_subject["sub_a"].size() - by_subject["sub_b"].size() + more["sub_a"].size());
  CHECK(std::none_of(left.begin(), left.end(),
                     [](const store::stored_event& e) { return e.subject == "sub_b"; }));
  auto retry = append(*log, {{"acme", {make_event("acme", "wa", "k0", "sub_a")}}});
  CHECK(retry[0][0].duplicate);
}

// Schema v7: the index in segments of 16,384 seqs (an entry of seq q in segment q >> 14), so
// that a catch-up writes only into the newest one. A subject's events span segments; each is
// searched.
TEST_CASE("the subject index is kept in segments of seqs, and a subject is found in every one",
          "[privacy]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  // 40,000 events: segments 0, 1 and 2 indexed (the catch-ups run every 4,096), a tail after.
  auto by_subject = append_many(*log, 40000);
  {
    raw_db raw(dir.path);
    CHECK(raw.number("SELECT COUNT(*) FROM subject_events WHERE segment <> seq >> 14") == 0);
    CHECK(raw.number("SELECT COUNT(DISTINCT segment) FROM subject_events") == 3);
    CHECK(raw.number("SELECT indexed FROM tenant_heads WHERE tenant = 'acme'") < 40000);
  }
  CHECK(seqs(export_of(*p, "acme", "sub_a", 100000)) == by_subject["sub_a"]);
  CHECK(by_subject["sub_a"].back() > 2 * 16384);
  auto out = erase(*p, "acme", "sub_a");
  CHECK(out.events == by_subject["sub_a"].size());
  CHECK(out.dedupe_keys == by_subject["sub_a"].size());
  CHECK(export_of(*p, "acme", "sub_a").empty());
  CHECK(seqs(export_of(*p, "acme", "sub_b", 100000)) == by_subject["sub_b"]);
  // After retention took the oldest segment's events, the first segment searched is the oldest
  // event's: the other subjects are still found.
  auto swept = p->expire("acme", timestamp::from_millis(1000 + 20000));
  REQUIRE(swept.ok());
  std::vector<std::uint64_t> b_left;
  for (auto seq : by_subject["sub_b"]) {
    if (seq > 20000) {
      b_left.push_back(seq);
    }
  }
  CHECK(seqs(export_of(*p, "acme", "sub_b", 100000)) == b_left);
  raw_db raw(dir.path);
  CHECK(stale_index_entries(raw) == 0);
  CHECK(raw.number("SELECT MIN(segment) FROM subject_events") == 1);
}

TEST_CASE("a version 6 store is migrated: its subject index moved into segments, its dedupe keys "
          "into generation 0",
          "[privacy]") {
  temp_dir dir;
  std::map<std::string, std::vector<std::uint64_t>> by_subject;
  std::int64_t entries = 0;
  std::int64_t keys = 0;
  {
    auto stores = open_tuned(dir.path, small_rounds());
    by_subject = append_many(*stores.log, 24000);
  }
  {
    // Back to version 6's index, trigger and dedupe table, verbatim, with the same rows.
    raw_db raw(dir.path);
    entries = raw.number("SELECT COUNT(*) FROM subject_events");
    REQUIRE(entries > 16384);
    keys = raw.number("SELECT COUNT(*) FROM dedupe");
    REQUIRE(keys > 1000);  // the first merge round's slices so far (and claims pending)
    raw.exec(R"sql(
CREATE TABLE dedupe_v6 (
  key BLOB PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO dedupe_v6 SELECT key, tenant, channel, seq, created_at_ms FROM dedupe;
DROP TABLE dedupe;
ALTER TABLE dedupe_v6 RENAME TO dedupe;
CREATE INDEX dedupe_created_at ON dedupe (tenant, channel, created_at_ms);
CREATE TABLE subject_events_v6 (
  subject_key INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (subject_key, seq)
) WITHOUT ROWID;
INSERT INTO subject_events_v6 SELECT subject_key, seq FROM subject_events;
DROP TRIGGER events_unindex;
DROP TABLE subject_events;
ALTER TABLE subject_events_v6 RENAME TO subject_events;
CREATE TRIGGER events_unindex AFTER DELETE ON events WHEN old.subject_key IS NOT NULL BEGIN
  DELETE FROM subject_events WHERE subject_key = old.subject_key AND seq = old.seq;
END;
PRAGMA user_version = 6;
)sql");
  }
  auto stores = open_tuned(dir.path, small_rounds());
  auto p = privacy(stores);
  {
    raw_db raw(dir.path);
    CHECK(raw.scalar("PRAGMA user_version") == test::store_support::k_schema_version);
    CHECK(raw.number("SELECT COUNT(*) FROM subject_events") == entries);
    CHECK(raw.number("SELECT COUNT(*) FROM subject_events WHERE segment <> seq >> 14") == 0);
    CHECK(raw.number("SELECT COUNT(*) FROM dedupe WHERE gen = 0") == keys);
  }
  // Every key of the old table is still a duplicate.
  for (int i : {0, 1, 9999, 23999}) {
    auto again = append(*stores.log, {{"acme", {make_event("acme", i % 2 == 0 ? "wa" : "tg",
                                                           "k" + std::to_string(i), "sub_x")}}});
    CHECK(again[0][0].duplicate);
  }
  CHECK(seqs(export_of(*p, "acme", "sub_b", 100000)) == by_subject["sub_b"]);
  auto out = erase(*p, "acme", "sub_b");
  CHECK(out.events == by_subject["sub_b"].size());
  raw_db raw(dir.path);
  CHECK(stale_index_entries(raw) == 0);
  CHECK(raw.number("SELECT COUNT(*) FROM events WHERE subject = 'sub_b'") == 0);
}

TEST_CASE("retention and a channel erasure take the index entries of what they delete",
          "[privacy]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  append_many(*log, 6000);
  {
    raw_db raw(dir.path);
    REQUIRE(raw.number("SELECT COUNT(*) FROM subject_events") > 0);
  }
  // Received at 1000 + i: the first 2000 events go, indexed ones among them.
  auto swept = p->expire("acme", timestamp::from_millis(3000));
  REQUIRE(swept.ok());
  CHECK(swept->events == 2000);
  {
    raw_db raw(dir.path);
    CHECK(stale_index_entries(raw) == 0);
    CHECK(raw.number("SELECT MIN(seq) FROM subject_events") > 2000);
  }
  auto a = export_of(*p, "acme", "sub_a");
  REQUIRE_FALSE(a.empty());
  CHECK(a.front().seq > 2000);

  // Half the events are on channel tg: its erasure takes every subject seen there (sub_a, sub_b
  // and the odd-numbered others, with their events on wa) and the channel's subject-less events.
  auto r = p->erase_channel("acme", "tg");
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  CHECK(r->events > 2000);
  raw_db raw(dir.path);
  CHECK(stale_index_entries(raw) == 0);
  CHECK(raw.number("SELECT COUNT(*) FROM events WHERE channel = 'tg'") == 0);
  // The channel's dedupe keys stay as tombstones until retention removes them (they were
  // created now, so the sweep above kept them all).
  CHECK(raw.number("SELECT COUNT(*) FROM dedupe WHERE channel = 'tg'") == 3000);
  CHECK(export_of(*p, "acme", "sub_a").empty());
}

TEST_CASE("retention expires dedupe keys on every channel of the tenant only", "[privacy]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme",
                 {make_event("acme", "wa", "k1", "sub_a"), make_event("acme", "tg", "k1", "sub_a"),
                  make_event("acme", "shop", "k1", "")}},
                {"globex", {make_event("globex", "wa", "k1", "sub_a")}}});
  auto swept = p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000));
  REQUIRE(swept.ok());
  CHECK(swept->dedupe_keys == 3);
  // The same key on the same channel of another tenant is still a duplicate there.
  auto dup = append(*log, {{"globex", {make_event("globex", "wa", "k1", "sub_a")}}});
  CHECK(dup[0][0].duplicate);
  auto fresh = append(*log, {{"acme", {make_event("acme", "tg", "k1", "sub_a")}}});
  CHECK_FALSE(fresh[0][0].duplicate);
}

TEST_CASE("a version 2 store is migrated to version 3: keys, rows, dedupe keys and index kept",
          "[privacy]") {
  temp_dir dir;
  std::vector<event> events{
      make_event("acme", "wa", "k1", "sub_a"), make_event("acme", "wa", "k2", "sub_b"),
      make_event("acme", "wa", "k3", ""), make_event("acme", "tg", "k4", "sub_a"),
      make_event("globex", "wa", "k1", "sub_a")};
  std::vector<std::string> json;
  build_old_store(dir.path, 2, k_v2_schema, [&](old_store_writer& w, raw_db& raw) {
    w.key_of("acme", "", "wa");  // the tenant's own key, as the first quarantined body made it
    for (auto& e : events) {
      json.push_back(w.put(e));
    }
    raw.insert(
        "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
        "failed_at_ms, subject) VALUES ('acme', 'hook', 4, 'evt_4', 8, 'HTTP 500', 5, 'sub_a')",
        {});
    raw.insert(
        "INSERT INTO consent (tenant, subject, granted, restricted, updated_at_ms) "
        "VALUES ('acme', 'sub_a', 'marketing=1', 0, 5)",
        {});
  });

  // Another master key: refused before anything changes.
  auto wrong = store::make_sqlite_stores(dir.path, config::durability::none, std::string(32, 'x'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().message ==
        "storage.master_key does not match the key this store was created with");
  {
    raw_db raw(dir.path);
    CHECK(raw.scalar("PRAGMA user_version") == "2");
  }

  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto p = privacy(stores);
    auto acme = read_all(*log, "acme");
    REQUIRE(acme.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(acme[i].seq == i + 1);
      CHECK(acme[i].json == json[i]);
      CHECK(acme[i].subject == events[i].subject);
      CHECK(acme[i].conversation == events[i].conversation);
    }
    CHECK(read_all(*log, "globex").at(0).json == json[4]);
    CHECK(log->head("acme") == 4);
    CHECK(seqs(export_of(*p, "acme", "sub_a")) == std::vector<std::uint64_t>{1, 4});

    // The dedupe digests are the same: a retry is a duplicate, the same key elsewhere is not.
    auto dup = append(*log, {{"acme", {make_event("acme", "wa", "k2", "sub_b")}}});
    CHECK(dup[0][0].duplicate);
    CHECK(dup[0][0].seq == 2);
    auto other = append(*log, {{"acme", {make_event("acme", "tg", "k1", "sub_c")}}});
    CHECK_FALSE(other[0][0].duplicate);
    CHECK(other[0][0].seq == 5);

    auto out = erase(*p, "acme", "sub_a");
    CHECK(out.events == 2);
    CHECK(out.dedupe_keys == 2);
    CHECK(out.dead_letters == 1);
    CHECK(out.key_destroyed);
    CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{2, 3, 5});
    CHECK(p->consents("acme").empty());
    CHECK(export_of(*p, "globex", "sub_a").size() == 1);
    auto again = append(*log, {{"acme", {make_event("acme", "wa", "k1", "sub_a")}}});
    CHECK(again[0][0].duplicate);  // a tombstone
    auto later = append(*log, {{"acme", {make_event("acme", "wa", "k9", "sub_a")}}});
    CHECK_FALSE(later[0][0].duplicate);
  }
  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == test::store_support::k_schema_version);  // and on to the current version
  CHECK(raw.number("SELECT COUNT(*) FROM events WHERE subject <> '' AND subject_key IS NULL") == 0);
  CHECK(stale_index_entries(raw) == 0);
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{2, 3, 5, 6});
  CHECK(seqs(export_of(*privacy(stores), "acme", "sub_a")) == std::vector<std::uint64_t>{6});
}

// Schema v6: dedupe keys are claimed in memory and merged into `dedupe` in bulk. A claim must hold
// whether it is still pending, merged, restored after a reopen (crash included: the keys come
// back from the events' rows), or left behind as a tombstone by an erasure.
TEST_CASE("dedupe keys hold while pending, after a merge, across a reopen and after an erasure",
          "[dedupe]") {
  temp_dir dir;
  // With rounds of 16,384 keys: a merge round starts past 16,384 pending keys and takes one slice
  // (of 256) per append: the first round ends after 42,000 events, the second is under way at
  // 45,000.
  constexpr int n = 45000;
  std::map<std::string, std::vector<std::uint64_t>> by_subject;
  {
    auto stores = open_tuned(dir.path, small_rounds());
    by_subject = append_many(*stores.log, n);
    raw_db raw(dir.path);
    const auto merged = raw.number("SELECT deduped FROM tenant_heads WHERE tenant = 'acme'");
    CHECK(merged == 16400);  // the first round's watermark...
    CHECK(raw.number("SELECT COUNT(*) FROM dedupe") > merged);  // ...and slices of the second
    CHECK(raw.number("SELECT COUNT(*) FROM dedupe") < n);
    // A key from before the merge, one from the pending tail and one claimed twice in a batch.
    auto again = append(*stores.log, {{"acme",
                                       {make_event("acme", "wa", "k10", "sub_a", 1),
                                        make_event("acme", "tg", "k44999", "sub_a", 1),
                                        make_event("acme", "wa", "fresh", "sub_a", 1),
                                        make_event("acme", "wa", "fresh", "sub_a", 1)}}});
    CHECK(again[0][0].duplicate);
    CHECK(again[0][0].seq == 11);
    CHECK(again[0][1].duplicate);
    CHECK(again[0][1].seq == 45000);
    CHECK_FALSE(again[0][2].duplicate);
    CHECK(again[0][2].seq == n + 1);
    CHECK(again[0][3].duplicate);
    CHECK(again[0][3].seq == n + 1);
  }
  // Reopened (the pending claims were never merged): the tail's keys are claimed again.
  {
    auto stores = open_tuned(dir.path, small_rounds());
    auto again = append(*stores.log, {{"acme",
                                       {make_event("acme", "tg", "k44999", "sub_a", 1),
                                        make_event("acme", "wa", "fresh", "sub_a", 1),
                                        make_event("acme", "wa", "k2", "sub_a", 1)}}});
    CHECK(again[0][0].duplicate);
    CHECK(again[0][0].seq == 45000);
    CHECK(again[0][1].duplicate);
    CHECK(again[0][1].seq == n + 1);
    CHECK(again[0][2].duplicate);
    // An erasure merges the pending keys first: its events' keys stay as tombstones, across a
    // reopen too (the erased events' rows, which held the pending keys, are gone).
    auto p = privacy(stores);
    auto out = erase(*p, "acme", "sub_b");
    CHECK(out.events == by_subject["sub_b"].size());
    raw_db raw(dir.path);
    CHECK(raw.number("SELECT deduped FROM tenant_heads WHERE tenant = 'acme'") == n + 1);
  }
  auto stores = open_tuned(dir.path, small_rounds());
  const std::uint64_t last_b = by_subject["sub_b"].back();
  auto replay = append(
      *stores.log,
      {{"acme", {make_event("acme", last_b % 2 == 1 ? "wa" : "tg",
                            "k" + std::to_string(last_b - 1), "sub_b", 1)}}});
  CHECK(replay[0][0].duplicate);
  CHECK(replay[0][0].seq == last_b);
}

// Schema v8: merges write into the newest generation of `dedupe`; past its size the next round
// starts a new one. Small generations here (the default is 262,144 keys).
TEST_CASE("dedupe keys in several generations hold, found through their filters, across a reopen",
          "[dedupe]") {
  temp_dir dir;
  auto small = small_rounds();
  small.dedupe_generation_keys = 5000;
  const auto open_small = [&] { return open_tuned(dir.path, small); };
  constexpr int n = 60000;
  {
    auto stores = open_small();
    append_many(*stores.log, n);
    // The first round merges 16,400 keys into generation 0 (events 16,400 to 42,000, a slice
    // per append), past its size, so the second, under way, goes into generation 1.
    raw_db raw(dir.path);
    CHECK(raw.number("SELECT COUNT(DISTINCT gen) FROM dedupe") == 2);
    CHECK(raw.number("SELECT MIN(gen) FROM dedupe") == 0);
    CHECK(raw.number("SELECT COUNT(*) FROM dedupe WHERE gen = 0") > 5000);
  }
  auto stores = open_small();
  {
    // Reopened: the filters are made again from the table. A key of each generation, one still
    // pending, and a new one.
    raw_db raw(dir.path);
    std::vector<std::uint64_t> probes;
    for (int gen = 0; gen < 2; ++gen) {
      probes.push_back(static_cast<std::uint64_t>(raw.number(
          "SELECT MAX(seq) FROM dedupe WHERE gen = " + std::to_string(gen))));
    }
    probes.push_back(n);  // claimed, not merged: claimed again at open
    for (auto seq : probes) {
      CAPTURE(seq);
      const int i = static_cast<int>(seq) - 1;
      auto again = append(*stores.log, {{"acme", {make_event("acme", i % 2 == 0 ? "wa" : "tg",
                                                             "k" + std::to_string(i), "sub_x")}}});
      CHECK(again[0][0].duplicate);
      CHECK(again[0][0].seq == seq);
    }
  }
  auto fresh = append(*stores.log, {{"acme", {make_event("acme", "wa", "new-one", "sub_x")}}});
  CHECK_FALSE(fresh[0][0].duplicate);
  // An erasure flushes the pending keys into the newest generation; the erased events' keys stay
  // duplicates there and in the older ones.
  auto p = privacy(stores);
  auto out = erase(*p, "acme", "sub_a");
  CHECK(out.dedupe_keys == out.events);
  for (int i : {0, 7, 30002, n - 7}) {
    auto again = append(*stores.log, {{"acme", {make_event("acme", i % 2 == 0 ? "wa" : "tg",
                                                           "k" + std::to_string(i), "sub_a")}}});
    CAPTURE(i);
    CHECK(again[0][0].duplicate);
  }
}

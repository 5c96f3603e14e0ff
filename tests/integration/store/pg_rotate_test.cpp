// `switchboard rotate-master-key` on PostgreSQL (store/root_key.hpp, store/pg/rotate.cpp): every
// data key re-wrapped under the new master key and the root record written, in one transaction.
// Afterwards the new key opens the store and reads back the same events, dedupe keys and outbound
// messages (their digests and the outbox's keys come from the root key, which does not change);
// the old key opens nothing. Refused, with nothing changed, under a wrong key and while a replica
// holds a lease. A rotated SQLite store copied into PostgreSQL keeps its root key.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/outbox.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/lease.hpp"
#include "store/pg/migrate_sqlite.hpp"
#include "store/pg/stores.hpp"
#include "store/root_key.hpp"

using namespace sb;
using namespace sb::test::store_support;
using test::pg_cluster;
using test::temp_dir;

namespace {

const std::string k_key_a(32, '\x5a');  // k_master_key: the stores' first master key
const std::string k_key_b(32, '\x6b');
const std::string k_key_c(32, '\x7c');
const std::string k_wrong(32, '\x01');

/// A replica's stores under `master_key`; fails the test when they do not open.
store::pg::replica_stores open_with(const pg_cluster& cluster, const std::string& master_key) {
  auto opened = store::pg::open_stores(storage_of(cluster, master_key), "test");
  INFO((opened ? std::string() : opened.err().message));
  REQUIRE(opened);
  return std::move(opened).value();
}

/// A connection of the test's own: not named as a gateway's, so a rotation does not count it.
store::pg::connection connect(const pg_cluster& cluster) {
  auto c = store::pg::connection::open(cluster.dsn(), "switchboard-test");
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c);
  return std::move(c).value();
}

std::string scalar(store::pg::connection& c, const char* sql) {
  auto q = c.exec(sql);
  INFO((q ? std::string() : q.err().message));
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  return std::string(q->text(0, 0));
}

/// The root record as it is stored (none: never rotated).
std::optional<std::string> record_of(const pg_cluster& cluster) {
  auto r = store::pg::read_root_record(cluster.dsn());
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r);
  return *r;
}

store::rotation_report rotate(const pg_cluster& cluster, const std::string& from,
                              const std::string& to) {
  auto r = store::rotate_master_key(storage_of(cluster, from), to);
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r);
  return *r;
}

void require_refused(const pg_cluster& cluster, const std::string& master_key) {
  auto opened = store::pg::open_stores(storage_of(cluster, master_key), "test");
  REQUIRE_FALSE(opened);
  CHECK(opened.err().code == errc::unauthorized);
  CHECK(opened.err().message == store::k_root_key_refused);
}

/// Two people's messages and one without a subject (the tenant's own key): three data keys.
std::vector<event> first_events() {
  return {make_event("acme", "wa", "k1", "sub-1"), make_event("acme", "wa", "k2", "sub-2"),
          make_event("acme", "tg", "k3", "sub-1"), make_event("acme", "tg", "k4", "")};
}

void require_same(const std::vector<store::stored_event>& got,
                  const std::vector<store::stored_event>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].seq == want[i].seq);
    CHECK(got[i].subject == want[i].subject);
    CHECK(got[i].conversation == want[i].conversation);
    CHECK(got[i].json == want[i].json);
  }
}

/// What a store opened under `master_key` must still hold after rotations: the same events, a
/// retried dedupe key a duplicate, the outbound message found by its id and its idempotency key.
void require_intact(const pg_cluster& cluster, const std::string& master_key,
                    const std::vector<store::stored_event>& want) {
  auto s = open_with(cluster, master_key);
  require_same(read_all(*s.stores.log, "acme"), want);
  auto again = append(*s.stores.log, {{"acme", {make_event("acme", "wa", "k2", "sub-2")}}});
  CHECK(again[0][0].duplicate);
  CHECK(again[0][0].seq == 2);
  auto got = s.outbox->get("acme", "out_1");
  INFO((got ? std::string() : got.err().message));
  REQUIRE(got);
  CHECK(got->message == outbound("out_1", "idem-1").message);
  CHECK(got->recipient == "16505551234");
  auto replay = s.outbox->put(outbound("out_9", "idem-1"));
  REQUIRE(replay);
  CHECK_FALSE(replay->created);
  CHECK(replay->record.id == "out_1");
}

}  // namespace

TEST_CASE("a rotated PostgreSQL store opens under the new master key only and reads back the same",
          "[store][pg][rotate]") {
  pg_cluster cluster;
  std::vector<store::stored_event> want;
  {
    auto s = open_with(cluster, k_key_a);
    append(*s.stores.log, {{"acme", first_events()}});
    REQUIRE(s.outbox->put(outbound("out_1", "idem-1")));
    want = read_all(*s.stores.log, "acme");
    REQUIRE(want.size() == 4);
  }
  auto c = connect(cluster);
  const std::string keys = scalar(c, "SELECT COUNT(*) FROM subject_keys");
  REQUIRE(keys == "3");
  CHECK_FALSE(record_of(cluster));

  const auto first = rotate(cluster, k_key_a, k_key_b);
  CHECK(first.first);
  CHECK(first.data_keys == 3);
  REQUIRE(record_of(cluster));
  require_intact(cluster, k_key_b, want);
  require_refused(cluster, k_key_a);
  // The root key is still the first master key: what the gateway derives its pseudonyms and
  // channel keys from.
  auto root = store::unlock_root_key(storage_of(cluster, k_key_b));
  REQUIRE(root);
  CHECK(*root == k_key_a);

  const auto second = rotate(cluster, k_key_b, k_key_c);
  CHECK_FALSE(second.first);
  CHECK(second.data_keys == 3);
  require_intact(cluster, k_key_c, want);
  require_refused(cluster, k_key_b);
  require_refused(cluster, k_key_a);

  // A rotation from a key that is not the current one (here the replaced one): refused, and the
  // record and the data keys are as they were.
  const auto record = record_of(cluster);
  const std::string wrapped = scalar(c,
                                     "SELECT string_agg(encode(wrapped, 'hex'), ',' "
                                     "ORDER BY id) FROM subject_keys");
  auto stale = store::rotate_master_key(storage_of(cluster, k_key_b), k_wrong);
  REQUIRE_FALSE(stale);
  CHECK(stale.err().code == errc::unauthorized);
  CHECK(stale.err().message == store::k_root_key_refused);
  CHECK(record_of(cluster) == record);
  CHECK(scalar(c, "SELECT string_agg(encode(wrapped, 'hex'), ',' ORDER BY id) FROM subject_keys") ==
        wrapped);
  require_intact(cluster, k_key_c, want);
}

TEST_CASE("a PostgreSQL store never rotated refuses a rotation from a key that is not its own",
          "[store][pg][rotate]") {
  pg_cluster cluster;
  {
    auto s = open_with(cluster, k_key_a);
    append(*s.stores.log, {{"acme", first_events()}});
  }
  auto c = connect(cluster);
  // The outbox's key check refuses it.
  auto wrong = store::rotate_master_key(storage_of(cluster, k_wrong), k_key_b);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().code == errc::unauthorized);
  CHECK(wrong.err().message == store::k_root_key_refused);
  CHECK_FALSE(record_of(cluster));
  // Without it (a database whose outbox was never opened), the first data key does.
  REQUIRE(c.exec("DELETE FROM outbox_meta"));
  wrong = store::rotate_master_key(storage_of(cluster, k_wrong), k_key_b);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().code == errc::unauthorized);
  CHECK(wrong.err().message == store::k_root_key_refused);
  CHECK_FALSE(record_of(cluster));
  // The right key rotates it.
  CHECK(rotate(cluster, k_key_a, k_key_b).data_keys == 3);
  auto s = open_with(cluster, k_key_b);
  CHECK(read_all(*s.stores.log, "acme").size() == 4);
}

TEST_CASE("an empty PostgreSQL database is rotated without any key to prove",
          "[store][pg][rotate]") {
  pg_cluster cluster;
  // No schema yet: the rotation migrates it first.
  CHECK_FALSE(record_of(cluster));
  const auto report = rotate(cluster, k_key_a, k_key_b);
  CHECK(report.first);
  CHECK(report.data_keys == 0);
  auto root = store::unlock_root_key(storage_of(cluster, k_key_b));
  REQUIRE(root);
  CHECK(*root == k_key_a);
  require_refused(cluster, k_key_a);
  auto s = open_with(cluster, k_key_b);
  append(*s.stores.log, {{"acme", first_events()}});
  CHECK(read_all(*s.stores.log, "acme").size() == 4);
}

TEST_CASE("a PostgreSQL rotation is refused while a replica holds a lease", "[store][pg][rotate]") {
  pg_cluster cluster;
  {
    auto s = open_with(cluster, k_key_a);
    append(*s.stores.log, {{"acme", first_events()}});
  }
  auto c = connect(cluster);
  auto held = store::pg::acquire(c, "retention", "gw-1", std::chrono::minutes{1});
  REQUIRE(held);
  REQUIRE(held->granted);
  auto busy = store::rotate_master_key(storage_of(cluster, k_key_a), k_key_b);
  REQUIRE_FALSE(busy);
  CHECK(busy.err().code == errc::unavailable);
  INFO(busy.err().message);
  CHECK(busy.err().message.find("1 replica holds leases on this database (gw-1: 1 lease)") !=
        std::string::npos);
  CHECK(busy.err().message.find("stop every replica first") != std::string::npos);
  CHECK_FALSE(record_of(cluster));
  open_with(cluster, k_key_a);

  // An expired lease is a replica gone: it does not hold the rotation back.
  REQUIRE(c.exec("UPDATE switchboard_leases SET expires_at = now() - interval '1 second'"));
  CHECK(rotate(cluster, k_key_a, k_key_b).data_keys == 3);
  open_with(cluster, k_key_b);
}

TEST_CASE("a rotated SQLite store copied into PostgreSQL opens there under its new master key only",
          "[store][pg][rotate][migrate]") {
  temp_dir dir{"sb-rotate"};
  {
    auto lite = open_sqlite(dir.path, k_key_a);
    append(*lite.log, {{"acme", first_events()}});
    auto box = store::make_sqlite_outbox(dir.path, config::durability::none, k_key_a);
    REQUIRE(box);
    REQUIRE((*box)->put(outbound("out_1", "idem-1")));
  }
  auto rotated = store::sqlite::rotate_master_key(dir.path, k_key_a, k_key_b);
  INFO((rotated ? std::string() : rotated.err().message));
  REQUIRE(rotated);
  CHECK(rotated->first);
  std::vector<store::stored_event> want;
  {
    auto lite = open_sqlite(dir.path, k_key_b);
    want = read_all(*lite.log, "acme");
    REQUIRE(want.size() == 4);
  }

  pg_cluster cluster;
  auto target = connect(cluster);
  // The key the rotation replaced opens the SQLite store no more: nothing is copied.
  auto stale = store::pg::copy_sqlite_store(dir.path, target, k_key_a);
  REQUIRE_FALSE(stale);
  CHECK_FALSE(record_of(cluster));
  auto copied = store::pg::copy_sqlite_store(dir.path, target, k_key_b);
  INFO((copied ? std::string() : copied.err().message));
  REQUIRE(copied);
  CHECK(copied->rows("store_meta") == 1);
  CHECK(copied->rows("subject_keys") == 3);

  require_intact(cluster, k_key_b, want);
  require_refused(cluster, k_key_a);
  // And it rotates on from there.
  CHECK_FALSE(rotate(cluster, k_key_b, k_key_c).first);
  require_intact(cluster, k_key_c, want);

  // A database that holds a root record of its own is not empty: a copy beside it is refused.
  pg_cluster other;
  rotate(other, k_key_a, k_key_b);
  auto second = connect(other);
  auto refused = store::pg::copy_sqlite_store(dir.path, second, k_key_b);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::bad_request);
  CHECK(refused.err().message.find("store_meta") != std::string::npos);
}

TEST_CASE("a PostgreSQL rotation is refused while a replica is connected without a lease",
          "[store][pg][rotate]") {
  pg_cluster cluster;
  {
    auto replica = open_with(cluster, k_key_a);  // its pool: gateway sessions, no lease
    append(*replica.stores.log, {{"acme", first_events()}});
    auto busy = store::rotate_master_key(storage_of(cluster, k_key_a), k_key_b);
    REQUIRE_FALSE(busy);
    CHECK(busy.err().code == errc::unavailable);
    INFO(busy.err().message);
    CHECK(busy.err().message.find("gateway session(s) are connected to this database") !=
          std::string::npos);
    CHECK(busy.err().message.find("stop every replica first") != std::string::npos);
    CHECK_FALSE(record_of(cluster));
  }
  // The replica stopped: its sessions end, and the rotation goes through.
  CHECK(rotate(cluster, k_key_a, k_key_b).data_keys == 3);
  open_with(cluster, k_key_b);
}

// The window rows off the sync path (src/outbound/window_rows.hpp, store::outbox::apply): a
// batch of window rows alone commits without a disk sync under `durability: fsync`, anything else
// is synced as before, and the rows a power cut takes are written again from the event log at
// start. The syncs are counted by a VFS of the test's own around SQLite's default one.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "integration/outbound/outbox_support.hpp"
#include "integration/store/store_test_support.hpp"
#include "outbound/window_rows.hpp"

using namespace sb;
using store::outbox_write;
using test::temp_dir;

namespace {

// -- a VFS that counts the syncs of files named *outbox.db* ------------------------------------

std::atomic<int> g_outbox_syncs{0};
sqlite3_vfs* g_real = nullptr;

struct counted_file {
  sqlite3_file base;
  sqlite3_file* real;  // the real VFS's file, right after this struct
  bool outbox;
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<counted_file*>(f)->real; }

int c_close(sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); }
int c_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return real_of(f)->pMethods->xRead(real_of(f), b, n, o);
}
int c_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return real_of(f)->pMethods->xWrite(real_of(f), b, n, o);
}
int c_truncate(sqlite3_file* f, sqlite3_int64 s) {
  return real_of(f)->pMethods->xTruncate(real_of(f), s);
}
int c_sync(sqlite3_file* f, int flags) {
  if (reinterpret_cast<counted_file*>(f)->outbox) {
    ++g_outbox_syncs;
  }
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int c_size(sqlite3_file* f, sqlite3_int64* s) {
  return real_of(f)->pMethods->xFileSize(real_of(f), s);
}
int c_lock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xLock(real_of(f), l); }
int c_unlock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xUnlock(real_of(f), l); }
int c_reserved(sqlite3_file* f, int* r) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), r);
}
int c_control(sqlite3_file* f, int op, void* a) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, a);
}
int c_sector(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int c_device(sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); }
int c_shm_map(sqlite3_file* f, int i, int s, int e, void volatile** p) {
  return real_of(f)->pMethods->xShmMap(real_of(f), i, s, e, p);
}
int c_shm_lock(sqlite3_file* f, int o, int n, int fl) {
  return real_of(f)->pMethods->xShmLock(real_of(f), o, n, fl);
}
void c_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int c_shm_unmap(sqlite3_file* f, int d) { return real_of(f)->pMethods->xShmUnmap(real_of(f), d); }

// Version 2 methods: no memory-mapped fetches (SQLite then reads through xRead).
const sqlite3_io_methods k_methods = {
    2,        c_close, c_read,     c_write,   c_truncate,   c_sync,        c_size,
    c_lock,   c_unlock, c_reserved, c_control, c_sector,     c_device,      c_shm_map,
    c_shm_lock, c_shm_barrier, c_shm_unmap, nullptr, nullptr};

int c_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* cf = reinterpret_cast<counted_file*>(f);
  cf->real = reinterpret_cast<sqlite3_file*>(cf + 1);
  cf->outbox = name != nullptr && std::strstr(name, "outbox.db") != nullptr;
  cf->base.pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, cf->real, flags, out_flags);
  if (cf->real->pMethods != nullptr) {
    cf->base.pMethods = &k_methods;
  }
  (void)vfs;
  return rc;
}

/// Makes the counting VFS SQLite's default while it lives.
struct counting_vfs {
  sqlite3_vfs vfs{};
  counting_vfs() {
    g_real = sqlite3_vfs_find(nullptr);
    vfs = *g_real;
    vfs.szOsFile = static_cast<int>(sizeof(counted_file)) + g_real->szOsFile;
    vfs.zName = "sb-counting";
    vfs.xOpen = c_open;
    REQUIRE(sqlite3_vfs_register(&vfs, 1) == SQLITE_OK);
  }
  ~counting_vfs() {
    sqlite3_vfs_unregister(&vfs);
    sqlite3_vfs_register(g_real, 1);
  }
};

outbox_write inbound(const std::string& conversation, std::int64_t at_ms,
                     const std::string& peer = {}) {
  outbox_write w;
  w.what = outbox_write::kind::last_inbound;
  w.tenant = "acme";
  w.conversation = conversation;
  w.at_ms = at_ms;
  w.peer = peer;
  return w;
}

outbox_write head(std::uint64_t seq) {
  outbox_write w;
  w.what = outbox_write::kind::window_head;
  w.tenant = "acme";
  w.seq = seq;
  return w;
}

/// The outbox syncs `batch` costs.
int syncs_of(store::outbox& box, std::vector<outbox_write> batch) {
  const int before = g_outbox_syncs.load();
  REQUIRE(box.apply(batch).ok());
  return g_outbox_syncs.load() - before;
}

}  // namespace

TEST_CASE("window rows alone commit without a disk sync, while peers, first heads and messages sync",
          "[outbound][window][integration]") {
  counting_vfs counting;
  temp_dir dir{"sb-window"};
  auto box = test::outbox::open_sqlite(dir.path, config::durability::fsync);
  CHECK(syncs_of(*box, {inbound("tg-main:1", 1000), head(1)}) == 0);
  CHECK(syncs_of(*box, {inbound("tg-main:2", 2000), inbound("tg-main:1", 3000), head(3)}) == 0);
  // A peer is in no other file: synced.
  CHECK(syncs_of(*box, {inbound("tg-main:p_1", 4000, "555"), head(4)}) > 0);
  CHECK(syncs_of(*box, {head(5)}) == 0);
  auto first = head(6);
  first.synced = true;
  CHECK(syncs_of(*box, {first}) > 0);
  // A message is synced, also after a window-only batch switched the connection.
  CHECK(syncs_of(*box, {inbound("tg-main:3", 5000)}) == 0);
  outbox_write put;
  put.record.id = "out_1";
  put.record.tenant = "acme";
  put.record.channel = "tg-main";
  put.record.conversation = "tg-main:1";
  put.record.message = R"({"text":"hi"})";
  CHECK(syncs_of(*box, {put}) > 0);
  // Erasure too (it runs outside `apply`).
  CHECK(syncs_of(*box, {inbound("tg-main:4", 6000)}) == 0);
  const int before = g_outbox_syncs.load();
  REQUIRE(box->erase_subject("acme", "nobody").ok());
  CHECK(g_outbox_syncs.load() > before);
  // What was written unsynced is there.
  CHECK(box->last_inbound("acme", "tg-main:1").value() == 3000);
  CHECK(box->last_inbound("acme", "tg-main:2").value() == 2000);
  CHECK(box->peer_of("acme", "tg-main:p_1").value() == "555");
  CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{6});

  SECTION("durability os and none sync as before") {
    temp_dir other{"sb-window"};
    auto os = test::outbox::open_sqlite(other.path, config::durability::os);
    CHECK(syncs_of(*os, {inbound("tg-main:1", 1000), head(1)}) == 0);
  }
}

TEST_CASE("window rows a power cut took are written again from the event log at start",
          "[outbound][window][integration]") {
  namespace ss = test::store_support;
  temp_dir dir{"sb-window"};
  auto stores = ss::open_sqlite(dir.path);
  auto box = test::outbox::open_sqlite(dir.path);
  // Seven events: messages of two people, a status, and an echo of the business.
  std::vector<event> events;
  events.push_back(ss::make_event("acme", "tg-main", "k1", "alice", 1000));
  events.push_back(ss::make_event("acme", "tg-main", "k2", "bob", 2000));
  events.push_back(ss::make_event("acme", "tg-main", "k3", "alice", 3000));
  events.push_back(ss::make_event("acme", "tg-main", "k4", "bob", 4000, event_type::status));
  auto echo = ss::make_event("acme", "tg-main", "k5", "carol", 5000);
  echo.content.echo = true;
  events.push_back(echo);
  events.push_back(ss::make_event("acme", "tg-main", "k6", "bob", 6000));
  events.push_back(ss::make_event("acme", "tg-main", "k7", "dave", 7000));
  ss::append(*stores.log, {{"acme", events}});
  REQUIRE(stores.log->head("acme") == 7);

  SECTION("a tenant without a head gets the log's head and nothing is read") {
    auto done = outbound::repair_windows(*stores.log, *box, "acme");
    REQUIRE(done.ok());
    CHECK(done->events == 0);
    CHECK(done->to == 7);
    CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{7});
    CHECK(box->last_inbound("acme", "tg-main:peer-alice").value() == 0);
  }

  SECTION("the rows after the head are written again, and the head raised to the log's") {
    // The commits of events 1 and 2 reached the disk; those of 3 to 7 did not.
    std::vector<outbox_write> kept{inbound("tg-main:peer-alice", 1000),
                                   inbound("tg-main:peer-bob", 2000), head(2)};
    REQUIRE(box->apply(kept).ok());
    auto done = outbound::repair_windows(*stores.log, *box, "acme");
    REQUIRE(done.ok());
    CHECK(done->from == 2);
    CHECK(done->to == 7);
    CHECK(done->events == 5);
    CHECK(done->rows == 3);  // alice, bob, dave; not the status nor the echo
    CHECK(box->last_inbound("acme", "tg-main:peer-alice").value() == 3000);
    CHECK(box->last_inbound("acme", "tg-main:peer-bob").value() == 6000);
    CHECK(box->last_inbound("acme", "tg-main:peer-dave").value() == 7000);
    CHECK(box->last_inbound("acme", "tg-main:peer-carol").value() == 0);
    CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{7});
    // Nothing left: the next start reads nothing.
    auto again = outbound::repair_windows(*stores.log, *box, "acme");
    REQUIRE(again.ok());
    CHECK(again->events == 0);
    // The repaired rows carry the subject: erasure finds them.
    REQUIRE(box->erase_subject("acme", "dave").ok());
    CHECK(box->last_inbound("acme", "tg-main:peer-dave").value() == 0);
  }

  SECTION("an erased person's events give no rows back") {
    std::vector<outbox_write> start{head(0)};
    REQUIRE(box->apply(start).ok());
    ss::erase(*stores.privacy, "acme", "bob");
    auto done = outbound::repair_windows(*stores.log, *box, "acme");
    REQUIRE(done.ok());
    CHECK(box->last_inbound("acme", "tg-main:peer-bob").value() == 0);
    CHECK(box->last_inbound("acme", "tg-main:peer-alice").value() == 3000);
    CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{7});
  }
}

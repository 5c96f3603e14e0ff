// What only the durable store promises: restarts, failed commits, a writer killed mid-run, one
// process per store, and readers that run concurrently with the writer. Real database files in a
// fresh temporary directory.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/sqlite_log.hpp"
#include "integration/store/store_test_support.hpp"

using namespace sb;

namespace {

using test::store_support::append;
using test::store_support::k_master_key;
using test::store_support::read_all;

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("sb-sqlite") {}
};

/// The SQLite stores in `dir`, with `fsync` durability unless told otherwise.
store::stores open_log(const std::string& dir, config::durability d = config::durability::fsync) {
  return test::store_support::open_sqlite(dir, k_master_key, d);
}

event make_event(const std::string& tenant, const std::string& key) {
  event e;
  e.id = "evt_" + key;
  e.tenant = tenant;
  e.channel = {"wa", "whatsapp", "106540352242922"};
  e.type = event_type::message;
  e.conversation = "wa:16505551234";
  e.platform_event_id = key;
  e.dedupe_key = key;
  e.content.text = "text of " + key;
  e.received_at = timestamp::from_millis(1764392400123);
  return e;
}

std::string platform_event_id(const std::string& json) {
  const std::string field = "\"platform_event_id\":\"";
  auto at = json.find(field);
  if (at == std::string::npos) {
    return {};
  }
  at += field.size();
  return json.substr(at, json.find('"', at) - at);
}

/// Runs SQL on the database file through a connection of its own (inspection, fault injection).
void raw_sql(const std::string& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2((dir + "/switchboard.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// tenant -> dedupe key -> the seq the writer acknowledged for it
using acked_events = std::map<std::string, std::map<std::string, std::uint64_t>>;

/// The crash test's child: appends batches (three requests over two tenants, plus a platform
/// retry of an earlier event) until killed, and reports each acknowledged new event as
/// "<tenant> <key> <seq>\n", one write per batch (atomic: under PIPE_BUF). Never returns.
[[noreturn]] void run_writer_child(const std::string& dir, int fd, int round) {
  auto opened = store::make_sqlite_stores(dir, config::durability::fsync, k_master_key);
  if (!opened) {
    ::_exit(2);
  }
  auto log = opened.value().log;
  const std::string prefix = "r" + std::to_string(round) + "k";
  std::uint64_t n = 0;
  for (int batch = 0; batch < 1000000; ++batch) {
    std::vector<store::append_request> reqs;
    for (const char* tenant : {"acme", "globex", "acme"}) {
      std::vector<event> events;
      for (int i = 0; i < 2; ++i) {
        events.push_back(make_event(tenant, prefix + std::to_string(++n)));
      }
      reqs.push_back({tenant, std::move(events)});
    }
    if (batch > 0) {  // retry of the previous batch's first event (acme's)
      reqs[0].events.push_back(make_event("acme", prefix + std::to_string(n - 11)));
    }
    std::vector<std::vector<store::append_outcome>> outcomes;
    if (!log->append(reqs, outcomes)) {
      ::_exit(3);
    }
    std::string line;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      for (std::size_t j = 0; j < reqs[i].events.size(); ++j) {
        if (!outcomes[i][j].duplicate) {
          line += reqs[i].tenant + " " + reqs[i].events[j].dedupe_key + " " +
                  std::to_string(outcomes[i][j].seq) + "\n";
        }
      }
    }
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      ::_exit(4);
    }
  }
  ::_exit(0);
}

/// Reads the child's reports; SIGKILLs it once `kill_after` events were acknowledged, then reads
/// what it acknowledged before dying, up to EOF. Returns the number of acknowledged events.
std::size_t collect_until_killed(pid_t pid, int fd, std::size_t kill_after, acked_events& acked) {
  std::size_t count = 0;
  std::string buffer;
  bool killed = false;
  for (;;) {
    // A guard against a hung child, not a timing assertion.
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 60000) <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      FAIL("the writer child stopped reporting");
    }
    char chunk[4096];
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;  // EOF: the child is gone and everything it acknowledged has been read
    }
    buffer.append(chunk, static_cast<std::size_t>(got));
    std::size_t end;
    while ((end = buffer.find('\n')) != std::string::npos) {
      std::istringstream line(buffer.substr(0, end));
      buffer.erase(0, end + 1);
      std::string tenant;
      std::string key;
      std::uint64_t seq = 0;
      line >> tenant >> key >> seq;
      REQUIRE(acked[tenant].emplace(key, seq).second);
      ++count;
    }
    if (!killed && count >= kill_after) {
      ::kill(pid, SIGKILL);  // mid-run: most likely inside a transaction or an fsync
      killed = true;
    }
  }
  CHECK(buffer.empty());  // no torn report
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  INFO("child exit status " << (WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1));
  REQUIRE(WIFSIGNALED(wstatus));
  CHECK(WTERMSIG(wstatus) == SIGKILL);
  return count;
}

}  // namespace

TEST_CASE("a reopened sqlite log keeps events, dedupe keys and delivery state, and continues seqs",
          "[store]") {
  temp_dir dir;
  std::vector<std::string> acme_json;
  std::uint64_t quarantine_id = 0;
  std::uint64_t letter_id = 0;
  {
    auto stores = open_log(dir.path);
    auto& log = stores.log;
    append(*log, {{"acme", {make_event("acme", "k1"), make_event("acme", "k2")}},
                  {"globex", {make_event("globex", "k1")}}});
    append(*log, {{"acme", {make_event("acme", "k3")}}});
    for (const auto& e : read_all(*log, "acme")) {
      acme_json.push_back(e.json);
    }
    auto q = log->quarantine({0, "acme", "wa", "bad json", timestamp::from_millis(5), "{"});
    REQUIRE(q.ok());
    quarantine_id = q.value();
    auto delivery = stores.delivery;
    REQUIRE(delivery != nullptr);
    REQUIRE(delivery->save_cursor("acme", "helpdesk", 2).ok());
    store::dead_letter d;
    d.tenant = "acme";
    d.subscriber = "assistant";
    d.seq = 1;
    d.event_id = "evt_k1";
    d.attempts = 3;
    d.last_error = "HTTP 500";
    d.failed_at = timestamp::from_millis(77);
    auto id = delivery->add_dead_letter(d);
    REQUIRE(id.ok());
    letter_id = id.value();
  }
  REQUIRE(acme_json.size() == 3);

  auto stores = open_log(dir.path);

  auto& log = stores.log;
  CHECK(log->head("acme") == 3);
  CHECK(log->head("globex") == 1);
  auto events = read_all(*log, "acme");
  REQUIRE(events.size() == 3);
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].seq == i + 1);
    CHECK(events[i].json == acme_json[i]);
  }

  auto again = append(*log, {{"acme", {make_event("acme", "k2"), make_event("acme", "k4")}},
                             {"globex", {make_event("globex", "k1"), make_event("globex", "k2")}}});
  CHECK(again[0][0].duplicate);
  CHECK(again[0][0].seq == 2);
  CHECK_FALSE(again[0][1].duplicate);
  CHECK(again[0][1].seq == 4);
  CHECK(again[1][0].duplicate);
  CHECK(again[1][0].seq == 1);
  CHECK_FALSE(again[1][1].duplicate);
  CHECK(again[1][1].seq == 2);

  auto quarantined = log->quarantined("acme");
  REQUIRE(quarantined.size() == 1);
  CHECK(quarantined[0].id == quarantine_id);
  CHECK(quarantined[0].body == "{");
  auto next_q = log->quarantine({0, "acme", "wa", "bad json", timestamp::from_millis(6), "["});
  REQUIRE(next_q.ok());
  CHECK(next_q.value() > quarantine_id);

  auto delivery = stores.delivery;
  REQUIRE(delivery != nullptr);
  CHECK(delivery->cursor("acme", "helpdesk") == 2);
  auto letters = delivery->dead_letters("acme", "assistant", 0, 10);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == letter_id);
  CHECK(letters[0].event_id == "evt_k1");
  CHECK(letters[0].failed_at.unix_ms == 77);
}

TEST_CASE("a failed append stores nothing of the batch and leaves every tenant's seq unchanged",
          "[store]") {
  temp_dir dir;
  {
    auto stores = open_log(dir.path);
    auto& log = stores.log;
    append(*log, {{"acme", {make_event("acme", "k1")}}});

    // A real failure inside the transaction, after other rows of the batch were written.
    raw_sql(dir.path,
            "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event_id = 'evt_poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END;");
    std::vector<store::append_request> reqs{
        {"acme", {make_event("acme", "k2"), make_event("acme", "k3")}},
        {"globex", {make_event("globex", "k4")}},
        {"acme", {make_event("acme", "poison")}}};
    std::vector<std::vector<store::append_outcome>> outcomes;
    auto st = log->append(reqs, outcomes);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().message.find("poisoned event") != std::string::npos);
    CHECK(reqs[0].events[0].seq == 0);  // nothing was stored, so nothing has a seq
    CHECK(log->head("acme") == 1);
    CHECK(log->head("globex") == 0);
    CHECK(read_all(*log, "acme").size() == 1);
    CHECK(read_all(*log, "globex").empty());

    raw_sql(dir.path, "DROP TRIGGER poison");
    // The keys of the failed batch were not taken and its seqs are issued again.
    auto retry = append(
        *log, {{"acme", {make_event("acme", "k2")}}, {"globex", {make_event("globex", "k4")}}});
    CHECK_FALSE(retry[0][0].duplicate);
    CHECK(retry[0][0].seq == 2);
    CHECK_FALSE(retry[1][0].duplicate);
    CHECK(retry[1][0].seq == 1);
    auto dup = append(*log, {{"acme", {make_event("acme", "k3")}}});
    CHECK_FALSE(dup[0][0].duplicate);
    CHECK(dup[0][0].seq == 3);
  }
  auto stores = open_log(dir.path);
  auto& log = stores.log;
  CHECK(log->head("acme") == 3);
  CHECK(log->head("globex") == 1);
}

TEST_CASE("a second sqlite log on the same directory is refused while the first is open",
          "[store]") {
  temp_dir dir;
  auto first = open_log(dir.path);
  auto second = store::make_sqlite_stores(dir.path, config::durability::fsync, k_master_key);
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().message.find("in use") != std::string::npos);
  first = {};
  auto third = store::make_sqlite_stores(dir.path, config::durability::fsync, k_master_key);
  CHECK(third.ok());
}

TEST_CASE("a database with a newer schema version is refused", "[store]") {
  temp_dir dir;
  open_log(dir.path);  // creates the schema, then closes
  raw_sql(dir.path, "PRAGMA user_version = 99");
  auto stores = store::make_sqlite_stores(dir.path, config::durability::fsync, k_master_key);
  REQUIRE_FALSE(stores.ok());
  CHECK(stores.err().message.find("schema version 99") != std::string::npos);
}

TEST_CASE("a data directory that cannot be created is reported as an error", "[store]") {
  temp_dir dir;
  const std::string file = dir.path + "/not-a-directory";
  std::FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  auto stores = store::make_sqlite_stores(file + "/data", config::durability::fsync, k_master_key);
  REQUIRE_FALSE(stores.ok());
  CHECK(stores.err().message.find(file) != std::string::npos);
}

TEST_CASE("every acknowledged event survives a SIGKILL of the writer, once, with contiguous seqs",
          "[store]") {
  temp_dir dir;
  acked_events acked;
  // Three writer processes in turn on the same store, each killed mid-run; each one after the
  // first starts by recovering the previous one's WAL.
  constexpr int k_rounds = 3;
  for (int round = 0; round < k_rounds; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_writer_child(dir.path, fds[1], round);
    }
    ::close(fds[1]);
    std::size_t count = collect_until_killed(pid, fds[0], 120 + 70 * round, acked);
    ::close(fds[0]);
    REQUIRE(count >= 120 + 70 * static_cast<std::size_t>(round));
  }

  auto stores = open_log(dir.path);

  auto& log = stores.log;
  REQUIRE(acked.size() == 2);
  for (const auto& [tenant, keys] : acked) {
    auto events = read_all(*log, tenant);
    CHECK(log->head(tenant) == events.size());
    std::map<std::string, std::uint64_t> stored;
    for (std::size_t i = 0; i < events.size(); ++i) {
      REQUIRE(events[i].seq == i + 1);  // contiguous 1..N, no repeats
      REQUIRE(stored.emplace(platform_event_id(events[i].json), events[i].seq).second);
    }
    // At most the batch in flight at each kill is stored without having been acknowledged.
    CHECK(events.size() >= keys.size());
    CHECK(events.size() <= keys.size() + 4 * k_rounds);
    for (const auto& [key, seq] : keys) {
      auto it = stored.find(key);
      INFO(tenant << " " << key);
      REQUIRE(it != stored.end());
      CHECK(it->second == seq);
    }
    // Their dedupe keys survived with them.
    std::vector<event> retries;
    for (const auto& [key, seq] : keys) {
      retries.push_back(make_event(tenant, key));
    }
    auto outcomes = append(*log, {{tenant, std::move(retries)}});
    std::size_t i = 0;
    for (const auto& [key, seq] : keys) {
      CHECK(outcomes[0][i].duplicate);
      CHECK(outcomes[0][i].seq == seq);
      ++i;
    }
    CHECK(log->head(tenant) == events.size());
  }
  // And the next event continues the sequence.
  auto next = append(*log, {{"acme", {make_event("acme", "after-crash")}}});
  CHECK(next[0][0].seq == read_all(*log, "acme").size());
}

TEST_CASE("concurrent readers see only whole committed batches, contiguous from seq 1", "[store]") {
  temp_dir dir;
  auto stores = open_log(dir.path, config::durability::none);
  auto& log = stores.log;
  constexpr int k_batches = 300;
  constexpr std::uint64_t k_per_batch = 6;  // acme events per batch, in two requests
  std::atomic<bool> done{false};
  std::atomic<bool> writer_ok{true};

  std::thread writer([&] {
    int n = 0;
    for (int b = 0; b < k_batches; ++b) {
      std::vector<store::append_request> reqs;
      for (int r = 0; r < 2; ++r) {
        std::vector<event> events;
        for (int i = 0; i < 3; ++i) {
          events.push_back(make_event("acme", "k" + std::to_string(++n)));
        }
        reqs.push_back({"acme", std::move(events)});
        reqs.push_back({"globex", {make_event("globex", "k" + std::to_string(++n))}});
      }
      std::vector<std::vector<store::append_outcome>> outcomes;
      if (!log->append(reqs, outcomes)) {
        writer_ok = false;
        break;
      }
    }
    done = true;
  });

  struct observation {
    int reads = 0;
    std::string failure;  // empty = all good
  };
  auto reader = [&](observation& obs) {
    bool last = false;
    while (!last) {
      last = done.load();
      std::uint64_t head = log->head("acme");
      // One call: one snapshot.
      auto r = log->read("acme", 0, 100000, {});
      ++obs.reads;
      if (!r) {
        obs.failure = r.err().message;
        return;
      }
      const auto& events = r->events;
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].seq != i + 1) {
          obs.failure = "gap or repeat at index " + std::to_string(i);
          return;
        }
      }
      if (events.size() % k_per_batch != 0) {
        obs.failure = "partial batch visible: " + std::to_string(events.size()) + " events";
        return;
      }
      if (events.size() < head) {
        obs.failure = "head " + std::to_string(head) + " ahead of the committed events (" +
                      std::to_string(events.size()) + ")";
        return;
      }
    }
  };
  observation a;
  observation b;
  std::thread second_reader(reader, std::ref(b));
  reader(a);
  second_reader.join();
  writer.join();

  REQUIRE(writer_ok);
  CHECK(a.failure == "");
  CHECK(b.failure == "");
  CHECK(a.reads > 0);
  CHECK(b.reads > 0);
  CHECK(log->head("acme") == k_batches * k_per_batch);
  CHECK(log->read("acme", 0, 100000, {})->events.size() == k_batches * k_per_batch);
}

// What the PostgreSQL event log promises beyond the contract every log keeps (event_log_test.cpp):
// several replicas on one database. Two logs over two connection pools stand for two replicas.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/store/store_test_support.hpp"

using namespace sb;
using test::store_support::make_event;
using test::store_support::read_all;

namespace {

/// One replica's event log over its own pool, on `cluster`'s database.
std::shared_ptr<store::event_log> replica(const test::pg_cluster& cluster) {
  return test::store_support::open_pg(cluster, 2).log;
}

}  // namespace

TEST_CASE("replicas appending to one tenant at once issue gap-free seqs and store each key once",
          "[store][pg]") {
  test::pg_cluster cluster;
  std::vector<std::shared_ptr<store::event_log>> replicas = {replica(cluster), replica(cluster)};

  // Four writers, two per replica. Every dedupe key is sent by two writers on different
  // replicas, as a platform's retry that lands on the other replica.
  constexpr int k_keys = 120;
  constexpr int k_per_batch = 3;
  std::mutex m;
  std::map<std::string, std::set<std::uint64_t>> seqs_of_key;  // every outcome's seq per key
  std::atomic<int> failures{0};
  // A reader that resumes after what it has seen must never find a gap (an event committed later
  // with a smaller seq would be skipped for ever).
  std::atomic<bool> writing{true};
  std::atomic<int> gaps{0};
  std::thread reader([&] {
    std::uint64_t after = 0;
    while (writing.load() || after < static_cast<std::uint64_t>(k_keys)) {
      auto r = replicas[1]->read("acme", after, 50, {});
      if (!r) {
        ++failures;
        return;
      }
      for (const auto& e : r->events) {
        if (e.seq != after + 1) {
          ++gaps;
        }
        after = e.seq;
      }
      if (r->events.empty() && !writing.load() && after < static_cast<std::uint64_t>(k_keys)) {
        ++gaps;  // everything is written and read, and still short
        return;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto& log = *replicas[w % 2];
      // Writers 0 and 1 (replicas 0 and 1) send the same keys, as do 2 and 3, in other orders.
      const int first = (w / 2) * (k_keys / 2);
      for (int i = 0; i < k_keys / 2; i += k_per_batch) {
        std::vector<event> events;
        for (int j = 0; j < k_per_batch && i + j < k_keys / 2; ++j) {
          const int n = (w % 2 == 0) ? first + i + j : first + (k_keys / 2 - 1 - i - j);
          events.push_back(make_event("acme", "wa", "key-" + std::to_string(n),
                                      "person-" + std::to_string(n % 7)));
        }
        std::vector<store::append_request> reqs{{"acme", events}};
        std::vector<std::vector<store::append_outcome>> outcomes;
        if (!log.append(reqs, outcomes)) {
          ++failures;
          continue;
        }
        std::lock_guard lock(m);
        for (std::size_t j = 0; j < events.size(); ++j) {
          seqs_of_key[events[j].dedupe_key].insert(outcomes[0][j].seq);
        }
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  writing = false;
  reader.join();

  CHECK(failures == 0);
  CHECK(gaps == 0);
  REQUIRE(seqs_of_key.size() == static_cast<std::size_t>(k_keys));
  for (const auto& [key, seqs] : seqs_of_key) {
    INFO(key);
    CHECK(seqs.size() == 1);  // the new one and its duplicate name the same seq
  }
  // Both replicas see the same log: seqs 1..k_keys, one event per key.
  for (auto& log : replicas) {
    CHECK(log->head("acme") == static_cast<std::uint64_t>(k_keys));
    auto all = read_all(*log, "acme");
    REQUIRE(all.size() == static_cast<std::size_t>(k_keys));
    for (std::size_t i = 0; i < all.size(); ++i) {
      CHECK(all[i].seq == i + 1);
    }
  }
}

TEST_CASE("an event stored through one replica reads the same through another", "[store][pg]") {
  test::pg_cluster cluster;
  auto a = replica(cluster);
  auto b = replica(cluster);
  auto e = make_event("acme", "wa", "wamid.1", "person-1");
  e.conversation = "wa:person-1";
  std::vector<store::append_request> reqs{{"acme", {e}}};
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(a->append(reqs, outcomes));
  auto from_a = read_all(*a, "acme");
  auto from_b = read_all(*b, "acme");
  REQUIRE(from_a.size() == 1);
  REQUIRE(from_b.size() == 1);
  CHECK(from_b[0].json == from_a[0].json);
  CHECK(from_b[0].conversation == "wa:person-1");
  CHECK(from_b[0].subject == "person-1");
  // The retry of the same update through the other replica is a duplicate of seq 1.
  std::vector<store::append_request> retry{{"acme", {e}}};
  REQUIRE(b->append(retry, outcomes));
  CHECK(outcomes[0][0].duplicate);
  CHECK(outcomes[0][0].seq == 1);
}

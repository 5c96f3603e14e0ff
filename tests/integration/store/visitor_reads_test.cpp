// What a web chat visitor's stream needs from the stores: a subject's events read page by page
// after a seq (`subject_events_after`, the stream's catch-up and live reads), and erasures
// recorded durably as revocations (`erased_subjects`, loaded by the consent registry), on the
// in-memory, SQLite and PostgreSQL stores, through the live-tail decorator too.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "privacy/consent.hpp"
#include "store/live_tail.hpp"
#include "store/privacy_store.hpp"

using namespace sb;

namespace {

using test::store_support::append;
using test::store_support::make_event;
using test::store_support::memory_backend;
using test::store_support::pg_backend;
using test::store_support::seqs;
using test::store_support::sqlite_backend;

std::vector<std::uint64_t> after(store::privacy_store& p, const std::string& subject,
                                 std::uint64_t from, std::size_t limit) {
  auto r = p.subject_events_after("acme", subject, from, limit);
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  for (const auto& e : r.value()) {
    CHECK(e.subject == subject);
    CHECK_FALSE(e.json.empty());
  }
  return seqs(r.value());
}

}  // namespace

TEMPLATE_TEST_CASE("a subject's events are read after a seq, in pages, decrypted",
                   "[store][privacy][visitor]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto p = test::store_support::privacy(stores);
  // seqs 1..12: sub_a on the odd ones, sub_b on the even ones.
  for (int i = 1; i <= 12; ++i) {
    const std::string subject = i % 2 == 1 ? "sub_a" : "sub_b";
    append(*stores.log, {{"acme", {make_event("acme", "web", "k" + std::to_string(i), subject)}}});
  }
  CHECK(after(*p, "sub_a", 0, 100) == std::vector<std::uint64_t>{1, 3, 5, 7, 9, 11});
  CHECK(after(*p, "sub_a", 5, 100) == std::vector<std::uint64_t>{7, 9, 11});
  CHECK(after(*p, "sub_a", 6, 2) == std::vector<std::uint64_t>{7, 9});
  CHECK(after(*p, "sub_b", 11, 100) == std::vector<std::uint64_t>{12});
  CHECK(after(*p, "sub_b", 12, 100).empty());
  CHECK(after(*p, "sub_c", 0, 100).empty());
  CHECK(after(*p, "sub_a", 0, 0).empty());
  // The conversation comes back with each event (the stream filters by it).
  auto r = p->subject_events_after("acme", "sub_a", 0, 1);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK(r->front().conversation == "web:peer-sub_a");
  // Another tenant's subject of the same name is another person.
  auto other = p->subject_events_after("globex", "sub_a", 0, 100);
  REQUIRE(other.ok());
  CHECK(other->empty());
  // After an erasure, nothing.
  REQUIRE(p->erase_subject("acme", "sub_a").ok());
  CHECK(after(*p, "sub_a", 0, 100).empty());
  CHECK(after(*p, "sub_b", 0, 100) == std::vector<std::uint64_t>{2, 4, 6, 8, 10, 12});
}

TEMPLATE_TEST_CASE("an erasure is recorded as a revocation that outlives a restart",
                   "[store][privacy][visitor]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  {
    auto stores = backend.open();
    auto p = test::store_support::privacy(stores);
    append(*stores.log, {{"acme", {make_event("acme", "web", "k1", "sub_a"),
                                   make_event("acme", "web", "k2", "sub_b")}}});
    CHECK(p->erased_subjects("acme").empty());
    REQUIRE(p->erase_subject("acme", "sub_a").ok());
    // A subject with nothing stored is revoked too (a visitor who never wrote).
    REQUIRE(p->erase_subject("acme", "sub_never").ok());
    // Twice is once.
    REQUIRE(p->erase_subject("acme", "sub_a").ok());
    CHECK(p->erased_subjects("acme") == std::vector<std::string>{"sub_a", "sub_never"});
    CHECK(p->erased_subjects("globex").empty());
    // A channel's erasure revokes every subject seen on it.
    append(*stores.log, {{"acme", {make_event("acme", "chat2", "k3", "sub_c")}}});
    REQUIRE(p->erase_channel("acme", "chat2").ok());
    auto all = p->erased_subjects("acme");
    CHECK(std::find(all.begin(), all.end(), "sub_c") != all.end());
    CHECK(std::find(all.begin(), all.end(), "sub_b") == all.end());

    // The registry of this process: revoked at once, also when the subject writes again.
    sb::privacy::consent_registry consents(p);
    REQUIRE(consents.load("acme"));
    CHECK(consents.revoked("acme", "sub_a"));
    CHECK_FALSE(consents.revoked("acme", "sub_b"));
    consents.mark_erased("acme", "sub_b", 2);
    CHECK(consents.revoked("acme", "sub_b"));
    CHECK_FALSE(consents.revoked("globex", "sub_b"));
  }
  if constexpr (TestType::durable) {
    // Restarted: the registry loads the revocations with the consent records.
    auto stores = backend.open();
    auto p = test::store_support::privacy(stores);
    sb::privacy::consent_registry consents(p);
    REQUIRE(consents.load("acme"));
    CHECK(consents.revoked("acme", "sub_a"));
    CHECK(consents.revoked("acme", "sub_never"));
    CHECK(consents.revoked("acme", "sub_c"));
    CHECK_FALSE(consents.revoked("acme", "sub_b"));  // marked in memory only, never erased
  }
}

TEST_CASE("the live-tail decorator passes reads after a seq and revocations through",
          "[store][privacy][visitor]") {
  auto stores = store::with_live_tail(store::make_memory_stores());
  auto p = test::store_support::privacy(stores);
  append(*stores.log, {{"acme", {make_event("acme", "web", "k1", "sub_a"),
                                 make_event("acme", "web", "k2", "sub_a")}}});
  CHECK(after(*p, "sub_a", 1, 10) == std::vector<std::uint64_t>{2});
  REQUIRE(p->erase_subject("acme", "sub_a").ok());
  CHECK(p->erased_subjects("acme") == std::vector<std::string>{"sub_a"});
}

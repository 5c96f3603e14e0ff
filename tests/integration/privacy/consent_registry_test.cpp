// The consent registry over the real stores (in-memory and SQLite): what it writes survives a
// new registry (a restart), per tenant, the outbound opt-out included; erasure removes it.
#include <catch2/catch.hpp>

#include <string>

#include "integration/store/store_test_support.hpp"
#include "privacy/consent.hpp"
#include "store/privacy_store.hpp"
#include "store/stores.hpp"
#include "support/temp_dir.hpp"

using namespace sb;
using privacy::purpose;

namespace {

const std::string k_key(32, '\x21');
const std::string alice = "sub_AAAAAAAAAAAAAAAA";
const std::string bob = "sub_BBBBBBBBBBBBBBBB";

store::stores open_sqlite(const std::string& dir) {
  return test::store_support::open_sqlite(dir, k_key);
}

privacy::consent_change grant(purpose p, bool granted) {
  privacy::consent_change c;
  c.purpose_of = p;
  c.granted = granted;
  return c;
}

/// Writes through one registry, then checks what a fresh registry over `reopen()` loads.
template <class Reopen>
void survives_a_restart(store::stores stores, Reopen reopen) {
  {
    privacy::consent_registry reg(stores.privacy);
    REQUIRE(reg.load("acme"));
    REQUIRE(reg.update("acme", alice, grant(purpose::marketing, true)));
    // A keyword opt-out: memory first, then persisted.
    privacy::consent_change stop = grant(purpose::marketing, false);
    stop.opted_out = true;
    reg.apply_now("acme", bob, stop);
    REQUIRE(reg.persist("acme", bob));
    privacy::consent_change restrict;
    restrict.restricted = true;
    REQUIRE(reg.update("acme", bob, restrict));
    REQUIRE(reg.update("globex", alice, grant(purpose::ai, false)));
  }
  auto again = reopen(std::move(stores));
  privacy::consent_registry reg(again.privacy);
  REQUIRE(reg.load("acme"));
  REQUIRE(reg.load("globex"));
  auto a = reg.find("acme", alice);
  REQUIRE(a);
  CHECK(a->allows(purpose::marketing));
  CHECK_FALSE(a->opted_out);
  CHECK_FALSE(a->restricted);
  CHECK(a->updated_at.unix_ms > 0);
  auto b = reg.find("acme", bob);
  REQUIRE(b);
  CHECK_FALSE(b->allows(purpose::marketing));
  CHECK(b->opted_out);
  CHECK(b->restricted);  // both changes of bob kept: neither undid the other
  auto g = reg.find("globex", alice);
  REQUIRE(g);
  CHECK_FALSE(g->allows(purpose::ai));
  CHECK_FALSE(g->allows(purpose::marketing));  // another tenant's alice is another person
  CHECK(g->allows(purpose::support));

  // The store's records are the registry's: the opt-out is the "outbound" choice.
  auto records = again.privacy->consents("acme");
  REQUIRE(records.size() == 2);
  for (const auto& r : records) {
    if (r.subject == bob) {
      CHECK(r.granted.at("outbound") == false);
      CHECK(r.granted.at("marketing") == false);
      CHECK(r.restricted);
    }
  }

  // Erasure in the store removes the record; the registry forgets the subject.
  auto erased = again.privacy->erase_subject("acme", bob);
  REQUIRE(erased);
  reg.mark_erased("acme", bob, again.log->head("acme"));
  CHECK_FALSE(reg.find("acme", bob));
  privacy::consent_registry fresh(again.privacy);
  REQUIRE(fresh.load("acme"));
  CHECK_FALSE(fresh.find("acme", bob));
  CHECK(fresh.find("acme", alice));
}

}  // namespace

TEST_CASE("consent written through the registry survives a restart of the SQLite store",
          "[integration][privacy][consent]") {
  test::temp_dir dir{"sb-consent"};
  survives_a_restart(open_sqlite(dir.path), [&](store::stores stores) {
    stores = {};  // one process per directory: close before reopening
    return open_sqlite(dir.path);
  });
}

TEST_CASE("consent written through the registry is kept by the in-memory store",
          "[integration][privacy][consent]") {
  survives_a_restart(store::make_memory_stores(), [](store::stores stores) { return stores; });
}

TEST_CASE("a registry without a privacy store keeps consent in memory only",
          "[integration][privacy][consent]") {
  privacy::consent_registry reg(nullptr);
  REQUIRE(reg.load("acme"));
  auto s = reg.update("acme", alice, grant(purpose::marketing, true));
  REQUIRE(s);
  CHECK(reg.find("acme", alice)->allows(purpose::marketing));
}

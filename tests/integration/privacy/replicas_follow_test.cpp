// What another replica's commits change here (privacy/replicas.hpp): keywords, consent.changed and
// erasure receipts read from the log are applied to this replica's consent registry, in seq order,
// without the actors, on a real log (memory and SQLite).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "integration/store/store_test_support.hpp"
#include "privacy/consent.hpp"
#include "privacy/replicas.hpp"

using namespace sb;
using namespace sb::test::store_support;

namespace {

config::tenant_config acme() {
  config::tenant_config t;
  t.id = "acme";
  return t;
}

event message(const std::string& key, const std::string& subject, const std::string& text) {
  event e = make_event("acme", "tg", key, subject);
  e.content.text = text;
  return e;
}

event consent_changed(const std::string& key, const std::string& subject, consent_info info) {
  event e = make_event("acme", "tg", key, subject, 1764392400123, event_type::consent_changed);
  e.content.text.clear();
  e.consent = std::move(info);
  return e;
}

event erased_receipt(const std::string& key, const std::string& subject) {
  event e = make_event("acme", "tg", key, "", 1764392400123, event_type::privacy_erased);
  e.content.text.clear();
  privacy_info p;
  p.subject = subject;
  e.privacy = p;
  return e;
}

}  // namespace

TEMPLATE_TEST_CASE("another replica's keywords, consent changes and erasures apply here in order",
                   "[privacy][replicas][integration]", memory_backend, sqlite_backend) {
  TestType backend;
  auto stores = backend.open();
  // What the other replica stored: an opt-in keyword, a message, a restriction through the API,
  // an opt-out keyword of another person that a later opt-in undoes, and an erasure.
  consent_info restrict;
  restrict.restricted = true;
  restrict.source = "api";
  std::vector<event> events = {
      message("k1", "sub_ann", " start "),        message("k2", "sub_ann", "hello"),
      consent_changed("k3", "sub_bob", restrict), message("k4", "sub_cid", "STOP"),
      message("k5", "sub_cid", "START"),          message("k6", "sub_dee", "bye"),
      erased_receipt("k7", "sub_dee"),            message("k8", "sub_eve", "STOP please"),
  };
  store::append_request req;
  req.tenant = "acme";
  req.events = events;
  append(*stores.log, {req});
  const std::uint64_t head = stores.log->head("acme");
  REQUIRE(head == 8);

  privacy::consent_registry here(nullptr);  // this replica's memory: nothing loaded yet
  auto done = privacy::follow_commits(*stores.log, here, acme(), 0, head);
  REQUIRE(done);
  CHECK(done->through == 8);
  CHECK(done->changes == 4);   // k1, k3, k4, k5
  CHECK(done->erasures == 1);  // k7

  const auto ann = here.find("acme", "sub_ann");
  REQUIRE(ann);
  CHECK(ann->allows(privacy::purpose::marketing));
  const auto bob = here.find("acme", "sub_bob");
  REQUIRE(bob);
  CHECK(bob->restricted);
  const auto cid = here.find("acme", "sub_cid");
  REQUIRE(cid);
  CHECK_FALSE(cid->opted_out);  // STOP, then START: applied in seq order
  CHECK(cid->allows(privacy::purpose::marketing));
  CHECK_FALSE(here.find("acme", "sub_eve"));  // "STOP please" is not a keyword
  // The erased person's events up to the receipt are no longer forwarded.
  const auto support = privacy::bit(privacy::purpose::support);
  CHECK_FALSE(here.forwards("acme", 6, event_type::message, "sub_dee", support));
  CHECK(here.forwards("acme", 9, event_type::message, "sub_dee", support));

  // Read again (this replica's own commits come back too): the same state.
  auto again = privacy::follow_commits(*stores.log, here, acme(), 0, head);
  REQUIRE(again);
  CHECK(again->through == 8);
  CHECK_FALSE(here.find("acme", "sub_cid")->opted_out);
  // From where it stopped: nothing more to read.
  auto none = privacy::follow_commits(*stores.log, here, acme(), 8, head);
  REQUIRE(none);
  CHECK(none->through == 8);
  CHECK(none->changes == 0);
}

// The outbox writes a commit makes for the customer-service window (src/outbound/window_rows.hpp):
// one row per conversation, the tenant's window head, peers only where the tenant pseudonymizes,
// and the facts the start-up repair reads back from a stored event's JSON.
#include <catch2/catch.hpp>

#include <vector>

#include "core/conversation_key.hpp"
#include "outbound/window_rows.hpp"

using sb::event;
using sb::timestamp;
using sb::store::outbox_write;
using sb::outbound::window_facts;
using sb::outbound::window_writes;

namespace {

event message(std::uint64_t seq, const std::string& peer, std::int64_t at_ms,
              const char* type = sb::event_type::message) {
  event e;
  e.seq = seq;
  e.type = type;
  e.channel = {"tg-main", "telegram", "bot1"};
  e.peer = peer;
  e.conversation = sb::conversation_key::format("tg-main", peer);
  e.subject = "tg:" + peer;
  e.occurred_at = timestamp::from_millis(at_ms);
  e.received_at = timestamp::from_millis(at_ms + 50);
  return e;
}

const outbox_write* row_of(const std::vector<outbox_write>& writes, const std::string& conv) {
  for (const auto& w : writes) {
    if (w.what == outbox_write::kind::last_inbound && w.conversation == conv) {
      return &w;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a commit writes one window row per conversation and the tenant's window head",
          "[outbound][window]") {
  std::vector<event> events{message(7, "100", 5000), message(8, "200", 6000),
                            message(9, "100", 9000), message(10, "100", 4000)};
  auto echo = message(11, "300", 9500);
  echo.content.echo = true;  // what the business sent: opens nothing
  events.push_back(echo);
  events.push_back(message(12, "400", 9600, sb::event_type::status));
  auto writes = window_writes("acme", false, events);
  REQUIRE(writes.size() == 3);
  const auto* a = row_of(writes, "tg-main:100");
  REQUIRE(a != nullptr);
  CHECK(a->at_ms == 9000);  // the newest of its three, not the last one
  CHECK(a->tenant == "acme");
  CHECK(a->subject == "tg:100");
  CHECK(a->peer.empty());
  const auto* b = row_of(writes, "tg-main:200");
  REQUIRE(b != nullptr);
  CHECK(b->at_ms == 6000);
  CHECK(row_of(writes, "tg-main:300") == nullptr);
  CHECK(row_of(writes, "tg-main:400") == nullptr);
  // Last, so the head is raised in the same transaction as the rows before it; the status
  // event's seq counts too (its commit has nothing to repair).
  CHECK(writes.back().what == outbox_write::kind::window_head);
  CHECK(writes.back().seq == 12);
  CHECK_FALSE(writes.back().synced);
}

TEST_CASE("a pseudonymizing tenant's rows carry the real peer, which the log does not hold",
          "[outbound][window]") {
  auto named = message(3, "100", 5000);
  auto hashed = message(4, "200", 6000);
  hashed.conversation = "tg-main:p_9f3a";  // named by a keyed hash of the peer
  auto writes = window_writes("acme", true, {named, hashed});
  REQUIRE(writes.size() == 3);
  CHECK(row_of(writes, "tg-main:100")->peer.empty());  // its name says it already
  CHECK(row_of(writes, "tg-main:p_9f3a")->peer == "200");
  CHECK(window_writes("acme", false, {hashed}).front().peer.empty());
}

TEST_CASE("events without a seq write no head", "[outbound][window]") {
  auto e = message(0, "100", 5000);
  auto writes = window_writes("acme", false, {e});
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].what == outbox_write::kind::last_inbound);
  CHECK(window_writes("acme", false, {}).empty());
}

TEST_CASE("the repair reads a stored event's window facts back from its JSON",
          "[outbound][window]") {
  auto e = message(42, "100", 1764392400123);
  e.id = "evt_1";
  e.tenant = "acme";
  e.content.text = "hello";
  sb::store::stored_event stored{42, e.type, e.conversation, e.subject, sb::to_json(e)};
  event back;
  REQUIRE(window_facts(stored, back));
  CHECK(back.seq == 42);
  CHECK(back.type == sb::event_type::message);
  CHECK(back.conversation == "tg-main:100");
  CHECK(back.subject == "tg:100");
  CHECK(back.occurred_at.unix_ms == 1764392400123);
  CHECK(back.received_at.unix_ms == 1764392400173);
  CHECK_FALSE(back.content.echo);
  // The same rows as at the commit (the peer aside).
  auto at_commit = window_writes("acme", false, {e});
  auto repaired = window_writes("acme", false, {back});
  REQUIRE(repaired.size() == at_commit.size());
  CHECK(repaired[0].at_ms == at_commit[0].at_ms);

  e.content.echo = true;
  stored.json = sb::to_json(e);
  REQUIRE(window_facts(stored, back));
  CHECK(back.content.echo);
  CHECK(window_writes("acme", false, {back}).size() == 1);  // the head alone

  stored.json = "not json";
  CHECK_FALSE(window_facts(stored, back));
}

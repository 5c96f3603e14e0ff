// The event-log and delivery-store contract, run against every implementation: the in-memory log,
// the SQLite log (a real database file in a fresh temporary directory) and the PostgreSQL stores
// (a throwaway cluster of the test's own).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"

using namespace sb;

namespace {

using test::store_support::append;
using test::store_support::memory_backend;
using test::store_support::pg_backend;
using test::store_support::sqlite_backend;

/// A message (or an event of `type`) without a subject, in a conversation of its own.
event make_event(const std::string& tenant, const std::string& channel, const std::string& key,
                 const char* type = event_type::message) {
  event e = test::store_support::make_event(tenant, channel, key, "", 1764392400123, type);
  e.conversation = channel + ":peer-" + key;
  return e;
}

store::append_request request(const std::string& tenant, std::vector<event> events) {
  return {tenant, std::move(events)};
}

std::vector<std::uint64_t> seqs_of(const store::read_result& r) {
  std::vector<std::uint64_t> out;
  for (const auto& e : r.events) {
    out.push_back(e.seq);
  }
  return out;
}

store::read_result read_ok(store::event_log& log, const std::string& tenant, std::uint64_t after,
                           std::size_t limit, const std::vector<std::string>& types = {}) {
  auto r = log.read(tenant, after, limit, types);
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  return r.value();
}

bool is_new(const store::append_outcome& o, std::uint64_t seq) {
  return !o.duplicate && o.seq == seq;
}

bool is_duplicate_of(const store::append_outcome& o, std::uint64_t seq) {
  return o.duplicate && o.seq == seq;
}

}  // namespace

TEMPLATE_TEST_CASE("each tenant's seq starts at 1 and grows by one per stored event", "[store]",
                   memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  std::vector<store::append_request> reqs;
  reqs.push_back(request("acme", {make_event("acme", "wa", "a1"), make_event("acme", "wa", "a2"),
                                  make_event("acme", "wa", "a3")}));
  reqs.push_back(
      request("globex", {make_event("globex", "wa", "g1"), make_event("globex", "wa", "g2")}));
  reqs.push_back(request("acme", {make_event("acme", "tg", "a4")}));
  std::vector<std::vector<store::append_outcome>> outcomes;
  REQUIRE(log->append(reqs, outcomes).ok());

  REQUIRE(outcomes.size() == 3);
  REQUIRE(outcomes[0].size() == 3);
  CHECK(is_new(outcomes[0][0], 1));
  CHECK(is_new(outcomes[0][1], 2));
  CHECK(is_new(outcomes[0][2], 3));
  CHECK(is_new(outcomes[1][0], 1));
  CHECK(is_new(outcomes[1][1], 2));
  CHECK(is_new(outcomes[2][0], 4));
  CHECK(reqs[0].events[2].seq == 3);
  CHECK(reqs[2].events[0].seq == 4);

  auto next = append(*log, {request("acme", {make_event("acme", "wa", "a5")})});
  CHECK(is_new(next[0][0], 5));
  CHECK(log->head("acme") == 5);
  CHECK(log->head("globex") == 2);
  CHECK(log->head("initech") == 0);

  auto r = read_ok(*log, "acme", 0, 100);
  CHECK(seqs_of(r) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(r.next == 5);
  CHECK(r.events[3].type == "message");
  CHECK(r.events[3].conversation == "tg:peer-a4");
  CHECK(r.events[3].json.find("\"seq\":4") != std::string::npos);
  CHECK(r.events[3].json.find("\"id\":\"evt_acme_tg_a4\"") != std::string::npos);
  CHECK(r.events[3].json.find("\"tenant\":\"acme\"") != std::string::npos);
  auto g = read_ok(*log, "globex", 0, 100);
  CHECK(seqs_of(g) == std::vector<std::uint64_t>{1, 2});
}

TEMPLATE_TEST_CASE("a dedupe key is stored once per tenant and channel, within and across batches",
                   "[store]", memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto first =
      append(*log, {request("acme", {make_event("acme", "wa", "k1"), make_event("acme", "wa", "k2"),
                                     make_event("acme", "wa", "k1")}),
                    request("acme", {make_event("acme", "wa", "k2")}),
                    request("globex", {make_event("globex", "wa", "k1")}),
                    request("acme", {make_event("acme", "tg", "k1")})});
  CHECK(is_new(first[0][0], 1));
  CHECK(is_new(first[0][1], 2));
  CHECK(is_duplicate_of(first[0][2], 1));
  CHECK(is_duplicate_of(first[1][0], 2));
  CHECK(is_new(first[2][0], 1));  // another tenant
  CHECK(is_new(first[3][0], 3));  // another channel

  auto second = append(
      *log, {request("acme", {make_event("acme", "wa", "k1"), make_event("acme", "wa", "k3")})});
  CHECK(is_duplicate_of(second[0][0], 1));
  CHECK(is_new(second[0][1], 4));

  // Events without a dedupe key are never duplicates.
  auto keyless_a = make_event("acme", "wa", "");
  auto keyless_b = make_event("acme", "wa", "");
  auto third = append(*log, {request("acme", {keyless_a, keyless_b})});
  CHECK(is_new(third[0][0], 5));
  CHECK(is_new(third[0][1], 6));

  CHECK(log->head("acme") == 6);
  CHECK(seqs_of(read_ok(*log, "acme", 0, 100)) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
}

TEMPLATE_TEST_CASE("a read honours after, limit and types and says where to resume", "[store]",
                   memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  std::vector<event> events;
  for (int i = 1; i <= 10; ++i) {
    // Odd seqs are messages, even seqs statuses.
    events.push_back(make_event("acme", "wa", "e" + std::to_string(i),
                                i % 2 == 1 ? event_type::message : event_type::status));
  }
  append(*log, {request("acme", std::move(events))});

  auto page = read_ok(*log, "acme", 0, 3);
  CHECK(seqs_of(page) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(page.next == 3);

  auto statuses = read_ok(*log, "acme", 3, 2, {"status"});
  CHECK(seqs_of(statuses) == std::vector<std::uint64_t>{4, 6});
  CHECK(statuses.next == 6);
  for (const auto& e : statuses.events) {
    CHECK(e.type == "status");
    CHECK(e.json.find("\"type\":\"status\"") != std::string::npos);
  }

  auto messages = read_ok(*log, "acme", 6, 100, {"message", "reaction"});
  CHECK(seqs_of(messages) == std::vector<std::uint64_t>{7, 9});
  CHECK(messages.next == 10);  // examined up to the end

  auto none = read_ok(*log, "acme", 0, 100, {"reaction"});
  CHECK(none.events.empty());
  CHECK(none.next == 10);

  auto at_end = read_ok(*log, "acme", 10, 100);
  CHECK(at_end.events.empty());
  CHECK(at_end.next == 10);

  auto beyond = read_ok(*log, "acme", 50, 100);
  CHECK(beyond.events.empty());
  CHECK(beyond.next == 50);

  auto zero = read_ok(*log, "acme", 2, 0);
  CHECK(zero.events.empty());
  CHECK(zero.next == 2);

  auto unknown = read_ok(*log, "initech", 4, 100);
  CHECK(unknown.events.empty());
  CHECK(unknown.next == 4);
}

TEMPLATE_TEST_CASE("a bounded read returns nothing past its bound and its next never passes it",
                   "[store]", memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  std::vector<event> events;
  for (int i = 1; i <= 10; ++i) {
    events.push_back(make_event("acme", "wa", "e" + std::to_string(i),
                                i % 2 == 1 ? event_type::message : event_type::status));
  }
  append(*log, {request("acme", std::move(events))});
  auto bounded = [&](std::uint64_t after, std::size_t limit, std::uint64_t upto,
                     const std::vector<std::string>& types = {}) {
    auto r = log->read("acme", after, limit, types, upto);
    INFO((r ? std::string() : r.err().message));
    REQUIRE(r.ok());
    return r.value();
  };

  auto up_to_6 = bounded(0, 100, 6);
  CHECK(seqs_of(up_to_6) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(up_to_6.next == 6);  // seq 7 is stored, but not examined
  auto resumed = bounded(6, 100, 8);
  CHECK(seqs_of(resumed) == std::vector<std::uint64_t>{7, 8});
  CHECK(resumed.next == 8);
  // A type filter that matches nothing up to the bound stops at the bound, not at the head.
  auto statuses = bounded(4, 100, 5, {"status"});
  CHECK(statuses.events.empty());
  CHECK(statuses.next == 5);
  auto messages = bounded(7, 100, 8, {"message"});
  CHECK(messages.events.empty());
  CHECK(messages.next == 8);
  // The limit still applies below the bound.
  auto limited = bounded(0, 2, 6);
  CHECK(seqs_of(limited) == std::vector<std::uint64_t>{1, 2});
  CHECK(limited.next == 2);
  // At or past the bound: nothing, and next stays where it was.
  auto at_bound = bounded(6, 100, 6);
  CHECK(at_bound.events.empty());
  CHECK(at_bound.next == 6);
  auto past_bound = bounded(9, 100, 4);
  CHECK(past_bound.events.empty());
  CHECK(past_bound.next == 9);
  auto nothing_announced = bounded(0, 100, 0);
  CHECK(nothing_announced.events.empty());
  CHECK(nothing_announced.next == 0);
  // A bound above the head reads to the end, as the default (no bound) does.
  auto above = bounded(8, 100, 1000);
  CHECK(seqs_of(above) == std::vector<std::uint64_t>{9, 10});
  CHECK(above.next == 10);
  CHECK(seqs_of(read_ok(*log, "acme", 8, 100)) == std::vector<std::uint64_t>{9, 10});
}

TEMPLATE_TEST_CASE("a filtered read examines a bounded number of events and resumes at next",
                   "[store]", memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  constexpr std::uint64_t k_statuses = 25000;
  std::vector<event> events;
  events.reserve(k_statuses + 1);
  for (std::uint64_t i = 1; i <= k_statuses; ++i) {
    auto e = make_event("acme", "wa", "", event_type::status);
    events.push_back(std::move(e));
  }
  events.push_back(make_event("acme", "wa", "the-message"));
  append(*log, {request("acme", std::move(events))});

  std::uint64_t after = 0;
  int calls = 0;
  store::read_result r;
  do {
    r = read_ok(*log, "acme", after, 10, {"message"});
    ++calls;
    REQUIRE(r.next > after);  // every call makes progress
    after = r.next;
  } while (r.events.empty() && calls < 100);
  CHECK(calls > 1);  // the first call stopped short of the end: it was bounded
  REQUIRE(seqs_of(r) == std::vector<std::uint64_t>{k_statuses + 1});
  CHECK(r.next == k_statuses + 1);
}

TEMPLATE_TEST_CASE("an unparseable body is quarantined intact and listed per tenant", "[store]",
                   memory_backend, sqlite_backend,
                   pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  const std::string binary("\x00\xff{not json\x01", 12);
  store::quarantined_body a1{0,     "acme", "wa", "expected object", timestamp::from_millis(1000),
                             binary};
  store::quarantined_body b1{0, "globex", "tg", "truncated", timestamp::from_millis(2000), "{"};
  store::quarantined_body a2{0, "acme", "tg", "empty body", timestamp::from_millis(3000), ""};
  auto id1 = log->quarantine(a1);
  auto id2 = log->quarantine(b1);
  auto id3 = log->quarantine(a2);
  REQUIRE(id1.ok());
  REQUIRE(id2.ok());
  REQUIRE(id3.ok());
  CHECK(id1.value() < id2.value());
  CHECK(id2.value() < id3.value());

  auto acme = log->quarantined("acme");
  REQUIRE(acme.size() == 2);
  CHECK(acme[0].id == id1.value());
  CHECK(acme[0].tenant == "acme");
  CHECK(acme[0].channel == "wa");
  CHECK(acme[0].reason == "expected object");
  CHECK(acme[0].received_at.unix_ms == 1000);
  CHECK(acme[0].body == binary);
  CHECK(acme[1].id == id3.value());
  CHECK(acme[1].body.empty());
  auto globex = log->quarantined("globex");
  REQUIRE(globex.size() == 1);
  CHECK(globex[0].body == "{");
  CHECK(log->quarantined("initech").empty());
}

TEMPLATE_TEST_CASE("a subscriber's cursor is kept per tenant and subscriber and may move back",
                   "[store]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto delivery = stores.delivery;
  REQUIRE(delivery != nullptr);
  CHECK(delivery->cursor("acme", "helpdesk") == 0);
  REQUIRE(delivery->save_cursor("acme", "helpdesk", 5).ok());
  REQUIRE(delivery->save_cursor("acme", "assistant", 7).ok());
  REQUIRE(delivery->save_cursor("globex", "helpdesk", 9).ok());
  CHECK(delivery->cursor("acme", "helpdesk") == 5);
  CHECK(delivery->cursor("acme", "assistant") == 7);
  CHECK(delivery->cursor("globex", "helpdesk") == 9);
  CHECK(delivery->cursor("globex", "assistant") == 0);
  REQUIRE(delivery->save_cursor("acme", "helpdesk", 12).ok());
  CHECK(delivery->cursor("acme", "helpdesk") == 12);
  REQUIRE(delivery->save_cursor("acme", "helpdesk", 3).ok());  // replay from 3
  CHECK(delivery->cursor("acme", "helpdesk") == 3);
}

TEMPLATE_TEST_CASE("dead letters are listed per subscriber in order and taken once for redrive",
                   "[store]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto delivery = stores.delivery;
  REQUIRE(delivery != nullptr);
  auto letter = [](const std::string& tenant, const std::string& subscriber, std::uint64_t seq) {
    store::dead_letter d;
    d.id = 999;  // ignored: the store assigns ids
    d.tenant = tenant;
    d.subscriber = subscriber;
    d.seq = seq;
    d.event_id = "evt_" + std::to_string(seq);
    d.attempts = 8;
    d.last_error = "HTTP 503";
    d.failed_at = timestamp::from_millis(1764392400000 + static_cast<std::int64_t>(seq));
    return d;
  };
  std::vector<std::uint64_t> ids;
  for (auto d : {letter("acme", "assistant", 3), letter("acme", "helpdesk", 4),
                 letter("acme", "assistant", 5), letter("globex", "assistant", 6),
                 letter("acme", "assistant", 7)}) {
    auto id = delivery->add_dead_letter(d);
    REQUIRE(id.ok());
    ids.push_back(id.value());
  }
  for (std::size_t i = 1; i < ids.size(); ++i) {
    CHECK(ids[i - 1] < ids[i]);
  }

  auto all = delivery->dead_letters("acme", "assistant", 0, 100);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == ids[0]);
  CHECK(all[1].id == ids[2]);
  CHECK(all[2].id == ids[4]);
  CHECK(all[1].tenant == "acme");
  CHECK(all[1].subscriber == "assistant");
  CHECK(all[1].seq == 5);
  CHECK(all[1].event_id == "evt_5");
  CHECK(all[1].attempts == 8);
  CHECK(all[1].last_error == "HTTP 503");
  CHECK(all[1].failed_at.unix_ms == 1764392400005);

  auto page = delivery->dead_letters("acme", "assistant", ids[0], 1);
  REQUIRE(page.size() == 1);
  CHECK(page[0].id == ids[2]);
  CHECK(delivery->dead_letters("acme", "assistant", ids[4], 100).empty());
  CHECK(delivery->dead_letters("acme", "assistant", 0, 0).empty());

  // Another tenant's subscriber of the same name cannot take it.
  auto foreign = delivery->take_dead_letter("globex", "assistant", ids[2]);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.err().code == errc::not_found);

  auto taken = delivery->take_dead_letter("acme", "assistant", ids[2]);
  REQUIRE(taken.ok());
  CHECK(taken->id == ids[2]);
  CHECK(taken->seq == 5);
  CHECK(taken->event_id == "evt_5");
  CHECK(taken->attempts == 8);
  CHECK(taken->last_error == "HTTP 503");
  CHECK(taken->failed_at.unix_ms == 1764392400005);

  auto again = delivery->take_dead_letter("acme", "assistant", ids[2]);
  REQUIRE_FALSE(again.ok());
  CHECK(again.err().code == errc::not_found);

  auto rest = delivery->dead_letters("acme", "assistant", 0, 100);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].id == ids[0]);
  CHECK(rest[1].id == ids[4]);
  CHECK(delivery->dead_letters("globex", "assistant", 0, 100).size() == 1);
  CHECK(delivery->dead_letters("acme", "helpdesk", 0, 100).size() == 1);

  // A taken id is never handed out again.
  auto later = delivery->add_dead_letter(letter("acme", "assistant", 8));
  REQUIRE(later.ok());
  CHECK(later.value() > ids.back());
}

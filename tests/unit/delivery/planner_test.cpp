#include <catch2/catch.hpp>

#include <algorithm>

#include "delivery/planner.hpp"

using namespace sb;
using namespace std::chrono_literals;
using delivery::action;
using delivery::attempt_result;
using tickets = std::vector<std::uint64_t>;

namespace {

delivery::retry_schedule schedule(std::vector<std::chrono::milliseconds> d) {
  auto s = delivery::retry_schedule::make(std::move(d), 0.0);
  REQUIRE(s.ok());
  return std::move(s).value();
}

delivery::delivery_planner make(std::uint64_t cursor, std::size_t in_flight = 8,
                                std::size_t lookahead = 100, std::size_t redrive = 10,
                                std::vector<std::chrono::milliseconds> d = {0ms, 10ms, 20ms}) {
  return delivery::delivery_planner(cursor, {in_flight, lookahead, redrive}, schedule(d));
}

void add(delivery::delivery_planner& p, std::uint64_t seq, const std::string& conv) {
  p.add(seq, conv, "evt_" + std::to_string(seq), "{\"seq\":" + std::to_string(seq) + "}");
}

const attempt_result ok{200, "", std::nullopt};
const attempt_result server_error{500, "", std::nullopt};

tickets sorted(tickets t) {
  std::sort(t.begin(), t.end());
  return t;
}

}  // namespace

TEST_CASE("a conversation's next event waits for the previous one, others go on",
          "[delivery][planner]") {
  auto p = make(0);
  add(p, 1, "chat:alice");
  add(p, 2, "chat:alice");
  add(p, 3, "chat:bob");
  add(p, 4, "");  // no conversation: independent
  CHECK(sorted(p.take_ready()) == tickets{1, 3, 4});

  auto d = p.on_result(1, server_error, 0.5);
  REQUIRE(d);
  CHECK(d->what == action::retry);
  CHECK(d->delay == 10ms);
  CHECK(d->attempts == 1);
  CHECK(d->last_error == "HTTP 500");
  // bob and the independent event finish while alice's first event waits for its retry.
  CHECK(p.on_result(3, ok, 0.5)->what == action::delivered);
  CHECK(p.on_result(4, ok, 0.5)->what == action::delivered);
  CHECK(p.take_ready().empty());  // alice 2 is blocked behind alice 1
  CHECK(p.cursor() == 0);

  p.retry_due(1);
  CHECK(p.take_ready() == tickets{1});
  CHECK(p.on_result(1, ok, 0.5)->what == action::delivered);
  CHECK(p.cursor() == 1);
  CHECK(p.take_ready() == tickets{2});
  CHECK(p.on_result(2, ok, 0.5)->what == action::delivered);
  CHECK(p.cursor() == 4);
  CHECK(p.tracked() == 0);
}

TEST_CASE("a dead-lettered event releases its conversation", "[delivery][planner]") {
  auto p = make(0, 8, 100, 10, {0ms, 10ms});
  add(p, 1, "c");
  add(p, 2, "c");
  CHECK(p.take_ready() == tickets{1});
  CHECK(p.on_result(1, {0, "timeout", std::nullopt}, 0.5)->what == action::retry);
  p.retry_due(1);
  CHECK(p.take_ready() == tickets{1});
  auto d = p.on_result(1, server_error, 0.5);
  REQUIRE(d);
  CHECK(d->what == action::dead_letter);
  CHECK(d->attempts == 2);
  CHECK(d->last_error == "HTTP 500");
  // Not done until the dead letter is stored.
  CHECK(p.take_ready().empty());
  CHECK(p.cursor() == 0);
  p.dead_lettered(1);
  CHECK(p.cursor() == 1);
  CHECK(p.take_ready() == tickets{2});
}

TEST_CASE("a dead letter that could not be stored is delivered again", "[delivery][planner]") {
  auto p = make(0, 8, 100, 10, {0ms});
  add(p, 1, "c");
  p.take_ready();
  CHECK(p.on_result(1, server_error, 0.5)->what == action::dead_letter);
  p.retry_due(1);  // storing failed: try again
  CHECK(p.take_ready() == tickets{1});
  CHECK(p.on_result(1, ok, 0.5)->what == action::delivered);
  CHECK(p.cursor() == 1);
}

TEST_CASE("no more than max_in_flight attempts run at once", "[delivery][planner]") {
  auto p = make(0, 2);
  for (std::uint64_t s = 1; s <= 5; ++s) {
    add(p, s, "");
  }
  CHECK(p.take_ready() == tickets{1, 2});
  CHECK(p.in_flight() == 2);
  CHECK(p.take_ready().empty());
  p.on_result(2, ok, 0.5);
  CHECK(p.take_ready() == tickets{3});
  // A retry wait frees the slot: waiting is not in flight.
  CHECK(p.on_result(1, server_error, 0.5)->what == action::retry);
  CHECK(p.take_ready() == tickets{4});
  CHECK(p.in_flight() == 2);
}

TEST_CASE("reading stops max_lookahead seqs past the durable cursor", "[delivery][planner]") {
  auto p = make(10, 8, 3);
  CHECK(p.room() == 3);
  add(p, 11, "a");
  add(p, 12, "b");
  add(p, 13, "c");
  CHECK(p.room() == 0);
  p.take_ready();
  p.on_result(12, ok, 0.5);
  p.on_result(13, ok, 0.5);
  CHECK(p.room() == 0);  // 11 still holds the cursor at 10
  CHECK(p.cursor() == 10);
  p.on_result(11, ok, 0.5);
  CHECK(p.cursor() == 13);
  CHECK(p.room() == 3);
}

TEST_CASE("the cursor is the highest seq with everything before it done", "[delivery][planner]") {
  auto p = make(0);
  add(p, 2, "");  // seq 1 was never stored (or was a duplicate): nothing to deliver
  add(p, 5, "");
  p.advance(9);  // the reader examined up to 9
  CHECK(p.read_position() == 9);
  CHECK(p.cursor() == 1);
  p.take_ready();
  p.on_result(5, ok, 0.5);
  CHECK(p.cursor() == 1);
  p.on_result(2, ok, 0.5);
  CHECK(p.cursor() == 9);
}

TEST_CASE("410 asks to disable and keeps the event for later", "[delivery][planner]") {
  auto p = make(0);
  add(p, 1, "c");
  p.take_ready();
  auto d = p.on_result(1, {410, "", std::nullopt}, 0.5);
  REQUIRE(d);
  CHECK(d->what == action::disable);
  CHECK(p.cursor() == 0);
  CHECK(p.take_ready() == tickets{1});
}

TEST_CASE("Retry-After lengthens the wait", "[delivery][planner]") {
  auto p = make(0);
  add(p, 1, "c");
  p.take_ready();
  auto d = p.on_result(1, {503, "", std::chrono::milliseconds{1500}}, 0.5);
  REQUIRE(d);
  CHECK(d->what == action::retry);
  CHECK(d->delay == 1500ms);
}

TEST_CASE("a requeued attempt is not counted and a stale result is ignored",
          "[delivery][planner]") {
  auto p = make(0, 8, 100, 10, {0ms});
  add(p, 1, "c");
  CHECK(p.take_ready() == tickets{1});
  p.requeue(1);
  CHECK_FALSE(p.on_result(1, ok, 0.5));  // not sending: stale
  CHECK(p.take_ready() == tickets{1});
  // Still the first attempt: a failure now exhausts the one-attempt schedule.
  auto d = p.on_result(1, server_error, 0.5);
  REQUIRE(d);
  CHECK(d->attempts == 1);
  CHECK_FALSE(p.on_result(99, ok, 0.5));
}

TEST_CASE("redriven dead letters go first, independently, without moving the cursor",
          "[delivery][planner]") {
  auto p = make(7, 8, 100, 2);
  add(p, 8, "c");
  CHECK(p.redrive_room() == 2);
  auto r1 = p.add_redrive(3, "evt_3", "{}");
  auto r2 = p.add_redrive(5, "evt_5", "{}");
  CHECK(p.redrive_room() == 0);
  auto t = p.take_ready();
  REQUIRE(t.size() == 3);
  CHECK(t[0] == r1);
  CHECK(t[1] == r2);
  CHECK(t[2] == 8);
  REQUIRE(p.find(r1) != nullptr);
  CHECK(p.find(r1)->redrive);
  CHECK(p.find(r1)->seq == 3);
  CHECK(p.on_result(8, ok, 0.5)->what == action::delivered);
  CHECK(p.cursor() == 8);  // redrives in flight do not hold the cursor
  CHECK(p.on_result(r1, ok, 0.5)->what == action::delivered);
  CHECK(p.redrive_room() == 1);
  // A redrive gets a fresh schedule.
  auto d = p.on_result(r2, server_error, 0.5);
  REQUIRE(d);
  CHECK(d->what == action::retry);
  CHECK(d->attempts == 1);
}

TEST_CASE("responses are classified as success, retry or disable", "[delivery][planner]") {
  using delivery::verdict;
  CHECK(delivery::classify(200) == verdict::success);
  CHECK(delivery::classify(204) == verdict::success);
  CHECK(delivery::classify(299) == verdict::success);
  CHECK(delivery::classify(410) == verdict::disable);
  for (int s : {0, 100, 301, 302, 400, 401, 404, 413, 429, 500, 502, 503, 504}) {
    CHECK(delivery::classify(s) == verdict::retry);
  }
  CHECK(delivery::describe({503, "", std::nullopt}) == "HTTP 503");
  CHECK(delivery::describe({0, "Connection refused", std::nullopt}) == "Connection refused");
  CHECK(delivery::describe({0, "", std::nullopt}) == "no response");
}

TEST_CASE("the cursor is saved at most every interval, at once after a long way",
          "[delivery][planner]") {
  using clock = delivery::cursor_saver::clock;
  const auto t0 = clock::time_point{} + std::chrono::hours{1};
  delivery::cursor_saver s(0, 100ms, 50);
  // The first progress is saved at once (no save for a long time).
  auto p = s.on_progress(1, t0);
  CHECK(p.save_now);
  s.saved(1, t0);
  // Soon after: a timer is armed once, not per progress.
  p = s.on_progress(2, t0 + 10ms);
  CHECK_FALSE(p.save_now);
  REQUIRE(p.arm_timer);
  CHECK(*p.arm_timer >= 90ms);
  CHECK(*p.arm_timer <= 91ms);
  p = s.on_progress(3, t0 + 20ms);
  CHECK_FALSE(p.save_now);
  CHECK_FALSE(p.arm_timer);
  CHECK(s.on_timer(3));
  s.saved(3, t0 + 100ms);
  // Far ahead: at once, whatever the interval.
  CHECK(s.on_progress(60, t0 + 101ms).save_now);
  // Nothing new: nothing to do.
  s.saved(60, t0 + 101ms);
  p = s.on_progress(60, t0 + 500ms);
  CHECK_FALSE(p.save_now);
  CHECK_FALSE(p.arm_timer);
  CHECK_FALSE(s.on_timer(60));
}

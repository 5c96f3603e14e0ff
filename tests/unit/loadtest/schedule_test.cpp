#include <catch2/catch.hpp>

#include "loadtest/schedule.hpp"

using namespace sb::loadtest;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST_CASE("the open-loop timeline is start + i / rate") {
  const clock::time_point start{std::chrono::seconds(1000)};
  CHECK(intended_time(start, 100, 0) == start);
  CHECK(intended_time(start, 100, 1) == start + milliseconds(10));
  CHECK(intended_time(start, 100, 250) == start + milliseconds(2500));
  CHECK(intended_time(start, 3, 1) == start + nanoseconds(333333333));
  // Independent of anything but rate and start: the same inputs, the same instant.
  CHECK(intended_time(start, 2500, 12345) == intended_time(start, 2500, 12345));
  CHECK(intended_time(start + milliseconds(5), 2500, 7) ==
        intended_time(start, 2500, 7) + milliseconds(5));
}

TEST_CASE("due_count agrees with intended_time") {
  const clock::time_point start{std::chrono::seconds(50)};
  CHECK(due_count(start, 100, start - nanoseconds(1)) == 0);
  CHECK(due_count(start, 100, start) == 1);
  CHECK(due_count(start, 100, start + milliseconds(10) - nanoseconds(1)) == 1);
  CHECK(due_count(start, 100, start + milliseconds(10)) == 2);
  CHECK(due_count(start, 100, start + std::chrono::seconds(10)) == 1001);
  for (double rate : {1.0, 7.0, 333.0, 10000.0}) {
    for (std::uint64_t i : {0ULL, 1ULL, 99ULL, 12345ULL}) {
      const auto t = intended_time(start, rate, i);
      INFO("rate " << rate << " i " << i);
      CHECK(due_count(start, rate, t) == i + 1);
      CHECK(due_count(start, rate, t - nanoseconds(1)) == i);
    }
  }
}

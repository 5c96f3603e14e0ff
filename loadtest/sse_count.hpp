#pragma once

#include <cstdint>
#include <string>
#include <string_view>

/// Counts the events of a Server-Sent Events body fed in chunks of any size, as the fan-out
/// readers of the load tester receive it (`--fanout`, loadtest/README.md): every line that
/// starts with `id:` is one event, and its value is the event's seq.
///
/// Why only `id:` lines: a fan-out reader proves that it received every event, and how many,
/// without parsing JSON; 200 such readers share one thread of the machine the gateway runs on,
/// so each costs little more than its socket reads.
namespace sb::loadtest {

class sse_counter {
 public:
  /// Takes the next bytes of the body (the HTTP head already removed).
  void feed(std::string_view chunk);

  /// Events whose `id:` line was complete.
  std::uint64_t events() const { return events_; }
  /// The last complete `id:` line's value (0 before any).
  std::uint64_t last_id() const { return last_id_; }

 private:
  void end_line();

  // The start of the line being read: enough for "id: " and a 20-digit seq. The rest of a long
  // line (an event's data) is never kept.
  static constexpr std::size_t k_kept = 32;
  std::string line_;
  bool overflow_ = false;  ///< the line is longer than `k_kept`
  std::uint64_t events_ = 0;
  std::uint64_t last_id_ = 0;
};

}  // namespace sb::loadtest

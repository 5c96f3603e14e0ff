#pragma once

// The catch-up reader: the one actor that reads events from the store for the live streams, when
// what they need is older than the log's live tail (store/live_tail.hpp).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// One read of `event_log::read`, as a message.
struct history_query {
  std::string tenant;
  std::uint64_t after = 0;
  std::size_t limit = 0;
  std::vector<std::string> types;
  std::uint64_t upto = 0;
};

/// Its answer: the page, or why the store could not be read (`failed`).
struct history_page {
  store::read_result page;
  bool failed = false;
  std::string error;
};

/// A read of the log that runs on the catch-up reader's thread and answers by itself (a pull
/// page, `GET /v1/events`, that the live tail cannot answer). It must not block beyond its reads.
struct history_task {
  std::function<void(store::event_log&)> run;
};

/// The catch-up reader, in pseudo-code:
///
///   interface history_reader {
///     // `event_log::read` of the query, on this actor's own thread.
///     (read_atom, history_query) -> history_page
///     // `task.run` with the log, on this actor's own thread, in arrival order with the reads.
///     (task_atom, history_task) -> void
///   }
///
/// Why: a stream that replays history (opened without `Last-Event-ID`, or after a long
/// disconnection) reads and decrypts from disk, 256 events a call, for as long as it is behind.
/// On the scheduler's threads, 200 such streams took ingest from thousands of requests per second
/// to 26 (docs/performance.md, "Catch-up readers"). Here every such read runs on one detached
/// thread at a lower priority (nice +10), in arrival order (each stream has one read in flight at
/// most), so catch-up readers share what the webhook path leaves and never hold the threads that
/// answer platforms. Reads of what the live tail holds never come here.
using history_reader_actor =
    caf::typed_actor<caf::replies_to<read_atom, history_query>::with<history_page>,
                     caf::reacts_to<task_atom, history_task>>;

/// Spawns the catch-up reader over `log` (detached: one OS thread).
history_reader_actor spawn_history_reader(caf::actor_system& sys,
                                          std::shared_ptr<store::event_log> log);

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::history_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::history_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::history_task)

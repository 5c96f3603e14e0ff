#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "delivery/http_client.hpp"
#include "delivery/retry_schedule.hpp"

namespace sb::delivery {

/// Push-delivery knobs. Defaults serve until the config loader reads them per subscriber
/// (proposed keys in docs/delivery.md); tests shorten the schedule.
struct settings {
  retry_schedule schedule;                   ///< Standard Webhooks by default
  std::chrono::milliseconds timeout{15000};  ///< one attempt, connect included
  std::size_t max_in_flight = 8;             ///< concurrent attempts per subscriber
  std::size_t max_lookahead = 1000;          ///< seqs read beyond the durable cursor
  std::size_t read_batch = 256;              ///< events per log read
  std::size_t max_redrive = 1000;            ///< dead letters redriven at once per subscriber
  std::chrono::milliseconds cursor_save_interval{100};
  std::uint64_t cursor_save_every = 1000;      ///< seqs of progress that force a save at once
  std::chrono::milliseconds busy_backoff{50};  ///< wait when the HTTP client's queue is full
  http_client::options client;                 ///< the gateway's shared client
};

}  // namespace sb::delivery

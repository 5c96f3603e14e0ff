#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/retry_schedule.hpp"

namespace sb::delivery {

/// Push-delivery knobs. The ones a subscriber may set (config `push.*`) default to
/// `config::push_defaults`; tests shorten the schedule.
struct settings {
  retry_schedule schedule;  ///< `config::push_defaults::retry_schedule_ms`
  std::chrono::milliseconds timeout{config::push_defaults::timeout_ms};  ///< one attempt
  std::size_t max_in_flight = config::push_defaults::max_in_flight;      ///< per subscriber
  std::size_t max_lookahead = 1000;  ///< seqs read beyond the durable cursor
  std::size_t read_batch = 256;      ///< events per log read
  std::size_t max_redrive = 1000;    ///< dead letters redriven at once per subscriber
  std::chrono::milliseconds cursor_save_interval{100};
  std::uint64_t cursor_save_every = 1000;      ///< seqs of progress that force a save at once
  std::chrono::milliseconds busy_backoff{50};  ///< wait when the HTTP client's queue is full
  http_client::options client;                 ///< the gateway's shared client
};

}  // namespace sb::delivery

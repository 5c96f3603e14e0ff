#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadtest/histogram.hpp"
#include "loadtest/loss.hpp"

/// What a run measured, and its renderings: a human summary, JSON, self-contained HTML.
namespace sb::loadtest {

/// One second of the run (by response time): responses by status class and the ack latency of
/// the responses that completed in it, for the plots over time.
struct second_stats {
  std::uint64_t ok = 0;        ///< 2xx
  std::uint64_t client = 0;    ///< 4xx
  std::uint64_t server = 0;    ///< 5xx
  std::uint64_t other = 0;     ///< 1xx, 3xx
  std::uint64_t no_answer = 0; ///< no HTTP response (connect error, timeout, reset)
  std::uint64_t expected = 0;  ///< of all those, the ones with the expected status
  std::int64_t p50_us = 0;     ///< ack latency percentiles of this second's responses
  std::int64_t p99_us = 0;
  std::int64_t max_us = 0;
  std::uint64_t total() const { return ok + client + server + other + no_answer; }
};

/// Accumulates `second_stats` from responses arriving in time order (one thread). A response
/// of an earlier second than the last one recorded (not expected: one I/O thread) is counted in
/// its second without its latency.
class timeline {
 public:
  /// `status` 0 = no HTTP response.
  void record(std::size_t second, int status, bool expected, std::int64_t latency_us);
  /// Every second so far, the current one included.
  std::vector<second_stats> seconds() const;

 private:
  std::vector<second_stats> done_;
  histogram current_;
  std::size_t current_second_ = 0;
};

/// What the tool knows of the gateway's config, to name the likely cause of an unexpected
/// status (`likely_cause`).
struct config_hints {
  std::string config_path;
  /// Each targeted tenant with a rate limit: "tenants[0].rate_limit (acme: 500 rps, burst 1000)".
  std::vector<std::string> rate_limits;
  /// "limits.auth_failures_per_source (5/s, burst 20)".
  std::string auth_failures_per_source;
};

/// The store's state before the run, per watched tenant (the fresh-store check).
struct store_before {
  std::string tenant;
  /// The tenant's head seq before the run (events stored before it); -1 = could not be read.
  std::int64_t head = -1;
  std::string note;  ///< how it was read, or why it could not be
};

struct run_result {
  std::string scenario_path;
  std::string started_at;  ///< RFC 3339, UTC
  std::string gateway_url;
  std::string mode;        ///< "open" or "closed"
  double target_rate = 0;  ///< open loop only
  int connections = 0;
  double warmup_s = 0;
  double measured_s = 0;                                   ///< measured window (after warm-up)
  std::uint64_t sent = 0;                                  ///< requests sent, warm-up included
  std::uint64_t measured = 0;                              ///< responses in the measured window
  std::uint64_t expected = 0;    ///< of those, with the expected status: the headline counts these
  std::uint64_t unexpected = 0;  ///< of those, with another status (or no answer)
  /// Unexpected statuses of the whole run (warm-up included), by status: "429 rate_limited",
  /// "error:connect".
  std::map<std::string, std::uint64_t> unexpected_by_status;
  std::map<std::string, std::uint64_t> by_status;          ///< "200", "401", "error:timeout"...
  std::map<std::string, std::uint64_t> by_kind;            ///< valid, duplicate, bad_signature...
  std::map<std::string, std::uint64_t> unexpected_status;  ///< "<kind> <platform> -> <status>"
  std::vector<std::uint64_t> per_second;  ///< 200 responses per second of the whole run
  std::vector<second_stats> seconds;      ///< every second of the whole run (warm-up included)
  config_hints hints;
  std::vector<store_before> store;  ///< per watched tenant; empty when the stream is not read
  histogram ack;                          ///< intended send -> response, us (measured window)
  histogram e2e;                          ///< send -> event on the SSE stream, us
  bool stream_checked = false;
  std::string stream_note;  ///< why the stream was not checked, or its errors
  loss_report loss;
  /// `--fanout`: streams opened besides the checked one, on one tenant, each counting events.
  struct fanout_result {
    int streams = 0;
    std::string tenant;
    std::uint64_t expected = 0;  ///< events the checked stream of that tenant received
    std::uint64_t fewest = 0;    ///< the fan-out stream that received the fewest
    std::uint64_t most = 0;
    std::string error;  ///< a stream that could not open or ended early
    bool ok() const { return error.empty() && fewest == expected && most == expected; }
  } fanout;
  /// `--visitor-streams`: idle visitor streams of a visitor-facing channel (web chat), held open
  /// during the run. The load writes to none of their conversations, so each must receive none
  /// of its events: a visitor's stream is woken only by its own conversation.
  struct visitor_result {
    int streams = 0;
    std::string channel;            ///< "<tenant>/<channel>"
    std::uint64_t events = 0;       ///< events they received in all (must be 0)
    double open_s = 0;              ///< how long opening them took
    std::string error;              ///< a stream that could not open or ended early
    bool ok() const { return error.empty() && events == 0; }
  } visitors;
  std::string metrics_before;  ///< /metrics text, verbatim; empty when it did not answer 200
  std::string metrics_after;

  /// Expected answers per second in the measured window: the headline.
  double throughput() const { return measured_s > 0 ? expected / measured_s : 0; }
  /// Every response per second in the measured window, unexpected ones included.
  double responses_per_second() const { return measured_s > 0 ? measured / measured_s : 0; }
};

/// The likely cause of an unexpected status ("429 rate_limited", "429 too_many_failures", "401",
/// "503", "error:connect", ...), in words an operator acts on, naming the config key when there
/// is one. A 429 carries the answer's error code when it had one; a bare "429" may be either.
std::string likely_cause(const std::string& status, const config_hints& hints);

/// Why the run failed, one line each (unexpected statuses with their likely cause, the stream
/// check, fan-out and visitor streams); empty = the run passed.
std::vector<std::string> failure_reasons(const run_result& r);

/// Axis ticks from 0 in steps of 1, 2 or 5 times a power of ten, about `target` of them, the
/// last one >= `max` (the axis' top).
std::vector<double> nice_ticks(double max, int target = 5);

/// The verdict block printed last: "PASSED" or a "FAILED" banner with the reasons; red (ANSI)
/// only when `color`.
std::string render_verdict(const run_result& r, bool color);

/// The percentiles reported everywhere.
const std::vector<double>& report_percentiles();

std::string render_summary(const run_result& r);
std::string render_json(const run_result& r);
std::string render_html(const run_result& r);

/// JSON string escaping (quotes included).
std::string json_quote(const std::string& s);
/// HTML text escaping.
std::string html_escape(const std::string& s);

}  // namespace sb::loadtest

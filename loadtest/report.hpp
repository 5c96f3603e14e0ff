#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadtest/histogram.hpp"
#include "loadtest/loss.hpp"

/// What a run measured, and its renderings: a human summary, JSON, self-contained HTML.
namespace sb::loadtest {

struct run_result {
  std::string scenario_path;
  std::string gateway_url;
  std::string mode;        ///< "open" or "closed"
  double target_rate = 0;  ///< open loop only
  int connections = 0;
  double warmup_s = 0;
  double measured_s = 0;                                   ///< measured window (after warm-up)
  std::uint64_t sent = 0;                                  ///< requests sent, warm-up included
  std::uint64_t measured = 0;                              ///< responses counted in the figures
  std::map<std::string, std::uint64_t> by_status;          ///< "200", "401", "error:timeout"...
  std::map<std::string, std::uint64_t> by_kind;            ///< valid, duplicate, bad_signature...
  std::map<std::string, std::uint64_t> unexpected_status;  ///< "<kind> <platform> -> <status>"
  std::vector<std::uint64_t> per_second;  ///< 200 responses per second of the whole run
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

  double throughput() const { return measured_s > 0 ? measured / measured_s : 0; }
};

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

#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "loadtest/scenario.hpp"

/// switchboard-loadtest's command line: `SCENARIO.yaml [options]`. Parsed apart from the scenario
/// so that a bad option is named before anything runs, and applied over the scenario's values.
namespace sb::loadtest {

struct options {
  std::string scenario_path;
  std::string out_prefix = "loadtest-report";
  bool no_stream = false;
  bool reference = false;
  int fanout = 0;
  int visitor_streams = 0;
  /// Overrides of the scenario's keys; unset = the scenario's value.
  std::optional<loop_mode> mode;
  std::optional<double> rate;
  std::optional<int> connections;
  std::optional<double> duration_s;
  std::optional<std::uint64_t> count;
  std::optional<double> warmup_s;
  std::optional<std::string> gateway_url;
  std::optional<std::string> config_path;
};

/// The options `parse_args` knows, with their value's name ("" for flags).
const std::vector<std::pair<std::string, std::string>>& known_options();

/// Parses argv[1..]. On error the message names every bad argument, one per line, and why
/// ("--rate: 'fast' is not a number"; "--rat: unknown option; did you mean '--rate'?").
result<options> parse_args(const std::vector<std::string>& args);

/// The scenario with the command line's overrides applied: `--rate` implies open loop,
/// `--count` replaces the duration.
void apply(const options& o, scenario& s);

/// The usage text (stderr on exit status 2).
std::string usage_text();

}  // namespace sb::loadtest

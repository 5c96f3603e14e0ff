#include "loadtest/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace sb::loadtest {

namespace {

std::optional<double> to_double(const std::string& v) {
  if (v.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (errno != 0 || end != v.c_str() + v.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

std::optional<long long> to_integer(const std::string& v) {
  if (v.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end != v.c_str() + v.size()) {
    return std::nullopt;
  }
  return n;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& known_options() {
  static const std::vector<std::pair<std::string, std::string>> opts{
      {"--mode", "open|closed"},  {"--rate", "R"},          {"--connections", "C"},
      {"--duration", "S"},        {"--count", "N"},         {"--warmup", "S"},
      {"--gateway", "URL"},       {"--config", "FILE"},     {"--out", "PREFIX"},
      {"--fanout", "N"},          {"--visitor-streams", "N"}, {"--no-stream", ""},
      {"--reference", ""}};
  return opts;
}

result<options> parse_args(const std::vector<std::string>& args) {
  options o;
  std::vector<std::string> problems;
  auto problem = [&](const std::string& arg, const std::string& why) {
    problems.push_back(arg + ": " + why);
  };
  std::vector<std::string> names;
  for (const auto& [name, value] : known_options()) {
    names.push_back(name);
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      if (o.scenario_path.empty() && i == 0) {
        o.scenario_path = a;
      } else {
        problem("'" + a + "'", "unexpected argument (the scenario file comes first, once)");
      }
      continue;
    }
    if (a == "--no-stream") {
      o.no_stream = true;
      continue;
    }
    if (a == "--reference") {
      o.no_stream = true;
      o.reference = true;
      continue;
    }
    if (std::find(names.begin(), names.end(), a) == names.end()) {
      problem(a, unknown_name_problem(a, names, "option"));
      if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        ++i;  // its value, most likely: not a second problem
      }
      continue;
    }
    if (i + 1 >= args.size()) {
      problem(a, "needs a value");
      continue;
    }
    const std::string& v = args[++i];
    const auto number = to_double(v);
    const auto integer = to_integer(v);
    const std::string quoted = "'" + v + "'";
    if (a == "--mode") {
      if (v == "open" || v == "closed") {
        o.mode = v == "open" ? loop_mode::open : loop_mode::closed;
      } else {
        problem(a, "must be open or closed, not " + quoted);
      }
    } else if (a == "--rate") {
      if (!number) {
        problem(a, quoted + " is not a number (requests per second)");
      } else if (*number <= 0) {
        problem(a, "must be > 0, not " + quoted);
      } else {
        o.rate = *number;
      }
    } else if (a == "--duration" || a == "--warmup") {
      if (!number) {
        problem(a, quoted + " is not a number (seconds)");
      } else if (*number < 0 || (a == "--duration" && *number == 0)) {
        problem(a, std::string("must be ") + (a == "--duration" ? "> 0" : ">= 0") + ", not " +
                       quoted);
      } else {
        (a == "--duration" ? o.duration_s : o.warmup_s) = *number;
      }
    } else if (a == "--connections" || a == "--count" || a == "--fanout" ||
               a == "--visitor-streams") {
      const bool zero_ok = a == "--fanout" || a == "--visitor-streams";
      if (!integer) {
        problem(a, quoted + " is not a whole number");
      } else if (*integer < (zero_ok ? 0 : 1) || *integer > 100000000) {
        problem(a, std::string("must be ") + (zero_ok ? ">= 0" : "> 0") + ", not " + quoted);
      } else if (a == "--connections") {
        o.connections = static_cast<int>(*integer);
      } else if (a == "--count") {
        o.count = static_cast<std::uint64_t>(*integer);
      } else if (a == "--fanout") {
        o.fanout = static_cast<int>(*integer);
      } else {
        o.visitor_streams = static_cast<int>(*integer);
      }
    } else if (a == "--gateway") {
      if (v.rfind("http://", 0) != 0) {
        problem(a, "must be an http:// URL (http://host:port), not " + quoted);
      } else {
        o.gateway_url = v;
      }
    } else if (a == "--config") {
      o.config_path = v;
    } else if (a == "--out") {
      o.out_prefix = v;
    }
  }
  if (o.scenario_path.empty()) {
    problems.insert(problems.begin(),
                    "SCENARIO.yaml: missing (the first argument, e.g. "
                    "loadtest/scenarios/standard.yaml)");
  }
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) {
      msg += (msg.empty() ? "" : "\n") + p;
    }
    return error{errc::bad_request, msg};
  }
  return o;
}

void apply(const options& o, scenario& s) {
  if (o.mode) {
    s.mode = *o.mode;
  }
  if (o.rate) {
    s.rate = *o.rate;
    s.mode = loop_mode::open;
  }
  if (o.connections) {
    s.connections = *o.connections;
  }
  if (o.duration_s) {
    s.duration_s = *o.duration_s;
    s.count = 0;
  }
  if (o.count) {
    s.count = *o.count;
    s.duration_s = 0;
  }
  if (o.warmup_s) {
    s.warmup_s = *o.warmup_s;
  }
  if (o.gateway_url) {
    s.gateway_url = *o.gateway_url;
  }
  if (o.config_path) {
    s.config_path = *o.config_path;
  }
  if (o.no_stream) {
    s.stream_tokens.clear();
  }
}

std::string usage_text() {
  return "usage: switchboard-loadtest SCENARIO.yaml [--mode open|closed] [--rate R]\n"
         "         [--connections C] [--duration S] [--count N] [--warmup S]\n"
         "         [--gateway http://host:port] [--config switchboard.yaml]\n"
         "         [--out PREFIX]   (writes PREFIX.json and PREFIX.html)\n"
         "         [--no-stream]    (no /v1/stream loss/e2e check, no /metrics scrape)\n"
         "         [--fanout N]     (N more streams of the first watched tenant, read on\n"
         "                          one thread; each must receive every event)\n"
         "         [--visitor-streams N] (N idle web chat visitor streams of the config's\n"
         "                          first visitor channel; none may receive an event)\n"
         "         [--reference]    (--no-stream, and 200 is the expected status of every\n"
         "                          request: for a non-validating reference server)\n"
         "Details: loadtest/README.md\n";
}

}  // namespace sb::loadtest

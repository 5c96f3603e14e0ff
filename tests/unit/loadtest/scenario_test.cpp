#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "loadtest/cli.hpp"
#include "loadtest/scenario.hpp"

using namespace sb::loadtest;

namespace {

/// The error message of a scenario that must not parse.
std::string problems_of(const std::string& yaml) {
  auto s = parse_scenario(yaml, "", "s.yaml");
  REQUIRE_FALSE(s.ok());
  return s.err().message;
}

std::string arg_problems(const std::vector<std::string>& args) {
  auto o = parse_args(args);
  REQUIRE_FALSE(o.ok());
  return o.err().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a scenario error names file line and key") {
  const auto msg = problems_of("config: a.yaml\nmix: {telegram: 1}\nrate: fast\n");
  CHECK(msg == "s.yaml:3: rate: expected a number, got 'fast'");
}

TEST_CASE("an unknown scenario key suggests the closest known key") {
  const auto msg = problems_of("config: a.yaml\nmix: {telegram: 1}\nduraton_s: 5\n");
  CHECK(contains(msg, "s.yaml:3: duraton_s: unknown key; did you mean 'duration_s'?"));
  // A truncated key is close too.
  CHECK(contains(problems_of("config: a.yaml\nmix: {telegram: 1}\nduration: 5\n"),
                 "did you mean 'duration_s'?"));
  // Nothing close: the known keys are listed.
  CHECK(contains(problems_of("config: a.yaml\nmix: {telegram: 1}\nxyzzyplugh: 5\n"),
                 "known: gateway, config"));
}

TEST_CASE("a scenario reports every problem at once") {
  const auto msg = problems_of(
      "config: a.yaml\n"
      "mix: {telegram: 1, whatsap: 2}\n"
      "mode: sideways\n"
      "connections: 0\n"
      "text_sizes: [{bytes: 10, wieght: 1}]\n"
      "invalid_ratio: 1.5\n");
  CHECK(contains(msg, "s.yaml:2: mix.whatsap: unknown platform; did you mean 'whatsapp'?"));
  CHECK(contains(msg, "s.yaml:3: mode: must be open or closed, not 'sideways'"));
  CHECK(contains(msg, "s.yaml:4: connections: must be > 0"));
  CHECK(contains(msg, "s.yaml:5: text_sizes[0].wieght: unknown key; did you mean 'weight'?"));
  CHECK(contains(msg, "s.yaml:6: invalid_ratio: must be in [0, 1)"));
  CHECK(std::count(msg.begin(), msg.end(), '\n') == 4);  // five lines, one per problem
}

TEST_CASE("a missing required scenario key and a YAML syntax error are reported") {
  CHECK(contains(problems_of("mix: {telegram: 1}\n"), "s.yaml: config: required"));
  CHECK(contains(problems_of("config: a.yaml\n"), "s.yaml: mix: required"));
  CHECK(contains(problems_of("config: a.yaml\nmix: {telegram: 1\n"), "s.yaml:"));
  CHECK(contains(problems_of("- just\n- a list\n"), "s.yaml:1: the file must be a mapping"));
}

TEST_CASE("the shipped scenarios parse") {
  for (const char* name : {"standard.yaml", "telegram.yaml"}) {
    auto s = load_scenario(std::string(SB_SOURCE_DIR) + "/loadtest/scenarios/" + name);
    INFO(name << ": " << (s.ok() ? "" : s.err().message));
    CHECK(s.ok());
  }
}

TEST_CASE("command-line arguments override the scenario") {
  auto o = parse_args({"s.yaml", "--rate", "250", "--duration", "3", "--out", "r", "--no-stream"});
  REQUIRE(o.ok());
  CHECK(o.value().scenario_path == "s.yaml");
  CHECK(o.value().out_prefix == "r");
  scenario s;
  s.mode = loop_mode::closed;
  s.stream_tokens["acme"] = "t";
  apply(o.value(), s);
  CHECK(s.mode == loop_mode::open);  // --rate implies open loop
  CHECK(s.rate == 250);
  CHECK(s.duration_s == 3);
  CHECK(s.stream_tokens.empty());
}

TEST_CASE("a bad command-line argument is named with the reason") {
  CHECK(arg_problems({"s.yaml", "--rate", "fast"}) ==
        "--rate: 'fast' is not a number (requests per second)");
  CHECK(arg_problems({"s.yaml", "--rat", "5"}) == "--rat: unknown option; did you mean '--rate'?");
  CHECK(arg_problems({"s.yaml", "--mode", "sideways"}) ==
        "--mode: must be open or closed, not 'sideways'");
  CHECK(arg_problems({"s.yaml", "--connections", "-2"}) == "--connections: must be > 0, not '-2'");
  CHECK(arg_problems({"s.yaml", "--gateway", "127.0.0.1:8080"}) ==
        "--gateway: must be an http:// URL (http://host:port), not '127.0.0.1:8080'");
  CHECK(arg_problems({"s.yaml", "--count"}) == "--count: needs a value");
  CHECK(contains(arg_problems({"--rate", "5"}), "SCENARIO.yaml: missing"));
  // Every problem at once.
  const auto all = arg_problems({"s.yaml", "--rate", "x", "--warmup", "-1", "extra"});
  CHECK(contains(all, "--rate: 'x' is not a number"));
  CHECK(contains(all, "--warmup: must be >= 0, not '-1'"));
  CHECK(contains(all, "'extra': unexpected argument"));
}

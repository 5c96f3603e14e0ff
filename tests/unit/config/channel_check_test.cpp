// A channel type's own rules on its settings' values (`channel_schema::check`): the loader reports
// each problem like any config error, so a bad outbound rate stops start-up and `--check-config`
// instead of silently meaning "no limit" (docs/outbound.md "Rate limits").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"

using strings = std::vector<std::string>;

namespace {

const std::string k_head =
    "storage:\n"
    "  master_key: \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n"
    "tenants:\n"
    "  - id: acme\n"
    "    channels:\n";

/// A type "widget" with settings `size` (default "1") and `max` (default "10"); its check wants
/// both to be digits and `size` <= `max`.
std::vector<sb::config::channel_schema> widget_schema() {
  sb::config::channel_schema s;
  s.type = "widget";
  s.settings = {{"size", false, false, "1", ""}, {"max", false, false, "10", ""}};
  s.check = [](const sb::config::channel_config& ch) {
    std::vector<sb::config::setting_problem> out;
    auto digits = [](const std::string& v) {
      return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    };
    for (const char* key : {"size", "max"}) {
      if (!digits(ch.get(key))) {
        out.push_back({key, "must be a whole number"});
      }
    }
    if (out.empty() && std::stoi(ch.get("size")) > std::stoi(ch.get("max"))) {
      out.push_back({"size", "must not exceed max (" + ch.get("max") + ")"});
    }
    return out;
  };
  return {s};
}

strings widget_problems(const std::string& channels) {
  return sb::config::load_string(k_head + channels, "w.yaml", widget_schema()).errors.problems;
}

strings real_problems(const std::string& channels) {
  return sb::config::load_string(k_head + channels, "test.yaml", sb::adapters::schemas())
      .errors.problems;
}

}  // namespace

TEST_CASE("a schema's check reports each bad value at its key's line", "[config][channels]") {
  CHECK(widget_problems("      - name: w\n        type: widget\n        size: \"3\"\n").empty());
  CHECK(widget_problems("      - name: w\n"
                        "        type: widget\n"
                        "        size: big\n"
                        "        max: \"-1\"\n") ==
        strings{"w.yaml:8: tenants[0].channels[0].size: must be a whole number",
                "w.yaml:9: tenants[0].channels[0].max: must be a whole number"});
  // A rule between keys: the check sees the defaults; a defaulted key is reported at the
  // channel's line.
  CHECK(widget_problems("      - name: w\n        type: widget\n        max: \"0\"\n") ==
        strings{"w.yaml:6: tenants[0].channels[0].size: must not exceed max (0)"});
  // Reported beside the other problems of the file, in line order.
  CHECK(widget_problems("      - name: w\n        type: widget\n        size: x\n        colour: red\n") ==
        strings{"w.yaml:8: tenants[0].channels[0].size: must be a whole number",
                "w.yaml:9: tenants[0].channels[0].colour: unknown key for channel type widget; known "
                "keys: name, type, size, max"});
}

TEST_CASE("bad outbound rate settings stop the config from loading", "[config][channels][outbound]") {
  const std::string tg = "      - name: tg\n        type: telegram\n        secret_token: s\n";
  const std::string fb =
      "      - name: fb\n        type: messenger\n        app_secret: a\n        verify_token: v\n"
      "        page_id: \"1\"\n";
  // Good values and the defaults load.
  CHECK(real_problems(tg).empty());
  CHECK(real_problems(tg + "        rate_per_second: 12.5\n        recipient_burst: 2\n").empty());
  CHECK(real_problems(fb + "        human_agent_tag: true\n").empty());

  CHECK(real_problems(tg + "        rate_per_second: fast\n") ==
        strings{"test.yaml:9: tenants[0].channels[0].rate_per_second: must be a non-negative "
                "number"});
  CHECK(real_problems(tg + "        group_per_minute: \"-20\"\n") ==
        strings{"test.yaml:9: tenants[0].channels[0].group_per_minute: must be a non-negative "
                "number"});
  // rate_burst 0 under the default rate_per_second (30) could never send.
  CHECK(real_problems(tg + "        rate_burst: 0\n") ==
        strings{"test.yaml:9: tenants[0].channels[0].rate_burst: must be at least 1 when "
                "rate_per_second is set (a bucket smaller than one message never sends)"});
  // ...but a burst of 0 with no rate is no limit at all.
  CHECK(real_problems(tg + "        rate_per_second: 0\n        rate_burst: 0\n").empty());
  CHECK(real_problems(fb + "        human_agent_tag: sometimes\n") ==
        strings{"test.yaml:11: tenants[0].channels[0].human_agent_tag: must be true or false"});
  // Every bad value of every channel, not only the first.
  CHECK(real_problems(tg + "        rate_per_second: x\n" + fb + "        recipient_per_minute: y\n")
            .size() == 2);
}

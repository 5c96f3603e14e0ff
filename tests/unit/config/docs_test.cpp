#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "support/fixtures.hpp"

namespace {

std::vector<std::string> doc_lines() {
  std::istringstream in(sb::test::read_file(std::string(SB_SOURCE_DIR) + "/docs/configuration.md"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

/// The table row whose first cell is `first`, or "".
std::string row(const std::vector<std::string>& lines, const std::string& first) {
  for (const auto& l : lines) {
    if (l.rfind("| " + first + " |", 0) == 0) {
      return l;
    }
  }
  return {};
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("docs/configuration.md documents every declared key as declared", "[config]") {
  const auto lines = doc_lines();
  for (const auto& key : sb::config::declared_keys()) {
    CAPTURE(key.path);
    const auto r = row(lines, "`" + key.path + "`");
    REQUIRE_FALSE(r.empty());
    if (!key.default_value.empty()) {
      CHECK(r.find("| `" + key.default_value + "` |") != std::string::npos);
    } else {
      CHECK(r.find(key.required ? "| required |" : "| none |") != std::string::npos);
    }
    CHECK(r.find("| `" + key.allowed + "` |") != std::string::npos);
    CHECK(r.find(key.description) != std::string::npos);
  }
}

TEST_CASE("docs/configuration.md lists no key the loader does not declare", "[config]") {
  std::set<std::string> declared;
  for (const auto& key : sb::config::declared_keys()) {
    declared.insert("`" + key.path + "`");
  }
  for (const auto& l : doc_lines()) {
    if (starts_with(l, "| `server.") || starts_with(l, "| `storage.") ||
        starts_with(l, "| `tenants[].") || starts_with(l, "| `limits.") ||
        starts_with(l, "| `privacy.") ||
        starts_with(l, "| `cluster.") || starts_with(l, "| `log.")) {
      const auto first = l.substr(2, l.find(" |", 2) - 2);
      CAPTURE(first);
      CHECK(declared.count(first) == 1);
    }
  }
}

TEST_CASE("docs/configuration.md documents every setting of every channel type", "[config]") {
  const auto lines = doc_lines();
  for (const auto& schema : sb::adapters::schemas()) {
    for (const auto& setting : schema.settings) {
      CAPTURE(schema.type, setting.key);
      CHECK_FALSE(row(lines, "`" + schema.type + "` | `" + setting.key + "`").empty());
    }
  }
}

#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "delivery/settings.hpp"

namespace {

const sb::config::key_info& declared(const std::string& path) {
  for (const auto& k : sb::config::declared_keys()) {
    if (k.path == path) {
      return k;
    }
  }
  FAIL("not declared: " << path);
  throw;
}

}  // namespace

// An unset push knob takes `delivery::settings`' value; the loader's table documents it. Both
// derive from `config::push_defaults`; this pins what the table says (which docs_test holds
// docs/configuration.md to) to what the gateway applies, so the two cannot drift.
TEST_CASE("the documented push defaults are the delivery defaults the gateway applies",
          "[config]") {
  const sb::delivery::settings defaults;
  const std::string prefix = "tenants[].subscribers[].push.";
  CHECK(declared(prefix + "timeout_ms").default_value == std::to_string(defaults.timeout.count()));
  CHECK(declared(prefix + "max_in_flight").default_value == std::to_string(defaults.max_in_flight));
  std::string schedule = "[";
  for (const auto& d : defaults.schedule.delays()) {
    schedule += (schedule.size() > 1 ? ", " : "") + std::to_string(d.count());
  }
  schedule += "]";
  CHECK(declared(prefix + "retry_schedule_ms").default_value == schedule);
}

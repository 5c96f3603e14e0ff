// The config loader, `config::load_string`, with every adapter's channel schema, as the binary
// loads `--config` files (YAML syntax, ${VAR} expansion, key tables, validators).
//
// Input: the YAML text. The environment has SB_FUZZ_VAR set, so ${SB_FUZZ_VAR} expands.
//
// Properties checked besides memory safety (and "never throws", which an escaping exception
// would break):
// - a config either loads without problems or reports at least one, never both or neither;
// - every problem names the file: "fuzz.yaml:<line>: ...".

#include <cstdlib>
#include <string>

#include "adapters/adapter.hpp"
#include "common.hpp"

using namespace sb;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("SB_FUZZ_VAR", "from-the-environment", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto schemas = adapters::schemas();
  auto r = config::load_string(std::string(fuzz::as_text(data, size)), "fuzz.yaml", schemas);
  if (r.ok()) {
    fuzz::require(r.errors.problems.empty(), "a loaded config with problems");
  } else {
    fuzz::require(!r.errors.problems.empty(), "a refused config without a problem");
    for (const auto& p : r.errors.problems) {
      if (p.rfind("fuzz.yaml:", 0) != 0) {
        fuzz::fail("a problem that does not name the file: " + p);
      }
    }
  }
  return 0;
}

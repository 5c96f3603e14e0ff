#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"

/// Helpers shared by the libFuzzer harnesses of fuzz/ (docs/security.md, "Fuzzing"). Each
/// harness is one `LLVMFuzzerTestOneInput`; besides crashes and sanitizer reports, a harness
/// fails (aborts, so libFuzzer keeps the input as a crash) when a documented property of the
/// code under test does not hold. Header-only; fuzz targets only.
namespace sb::fuzz {

/// Fails the run: prints `what` and aborts, which libFuzzer reports as a crash with its input.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "sb-fuzz property violated: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void require(bool holds, const char* what) {
  if (!holds) {
    fail(what);
  }
}

/// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Reads an input line by line: `line()` takes everything up to the next '\n' (or the rest),
/// `rest()` what is left. Lets one input carry a few fields and a raw body, in a form that seed
/// files can be written in by hand and that libFuzzer's mutations keep readable.
class fields {
 public:
  explicit fields(std::string_view text) : text_(text) {}

  std::string_view line() {
    auto nl = text_.find('\n');
    auto out = text_.substr(0, nl);
    text_ = nl == std::string_view::npos ? std::string_view{} : text_.substr(nl + 1);
    return out;
  }
  std::string_view rest() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  std::string_view text_;
};

/// `s` in a buffer with simdjson's padding behind it, as the gateway hands bodies on.
inline std::string padded(std::string_view s) {
  std::string out;
  out.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  out.assign(s);
  return out;
}

/// Whether `text` is one complete, valid JSON document (UTF-8 checked too).
inline bool valid_json(std::string_view text) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(padded(text)).get(doc) == simdjson::SUCCESS;
}

/// The example config (config/switchboard.example.yaml, compiled in), loaded with every
/// adapter's schema: the channels the harnesses build adapters from. Aborts if it does not load.
inline const config::config& example_config() {
  static const std::shared_ptr<const config::config> cfg = [] {
    auto r = config::load_string(config::embedded_default(), "<embedded>", adapters::schemas());
    if (!r.ok()) {
      fail("the example config does not load: " + r.errors.to_string());
    }
    return r.cfg;
  }();
  return *cfg;
}

/// A channel of `info.type`: the example config's first one, else the smallest the schema
/// accepts (required settings get a placeholder, the others their default), so that a platform
/// added to the registry is fuzzed before the example config has a channel for it.
inline config::channel_config channel_for(const adapters::adapter_info& info) {
  for (const auto& t : example_config().tenants) {
    for (const auto& c : t.channels) {
      if (c.type == info.type) {
        return c;
      }
    }
  }
  config::channel_config c;
  c.name = "fuzz-" + info.type;
  c.type = info.type;
  c.source = "fuzz:1";
  for (const auto& s : info.schema.settings) {
    c.settings[s.key] = s.required ? "fuzz-" + s.key + "-1234567890" : s.default_value;
  }
  return c;
}

}  // namespace sb::fuzz

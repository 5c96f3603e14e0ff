#pragma once

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when the test ends.

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace sb::test {

struct temp_dir {
  std::string path;

  /// `prefix` names the test ("sb-outbox" -> /tmp/sb-outbox-XXXXXX); throws (failing the test)
  /// when the directory cannot be made.
  explicit temp_dir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace sb::test

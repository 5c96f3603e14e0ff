#include "core/log.hpp"

#include <unistd.h>

#include <atomic>

#include "core/time.hpp"

namespace sb::log {

namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};

const char* name(level l) {
  switch (l) {
    case level::debug:
      return "DEBUG";
    case level::info:
      return "INFO";
    case level::warn:
      return "WARN";
    case level::error:
      return "ERROR";
  }
  return "INFO";
}
}  // namespace

void set_level(level l) {
  min_level.store(static_cast<int>(l), std::memory_order_relaxed);
}

bool enabled(level l) {
  return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed);
}

void write(level l, std::string_view component, std::string_view message) {
  std::string line = to_rfc3339(now());
  line.append(" ").append(name(l)).append(" ").append(component).append(": ");
  line.append(message).push_back('\n');
  // One write(2) per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace sb::log

#pragma once

#include <sstream>
#include <string>
#include <string_view>

/// Minimal structured logging to stderr: one line per record,
/// `<RFC 3339 time> <level> <component>: <message>`. Thread-safe (one write(2) per line).
/// Never pass secrets or message content: log ids, names and counts.
namespace sb::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(level l);
bool enabled(level l);
void write(level l, std::string_view component, std::string_view message);

template <class... Ts>
void emit(level l, std::string_view component, const Ts&... parts) {
  if (!enabled(l)) {
    return;
  }
  std::ostringstream os;
  (os << ... << parts);
  write(l, component, os.str());
}

template <class... Ts>
void debug(std::string_view c, const Ts&... p) {
  emit(level::debug, c, p...);
}
template <class... Ts>
void info(std::string_view c, const Ts&... p) {
  emit(level::info, c, p...);
}
template <class... Ts>
void warn(std::string_view c, const Ts&... p) {
  emit(level::warn, c, p...);
}
template <class... Ts>
void error(std::string_view c, const Ts&... p) {
  emit(level::error, c, p...);
}

}  // namespace sb::log

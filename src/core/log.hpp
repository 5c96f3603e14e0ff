#pragma once

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

/// Logging to stderr, one line per record, in one of two formats (`set_format`):
/// - text (the default): `<RFC 3339 time> <LEVEL> <component>: <message>[ key=value ...]`;
/// - json: one object per line, `{"ts":"<RFC 3339, ms, UTC>","level":"info","component":...,
///   "msg":...,<fields>}`; every string is escaped (control characters, quotes, invalid UTF-8
///   replaced by U+FFFD), so each line is valid JSON whatever the message holds.
/// Thread-safe: one write(2) per line keeps lines of different threads whole.
/// Never pass secrets or message content: log ids, names and counts.
namespace sb::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

/// The line format. Set once at start-up (main), before other threads log; reading it is one
/// relaxed atomic load per record.
enum class format { text = 0, json = 1 };

void set_level(level l);
bool enabled(level l);
void set_format(format f);
format current_format();

/// One key-value pair of a record (`record`). A view: the key and a text value must outlive
/// the call that takes the field. Numbers are written as JSON numbers, text as JSON strings.
struct field {
  enum class kind : std::uint8_t { text, integer, unsigned_integer };

  std::string_view key;
  kind type = kind::text;
  std::string_view text;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;

  field(std::string_view k, std::string_view v) : key(k), text(v) {}
  field(std::string_view k, const std::string& v) : key(k), text(v) {}
  field(std::string_view k, const char* v) : key(k), text(v) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  field(std::string_view k, T v) : key(k) {
    if constexpr (std::is_signed_v<T>) {
      type = kind::integer;
      integer = v;
    } else {
      type = kind::unsigned_integer;
      unsigned_integer = v;
    }
  }
};

using fields = std::initializer_list<field>;

/// Formats one line (with its '\n') as `write` and `record` emit it at `unix_ms`. Pure: the
/// unit tests call it. Text: fields follow the message as ` key=value`; a value that is empty
/// or holds a space, '"', '=', a control character or a byte >= 0x80 is written as a JSON
/// string literal. JSON: fields follow "msg" in the order given; a field named like one of the
/// four fixed keys is written as given (callers avoid those names).
std::string format_line(format f, std::int64_t unix_ms, level l, std::string_view component,
                        std::string_view message, fields extra = {});

/// Writes one line at `l` (when enabled) in the current format.
void write(level l, std::string_view component, std::string_view message);

/// Writes one line with structured fields (request logs, outbound failures): in JSON each field
/// is its own key. Does nothing when `l` is not enabled.
void record(level l, std::string_view component, std::string_view message, fields extra);

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

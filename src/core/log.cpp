#include "core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <charconv>

#include "core/json.hpp"
#include "core/time.hpp"

namespace sb::log {

namespace {
std::atomic<int> min_level{static_cast<int>(level::info)};
std::atomic<int> line_format{static_cast<int>(format::text)};

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

/// The JSON `level` values: lower case, as log shippers expect.
const char* json_name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// Whether a text-format value must be quoted to stay one unambiguous token.
bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=') {
      return true;
    }
  }
  return false;
}

void append_text_field(std::string& out, const field& f) {
  out.push_back(' ');
  out.append(f.key).push_back('=');
  switch (f.type) {
    case field::kind::integer:
      append_number(out, f.integer);
      return;
    case field::kind::unsigned_integer:
      append_number(out, f.unsigned_integer);
      return;
    case field::kind::text:
      if (needs_quotes(f.text)) {
        json::append_string(out, f.text);
      } else {
        out.append(f.text);
      }
      return;
  }
}

void append_json_field(std::string& out, const field& f) {
  out.push_back(',');
  json::append_string(out, f.key);
  out.push_back(':');
  switch (f.type) {
    case field::kind::integer:
      append_number(out, f.integer);
      return;
    case field::kind::unsigned_integer:
      append_number(out, f.unsigned_integer);
      return;
    case field::kind::text:
      json::append_string(out, f.text);
      return;
  }
}

void emit_line(const std::string& line) {
  // One write(2) per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}
}  // namespace

void set_level(level l) {
  min_level.store(static_cast<int>(l), std::memory_order_relaxed);
}

bool enabled(level l) {
  return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed);
}

void set_format(format f) {
  line_format.store(static_cast<int>(f), std::memory_order_relaxed);
}

format current_format() {
  return static_cast<format>(line_format.load(std::memory_order_relaxed));
}

std::string format_line(format f, std::int64_t unix_ms, level l, std::string_view component,
                        std::string_view message, fields extra) {
  std::string line;
  line.reserve(64 + component.size() + message.size() + extra.size() * 24);
  const std::string ts = to_rfc3339(timestamp::from_millis(unix_ms));
  if (f == format::json) {
    line.append("{\"ts\":\"").append(ts).append("\",\"level\":\"").append(json_name(l));
    line.append("\",\"component\":");
    json::append_string(line, component);
    line.append(",\"msg\":");
    json::append_string(line, message);
    for (const auto& x : extra) {
      append_json_field(line, x);
    }
    line.append("}\n");
    return line;
  }
  line.append(ts).append(" ").append(name(l)).append(" ").append(component).append(": ");
  line.append(message);
  for (const auto& x : extra) {
    append_text_field(line, x);
  }
  line.push_back('\n');
  return line;
}

void write(level l, std::string_view component, std::string_view message) {
  emit_line(format_line(current_format(), now().unix_ms, l, component, message));
}

void record(level l, std::string_view component, std::string_view message, fields extra) {
  if (!enabled(l)) {
    return;
  }
  emit_line(format_line(current_format(), now().unix_ms, l, component, message, extra));
}

}  // namespace sb::log

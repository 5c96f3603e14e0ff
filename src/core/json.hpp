#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sb::json {

/// Appends `s` as a JSON string literal (with quotes) to `out`. Valid UTF-8 passes through;
/// control characters, quotes and backslashes are escaped; invalid UTF-8 bytes become U+FFFD
/// so that whatever a platform sends, what we emit is valid JSON.
void append_string(std::string& out, std::string_view s);

/// A minimal streaming writer for objects and arrays. Not a validator: callers nest correctly.
/// Commas are handled by the writer.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  writer& begin_object();
  writer& end_object();
  writer& begin_array();
  writer& end_array();
  writer& key(std::string_view k);
  writer& value(std::string_view s);
  writer& value(const char* s) { return value(std::string_view{s}); }
  writer& value(std::int64_t v);
  writer& value(std::uint64_t v);
  writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
  writer& value(double v);
  writer& value(bool v);
  writer& null();
  /// Inserts already-serialized JSON verbatim (e.g. a stored event).
  writer& raw(std::string_view json);

  /// key + string value, skipped when the value is empty.
  writer& field(std::string_view k, std::string_view v) {
    if (!v.empty()) {
      key(k).value(v);
    }
    return *this;
  }

 private:
  void comma();
  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace sb::json

#include "core/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace sb::json {

namespace {
// Length of a valid UTF-8 sequence starting at s[i], or 0 when invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  // Reject overlong encodings, surrogates and out-of-range code points.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}
}  // namespace

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      // Fast path: copy the run of plain ASCII at once.
      std::size_t j = i + 1;
      while (j < s.size()) {
        unsigned char d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') {
          break;
        }
        ++j;
      }
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        ++i;
        continue;
      case '\\':
        out.append("\\\\");
        ++i;
        continue;
      case '\n':
        out.append("\\n");
        ++i;
        continue;
      case '\r':
        out.append("\\r");
        ++i;
        continue;
      case '\t':
        out.append("\\t");
        ++i;
        continue;
      case '\b':
        out.append("\\b");
        ++i;
        continue;
      case '\f':
        out.append("\\f");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
      ++i;
      continue;
    }
    std::size_t n = utf8_length(s, i);
    if (n == 0) {
      out.append("\xef\xbf\xbd");  // U+FFFD
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  out.push_back('"');
}

void writer::comma() {
  if (need_comma_) {
    out_.push_back(',');
  }
}

writer& writer::begin_object() {
  comma();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}
writer& writer::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}
writer& writer::begin_array() {
  comma();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}
writer& writer::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}
writer& writer::key(std::string_view k) {
  comma();
  append_string(out_, k);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}
writer& writer::value(std::string_view s) {
  comma();
  append_string(out_, s);
  need_comma_ = true;
  return *this;
}
writer& writer::value(std::int64_t v) {
  comma();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}
writer& writer::value(std::uint64_t v) {
  comma();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}
writer& writer::value(double v) {
  comma();
  if (!std::isfinite(v)) {
    out_.append("null");
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", v);
    out_.append(buf, static_cast<std::size_t>(n));
  }
  need_comma_ = true;
  return *this;
}
writer& writer::value(bool v) {
  comma();
  out_.append(v ? "true" : "false");
  need_comma_ = true;
  return *this;
}
writer& writer::null() {
  comma();
  out_.append("null");
  need_comma_ = true;
  return *this;
}
writer& writer::raw(std::string_view json) {
  comma();
  out_.append(json);
  need_comma_ = true;
  return *this;
}

}  // namespace sb::json

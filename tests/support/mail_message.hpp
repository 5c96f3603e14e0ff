#pragma once

// Reads an RFC 5322 message as a mail client would, for the e-mail tests: its headers (folded
// lines joined), its RFC 2047 words and its quoted-printable body decoded.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::test {

struct mail_message {
  std::vector<std::pair<std::string, std::string>> headers;  ///< as written, unfolded
  std::string body;                                          ///< after the blank line, raw
  bool crlf_only = true;  ///< every line break of the whole message is CRLF
  std::size_t longest_line = 0;

  /// The first header named `name` (case-insensitive), unfolded; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
        return v;
      }
    }
    return std::nullopt;
  }
  /// How many headers are named `name` (case-insensitive).
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& [k, v] : headers) {
      n += k.size() == name.size() &&
                   std::equal(k.begin(), k.end(), name.begin(),
                              [](char a, char b) { return (a | 0x20) == (b | 0x20); })
               ? 1
               : 0;
    }
    return n;
  }
};

inline mail_message parse_mail(std::string_view raw) {
  mail_message m;
  for (std::size_t i = 0, start = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      if (i == 0 || raw[i - 1] != '\r') {
        m.crlf_only = false;
      }
      m.longest_line =
          std::max(m.longest_line, i - start - (i > start && raw[i - 1] == '\r' ? 1 : 0));
      start = i + 1;
    } else if (raw[i] == '\r' && (i + 1 == raw.size() || raw[i + 1] != '\n')) {
      m.crlf_only = false;
    }
  }
  auto end = raw.find("\r\n\r\n");
  std::string_view head = raw.substr(0, end);
  m.body = end == std::string_view::npos ? std::string() : std::string(raw.substr(end + 4));
  std::size_t at = 0;
  while (at < head.size()) {
    auto eol = head.find("\r\n", at);
    std::string_view line = head.substr(at, eol == std::string_view::npos ? eol : eol - at);
    at = eol == std::string_view::npos ? head.size() : eol + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !m.headers.empty()) {
      m.headers.back().second += std::string(line);  // unfolding: drop the CRLF only
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return m;
}

/// A header value with its =?UTF-8?B?...?= words decoded (whitespace between two words
/// dropped, RFC 2047 §6.2); other text as it is.
inline std::string decode_words(std::string_view v) {
  std::string out;
  bool last_was_word = false;
  std::string pending_space;
  while (!v.empty()) {
    if (v.substr(0, 10) == "=?UTF-8?B?") {
      auto close = v.find("?=", 10);
      auto text = crypto::base64_decode(v.substr(10, close - 10));
      if (!last_was_word) {
        out += pending_space;
      }
      pending_space.clear();
      out += text.value_or("<bad base64>");
      v.remove_prefix(close == std::string_view::npos ? v.size() : close + 2);
      last_was_word = true;
      continue;
    }
    if (v.front() == ' ' || v.front() == '\t') {
      pending_space += v.front();
      v.remove_prefix(1);
      continue;
    }
    out += pending_space;
    pending_space.clear();
    out += v.front();
    v.remove_prefix(1);
    last_was_word = false;
  }
  return out + (last_was_word ? "" : pending_space);
}

/// A quoted-printable body decoded (soft line breaks removed, =XX bytes restored).
inline std::string decode_quoted_printable(std::string_view v) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '=') {
      out += v[i];
    } else if (v.substr(i + 1, 2) == "\r\n") {
      i += 2;
    } else if (i + 2 < v.size() && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
      out += static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2]));
      i += 2;
    } else {
      out += "<bad =>";
    }
  }
  return out;
}

}  // namespace sb::test

#include "core/url.hpp"

#include "core/crypto.hpp"

namespace sb::url {

namespace {

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) {
        return std::nullopt;
      }
      int hi = crypto::hex_digit(s[i + 1]);
      int lo = crypto::hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> decode(std::string_view s) {
  return percent_decode(s, true);
}

std::optional<std::string> decode_segment(std::string_view s) {
  return percent_decode(s, false);
}

std::optional<std::string_view> raw_query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  auto raw = raw_query_param(query, name);
  if (!raw) {
    return std::nullopt;
  }
  return decode(*raw);
}

}  // namespace sb::url

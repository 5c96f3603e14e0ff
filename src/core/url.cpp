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

result<std::optional<std::string>> decoded_query_param(std::string_view query,
                                                       std::string_view name) {
  auto raw = raw_query_param(query, name);
  if (!raw) {
    return std::optional<std::string>{};
  }
  auto decoded = decode(*raw);
  if (!decoded) {
    return error{errc::bad_request, "parameter '" + std::string(name) + "' is malformed"};
  }
  return std::optional<std::string>{std::move(*decoded)};
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  return v;
}

status parse_after_param(std::string_view query, std::uint64_t& out) {
  auto after = decoded_query_param(query, "after");
  if (!after) {
    return after.err();
  }
  if (after->has_value()) {
    auto v = parse_u64(**after);
    if (!v) {
      return error{errc::bad_request, "parameter 'after' must be a non-negative integer"};
    }
    out = *v;
  }
  return {};
}

status parse_limit_param(std::string_view query, std::size_t max_limit, std::size_t& out) {
  auto limit = decoded_query_param(query, "limit");
  if (!limit) {
    return limit.err();
  }
  if (limit->has_value()) {
    auto v = parse_u64(**limit);
    if (!v || *v == 0) {
      return error{errc::bad_request,
                   "parameter 'limit' must be an integer from 1 to " + std::to_string(max_limit)};
    }
    out = *v > max_limit ? max_limit : static_cast<std::size_t>(*v);
  }
  return {};
}

}  // namespace sb::url

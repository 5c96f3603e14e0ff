#include "core/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sb::ip {

namespace {

constexpr std::array<std::uint8_t, 12> k_v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const address& a) {
  return std::memcmp(a.data(), k_v4_mapped_prefix.data(), k_v4_mapped_prefix.size()) == 0;
}

}  // namespace

std::optional<address> parse_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) {  // INET6_ADDRSTRLEN - 1
    return std::nullopt;
  }
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  address out{};
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) != 1) {
      return std::nullopt;
    }
    std::memcpy(out.data(), k_v4_mapped_prefix.data(), k_v4_mapped_prefix.size());
    std::memcpy(out.data() + 12, &v4.s_addr, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) != 1) {
    return std::nullopt;
  }
  std::memcpy(out.data(), v6.s6_addr, 16);
  return out;
}

std::string to_string(const address& a) {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4_mapped(a)) {
    in_addr v4{};
    std::memcpy(&v4.s_addr, a.data() + 12, 4);
    inet_ntop(AF_INET, &v4, buf, sizeof buf);
  } else {
    in6_addr v6{};
    std::memcpy(v6.s6_addr, a.data(), 16);
    inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  }
  return buf;
}

bool network::contains(const address& a) const noexcept {
  int bits = prefix;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (base[i] & mask)) {
      return false;
    }
  }
  return true;
}

std::optional<network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  auto base = parse_address(text.substr(0, slash));
  if (!base) {
    return std::nullopt;
  }
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  network n;
  n.base = *base;
  n.prefix = 128;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    int bits = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || bits < 0 ||
        bits > (v4 ? 32 : 128)) {
      return std::nullopt;
    }
    n.prefix = v4 ? bits + 96 : bits;
  }
  // Host bits must be zero.
  for (int bit = n.prefix; bit < 128; ++bit) {
    if ((n.base[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return std::nullopt;
    }
  }
  return n;
}

bool contains_any(const std::vector<network>& nets, const address& a) noexcept {
  for (const auto& n : nets) {
    if (n.contains(a)) {
      return true;
    }
  }
  return false;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") {
    return true;
  }
  auto a = parse_address(host);
  if (!a) {
    return false;
  }
  static const network v4_loopback = *parse_network("127.0.0.0/8");
  static const network v6_loopback = *parse_network("::1");
  return v4_loopback.contains(*a) || v6_loopback.contains(*a);
}

std::string_view host_of(std::string_view listen) {
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    return close == std::string_view::npos ? listen : listen.substr(1, close - 1);
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || listen.find(':') != colon) {
    return listen;  // no port, or a bare IPv6 literal
  }
  return listen.substr(0, colon);
}

}  // namespace sb::ip

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// IP addresses and networks as plain values, for the edge's decisions that depend on where a
/// request comes from: which peers are trusted proxies (`server.trusted_proxies`), whose failed
/// verifications count together, and whether a listen address is loopback. Pure; any thread.
namespace sb::ip {

/// An IPv4 or IPv6 address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), so the
/// two families compare and match uniformly and "::ffff:10.0.0.1" equals "10.0.0.1".
using address = std::array<std::uint8_t, 16>;

/// Parses "192.0.2.1", "2001:db8::1", "[2001:db8::1]" or "::ffff:192.0.2.1". nullopt otherwise
/// (no host names, no ports, no zone ids).
std::optional<address> parse_address(std::string_view text);

/// The canonical text of `a`: dotted quad for IPv4 (mapped) addresses, RFC 5952 otherwise.
std::string to_string(const address& a);

/// A network: an address and a prefix length in bits of the 16-byte form (IPv4 prefixes are
/// stored + 96).
struct network {
  address base{};
  int prefix = 128;

  /// Whether `a` is inside the network.
  bool contains(const address& a) const noexcept;
};

/// Parses "10.0.0.0/8", "192.0.2.7" (a /32), "fd00::/8", "::1" (a /128). The bits past the
/// prefix must be zero ("10.0.0.1/8" is refused: it is almost always a typo). nullopt otherwise.
std::optional<network> parse_network(std::string_view text);

/// Whether any of `nets` contains `a`.
bool contains_any(const std::vector<network>& nets, const address& a) noexcept;

/// Whether `host` (the host part of a listen address: an IP literal, bracketed or not, or a
/// name) is loopback: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or the name "localhost".
/// Anything else, the wildcard 0.0.0.0 / :: included, is not.
bool is_loopback_host(std::string_view host);

/// The host part of "host:port" or "[v6]:port" (brackets removed); the whole text when it has
/// no port.
std::string_view host_of(std::string_view listen);

}  // namespace sb::ip

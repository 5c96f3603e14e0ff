#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/ip.hpp"
#include "core/token_bucket.hpp"

/// Failed verifications at the HTTP edge (issue 10, docs/security.md): where a request comes from,
/// and the budgets of failures per source address and per channel. Plain code, no Beast; any
/// thread.
///
/// Only requests whose signature (or verify token, or `signed_request`) does not hold are counted
/// here. Verified requests never touch these budgets, and unverified ones never touch a tenant's
/// `rate_limit`, so a flood of forged requests cannot lock a tenant out of its own platforms.
namespace sb::http {

using time_point = token_bucket::time_point;

/// The networks of `server.trusted_proxies` (validated by the loader; an entry that does not
/// parse is skipped).
std::vector<ip::network> parse_trusted_proxies(const std::vector<std::string>& list);

/// The address a request comes from. `peer` is the TCP peer. When `peer` is in `trusted` (a load
/// balancer or reverse proxy of the operator), the source is the rightmost address of the
/// `X-Forwarded-For` list (`forwarded_for`: the values of every such field, in order) that is
/// not itself in `trusted`: each proxy appends the address it received the request from, so
/// everything left of that entry was written by the client and proves nothing. When the peer is
/// not trusted, `forwarded_for` is ignored, whatever it says. When every entry is trusted, or an
/// entry that must be read does not parse, the source is the peer. Entries may carry a port
/// ("192.0.2.1:4711", "[2001:db8::1]:4711"); it is dropped.
ip::address request_source(const ip::address& peer, const std::vector<ip::network>& trusted,
                           const std::vector<std::string_view>& forwarded_for);

/// A token bucket behind its own mutex, held for a few arithmetic operations only.
class shared_bucket {
 public:
  explicit shared_bucket(token_bucket b) : bucket_(b) {}

  /// Takes a token at `now`: 0 when taken, else the seconds until one is there (rounded up, at
  /// least 1), the Retry-After of a 429.
  int take(time_point now);

 private:
  std::mutex m_;
  token_bucket bucket_;
};

/// Seconds until `at` (rounded up, at least 1); 0 when `at` <= `now`.
int retry_after_seconds(time_point at, time_point now);

/// The budget of failed verifications per source address (`limits.auth_failures_per_source`).
///
/// A source is an IPv4 address, or the /64 network of an IPv6 address (one host commonly holds a
/// whole /64, so counting its addresses apart would give one attacker 2^64 budgets).
///
/// Memory is bounded: only sources with a failure get an entry, at most `max_sources` of them
/// (default 16,384, about 2.5 MB). Past that the source whose last failure is the oldest is
/// forgotten (least recently failed first): an attacker with more addresses than that can reset
/// the budget of its own oldest addresses, but never more than the channel budget allows in
/// total, and never anyone's verified requests. An entry whose bucket has refilled is dropped
/// when it is next looked up.
///
/// Thread-safe: one mutex, held for a hash lookup and a few arithmetic operations.
class source_failures {
 public:
  static constexpr std::size_t default_max_sources = 16384;

  /// `limit.rps` <= 0 disables the per-source budget (`blocked` is always 0).
  explicit source_failures(const config::rate_limit_config& limit,
                           std::size_t max_sources = default_max_sources);

  /// Whether `source` may still fail at `now`: 0 when it may, else the seconds until it may
  /// again. Takes nothing and adds no entry: called before verifying, so a blocked source is
  /// answered 429 without any HMAC being computed.
  int blocked(const ip::address& source, time_point now);

  /// Counts one failed verification of `source`. Returns 0 when it was within the budget, else
  /// the seconds until the source may fail again.
  int record(const ip::address& source, time_point now);

  bool enabled() const noexcept { return enabled_; }
  /// Sources with an entry (tests, metrics).
  std::size_t size() const;

 private:
  /// An IPv4 address (mapped) or an IPv6 /64, as the table's key.
  struct key {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    bool operator==(const key& o) const noexcept { return hi == o.hi && lo == o.lo; }
  };
  struct key_hash {
    std::uint64_t seed;
    std::size_t operator()(const key& k) const noexcept;
  };
  struct entry {
    key k;
    token_bucket bucket;
  };
  static key key_of(const ip::address& a) noexcept;

  const bool enabled_;
  const token_bucket prototype_;
  const std::size_t max_sources_;
  mutable std::mutex m_;
  std::list<entry> lru_;  ///< least recently failed first
  std::unordered_map<key, std::list<entry>::iterator, key_hash> index_;
};

}  // namespace sb::http

#include "http/auth_failures.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstring>

namespace sb::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

/// One X-Forwarded-For entry: an address, possibly with a port ("a.b.c.d:p", "[v6]:p").
std::optional<ip::address> parse_forwarded(std::string_view entry) {
  entry = trim(entry);
  if (!entry.empty() && entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    return ip::parse_address(entry.substr(1, close - 1));
  }
  // One colon: IPv4 with a port. More: a bare IPv6 address.
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    entry = entry.substr(0, colon);
  }
  return ip::parse_address(entry);
}

std::uint64_t load_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return seed;
}

}  // namespace

std::vector<ip::network> parse_trusted_proxies(const std::vector<std::string>& list) {
  std::vector<ip::network> out;
  out.reserve(list.size());
  for (const auto& text : list) {
    if (auto n = ip::parse_network(text)) {
      out.push_back(*n);
    }
  }
  return out;
}

ip::address request_source(const ip::address& peer, const std::vector<ip::network>& trusted,
                           const std::vector<std::string_view>& forwarded_for) {
  if (trusted.empty() || forwarded_for.empty() || !ip::contains_any(trusted, peer)) {
    return peer;
  }
  // Right to left over every field's comma-separated entries.
  for (auto field = forwarded_for.rbegin(); field != forwarded_for.rend(); ++field) {
    std::string_view list = *field;
    while (!list.empty()) {
      const auto comma = list.rfind(',');
      const std::string_view entry =
          comma == std::string_view::npos ? list : list.substr(comma + 1);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(0, comma);
      if (trim(entry).empty()) {
        continue;
      }
      const auto address = parse_forwarded(entry);
      if (!address) {
        return peer;
      }
      if (!ip::contains_any(trusted, *address)) {
        return *address;
      }
    }
  }
  return peer;
}

int retry_after_seconds(time_point at, time_point now) {
  if (at <= now) {
    return 0;
  }
  const auto secs = std::chrono::ceil<std::chrono::seconds>(at - now).count();
  return secs < 1 ? 1 : static_cast<int>(secs);
}

int shared_bucket::take(time_point now) {
  std::lock_guard<std::mutex> lock(m_);
  if (bucket_.take(now)) {
    return 0;
  }
  const int s = retry_after_seconds(bucket_.available_at(now), now);
  return s < 1 ? 1 : s;
}

source_failures::source_failures(const config::rate_limit_config& limit, std::size_t max_sources)
    : enabled_(limit.rps > 0),
      prototype_(token_bucket::per_second(limit.rps > 0 ? limit.rps : 1, limit.burst)),
      max_sources_(max_sources < 1 ? 1 : max_sources),
      index_(0, key_hash{random_seed()}) {
  if (enabled_) {
    index_.reserve(max_sources_);
  }
}

source_failures::key source_failures::key_of(const ip::address& a) noexcept {
  static constexpr std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  key k;
  k.hi = load_u64(a.data());
  // IPv4: the whole address. IPv6: its /64 (lo stays 0, the interface id is dropped).
  if (std::memcmp(a.data(), v4_mapped, sizeof v4_mapped) == 0) {
    k.lo = load_u64(a.data() + 8);
  }
  return k;
}

std::size_t source_failures::key_hash::operator()(const key& k) const noexcept {
  // Keyed per process: an attacker choosing addresses cannot aim at one hash bucket.
  return static_cast<std::size_t>(mix(k.hi ^ seed) ^ mix(k.lo + seed + 0x9e3779b97f4a7c15ULL));
}

int source_failures::blocked(const ip::address& source, time_point now) {
  if (!enabled_) {
    return 0;
  }
  const key k = key_of(source);
  std::lock_guard<std::mutex> lock(m_);
  auto it = index_.find(k);
  if (it == index_.end()) {
    return 0;
  }
  const token_bucket& b = it->second->bucket;
  if (b.idle(now)) {  // refilled: as good as absent
    lru_.erase(it->second);
    index_.erase(it);
    return 0;
  }
  return retry_after_seconds(b.available_at(now), now);
}

int source_failures::record(const ip::address& source, time_point now) {
  if (!enabled_) {
    return 0;
  }
  const key k = key_of(source);
  std::lock_guard<std::mutex> lock(m_);
  auto it = index_.find(k);
  std::list<entry>::iterator e;
  if (it != index_.end()) {
    e = it->second;
    lru_.splice(lru_.end(), lru_, e);  // now the most recently failed
  } else {
    if (index_.size() >= max_sources_) {
      index_.erase(lru_.front().k);
      lru_.pop_front();
    }
    lru_.push_back(entry{k, prototype_});
    e = std::prev(lru_.end());
    index_.emplace(k, e);
  }
  if (e->bucket.take(now)) {
    return 0;
  }
  const int s = retry_after_seconds(e->bucket.available_at(now), now);
  return s < 1 ? 1 : s;
}

std::size_t source_failures::size() const {
  std::lock_guard<std::mutex> lock(m_);
  return index_.size();
}

}  // namespace sb::http

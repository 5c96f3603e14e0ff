#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/crypto.hpp"

/// The edge's memory of one-time tokens (`adapters::adapter::replay_token`: Mailgun signs
/// `timestamp + token`, not the body, so a captured signature would carry any body while its
/// timestamp is fresh). A token is remembered with the digest of the body it came with until
/// it expires; the same token with another body is a replay, the same body again is the
/// platform's retry.
///
/// Bounded: at most `capacity` tokens. When full, the token closest to expiry is forgotten first
/// (counted in `evicted`), so a flood of validly signed requests degrades to the timestamp window
/// alone instead of growing memory. Per process and in memory: a restart, or another replica,
/// does not know the tokens this one accepted (docs/security.md says so).
///
/// Thread-safe: one mutex, held for a hash lookup and the pruning of expired entries.
namespace sb::http {

class replay_guard {
 public:
  using digest = crypto::digest;  ///< SHA-256 of a body

  explicit replay_guard(std::size_t capacity = 200000) : capacity_(capacity) {}

  /// Whether the request may pass: true for a token not seen (now remembered until
  /// `expires_ms`) or seen with the same `body` digest; false for a token seen with another.
  /// `scope` separates channels (tokens of two channels never collide). Times are Unix ms.
  bool admit(std::string_view scope, std::string_view token, const digest& body,
             std::int64_t expires_ms, std::int64_t now_ms);

  std::size_t size() const;
  std::uint64_t evicted() const;

 private:
  struct entry {
    std::int64_t expires_ms = 0;
    digest body{};
  };
  void prune(std::int64_t now_ms);

  std::size_t capacity_;
  mutable std::mutex m_;
  std::unordered_map<std::string, entry> tokens_;
  std::multimap<std::int64_t, std::string> by_expiry_;
  std::uint64_t evicted_ = 0;
};

}  // namespace sb::http

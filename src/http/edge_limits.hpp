#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "http/auth.hpp"

/// Bounds of the HTTP edge that are plain arithmetic (issue 10, docs/security.md): how many
/// connections the open-files limit allows, and the open SSE streams of each token. No Beast;
/// any thread.
namespace sb::http {

/// File descriptors kept for everything but admitted client connections: the process itself,
/// the store's files, listeners, the event loop and timers (64); the outbound HTTP client's
/// connections (256, its default `max_active`); connections refused past `max_connections`,
/// which hold a descriptor while their 503 is written (64, `max_shedding`); and idle connections
/// being closed to admit new ones (32, `max_evicting`).
constexpr std::uint64_t reserved_descriptors = 64 + 256 + 64 + 32;
/// At most this many connections refused past `max_connections` are answered (503) at once;
/// beyond it a refused connection is closed without an answer.
constexpr std::uint32_t max_shedding = 64;
/// At most this many idle connections are being closed at once to admit new ones.
constexpr std::uint32_t max_evicting = 32;

struct connection_budget {
  std::uint32_t max_connections = 0;  ///< what the server admits
  std::uint64_t reserved = 0;         ///< descriptors kept for everything else
  bool clamped = false;               ///< `max_connections` is below the configured value
};

/// `server.max_connections` clamped so that admitted connections plus `reserved_descriptors`
/// fit in `open_files` (the soft RLIMIT_NOFILE, after it was raised to the hard limit). When the
/// limit is too small for the whole reserve, half of it is kept for the rest. At least 1.
inline connection_budget clamp_connections(std::uint32_t configured, std::uint64_t open_files) {
  connection_budget b;
  b.reserved = open_files >= 2 * reserved_descriptors ? reserved_descriptors : open_files / 2;
  const std::uint64_t room = open_files > b.reserved ? open_files - b.reserved : 1;
  b.max_connections = configured;
  if (room < configured) {
    b.max_connections = static_cast<std::uint32_t>(room < 1 ? 1 : room);
    b.clamped = true;
  }
  return b;
}

/// Open `GET /v1/stream` connections per token (`limits.sse_streams_per_token`). Keyed by the
/// principal's tenant and subscriber name, not its address: a config reload builds a new token
/// index (src/http/dispatch.hpp), and the streams opened before it still count against the same
/// subscriber. Thread-safe; a mutex held for one hash lookup.
class stream_slots {
 public:
  explicit stream_slots(std::uint32_t per_token) : per_token_(per_token) {}

  /// Takes a slot of `who`; false when `per_token` are open already.
  bool try_open(const principal* who) {
    std::lock_guard<std::mutex> lock(m_);
    const auto k = key_of(who);
    auto& n = open_[k];
    if (n >= per_token_) {
      if (n == 0) {
        open_.erase(k);
      }
      return false;
    }
    ++n;
    return true;
  }

  /// Gives a slot of `who` back (once per successful `try_open`).
  void close(const principal* who) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = open_.find(key_of(who));
    if (it != open_.end() && --it->second == 0) {
      open_.erase(it);
    }
  }

  /// Slots of `who` in use.
  std::uint32_t open(const principal* who) const {
    std::lock_guard<std::mutex> lock(m_);
    auto it = open_.find(key_of(who));
    return it == open_.end() ? 0 : it->second;
  }

 private:
  static std::string key_of(const principal* who) {
    return who->tenant + '\n' + who->subscriber;  // no tenant id holds a line break
  }

  const std::uint32_t per_token_;
  mutable std::mutex m_;
  std::unordered_map<std::string, std::uint32_t> open_;
};

/// Open web chat visitor streams per visitor ("<tenant>/<channel>/<visitor>"): a visitor's tabs
/// each hold one, and one token cannot hold thousands of connections that, being streams, are
/// never idle and so never make room for a platform's webhook under `server.max_connections`.
/// Thread-safe; a mutex held for one hash lookup.
class visitor_slots {
 public:
  static constexpr std::uint32_t per_visitor = 8;

  /// Takes a slot of `key`; false when `per_visitor` are open already.
  bool try_open(const std::string& key) {
    std::lock_guard<std::mutex> lock(m_);
    auto& n = open_[key];
    if (n >= per_visitor) {
      return false;
    }
    ++n;
    return true;
  }

  /// Gives a slot of `key` back (once per successful `try_open`).
  void close(const std::string& key) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = open_.find(key);
    if (it != open_.end() && --it->second == 0) {
      open_.erase(it);
    }
  }

 private:
  std::mutex m_;
  std::unordered_map<std::string, std::uint32_t> open_;
};

}  // namespace sb::http

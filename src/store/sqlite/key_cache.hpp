#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <openssl/crypto.h>

/// The SQLite log's unwrapped data keys, so the hot path does not unwrap (nor look up) a key per
/// event. Internal to the store.
namespace sb::store {

/// An unwrapped data key and the id of its row in `subject_keys` (the integer the subject's events
/// are indexed by).
struct data_key {
  std::string key;  ///< 32 raw bytes
  std::int64_t row = 0;
};

/// A bounded least-recently-used map from a key's owner id ("<tenant>\0<subject>") to its data
/// key. Thread-safe: every member takes one mutex briefly.
///
/// Erasure and stale readers: `evict` also advances a generation counter. A reader that found a
/// key in a database snapshot taken before an erasure must not bring it back into the cache, so
/// readers call `put_if(..., generation)` with the generation they read *before* their snapshot
/// began: an eviction since then makes the put a no-op. The single writer, which looks keys up
/// under the same lock as erasure, uses the unconditional `put`.
class key_cache {
 public:
  explicit key_cache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// The id of a key: tenant and subject, which contain no NUL.
  static std::string id(const std::string& tenant, const std::string& subject) {
    std::string out;
    out.reserve(tenant.size() + 1 + subject.size());
    out.append(tenant).push_back('\0');
    out.append(subject);
    return out;
  }

  std::optional<data_key> get(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(id);
    if (it == index_.end()) {
      return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->second;
  }

  std::uint64_t generation() {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  void put(const std::string& id, const data_key& key) {
    std::lock_guard lock(mutex_);
    put_locked(id, key);
  }

  /// Puts unless something was evicted since `generation` was read.
  void put_if(const std::string& id, const data_key& key, std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation == generation_) {
      put_locked(id, key);
    }
  }

  void evict(const std::string& id) {
    std::lock_guard lock(mutex_);
    ++generation_;
    auto it = index_.find(id);
    if (it != index_.end()) {
      // The key of an erased subject should not linger in freed memory either.
      auto& key = it->second->second.key;
      OPENSSL_cleanse(key.data(), key.size());
      entries_.erase(it->second);
      index_.erase(it);
    }
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return index_.size();
  }

 private:
  void put_locked(const std::string& id, const data_key& key) {
    auto it = index_.find(id);
    if (it != index_.end()) {
      it->second->second = key;
      entries_.splice(entries_.begin(), entries_, it->second);
      return;
    }
    entries_.emplace_front(id, key);
    index_.emplace(id, entries_.begin());
    if (index_.size() > capacity_) {
      index_.erase(entries_.back().first);
      entries_.pop_back();
    }
  }

  using entry = std::pair<std::string, data_key>;  // id, key
  const std::size_t capacity_;
  std::mutex mutex_;
  std::list<entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::uint64_t generation_ = 0;
};

}  // namespace sb::store

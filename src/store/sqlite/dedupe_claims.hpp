#pragma once

// The dedupe keys the SQLite writer has claimed and not yet merged into the `dedupe` table
// (schema v6, store/sqlite/schema.cpp). Pure: no SQLite here; store/sqlite/database.cpp merges.
//
// Why: a key inserted into `dedupe` at a random place dirties a page of its own, 4 KiB of WAL
// per event. Claimed keys wait here (their digests are in their events' rows already, so they
// are claimed again after a crash) and go into `dedupe` sorted, one slice of the key space at a
// time: each slice falls on its own part of the B-tree, so a slice costs 1/k_slices of a whole
// merge (one short step per commit, not one long stall) and writes each page it touches once.
//
// Used with the writer's mutex held.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::store::sqlite {

/// A dedupe digest (`key_ring::dedupe_digest`, 16 bytes) as a hash key. The digest is a keyed
/// hash, uniformly distributed: its bytes are the hash and the slice.
struct digest_key {
  static constexpr std::size_t size = 16;
  std::array<char, size> bytes{};

  /// The key of `digest`; false when it is not 16 bytes (no dedupe key of this store).
  static bool of(std::string_view digest, digest_key& out) {
    if (digest.size() != size) {
      return false;
    }
    std::memcpy(out.bytes.data(), digest.data(), size);
    return true;
  }
  std::string_view view() const { return {bytes.data(), size}; }
  bool operator==(const digest_key& o) const { return bytes == o.bytes; }
  bool operator<(const digest_key& o) const {
    return std::memcmp(bytes.data(), o.bytes.data(), size) < 0;
  }
};

struct digest_hash {
  std::size_t operator()(const digest_key& k) const noexcept {
    std::size_t h;
    std::memcpy(&h, k.bytes.data() + 8, sizeof h);  // the slice is taken from byte 0
    return h;
  }
};

/// One claim: the event that claimed the key, and where it came from (`dedupe_claims::source`).
struct claim {
  std::uint64_t seq = 0;
  std::uint32_t source = 0;
};

/// A key and its claim, as a merge inserts it.
struct claimed_key {
  digest_key key;
  claim c;
};

class dedupe_claims {
 public:
  /// Slices of the key space (by the digest's first byte), merged one per step.
  static constexpr std::size_t k_slices = 256;

  /// The id of a (tenant, channel) pair: claims keep 4 bytes instead of two strings.
  std::uint32_t source(const std::string& tenant, const std::string& channel) {
    std::string id;
    id.reserve(tenant.size() + channel.size() + 1);
    id.append(tenant).push_back('\n');
    id.append(channel);
    auto [it, fresh] = source_ids_.try_emplace(std::move(id), 0);
    if (fresh) {
      it->second = static_cast<std::uint32_t>(sources_.size());
      sources_.emplace_back(tenant, channel);
    }
    return it->second;
  }
  const std::string& tenant_of(std::uint32_t source) const { return sources_[source].first; }
  const std::string& channel_of(std::uint32_t source) const { return sources_[source].second; }

  /// The claim of `key`, or nullptr.
  const claim* find(const digest_key& key) const {
    const auto& s = slices_[slice_of(key)];
    auto it = s.find(key);
    return it == s.end() ? nullptr : &it->second;
  }

  void add(const digest_key& key, claim c) {
    if (slices_[slice_of(key)].insert_or_assign(key, c).second) {
      ++size_;
    }
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  /// The claims of slice `s` whose seq is at most `upto` of their tenant (a round merges what was
  /// claimed before it started), sorted by key.
  template <class UptoFn>
  std::vector<claimed_key> slice(std::size_t s, UptoFn&& upto) const {
    std::vector<claimed_key> out;
    for (const auto& [key, c] : slices_[s]) {
      if (c.seq <= upto(tenant_of(c.source))) {
        out.push_back({key, c});
      }
    }
    return sorted(std::move(out));
  }

  /// Every claim, sorted by key.
  std::vector<claimed_key> all() const {
    std::vector<claimed_key> out;
    out.reserve(size_);
    for (const auto& s : slices_) {
      for (const auto& [key, c] : s) {
        out.push_back({key, c});
      }
    }
    return sorted(std::move(out));
  }

  /// Forgets merged claims.
  void remove(const std::vector<claimed_key>& merged) {
    for (const auto& m : merged) {
      size_ -= slices_[slice_of(m.key)].erase(m.key);
    }
  }

  void clear() {
    for (auto& s : slices_) {
      s.clear();
    }
    size_ = 0;
  }

  static std::size_t slice_of(const digest_key& key) {
    return static_cast<unsigned char>(key.bytes[0]) * k_slices / 256;
  }

 private:
  /// In key order: the order a merge inserts in, so each page of `dedupe` is written once.
  static std::vector<claimed_key> sorted(std::vector<claimed_key> keys) {
    std::sort(keys.begin(), keys.end(),
              [](const claimed_key& a, const claimed_key& b) { return a.key < b.key; });
    return keys;
  }

  std::array<std::unordered_map<digest_key, claim, digest_hash>, k_slices> slices_;
  std::size_t size_ = 0;
  std::vector<std::pair<std::string, std::string>> sources_;
  std::unordered_map<std::string, std::uint32_t> source_ids_;
};

}  // namespace sb::store::sqlite

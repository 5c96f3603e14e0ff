#pragma once

// The generations of the `dedupe` table (schema v8, store/sqlite/schema.cpp) and a filter per
// generation. Pure: no SQLite here; store/sqlite/database.cpp reads and writes the rows.
//
// Why: a merge round (dedupe_claims.hpp) writes each page of the key range it merges into once.
// While that range was the whole table, a round wrote the whole table, so the bytes written per
// key grew with the table: 38 of the 100 WAL frames of a 64-event commit at 1.2 million keys, and
// climbing (docs/performance.md, "Bytes per event as the store grows"). Keys now go into the
// newest generation (`dedupe.gen`), which takes keys until it holds `generation_keys`; then the
// next round starts a new one. A round writes at most one generation's pages, whatever the size
// of the table. A lookup seeks only the generations whose filter may hold the key.
//
// Each generation's filter is a blocked Bloom filter of 16 bits per key: a key sets 8 bits of one
// 512-bit block (one cache line), and a key that is not there passes about 1 in 500 filters of
// full generations (0.19 % measured; each pass costs one primary-key seek that finds nothing). Filters live in memory only: 2 bytes
// per stored key, built at open from the table (one scan in key order).
//
// Used with the writer's mutex held.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "store/sqlite/dedupe_claims.hpp"

namespace sb::store::sqlite {

/// A blocked Bloom filter over dedupe digests. The digests are keyed hashes, uniformly
/// distributed, so their own bytes serve as the hash: bytes 0 to 7 pick the block, bytes 8 to 15
/// the bits in it.
class key_filter {
 public:
  static constexpr std::size_t k_bits_per_key = 16;

  /// Sized for `keys` keys at k_bits_per_key (at least one block). More keys may be added; each
  /// one past the size raises the false-positive rate a little.
  explicit key_filter(std::size_t keys)
      : blocks_(std::max<std::size_t>(1, (keys * k_bits_per_key + k_block_bits - 1) / k_block_bits)) {}

  void add(const digest_key& key) {
    auto& b = blocks_[block_of(key)];
    for_each_bit(key, [&b](unsigned bit) { b.words[bit / 64] |= std::uint64_t{1} << (bit % 64); });
  }

  /// False: `key` was never added. True: it may have been.
  bool may_contain(const digest_key& key) const {
    const auto& b = blocks_[block_of(key)];
    bool all = true;
    for_each_bit(key, [&b, &all](unsigned bit) {
      all = all && (b.words[bit / 64] >> (bit % 64) & 1U) != 0;
    });
    return all;
  }

  std::size_t bytes() const { return blocks_.size() * sizeof(block); }

 private:
  static constexpr unsigned k_block_bits = 512;
  static constexpr unsigned k_probes = 8;

  struct alignas(64) block {
    std::uint64_t words[k_block_bits / 64] = {};
  };

  static std::uint64_t word_at(const digest_key& key, std::size_t offset) {
    std::uint64_t w;
    std::memcpy(&w, key.bytes.data() + offset, sizeof w);
    return w;
  }

  /// Bytes 0 to 7 scaled onto the block count (multiply and keep the high half: no modulo).
  std::size_t block_of(const digest_key& key) const {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(word_at(key, 0)) *
                                     blocks_.size()) >> 64);
  }

  /// The k_probes bits of `key` in its block: double hashing over bytes 8 to 15.
  template <class F>
  static void for_each_bit(const digest_key& key, F&& f) {
    const std::uint64_t h = word_at(key, 8);
    const auto a = static_cast<std::uint32_t>(h);
    const auto step = static_cast<std::uint32_t>(h >> 32) | 1U;
    for (unsigned i = 0; i < k_probes; ++i) {
      f((a + i * step) % k_block_bits);
    }
  }

  std::vector<block> blocks_;
};

/// The generations of `dedupe`: each one's key count and filter, and the newest one, which merges
/// write into.
class dedupe_generations {
 public:
  explicit dedupe_generations(std::size_t generation_keys) : generation_keys_(generation_keys) {}

  /// At open, before `add`: generation `gen` holds `keys` keys, for every generation in the table
  /// (none: an empty table, whose newest generation is 0). The newest one's filter has room for a
  /// whole generation.
  void open(const std::map<std::int64_t, std::size_t>& counts) {
    gens_.clear();
    for (const auto& [gen, keys] : counts) {
      const bool newest = gen == counts.rbegin()->first;
      gens_.emplace(gen, generation{keys, key_filter(newest ? room(keys) : keys)});
    }
    if (gens_.empty()) {
      gens_.emplace(0, generation{0, key_filter(room(0))});
    }
  }

  std::int64_t newest() const { return gens_.rbegin()->first; }

  /// A key in generation `gen`: loaded at open (`counted` false: `open` counted it), or inserted
  /// by a merge.
  void add(std::int64_t gen, const digest_key& key, bool counted) {
    auto& g = gens_.at(gen);
    g.filter.add(key);
    if (counted) {
      ++g.keys;
    }
  }

  /// Before a merge: once the newest generation holds `generation_keys`, a new one starts.
  /// True when it did.
  bool start_merge() {
    if (gens_.rbegin()->second.keys < generation_keys_) {
      return false;
    }
    gens_.emplace(newest() + 1, generation{0, key_filter(room(0))});
    return true;
  }

  /// The generations that may hold `key`, newest first, into `out`.
  void candidates(const digest_key& key, std::vector<std::int64_t>& out) const {
    out.clear();
    for (auto it = gens_.rbegin(); it != gens_.rend(); ++it) {
      if (it->second.filter.may_contain(key)) {
        out.push_back(it->first);
      }
    }
  }

  std::size_t count() const { return gens_.size(); }
  std::size_t keys(std::int64_t gen) const { return gens_.at(gen).keys; }
  std::size_t filter_bytes() const {
    std::size_t n = 0;
    for (const auto& [gen, g] : gens_) {
      n += g.filter.bytes();
    }
    return n;
  }

 private:
  struct generation {
    std::size_t keys = 0;
    key_filter filter;
  };

  /// The newest generation's filter: a whole generation, plus a quarter for the keys of the
  /// round that fills it (a round finishes in the generation it started in) and of a flush.
  std::size_t room(std::size_t keys) const {
    return std::max(keys, generation_keys_ + generation_keys_ / 4);
  }

  std::size_t generation_keys_;
  std::map<std::int64_t, generation> gens_;
};

}  // namespace sb::store::sqlite

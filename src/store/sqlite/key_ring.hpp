#pragma once

// The SQLite log's keys: those derived from the master and root keys (wrapping; dedupe digests,
// privacy-request digests: store/root_key.hpp) and the data keys, one per (tenant, subject), stored
// wrapped in `subject_keys` and kept unwrapped in a bounded cache. Seals and opens nothing itself
// but data keys; `open` and `open_event` open sealed values with the right key. Internal to
// sb_store.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "store/codec.hpp"
#include "store/event_log.hpp"
#include "store/sqlite/key_cache.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::sqlite {

/// Keys used by one write transaction, and where the writer finds and stores them (its
/// connection and its `subject_keys` statements). Found keys are cached at once (they are
/// committed), keys created by the transaction only after its commit (`key_ring::publish`): a
/// rolled-back key must not be used again.
struct write_keys {
  sqlite3* db = nullptr;
  const stmt* find_key = nullptr;
  const stmt* insert_key = nullptr;
  std::unordered_map<std::string, data_key> used;  // key_cache::id -> key
  std::vector<std::pair<std::string, data_key>> created;
};

/// Keys used by one read call, and where its reader finds them. `generation` is the cache's,
/// read before the call's snapshot began (key_cache::put_if).
struct read_keys {
  struct entry {
    data_key key;
    bool from_snapshot = false;  // else from the cache, possibly newer than the snapshot
  };
  sqlite3* db = nullptr;
  const stmt* find_key = nullptr;
  std::uint64_t generation = 0;
  std::unordered_map<std::string, entry> used;
};

/// Thread-safe: the derived keys do not change after `derive`, and the cache has its own lock.
class key_ring {
 public:
  key_ring();

  /// Derives the store's keys from its root key and current master key (32 raw bytes each;
  /// else `errc::internal`; store/root_key.hpp).
  status derive(const std::string& root_key, const std::string& master_key);

  /// Wraps the data keys; also seals the store's key check.
  const std::string& wrap_key() const { return derived_.wrap; }

  /// Keys the digests of platform privacy requests (rules::privacy_request_digest).
  const std::string& request_key() const { return derived_.request; }

  /// Seals the control plane's tenant documents (store/definitions.hpp).
  const std::string& control_key() const { return derived_.control; }

  /// The stored form of a dedupe key: a keyed digest of (tenant, channel, key), 16 bytes.
  std::string dedupe_digest(std::string_view tenant, std::string_view channel,
                            std::string_view key) const;

  // -- the writer (with the write lock held, inside a transaction) ---------------------------

  write_keys writing(sqlite3* db, const stmt& find_key, const stmt& insert_key) const;

  /// The data key of (tenant, subject) for a write, created (wrapped and inserted in the current
  /// transaction, with `channel` and `now_ms`) when the subject has none. Cached keys cost no SQL.
  result<const data_key*> writer_key(write_keys& wk, const std::string& tenant,
                                     const std::string& subject, const std::string& channel,
                                     std::int64_t now_ms);

  /// After a commit: the keys the transaction created become usable by everyone.
  void publish(const write_keys& wk);

  /// After an erasure committed: the subject's key leaves the cache (and memory).
  void evict(const std::string& tenant, const std::string& subject);

  // -- readers ---------------------------------------------------------------------------------

  /// Starts a read call on a reader's connection; call it before the call's snapshot begins.
  read_keys reading(sqlite3* db, const stmt& find_key);

  /// Appends to `out` the plaintext of a value of (tenant, subject) sealed with `aad`. A cached
  /// key can be newer than the reader's snapshot (the subject was erased and seen again since):
  /// then the snapshot's key opens it.
  status open(read_keys& rk, const std::string& tenant, const std::string& subject,
              std::string_view sealed, std::string_view aad, std::string& out);

  /// Opens a sealed event of `tenant` (`e.seq` and `e.subject` set) into its conversation and
  /// JSON. `errc::internal` when it does not open or is malformed.
  status open_event(read_keys& rk, const std::string& tenant, stored_event& e,
                    std::string_view sealed);

 private:
  /// The data key of (tenant, subject) as the reader's snapshot has it; from the cache unless
  /// `from_snapshot`.
  result<const read_keys::entry*> reader_key(read_keys& rk, const std::string& tenant,
                                             const std::string& subject, bool from_snapshot);

  derived_keys derived_;
  key_cache cache_;
};

}  // namespace sb::store::sqlite

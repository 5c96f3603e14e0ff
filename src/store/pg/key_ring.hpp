#pragma once

// The PostgreSQL stores' keys: those derived from the master and root keys (the same labels, so the
// same keys, as the SQLite store's: store/sqlite/key_ring.cpp) and the data keys, one per
// (tenant, subject), stored wrapped in `subject_keys`. No cache yet: a transaction reads each
// key it uses once. (A cache across transactions needs every replica to drop an erased key:
// docs/scale-out.md, "Keys and erasure across replicas".)

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "store/codec.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

struct data_key {
  std::string key;     ///< 32 raw bytes
  std::int64_t id = 0;  ///< its row in `subject_keys`
};

/// Thread-safe: nothing changes after `derive`.
class key_ring {
 public:
  /// From the store's root key and current master key (32 raw bytes each, else
  /// `errc::internal`; store/root_key.hpp).
  status derive(const std::string& root_key, const std::string& master_key);

  /// The stored form of a dedupe key: a keyed digest of (tenant, channel, key), 16 bytes, as the
  /// SQLite store's.
  std::string dedupe_digest(std::string_view tenant, std::string_view channel,
                            std::string_view key) const;

  /// A subject whose data key a write needs, and the channel a new key is recorded with.
  struct wanted {
    std::string tenant;
    std::string subject;
    std::string channel;
  };

  /// Puts into `used` (by `id(tenant, subject)`) the data key of every `wanted` subject, inside
  /// the caller's transaction: read in one statement, and those missing created (wrapped and
  /// inserted with `now_ms`) in one more. A key another replica inserts at the same moment wins:
  /// this one is dropped and that one read.
  status writer_keys(connection& c, std::unordered_map<std::string, data_key>& used,
                     const std::vector<wanted>& subjects, std::int64_t now_ms) const;

  /// One subject's key, as `writer_keys`.
  result<const data_key*> writer_key(connection& c, std::unordered_map<std::string, data_key>& used,
                                     const std::string& tenant, const std::string& subject,
                                     const std::string& channel, std::int64_t now_ms) const;

  /// The key of `used` for (tenant, subject).
  static std::string id(const std::string& tenant, const std::string& subject);

  /// Unwraps a key read from `subject_keys` (its `wrapped` column) of (tenant, subject).
  result<std::string> unwrap(const std::string& tenant, const std::string& subject,
                             std::string_view wrapped) const;

  /// The data keys one read call has unwrapped, by their `subject_keys.id`: a page of one
  /// person's events unwraps the key once.
  using read_keys = std::unordered_map<std::int64_t, std::string>;

  /// Opens a sealed event of `tenant` (`e.seq` and `e.subject` set) into its conversation and
  /// JSON, with the key of row `key_id` (`wrapped`, unwrapped once per call into `keys`).
  /// `errc::internal` when it does not open.
  status open_event(read_keys& keys, const std::string& tenant, stored_event& e,
                    std::int64_t key_id, std::string_view wrapped, std::string_view sealed) const;

  /// Keys the digests of platform privacy requests (rules::privacy_request_digest).
  const std::string& request_key() const { return derived_.request; }
  /// Seals the control plane's tenant documents (store/definitions.hpp).
  const std::string& control_key() const { return derived_.control; }

 private:
  derived_keys derived_;
};

}  // namespace sb::store::pg

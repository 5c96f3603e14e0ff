#pragma once

// The SQLite log's `event_log`, in two files: the events (store/sqlite/event_log.cpp:
// group-committed appends, snapshot reads, heads) and the quarantine of unparseable bodies
// (store/sqlite/quarantine.cpp). Internal to sb_store; `make_sqlite_stores` hands it out.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/event_log.hpp"
#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

/// Shares the ownership of its database with the delivery and privacy stores over it. Threading
/// as `event_log` documents: writes take the database's write lock, reads borrow a reader.
class sqlite_event_log final : public event_log {
 public:
  explicit sqlite_event_log(std::shared_ptr<database> db);

  // -- events (event_log.cpp) -----------------------------------------------------------------

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override;
  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types, std::uint64_t upto) override;
  std::uint64_t head(const std::string& tenant) override;

  // -- quarantine (quarantine.cpp) ------------------------------------------------------------

  using event_log::quarantine;
  result<std::uint64_t> quarantine(quarantined_body body, std::uint64_t quota_bytes) override;
  std::vector<quarantined_body> quarantined(const std::string& tenant) override;
  result<std::vector<quarantine_entry>> quarantine_list(const std::string& tenant,
                                                        const std::string& channel,
                                                        std::uint64_t after_id,
                                                        std::size_t limit) override;
  result<quarantined_body> quarantined_one(const std::string& tenant, std::uint64_t id) override;
  result<quarantine_entry> drop_quarantined(const std::string& tenant, std::uint64_t id) override;
  result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                              const std::string& channel) override;
  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override;

 private:
  /// The dedupe keys one append claimed, published to the database once it commits.
  struct batch_claims {
    std::unordered_map<digest_key, claim, digest_hash> keys;  ///< claimed by this batch's events
    std::vector<claimed_key> merged;  ///< the merge step this batch's transaction took
    bool round_done = false;
  };

  /// The append's transaction, with the write lock held: BEGIN to COMMIT, or the first failure
  /// (the caller rolls back).
  status append_locked(std::vector<append_request>& requests,
                       std::vector<std::vector<append_outcome>>& outcomes,
                       std::unordered_map<std::string, std::uint64_t>& batch_heads, write_keys& wk,
                       batch_claims& claims);

  /// The channel's charged quarantine bytes. With the write lock held.
  result<std::uint64_t> used_locked(const std::string& tenant, const std::string& channel);

  /// Opens a quarantined body and its headers (a NULL `headers` column: none were kept).
  status open_quarantined(read_keys& rk, quarantined_body& b, std::string_view body,
                          std::string_view headers);

  std::shared_ptr<database> db_;
};

}  // namespace sb::store::sqlite

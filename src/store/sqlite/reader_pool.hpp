#pragma once

// The SQLite log's read-only connections: each read call borrows one with its prepared statements,
// reads one committed snapshot and gives it back. Internal to sb_store.

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::sqlite {

/// A read-only connection with its cached statements (store/sqlite/statements.cpp); used by one
/// thread at a time.
struct reader {
  connection conn;
  stmt read_events;
  stmt quarantined;
  stmt quarantine_list;
  stmt quarantine_list_channel;
  stmt quarantined_one;
  stmt cursor;
  stmt disabled;
  stmt dead_letters;
  stmt find_key;
  stmt subject_events_after;  ///< ?1 tenant, ?2 subject, ?3 limit, ?4 after
  stmt erased_subjects;       ///< ?1 tenant
  stmt consents;
  stmt audit_log;
  stmt find_deletion_request;
  stmt find_privacy_request;
};

/// Opens readers as threads need them and keeps a few idle ones between calls; more are opened
/// when more threads read at once and closed again afterwards. Thread-safe. Readers in WAL mode
/// do not wait for the writer.
class reader_pool {
 public:
  /// A reader borrowed from the pool; returned to it when the lease ends.
  class lease {
   public:
    lease(reader_pool* owner, std::unique_ptr<reader> r) : owner_(owner), reader_(std::move(r)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept = default;
    ~lease() {
      if (reader_ != nullptr) {
        owner_->give_back(std::move(reader_));
      }
    }
    reader* operator->() const { return reader_.get(); }
    reader& operator*() const { return *reader_; }

   private:
    reader_pool* owner_;
    std::unique_ptr<reader> reader_;
  };

  /// Readers of the database at `path`, waiting at most `busy_timeout_ms` for a lock.
  void open(std::string path, int busy_timeout_ms);

  /// An idle reader, or a new one (its connection opened and its statements prepared).
  result<lease> take();

 private:
  void give_back(std::unique_ptr<reader> r);

  std::string path_;
  int busy_timeout_ms_ = 0;
  std::mutex mutex_;  // guards idle_
  std::vector<std::unique_ptr<reader>> idle_;
};

/// Prepares every statement of a reader whose connection is open (store/sqlite/statements.cpp).
status prepare_reader(reader& r);

}  // namespace sb::store::sqlite

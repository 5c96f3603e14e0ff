#pragma once

// The state the SQLite stores share: one database, `<dir>/switchboard.db`, behind the
// `event_log`, `delivery_store` and `privacy_store` that `make_sqlite_stores`
// (store/sqlite_log.hpp) returns. Internal to sb_store: nothing of it is in a public header.
//
// The parts, one job each:
//   database.{hpp,cpp}    opening, the writer's transactions, tenant heads, the subject index,
//                         the WAL purge; `make_sqlite_stores`
//   schema.cpp            the schema (versions 1..8) and the migration chain
//   statements.cpp        the SQL of every prepared statement
//   dedupe_claims.hpp     dedupe keys claimed and not yet merged into `dedupe` (schema v6)
//   dedupe_generations.hpp the generations of `dedupe` and their filters (schema v8)
//   checkpointer.{hpp,cpp} the WAL's checkpoints, on a thread of their own
//   ../codec.hpp          what is sealed and its associated data (shared with store/pg/)
//   key_ring.{hpp,cpp}    derived keys, data keys (wrapped, cached), opening sealed values
//   key_cache.hpp         the unwrapped data keys in memory
//   reader_pool.{hpp,cpp} read-only connections
//   event_log.{hpp,cpp}   `event_log`: append, read, head
//   quarantine.cpp        `event_log`: the quarantine
//   delivery_store.cpp    `delivery_store`: cursors, dead letters, disabled subscribers
//   privacy_store.cpp     `privacy_store`: consent, export, erasure, audit, deletion and privacy
//                         requests
//   retention.cpp         `privacy_store::expire`
//
// Threading: every write holds `write_mutex` (and the directory lock keeps other processes out),
// so writes are serialized; reads borrow a reader from `readers` and never wait for the writer.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "store/stores.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/dedupe_claims.hpp"
#include "store/sqlite/dedupe_generations.hpp"
#include "store/sqlite/key_ring.hpp"
#include "store/sqlite/reader_pool.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::sqlite {

/// The writer connection's cached statements (store/sqlite/statements.cpp).
struct writer_statements {
  stmt begin;
  stmt commit;
  stmt rollback;
  stmt find_dedupe;
  stmt insert_dedupe;
  stmt set_deduped;
  stmt insert_event;
  stmt upsert_head;
  stmt insert_quarantine;
  stmt quarantine_used;
  stmt drop_quarantined;
  stmt drop_quarantine_of;
  stmt upsert_disabled;
  stmt delete_disabled;
  stmt upsert_cursor;
  stmt insert_dead_letter;
  stmt take_dead_letter;
  stmt find_key;
  stmt insert_key;
  stmt upsert_consent;
  stmt insert_audit;
  stmt upsert_deletion_request;
  stmt insert_privacy_request;
  // Erasure: ?1 tenant, ?2 subject (or channel).
  stmt erase_dead_letters_by_subject;
  stmt erase_dead_letters_by_event;
  stmt count_tombstones;
  stmt erase_events;
  stmt erase_consent;
  stmt insert_erased;  ///< ?1 tenant, ?2 subject, ?3 erased_at_ms
  stmt erase_key;
  stmt indexed_seq;
  stmt index_events;
  stmt set_indexed_seq;
  stmt channel_subjects;
  stmt channel_dead_letters;
  stmt channel_tombstones;
  stmt channel_events;
  stmt channel_quarantine;
  // Retention: ?1 tenant, ?2 cutoff (ms), ?3 batch size.
  stmt expire_events;
  stmt next_dedupe_channel;
  stmt expire_dedupe;
  stmt expire_dead_letters;
  stmt expire_quarantine;
};

/// Prepares every statement of the writer (once the schema is current).
status prepare_writer(sqlite3* db, writer_statements& w);

/// One open database and what every store over it shares: the directory lock, the writer
/// connection with its statements (used with `write_mutex` held), the key ring, the tenants'
/// committed heads and the readers. Owned jointly by the event log, delivery and privacy stores
/// over it (`make_sqlite_stores`); closed when the last of them goes.
/// What a store's tests may set that the config does not: sizes that the default makes too
/// large for a test to cross.
struct tuning {
  /// Keys per generation of `dedupe` (dedupe_generations.hpp): a merge round writes into at most
  /// this many keys' pages; a lookup seeks each generation whose filter may hold the key.
  std::size_t dedupe_generation_keys = std::size_t{1} << 18;
  /// A merge round of the dedupe keys starts once more than this many are claimed and not in
  /// `dedupe` (dedupe_claims.hpp): each page of the newest generation is written once per round,
  /// so the more keys a round merges, the fewer bytes per key (docs/performance.md, step 7: 4.2 KB
  /// per event with 16,384, 3.0 to 3.3 KB with 65,536, no better with 131,072). Claims keep
  /// coming during a round, so the writer holds up to about twice this many (about 56 bytes
  /// each: 7 MB), and an open reads back the events after the last finished round to claim them
  /// again.
  std::size_t dedupe_merge_keys = std::size_t{1} << 16;
};

struct database {
  explicit database(const tuning& t = {})
      : dedupe_merge_keys(t.dedupe_merge_keys), generations(t.dedupe_generation_keys) {}

  const std::size_t dedupe_merge_keys;

  /// Opens (or creates, with `dir`) the database, migrates it to the current schema and loads
  /// the tenants' heads (store/sqlite_log.hpp documents the errors).
  status open(const std::string& dir, config::durability durability, const std::string& master_key);

  /// The tenant's highest committed seq (0 when none).
  std::uint64_t head(const std::string& tenant);

  /// Every tenant's highest committed seq, as of now.
  std::unordered_map<std::string, std::uint64_t> heads_now();

  /// After a commit: the seqs the batch issued become the tenants' heads.
  void publish_heads(const std::unordered_map<std::string, std::uint64_t>& batch_heads);

  /// Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back when either fails. With
  /// `write_mutex` held.
  template <class F>
  status in_transaction(const char* what, F&& body) {
    if (auto st = step_done(w.begin, std::string("begin ") + what); !st) {
      return st;
    }
    status st = body();
    if (st) {
      st = step_done(w.commit, std::string("commit ") + what);
    }
    if (!st) {
      rollback();
    }
    return st;
  }

  /// Runs a writer statement that answers no rows (BEGIN, COMMIT, ...).
  status step_done(const stmt& s, const std::string& what);

  /// Rolls the writer's transaction back, if one is still open. With `write_mutex` held.
  void rollback();

  /// The keys of a write transaction on the writer.
  write_keys writing() { return keys.writing(writer.db, w.find_key, w.insert_key); }

  /// Brings the tenant's subject index up to `head` when more than `lag` events are not in it,
  /// inside the caller's transaction: one sorted insert of the recent events' (key row, seq)
  /// pairs, so the index's pages are dirtied once per subject, not once per event.
  status index_subjects(const std::string& tenant, std::uint64_t head, std::uint64_t lag);

  /// The seq of the event that claimed `digest` earlier (a key claimed since the last merge, or
  /// one in `dedupe`, tombstones included), or 0 when it is unclaimed. With `write_mutex` held,
  /// inside a transaction.
  result<std::uint64_t> find_claim(const digest_key& key, std::string_view digest);

  /// Inserts claims into `dedupe` (sorted by key), inside the caller's transaction.
  status insert_claims(const std::vector<claimed_key>& keys);

  /// Sets `tenant_heads.deduped` of each tenant to its value in `upto`, inside the caller's
  /// transaction.
  status write_deduped(const std::unordered_map<std::string, std::uint64_t>& upto);

  /// One step of the merge round in progress, if any, inside the caller's transaction: the
  /// claims of the round's next slice go into `dedupe` (sorted); the last step moves the
  /// tenants' `deduped` watermarks. Once the transaction commits, `merge_step_committed`.
  status merge_step(std::vector<claimed_key>& merged, bool& round_done);
  void merge_step_committed(const std::vector<claimed_key>& merged, bool round_done);

  /// After a commit: starts a merge round once more than `dedupe_merge_keys` claims are pending.
  /// The round merges what is claimed up to the heads of now, one slice per later append.
  void maybe_start_merge();

  /// Merges every pending claim in a transaction of its own, so statements that read or delete
  /// `dedupe` or the events (erasure, retention) see every claim there. With `write_mutex` held,
  /// outside a transaction.
  status flush_dedupe();

  /// Checkpoints the WAL into the database file and truncates it, so the frames that held erased
  /// or expired rows (or a v1 store's plaintext) leave the files. Best effort: with a reader on
  /// an older snapshot it gives up after a short wait, and later commits overwrite those frames
  /// instead. With `write_mutex` held, outside a transaction.
  void purge_wal();

  // Declaration order is destruction order reversed: readers close first, then the writer
  // (which checkpoints the WAL), and the directory lock is released last.
  file_lock lock;
  std::string path;
  key_ring keys;

  std::mutex write_mutex;  // guards writer and w: every write
  connection writer;
  writer_statements w;
  checkpointer checkpoints;  // the writer's WAL checkpoints, off the commit path

  std::mutex heads_mutex;  // guards heads: committed seqs only
  std::unordered_map<std::string, std::uint64_t> heads;

  // Guarded by write_mutex (schema v6): the dedupe keys claimed by committed events and not yet
  // in `dedupe`, the merge round in progress, and each tenant's `tenant_heads.deduped`.
  dedupe_claims claims;
  struct merge_round {
    bool active = false;
    std::size_t next_slice = 0;
    std::unordered_map<std::string, std::uint64_t> upto;  ///< the heads when it started
  } round;
  std::unordered_map<std::string, std::uint64_t> deduped;
  // Guarded by write_mutex (schema v8): the generations of `dedupe` and their filters.
  dedupe_generations generations;
  std::vector<std::int64_t> candidate_gens;  // find_claim's, kept for its capacity

  reader_pool readers;

 private:
  /// Each tenant's last issued seq, into `heads`.
  status load_heads();
  /// The generations of `dedupe` with a filter of their keys, into `generations`.
  status load_dedupe_generations();
  /// The claims of the events after each tenant's `deduped` watermark, into `claims`.
  status load_dedupe_claims();
};

/// A `limit` as SQLite binds it.
inline std::int64_t clamp_limit(std::size_t limit) {
  return static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
}

/// Migrates the writer's database to the current schema in one transaction (store/sqlite/
/// schema.cpp), prepares the writer's statements and checks the master key. `migrated`: rows
/// were rewritten (a v1 store's plaintext sealed), so the WAL should be purged.
status migrate(database& db, bool& migrated);

/// `make_sqlite_stores` (store/sqlite_log.hpp) with `t` instead of the default tuning.
result<stores> make_stores(const std::string& dir, config::durability durability,
                           const std::string& master_key, const tuning& t);

// The store interfaces over one database; each shares its ownership.
std::shared_ptr<event_log> make_event_log(std::shared_ptr<database> db);
std::shared_ptr<delivery_store> make_delivery_store(std::shared_ptr<database> db);
std::shared_ptr<privacy_store> make_privacy_store(std::shared_ptr<database> db);
std::shared_ptr<definition_store> make_definition_store(std::shared_ptr<database> db);

/// `privacy_store::expire` (store/sqlite/retention.cpp).
result<sweep_outcome> expire(database& db, const std::string& tenant, timestamp cutoff);

}  // namespace sb::store::sqlite

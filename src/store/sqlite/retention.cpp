// Retention for the SQLite log (`privacy_store::expire`): deletes a tenant's rows older than a
// cutoff in batches, each its own transaction, so a sweep holds up appends for one batch at most.
#include <string>
#include <utility>

#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

namespace {

// Rows one retention statement deletes before it lets other writes in.
constexpr std::int64_t k_sweep_batch = 5000;

/// Runs a retention statement (?1 tenant, ?2 cutoff, ?3 batch size, ?4 channel if any) until it
/// deletes less than a batch; each run is its own transaction.
status sweep(database& db, const stmt& s, const std::string& tenant, timestamp cutoff,
             const std::string* channel, std::uint64_t& count) {
  for (;;) {
    std::lock_guard lock(db.write_mutex);
    query q(s);
    q.text(1, tenant).int64(2, cutoff.unix_ms).int64(3, k_sweep_batch);
    if (channel != nullptr) {
      q.text(4, *channel);
    }
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db.writer.db, rc, "expire");
    }
    const auto n = static_cast<std::uint64_t>(sqlite3_changes64(db.writer.db));
    count += n;
    if (n < static_cast<std::uint64_t>(k_sweep_batch)) {
      return {};
    }
  }
}

}  // namespace

result<sweep_outcome> expire(database& db, const std::string& tenant, timestamp cutoff) {
  sweep_outcome out;
  {
    // The keys of the events about to expire go into `dedupe` first, where they expire by age.
    std::lock_guard lock(db.write_mutex);
    if (auto st = db.flush_dedupe(); !st) {
      return st.err();
    }
  }
  // Each statement deletes at most k_sweep_batch rows and commits; the writer is released in
  // between, so appends wait for one batch at most, never for the whole sweep.
  const std::pair<const stmt*, std::uint64_t*> sweeps[] = {
      {&db.w.expire_events, &out.events},
      {&db.w.expire_dead_letters, &out.dead_letters},
      {&db.w.expire_quarantine, &out.quarantined},
  };
  for (const auto& [s, count] : sweeps) {
    if (auto st = sweep(db, *s, tenant, cutoff, nullptr, *count); !st) {
      return st.err();
    }
  }
  // Dedupe keys are indexed by (tenant, channel, time): one channel at a time.
  std::string channel;  // channel names are not empty: "" sorts before all of them
  for (;;) {
    {
      std::lock_guard lock(db.write_mutex);
      query q(db.w.next_dedupe_channel);
      q.text(1, tenant).text(2, channel);
      int rc = q.step();
      if (rc == SQLITE_DONE) {
        break;
      }
      if (rc != SQLITE_ROW) {
        return sql_error(db.writer.db, rc, "expire");
      }
      channel = q.col_text(0);
    }
    if (auto st = sweep(db, db.w.expire_dedupe, tenant, cutoff, &channel, out.dedupe_keys); !st) {
      return st.err();
    }
  }
  if (out.events + out.dead_letters + out.quarantined + out.dedupe_keys > 0) {
    // Expired rows are zeroed in the database file (secure_delete); their frames in the WAL
    // still hold them under keys that live on (the subject's), so the WAL goes too.
    std::lock_guard lock(db.write_mutex);
    db.purge_wal();
  }
  return out;
}

}  // namespace sb::store::sqlite

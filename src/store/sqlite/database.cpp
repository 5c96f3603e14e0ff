#include "store/sqlite/database.hpp"

#include <filesystem>
#include <map>
#include <utility>

#include "core/log.hpp"
#include "store/root_key.hpp"
#include "store/sqlite_log.hpp"

namespace sb::store {

namespace sqlite {

namespace {

// How long a connection waits for a lock before answering busy. Only the writer can be kept
// waiting for long (by a checkpoint); readers in WAL mode wait only in rare recovery cases.
constexpr int k_busy_timeout_ms = 5000;

/// Runs `sql` (rows of tenant, integer) into `out`; `what` names it in an error.
status read_tenant_numbers(sqlite3* db, const char* sql, const char* what,
                           std::unordered_map<std::string, std::uint64_t>& out) {
  stmt s;
  if (auto st = prepare(db, sql, s); !st) {
    return st;
  }
  query q(s);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    out[q.col_text(0)] = q.col_uint64(1);
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db, rc, what);
  }
  return {};
}

// The WAL truncation after an erasure waits this long at most for readers of older snapshots: it
// runs with the writer held, and a WAL that is not truncated now is overwritten by later commits.
constexpr int k_purge_busy_timeout_ms = 200;

}  // namespace

status database::open(const std::string& dir, config::durability durability,
                      const std::string& master_key) {
  // The key sizes, before any file is touched; the root key is read below (root_key.hpp).
  if (auto st = keys.derive(master_key, master_key); !st) {
    return st;
  }
  if (sqlite3_threadsafe() == 0) {
    return {errc::internal, "the SQLite library was built without thread support"};
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return {errc::internal, "cannot create " + dir + ": " + ec.message()};
  }
  const std::string lock_path = dir + "/switchboard.lock";
  if (auto st = lock_file(
          lock_path, lock,
          "store " + lock_path + " is in use by another event log (this or another process)");
      !st) {
    return st;
  }
  path = dir + "/switchboard.db";
  if (auto st = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer,
                                k_busy_timeout_ms);
      !st) {
    return st;
  }
  auto mode = scalar_text(writer.db, "PRAGMA journal_mode = WAL");
  if (!mode) {
    return mode.err();
  }
  if (*mode != "wal") {
    return {errc::internal, path + ": cannot use WAL mode (journal_mode is " + *mode + ")"};
  }
  if (auto st = set_writer_pragmas(writer.db, durability); !st) {
    return st;
  }
  // A rotated store keeps its root key wrapped under the current master key; a wrong or
  // replaced key is refused here, before anything is read or migrated.
  auto record = read_root_record(writer.db);
  if (!record) {
    return record.err();
  }
  auto root = root_key_of(master_key, *record);
  if (!root) {
    return error{root.err().code, path + ": " + root.err().message};
  }
  if (auto st = keys.derive(*root, master_key); !st) {
    return st;
  }
  bool migrated = false;
  if (auto st = migrate(*this, migrated); !st) {
    return st;
  }
  if (migrated) {
    // The v1 plaintext was in the WAL and the database file: its pages now hold ciphertext
    // (or zeros); checkpoint them into the file and drop the old WAL frames.
    purge_wal();
  }
  if (auto st = load_heads(); !st) {
    return st;
  }
  if (auto st = load_dedupe_generations(); !st) {
    return st;
  }
  if (auto st = load_dedupe_claims(); !st) {
    return st;
  }
  if (auto st = checkpoints.start(writer.db, path, durability, k_busy_timeout_ms); !st) {
    return st;
  }
  // Opens the first read connection now, so a store that cannot be read fails at start-up.
  readers.open(path, k_busy_timeout_ms);
  auto r = readers.take();
  if (!r) {
    return r.err();
  }
  return {};
}

std::uint64_t database::head(const std::string& tenant) {
  std::lock_guard lock(heads_mutex);
  auto it = heads.find(tenant);
  return it == heads.end() ? 0 : it->second;
}

std::unordered_map<std::string, std::uint64_t> database::heads_now() {
  std::lock_guard lock(heads_mutex);
  return heads;
}

void database::publish_heads(const std::unordered_map<std::string, std::uint64_t>& batch_heads) {
  std::lock_guard lock(heads_mutex);
  for (const auto& [tenant, seq] : batch_heads) {
    heads[tenant] = seq;
  }
}

status database::step_done(const stmt& s, const std::string& what) {
  query q(s);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return sql_error(writer.db, rc, what);
  }
  return {};
}

void database::rollback() {
  // A failed COMMIT may already have rolled back (e.g. on an I/O error).
  if (sqlite3_get_autocommit(writer.db) != 0) {
    return;
  }
  if (auto st = step_done(w.rollback, "rollback"); !st) {
    log::error("store", st.err().message);
  }
}

status database::index_subjects(const std::string& tenant, std::uint64_t head, std::uint64_t lag) {
  std::uint64_t indexed = 0;
  {
    query q(w.indexed_seq);
    q.text(1, tenant);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      indexed = q.col_uint64(0);
    } else if (rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "subject index: read watermark");
    }
  }
  if (head <= indexed || head - indexed <= lag) {
    return {};
  }
  {
    query q(w.index_events);
    q.text(1, tenant).uint64(2, indexed).uint64(3, head);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "subject index: insert");
    }
  }
  query q(w.set_indexed_seq);
  q.text(1, tenant).uint64(2, head);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return sql_error(writer.db, rc, "subject index: write watermark");
  }
  return {};
}

result<std::uint64_t> database::find_claim(const digest_key& key, std::string_view digest) {
  if (const claim* c = claims.find(key)) {
    return c->seq;
  }
  generations.candidates(key, candidate_gens);
  for (const auto gen : candidate_gens) {
    query q(w.find_dedupe);
    q.int64(1, gen).blob(2, digest);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return q.col_uint64(0);
    }
    if (rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "find dedupe key");
    }
  }
  return std::uint64_t{0};
}

status database::insert_claims(const std::vector<claimed_key>& keys) {
  // Dated by the merge, not the claim: a key lives a little longer, never shorter.
  const std::int64_t now_ms = now().unix_ms;
  const std::int64_t gen = generations.newest();
  for (const auto& k : keys) {
    query q(w.insert_dedupe);
    q.blob(1, k.key.view())
        .text(2, claims.tenant_of(k.c.source))
        .text(3, claims.channel_of(k.c.source))
        .uint64(4, k.c.seq)
        .int64(5, now_ms)
        .int64(6, gen);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "merge dedupe keys");
    }
    // Into the filter before the commit: a rollback leaves a key the filter names and the table
    // does not hold (one wasted seek), never the reverse. Ignored (no change): a merge cut short
    // by a crash had written the key, and the open put it in the filter.
    if (sqlite3_changes(writer.db) > 0) {
      generations.add(gen, k.key, true);
    }
  }
  return {};
}

status database::write_deduped(const std::unordered_map<std::string, std::uint64_t>& upto) {
  for (const auto& [tenant, head] : upto) {
    query q(w.set_deduped);
    q.text(1, tenant).uint64(2, head);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "merge dedupe keys: write watermark");
    }
  }
  return {};
}

status database::merge_step(std::vector<claimed_key>& merged, bool& round_done) {
  merged.clear();
  round_done = false;
  if (!round.active) {
    return {};
  }
  merged = claims.slice(round.next_slice, [this](const std::string& tenant) {
    auto it = round.upto.find(tenant);
    return it == round.upto.end() ? 0 : it->second;
  });
  if (auto st = insert_claims(merged); !st) {
    return st;
  }
  if (round.next_slice + 1 < dedupe_claims::k_slices) {
    return {};
  }
  if (auto st = write_deduped(round.upto); !st) {
    return st;
  }
  round_done = true;
  return {};
}

void database::merge_step_committed(const std::vector<claimed_key>& merged, bool round_done) {
  if (!round.active) {
    return;
  }
  claims.remove(merged);
  ++round.next_slice;
  if (round_done) {
    for (const auto& [tenant, head] : round.upto) {
      deduped[tenant] = head;
    }
    round = {};
  }
}

void database::maybe_start_merge() {
  if (round.active || claims.size() <= dedupe_merge_keys) {
    return;
  }
  generations.start_merge();
  round.active = true;
  round.next_slice = 0;
  round.upto = heads_now();
}

status database::flush_dedupe() {
  if (claims.empty()) {
    return {};
  }
  const auto upto = heads_now();
  if (!round.active) {
    generations.start_merge();  // a round in progress finishes in its generation
  }
  auto st = in_transaction("merge dedupe keys", [&]() -> status {
    if (auto s = insert_claims(claims.all()); !s) {
      return s;
    }
    return write_deduped(upto);
  });
  if (st) {
    claims.clear();
    round = {};
    for (const auto& [tenant, head] : upto) {
      deduped[tenant] = head;
    }
  }
  return st;
}

void database::purge_wal() {
  auto paused = checkpoints.pause();  // a pass in progress would make the truncation fail
  if (auto st = truncate_wal(writer.db, k_purge_busy_timeout_ms, k_busy_timeout_ms); !st) {
    log::info("store", "WAL not truncated after an erasure or expiry (", st.err().message,
              "); later commits overwrite its frames");
  }
}

/// `tenant_heads` is written in the same transaction as the events; the events' own maximum is
/// consulted too, as a cheap (indexed) cross-check.
status database::load_heads() {
  stmt max_seq;
  if (auto st = prepare(writer.db, "SELECT MAX(seq) FROM events WHERE tenant = ?1", max_seq); !st) {
    return st;
  }
  std::unordered_map<std::string, std::uint64_t> loaded;
  if (auto st = read_tenant_numbers(writer.db, "SELECT tenant, seq FROM tenant_heads",
                                    "load tenant heads", loaded);
      !st) {
    return st;
  }
  for (auto& [tenant, seq] : loaded) {
    query q(max_seq);
    q.text(1, tenant);
    int rc = q.step();
    if (rc != SQLITE_ROW) {
      return sql_error(writer.db, rc, "load tenant heads");
    }
    seq = std::max(seq, q.col_uint64(0));
  }
  std::lock_guard lock(heads_mutex);
  heads = std::move(loaded);
  return {};
}

status database::load_dedupe_generations() {
  std::map<std::int64_t, std::size_t> counts;
  {
    stmt count;
    if (auto st = prepare(writer.db, "SELECT gen, COUNT(*) FROM dedupe GROUP BY gen", count); !st) {
      return st;
    }
    query q(count);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      counts[q.col_int64(0)] = static_cast<std::size_t>(q.col_int64(1));
    }
    if (rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "count dedupe keys");
    }
  }
  generations.open(counts);
  stmt scan;
  if (auto st = prepare(writer.db, "SELECT gen, key FROM dedupe", scan); !st) {
    return st;
  }
  query q(scan);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    digest_key key;
    if (digest_key::of(q.col_view(1), key)) {
      generations.add(q.col_int64(0), key, false);
    }
  }
  if (rc != SQLITE_DONE) {
    return sql_error(writer.db, rc, "load dedupe keys");
  }
  return {};
}

status database::load_dedupe_claims() {
  stmt tail;
  if (auto st = prepare(writer.db,
                        "SELECT seq, dedupe_key, channel FROM events WHERE tenant = ?1 "
                        "AND seq > ?2 AND dedupe_key IS NOT NULL",
                        tail);
      !st) {
    return st;
  }
  if (auto st = read_tenant_numbers(writer.db, "SELECT tenant, deduped FROM tenant_heads",
                                    "load dedupe watermarks", deduped);
      !st) {
    return st;
  }
  for (const auto& [tenant, from] : deduped) {
    query q(tail);
    q.text(1, tenant).uint64(2, from);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      digest_key key;
      if (digest_key::of(q.col_view(1), key)) {
        claims.add(key, {q.col_uint64(0), claims.source(tenant, q.col_text(2))});
      }
    }
    if (rc != SQLITE_DONE) {
      return sql_error(writer.db, rc, "load dedupe claims");
    }
  }
  return {};
}

}  // namespace sqlite

namespace sqlite {

result<stores> make_stores(const std::string& dir, config::durability durability,
                           const std::string& master_key, const tuning& t) {
  auto db = std::make_shared<database>(t);
  if (auto st = db->open(dir, durability, master_key); !st) {
    return st.err();
  }
  stores out;
  out.log = sqlite::make_event_log(db);
  out.delivery = sqlite::make_delivery_store(db);
  out.privacy = sqlite::make_privacy_store(db);
  out.definitions = sqlite::make_definition_store(std::move(db));
  return out;
}

}  // namespace sqlite

result<stores> make_sqlite_stores(const std::string& dir, config::durability durability,
                                  const std::string& master_key) {
  return sqlite::make_stores(dir, durability, master_key, sqlite::tuning{});
}

}  // namespace sb::store

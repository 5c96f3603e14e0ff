// The SQLite log's events (`event_log` but its quarantine, which is store/sqlite/quarantine.cpp):
// group-committed appends (dedupe by keyed digest, each event sealed under its subject's data
// key), reads of committed snapshots and the tenants' heads.
#include "store/sqlite/event_log.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "store/codec.hpp"

namespace sb::store::sqlite {

namespace {

// Bounds the work of one read call when a type filter skips most events (as the memory log).
constexpr std::size_t k_max_examined = 10000;

// A tenant's subject index is brought up to date once more than this many of its events are not
// in it (schema v3): larger means fewer, bigger catch-ups, and a longer tail for an export to read.
constexpr std::uint64_t k_index_lag = 4096;

}  // namespace

sqlite_event_log::sqlite_event_log(std::shared_ptr<database> db) : db_(std::move(db)) {}

status sqlite_event_log::append(std::vector<append_request>& requests,
                                std::vector<std::vector<append_outcome>>& outcomes) {
  outcomes.clear();
  outcomes.resize(requests.size());
  std::lock_guard lock(db_->write_mutex);
  // The batch's seq counters: published to the heads only after COMMIT, dropped on failure, so
  // a failed batch leaves the counters as they were. The same holds for the keys it created.
  std::unordered_map<std::string, std::uint64_t> batch_heads;
  write_keys wk = db_->writing();
  batch_claims claims;
  auto st = append_locked(requests, outcomes, batch_heads, wk, claims);
  if (!st) {
    db_->rollback();
    forget_failed_append(requests, outcomes);
    return st;
  }
  db_->keys.publish(wk);
  db_->publish_heads(batch_heads);
  db_->merge_step_committed(claims.merged, claims.round_done);
  for (const auto& [key, c] : claims.keys) {
    db_->claims.add(key, c);
  }
  db_->maybe_start_merge();
  return {};
}

result<read_result> sqlite_event_log::read(const std::string& tenant, std::uint64_t after,
                                           std::size_t limit, const std::vector<std::string>& types,
                                           std::uint64_t upto) {
  read_result r;
  r.next = after;
  if (limit == 0 || after >= upto) {
    return r;
  }
  auto lease = db_->readers.take();
  if (!lease) {
    return lease.err();
  }
  auto rk = db_->keys.reading((*lease)->conn.db, (*lease)->find_key);  // before the snapshot
  // One statement = one read transaction: a consistent snapshot of committed batches.
  query q((*lease)->read_events);
  q.text(1, tenant).uint64(2, after).uint64(3, k_max_examined);
  int rc = SQLITE_DONE;
  while (r.events.size() < limit && (rc = q.step()) == SQLITE_ROW) {
    std::uint64_t seq = q.col_uint64(0);
    if (seq > upto) {
      rc = SQLITE_DONE;  // past the bound: as if the log ended here
      break;
    }
    std::string type = q.col_text(1);
    r.next = seq;
    if (types.empty() || std::find(types.begin(), types.end(), type) != types.end()) {
      stored_event e;
      e.seq = seq;
      e.type = std::move(type);
      e.subject = q.col_text(2);
      if (auto st = db_->keys.open_event(rk, tenant, e, q.col_view(3)); !st) {
        return st.err();
      }
      r.events.push_back(std::move(e));
    }
  }
  if (r.events.size() < limit && rc != SQLITE_DONE) {
    return sql_error((*lease)->conn.db, rc, "read events");
  }
  return r;
}

std::uint64_t sqlite_event_log::head(const std::string& tenant) {
  return db_->head(tenant);
}

status sqlite_event_log::append_locked(std::vector<append_request>& requests,
                                       std::vector<std::vector<append_outcome>>& outcomes,
                                       std::unordered_map<std::string, std::uint64_t>& batch_heads,
                                       write_keys& wk, batch_claims& claims) {
  auto& w = db_->w;
  sqlite3* writer = db_->writer.db;
  if (auto st = db_->step_done(w.begin, "begin append"); !st) {
    return st;
  }
  const std::int64_t now_ms = now().unix_ms;
  std::string payload;
  std::string sealed;
  std::string aad;
  std::string digest;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto& req = requests[i];
    auto& out = outcomes[i];
    out.reserve(req.events.size());
    auto [it, fresh] = batch_heads.try_emplace(req.tenant, 0);
    if (fresh) {
      it->second = db_->head(req.tenant);
    }
    std::uint64_t& last = it->second;
    for (auto& ev : req.events) {
      digest.clear();
      digest_key dkey;
      if (!ev.dedupe_key.empty()) {
        digest = db_->keys.dedupe_digest(req.tenant, ev.channel.name, ev.dedupe_key);
        digest_key::of(digest, dkey);
        // A key claimed earlier in this batch, since the last merge, or before it (in `dedupe`,
        // tombstones of erased events included) makes the event a duplicate.
        std::uint64_t earlier = 0;
        if (auto it = claims.keys.find(dkey); it != claims.keys.end()) {
          earlier = it->second.seq;
        } else {
          auto found = db_->find_claim(dkey, digest);
          if (!found) {
            return found.err();
          }
          earlier = *found;
        }
        if (earlier != 0) {
          out.push_back({true, earlier});
          continue;
        }
      }
      auto key = db_->keys.writer_key(wk, req.tenant, ev.subject, ev.channel.name, now_ms);
      if (!key) {
        return key.err();
      }
      ev.seq = ++last;
      start_payload(payload, ev.conversation);
      append_json(payload, ev);
      sealed.clear();
      event_aad(aad, req.tenant, ev.seq);
      if (auto st = crypto::seal_append(sealed, (*key)->key, payload, aad); !st) {
        return st;
      }
      query ins(w.insert_event);
      ins.text(1, req.tenant).uint64(2, ev.seq).text(3, ev.channel.name);
      if (digest.empty()) {
        ins.text_or_null(4, "");
      } else {
        ins.blob(4, digest);
      }
      ins.text(5, ev.type).text(6, "");
      ins.text(7, ev.id).int64(8, ev.received_at.unix_ms).blob(9, sealed).text(10, ev.subject);
      if (!ev.subject.empty()) {
        ins.int64(11, (*key)->row);  // else NULL: not in the subject index
      }
      if (int rc = ins.step(); rc != SQLITE_DONE) {
        return sql_error(writer, rc, "insert event");
      }
      if (!digest.empty()) {
        // The row holds the digest: claimed again from there after a crash.
        claims.keys.emplace(dkey, claim{ev.seq, db_->claims.source(req.tenant, ev.channel.name)});
      }
      out.push_back({false, ev.seq});
    }
  }
  for (const auto& [tenant, seq] : batch_heads) {
    query q(w.upsert_head);
    q.text(1, tenant).uint64(2, seq);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer, rc, "update tenant head");
    }
  }
  for (const auto& [tenant, seq] : batch_heads) {
    if (auto st = db_->index_subjects(tenant, seq, k_index_lag); !st) {
      return st;
    }
  }
  if (auto st = db_->merge_step(claims.merged, claims.round_done); !st) {
    return st;
  }
  return db_->step_done(w.commit, "commit append");
}

std::shared_ptr<event_log> make_event_log(std::shared_ptr<database> db) {
  return std::make_shared<sqlite_event_log>(std::move(db));
}

}  // namespace sb::store::sqlite

// The SQLite log's `privacy_store`: consent records, a subject's export and erasure (and a
// channel's), the audit log, platform deletion requests and the platforms' privacy requests
// carried out. Retention (`expire`) is store/sqlite/retention.cpp.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/privacy_rules.hpp"
#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

namespace {

/// The deletes of one erasure transaction (with the write lock held, inside it). Each runs only
/// while every one before it succeeded; the first failure is kept and checked once, at the end of
/// the transaction's body (`first_failure`).
class eraser {
 public:
  explicit eraser(database& db) : db_(db) {}

  /// Deletes one subject's rows. Its events, and through them its dedupe keys and dead letters,
  /// are found by its key's row (the subject index): a subject without a key row has no events (a
  /// key is created before the subject's first event and destroyed with its last). The dead
  /// letters go first: one of the statements finds them through the events.
  status subject(const std::string& tenant, const std::string& subject, erase_outcome& out) {
    auto& w = db_.w;
    std::int64_t key_row = 0;
    {
      query q(w.find_key);
      q.text(1, tenant).text(2, subject);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        key_row = q.col_int64(0);
      } else if (rc != SQLITE_DONE) {
        return sql_error(db_.writer.db, rc, "erase: find data key");
      }
    }
    out.dead_letters += run_counted(w.erase_dead_letters_by_subject, tenant, subject);
    if (key_row != 0) {
      if (auto st = db_.index_subjects(tenant, db_.head(tenant), 0); !st) {
        return st;
      }
      out.dead_letters += run_counted(w.erase_dead_letters_by_event, tenant, key_row);
      // The events' dedupe keys stay, as tombstones: a retry or replay stays a duplicate.
      out.dedupe_keys += run_count(w.count_tombstones, tenant, key_row);
      out.events += run_counted(w.erase_events, tenant, key_row);
      if (run_counted(w.erase_key, tenant, key_row) > 0) {
        out.key_destroyed = true;
      }
    }
    run_counted(w.erase_consent, tenant, subject);
    if (st_) {
      // The revocation of the subject's web chat sessions, in the same transaction.
      query q(w.insert_erased);
      q.text(1, tenant).text(2, subject).int64(3, now().unix_ms);
      counted(q);
    }
    out.subjects.push_back(subject);
    return st_;
  }

  /// Runs a DELETE bound to (?1, ?2) and answers how many rows it deleted.
  std::uint64_t run_counted(const stmt& s, const std::string& a, const std::string& b) {
    if (!st_) {
      return 0;
    }
    query q(s);
    q.text(1, a).text(2, b);
    return counted(q);
  }

  /// Runs a DELETE bound to (?1 = tenant, ?2 = a subject's key row) as `run_counted`.
  std::uint64_t run_counted(const stmt& s, const std::string& tenant, std::int64_t key_row) {
    if (!st_) {
      return 0;
    }
    query q(s);
    q.text(1, tenant).int64(2, key_row);
    return counted(q);
  }

  /// Runs a SELECT COUNT(*) bound to (?1 = tenant, ?2) as `run_counted` runs a DELETE.
  template <class Arg>
  std::uint64_t run_count(const stmt& s, const std::string& tenant, const Arg& arg) {
    if (!st_) {
      return 0;
    }
    query q(s);
    q.text(1, tenant);
    if constexpr (std::is_same_v<Arg, std::string>) {
      q.text(2, arg);
    } else {
      q.int64(2, arg);
    }
    if (int rc = q.step(); rc != SQLITE_ROW) {
      st_ = sql_error(db_.writer.db, rc, "erase: count");
      return 0;
    }
    return q.col_uint64(0);
  }

  /// The first failure, if any.
  const status& first_failure() const { return st_; }

 private:
  std::uint64_t counted(query& q) {
    if (int rc = q.step(); rc != SQLITE_DONE) {
      st_ = sql_error(db_.writer.db, rc, "erase");
      return 0;
    }
    return static_cast<std::uint64_t>(sqlite3_changes64(db_.writer.db));
  }

  database& db_;
  status st_;
};

class sqlite_privacy_store final : public privacy_store {
 public:
  explicit sqlite_privacy_store(std::shared_ptr<database> db) : db_(std::move(db)) {}

  status put_consent(const consent_record& r) override {
    if (auto st = rules::check_consent(r); !st) {
      return st;
    }
    const std::string granted = rules::encode_granted(r.granted);
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.upsert_consent);
    q.text(1, r.tenant).text(2, r.subject).text(3, granted);
    q.int64(4, r.restricted ? 1 : 0).int64(5, r.updated_at.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "put consent");
    }
    return {};
  }

  std::vector<consent_record> consents(const std::string& tenant) override {
    std::vector<consent_record> out;
    auto lease = db_->readers.take();
    if (!lease) {
      log::error("store", "consents(", tenant, "): ", lease.err().message);
      return out;
    }
    query q((*lease)->consents);
    q.text(1, tenant);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      consent_record r;
      r.tenant = tenant;
      r.subject = q.col_text(0);
      auto granted = rules::decode_granted(q.col_text(1));
      if (!granted) {
        log::error("store", "consents(", tenant, "): unreadable consent record of subject ",
                   r.subject);
        continue;
      }
      r.granted = std::move(*granted);
      r.restricted = q.col_int64(2) != 0;
      r.updated_at = timestamp::from_millis(q.col_int64(3));
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "consents(", tenant,
                 "): ", sql_error((*lease)->conn.db, rc, "read consent").message);
    }
    return out;
  }

  result<std::vector<stored_event>> subject_events(const std::string& tenant,
                                                   const std::string& subject,
                                                   std::size_t limit) override {
    // Seqs start at 1: "after 0" is the whole subject.
    return subject_events_after(tenant, subject, 0, limit);
  }

  result<std::vector<stored_event>> subject_events_after(const std::string& tenant,
                                                         const std::string& subject,
                                                         std::uint64_t after,
                                                         std::size_t limit) override {
    std::vector<stored_event> out;
    if (limit == 0 || subject.empty()) {
      return out;
    }
    auto lease = db_->readers.take();
    if (!lease) {
      return lease.err();
    }
    auto rk = db_->keys.reading((*lease)->conn.db, (*lease)->find_key);
    query q((*lease)->subject_events_after);
    q.text(1, tenant).text(2, subject).int64(3, clamp_limit(limit));
    q.int64(4, static_cast<std::int64_t>(after));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      stored_event e;
      e.seq = q.col_uint64(0);
      e.type = q.col_text(1);
      e.subject = subject;
      if (auto st = db_->keys.open_event(rk, tenant, e, q.col_view(2)); !st) {
        return st.err();
      }
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) {
      return sql_error((*lease)->conn.db, rc, "read subject events");
    }
    return out;
  }

  std::vector<std::string> erased_subjects(const std::string& tenant) override {
    std::vector<std::string> out;
    auto lease = db_->readers.take();
    if (!lease) {
      log::error("store", "erased_subjects(", tenant, "): ", lease.err().message);
      return out;
    }
    query q((*lease)->erased_subjects);
    q.text(1, tenant);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      out.push_back(q.col_text(0));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "erased_subjects(", tenant,
                 "): ", sql_error((*lease)->conn.db, rc, "read erased subjects").message);
    }
    return out;
  }

  result<erase_outcome> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (auto st = rules::check_subject(subject); !st) {
      return st.err();
    }
    erase_outcome out;
    std::lock_guard lock(db_->write_mutex);
    // The erased events' keys must be in `dedupe` (as tombstones) before the events go.
    if (auto st = db_->flush_dedupe(); !st) {
      return st.err();
    }
    auto st = db_->in_transaction("erase subject", [&] {
      eraser e(*db_);
      return e.subject(tenant, subject, out);
    });
    if (!st) {
      return st.err();
    }
    db_->keys.evict(tenant, subject);
    db_->purge_wal();
    return out;
  }

  result<erase_outcome> erase_channel(const std::string& tenant,
                                      const std::string& channel) override {
    if (auto st = rules::check_channel(channel); !st) {
      return st.err();
    }
    erase_outcome out;
    std::lock_guard lock(db_->write_mutex);
    if (auto st = db_->flush_dedupe(); !st) {  // as erase_subject
      return st.err();
    }
    auto st = db_->in_transaction("erase channel", [&]() -> status {
      auto& w = db_->w;
      std::vector<std::string> subjects;
      {
        query q(w.channel_subjects);
        q.text(1, tenant).text(2, channel);
        int rc;
        while ((rc = q.step()) == SQLITE_ROW) {
          subjects.push_back(q.col_text(0));
        }
        if (rc != SQLITE_DONE) {
          return sql_error(db_->writer.db, rc, "erase channel: list subjects");
        }
      }
      eraser e(*db_);
      for (const auto& subject : subjects) {
        if (auto s = e.subject(tenant, subject, out); !s) {
          return s;
        }
      }
      // What is left of the channel: events without a subject (e.g. shop-level commerce) but the
      // privacy receipts, their dead letters, and the channel's quarantined bodies. Their dedupe
      // keys stay, as tombstones.
      out.dead_letters += e.run_counted(w.channel_dead_letters, tenant, channel);
      out.dedupe_keys += e.run_count(w.channel_tombstones, tenant, channel);
      out.events += e.run_counted(w.channel_events, tenant, channel);
      e.run_counted(w.channel_quarantine, tenant, channel);
      return e.first_failure();
    });
    if (!st) {
      return st.err();
    }
    for (const auto& subject : out.subjects) {
      db_->keys.evict(tenant, subject);
    }
    db_->purge_wal();
    return out;
  }

  result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    return sqlite::expire(*db_, tenant, cutoff);
  }

  result<std::uint64_t> audit(audit_entry e) override {
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.insert_audit);
    q.text(1, e.tenant).int64(2, e.at.unix_ms).text(3, e.actor).text(4, e.action);
    q.text(5, e.subject).text(6, e.outcome).text(7, e.detail);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "audit");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_->writer.db));
  }

  std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                     std::size_t limit) override {
    std::vector<audit_entry> out;
    if (limit == 0) {
      return out;
    }
    auto lease = db_->readers.take();
    if (!lease) {
      log::error("store", "audit_log(", tenant, "): ", lease.err().message);
      return out;
    }
    query q((*lease)->audit_log);
    q.text(1, tenant).uint64(2, after_id).int64(3, clamp_limit(limit));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      audit_entry e;
      e.id = q.col_uint64(0);
      e.at = timestamp::from_millis(q.col_int64(1));
      e.tenant = tenant;
      e.actor = q.col_text(2);
      e.action = q.col_text(3);
      e.subject = q.col_text(4);
      e.outcome = q.col_text(5);
      e.detail = q.col_text(6);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "audit_log(", tenant,
                 "): ", sql_error((*lease)->conn.db, rc, "read audit").message);
    }
    return out;
  }

  status put_deletion_request(const deletion_request& r) override {
    if (r.code.empty()) {
      return {errc::bad_request, "deletion request: code is empty"};
    }
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.upsert_deletion_request);
    q.text(1, r.code).text(2, r.tenant).text(3, r.channel).text(4, r.subject).text(5, r.state);
    q.int64(6, r.requested_at.unix_ms).int64(7, r.completed_at.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "put deletion request");
    }
    return {};
  }

  result<deletion_request> find_deletion_request(const std::string& code) override {
    auto lease = db_->readers.take();
    if (!lease) {
      return lease.err();
    }
    query q((*lease)->find_deletion_request);
    q.text(1, code);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return {errc::not_found, "no deletion request with this confirmation code"};
    }
    if (rc != SQLITE_ROW) {
      return sql_error((*lease)->conn.db, rc, "find deletion request");
    }
    deletion_request r;
    r.code = code;
    r.tenant = q.col_text(0);
    r.channel = q.col_text(1);
    r.subject = q.col_text(2);
    r.state = q.col_text(3);
    r.requested_at = timestamp::from_millis(q.col_int64(4));
    r.completed_at = timestamp::from_millis(q.col_int64(5));
    return r;
  }

  result<privacy_request_claim> claim_privacy_request(const std::string& tenant,
                                                      const std::string& channel,
                                                      const std::string& kind,
                                                      std::string_view request) override {
    if (auto st = rules::check_privacy_request(tenant, channel, kind); !st) {
      return st.err();
    }
    return claims_.claim(
        rules::privacy_request_digest(db_->keys.request_key(), tenant, channel, kind, request),
        [this](const std::string& digest) -> result<std::optional<privacy_request>> {
          auto lease = db_->readers.take();
          if (!lease) {
            return lease.err();
          }
          query q((*lease)->find_privacy_request);
          q.blob(1, digest);
          int rc = q.step();
          if (rc == SQLITE_DONE) {
            return std::optional<privacy_request>{};
          }
          if (rc != SQLITE_ROW) {
            return sql_error((*lease)->conn.db, rc, "find privacy request");
          }
          privacy_request r;
          r.tenant = q.col_text(0);
          r.channel = q.col_text(1);
          r.kind = q.col_text(2);
          r.code = q.col_text(3);
          r.done_at = timestamp::from_millis(q.col_int64(4));
          return std::optional<privacy_request>{std::move(r)};
        });
  }

  status finish_privacy_request(const privacy_request_claim& claim,
                                const privacy_request& r) override {
    if (auto st = rules::check_privacy_request(r.tenant, r.channel, r.kind); !st) {
      return st;
    }
    {
      std::lock_guard lock(db_->write_mutex);
      query q(db_->w.insert_privacy_request);
      q.blob(1, claim.digest).text(2, r.tenant).text(3, r.channel).text(4, r.kind);
      q.text(5, r.code).int64(6, r.done_at.unix_ms);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(db_->writer.db, rc, "record privacy request");
      }
    }
    // Committed (the statement ran on its own): a claim of the same request now finds it.
    claims_.end(claim.digest);
    return {};
  }

  void abandon_privacy_request(const privacy_request_claim& claim) override {
    claims_.end(claim.digest);
  }

 private:
  std::shared_ptr<database> db_;
  rules::request_claims claims_;  // privacy requests being carried out (in memory only)
};

}  // namespace

std::shared_ptr<privacy_store> make_privacy_store(std::shared_ptr<database> db) {
  return std::make_shared<sqlite_privacy_store>(std::move(db));
}

}  // namespace sb::store::sqlite

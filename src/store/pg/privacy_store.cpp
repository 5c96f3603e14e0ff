#include "store/pg/privacy_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/pg/key_ring.hpp"
#include "store/privacy_rules.hpp"

namespace sb::store::pg {

namespace {

// Rows a retention batch deletes, each batch its own transaction (as the SQLite store's).
constexpr std::int64_t k_sweep_batch = 5000;


/// The statements of one erasure transaction, each run only while every one before it
/// succeeded; the first failure is kept (`first_failure`).
class eraser {
 public:
  explicit eraser(connection& c) : c_(c) {}

  /// Locks the tenant's head row until the transaction ends: appends of the tenant wait.
  void lock_tenant(const std::string& tenant) {
    exec("INSERT INTO tenant_heads AS h (tenant, seq) VALUES ($1, 0) "
         "ON CONFLICT (tenant) DO UPDATE SET seq = h.seq",
         {tenant});
  }

  /// Deletes one subject's rows: its events (found by its data key's row), their dead letters,
  /// its key and its consent record. The events' dedupe keys stay, as tombstones.
  void subject(const std::string& tenant, const std::string& subject, erase_outcome& out) {
    std::optional<std::int64_t> key_row;
    if (auto q = exec("SELECT id FROM subject_keys WHERE tenant = $1 AND subject = $2",
                      {tenant, subject});
        q && q->size() == 1) {
      if (auto id = q->int64(0, 0)) {
        key_row = *id;
      }
    }
    out.dead_letters +=
        changed("DELETE FROM dead_letters WHERE tenant = $1 AND subject = $2 AND subject <> ''",
                {tenant, subject});
    if (key_row) {
      const std::string row = bigint(*key_row);
      out.dead_letters += changed(
          "DELETE FROM dead_letters WHERE tenant = $1 AND seq IN "
          "(SELECT seq FROM events WHERE tenant = $1 AND subject_key = $2)",
          {tenant, row});
      out.dedupe_keys += count(
          "SELECT COUNT(*) FROM events WHERE tenant = $1 AND subject_key = $2 "
          "AND dedupe_digest IS NOT NULL",
          {tenant, row});
      out.events += changed("DELETE FROM events WHERE tenant = $1 AND subject_key = $2",
                            {tenant, row});
      if (changed("DELETE FROM subject_keys WHERE tenant = $1 AND id = $2 AND subject <> ''",
                  {tenant, row}) > 0) {
        out.key_destroyed = true;
      }
    }
    changed("DELETE FROM consent WHERE tenant = $1 AND subject = $2", {tenant, subject});
    // The revocation of the subject's web chat sessions, in the same transaction.
    changed("INSERT INTO erased_subjects (tenant, subject, erased_at_ms) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            {tenant, subject, bigint(now().unix_ms)});
    out.subjects.push_back(subject);
  }

  std::uint64_t changed(const char* sql, std::initializer_list<param> params) {
    auto r = exec(sql, params);
    return r ? r->affected() : 0;
  }

  std::uint64_t count(const char* sql, std::initializer_list<param> params) {
    auto r = exec(sql, params);
    if (!r || r->size() != 1) {
      return 0;
    }
    auto n = r->int64(0, 0);
    return n ? static_cast<std::uint64_t>(*n) : 0;
  }

  std::optional<rows> exec(const char* sql, std::initializer_list<param> params) {
    if (!st_) {
      return std::nullopt;
    }
    auto r = c_.exec(sql, params);
    if (!r) {
      st_ = r.err();
      return std::nullopt;
    }
    return std::move(r).value();
  }

  const status& first_failure() const { return st_; }

 private:
  connection& c_;
  status st_;
};

class pg_privacy_store final : public privacy_store {
 public:
  pg_privacy_store(std::shared_ptr<pool> p, key_ring keys)
      : pool_(std::move(p)), keys_(std::move(keys)) {}

  status put_consent(const consent_record& r) override {
    if (auto st = rules::check_consent(r); !st) {
      return st;
    }
    return run("INSERT INTO consent (tenant, subject, granted, restricted, updated_at_ms) "
               "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, subject) DO UPDATE SET "
               "granted = EXCLUDED.granted, restricted = EXCLUDED.restricted, "
               "updated_at_ms = EXCLUDED.updated_at_ms",
               {r.tenant, r.subject, rules::encode_granted(r.granted),
                r.restricted ? "true" : "false", bigint(r.updated_at.unix_ms)});
  }

  std::vector<consent_record> consents(const std::string& tenant) override {
    std::vector<consent_record> out;
    auto q = query("SELECT subject, granted, restricted, updated_at_ms FROM consent "
                   "WHERE tenant = $1 ORDER BY subject",
                   {tenant});
    if (!q) {
      log::error("store", "consents(", tenant, "): ", q.err().message);
      return out;
    }
    for (int i = 0; i < q->size(); ++i) {
      consent_record r;
      r.tenant = tenant;
      r.subject = std::string(q->text(i, 0));
      auto granted = rules::decode_granted(q->text(i, 1));
      auto at = q->int64(i, 3);
      if (!granted || !at) {
        log::error("store", "consents(", tenant, "): unreadable consent record of subject ",
                   r.subject);
        continue;
      }
      r.granted = std::move(*granted);
      r.restricted = q->text(i, 2) == "t";
      r.updated_at = timestamp::from_millis(*at);
      out.push_back(std::move(r));
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
    auto q = query(
        "SELECT e.seq, e.type, e.body, k.id, k.wrapped FROM events e "
        "JOIN subject_keys k ON k.id = e.subject_key "
        "WHERE k.tenant = $1 AND k.subject = $2 AND e.tenant = $1 AND e.seq > $4 "
        "ORDER BY e.seq LIMIT $3",
        {tenant, subject, bigint(static_cast<std::uint64_t>(limit)), bigint(after)});
    if (!q) {
      return q.err();
    }
    key_ring::read_keys unwrapped;
    for (int i = 0; i < q->size(); ++i) {
      stored_event e;
      auto seq = q->int64(i, 0);
      auto body = q->bytes(i, 2);
      auto key_id = q->int64(i, 3);
      auto wrapped = q->bytes(i, 4);
      if (!seq || !body || !key_id || !wrapped) {
        return error{errc::internal, "an event row of tenant " + tenant + " is malformed"};
      }
      e.seq = static_cast<std::uint64_t>(*seq);
      e.type = std::string(q->text(i, 1));
      e.subject = subject;
      if (auto st = keys_.open_event(unwrapped, tenant, e, *key_id, *wrapped, *body); !st) {
        return st.err();
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  std::vector<std::string> erased_subjects(const std::string& tenant) override {
    std::vector<std::string> out;
    auto q = query("SELECT subject FROM erased_subjects WHERE tenant = $1 "
                   "ORDER BY erased_at_ms, subject",
                   {tenant});
    if (!q) {
      log::error("store", "erased_subjects(", tenant, "): ", q.err().message);
      return out;
    }
    for (int i = 0; i < q->size(); ++i) {
      out.emplace_back(q->text(i, 0));
    }
    return out;
  }

  result<erase_outcome> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (auto st = rules::check_subject(subject); !st) {
      return st.err();
    }
    return erase(tenant, [&](eraser& e, erase_outcome& out) { e.subject(tenant, subject, out); });
  }

  result<erase_outcome> erase_channel(const std::string& tenant,
                                      const std::string& channel) override {
    if (auto st = rules::check_channel(channel); !st) {
      return st.err();
    }
    return erase(tenant, [&](eraser& e, erase_outcome& out) {
      // Every subject seen on the channel: with events there, or a key created there.
      std::vector<std::string> subjects;
      if (auto q = e.exec("SELECT subject FROM events WHERE tenant = $1 AND channel = $2 "
                          "AND subject <> '' UNION SELECT subject FROM subject_keys "
                          "WHERE tenant = $1 AND channel = $2 AND subject <> ''",
                          {tenant, channel})) {
        for (int i = 0; i < q->size(); ++i) {
          subjects.emplace_back(q->text(i, 0));
        }
      }
      for (const auto& subject : subjects) {
        e.subject(tenant, subject, out);
      }
      // What is left of the channel: events without a subject but the privacy receipts
      // (rules::is_privacy_type), which outlive every later request, their dead letters, and
      // the channel's quarantined bodies. Their dedupe keys stay, as tombstones.
      out.dead_letters += e.changed(
          "DELETE FROM dead_letters WHERE tenant = $1 AND seq IN (SELECT seq FROM events "
          "WHERE tenant = $1 AND channel = $2 AND substr(type, 1, 8) <> 'privacy.')",
          {tenant, channel});
      out.dedupe_keys += e.count(
          "SELECT COUNT(*) FROM events WHERE tenant = $1 AND channel = $2 "
          "AND substr(type, 1, 8) <> 'privacy.' AND dedupe_digest IS NOT NULL",
          {tenant, channel});
      out.events += e.changed(
          "DELETE FROM events WHERE tenant = $1 AND channel = $2 "
          "AND substr(type, 1, 8) <> 'privacy.'",
          {tenant, channel});
      e.changed("DELETE FROM quarantine WHERE tenant = $1 AND channel = $2", {tenant, channel});
      e.changed("UPDATE quarantine_usage SET bytes = 0 WHERE tenant = $1 AND channel = $2",
                {tenant, channel});
    });
  }

  result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    sweep_outcome out;
    const std::string at = bigint(cutoff.unix_ms);
    const std::string batch = bigint(k_sweep_batch);
    const std::pair<const char*, std::uint64_t*> sweeps[] = {
        {"WITH gone AS (DELETE FROM events WHERE tenant = $1 AND seq IN (SELECT seq FROM events "
         "WHERE tenant = $1 AND received_at_ms < $2 LIMIT $3) RETURNING 1) "
         "SELECT COUNT(*) FROM gone",
         &out.events},
        {"WITH gone AS (DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters "
         "WHERE tenant = $1 AND failed_at_ms < $2 LIMIT $3) RETURNING 1) "
         "SELECT COUNT(*) FROM gone",
         &out.dead_letters},
        // A quarantined body's charge leaves its channel's usage with it.
        {"WITH gone AS (DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine "
         "WHERE tenant = $1 AND received_at_ms < $2 LIMIT $3) RETURNING channel, charge), "
         "used AS (UPDATE quarantine_usage u SET bytes = u.bytes - g.total FROM "
         "(SELECT channel, SUM(charge) AS total FROM gone GROUP BY channel) g "
         "WHERE u.tenant = $1 AND u.channel = g.channel) "
         "SELECT COUNT(*) FROM gone",
         &out.quarantined},
        {"WITH gone AS (DELETE FROM dedupe WHERE digest IN (SELECT digest FROM dedupe "
         "WHERE tenant = $1 AND created_at_ms < $2 LIMIT $3) RETURNING 1) "
         "SELECT COUNT(*) FROM gone",
         &out.dedupe_keys},
    };
    // Each batch commits on its own: appends wait for one batch at most.
    for (const auto& [sql, counter] : sweeps) {
      for (;;) {
        auto q = query(sql, {tenant, at, batch});
        if (!q) {
          return q.err();
        }
        auto n = q->int64(0, 0);
        if (!n) {
          return n.err();
        }
        *counter += static_cast<std::uint64_t>(*n);
        if (*n < k_sweep_batch) {
          break;
        }
      }
    }
    return out;
  }

  result<std::uint64_t> audit(audit_entry e) override {
    auto q = query(
        "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {e.tenant, bigint(e.at.unix_ms), e.actor, e.action, e.subject, e.outcome, e.detail});
    if (!q) {
      return q.err();
    }
    auto id = q->int64(0, 0);
    if (!id) {
      return id.err();
    }
    return static_cast<std::uint64_t>(*id);
  }

  std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                     std::size_t limit) override {
    std::vector<audit_entry> out;
    if (limit == 0) {
      return out;
    }
    auto q = query(
        "SELECT id, at_ms, actor, action, subject, outcome, detail FROM audit "
        "WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
        {tenant, bigint(after_id), bigint(static_cast<std::uint64_t>(limit))});
    if (!q) {
      log::error("store", "audit_log(", tenant, "): ", q.err().message);
      return out;
    }
    for (int i = 0; i < q->size(); ++i) {
      auto id = q->int64(i, 0);
      auto at = q->int64(i, 1);
      if (!id || !at) {
        log::error("store", "audit_log(", tenant, "): a malformed row");
        break;
      }
      audit_entry e;
      e.id = static_cast<std::uint64_t>(*id);
      e.at = timestamp::from_millis(*at);
      e.tenant = tenant;
      e.actor = std::string(q->text(i, 2));
      e.action = std::string(q->text(i, 3));
      e.subject = std::string(q->text(i, 4));
      e.outcome = std::string(q->text(i, 5));
      e.detail = std::string(q->text(i, 6));
      out.push_back(std::move(e));
    }
    return out;
  }

  status put_deletion_request(const deletion_request& r) override {
    if (r.code.empty()) {
      return {errc::bad_request, "deletion request: code is empty"};
    }
    return run(
        "INSERT INTO deletion_requests (code, tenant, channel, subject, state, requested_at_ms, "
        "completed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET "
        "tenant = EXCLUDED.tenant, channel = EXCLUDED.channel, subject = EXCLUDED.subject, "
        "state = EXCLUDED.state, requested_at_ms = EXCLUDED.requested_at_ms, "
        "completed_at_ms = EXCLUDED.completed_at_ms",
        {r.code, r.tenant, r.channel, r.subject, r.state, bigint(r.requested_at.unix_ms),
         bigint(r.completed_at.unix_ms)});
  }

  result<deletion_request> find_deletion_request(const std::string& code) override {
    auto q = query(
        "SELECT tenant, channel, subject, state, requested_at_ms, completed_at_ms "
        "FROM deletion_requests WHERE code = $1",
        {code});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return error{errc::not_found, "no deletion request with this confirmation code"};
    }
    auto requested = q->int64(0, 4);
    auto completed = q->int64(0, 5);
    if (!requested || !completed) {
      return error{errc::internal, "a deletion request row is malformed"};
    }
    deletion_request r;
    r.code = code;
    r.tenant = std::string(q->text(0, 0));
    r.channel = std::string(q->text(0, 1));
    r.subject = std::string(q->text(0, 2));
    r.state = std::string(q->text(0, 3));
    r.requested_at = timestamp::from_millis(*requested);
    r.completed_at = timestamp::from_millis(*completed);
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
        rules::privacy_request_digest(keys_.request_key(), tenant, channel, kind, request),
        [this](const std::string& digest) -> result<std::optional<privacy_request>> {
          auto q = query("SELECT tenant, channel, kind, code, done_at_ms FROM privacy_requests "
                         "WHERE digest = $1",
                         {param::bytes(digest)});
          if (!q) {
            return q.err();
          }
          if (q->size() == 0) {
            return std::optional<privacy_request>{};
          }
          auto done = q->int64(0, 4);
          if (!done) {
            return done.err();
          }
          privacy_request r;
          r.tenant = std::string(q->text(0, 0));
          r.channel = std::string(q->text(0, 1));
          r.kind = std::string(q->text(0, 2));
          r.code = std::string(q->text(0, 3));
          r.done_at = timestamp::from_millis(*done);
          return std::optional<privacy_request>{std::move(r)};
        });
  }

  status finish_privacy_request(const privacy_request_claim& claim,
                                const privacy_request& r) override {
    if (auto st = rules::check_privacy_request(r.tenant, r.channel, r.kind); !st) {
      return st;
    }
    if (auto st = run("INSERT INTO privacy_requests (digest, tenant, channel, kind, code, "
                      "done_at_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                      {param::bytes(claim.digest), r.tenant, r.channel, r.kind, r.code,
                       bigint(r.done_at.unix_ms)});
        !st) {
      return st;
    }
    // Committed: a claim of the same request now finds it.
    claims_.end(claim.digest);
    return {};
  }

  void abandon_privacy_request(const privacy_request_claim& claim) override {
    claims_.end(claim.digest);
  }

 private:
  template <class F>
  result<erase_outcome> erase(const std::string& tenant, F&& body) {
    erase_outcome out;
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    eraser e(**c);
    e.lock_tenant(tenant);
    body(e, out);
    if (auto st = e.first_failure(); !st) {
      return st.err();
    }
    if (auto st = tx.commit(); !st) {
      return st.err();
    }
    return out;
  }

  result<rows> query(const char* sql, std::initializer_list<param> params) {
    return pool_->exec(sql, params);
  }

  status run(const char* sql, std::initializer_list<param> params) {
    if (auto q = pool_->exec(sql, params); !q) {
      return q.err();
    }
    return {};
  }

  std::shared_ptr<pool> pool_;
  key_ring keys_;
  rules::request_claims claims_;  // privacy requests being carried out (this replica's)
};

}  // namespace

result<std::shared_ptr<privacy_store>> make_privacy_store(std::shared_ptr<pool> connections,
                                                          const std::string& root_key,
                                                          const std::string& master_key) {
  key_ring keys;
  if (auto st = keys.derive(root_key, master_key); !st) {
    return st.err();
  }
  return std::shared_ptr<privacy_store>(
      std::make_shared<pg_privacy_store>(std::move(connections), std::move(keys)));
}

}  // namespace sb::store::pg

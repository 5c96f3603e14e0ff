#include "store/pg/outbox.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/outbox_codec.hpp"

namespace sb::store::pg {

namespace {

using outbox_codec::k_kind_conversation;
using outbox_codec::k_kind_idempotency;
using outbox_codec::k_kind_platform_id;
using outbox_codec::k_kind_subject;

// An idempotent put whose earlier message disappears (erased or expired) between losing the
// claim to it and reading it claims again; this many times at most.
constexpr int k_claim_attempts = 3;

// Statements are string literals: each is prepared once per connection (connection::exec). The
// columns `row` reads, in this order, spliced into them by the preprocessor.
#define SB_OUTBOX_COLUMNS                                                                     \
  "id, tenant, channel, purpose, state, attempts, error_code, created_at_ms, updated_at_ms, " \
  "caller, record, platform_message_id, error_title"

// A put claims its idempotency key with the row itself: when another transaction (this replica's
// or another's) holds the same (tenant, caller, key digest), the insert waits for it, then does
// nothing and returns no row. Any other conflict (an id stored twice) is an error.
constexpr const char k_insert[] =
    "INSERT INTO outbox (" SB_OUTBOX_COLUMNS
    ", subject_digest, idempotency_digest, platform_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "$8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (tenant, caller, idempotency_digest) "
    "WHERE idempotency_digest IS NOT NULL DO NOTHING "
    // The replica holding the channel's sender lease hears of the message when (and only if)
    // this commits (store/pg/listener.hpp), and sends it.
    "RETURNING seq, pg_notify('switchboard_outbox', tenant || ' ' || channel)";
constexpr const char k_find_idempotent[] =
    "SELECT " SB_OUTBOX_COLUMNS
    " FROM outbox WHERE tenant = $1 AND caller = $2 AND idempotency_digest = $3";
// Locked until COMMIT: another replica's update of the message waits, then judges
// `forward_only` against this one's result.
constexpr const char k_lock_state[] =
    "SELECT state, channel FROM outbox WHERE id = $1 AND tenant = $2 FOR UPDATE";
// $5 and $9 say whether the platform id and the error title are given; when given, a NULL $6/$7
// or $10 (an empty value) clears them.
constexpr const char k_update[] =
    "UPDATE outbox SET state = $3, attempts = COALESCE($4::bigint, attempts), "
    "platform_digest = CASE WHEN $5::boolean THEN $6::bytea ELSE platform_digest END, "
    "platform_message_id = CASE WHEN $5::boolean THEN $7::bytea ELSE platform_message_id END, "
    "error_code = COALESCE($8::text, error_code), "
    "error_title = CASE WHEN $9::boolean THEN $10::bytea ELSE error_title END, "
    "updated_at_ms = $11 WHERE id = $1 AND tenant = $2";
constexpr const char k_upsert_inbound[] =
    "INSERT INTO last_inbound AS l (tenant, conversation_digest, at_ms, subject_digest, peer) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, conversation_digest) DO UPDATE SET "
    "at_ms = GREATEST(l.at_ms, EXCLUDED.at_ms), "
    "subject_digest = COALESCE(EXCLUDED.subject_digest, l.subject_digest), "
    "peer = COALESCE(EXCLUDED.peer, l.peer)";
constexpr const char k_raise_window_head[] =
    "INSERT INTO window_heads AS h (tenant, seq) VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE "
    "SET seq = GREATEST(h.seq, EXCLUDED.seq)";

constexpr const char k_get[] =
    "SELECT " SB_OUTBOX_COLUMNS " FROM outbox WHERE id = $1 AND tenant = $2";
constexpr const char k_unfinished_from[] =
    "SELECT " SB_OUTBOX_COLUMNS
    " FROM outbox WHERE tenant = $1 AND channel = $2 AND state IN ('queued', 'sending') "
    "ORDER BY seq LIMIT $3";
constexpr const char k_unfinished_after[] =
    "SELECT " SB_OUTBOX_COLUMNS
    " FROM outbox WHERE tenant = $1 AND channel = $2 AND state IN ('queued', 'sending') "
    "AND seq > COALESCE((SELECT seq FROM outbox WHERE id = $4), 0) ORDER BY seq LIMIT $3";
constexpr const char k_by_platform[] =
    "SELECT " SB_OUTBOX_COLUMNS
    " FROM outbox WHERE tenant = $1 AND channel = $2 AND platform_digest = $3";
constexpr const char k_last_inbound[] =
    "SELECT at_ms FROM last_inbound WHERE tenant = $1 AND conversation_digest = $2";
constexpr const char k_peer[] =
    "SELECT peer FROM last_inbound WHERE tenant = $1 AND conversation_digest = $2";
constexpr const char k_window_head[] = "SELECT seq FROM window_heads WHERE tenant = $1";

constexpr const char k_erase_messages[] =
    "DELETE FROM outbox WHERE tenant = $1 AND subject_digest = $2";
constexpr const char k_erase_windows[] =
    "DELETE FROM last_inbound WHERE tenant = $1 AND subject_digest = $2";
constexpr const char k_expire_messages[] =
    "DELETE FROM outbox WHERE tenant = $1 AND updated_at_ms < $2 AND "
    "state NOT IN ('queued', 'sending')";
constexpr const char k_expire_windows[] =
    "DELETE FROM last_inbound WHERE tenant = $1 AND at_ms < $2";

// The key check: the first replica to open the outbox writes it, every later one (and every
// replica opening at the same moment, whose insert then does nothing) reads that one back.
constexpr const char k_write_key_check[] =
    "INSERT INTO outbox_meta (name, value) VALUES ('key_check', $1) ON CONFLICT (name) DO NOTHING";
constexpr const char k_read_key_check[] = "SELECT value FROM outbox_meta WHERE name = 'key_check'";

#undef SB_OUTBOX_COLUMNS

/// A `bytea` parameter, NULL for an empty value (the optional sealed and digest columns).
param bytes_or_null(const std::string& v) {
  return v.empty() ? param::null_value() : param::bytes(v);
}

/// A `bytea` column that may be NULL: empty for NULL.
result<std::string> optional_bytes(const rows& q, int i, int col) {
  if (q.is_null(i, col)) {
    return std::string();
  }
  return q.bytes(i, col);
}

class pg_outbox final : public outbox {
 public:
  pg_outbox(std::shared_ptr<pool> p, outbox_codec::keys keys, std::shared_ptr<const fences> f)
      : pool_(std::move(p)), keys_(std::move(keys)), fences_(std::move(f)) {}

  /// Writes the key check when there is none yet, and verifies the one there is.
  status check_key() {
    auto check = keys_.key_check();
    if (!check) {
      return check.err();
    }
    if (auto r = pool_->exec(k_write_key_check, {param::bytes(check.value())}); !r) {
      return r.err();
    }
    auto q = pool_->exec(k_read_key_check, {});
    if (!q) {
      return q.err();
    }
    if (q->size() != 1) {
      return {errc::internal, "the PostgreSQL outbox has no key check"};
    }
    auto stored = q->bytes(0, 0);
    if (!stored) {
      return stored.err();
    }
    return keys_.verify_key_check(stored.value());
  }

  status apply(std::vector<outbox_write>& batch) override {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    connection& conn = **c;
    transaction tx(conn);  // an early return rolls back: all or nothing
    if (auto st = tx.begin(); !st) {
      return st;
    }
    // Window rows are derived from the event log (repaired from it at start), so a batch of
    // them alone need not wait for its commit to reach the disk (or a synchronous standby).
    if (window_only(batch)) {
      if (auto r = conn.exec("SET LOCAL synchronous_commit = off"); !r) {
        return r.err();
      }
    }
    for (auto& w : batch) {
      status st;
      switch (w.what) {
        case outbox_write::kind::put:
          st = put_one(conn, w);
          break;
        case outbox_write::kind::update:
          st = update_one(conn, w);
          break;
        case outbox_write::kind::last_inbound:
          st = upsert_inbound(conn, w);
          break;
        case outbox_write::kind::window_head:
          if (auto r = conn.exec(k_raise_window_head, {w.tenant, bigint(w.seq)}); !r) {
            st = r.err();
          }
          break;
      }
      if (!st) {
        return st;
      }
    }
    return tx.commit();
  }

  result<outbound_record> get(const std::string& tenant, const std::string& id) override {
    auto q = pool_->exec(k_get, {id, tenant});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return error{errc::not_found, "no such message"};
    }
    return row(*q, 0);
  }

  result<std::vector<outbound_record>> unfinished(const std::string& tenant,
                                                  const std::string& channel, std::size_t limit,
                                                  const std::string& after_id) override {
    const std::string n = bigint(static_cast<std::uint64_t>(limit));
    auto q = after_id.empty() ? pool_->exec(k_unfinished_from, {tenant, channel, n})
                              : pool_->exec(k_unfinished_after, {tenant, channel, n, after_id});
    if (!q) {
      return q.err();
    }
    std::vector<outbound_record> out;
    out.reserve(static_cast<std::size_t>(q->size()));
    for (int i = 0; i < q->size(); ++i) {
      auto r = row(*q, i);
      if (!r) {
        return r.err();
      }
      out.push_back(std::move(r.value()));
    }
    return out;
  }

  result<outbound_record> find_by_platform_id(const std::string& tenant, const std::string& channel,
                                              const std::string& platform_message_id) override {
    if (platform_message_id.empty()) {
      return error{errc::not_found, "no message with that platform id"};
    }
    const auto digest = keys_.digest_of(k_kind_platform_id, tenant, channel, platform_message_id);
    auto q = pool_->exec(k_by_platform, {tenant, channel, param::bytes(digest)});
    if (!q) {
      return q.err();
    }
    return first_matching(
        *q, [&](const outbound_record& r) { return r.platform_message_id == platform_message_id; });
  }

  result<std::uint64_t> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (subject.empty()) {
      return std::uint64_t{0};
    }
    const auto digest = keys_.digest_of(k_kind_subject, tenant, subject);
    return delete_both(k_erase_messages, k_erase_windows, tenant, param::bytes(digest));
  }

  result<std::uint64_t> expire(const std::string& tenant, timestamp cutoff) override {
    const std::string at = bigint(cutoff.unix_ms);
    return delete_both(k_expire_messages, k_expire_windows, tenant, at);
  }

  result<outbound_record> find_by_idempotency_key(const std::string& tenant,
                                                  const std::string& caller,
                                                  const std::string& key) override {
    if (key.empty()) {
      return error{errc::not_found, "no message with that idempotency key"};
    }
    const auto digest = keys_.digest_of(k_kind_idempotency, tenant, caller, key);
    auto q = pool_->exec(k_find_idempotent, {tenant, caller, param::bytes(digest)});
    if (!q) {
      return q.err();
    }
    return first_matching(*q, [&](const outbound_record& r) { return r.idempotency_key == key; });
  }

  result<std::string> peer_of(const std::string& tenant, const std::string& conversation) override {
    const auto digest = keys_.digest_of(k_kind_conversation, tenant, conversation);
    auto q = pool_->exec(k_peer, {tenant, param::bytes(digest)});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0 || q->is_null(0, 0)) {
      return error{errc::not_found, "no peer known for that conversation"};
    }
    auto sealed = q->bytes(0, 0);
    if (!sealed) {
      return sealed.err();
    }
    return keys_.open_peer(tenant, conversation, sealed.value());
  }

  result<std::optional<std::uint64_t>> window_head(const std::string& tenant) override {
    auto q = pool_->exec(k_window_head, {tenant});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return std::optional<std::uint64_t>{};
    }
    auto seq = q->int64(0, 0);
    if (!seq) {
      return seq.err();
    }
    return std::optional<std::uint64_t>{static_cast<std::uint64_t>(*seq)};
  }

  result<std::int64_t> last_inbound(const std::string& tenant,
                                    const std::string& conversation) override {
    const auto digest = keys_.digest_of(k_kind_conversation, tenant, conversation);
    auto q = pool_->exec(k_last_inbound, {tenant, param::bytes(digest)});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return std::int64_t{0};
    }
    return q->int64(0, 0);
  }

 private:
  status put_one(connection& c, outbox_write& w) {
    auto& r = w.record;
    auto sealed = keys_.seal(r);
    if (!sealed) {
      return sealed.err();
    }
    const auto& s = sealed.value();
    const std::string attempts = std::to_string(r.attempts);
    const std::string created = bigint(r.created_at.unix_ms);
    const std::string updated = bigint(r.updated_at.unix_ms);
    for (int attempt = 0; attempt < k_claim_attempts; ++attempt) {
      auto ins =
          c.exec(k_insert, {r.id, r.tenant, r.channel, r.purpose, to_string(r.state), attempts,
                            r.error_code, created, updated, r.caller, param::bytes(s.record),
                            bytes_or_null(s.platform_message_id), bytes_or_null(s.error_title),
                            bytes_or_null(s.subject_digest), bytes_or_null(s.idempotency_digest),
                            bytes_or_null(s.platform_digest)});
      if (!ins) {
        return ins.err();
      }
      if (ins->size() == 1) {
        w.created = true;
        return {};
      }
      if (s.idempotency_digest.empty()) {
        return {errc::internal, "outbox: the insert of message " + r.id + " stored nothing"};
      }
      // The key is claimed (committed by another transaction, or earlier in this one): a replay.
      // READ COMMITTED: this statement sees what the insert waited for.
      auto q = c.exec(k_find_idempotent, {r.tenant, r.caller, param::bytes(s.idempotency_digest)});
      if (!q) {
        return q.err();
      }
      if (q->size() == 0) {
        continue;  // deleted in between: claim it again
      }
      auto earlier = row(*q, 0);
      if (!earlier) {
        return earlier.err();
      }
      return outbox_codec::replay(w, std::move(earlier).value());
    }
    return {errc::unavailable,
            "outbox: the message with this idempotency key kept being deleted while it was put"};
  }

  status update_one(connection& c, outbox_write& w) {
    const auto& u = w.update;
    w.applied = false;
    auto locked = c.exec(k_lock_state, {u.id, u.tenant});
    if (!locked) {
      return locked.err();
    }
    if (locked->size() == 0) {
      return {};
    }
    const auto current = parse_outbound_state(locked->text(0, 0)).value_or(outbound_state::queued);
    if (u.forward_only && outbox_codec::rank(u.state) <= outbox_codec::rank(current)) {
      return {};
    }
    // The platform id's digest names the channel; the update does not carry it.
    const std::string channel(locked->text(0, 1));
    if (u.by_sender && fences_ && fences_->held) {
      // The sender's own outcome: only while this replica holds the channel's sender lease, in
      // its generation, the lease row locked for sharing until COMMIT (a takeover waits).
      const auto held = fences_->held(sender_lease(u.tenant, channel));
      if (!held) {
        return {};
      }
      auto holding = hold(c, *held);
      if (!holding) {
        return holding.err();
      }
      if (!*holding) {
        return {};
      }
    }
    auto sealed = keys_.seal(u, channel);
    if (!sealed) {
      return sealed.err();
    }
    const auto& s = sealed.value();
    const std::string attempts = u.attempts ? std::to_string(*u.attempts) : std::string();
    const std::string updated = bigint(u.updated_at.unix_ms);
    auto q =
        c.exec(k_update, {u.id, u.tenant, to_string(u.state),
                          u.attempts ? param(attempts) : param::null_value(),
                          u.platform_message_id ? "true" : "false",
                          bytes_or_null(s.platform_digest), bytes_or_null(s.platform_message_id),
                          u.error_code ? param(*u.error_code) : param::null_value(),
                          u.error_title ? "true" : "false", bytes_or_null(s.error_title), updated});
    if (!q) {
      return q.err();
    }
    w.applied = true;
    return {};
  }

  status upsert_inbound(connection& c, const outbox_write& w) {
    auto sealed = keys_.seal_inbound(w);
    if (!sealed) {
      return sealed.err();
    }
    const auto& s = sealed.value();
    // NULL keeps the stored subject and peer.
    auto q = c.exec(k_upsert_inbound,
                    {w.tenant, param::bytes(s.conversation_digest), bigint(w.at_ms),
                     bytes_or_null(s.subject_digest), bytes_or_null(s.peer)});
    if (!q) {
      return q.err();
    }
    return {};
  }

  /// Deletes the messages (`messages`) and window rows (`windows`) of `tenant` that `arg` ($2)
  /// selects, in one transaction; returns how many messages. The deleted rows stay in the
  /// tables' pages as dead tuples until VACUUM reclaims them: PostgreSQL has nothing like the
  /// SQLite outbox's WAL truncation, and they were sealed and digested as every row is.
  result<std::uint64_t> delete_both(const char* messages, const char* windows,
                                    const std::string& tenant, param arg) {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    connection& conn = **c;
    transaction tx(conn);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    auto n = conn.exec(messages, {tenant, arg});
    if (!n) {
      return n.err();
    }
    if (auto r = conn.exec(windows, {tenant, arg}); !r) {
      return r.err();
    }
    if (auto st = tx.commit(); !st) {
      return st.err();
    }
    return n->affected();
  }

  /// Row `i` of a query over the outbox's columns, its sealed values opened.
  result<outbound_record> row(const rows& q, int i) const {
    outbound_record r;
    r.id = std::string(q.text(i, 0));
    r.tenant = std::string(q.text(i, 1));
    r.channel = std::string(q.text(i, 2));
    r.purpose = std::string(q.text(i, 3));
    r.state = parse_outbound_state(q.text(i, 4)).value_or(outbound_state::failed);
    auto attempts = q.int64(i, 5);
    r.error_code = std::string(q.text(i, 6));
    auto created = q.int64(i, 7);
    auto updated = q.int64(i, 8);
    r.caller = std::string(q.text(i, 9));
    auto record = q.bytes(i, 10);
    auto platform_id = optional_bytes(q, i, 11);
    auto error_title = optional_bytes(q, i, 12);
    if (!attempts || !created || !updated || !record || !platform_id || !error_title) {
      return error{errc::internal, "outbox: the row of message " + r.id + " is malformed"};
    }
    r.attempts = static_cast<std::uint32_t>(*attempts);
    r.created_at = timestamp::from_millis(*created);
    r.updated_at = timestamp::from_millis(*updated);
    if (auto st = keys_.open(r, *record, *platform_id, *error_title); !st) {
      return st.err();
    }
    return r;
  }

  /// The first row of `q` whose opened record satisfies `matches` (a digest matched: this rules
  /// out a collision), or `errc::not_found`.
  template <class Match>
  result<outbound_record> first_matching(const rows& q, Match matches) const {
    for (int i = 0; i < q.size(); ++i) {
      auto r = row(q, i);
      if (!r) {
        return r.err();
      }
      if (matches(r.value())) {
        return r;
      }
    }
    return error{errc::not_found, "no such message"};
  }

  std::shared_ptr<pool> pool_;
  const outbox_codec::keys keys_;
  const std::shared_ptr<const fences> fences_;
};

}  // namespace

result<std::shared_ptr<outbox>> make_outbox(std::shared_ptr<pool> connections,
                                            const std::string& root_key,
                                            std::shared_ptr<const fences> fenced) {
  outbox_codec::keys keys;
  if (auto st = keys.derive(root_key); !st) {
    return st.err();
  }
  auto box =
      std::make_shared<pg_outbox>(std::move(connections), std::move(keys), std::move(fenced));
  if (auto st = box->check_key(); !st) {
    return st.err();
  }
  return std::shared_ptr<outbox>(std::move(box));
}

}  // namespace sb::store::pg

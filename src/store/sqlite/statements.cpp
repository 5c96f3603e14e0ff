// The SQL of every statement the SQLite log prepares once and runs many times: the writer's
// (prepared in the migration's transaction, once the schema is current) and each reader's. The
// tables they read and write are in store/sqlite/schema.cpp.
#include <string>
#include <utility>

#include "store/sqlite/database.hpp"
#include "store/sqlite/reader_pool.hpp"

namespace sb::store::sqlite {

namespace {

// `seg (s)`: the segments of tenant ?1's subject index (schema v7, schema.cpp: an entry of seq
// q is in segment q >> 14), from its oldest event's to its last indexed one's. A subject's entries
// are found with one primary-key seek per segment: `x.segment = seg.s AND x.subject_key = <row>`.
const std::string k_segments =
    "WITH RECURSIVE seg (s) AS (SELECT COALESCE((SELECT MIN(seq) FROM events "
    "WHERE tenant = ?1), 0) >> 14 UNION ALL SELECT s + 1 FROM seg "
    "WHERE s < (SELECT indexed FROM tenant_heads WHERE tenant = ?1) >> 14) ";

// The indexed seqs of key row `key_row` (an SQL expression), with k_segments.
std::string subject_seqs(const char* key_row) {
  return std::string("(SELECT x.seq FROM seg, subject_events x WHERE x.segment = seg.s AND "
                     "x.subject_key = ") +
         key_row + ")";
}
const std::string k_subject_seqs = subject_seqs("?2");

}  // namespace

status prepare_writer(sqlite3* db, writer_statements& w) {
  const std::pair<stmt*, std::string> statements[] = {
      {&w.begin, "BEGIN IMMEDIATE"},
      {&w.commit, "COMMIT"},
      {&w.rollback, "ROLLBACK"},
      {&w.find_dedupe, "SELECT seq FROM dedupe WHERE gen = ?1 AND key = ?2"},
      {&w.insert_dedupe,
       "INSERT OR IGNORE INTO dedupe (key, tenant, channel, seq, created_at_ms, gen) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&w.set_deduped, "UPDATE tenant_heads SET deduped = ?2 WHERE tenant = ?1"},
      {&w.insert_event,
       "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
       "received_at_ms, json, subject, subject_key) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&w.upsert_head,
       "INSERT INTO tenant_heads (tenant, seq) VALUES (?1, ?2) "
       "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq"},
      {&w.insert_quarantine,
       "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body, bytes, charged, "
       "headers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&w.quarantine_used, "SELECT bytes FROM quarantine_usage WHERE tenant = ?1 AND channel = ?2"},
      // The trigger quarantine_release gives the channel's quota the row's charge back.
      {&w.drop_quarantined,
       "DELETE FROM quarantine WHERE tenant = ?1 AND id = ?2 "
       "RETURNING channel, reason, received_at_ms, bytes"},
      {&w.drop_quarantine_of,
       "DELETE FROM quarantine WHERE tenant = ?1 AND channel = ?2 RETURNING bytes"},
      {&w.upsert_disabled,
       "INSERT INTO subscriber_disabled (tenant, subscriber, reason, disabled_at_ms) "
       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant, subscriber) DO UPDATE SET "
       "reason = excluded.reason, disabled_at_ms = excluded.disabled_at_ms"},
      {&w.delete_disabled, "DELETE FROM subscriber_disabled WHERE tenant = ?1 AND subscriber = ?2"},
      {&w.upsert_cursor,
       "INSERT INTO cursors (tenant, subscriber, seq) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (tenant, subscriber) DO UPDATE SET seq = excluded.seq"},
      // The subject comes from the event, so erasing the subject finds its dead letters.
      {&w.insert_dead_letter,
       "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
       "failed_at_ms, subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE((SELECT subject "
       "FROM events WHERE tenant = ?1 AND seq = ?3), ''))"},
      {&w.take_dead_letter,
       "DELETE FROM dead_letters WHERE id = ?1 AND tenant = ?2 AND subscriber = ?3 "
       "RETURNING seq, event_id, attempts, last_error, failed_at_ms"},
      {&w.find_key, "SELECT id, wrapped_key FROM subject_keys WHERE tenant = ?1 AND subject = ?2"},
      {&w.insert_key,
       "INSERT INTO subject_keys (tenant, subject, channel, wrapped_key, created_at_ms) "
       "VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&w.upsert_consent,
       "INSERT INTO consent (tenant, subject, granted, restricted, updated_at_ms) "
       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, subject) DO UPDATE SET "
       "granted = excluded.granted, restricted = excluded.restricted, "
       "updated_at_ms = excluded.updated_at_ms"},
      {&w.insert_audit,
       "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&w.upsert_deletion_request,
       "INSERT INTO deletion_requests (code, tenant, channel, subject, state, requested_at_ms, "
       "completed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (code) DO UPDATE SET "
       "tenant = excluded.tenant, channel = excluded.channel, subject = excluded.subject, "
       "state = excluded.state, requested_at_ms = excluded.requested_at_ms, "
       "completed_at_ms = excluded.completed_at_ms"},
      {&w.insert_privacy_request,
       "INSERT INTO privacy_requests (digest, tenant, channel, kind, code, done_at_ms) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"},
      {&w.erase_dead_letters_by_subject,
       "DELETE FROM dead_letters WHERE tenant = ?1 AND subject = ?2 AND subject <> ''"},
      // ?2 = the subject's key row from here on, its index brought up to date. Dead letters
      // added before their event's subject was known (none are expected).
      {&w.erase_dead_letters_by_event,
       k_segments + "DELETE FROM dead_letters WHERE tenant = ?1 AND seq IN " + k_subject_seqs},
      // The dedupe keys the subject's events leave behind as tombstones.
      {&w.count_tombstones,
       k_segments + "SELECT COUNT(*) FROM events e WHERE e.tenant = ?1 AND e.seq IN " +
           k_subject_seqs + " AND e.dedupe_key IS NOT NULL"},
      // The trigger events_unindex takes the subject_events rows along.
      {&w.erase_events, k_segments + "DELETE FROM events WHERE tenant = ?1 AND seq IN " +
                            k_subject_seqs},
      {&w.erase_key, "DELETE FROM subject_keys WHERE tenant = ?1 AND id = ?2 AND subject <> ''"},
      {&w.indexed_seq, "SELECT indexed FROM tenant_heads WHERE tenant = ?1"},
      {&w.index_events,
       "INSERT OR IGNORE INTO subject_events (segment, subject_key, seq) "
       "SELECT seq >> 14, subject_key, seq FROM events WHERE tenant = ?1 AND seq > ?2 "
       "AND seq <= ?3 AND subject_key IS NOT NULL ORDER BY seq >> 14, subject_key, seq"},
      {&w.set_indexed_seq, "UPDATE tenant_heads SET indexed = ?2 WHERE tenant = ?1"},
      {&w.erase_consent, "DELETE FROM consent WHERE tenant = ?1 AND subject = ?2"},
      {&w.insert_erased,
       "INSERT OR IGNORE INTO erased_subjects (tenant, subject, erased_at_ms) "
       "VALUES (?1, ?2, ?3)"},
      {&w.channel_subjects,
       "SELECT subject FROM events WHERE tenant = ?1 AND channel = ?2 AND subject <> '' "
       "UNION SELECT subject FROM subject_keys WHERE tenant = ?1 AND channel = ?2 "
       "AND subject <> ''"},
      // A channel's events but its privacy receipts (rules::is_privacy_type), which outlive
      // every later request.
      {&w.channel_dead_letters,
       "DELETE FROM dead_letters WHERE tenant = ?1 AND seq IN (SELECT seq FROM events "
       "WHERE tenant = ?1 AND channel = ?2 AND substr(type, 1, 8) <> 'privacy.')"},
      {&w.channel_tombstones,
       "SELECT COUNT(*) FROM events WHERE tenant = ?1 AND channel = ?2 "
       "AND substr(type, 1, 8) <> 'privacy.' AND dedupe_key IS NOT NULL"},
      {&w.channel_events,
       "DELETE FROM events WHERE tenant = ?1 AND channel = ?2 "
       "AND substr(type, 1, 8) <> 'privacy.'"},
      {&w.channel_quarantine, "DELETE FROM quarantine WHERE tenant = ?1 AND channel = ?2"},
      {&w.expire_events,
       "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE tenant = ?1 "
       "AND received_at_ms < ?2 LIMIT ?3)"},
      {&w.next_dedupe_channel,
       "SELECT channel FROM dedupe WHERE tenant = ?1 AND channel > ?2 ORDER BY channel LIMIT 1"},
      {&w.expire_dedupe,
       "DELETE FROM dedupe WHERE (gen, key) IN (SELECT gen, key FROM dedupe WHERE tenant = ?1 "
       "AND channel = ?4 AND created_at_ms < ?2 LIMIT ?3)"},
      {&w.expire_dead_letters,
       "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE tenant = ?1 "
       "AND failed_at_ms < ?2 LIMIT ?3)"},
      {&w.expire_quarantine,
       "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE tenant = ?1 "
       "AND received_at_ms < ?2 LIMIT ?3)"},
  };
  for (const auto& [s, sql] : statements) {
    if (auto st = prepare(db, sql.c_str(), *s); !st) {
      return st;
    }
  }
  return {};
}

status prepare_reader(reader& r) {
  auto* db = r.conn.db;
  const std::pair<stmt*, std::string> statements[] = {
      {&r.read_events,
       "SELECT seq, type, subject, json FROM events WHERE tenant = ?1 AND "
       "seq > ?2 ORDER BY seq LIMIT ?3"},
      {&r.quarantined,
       "SELECT id, channel, reason, received_at_ms, body, headers FROM quarantine "
       "WHERE tenant = ?1 ORDER BY id"},
      {&r.quarantine_list,
       "SELECT id, channel, reason, received_at_ms, bytes FROM quarantine WHERE tenant = ?1 "
       "AND id > ?2 ORDER BY id LIMIT ?3"},
      {&r.quarantine_list_channel,
       "SELECT id, channel, reason, received_at_ms, bytes FROM quarantine WHERE tenant = ?1 "
       "AND channel = ?4 AND id > ?2 ORDER BY id LIMIT ?3"},
      {&r.quarantined_one,
       "SELECT channel, reason, received_at_ms, body, headers FROM quarantine "
       "WHERE tenant = ?1 AND id = ?2"},
      {&r.cursor, "SELECT seq FROM cursors WHERE tenant = ?1 AND subscriber = ?2"},
      {&r.disabled,
       "SELECT reason, disabled_at_ms FROM subscriber_disabled WHERE tenant = ?1 "
       "AND subscriber = ?2"},
      {&r.dead_letters,
       "SELECT id, seq, event_id, attempts, last_error, failed_at_ms FROM dead_letters "
       "WHERE tenant = ?1 AND subscriber = ?2 AND id > ?3 ORDER BY id LIMIT ?4"},
      {&r.find_key, "SELECT id, wrapped_key FROM subject_keys WHERE tenant = ?1 AND subject = ?2"},
      // A subject's events after `after` (0: all of them, the export): the index from the
      // segment of `after` on, and the recent events not in it yet (at most k_index_lag). A
      // visitor's stream reads its conversation page by page: the cost is the pages after its
      // cursor, not the history.
      {&r.subject_events_after,
       "WITH RECURSIVE seg (s) AS (SELECT MAX(COALESCE((SELECT MIN(seq) FROM events "
       "WHERE tenant = ?1), 0), ?4) >> 14 UNION ALL SELECT s + 1 FROM seg "
       "WHERE s < (SELECT indexed FROM tenant_heads WHERE tenant = ?1) >> 14), "
       "k (id) AS (SELECT id FROM subject_keys WHERE tenant = ?1 AND subject = ?2) "
       "SELECT seq, type, json FROM events WHERE tenant = ?1 AND seq > ?4 AND seq IN " +
           subject_seqs("(SELECT id FROM k)") + " "
       "UNION ALL SELECT seq, type, json FROM events, k WHERE tenant = ?1 AND seq > "
       "MAX(?4, COALESCE((SELECT indexed FROM tenant_heads WHERE tenant = ?1), 0)) "
       "AND subject_key = k.id ORDER BY 1 LIMIT ?3"},
      {&r.erased_subjects,
       "SELECT subject FROM erased_subjects WHERE tenant = ?1 ORDER BY erased_at_ms, subject"},
      {&r.consents,
       "SELECT subject, granted, restricted, updated_at_ms FROM consent WHERE tenant = ?1 "
       "ORDER BY subject"},
      {&r.audit_log,
       "SELECT id, at_ms, actor, action, subject, outcome, detail FROM audit "
       "WHERE tenant = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
      {&r.find_deletion_request,
       "SELECT tenant, channel, subject, state, requested_at_ms, completed_at_ms "
       "FROM deletion_requests WHERE code = ?1"},
      {&r.find_privacy_request,
       "SELECT tenant, channel, kind, code, done_at_ms FROM privacy_requests WHERE digest = ?1"},
  };
  for (const auto& [s, sql] : statements) {
    if (auto st = prepare(db, sql.c_str(), *s); !st) {
      return st;
    }
  }
  return {};
}

}  // namespace sb::store::sqlite

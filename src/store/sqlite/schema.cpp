// The SQLite log's schema, version by version, and the migration chain that brings a store of any
// earlier version (or a new one) to the current version in one transaction. Every version's SQL
// stays here verbatim: a store written by any release opens with this one.
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/log.hpp"
#include "store/codec.hpp"
#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

namespace {

constexpr int k_schema_version = 10;

// Rows the v1 -> v3 migration loads into memory at a time.
constexpr std::int64_t k_migration_batch = 1000;

// `meta.key_check` (store/codec.hpp) is sealed under the wrapping key: a store opened with
// another master key fails to open it, before anything is written.
constexpr std::string_view k_key_check_text = k_store_key_check_text;
constexpr std::string_view k_key_check_aad = k_store_key_check_aad;
constexpr const char* k_wrong_master_key =
    "storage.master_key does not match the key this store was created with";

// Version 1. `tenant_heads` keeps each tenant's last seq even when retention has deleted all of
// its events, so a seq is never issued twice. `dedupe` is separate from `events` so retention can
// expire keys and events independently. AUTOINCREMENT: a quarantine or dead-letter id is never
// reused after its row is deleted (redrive refers to dead letters by id).
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  channel TEXT NOT NULL,
  dedupe_key TEXT,
  type TEXT NOT NULL,
  conversation TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX events_received_at ON events (received_at_ms);
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE dedupe (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel, key)
) WITHOUT ROWID;
CREATE INDEX dedupe_created_at ON dedupe (created_at_ms);
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  body BLOB
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
CREATE TABLE cursors (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, subscriber)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at_ms INTEGER NOT NULL
);
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
PRAGMA user_version = 1;
)sql";

// Version 2 (from 1): encryption at rest and the privacy tables.
// - `events.json` (TEXT in v1) holds the sealed payload, a BLOB: the conversation and the JSON.
//   `events.conversation` is '' since: it names the peer (a WhatsApp peer is a phone number).
// - Dedupe keys (`dedupe.key`, `events.dedupe_key`) are keyed digests (a WhatsApp message id
//   encodes the sender's phone number): equality is all deduplication needs.
// - `quarantine.body` holds the sealed body.
// - `subject` on events and dead letters lets an erasure find a subject's rows ('' = none); its
//   dedupe keys are found through its events' `dedupe_key`, which spares every append a second
//   random-order index insert. Partial indexes leave subject-less rows out; queries repeat
//   `subject <> ''` so the planner uses them.
// - `subject_keys` holds the data keys, wrapped; its `channel` (where the subject was first seen)
//   keeps a channel erasure complete after retention removed the subject's events.
// - Retention sweeps one tenant at a time, hence the (tenant, time) indexes.
constexpr const char* k_schema_v2 = R"sql(
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN subject TEXT NOT NULL DEFAULT '';
DROP INDEX events_received_at;
CREATE INDEX events_received_at ON events (tenant, received_at_ms);
CREATE INDEX events_subject ON events (tenant, subject, seq) WHERE subject <> '';
CREATE TABLE dedupe_v2 (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel, key)
) WITHOUT ROWID;
INSERT INTO dedupe_v2 (tenant, channel, key, seq, created_at_ms)
  SELECT tenant, channel, sb_dedupe_digest(tenant, channel, key), seq, created_at_ms FROM dedupe;
DROP TABLE dedupe;
ALTER TABLE dedupe_v2 RENAME TO dedupe;
CREATE INDEX dedupe_created_at ON dedupe (tenant, created_at_ms);
CREATE INDEX dead_letters_subject ON dead_letters (tenant, subject) WHERE subject <> '';
CREATE INDEX dead_letters_failed_at ON dead_letters (tenant, failed_at_ms);
CREATE INDEX quarantine_received_at ON quarantine (tenant, received_at_ms);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE subject_keys (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  channel TEXT NOT NULL,
  wrapped_key BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
CREATE INDEX subject_keys_channel ON subject_keys (tenant, channel) WHERE subject <> '';
CREATE TABLE consent (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  granted TEXT NOT NULL,
  restricted INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, id);
CREATE TABLE deletion_requests (
  code TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  subject TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The last step of the migration, once the events' subjects are known.
constexpr const char* k_schema_v2_subjects = R"sql(
UPDATE dead_letters SET subject = COALESCE(
  (SELECT e.subject FROM events e WHERE e.tenant = dead_letters.tenant AND e.seq = dead_letters.seq),
  '');
)sql";

// Version 3 (from 2): the same data, laid out for cheaper appends. In version 2 every event added
// two entries at random places of large B-trees (its subject to the subject index, its dedupe
// digest to `dedupe`), each dirtying a page of its own in every commit: together they cost more
// than the rest of the append (docs/operations.md, "Cost").
// - `subject_keys` gets an integer id; an event names its subject's key row (`subject_key`, NULL
//   when it has no subject).
// - The subject index is the table `subject_events` (key row, seq), filled in bulk: an append
//   brings its tenant's index up to date once more than k_index_lag of the tenant's events are
//   not in it, with one insert sorted by key row, so a subject with several recent events dirties
//   its index page once rather than once per event. `tenant_heads.indexed` is the last seq the
//   index covers. An erasure first brings the index up to date, in its own transaction; an export
//   reads the index plus the events after `indexed` (at most k_index_lag, by primary key). The
//   trigger takes a deleted event's entry along (erasure, channel erasure, retention).
// - `dedupe` is keyed by the digest alone (it covers tenant and channel): 16 bytes instead of
//   (tenant, channel, digest). Its index (tenant, channel, created_at_ms), appended to in order,
//   serves a channel's erasure and retention.
constexpr const char* k_schema_v3 = R"sql(
CREATE TABLE subject_keys_v3 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  channel TEXT NOT NULL,
  wrapped_key BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  UNIQUE (tenant, subject)
);
INSERT INTO subject_keys_v3 (tenant, subject, channel, wrapped_key, created_at_ms)
  SELECT tenant, subject, channel, wrapped_key, created_at_ms FROM subject_keys
  ORDER BY tenant, subject;
DROP TABLE subject_keys;
ALTER TABLE subject_keys_v3 RENAME TO subject_keys;
CREATE INDEX subject_keys_channel ON subject_keys (tenant, channel) WHERE subject <> '';
ALTER TABLE events ADD COLUMN subject_key INTEGER;
UPDATE events SET subject_key = (SELECT k.id FROM subject_keys k
  WHERE k.tenant = events.tenant AND k.subject = events.subject) WHERE subject <> '';
DROP INDEX events_subject;
CREATE TABLE subject_events (
  subject_key INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (subject_key, seq)
) WITHOUT ROWID;
ALTER TABLE tenant_heads ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER events_unindex AFTER DELETE ON events WHEN old.subject_key IS NOT NULL BEGIN
  DELETE FROM subject_events WHERE subject_key = old.subject_key AND seq = old.seq;
END;
CREATE TABLE dedupe_v3 (
  key BLOB PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO dedupe_v3 (key, tenant, channel, seq, created_at_ms)
  SELECT key, tenant, channel, seq, created_at_ms FROM dedupe;
DROP TABLE dedupe;
ALTER TABLE dedupe_v3 RENAME TO dedupe;
CREATE INDEX dedupe_created_at ON dedupe (tenant, channel, created_at_ms);
)sql";

// The last step of the migration to version 3, once the events' key rows are known: every event
// so far is indexed.
constexpr const char* k_schema_v3_index = R"sql(
INSERT OR IGNORE INTO subject_events (subject_key, seq)
  SELECT subject_key, seq FROM events WHERE subject_key IS NOT NULL ORDER BY subject_key, seq;
UPDATE tenant_heads SET indexed = seq;
)sql";

// Version 4 (from 3): the platforms' privacy requests carried out (Shopify's privacy webhooks,
// Meta's data-deletion callback), by keyed digest, so that a replay of one (under a new webhook
// id, or the same signed_request again) is answered as a duplicate and does nothing again. Kept
// for good: retention does not touch them. Additive only.
constexpr const char* k_schema_v4_privacy_requests = R"sql(
CREATE TABLE privacy_requests (
  digest BLOB PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  kind TEXT NOT NULL,
  code TEXT NOT NULL,
  done_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 5 (from 4): a byte quota on each channel's quarantine, what re-ingesting a quarantined
// body needs, and push subscribers disabled by their receiver (410 Gone) across restarts.
// - `quarantine.bytes` is the body's size; `charged` what the row counts against its channel's
//   quota (`quarantine_charge`: body, kept headers, reason and a fixed row cost); `headers` the
//   sealed headers the channel's adapter reads (NULL: none kept, as for every older row).
// - `quarantine_usage` holds each channel's charged bytes, kept exact by two triggers in the
//   transaction of every insert and delete (quarantine, purge, re-ingest, channel erasure,
//   retention), so the quota check is one primary-key read instead of a SUM over the channel's
//   rows (docs/operations.md, "Quarantine").
// - Rows of older versions count their stored (sealed) size, plus the row cost.
// - `subscriber_disabled` holds the subscribers whose receiver answered 410, until re-enabled.
constexpr const char* k_schema_v5 = R"sql(
ALTER TABLE quarantine ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quarantine ADD COLUMN charged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE quarantine ADD COLUMN headers BLOB;
CREATE INDEX quarantine_channel ON quarantine (tenant, channel, id);
CREATE TABLE quarantine_usage (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel)
) WITHOUT ROWID;
UPDATE quarantine SET bytes = COALESCE(length(CAST(body AS BLOB)), 0),
  charged = COALESCE(length(CAST(body AS BLOB)), 0) + length(CAST(reason AS BLOB)) + 256;
INSERT INTO quarantine_usage (tenant, channel, bytes)
  SELECT tenant, channel, SUM(charged) FROM quarantine GROUP BY tenant, channel;
CREATE TRIGGER quarantine_charge AFTER INSERT ON quarantine BEGIN
  INSERT INTO quarantine_usage (tenant, channel, bytes) VALUES (new.tenant, new.channel, new.charged)
    ON CONFLICT (tenant, channel) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER quarantine_release AFTER DELETE ON quarantine BEGIN
  UPDATE quarantine_usage SET bytes = bytes - old.charged
    WHERE tenant = old.tenant AND channel = old.channel;
END;
CREATE TABLE subscriber_disabled (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  reason TEXT NOT NULL,
  disabled_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subscriber)
) WITHOUT ROWID;
)sql";

// Version 6 (from 5): dedupe keys claimed in memory and merged into `dedupe` in bulk. In version 5
// every append inserted its digest at a random place of `dedupe`, dirtying a page of its own:
// 4 KiB of WAL (and later of checkpoint) per event, three quarters of what an append wrote
// (docs/performance.md). Since version 6 an append claims a key against `dedupe` plus the keys
// claimed and not merged yet (held by the writer: store/sqlite/dedupe_claims.hpp); the digest is
// in the event's row already (`events.dedupe_key`). Merge rounds insert the claims sorted, one
// slice of the key space per append, so each page of `dedupe` is written once per round rather
// than once per key. `tenant_heads.deduped` is the last seq whose key is surely in `dedupe` (moved
// by the last step of a round): at open, the keys of the events after it are claimed again, so a
// crash loses no claim. Additive only: every key of an older store is in `dedupe` already.
constexpr const char* k_schema_v6 = R"sql(
ALTER TABLE tenant_heads ADD COLUMN deduped INTEGER NOT NULL DEFAULT 0;
UPDATE tenant_heads SET deduped = seq;
)sql";

// Version 7 (from 6): the subject index in segments of 16,384 seqs. In version 6 its key was
// (subject key row, seq): a catch-up of k_index_lag events (store/sqlite/event_log.cpp) inserted
// into as many places as it had subjects, all over the index, so past a million events it wrote
// most of the index's pages every time: 31 of the 100 WAL frames per 64-event commit at 1.2
// million events, and growing with the store (docs/performance.md, "Bytes per event"). Keyed by
// (seq >> 14, key row, seq), a catch-up writes only into the newest segment, whose pages are few
// and stay few. A subject's events are found with one seek per segment (statements.cpp), which
// an export or an erasure can afford: 6,000 seeks at 100 million events.
constexpr const char* k_schema_v7 = R"sql(
CREATE TABLE subject_events_v7 (
  segment INTEGER NOT NULL,
  subject_key INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (segment, subject_key, seq)
) WITHOUT ROWID;
INSERT INTO subject_events_v7 (segment, subject_key, seq)
  SELECT seq >> 14, subject_key, seq FROM subject_events ORDER BY seq >> 14, subject_key, seq;
DROP TRIGGER events_unindex;
DROP TABLE subject_events;
ALTER TABLE subject_events_v7 RENAME TO subject_events;
CREATE TRIGGER events_unindex AFTER DELETE ON events WHEN old.subject_key IS NOT NULL BEGIN
  DELETE FROM subject_events
    WHERE segment = old.seq >> 14 AND subject_key = old.subject_key AND seq = old.seq;
END;
)sql";

// Version 8 (from 7): `dedupe` in generations (store/sqlite/dedupe_generations.hpp). In version
// 7 a merge round wrote into the whole table, so its cost per key grew with the table. Keyed by
// (gen, key), a round writes into the newest generation only. Every key of an older store is in
// generation 0. The created-at index is made again (the table is new).
constexpr const char* k_schema_v8 = R"sql(
CREATE TABLE dedupe_v8 (
  gen INTEGER NOT NULL,
  key BLOB NOT NULL,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (gen, key)
) WITHOUT ROWID;
INSERT INTO dedupe_v8 (gen, key, tenant, channel, seq, created_at_ms)
  SELECT 0, key, tenant, channel, seq, created_at_ms FROM dedupe ORDER BY key;
DROP TABLE dedupe;
ALTER TABLE dedupe_v8 RENAME TO dedupe;
CREATE INDEX dedupe_created_at ON dedupe (tenant, channel, created_at_ms);
)sql";

// Version 9 (from 8): the subjects an erasure removed (`privacy_store::erased_subjects`), written
// in the erasure's transaction: an erasure revokes the subject's web chat sessions, also after a
// restart. A subject id and a time, no content; kept for good (one row per erased subject).
constexpr const char* k_schema_v9 = R"sql(
CREATE TABLE IF NOT EXISTS erased_subjects (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  erased_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject)
) WITHOUT ROWID;
)sql";

// Version 10 (from 9): the tenants the control plane defines (store/definitions.hpp), one sealed
// document per tenant.
constexpr const char* k_schema_v10 = R"sql(
CREATE TABLE IF NOT EXISTS control_tenants (
  tenant TEXT PRIMARY KEY,
  document BLOB NOT NULL,
  updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The v3 index step, for the v7 layout: a version 1 store's index is built after its rows are
// sealed, when the schema is already current.
constexpr const char* k_schema_v7_index = R"sql(
INSERT OR IGNORE INTO subject_events (segment, subject_key, seq)
  SELECT seq >> 14, subject_key, seq FROM events WHERE subject_key IS NOT NULL
  ORDER BY seq >> 14, subject_key, seq;
UPDATE tenant_heads SET indexed = seq;
)sql";

/// sb_dedupe_digest(tenant, channel, key): `key_ring::dedupe_digest` for SQL (the v1 -> v2
/// migration rewrites the dedupe keys in SQL).
void sql_dedupe_digest(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const auto* keys = static_cast<const key_ring*>(sqlite3_user_data(ctx));
  std::string_view parts[3];
  for (int i = 0; i < argc && i < 3; ++i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    parts[i] = p == nullptr
                   ? std::string_view()
                   : std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
  }
  const auto digest = keys->dedupe_digest(parts[0], parts[1], parts[2]);
  sqlite3_result_blob(ctx, digest.data(), static_cast<int>(digest.size()), SQLITE_TRANSIENT);
}

status check_master_key(database& db) {
  return verify_key_check(db.writer.db, db.keys.wrap_key(), k_key_check_text, k_key_check_aad,
                          db.path + ": the key check is missing (not a Switchboard store?)",
                          k_wrong_master_key);
}

/// v1 -> v2: fills each event's subject from its JSON and seals the JSON and the quarantined
/// bodies, in the migration's transaction. Rows are loaded a batch at a time and updated after
/// the batch's statement is done, so no row is updated under a running scan of its table.
status seal_v1_rows(database& db) {
  sqlite3* writer = db.writer.db;
  stmt select_events;
  stmt update_event;
  stmt select_quarantine;
  stmt update_quarantine;
  const std::pair<stmt*, const char*> statements[] = {
      {&select_events,
       "SELECT tenant, seq, channel, received_at_ms, json, "
       "CASE WHEN json_valid(json) THEN json_extract(json, '$.subject') END, conversation, "
       "dedupe_key FROM events WHERE (tenant, seq) > (?1, ?2) ORDER BY tenant, seq LIMIT ?3"},
      {&update_event,
       "UPDATE events SET subject = ?3, json = ?4, conversation = '', subject_key = ?5, "
       "dedupe_key = CASE WHEN dedupe_key IS NULL THEN NULL "
       "ELSE sb_dedupe_digest(tenant, channel, dedupe_key) END WHERE tenant = ?1 AND seq = ?2"},
      {&select_quarantine,
       "SELECT id, tenant, channel, received_at_ms, body FROM quarantine WHERE id > ?1 "
       "ORDER BY id LIMIT ?2"},
      {&update_quarantine, "UPDATE quarantine SET body = ?2 WHERE id = ?1"},
  };
  for (const auto& [s, sql] : statements) {
    if (auto st = prepare(writer, sql, *s); !st) {
      return st;
    }
  }
  struct row {
    std::string tenant;
    std::uint64_t seq = 0;
    std::string channel;
    std::int64_t time_ms = 0;
    std::string plain;
    std::string subject;
    std::string conversation;
  };
  // The keys are created in this transaction: cached only once it commits (in open()'s caller
  // nothing reads before that), so they are simply not published here.
  write_keys wk = db.writing();
  std::string sealed;
  std::string aad;
  std::string last_tenant;
  std::uint64_t last_seq = 0;
  for (;;) {
    std::vector<row> rows;
    {
      query q(select_events);
      q.text(1, last_tenant).uint64(2, last_seq).int64(3, k_migration_batch);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        row r{q.col_text(0), q.col_uint64(1), q.col_text(2), q.col_int64(3),
              std::string(), q.col_text(5),   q.col_text(6)};
        start_payload(r.plain, r.conversation);
        r.plain.append(q.col_text(4));
        rows.push_back(std::move(r));
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer, rc, "migrate: read events");
      }
    }
    if (rows.empty()) {
      break;
    }
    for (const auto& r : rows) {
      auto key = db.keys.writer_key(wk, r.tenant, r.subject, r.channel, r.time_ms);
      if (!key) {
        return key.err();
      }
      sealed.clear();
      event_aad(aad, r.tenant, r.seq);
      if (auto st = crypto::seal_append(sealed, (*key)->key, r.plain, aad); !st) {
        return st;
      }
      query u(update_event);
      u.text(1, r.tenant).uint64(2, r.seq).text(3, r.subject).blob(4, sealed);
      if (!r.subject.empty()) {
        u.int64(5, (*key)->row);
      }
      if (int rc = u.step(); rc != SQLITE_DONE) {
        return sql_error(writer, rc, "migrate: seal event");
      }
    }
    last_tenant = rows.back().tenant;
    last_seq = rows.back().seq;
  }
  std::uint64_t last_id = 0;
  for (;;) {
    std::vector<row> rows;
    {
      query q(select_quarantine);
      q.uint64(1, last_id).int64(2, k_migration_batch);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        rows.push_back({q.col_text(1), q.col_uint64(0), q.col_text(2), q.col_int64(3),
                        q.col_blob(4), std::string(), std::string()});
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer, rc, "migrate: read quarantine");
      }
    }
    if (rows.empty()) {
      break;
    }
    for (const auto& r : rows) {
      auto key = db.keys.writer_key(wk, r.tenant, "", "", r.time_ms);
      if (!key) {
        return key.err();
      }
      sealed.clear();
      if (auto st = crypto::seal_append(sealed, (*key)->key, r.plain,
                                        quarantine_aad(r.tenant, r.channel));
          !st) {
        return st;
      }
      query u(update_quarantine);
      u.uint64(1, r.seq).blob(2, sealed);
      if (int rc = u.step(); rc != SQLITE_DONE) {
        return sql_error(writer, rc, "migrate: seal quarantined body");
      }
    }
    last_id = rows.back().seq;
  }
  return {};
}

/// A new store, or one of an older version, to the current one, one step after the other in the
/// migration's transaction. Prepares the writer's statements and checks the master key.
status migrate_schema(database& db, bool& migrated) {
  sqlite3* writer = db.writer.db;
  auto version = scalar_text(writer, "PRAGMA user_version");
  if (!version) {
    return version.err();
  }
  int v = std::atoi(version->c_str());
  if (v > k_schema_version) {
    return {errc::internal, db.path + ": schema version " + *version +
                                " is newer than this build understands (" +
                                std::to_string(k_schema_version) + ")"};
  }
  const int opened_as = v;
  const bool fresh = v == 0;
  if (fresh) {
    // A new store is created as version 1 and migrated: one path to the current schema.
    if (auto st = exec(writer, k_schema_v1); !st) {
      return st;
    }
    v = 1;
  }
  // A version 1 store is plaintext: its rows are sealed once the schema is current, with the
  // current statements.
  const bool seal_v1 = v == 1;
  if (v == 1) {
    // The v2 statements, then the v3 ones (on the still unsealed rows).
    for (const char* sql : {k_schema_v2, k_schema_v3}) {
      if (auto st = exec(writer, sql); !st) {
        return st;
      }
    }
    v = 3;
  } else if (v >= 2) {
    // Before anything changes: a store opened with another master key is left as it is.
    if (auto st = check_master_key(db); !st) {
      return st;
    }
  }
  if (v == 2) {
    if (auto st = exec(writer, k_schema_v3); !st) {
      return st;
    }
    // Every event of a subject must be found by its key row, or an erasure would miss it.
    auto orphans = scalar_text(
        writer, "SELECT COUNT(*) FROM events WHERE subject <> '' AND subject_key IS NULL");
    if (!orphans) {
      return orphans.err();
    }
    if (*orphans != "0") {
      return {errc::internal, db.path + ": " + *orphans +
                                  " events have a subject without a data key; not migrated"};
    }
    if (auto st = exec(writer, k_schema_v3_index); !st) {
      return st;
    }
    v = 3;
  }
  if (v == 3) {
    if (auto st = exec(writer, k_schema_v4_privacy_requests); !st) {
      return st;
    }
    v = 4;
  }
  if (v == 4) {
    if (auto st = exec(writer, k_schema_v5); !st) {
      return st;
    }
    v = 5;
  }
  if (v == 5) {
    if (auto st = exec(writer, k_schema_v6); !st) {
      return st;
    }
    v = 6;
  }
  if (v == 6) {
    if (auto st = exec(writer, k_schema_v7); !st) {
      return st;
    }
    v = 7;
  }
  if (v == 7) {
    if (auto st = exec(writer, k_schema_v8); !st) {
      return st;
    }
    v = 8;
  }
  if (v == 8) {
    if (auto st = exec(writer, k_schema_v9); !st) {
      return st;
    }
    v = 9;
  }
  if (v == 9) {
    if (auto st = exec(writer, k_schema_v10); !st) {
      return st;
    }
    v = 10;
  }
  if (auto st = prepare_writer(writer, db.w); !st) {
    return st;
  }
  if (seal_v1) {
    if (auto st = seal_v1_rows(db); !st) {
      return st;
    }
    for (const char* sql : {k_schema_v2_subjects, k_schema_v7_index}) {
      if (auto st = exec(writer, sql); !st) {
        return st;
      }
    }
    if (auto st = write_key_check(writer, db.keys.wrap_key(), k_key_check_text, k_key_check_aad);
        !st) {
      return st;
    }
    migrated = !fresh;
  }
  if (opened_as == k_schema_version) {
    return {};
  }
  if (!fresh) {
    // v1 -> 2: encryption at rest; 2 -> 3: append-friendly indexes; 3 -> 4: privacy requests
    // carried out; 4 -> 5: quarantine quota and headers, subscribers disabled by a 410; 5 -> 6:
    // dedupe keys merged in bulk; 6 -> 7: the subject index in segments; 7 -> 8: dedupe keys
    // in generations; 8 -> 9: erased subjects (web chat revocations).
    log::info("store", db.path, ": migrated from schema version ", opened_as, " to ",
              k_schema_version);
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(k_schema_version);
  return exec(writer, set_version.c_str());
}

}  // namespace

status migrate(database& db, bool& migrated) {
  sqlite3* writer = db.writer.db;
  // The v1 -> v2 migration rewrites the dedupe keys in SQL.
  int rc =
      sqlite3_create_function_v2(writer, "sb_dedupe_digest", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 &db.keys, &sql_dedupe_digest, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(writer, rc, "register sb_dedupe_digest");
  }
  if (auto st = exec(writer, "BEGIN IMMEDIATE"); !st) {
    return st;
  }
  auto st = migrate_schema(db, migrated);
  if (!st) {
    rollback_after_failure(writer);
    return st;
  }
  if (auto c = exec(writer, "COMMIT"); !c) {
    rollback_after_failure(writer);
    return c;
  }
  return {};
}

}  // namespace sb::store::sqlite

#include "store/pg/schema.hpp"

#include <string>

namespace sb::store::pg {

namespace {

const char* const k_versions_table = R"sql(
CREATE TABLE IF NOT EXISTS switchboard_schema (
  version INTEGER PRIMARY KEY,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  node TEXT NOT NULL
))sql";

/// Runs the migration's transaction body; the caller commits or rolls back.
result<schema_state> migrate_locked(connection& c, const std::vector<migration>& migrations,
                                    std::string_view node) {
  const std::string lock = std::to_string(k_migration_lock);
  if (auto r = c.exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock}); !r) {
    return r.err();
  }
  if (auto r = c.exec(k_versions_table); !r) {
    return r.err();
  }
  auto found = c.exec("SELECT COALESCE(MAX(version), 0) FROM switchboard_schema");
  if (!found) {
    return found.err();
  }
  auto v = found->int64(0, 0);
  if (!v) {
    return v.err();
  }
  schema_state st;
  st.found = static_cast<int>(*v);
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  if (st.found > newest + 1) {
    return error{errc::internal,
                 "the PostgreSQL schema is at version " + std::to_string(st.found) +
                     ", more than one version past this gateway's " + std::to_string(newest) +
                     ": upgrade this replica (a replica runs on its own schema version and on "
                     "the next one only)"};
  }
  st.now = st.found > newest ? st.found : newest;
  for (const auto& m : migrations) {
    if (m.version <= st.found) {
      continue;
    }
    if (auto r = c.exec(m.sql); !r) {
      return error{r.err().code, "PostgreSQL schema version " + std::to_string(m.version) +
                                     " could not be applied: " + r.err().message};
    }
    if (auto r = c.exec("INSERT INTO switchboard_schema (version, node) VALUES ($1, $2)",
                        {std::to_string(m.version), node});
        !r) {
      return r.err();
    }
    st.applied.push_back(m.version);
  }
  return st;
}

}  // namespace

const std::vector<migration>& schema_versions() {
  // Only ever appended to, and each version only adds (a replica one version behind keeps
  // running on it): no DROP, no RENAME, no NOT NULL column without a default.
  static const std::vector<migration> versions = {
      {1, R"sql(
-- One row per piece of singleton work: who holds it, in which generation, until when (the
-- database's clock). store/pg/lease.hpp.
CREATE TABLE switchboard_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  generation BIGINT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
))sql"},
      {2, R"sql(
-- The event log (store/pg/event_log.hpp). Sealed values are the SQLite store's, byte for byte
-- (store/codec.hpp): the same master key opens both.
-- One data key per (tenant, subject), wrapped under the key derived from the master key.
CREATE TABLE subject_keys (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  channel TEXT NOT NULL,
  wrapped BYTEA NOT NULL,
  created_at_ms BIGINT NOT NULL,
  UNIQUE (tenant, subject)
);
-- Each tenant's last seq; its row is locked by every append of the tenant until COMMIT, so a
-- tenant's seqs are issued in commit order across replicas, without gaps.
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq BIGINT NOT NULL
);
-- The key an event is sealed under is a foreign key: no event is stored under a key an erasure
-- has deleted, whatever a replica still holds in memory.
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq BIGINT NOT NULL,
  channel TEXT NOT NULL,
  type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_key BIGINT NOT NULL REFERENCES subject_keys (id),
  received_at_ms BIGINT NOT NULL,
  dedupe_digest BYTEA,
  body BYTEA NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX events_received_at ON events (tenant, received_at_ms);
CREATE INDEX events_subject_key ON events (subject_key);
-- Dedupe keys: keyed digests of (tenant, channel, key), kept past their events' retention.
CREATE TABLE dedupe (
  digest BYTEA PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  seq BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX dedupe_created_at ON dedupe (tenant, channel, created_at_ms);
-- Unparseable bodies, sealed under their tenant's subjectless data key, and what each channel's
-- quarantine holds against its quota (its row is locked by every quarantine of the channel).
CREATE TABLE quarantine (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  body BYTEA NOT NULL,
  bytes BIGINT NOT NULL,
  charge BIGINT NOT NULL,
  headers BYTEA
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
CREATE TABLE quarantine_usage (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  PRIMARY KEY (tenant, channel)
))sql"},
      {3, R"sql(
-- Push delivery (store/pg/delivery_store.hpp): nothing sealed, only positions and ids. A dead
-- letter keeps its event's subject, so erasing the subject finds it.
CREATE TABLE cursors (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (tenant, subscriber)
);
CREATE TABLE dead_letters (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at_ms BIGINT NOT NULL,
  subject TEXT NOT NULL
);
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
CREATE TABLE subscriber_disabled (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  reason TEXT NOT NULL,
  disabled_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, subscriber)
))sql"},
      {4, R"sql(
-- The privacy store (store/pg/privacy_store.hpp): consent, the audit log, platform deletion
-- requests and the platforms' privacy requests carried out. Nothing here is message content.
CREATE TABLE consent (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  granted TEXT NOT NULL,
  restricted BOOLEAN NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, subject)
);
CREATE TABLE audit (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
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
  requested_at_ms BIGINT NOT NULL,
  completed_at_ms BIGINT NOT NULL
);
CREATE TABLE privacy_requests (
  digest BYTEA PRIMARY KEY,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  kind TEXT NOT NULL,
  code TEXT NOT NULL,
  done_at_ms BIGINT NOT NULL
);
CREATE INDEX dedupe_tenant_created_at ON dedupe (tenant, created_at_ms);
CREATE INDEX dead_letters_failed_at ON dead_letters (tenant, failed_at_ms);
CREATE INDEX quarantine_received_at ON quarantine (tenant, received_at_ms);
CREATE INDEX events_channel ON events (tenant, channel);
CREATE INDEX subject_keys_channel ON subject_keys (tenant, channel))sql"},
      {5, R"sql(
-- The outbox (store/pg/outbox.hpp): the tables of the SQLite outbox's version 4, with its sealed
-- values and digests byte for byte (store/outbox_codec.hpp). Nothing that names a person is in
-- clear: `record` (conversation, recipient, subject, idempotency key, message JSON),
-- `platform_message_id`, `error_title` and `peer` are sealed, bound to their row; the `*_digest`
-- columns are keyed digests for the lookups, NULL when the value is empty. `seq` is put order.
CREATE TABLE outbox (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  purpose TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  error_code TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  caller TEXT NOT NULL,
  record BYTEA NOT NULL,
  platform_message_id BYTEA,
  error_title BYTEA,
  subject_digest BYTEA,
  idempotency_digest BYTEA,
  platform_digest BYTEA
);
-- The arbiter of an idempotent put (INSERT ... ON CONFLICT DO NOTHING): one message per key,
-- whichever replica it is sent through.
CREATE UNIQUE INDEX outbox_idempotency ON outbox (tenant, caller, idempotency_digest)
  WHERE idempotency_digest IS NOT NULL;
CREATE INDEX outbox_unfinished ON outbox (tenant, channel, seq)
  WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_platform_id ON outbox (tenant, channel, platform_digest)
  WHERE platform_digest IS NOT NULL;
CREATE INDEX outbox_subject ON outbox (tenant, subject_digest);
CREATE INDEX outbox_updated ON outbox (tenant, updated_at_ms);
-- The 24-hour window table, by conversation digest; `peer` is a pseudonymous conversation's
-- sealed real peer.
CREATE TABLE last_inbound (
  tenant TEXT NOT NULL,
  conversation_digest BYTEA NOT NULL,
  at_ms BIGINT NOT NULL,
  subject_digest BYTEA,
  peer BYTEA,
  PRIMARY KEY (tenant, conversation_digest)
);
CREATE INDEX last_inbound_subject ON last_inbound (tenant, subject_digest);
-- Each tenant's window head: the event seq up to which its window rows are written.
CREATE TABLE window_heads (
  tenant TEXT PRIMARY KEY,
  seq BIGINT NOT NULL
);
-- The outbox's key check (`key_check`: a known text sealed under the outbox's key), written by
-- the first replica to open it: a replica with another master key is refused.
CREATE TABLE outbox_meta (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL
))sql"},
      {6, R"sql(
-- The subjects an erasure removed (store/privacy_store.hpp, `erased_subjects`), written in the
-- erasure's transaction: an erasure revokes the subject's web chat sessions, on every replica and
-- after a restart. A subject id and a time, no content; kept for good.
CREATE TABLE erased_subjects (
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  erased_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant, subject)
))sql"},
      {7, R"sql(
-- The store's own values (store/root_key.hpp). `root_key`: the store's root key wrapped under the
-- current master key, written by the first `switchboard rotate-master-key` and re-wrapped by each
-- later one (store/pg/rotate.cpp); no row: never rotated, the root key is the master key.
CREATE TABLE store_meta (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL
))sql"},
      {8, R"sql(
-- The tenants the control plane defines (store/definitions.hpp): one sealed document per tenant.
-- A change notifies `switchboard_control` with the tenant id in its transaction.
CREATE TABLE control_tenants (
  tenant TEXT PRIMARY KEY,
  document BYTEA NOT NULL,
  updated_at_ms BIGINT NOT NULL
))sql"},
  };
  return versions;
}

result<schema_state> migrate(connection& c, const std::vector<migration>& migrations,
                             std::string_view node) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return error{errc::internal, "PostgreSQL schema versions must be numbered 1, 2, 3, ...: "
                                   "entry " + std::to_string(i + 1) + " is version " +
                                       std::to_string(migrations[i].version)};
    }
  }
  transaction tx(c);  // a failure rolls back whatever ran
  if (auto st = tx.begin(); !st) {
    return st.err();
  }
  auto st = migrate_locked(c, migrations, node);
  if (!st) {
    return st;
  }
  if (auto done = tx.commit(); !done) {
    return done.err();
  }
  return st;
}

}  // namespace sb::store::pg

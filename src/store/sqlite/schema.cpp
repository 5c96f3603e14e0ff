#include "store/sqlite_log.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "store/sqlite/key_cache.hpp"
#include "store/privacy_rules.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store {

namespace {

using namespace sqlite;  // sqlite_util.hpp: handles, queries, errors

constexpr int k_schema_version = 5;

// Bounds the work of one read call when a type filter skips most events (as memory_log).
constexpr std::size_t k_max_examined = 10000;

// How long a connection waits for a lock before answering busy. Only the writer can be kept
// waiting for long (by a checkpoint); readers in WAL mode wait only in rare recovery cases.
constexpr int k_busy_timeout_ms = 5000;

// The WAL truncation after an erasure waits this long at most for readers of older snapshots: it
// runs with the writer held, and a WAL that is not truncated now is overwritten by later commits.
constexpr int k_purge_busy_timeout_ms = 200;

// Read connections kept open between calls; more are opened when more threads read at once and
// closed again afterwards.
constexpr std::size_t k_max_idle_readers = 8;

// Unwrapped data keys kept in memory: about 150 bytes each.
constexpr std::size_t k_key_cache_entries = 16384;

// A tenant's subject index is brought up to date once more than this many of its events are not
// in it (schema v3): larger means fewer, bigger catch-ups, and a longer tail for an export to read.
constexpr std::uint64_t k_index_lag = 4096;

// Rows one retention statement deletes before it lets other writes in.
constexpr std::int64_t k_sweep_batch = 5000;

// Rows the v1 -> v3 migration loads into memory at a time.
constexpr std::int64_t k_migration_batch = 1000;

// After a checkpoint the WAL file is truncated to this size, so one burst does not keep a large
// file forever.
constexpr const char* k_journal_size_limit = "PRAGMA journal_size_limit = 67108864";

// Deleted content is overwritten with zeros, also on free-list pages: erased and expired rows (and
// an erased subject's wrapped key) do not linger in the file, and neither does the plaintext a v1
// store held before its migration.
constexpr const char* k_secure_delete = "PRAGMA secure_delete = ON";

// The key that wraps data keys, derived from `storage.master_key` so that key serves one purpose
// per derivation (the actors derive the tenants' subject-id keys from it with other labels).
constexpr std::string_view k_wrap_key_label = "switchboard/store/key-wrap/v1";

// Dedupe keys are stored as HMAC-SHA256 of (tenant, channel, key) under a key derived with this
// label, cut to 16 bytes: the digest alone is the dedupe table's key (collisions, which would make
// an event a false duplicate: about 2^-65 at 2^32 keys held at once, all tenants together).
constexpr std::string_view k_dedupe_key_label = "switchboard/store/dedupe/v1";
constexpr std::size_t k_dedupe_digest_size = 16;

// Platform privacy requests carried out are stored as HMAC-SHA256 of (tenant, channel, kind,
// request) under a key derived with this label (rules::privacy_request_digest), in full.
constexpr std::string_view k_privacy_request_key_label = "switchboard/store/privacy-request/v1";

// `meta.key_check` holds this text sealed under the wrapping key: a store opened with another
// master key fails to open it, before anything is written.
constexpr std::string_view k_key_check_text = "switchboard store key check v1";
constexpr std::string_view k_key_check_aad = "key_check";
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

/// Associated data of a sealed event: binds it to its tenant and seq, so a row copied elsewhere
/// (another tenant, another seq) does not open.
void event_aad(std::string& out, const std::string& tenant, std::uint64_t seq) {
  out.assign("event");
  out.push_back('\0');
  out.append(tenant).push_back('\0');
  out.append(std::to_string(seq));
}

/// Associated data of a sealed quarantined body (its id is assigned by the insert).
std::string quarantine_aad(const std::string& tenant, const std::string& channel) {
  std::string out("quarantine");
  out.push_back('\0');
  out.append(tenant).push_back('\0');
  out.append(channel);
  return out;
}

/// Associated data of a quarantined body's sealed headers: not interchangeable with its body.
std::string quarantine_headers_aad(const std::string& tenant, const std::string& channel) {
  return quarantine_aad(tenant, channel) + std::string(1, '\0') + "headers";
}

void put_u32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

bool get_u32(std::string_view& in, std::size_t& n) {
  if (in.size() < 4) {
    return false;
  }
  n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<std::size_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  in.remove_prefix(4);
  return in.size() >= n;
}

/// The plaintext of kept headers: for each, its name's and its value's length (4 bytes, little
/// endian) each followed by the bytes.
std::string encode_headers(const std::vector<kept_header>& headers) {
  std::string out;
  for (const auto& h : headers) {
    put_u32(out, h.name.size());
    out.append(h.name);
    put_u32(out, h.value.size());
    out.append(h.value);
  }
  return out;
}

bool decode_headers(std::string_view in, std::vector<kept_header>& out) {
  while (!in.empty()) {
    kept_header h;
    std::size_t n = 0;
    if (!get_u32(in, n)) {
      return false;
    }
    h.name.assign(in.substr(0, n));
    in.remove_prefix(n);
    if (!get_u32(in, n)) {
      return false;
    }
    h.value.assign(in.substr(0, n));
    in.remove_prefix(n);
    out.push_back(std::move(h));
  }
  return true;
}

/// The plaintext of a sealed event: the conversation's length (4 bytes, little endian), the
/// conversation, then the event's JSON. Starts `out` with the header; the JSON is appended after.
void start_payload(std::string& out, const std::string& conversation) {
  const auto n = static_cast<std::uint32_t>(conversation.size());
  out.clear();
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out.append(conversation);
}

/// Splits an opened payload into conversation and JSON; false when it is not one.
bool split_payload(std::string_view plain, std::string& conversation, std::string& json) {
  if (plain.size() < 4) {
    return false;
  }
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<std::uint32_t>(static_cast<unsigned char>(plain[i])) << (8 * i);
  }
  if (plain.size() - 4 < n) {
    return false;
  }
  conversation.assign(plain.substr(4, n));
  json.assign(plain.substr(4 + n));
  return true;
}

/// The stored form of a dedupe key: a keyed digest of (tenant, channel, key).
std::string dedupe_digest(std::string_view secret, std::string_view tenant,
                          std::string_view channel, std::string_view key) {
  std::string material;
  material.reserve(tenant.size() + channel.size() + key.size() + 2);
  material.append(tenant).push_back('\0');
  material.append(channel).push_back('\0');
  material.append(key);
  const auto mac = crypto::hmac_sha256(secret, material);
  return std::string(reinterpret_cast<const char*>(mac.data()), k_dedupe_digest_size);
}

/// Associated data of a wrapped data key: its owner.
std::string key_aad(const std::string& tenant, const std::string& subject) {
  std::string out("data_key");
  out.push_back('\0');
  out.append(tenant).push_back('\0');
  out.append(subject);
  return out;
}

status lock_file(const std::string& path, file_lock& out) {
  out.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (out.fd < 0) {
    return {errc::internal, "cannot open " + path + ": " + std::strerror(errno)};
  }
  if (::flock(out.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return {errc::internal,
              "store " + path + " is in use by another event log (this or another process)"};
    }
    return {errc::internal, "cannot lock " + path + ": " + std::strerror(errno)};
  }
  return {};
}

std::string subscriber_label(const std::string& tenant, const std::string& subscriber) {
  return tenant + "/" + subscriber;
}

/// Keys used by one write transaction: found ones are cached at once (they are committed), keys
/// created by it only after its commit (a rolled-back key must not be used again).
struct write_keys {
  std::unordered_map<std::string, data_key> used;  // key_cache::id -> key
  std::vector<std::pair<std::string, data_key>> created;
};

/// Keys used by one read call. `generation` is the cache's, read before the call's snapshot
/// began (key_cache::put_if).
struct read_keys {
  struct entry {
    data_key key;
    bool from_snapshot = false;  // else from the cache, possibly newer than the snapshot
  };
  std::uint64_t generation = 0;
  std::unordered_map<std::string, entry> used;
};

class sqlite_log final : public event_log, public delivery_store, public privacy_store {
 public:
  sqlite_log() : keys_(k_key_cache_entries) {}

  status open(const std::string& dir, config::durability durability,
              const std::string& master_key) {
    if (master_key.size() != crypto::aead_key_size) {
      return {errc::internal, "storage.master_key must be 32 bytes (64 hex characters), not " +
                                  std::to_string(master_key.size())};
    }
    const auto wrap = crypto::hmac_sha256(master_key, k_wrap_key_label);
    wrap_key_.assign(reinterpret_cast<const char*>(wrap.data()), wrap.size());
    const auto dedupe = crypto::hmac_sha256(master_key, k_dedupe_key_label);
    dedupe_key_.assign(reinterpret_cast<const char*>(dedupe.data()), dedupe.size());
    const auto requests = crypto::hmac_sha256(master_key, k_privacy_request_key_label);
    request_key_.assign(reinterpret_cast<const char*>(requests.data()), requests.size());
    if (sqlite3_threadsafe() == 0) {
      return {errc::internal, "the SQLite library was built without thread support"};
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return {errc::internal, "cannot create " + dir + ": " + ec.message()};
    }
    if (auto st = lock_file(dir + "/switchboard.lock", lock_); !st) {
      return st;
    }
    path_ = dir + "/switchboard.db";
    if (auto st = open_connection(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_,
                                  k_busy_timeout_ms);
        !st) {
      return st;
    }
    auto mode = scalar_text(writer_.db, "PRAGMA journal_mode = WAL");
    if (!mode) {
      return mode.err();
    }
    if (*mode != "wal") {
      return {errc::internal, path_ + ": cannot use WAL mode (journal_mode is " + *mode + ")"};
    }
    const char* sync = durability == config::durability::fsync ? "PRAGMA synchronous = FULL"
                       : durability == config::durability::os  ? "PRAGMA synchronous = NORMAL"
                                                               : "PRAGMA synchronous = OFF";
    for (const char* pragma : {sync, k_journal_size_limit, k_secure_delete}) {
      if (auto st = exec(writer_.db, pragma); !st) {
        return st;
      }
    }
    // The v1 -> v2 migration rewrites the dedupe keys in SQL.
    int rc = sqlite3_create_function_v2(writer_.db, "sb_dedupe_digest", 3,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, this,
                                        &sqlite_log::sql_dedupe_digest, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return sql_error(writer_.db, rc, "register sb_dedupe_digest");
    }
    bool migrated = false;
    if (auto st = migrate(migrated); !st) {
      return st;
    }
    if (migrated) {
      // The v1 plaintext was in the WAL and the database file: its pages now hold ciphertext
      // (or zeros); checkpoint them into the file and drop the old WAL frames.
      purge_wal();
    }
    if (auto st = prepare(writer_.db,
                          "INSERT INTO privacy_requests (digest, tenant, channel, kind, code, "
                          "done_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                          insert_privacy_request_);
        !st) {
      return st;
    }
    if (auto st = load_heads(); !st) {
      return st;
    }
    // Opens the first read connection now, so a store that cannot be read fails at start-up.
    auto r = lease_reader();
    if (!r) {
      return r.err();
    }
    return {};
  }

  // -- event_log ------------------------------------------------------------------------------

  status append(std::vector<append_request>& requests,
                std::vector<std::vector<append_outcome>>& outcomes) override {
    outcomes.clear();
    outcomes.resize(requests.size());
    std::lock_guard lock(write_mutex_);
    // The batch's seq counters: published to `heads_` only after COMMIT, dropped on failure, so a
    // failed batch leaves the counters as they were. The same holds for the keys it created.
    std::unordered_map<std::string, std::uint64_t> batch_heads;
    write_keys wk;
    auto st = append_locked(requests, outcomes, batch_heads, wk);
    if (!st) {
      rollback();
      for (auto& req : requests) {
        for (auto& ev : req.events) {
          ev.seq = 0;
        }
      }
      for (auto& out : outcomes) {
        out.clear();
      }
      return st;
    }
    publish_keys(wk);
    std::lock_guard heads_lock(heads_mutex_);
    for (auto& [tenant, seq] : batch_heads) {
      heads_[tenant] = seq;
    }
    return {};
  }

  result<read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                           const std::vector<std::string>& types, std::uint64_t upto) override {
    read_result r;
    r.next = after;
    if (limit == 0 || after >= upto) {
      return r;
    }
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    read_keys rk;
    rk.generation = keys_.generation();  // before the snapshot begins
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
        if (auto st = decrypt_event(**lease, rk, tenant, e, q.col_view(3)); !st) {
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

  std::uint64_t head(const std::string& tenant) override {
    std::lock_guard lock(heads_mutex_);
    auto it = heads_.find(tenant);
    return it == heads_.end() ? 0 : it->second;
  }

  using event_log::quarantine;

  result<std::uint64_t> quarantine(quarantined_body body, std::uint64_t quota_bytes) override {
    const std::uint64_t charge = quarantine_charge(body);
    std::lock_guard lock(write_mutex_);
    // Every write of the log holds `write_mutex_` (and the directory lock keeps other processes
    // out): nothing changes the channel's usage between this read and the insert below. The read
    // is outside the transaction, so a full quarantine costs one primary-key read, no commit.
    auto used = used_locked(body.tenant, body.channel);
    if (!used) {
      return used.err();
    }
    if (charge > quota_bytes || *used > quota_bytes - charge) {
      return error{errc::quarantine_full, "the quarantine of channel " + body.channel + " holds " +
                                              std::to_string(*used) + " of its " +
                                              std::to_string(quota_bytes) + " bytes"};
    }
    write_keys wk;
    std::uint64_t id = 0;
    auto st = in_transaction("quarantine", [&]() -> status {
      auto key = writer_key(wk, body.tenant, "", "", body.received_at.unix_ms);
      if (!key) {
        return key.err();
      }
      std::string sealed;
      if (auto s = crypto::seal_append(sealed, (*key)->key, body.body,
                                       quarantine_aad(body.tenant, body.channel));
          !s) {
        return s;
      }
      std::string sealed_headers;
      if (!body.headers.empty()) {
        if (auto s = crypto::seal_append(sealed_headers, (*key)->key, encode_headers(body.headers),
                                         quarantine_headers_aad(body.tenant, body.channel));
            !s) {
          return s;
        }
      }
      query q(w_.insert_quarantine);
      q.text(1, body.tenant).text(2, body.channel).text(3, body.reason);
      q.int64(4, body.received_at.unix_ms).blob(5, sealed);
      q.uint64(6, body.body.size()).uint64(7, charge);
      if (!sealed_headers.empty()) {
        q.blob(8, sealed_headers);  // else NULL: no headers
      }
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "quarantine");
      }
      id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(writer_.db));
      return {};
    });
    if (!st) {
      return st.err();
    }
    publish_keys(wk);
    return id;
  }

  std::vector<quarantined_body> quarantined(const std::string& tenant) override {
    std::vector<quarantined_body> out;
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "quarantined(", tenant, "): ", lease.err().message);
      return out;
    }
    read_keys rk;
    rk.generation = keys_.generation();
    query q((*lease)->quarantined);
    q.text(1, tenant);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      quarantined_body b;
      b.id = q.col_uint64(0);
      b.tenant = tenant;
      b.channel = q.col_text(1);
      b.reason = q.col_text(2);
      b.received_at = timestamp::from_millis(q.col_int64(3));
      auto st = open_quarantined(**lease, rk, b, q.col_view(4), q.col_view(5));
      if (!st) {
        // One unreadable body must not hide the others; the operator sees which one.
        log::error("store", "quarantined(", tenant, "): body ", b.id, ": ", st.err().message);
        continue;
      }
      out.push_back(std::move(b));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "quarantined(", tenant,
                 "): ", sql_error((*lease)->conn.db, rc, "read quarantine").message);
    }
    return out;
  }

  result<std::vector<quarantine_entry>> quarantine_list(const std::string& tenant,
                                                        const std::string& channel,
                                                        std::uint64_t after_id,
                                                        std::size_t limit) override {
    std::vector<quarantine_entry> out;
    if (limit == 0) {
      return out;
    }
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    query q(channel.empty() ? (*lease)->quarantine_list : (*lease)->quarantine_list_channel);
    q.text(1, tenant).uint64(2, after_id).int64(3, clamp_limit(limit));
    if (!channel.empty()) {
      q.text(4, channel);
    }
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      out.push_back({q.col_uint64(0), q.col_text(1), q.col_text(2),
                     timestamp::from_millis(q.col_int64(3)), q.col_uint64(4)});
    }
    if (rc != SQLITE_DONE) {
      return sql_error((*lease)->conn.db, rc, "list quarantine");
    }
    return out;
  }

  result<quarantined_body> quarantined_one(const std::string& tenant, std::uint64_t id) override {
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    read_keys rk;
    rk.generation = keys_.generation();
    query q((*lease)->quarantined_one);
    q.text(1, tenant).uint64(2, id);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return no_quarantined(id);
    }
    if (rc != SQLITE_ROW) {
      return sql_error((*lease)->conn.db, rc, "read quarantine");
    }
    quarantined_body b;
    b.id = id;
    b.tenant = tenant;
    b.channel = q.col_text(0);
    b.reason = q.col_text(1);
    b.received_at = timestamp::from_millis(q.col_int64(2));
    if (auto st = open_quarantined(**lease, rk, b, q.col_view(3), q.col_view(4)); !st) {
      return st.err();
    }
    return b;
  }

  result<quarantine_entry> drop_quarantined(const std::string& tenant, std::uint64_t id) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.drop_quarantined);
    q.text(1, tenant).uint64(2, id);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return no_quarantined(id);
    }
    if (rc != SQLITE_ROW) {
      return sql_error(writer_.db, rc, "drop quarantined body");
    }
    quarantine_entry e{id, q.col_text(0), q.col_text(1), timestamp::from_millis(q.col_int64(2)),
                       q.col_uint64(3)};
    // The statement (and its trigger) commits when it completes.
    if (rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "drop quarantined body");
    }
    return e;
  }

  result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                              const std::string& channel) override {
    quarantine_purge out;
    std::lock_guard lock(write_mutex_);
    auto st = in_transaction("purge quarantine", [&]() -> status {
      query q(w_.drop_quarantine_of);
      q.text(1, tenant).text(2, channel);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        ++out.bodies;
        out.bytes += q.col_uint64(0);
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "purge quarantine");
      }
      return {};
    });
    if (!st) {
      return st.err();
    }
    return out;
  }

  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override {
    std::lock_guard lock(write_mutex_);
    return used_locked(tenant, channel);
  }

  // -- delivery_store -------------------------------------------------------------------------

  status save_cursor(const std::string& tenant, const std::string& subscriber,
                     std::uint64_t seq) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.upsert_cursor);
    q.text(1, tenant).text(2, subscriber).uint64(3, seq);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "save cursor");
    }
    return {};
  }

  std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) override {
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "cursor(", subscriber_label(tenant, subscriber),
                 "): ", lease.err().message);
      return 0;
    }
    query q((*lease)->cursor);
    q.text(1, tenant).text(2, subscriber);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return q.col_uint64(0);
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "cursor(", subscriber_label(tenant, subscriber),
                 "): ", sql_error((*lease)->conn.db, rc, "read cursor").message);
    }
    return 0;
  }

  result<std::uint64_t> add_dead_letter(dead_letter letter) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.insert_dead_letter);
    q.text(1, letter.tenant).text(2, letter.subscriber).uint64(3, letter.seq);
    q.text(4, letter.event_id).int64(5, letter.attempts).text(6, letter.last_error);
    q.int64(7, letter.failed_at.unix_ms);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "add dead letter");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(writer_.db));
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::vector<dead_letter> out;
    if (limit == 0) {
      return out;
    }
    auto lease = lease_reader();
    if (!lease) {
      log::error("store", "dead_letters(", subscriber_label(tenant, subscriber),
                 "): ", lease.err().message);
      return out;
    }
    query q((*lease)->dead_letters);
    q.text(1, tenant).text(2, subscriber).uint64(3, after_id).int64(4, clamp_limit(limit));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      dead_letter d;
      d.id = q.col_uint64(0);
      d.tenant = tenant;
      d.subscriber = subscriber;
      d.seq = q.col_uint64(1);
      d.event_id = q.col_text(2);
      d.attempts = static_cast<std::uint32_t>(q.col_int64(3));
      d.last_error = q.col_text(4);
      d.failed_at = timestamp::from_millis(q.col_int64(5));
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) {
      log::error("store", "dead_letters(", subscriber_label(tenant, subscriber),
                 "): ", sql_error((*lease)->conn.db, rc, "read dead letters").message);
    }
    return out;
  }

  result<dead_letter> take_dead_letter(const std::string& tenant, const std::string& subscriber,
                                       std::uint64_t id) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.take_dead_letter);
    q.uint64(1, id).text(2, tenant).text(3, subscriber);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return {errc::not_found, "no dead letter " + std::to_string(id) + " for subscriber " +
                                   subscriber_label(tenant, subscriber)};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(writer_.db, rc, "take dead letter");
    }
    dead_letter d;
    d.id = id;
    d.tenant = tenant;
    d.subscriber = subscriber;
    d.seq = q.col_uint64(0);
    d.event_id = q.col_text(1);
    d.attempts = static_cast<std::uint32_t>(q.col_int64(2));
    d.last_error = q.col_text(3);
    d.failed_at = timestamp::from_millis(q.col_int64(4));
    // The statement commits when it completes.
    rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "take dead letter");
    }
    return d;
  }

  status disable(const std::string& tenant, const std::string& subscriber,
                 subscriber_disabled why) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.upsert_disabled);
    q.text(1, tenant).text(2, subscriber).text(3, why.reason).int64(4, why.since.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "disable subscriber");
    }
    return {};
  }

  status enable(const std::string& tenant, const std::string& subscriber) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.delete_disabled);
    q.text(1, tenant).text(2, subscriber);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "enable subscriber");
    }
    return {};
  }

  result<std::optional<subscriber_disabled>> disabled(const std::string& tenant,
                                                      const std::string& subscriber) override {
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    query q((*lease)->disabled);
    q.text(1, tenant).text(2, subscriber);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return std::optional<subscriber_disabled>{};
    }
    if (rc != SQLITE_ROW) {
      return sql_error((*lease)->conn.db, rc, "read subscriber state");
    }
    return std::optional<subscriber_disabled>{
        subscriber_disabled{q.col_text(0), timestamp::from_millis(q.col_int64(1))}};
  }

  // -- privacy_store --------------------------------------------------------------------------

  status put_consent(const consent_record& r) override {
    if (auto st = rules::check_consent(r); !st) {
      return st;
    }
    const std::string granted = rules::encode_granted(r.granted);
    std::lock_guard lock(write_mutex_);
    query q(w_.upsert_consent);
    q.text(1, r.tenant).text(2, r.subject).text(3, granted);
    q.int64(4, r.restricted ? 1 : 0).int64(5, r.updated_at.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "put consent");
    }
    return {};
  }

  std::vector<consent_record> consents(const std::string& tenant) override {
    std::vector<consent_record> out;
    auto lease = lease_reader();
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
    std::vector<stored_event> out;
    if (limit == 0 || subject.empty()) {
      return out;
    }
    auto lease = lease_reader();
    if (!lease) {
      return lease.err();
    }
    read_keys rk;
    rk.generation = keys_.generation();
    query q((*lease)->subject_events);
    q.text(1, tenant).text(2, subject).int64(3, clamp_limit(limit));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      stored_event e;
      e.seq = q.col_uint64(0);
      e.type = q.col_text(1);
      e.subject = subject;
      if (auto st = decrypt_event(**lease, rk, tenant, e, q.col_view(2)); !st) {
        return st.err();
      }
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) {
      return sql_error((*lease)->conn.db, rc, "read subject events");
    }
    return out;
  }

  result<erase_outcome> erase_subject(const std::string& tenant,
                                      const std::string& subject) override {
    if (auto st = rules::check_subject(subject); !st) {
      return st.err();
    }
    erase_outcome out;
    std::lock_guard lock(write_mutex_);
    auto st = in_transaction("erase subject", [&] { return erase_locked(tenant, subject, out); });
    if (!st) {
      return st.err();
    }
    keys_.evict(key_cache::id(tenant, subject));
    purge_wal();
    return out;
  }

  result<erase_outcome> erase_channel(const std::string& tenant,
                                      const std::string& channel) override {
    if (auto st = rules::check_channel(channel); !st) {
      return st.err();
    }
    erase_outcome out;
    std::lock_guard lock(write_mutex_);
    auto st = in_transaction("erase channel", [&]() -> status {
      std::vector<std::string> subjects;
      {
        query q(w_.channel_subjects);
        q.text(1, tenant).text(2, channel);
        int rc;
        while ((rc = q.step()) == SQLITE_ROW) {
          subjects.push_back(q.col_text(0));
        }
        if (rc != SQLITE_DONE) {
          return sql_error(writer_.db, rc, "erase channel: list subjects");
        }
      }
      for (const auto& subject : subjects) {
        if (auto s = erase_locked(tenant, subject, out); !s) {
          return s;
        }
      }
      // What is left of the channel: events without a subject (e.g. shop-level commerce) but the
      // privacy receipts, their dead letters, and the channel's quarantined bodies. Their dedupe
      // keys stay, as tombstones.
      out.dead_letters += run_counted(w_.channel_dead_letters, tenant, channel);
      out.dedupe_keys += run_count(w_.channel_tombstones, tenant, channel);
      out.events += run_counted(w_.channel_events, tenant, channel);
      run_counted(w_.channel_quarantine, tenant, channel);
      return counted_status_;
    });
    if (!st) {
      return st.err();
    }
    for (const auto& subject : out.subjects) {
      keys_.evict(key_cache::id(tenant, subject));
    }
    purge_wal();
    return out;
  }

  result<sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    sweep_outcome out;
    // Each statement deletes at most k_sweep_batch rows and commits; the writer is released in
    // between, so appends wait for one batch at most, never for the whole sweep.
    const std::pair<stmt*, std::uint64_t*> sweeps[] = {
        {&w_.expire_events, &out.events},
        {&w_.expire_dead_letters, &out.dead_letters},
        {&w_.expire_quarantine, &out.quarantined},
    };
    for (const auto& [s, count] : sweeps) {
      if (auto st = sweep(*s, tenant, cutoff, nullptr, *count); !st) {
        return st.err();
      }
    }
    // Dedupe keys are indexed by (tenant, channel, time): one channel at a time.
    std::string channel;  // channel names are not empty: "" sorts before all of them
    for (;;) {
      {
        std::lock_guard lock(write_mutex_);
        query q(w_.next_dedupe_channel);
        q.text(1, tenant).text(2, channel);
        int rc = q.step();
        if (rc == SQLITE_DONE) {
          break;
        }
        if (rc != SQLITE_ROW) {
          return sql_error(writer_.db, rc, "expire");
        }
        channel = q.col_text(0);
      }
      if (auto st = sweep(w_.expire_dedupe, tenant, cutoff, &channel, out.dedupe_keys); !st) {
        return st.err();
      }
    }
    if (out.events + out.dead_letters + out.quarantined + out.dedupe_keys > 0) {
      // Expired rows are zeroed in the database file (secure_delete); their frames in the WAL
      // still hold them under keys that live on (the subject's), so the WAL goes too.
      std::lock_guard lock(write_mutex_);
      purge_wal();
    }
    return out;
  }

  result<std::uint64_t> audit(audit_entry e) override {
    std::lock_guard lock(write_mutex_);
    query q(w_.insert_audit);
    q.text(1, e.tenant).int64(2, e.at.unix_ms).text(3, e.actor).text(4, e.action);
    q.text(5, e.subject).text(6, e.outcome).text(7, e.detail);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "audit");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(writer_.db));
  }

  std::vector<audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                     std::size_t limit) override {
    std::vector<audit_entry> out;
    if (limit == 0) {
      return out;
    }
    auto lease = lease_reader();
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
    std::lock_guard lock(write_mutex_);
    query q(w_.upsert_deletion_request);
    q.text(1, r.code).text(2, r.tenant).text(3, r.channel).text(4, r.subject).text(5, r.state);
    q.int64(6, r.requested_at.unix_ms).int64(7, r.completed_at.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "put deletion request");
    }
    return {};
  }

  result<deletion_request> find_deletion_request(const std::string& code) override {
    auto lease = lease_reader();
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
        rules::privacy_request_digest(request_key_, tenant, channel, kind, request),
        [this](const std::string& digest) -> result<std::optional<privacy_request>> {
          auto lease = lease_reader();
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
      std::lock_guard lock(write_mutex_);
      query q(insert_privacy_request_);
      q.blob(1, claim.digest).text(2, r.tenant).text(3, r.channel).text(4, r.kind);
      q.text(5, r.code).int64(6, r.done_at.unix_ms);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "record privacy request");
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
  /// A read-only connection with its cached statements; used by one thread at a time.
  struct reader {
    connection conn;
    stmt read_events;
    stmt quarantined;
    stmt quarantine_list;
    stmt quarantine_list_channel;
    stmt quarantined_one;
    stmt cursor;
    stmt disabled;
    stmt dead_letters;
    stmt find_key;
    stmt subject_events;
    stmt consents;
    stmt audit_log;
    stmt find_deletion_request;
    stmt find_privacy_request;
  };

  /// A reader borrowed from the pool; returned to it when the lease ends.
  class reader_lease {
   public:
    reader_lease(sqlite_log* owner, std::unique_ptr<reader> r)
        : owner_(owner), reader_(std::move(r)) {}
    reader_lease(reader_lease&&) noexcept = default;
    reader_lease& operator=(reader_lease&&) noexcept = default;
    ~reader_lease() {
      if (reader_ != nullptr) {
        owner_->release_reader(std::move(reader_));
      }
    }
    reader* operator->() const { return reader_.get(); }
    reader& operator*() const { return *reader_; }

   private:
    sqlite_log* owner_;
    std::unique_ptr<reader> reader_;
  };

  /// The writer connection's cached statements.
  struct writer_statements {
    stmt begin;
    stmt commit;
    stmt rollback;
    stmt insert_dedupe;
    stmt find_dedupe;
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
    // Erasure: ?1 tenant, ?2 subject (or channel).
    stmt erase_dead_letters_by_subject;
    stmt erase_dead_letters_by_event;
    stmt count_tombstones;
    stmt erase_events;
    stmt erase_consent;
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

  /// Runs a retention statement (?1 tenant, ?2 cutoff, ?3 batch size, ?4 channel if any) until it
  /// deletes less than a batch; each run is its own transaction.
  status sweep(const stmt& s, const std::string& tenant, timestamp cutoff,
               const std::string* channel, std::uint64_t& count) {
    for (;;) {
      std::lock_guard lock(write_mutex_);
      query q(s);
      q.text(1, tenant).int64(2, cutoff.unix_ms).int64(3, k_sweep_batch);
      if (channel != nullptr) {
        q.text(4, *channel);
      }
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "expire");
      }
      const auto n = static_cast<std::uint64_t>(sqlite3_changes64(writer_.db));
      count += n;
      if (n < static_cast<std::uint64_t>(k_sweep_batch)) {
        return {};
      }
    }
  }

  static std::int64_t clamp_limit(std::size_t limit) {
    return static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
  }

  static error no_quarantined(std::uint64_t id) {
    return {errc::not_found, "no quarantined body " + std::to_string(id)};
  }

  /// The channel's charged quarantine bytes. With `write_mutex_` held.
  result<std::uint64_t> used_locked(const std::string& tenant, const std::string& channel) {
    query q(w_.quarantine_used);
    q.text(1, tenant).text(2, channel);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      return q.col_uint64(0);
    }
    if (rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "read quarantine usage");
    }
    return std::uint64_t{0};
  }

  /// Opens a quarantined body and its headers (a NULL `headers` column: none were kept).
  status open_quarantined(reader& r, read_keys& rk, quarantined_body& b, std::string_view body,
                          std::string_view headers) {
    if (auto st = decrypt(r, rk, b.tenant, "", body, quarantine_aad(b.tenant, b.channel), b.body);
        !st) {
      return st;
    }
    if (headers.empty()) {
      return {};
    }
    std::string plain;
    if (auto st = decrypt(r, rk, b.tenant, "", headers, quarantine_headers_aad(b.tenant, b.channel),
                          plain);
        !st) {
      return st;
    }
    if (!decode_headers(plain, b.headers)) {
      return {errc::internal,
              "the headers of quarantined body " + std::to_string(b.id) + " are malformed"};
    }
    return {};
  }

  /// Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back when either fails.
  template <class F>
  status in_transaction(const char* what, F&& body) {
    {
      query q(w_.begin);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, std::string("begin ") + what);
      }
    }
    counted_status_ = {};
    status st = body();
    if (st) {
      query q(w_.commit);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        st = sql_error(writer_.db, rc, std::string("commit ") + what);
      }
    }
    if (!st) {
      rollback();
    }
    return st;
  }

  /// Runs a DELETE bound to (?1, ?2) and answers how many rows it deleted. The first failure is
  /// kept in `counted_status_` (checked once at the end of the transaction's body).
  std::uint64_t run_counted(const stmt& s, const std::string& a, const std::string& b) {
    if (!counted_status_) {
      return 0;
    }
    query q(s);
    q.text(1, a).text(2, b);
    return counted(q);
  }

  /// Runs a DELETE bound to (?1 = tenant, ?2 = a subject's key row) as `run_counted`.
  std::uint64_t run_counted(const stmt& s, const std::string& tenant, std::int64_t key_row) {
    if (!counted_status_) {
      return 0;
    }
    query q(s);
    q.text(1, tenant).int64(2, key_row);
    return counted(q);
  }

  /// Runs a SELECT COUNT(*) bound to (?1 = tenant, ?2) as `run_counted` runs a DELETE.
  template <class Arg>
  std::uint64_t run_count(const stmt& s, const std::string& tenant, const Arg& arg) {
    if (!counted_status_) {
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
      counted_status_ = sql_error(writer_.db, rc, "erase: count");
      return 0;
    }
    return q.col_uint64(0);
  }

  std::uint64_t counted(query& q) {
    if (int rc = q.step(); rc != SQLITE_DONE) {
      counted_status_ = sql_error(writer_.db, rc, "erase");
      return 0;
    }
    return static_cast<std::uint64_t>(sqlite3_changes64(writer_.db));
  }

  /// Brings the tenant's subject index up to `head` when more than `lag` events are not in it,
  /// inside the caller's transaction: one sorted insert of the recent events' (key row, seq)
  /// pairs, so the index's pages are dirtied once per subject, not once per event.
  status index_subjects(const std::string& tenant, std::uint64_t head, std::uint64_t lag) {
    std::uint64_t indexed = 0;
    {
      query q(w_.indexed_seq);
      q.text(1, tenant);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        indexed = q.col_uint64(0);
      } else if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "subject index: read watermark");
      }
    }
    if (head <= indexed || head - indexed <= lag) {
      return {};
    }
    {
      query q(w_.index_events);
      q.text(1, tenant).uint64(2, indexed).uint64(3, head);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "subject index: insert");
      }
    }
    query q(w_.set_indexed_seq);
    q.text(1, tenant).uint64(2, head);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "subject index: write watermark");
    }
    return {};
  }

  /// Deletes one subject's rows inside the caller's transaction. Its events, and through them its
  /// dedupe keys and dead letters, are found by its key's row (the subject index): a subject
  /// without a key row has no events (a key is created before the subject's first event and
  /// destroyed with its last). The dead letters go first: one of the statements finds them
  /// through the events.
  status erase_locked(const std::string& tenant, const std::string& subject, erase_outcome& out) {
    std::int64_t key_row = 0;
    {
      query q(w_.find_key);
      q.text(1, tenant).text(2, subject);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        key_row = q.col_int64(0);
      } else if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "erase: find data key");
      }
    }
    out.dead_letters += run_counted(w_.erase_dead_letters_by_subject, tenant, subject);
    if (key_row != 0) {
      if (auto st = index_subjects(tenant, head(tenant), 0); !st) {
        return st;
      }
      out.dead_letters += run_counted(w_.erase_dead_letters_by_event, tenant, key_row);
      // The events' dedupe keys stay, as tombstones: a retry or replay stays a duplicate.
      out.dedupe_keys += run_count(w_.count_tombstones, tenant, key_row);
      out.events += run_counted(w_.erase_events, tenant, key_row);
      if (run_counted(w_.erase_key, tenant, key_row) > 0) {
        out.key_destroyed = true;
      }
    }
    run_counted(w_.erase_consent, tenant, subject);
    out.subjects.push_back(subject);
    return counted_status_;
  }

  /// Checkpoints the WAL into the database file and truncates it, so the frames that held erased
  /// rows (or a v1 store's plaintext) leave the files. Best effort: with a reader on an older
  /// snapshot it gives up after a short wait, and later commits overwrite those frames instead.
  void purge_wal() {
    sqlite3_busy_timeout(writer_.db, k_purge_busy_timeout_ms);
    int log_frames = 0;
    int checkpointed = 0;
    int rc = sqlite3_wal_checkpoint_v2(writer_.db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                       &checkpointed);
    sqlite3_busy_timeout(writer_.db, k_busy_timeout_ms);
    if (rc != SQLITE_OK) {
      log::info("store", "WAL not truncated after an erasure or expiry (",
                sql_error(writer_.db, rc, "checkpoint").message,
                "); later commits overwrite its frames");
    }
  }

  status migrate(bool& migrated) {
    if (auto st = exec(writer_.db, "BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto st = migrate_locked(migrated);
    if (!st) {
      exec(writer_.db, "ROLLBACK");
      return st;
    }
    if (auto c = exec(writer_.db, "COMMIT"); !c) {
      exec(writer_.db, "ROLLBACK");
      return c;
    }
    return {};
  }

  status migrate_locked(bool& migrated) { return migrate_schema(migrated); }

  /// A new store, or one of an older version, to the current one, one step after the other in the
  /// migration's transaction. Prepares the writer's statements and checks the master key.
  status migrate_schema(bool& migrated) {
    auto version = scalar_text(writer_.db, "PRAGMA user_version");
    if (!version) {
      return version.err();
    }
    int v = std::atoi(version->c_str());
    if (v > k_schema_version) {
      return {errc::internal, path_ + ": schema version " + *version +
                                  " is newer than this build understands (" +
                                  std::to_string(k_schema_version) + ")"};
    }
    const int opened_as = v;
    const bool fresh = v == 0;
    if (fresh) {
      // A new store is created as version 1 and migrated: one path to the current schema.
      if (auto st = exec(writer_.db, k_schema_v1); !st) {
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
        if (auto st = exec(writer_.db, sql); !st) {
          return st;
        }
      }
      v = 3;
    } else if (v >= 2) {
      // Before anything changes: a store opened with another master key is left as it is.
      if (auto st = check_master_key(); !st) {
        return st;
      }
    }
    if (v == 2) {
      if (auto st = exec(writer_.db, k_schema_v3); !st) {
        return st;
      }
      // Every event of a subject must be found by its key row, or an erasure would miss it.
      auto orphans = scalar_text(
          writer_.db, "SELECT COUNT(*) FROM events WHERE subject <> '' AND subject_key IS NULL");
      if (!orphans) {
        return orphans.err();
      }
      if (*orphans != "0") {
        return {errc::internal, path_ + ": " + *orphans +
                                    " events have a subject without a data key; not migrated"};
      }
      if (auto st = exec(writer_.db, k_schema_v3_index); !st) {
        return st;
      }
      v = 3;
    }
    if (v == 3) {
      if (auto st = exec(writer_.db, k_schema_v4_privacy_requests); !st) {
        return st;
      }
      v = 4;
    }
    if (v == 4) {
      if (auto st = exec(writer_.db, k_schema_v5); !st) {
        return st;
      }
      v = 5;
    }
    if (auto st = prepare_writer(); !st) {
      return st;
    }
    if (seal_v1) {
      if (auto st = seal_v1_rows(); !st) {
        return st;
      }
      for (const char* sql : {k_schema_v2_subjects, k_schema_v3_index}) {
        if (auto st = exec(writer_.db, sql); !st) {
          return st;
        }
      }
      auto check = crypto::seal(wrap_key_, k_key_check_text, k_key_check_aad);
      if (!check) {
        return check.err();
      }
      stmt put;
      if (auto st =
              prepare(writer_.db, "INSERT INTO meta (name, value) VALUES ('key_check', ?1)", put);
          !st) {
        return st;
      }
      query q(put);
      q.blob(1, *check);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "write key check");
      }
      migrated = !fresh;
    }
    if (opened_as == k_schema_version) {
      return {};
    }
    if (!fresh) {
      // v1 -> 2: encryption at rest; 2 -> 3: append-friendly indexes; 3 -> 4: privacy requests
      // carried out; 4 -> 5: quarantine quota and headers, subscribers disabled by a 410.
      log::info("store", path_, ": migrated from schema version ", opened_as, " to ",
                k_schema_version);
    }
    const std::string set_version = "PRAGMA user_version = " + std::to_string(k_schema_version);
    return exec(writer_.db, set_version.c_str());
  }

  status check_master_key() {
    stmt get;
    if (auto st = prepare(writer_.db, "SELECT value FROM meta WHERE name = 'key_check'", get);
        !st) {
      return st;
    }
    query q(get);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return {errc::internal, path_ + ": the key check is missing (not a Switchboard store?)"};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(writer_.db, rc, "read key check");
    }
    auto opened = crypto::open(wrap_key_, q.col_view(0), k_key_check_aad);
    if (!opened || *opened != k_key_check_text) {
      return {errc::internal, k_wrong_master_key};
    }
    return {};
  }

  /// v1 -> v2: fills each event's subject from its JSON and seals the JSON and the quarantined
  /// bodies, in the migration's transaction. Rows are loaded a batch at a time and updated after
  /// the batch's statement is done, so no row is updated under a running scan of its table.
  status seal_v1_rows() {
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
      if (auto st = prepare(writer_.db, sql, *s); !st) {
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
    write_keys wk;
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
          return sql_error(writer_.db, rc, "migrate: read events");
        }
      }
      if (rows.empty()) {
        break;
      }
      for (const auto& r : rows) {
        auto key = writer_key(wk, r.tenant, r.subject, r.channel, r.time_ms);
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
          return sql_error(writer_.db, rc, "migrate: seal event");
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
          return sql_error(writer_.db, rc, "migrate: read quarantine");
        }
      }
      if (rows.empty()) {
        break;
      }
      for (const auto& r : rows) {
        auto key = writer_key(wk, r.tenant, "", "", r.time_ms);
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
          return sql_error(writer_.db, rc, "migrate: seal quarantined body");
        }
      }
      last_id = rows.back().seq;
    }
    return {};
  }

  status prepare_writer() {
    auto* db = writer_.db;
    const std::pair<stmt*, const char*> statements[] = {
        {&w_.begin, "BEGIN IMMEDIATE"},
        {&w_.commit, "COMMIT"},
        {&w_.rollback, "ROLLBACK"},
        {&w_.insert_dedupe,
         "INSERT INTO dedupe (key, tenant, channel, seq, created_at_ms) "
         "VALUES (?3, ?1, ?2, ?4, ?5) ON CONFLICT DO NOTHING"},
        {&w_.find_dedupe, "SELECT seq FROM dedupe WHERE key = ?1"},
        {&w_.insert_event,
         "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
         "received_at_ms, json, subject, subject_key) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
        {&w_.upsert_head,
         "INSERT INTO tenant_heads (tenant, seq) VALUES (?1, ?2) "
         "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq"},
        {&w_.insert_quarantine,
         "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body, bytes, charged, "
         "headers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {&w_.quarantine_used,
         "SELECT bytes FROM quarantine_usage WHERE tenant = ?1 AND channel = ?2"},
        // The trigger quarantine_release gives the channel's quota the row's charge back.
        {&w_.drop_quarantined,
         "DELETE FROM quarantine WHERE tenant = ?1 AND id = ?2 "
         "RETURNING channel, reason, received_at_ms, bytes"},
        {&w_.drop_quarantine_of,
         "DELETE FROM quarantine WHERE tenant = ?1 AND channel = ?2 RETURNING bytes"},
        {&w_.upsert_disabled,
         "INSERT INTO subscriber_disabled (tenant, subscriber, reason, disabled_at_ms) "
         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant, subscriber) DO UPDATE SET "
         "reason = excluded.reason, disabled_at_ms = excluded.disabled_at_ms"},
        {&w_.delete_disabled,
         "DELETE FROM subscriber_disabled WHERE tenant = ?1 AND subscriber = ?2"},
        {&w_.upsert_cursor,
         "INSERT INTO cursors (tenant, subscriber, seq) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (tenant, subscriber) DO UPDATE SET seq = excluded.seq"},
        // The subject comes from the event, so erasing the subject finds its dead letters.
        {&w_.insert_dead_letter,
         "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
         "failed_at_ms, subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE((SELECT subject "
         "FROM events WHERE tenant = ?1 AND seq = ?3), ''))"},
        {&w_.take_dead_letter,
         "DELETE FROM dead_letters WHERE id = ?1 AND tenant = ?2 AND subscriber = ?3 "
         "RETURNING seq, event_id, attempts, last_error, failed_at_ms"},
        {&w_.find_key,
         "SELECT id, wrapped_key FROM subject_keys WHERE tenant = ?1 AND subject = ?2"},
        {&w_.insert_key,
         "INSERT INTO subject_keys (tenant, subject, channel, wrapped_key, created_at_ms) "
         "VALUES (?1, ?2, ?3, ?4, ?5)"},
        {&w_.upsert_consent,
         "INSERT INTO consent (tenant, subject, granted, restricted, updated_at_ms) "
         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, subject) DO UPDATE SET "
         "granted = excluded.granted, restricted = excluded.restricted, "
         "updated_at_ms = excluded.updated_at_ms"},
        {&w_.insert_audit,
         "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&w_.upsert_deletion_request,
         "INSERT INTO deletion_requests (code, tenant, channel, subject, state, requested_at_ms, "
         "completed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (code) DO UPDATE SET "
         "tenant = excluded.tenant, channel = excluded.channel, subject = excluded.subject, "
         "state = excluded.state, requested_at_ms = excluded.requested_at_ms, "
         "completed_at_ms = excluded.completed_at_ms"},
        {&w_.erase_dead_letters_by_subject,
         "DELETE FROM dead_letters WHERE tenant = ?1 AND subject = ?2 AND subject <> ''"},
        // ?2 = the subject's key row from here on, its index brought up to date. Dead letters
        // added before their event's subject was known (none are expected).
        {&w_.erase_dead_letters_by_event,
         "DELETE FROM dead_letters WHERE tenant = ?1 AND seq IN (SELECT seq FROM subject_events "
         "WHERE subject_key = ?2)"},
        // The dedupe keys the subject's events leave behind as tombstones.
        {&w_.count_tombstones,
         "SELECT COUNT(*) FROM subject_events s JOIN events e ON e.tenant = ?1 AND e.seq = s.seq "
         "WHERE s.subject_key = ?2 AND e.dedupe_key IS NOT NULL"},
        // The trigger events_unindex takes the subject_events rows along.
        {&w_.erase_events,
         "DELETE FROM events WHERE tenant = ?1 AND seq IN (SELECT seq FROM subject_events "
         "WHERE subject_key = ?2)"},
        {&w_.erase_key, "DELETE FROM subject_keys WHERE tenant = ?1 AND id = ?2 AND subject <> ''"},
        {&w_.indexed_seq, "SELECT indexed FROM tenant_heads WHERE tenant = ?1"},
        {&w_.index_events,
         "INSERT OR IGNORE INTO subject_events (subject_key, seq) SELECT subject_key, seq "
         "FROM events WHERE tenant = ?1 AND seq > ?2 AND seq <= ?3 AND subject_key IS NOT NULL "
         "ORDER BY subject_key, seq"},
        {&w_.set_indexed_seq, "UPDATE tenant_heads SET indexed = ?2 WHERE tenant = ?1"},
        {&w_.erase_consent, "DELETE FROM consent WHERE tenant = ?1 AND subject = ?2"},
        {&w_.channel_subjects,
         "SELECT subject FROM events WHERE tenant = ?1 AND channel = ?2 AND subject <> '' "
         "UNION SELECT subject FROM subject_keys WHERE tenant = ?1 AND channel = ?2 "
         "AND subject <> ''"},
        // A channel's events but its privacy receipts (rules::is_privacy_type), which outlive
        // every later request.
        {&w_.channel_dead_letters,
         "DELETE FROM dead_letters WHERE tenant = ?1 AND seq IN (SELECT seq FROM events "
         "WHERE tenant = ?1 AND channel = ?2 AND substr(type, 1, 8) <> 'privacy.')"},
        {&w_.channel_tombstones,
         "SELECT COUNT(*) FROM events WHERE tenant = ?1 AND channel = ?2 "
         "AND substr(type, 1, 8) <> 'privacy.' AND dedupe_key IS NOT NULL"},
        {&w_.channel_events,
         "DELETE FROM events WHERE tenant = ?1 AND channel = ?2 "
         "AND substr(type, 1, 8) <> 'privacy.'"},
        {&w_.channel_quarantine, "DELETE FROM quarantine WHERE tenant = ?1 AND channel = ?2"},
        {&w_.expire_events,
         "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE tenant = ?1 "
         "AND received_at_ms < ?2 LIMIT ?3)"},
        {&w_.next_dedupe_channel,
         "SELECT channel FROM dedupe WHERE tenant = ?1 AND channel > ?2 ORDER BY channel LIMIT 1"},
        {&w_.expire_dedupe,
         "DELETE FROM dedupe WHERE key IN (SELECT key FROM dedupe WHERE tenant = ?1 "
         "AND channel = ?4 AND created_at_ms < ?2 LIMIT ?3)"},
        {&w_.expire_dead_letters,
         "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE tenant = ?1 "
         "AND failed_at_ms < ?2 LIMIT ?3)"},
        {&w_.expire_quarantine,
         "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE tenant = ?1 "
         "AND received_at_ms < ?2 LIMIT ?3)"},
    };
    for (const auto& [s, sql] : statements) {
      if (auto st = prepare(db, sql, *s); !st) {
        return st;
      }
    }
    return {};
  }

  /// Each tenant's last issued seq. `tenant_heads` is written in the same transaction as the
  /// events; the events' own maximum is consulted too, as a cheap (indexed) cross-check.
  status load_heads() {
    stmt heads;
    stmt max_seq;
    if (auto st = prepare(writer_.db, "SELECT tenant, seq FROM tenant_heads", heads); !st) {
      return st;
    }
    if (auto st = prepare(writer_.db, "SELECT MAX(seq) FROM events WHERE tenant = ?1", max_seq);
        !st) {
      return st;
    }
    std::unordered_map<std::string, std::uint64_t> loaded;
    {
      query q(heads);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        loaded[q.col_text(0)] = q.col_uint64(1);
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "load tenant heads");
      }
    }
    for (auto& [tenant, seq] : loaded) {
      query q(max_seq);
      q.text(1, tenant);
      int rc = q.step();
      if (rc != SQLITE_ROW) {
        return sql_error(writer_.db, rc, "load tenant heads");
      }
      seq = std::max(seq, q.col_uint64(0));
    }
    std::lock_guard lock(heads_mutex_);
    heads_ = std::move(loaded);
    return {};
  }

  /// The data key of (tenant, subject) for a write, created (wrapped and inserted in the current
  /// transaction) when the subject has none. Called with `write_mutex_` held, inside a
  /// transaction. Cached keys cost no SQL.
  result<const data_key*> writer_key(write_keys& wk, const std::string& tenant,
                                     const std::string& subject, const std::string& channel,
                                     std::int64_t now_ms) {
    std::string id = key_cache::id(tenant, subject);
    if (auto it = wk.used.find(id); it != wk.used.end()) {
      return &it->second;
    }
    if (auto cached = keys_.get(id)) {
      return &wk.used.emplace(std::move(id), std::move(*cached)).first->second;
    }
    const std::string aad = key_aad(tenant, subject);
    {
      query q(w_.find_key);
      q.text(1, tenant).text(2, subject);
      int rc = q.step();
      if (rc == SQLITE_ROW) {
        auto key = crypto::unwrap_key(wrap_key_, q.col_view(1), aad);
        if (!key) {
          return error{errc::internal, "the data key of a subject of tenant " + tenant +
                                           " does not unwrap: " + key.err().message};
        }
        data_key found{std::move(*key), q.col_int64(0)};
        // Committed before this transaction and unchanged while the writer is held: cacheable.
        keys_.put(id, found);
        return &wk.used.emplace(std::move(id), std::move(found)).first->second;
      }
      if (rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "find data key");
      }
    }
    data_key key{crypto::generate_aead_key(), 0};
    auto wrapped = crypto::wrap_key(wrap_key_, key.key, aad);
    if (!wrapped) {
      return wrapped.err();
    }
    query ins(w_.insert_key);
    ins.text(1, tenant).text(2, subject).text(3, channel).blob(4, *wrapped).int64(5, now_ms);
    if (int rc = ins.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "insert data key");
    }
    key.row = sqlite3_last_insert_rowid(writer_.db);
    wk.created.emplace_back(id, key);
    return &wk.used.emplace(std::move(id), std::move(key)).first->second;
  }

  /// After a commit: the keys the transaction created become usable by everyone.
  void publish_keys(write_keys& wk) {
    for (const auto& [id, key] : wk.created) {
      keys_.put(id, key);
    }
  }

  /// The data key of (tenant, subject) as the reader's snapshot has it; from the cache unless
  /// `from_snapshot`.
  result<const read_keys::entry*> reader_key(reader& r, read_keys& rk, const std::string& tenant,
                                             const std::string& subject, bool from_snapshot) {
    std::string id = key_cache::id(tenant, subject);
    auto it = rk.used.find(id);
    if (it != rk.used.end() && (it->second.from_snapshot || !from_snapshot)) {
      return &it->second;
    }
    if (!from_snapshot) {
      if (auto cached = keys_.get(id)) {
        return &rk.used.insert_or_assign(std::move(id), read_keys::entry{std::move(*cached), false})
                    .first->second;
      }
    }
    query q(r.find_key);
    q.text(1, tenant).text(2, subject);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return error{errc::internal, "no data key for a subject of tenant " + tenant};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(r.conn.db, rc, "find data key");
    }
    auto key = crypto::unwrap_key(wrap_key_, q.col_view(1), key_aad(tenant, subject));
    if (!key) {
      return error{errc::internal, "the data key of a subject of tenant " + tenant +
                                       " does not unwrap: " + key.err().message};
    }
    data_key found{std::move(*key), q.col_int64(0)};
    keys_.put_if(id, found, rk.generation);
    return &rk.used.insert_or_assign(std::move(id), read_keys::entry{std::move(found), true})
                .first->second;
  }

  /// Opens a sealed value of (tenant, subject). A cached key can be newer than the reader's
  /// snapshot (the subject was erased and seen again since): then the snapshot's key opens it.
  status decrypt(reader& r, read_keys& rk, const std::string& tenant, const std::string& subject,
                 std::string_view sealed, std::string_view aad, std::string& out) {
    auto key = reader_key(r, rk, tenant, subject, false);
    if (!key) {
      return key.err();
    }
    auto st = crypto::open_append(out, (*key)->key.key, sealed, aad);
    if (st || (*key)->from_snapshot) {
      return st;
    }
    key = reader_key(r, rk, tenant, subject, true);
    if (!key) {
      return key.err();
    }
    return crypto::open_append(out, (*key)->key.key, sealed, aad);
  }

  status decrypt_event(reader& r, read_keys& rk, const std::string& tenant, stored_event& e,
                       std::string_view sealed) {
    std::string aad;
    event_aad(aad, tenant, e.seq);
    std::string plain;
    auto st = decrypt(r, rk, tenant, e.subject, sealed, aad, plain);
    if (!st) {
      return {errc::internal, "event " + std::to_string(e.seq) + " of tenant " + tenant +
                                  " cannot be decrypted: " + st.err().message};
    }
    if (!split_payload(plain, e.conversation, e.json)) {
      return {errc::internal, "event " + std::to_string(e.seq) + " of tenant " + tenant +
                                  " has a malformed payload"};
    }
    return {};
  }

  /// sb_dedupe_digest(tenant, channel, key): `dedupe_digest` for SQL (the v1 -> v2 migration).
  static void sql_dedupe_digest(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    auto* self = static_cast<sqlite_log*>(sqlite3_user_data(ctx));
    std::string_view parts[3];
    for (int i = 0; i < argc && i < 3; ++i) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
      parts[i] = p == nullptr
                     ? std::string_view()
                     : std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
    }
    const auto digest = dedupe_digest(self->dedupe_key_, parts[0], parts[1], parts[2]);
    sqlite3_result_blob(ctx, digest.data(), static_cast<int>(digest.size()), SQLITE_TRANSIENT);
  }

  status append_locked(std::vector<append_request>& requests,
                       std::vector<std::vector<append_outcome>>& outcomes,
                       std::unordered_map<std::string, std::uint64_t>& batch_heads,
                       write_keys& wk) {
    {
      query q(w_.begin);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "begin append");
      }
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
        it->second = head(req.tenant);
      }
      std::uint64_t& last = it->second;
      for (auto& ev : req.events) {
        digest.clear();
        if (!ev.dedupe_key.empty()) {
          digest = dedupe_digest(dedupe_key_, req.tenant, ev.channel.name, ev.dedupe_key);
          // Claims the key for the next seq; if it is taken (by an earlier batch or earlier in
          // this one: the transaction sees its own rows), the event is a duplicate.
          query claim(w_.insert_dedupe);
          claim.text(1, req.tenant).text(2, ev.channel.name).blob(3, digest);
          claim.uint64(4, last + 1).int64(5, now_ms);
          if (int rc = claim.step(); rc != SQLITE_DONE) {
            return sql_error(writer_.db, rc, "claim dedupe key");
          }
          if (sqlite3_changes(writer_.db) == 0) {
            query find(w_.find_dedupe);
            find.blob(1, digest);
            int rc = find.step();
            if (rc != SQLITE_ROW) {
              return sql_error(writer_.db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                               "find dedupe key");
            }
            out.push_back({true, find.col_uint64(0)});
            continue;
          }
        }
        auto key = writer_key(wk, req.tenant, ev.subject, ev.channel.name, now_ms);
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
        query ins(w_.insert_event);
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
          return sql_error(writer_.db, rc, "insert event");
        }
        out.push_back({false, ev.seq});
      }
    }
    for (const auto& [tenant, seq] : batch_heads) {
      query q(w_.upsert_head);
      q.text(1, tenant).uint64(2, seq);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(writer_.db, rc, "update tenant head");
      }
    }
    for (const auto& [tenant, seq] : batch_heads) {
      if (auto st = index_subjects(tenant, seq, k_index_lag); !st) {
        return st;
      }
    }
    query q(w_.commit);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(writer_.db, rc, "commit append");
    }
    return {};
  }

  void rollback() {
    // A failed COMMIT may already have rolled back (e.g. on an I/O error).
    if (sqlite3_get_autocommit(writer_.db) != 0) {
      return;
    }
    query q(w_.rollback);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      log::error("store", sql_error(writer_.db, rc, "rollback").message);
    }
  }

  result<reader_lease> lease_reader() {
    {
      std::lock_guard lock(readers_mutex_);
      if (!idle_readers_.empty()) {
        auto r = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return reader_lease(this, std::move(r));
      }
    }
    auto r = std::make_unique<reader>();
    if (auto st = open_connection(path_, SQLITE_OPEN_READONLY, r->conn, k_busy_timeout_ms); !st) {
      return st.err();
    }
    auto* db = r->conn.db;
    const std::pair<stmt*, const char*> statements[] = {
        {&r->read_events,
         "SELECT seq, type, subject, json FROM events WHERE tenant = ?1 AND "
         "seq > ?2 ORDER BY seq LIMIT ?3"},
        {&r->quarantined,
         "SELECT id, channel, reason, received_at_ms, body, headers FROM quarantine "
         "WHERE tenant = ?1 ORDER BY id"},
        {&r->quarantine_list,
         "SELECT id, channel, reason, received_at_ms, bytes FROM quarantine WHERE tenant = ?1 "
         "AND id > ?2 ORDER BY id LIMIT ?3"},
        {&r->quarantine_list_channel,
         "SELECT id, channel, reason, received_at_ms, bytes FROM quarantine WHERE tenant = ?1 "
         "AND channel = ?4 AND id > ?2 ORDER BY id LIMIT ?3"},
        {&r->quarantined_one,
         "SELECT channel, reason, received_at_ms, body, headers FROM quarantine "
         "WHERE tenant = ?1 AND id = ?2"},
        {&r->cursor, "SELECT seq FROM cursors WHERE tenant = ?1 AND subscriber = ?2"},
        {&r->disabled,
         "SELECT reason, disabled_at_ms FROM subscriber_disabled WHERE tenant = ?1 "
         "AND subscriber = ?2"},
        {&r->dead_letters,
         "SELECT id, seq, event_id, attempts, last_error, failed_at_ms FROM dead_letters "
         "WHERE tenant = ?1 AND subscriber = ?2 AND id > ?3 ORDER BY id LIMIT ?4"},
        {&r->find_key,
         "SELECT id, wrapped_key FROM subject_keys WHERE tenant = ?1 AND subject = ?2"},
        // The index, and the recent events not in it yet (at most k_index_lag).
        {&r->subject_events,
         "WITH k (id) AS (SELECT id FROM subject_keys WHERE tenant = ?1 AND subject = ?2) "
         "SELECT seq, type, json FROM events WHERE tenant = ?1 AND seq IN "
         "(SELECT s.seq FROM subject_events s, k WHERE s.subject_key = k.id) "
         "UNION ALL SELECT seq, type, json FROM events, k WHERE tenant = ?1 AND seq > "
         "COALESCE((SELECT indexed FROM tenant_heads WHERE tenant = ?1), 0) "
         "AND subject_key = k.id ORDER BY 1 LIMIT ?3"},
        {&r->consents,
         "SELECT subject, granted, restricted, updated_at_ms FROM consent WHERE tenant = ?1 "
         "ORDER BY subject"},
        {&r->audit_log,
         "SELECT id, at_ms, actor, action, subject, outcome, detail FROM audit "
         "WHERE tenant = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
        {&r->find_deletion_request,
         "SELECT tenant, channel, subject, state, requested_at_ms, completed_at_ms "
         "FROM deletion_requests WHERE code = ?1"},
        {&r->find_privacy_request,
         "SELECT tenant, channel, kind, code, done_at_ms FROM privacy_requests WHERE digest = ?1"},
    };
    for (const auto& [s, sql] : statements) {
      if (auto st = prepare(db, sql, *s); !st) {
        return st.err();
      }
    }
    return reader_lease(this, std::move(r));
  }

  void release_reader(std::unique_ptr<reader> r) {
    std::lock_guard lock(readers_mutex_);
    if (idle_readers_.size() < k_max_idle_readers) {
      idle_readers_.push_back(std::move(r));
    }
  }

  // Declaration order is destruction order reversed: readers close first, then the writer
  // (which checkpoints the WAL), and the directory lock is released last.
  file_lock lock_;
  std::string path_;
  std::string wrap_key_;     // derived from the master key; wraps the data keys
  std::string dedupe_key_;   // derived from the master key; keys the dedupe digests
  std::string request_key_;  // derived from the master key; keys the privacy-request digests
  key_cache keys_;
  rules::request_claims claims_;  // privacy requests being carried out (in memory only)

  std::mutex write_mutex_;  // guards writer_, w_ and counted_status_: every write
  connection writer_;
  writer_statements w_;
  stmt insert_privacy_request_;  // prepared once the schema is current (not mid-migration)
  status counted_status_;        // run_counted's first failure in the current transaction

  std::mutex heads_mutex_;  // guards heads_: committed seqs only
  std::unordered_map<std::string, std::uint64_t> heads_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<reader>> idle_readers_;
};

}  // namespace

result<std::shared_ptr<event_log>> make_sqlite_log(const std::string& dir,
                                                   config::durability durability,
                                                   const std::string& master_key) {
  auto log = std::make_shared<sqlite_log>();
  if (auto st = log->open(dir, durability, master_key); !st) {
    return st.err();
  }
  return std::shared_ptr<event_log>(std::move(log));
}

}  // namespace sb::store

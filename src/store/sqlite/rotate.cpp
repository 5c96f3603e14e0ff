// The SQLite store's root record and master-key rotation (store/root_key.hpp).

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/root_key.hpp"
#include "store/sealed.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::sqlite {

namespace {

constexpr int k_rotate_busy_timeout_ms = 5000;
// Data keys re-wrapped per statement round: the scan is reset between batches, so no row is
// updated under a running scan of its table, and memory stays bounded whatever the store holds.
constexpr std::int64_t k_rotate_batch = 1000;

struct wrapped_row {
  std::string tenant;
  std::string subject;
  std::string wrapped;
};

/// One rotation inside the caller's `BEGIN IMMEDIATE`: `old_key` must open the store, then every
/// data key, the key check and the root record are written under `new_key`.
result<rotation_report> rotate_in_transaction(sqlite3* db, const std::string& path,
                                              const std::string& old_key,
                                              const std::string& new_key) {
  rotation_report report;
  auto record = read_root_record(db);
  if (!record) {
    return record.err();
  }
  report.first = !record->has_value();
  auto root = root_key_of(old_key, *record);
  if (!root) {
    return error{root.err().code, path + ": " + root.err().message};
  }
  const std::string old_wrap = sealed::derive_key(old_key, k_wrap_key_label);
  const std::string new_wrap = sealed::derive_key(new_key, k_wrap_key_label);
  // A store that was never rotated has no record to refuse a wrong key: its key check does.
  if (auto st = verify_key_check(
          db, old_wrap, k_store_key_check_text, k_store_key_check_aad,
          path + ": the key check is missing (not a Switchboard store, or one from before "
                 "encryption at rest: start the gateway on it once to migrate it)",
          path + ": " + k_root_key_refused);
      !st) {
    if (st.err().message.find(k_root_key_refused) != std::string::npos) {
      return error{errc::unauthorized, st.err().message};
    }
    return st.err();
  }

  stmt scan;
  stmt update;
  if (auto st = prepare(db,
                        "SELECT tenant, subject, wrapped_key FROM subject_keys "
                        "WHERE (tenant, subject) > (?1, ?2) ORDER BY tenant, subject LIMIT ?3",
                        scan);
      !st) {
    return st.err();
  }
  if (auto st =
          prepare(db, "UPDATE subject_keys SET wrapped_key = ?3 WHERE tenant = ?1 AND subject = ?2",
                  update);
      !st) {
    return st.err();
  }
  std::string after_tenant;
  std::string after_subject;
  std::vector<wrapped_row> batch;
  for (;;) {
    batch.clear();
    {
      query q(scan);
      q.text(1, after_tenant).text(2, after_subject).int64(3, k_rotate_batch);
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) {
        batch.push_back({q.col_text(0), q.col_text(1), q.col_blob(2)});
      }
      if (rc != SQLITE_DONE) {
        return sql_error(db, rc, "read the data keys");
      }
    }
    if (batch.empty()) {
      break;
    }
    for (const auto& row : batch) {
      const std::string aad = key_aad(row.tenant, row.subject);
      auto key = crypto::unwrap_key(old_wrap, row.wrapped, aad);
      if (!key) {
        return error{errc::internal, path + ": the data key of a subject of tenant " + row.tenant +
                                         " does not unwrap under the current master key; "
                                         "nothing was changed"};
      }
      auto rewrapped = crypto::wrap_key(new_wrap, *key, aad);
      if (!rewrapped) {
        return rewrapped.err();
      }
      query q(update);
      q.text(1, row.tenant).text(2, row.subject).blob(3, *rewrapped);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(db, rc, "re-wrap a data key");
      }
      ++report.data_keys;
    }
    after_tenant = batch.back().tenant;
    after_subject = batch.back().subject;
  }

  auto check = crypto::seal(new_wrap, k_store_key_check_text, k_store_key_check_aad);
  if (!check) {
    return check.err();
  }
  auto sealed_root = seal_root_key(new_key, *root);
  if (!sealed_root) {
    return sealed_root.err();
  }
  stmt put;
  if (auto st = prepare(db, "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)", put);
      !st) {
    return st.err();
  }
  for (const auto& [name, value] :
       {std::pair<std::string_view, const std::string*>{"key_check", &*check},
        {"root_key", &*sealed_root}}) {
    query q(put);
    q.text(1, name).blob(2, *value);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db, rc, "write " + std::string(name));
    }
  }
  return report;
}

}  // namespace

result<std::optional<std::string>> read_root_record(sqlite3* db) {
  stmt has_meta;
  if (auto st = prepare(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
                        has_meta);
      !st) {
    return st.err();
  }
  {
    query q(has_meta);
    const int rc = q.step();
    if (rc == SQLITE_DONE) {
      return std::optional<std::string>();
    }
    if (rc != SQLITE_ROW) {
      return sql_error(db, rc, "read the schema");
    }
  }
  stmt get;
  if (auto st = prepare(db, "SELECT value FROM meta WHERE name = 'root_key'", get); !st) {
    return st.err();
  }
  query q(get);
  const int rc = q.step();
  if (rc == SQLITE_DONE) {
    return std::optional<std::string>();
  }
  if (rc != SQLITE_ROW) {
    return sql_error(db, rc, "read the root key");
  }
  return std::optional<std::string>(q.col_blob(0));
}

result<std::optional<std::string>> read_root_record(const std::string& dir) {
  const std::string path = dir + "/switchboard.db";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::optional<std::string>();
  }
  connection c;
  if (auto st = open_connection(path, SQLITE_OPEN_READONLY, c, k_rotate_busy_timeout_ms); !st) {
    return st.err();
  }
  return read_root_record(c.db);
}

result<rotation_report> rotate_master_key(const std::string& dir, const std::string& old_key,
                                          const std::string& new_key) {
  const std::string path = dir + "/switchboard.db";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return error{errc::not_found, "there is no store at " + path + " (storage.path)"};
  }
  // The gateway holds this lock while it runs: a rotation under it would leave the gateway
  // wrapping new data keys under the old key.
  file_lock lock;
  const std::string lock_path = dir + "/switchboard.lock";
  if (auto st = lock_file(lock_path, lock,
                          "the store in " + dir +
                              " is in use (a gateway, or a backup or restore, is running); "
                              "stop it first");
      !st) {
    return st.err();
  }
  connection c;
  if (auto st = open_connection(path, SQLITE_OPEN_READWRITE, c, k_rotate_busy_timeout_ms); !st) {
    return st.err();
  }
  // FULL: the rotation is durable once it says so. secure_delete: the pages that held the
  // data keys wrapped under the old key are overwritten, not left in the file.
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA secure_delete = ON"}) {
    if (auto st = exec(c.db, pragma); !st) {
      return st.err();
    }
  }
  if (auto st = exec(c.db, "BEGIN IMMEDIATE"); !st) {
    return st.err();
  }
  auto report = rotate_in_transaction(c.db, path, old_key, new_key);
  if (!report) {
    rollback_after_failure(c.db);
    return report;
  }
  if (auto st = exec(c.db, "COMMIT"); !st) {
    rollback_after_failure(c.db);
    return st.err();
  }
  // The old wrapped keys are still in the WAL's frames until it is checkpointed and truncated.
  if (auto st = exec(c.db, "PRAGMA wal_checkpoint(TRUNCATE)"); !st) {
    return error{errc::internal,
                 "the key was rotated, but the WAL was not truncated: " + st.err().message};
  }
  return report;
}

}  // namespace sb::store::sqlite

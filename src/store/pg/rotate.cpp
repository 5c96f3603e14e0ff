// The PostgreSQL store's root record and master-key rotation (store/root_key.hpp,
// store/pg/root_record.hpp).

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/outbox_codec.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/root_record.hpp"
#include "store/pg/schema.hpp"
#include "store/root_key.hpp"
#include "store/sealed.hpp"

namespace sb::store::pg {

namespace {

// Data keys re-wrapped per round trip: one SELECT and one UPDATE (arrays through `unnest`) per
// batch, so memory stays bounded whatever the store holds.
constexpr const char* k_rotate_batch = "1000";

// How long the rotation waits for its locks: a replica's transaction in flight holds them.
constexpr const char* k_rotate_lock_timeout = "SET LOCAL lock_timeout = '10s'";

// How long a rotation waits for the sessions of replicas that just stopped to end.
constexpr std::chrono::seconds k_sessions_grace{3};

// The rotation's own session name, not a gateway's (check_no_replica counts those).
constexpr const char* k_rotate_application = "switchboard-rotate-master-key";

// The node the rotation's schema migration is recorded as done by (`switchboard_schema.node`).
constexpr std::string_view k_rotate_node = "rotate-master-key";

struct wrapped_row {
  std::string id;
  std::string tenant;
  std::string subject;
  std::string wrapped;
};

/// Refuses the rotation while a replica runs: its leases are rows whose expiry is still ahead.
/// A replica that kept running would wrap the data keys it creates under the old master key, and
/// they would open under no key the operator still has.
/// The gateway sessions connected to the database, other than this one: every gateway session
/// is named (connection::k_gateway_application), so a replica that holds no lease still shows
/// by its pool and listener.
result<std::string> gateway_sessions(connection& c) {
  auto sessions = c.exec(
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid() AND application_name = $1",
      {std::string(connection::k_gateway_application)});
  if (!sessions) {
    return sessions.err();
  }
  return std::string(sessions->text(0, 0));
}

error sessions_refusal(const std::string& n) {
  return {errc::unavailable,
          n +
              " gateway session(s) are connected to this database (pg_stat_activity, "
              "application_name '" +
              connection::k_gateway_application + "'): stop every replica first"};
}

/// Before the transaction: waits up to `k_sessions_grace` for gateway sessions to end (a
/// replica just stopped: its server processes outlive the client by a moment).
status wait_for_no_sessions(connection& c) {
  const auto deadline = std::chrono::steady_clock::now() + k_sessions_grace;
  for (;;) {
    auto n = gateway_sessions(c);
    if (!n) {
      return n.err();
    }
    if (*n == "0") {
      return {};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return sessions_refusal(*n);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

status check_no_replica(connection& c) {
  auto sessions = gateway_sessions(c);
  if (!sessions) {
    return sessions.err();
  }
  if (*sessions != "0") {
    return sessions_refusal(*sessions);
  }
  auto held = c.exec(
      "SELECT holder, COUNT(*) FROM switchboard_leases WHERE expires_at > now() "
      "GROUP BY holder ORDER BY holder");
  if (!held) {
    return held.err();
  }
  if (held->size() == 0) {
    return {};
  }
  std::string who;
  for (int i = 0; i < held->size(); ++i) {
    who += (i == 0 ? "" : ", ") + std::string(held->text(i, 0)) + ": " +
           std::string(held->text(i, 1)) + (held->text(i, 1) == "1" ? " lease" : " leases");
  }
  const int n = held->size();
  return {errc::unavailable,
          std::to_string(n) + (n == 1 ? " replica holds" : " replicas hold") +
              " leases on this database (" + who +
              "); stop every replica first (a replica that stopped without releasing its "
              "leases: wait cluster.lease_ms for them to expire)"};
}

/// A store never rotated has no root record to refuse a wrong key, and PostgreSQL has no event
/// log key check: the old key must open the outbox's key check (sealed under the root key, which
/// is the master key until the first rotation) and the first data key. An empty database proves
/// nothing and needs nothing: there is no data key to lose.
status check_first_key(connection& c, const std::string& old_key) {
  auto check = c.exec("SELECT value FROM outbox_meta WHERE name = 'key_check'");
  if (!check) {
    return check.err();
  }
  if (check->size() > 0) {
    auto stored = check->bytes(0, 0);
    if (!stored) {
      return stored.err();
    }
    outbox_codec::keys keys;
    if (auto st = keys.derive(old_key); !st) {
      return st;
    }
    if (auto st = keys.verify_key_check(*stored); !st) {
      return {errc::unauthorized, k_root_key_refused};
    }
  }
  auto first = c.exec("SELECT tenant, subject, wrapped FROM subject_keys ORDER BY id LIMIT 1");
  if (!first) {
    return first.err();
  }
  if (first->size() > 0) {
    auto wrapped = first->bytes(0, 2);
    if (!wrapped) {
      return wrapped.err();
    }
    const std::string aad = key_aad(std::string(first->text(0, 0)), std::string(first->text(0, 1)));
    if (!crypto::unwrap_key(sealed::derive_key(old_key, k_wrap_key_label), *wrapped, aad)) {
      return {errc::unauthorized, k_root_key_refused};
    }
  }
  return {};
}

/// Every data key re-wrapped from `old_wrap` to `new_wrap`, in the caller's transaction; how many.
result<std::uint64_t> rewrap_data_keys(connection& c, const std::string& old_wrap,
                                       const std::string& new_wrap) {
  std::uint64_t done = 0;
  std::string after = "0";
  std::vector<wrapped_row> batch;
  for (;;) {
    auto rows = c.exec(
        "SELECT id, tenant, subject, wrapped FROM subject_keys WHERE id > $1::bigint "
        "ORDER BY id LIMIT $2::bigint",
        {after, k_rotate_batch});
    if (!rows) {
      return rows.err();
    }
    if (rows->size() == 0) {
      return done;
    }
    batch.clear();
    for (int i = 0; i < rows->size(); ++i) {
      auto wrapped = rows->bytes(i, 3);
      if (!wrapped) {
        return wrapped.err();
      }
      batch.push_back({std::string(rows->text(i, 0)), std::string(rows->text(i, 1)),
                       std::string(rows->text(i, 2)), std::move(wrapped).value()});
    }
    std::vector<std::string> ids;
    std::vector<std::string> rewrapped;
    ids.reserve(batch.size());
    rewrapped.reserve(batch.size());
    for (const auto& row : batch) {
      const std::string aad = key_aad(row.tenant, row.subject);
      auto key = crypto::unwrap_key(old_wrap, row.wrapped, aad);
      if (!key) {
        return error{errc::internal, "the data key of a subject of tenant " + row.tenant +
                                         " (subject_keys.id " + row.id +
                                         ") does not unwrap under the current master key; "
                                         "nothing was changed"};
      }
      auto again = crypto::wrap_key(new_wrap, *key, aad);
      if (!again) {
        return again.err();
      }
      ids.push_back(row.id);
      rewrapped.push_back(std::move(again).value());
    }
    std::vector<const std::string*> values;
    values.reserve(rewrapped.size());
    for (const auto& w : rewrapped) {
      values.push_back(&w);
    }
    const std::string id_array = text_array(ids);
    const std::string wrapped_array = bytea_array(values);
    auto updated = c.exec(
        "UPDATE subject_keys AS k SET wrapped = u.wrapped FROM unnest($1::bigint[], $2::bytea[]) "
        "AS u (id, wrapped) WHERE k.id = u.id",
        {id_array, wrapped_array});
    if (!updated) {
      return updated.err();
    }
    if (updated->affected() != batch.size()) {
      return error{errc::internal, "re-wrapping the data keys updated " +
                                       std::to_string(updated->affected()) + " rows of " +
                                       std::to_string(batch.size()) + "; nothing was changed"};
    }
    done += batch.size();
    after = batch.back().id;
  }
}

/// One rotation inside the caller's transaction, tables locked: `old_key` must open the store,
/// then every data key and the root record are written under `new_key`.
result<rotation_report> rotate_in_transaction(connection& c, const std::string& old_key,
                                              const std::string& new_key) {
  if (auto st = check_no_replica(c); !st) {
    return st.err();
  }
  rotation_report report;
  auto record = read_root_record(c);
  if (!record) {
    return record.err();
  }
  report.first = !record->has_value();
  auto root = root_key_of(old_key, *record);
  if (!root) {
    return root.err();
  }
  if (report.first) {
    if (auto st = check_first_key(c, old_key); !st) {
      return st.err();
    }
  }
  auto n = rewrap_data_keys(c, sealed::derive_key(old_key, k_wrap_key_label),
                            sealed::derive_key(new_key, k_wrap_key_label));
  if (!n) {
    return n.err();
  }
  report.data_keys = *n;
  auto sealed_root = seal_root_key(new_key, *root);
  if (!sealed_root) {
    return sealed_root.err();
  }
  if (auto st = write_root_record(c, *sealed_root); !st) {
    return st.err();
  }
  return report;
}

}  // namespace

result<std::optional<std::string>> read_root_record(connection& c) {
  auto exists = c.exec("SELECT to_regclass('store_meta') IS NOT NULL");
  if (!exists) {
    return exists.err();
  }
  if (exists->text(0, 0) != "t") {
    return std::optional<std::string>();
  }
  auto r = c.exec("SELECT value FROM store_meta WHERE name = 'root_key'");
  if (!r) {
    return r.err();
  }
  if (r->size() == 0) {
    return std::optional<std::string>();
  }
  auto value = r->bytes(0, 0);
  if (!value) {
    return value.err();
  }
  return std::optional<std::string>(std::move(value).value());
}

status write_root_record(connection& c, const std::string& record) {
  auto r = c.exec(
      "INSERT INTO store_meta (name, value) VALUES ('root_key', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
      {param::bytes(record)});
  if (!r) {
    return r.err();
  }
  return {};
}

result<std::optional<std::string>> read_root_record(const std::string& dsn) {
  auto c = connection::open(dsn);
  if (!c) {
    return c.err();
  }
  return read_root_record(*c);
}

result<rotation_report> rotate_master_key(const std::string& dsn, const std::string& old_key,
                                          const std::string& new_key) {
  if (new_key.size() != crypto::aead_key_size) {
    return error{errc::bad_request, "the new master key must be 64 hex characters (32 bytes)"};
  }
  auto opened = connection::open(dsn, k_rotate_application);
  if (!opened) {
    return opened.err();
  }
  connection& c = *opened;
  // A database of an older build gets `store_meta` (and whatever else it lacks) first, as a
  // replica of this build would on its start.
  if (auto schema = migrate(c, schema_versions(), k_rotate_node); !schema) {
    return error{schema.err().code,
                 "the PostgreSQL schema could not be brought up to date: " + schema.err().message};
  }
  if (auto st = wait_for_no_sessions(c); !st) {
    return st.err();
  }
  transaction tx(c);  // a failure rolls back: nothing changed, the old key in force
  if (auto st = tx.begin(); !st) {
    return st.err();
  }
  if (auto r = c.exec(k_rotate_lock_timeout); !r) {
    return r.err();
  }
  // store_meta first, exclusively even against readers: a replica that starts meanwhile waits
  // for the commit at its root-record read, then reads the new record (and is refused with the
  // old key). subject_keys against every writer: no data key is created under the old key while
  // the others are re-wrapped. Always in this order, and no replica locks store_meta.
  if (auto r = c.exec("LOCK TABLE store_meta IN ACCESS EXCLUSIVE MODE"); !r) {
    return error{r.err().code,
                 "cannot lock store_meta (is a replica starting on this "
                 "database? stop every replica first): " +
                     r.err().message};
  }
  if (auto r = c.exec("LOCK TABLE subject_keys IN EXCLUSIVE MODE"); !r) {
    return error{r.err().code,
                 "cannot lock subject_keys (is a replica running on this "
                 "database? stop every replica first): " +
                     r.err().message};
  }
  auto report = rotate_in_transaction(c, old_key, new_key);
  if (!report) {
    return report;
  }
  if (auto st = tx.commit(); !st) {
    return st.err();
  }
  return report;
}

}  // namespace sb::store::pg

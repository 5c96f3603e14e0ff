// The SQLite log's quarantine (the quarantine members of `event_log`): unparseable bodies kept
// sealed under their tenant's own data key, with the headers their adapter reads, within a byte
// quota per channel that the triggers of schema v5 keep exact (`quarantine_usage`).
#include <string>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/log.hpp"
#include "store/codec.hpp"
#include "store/sqlite/event_log.hpp"

namespace sb::store::sqlite {

namespace {

error no_quarantined(std::uint64_t id) {
  return {errc::not_found, "no quarantined body " + std::to_string(id)};
}

}  // namespace

result<std::uint64_t> sqlite_event_log::quarantine(quarantined_body body,
                                                   std::uint64_t quota_bytes) {
  const std::uint64_t charge = quarantine_charge(body);
  std::lock_guard lock(db_->write_mutex);
  // Every write of the log holds the write lock (and the directory lock keeps other processes
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
  write_keys wk = db_->writing();
  std::uint64_t id = 0;
  auto st = db_->in_transaction("quarantine", [&]() -> status {
    auto key = db_->keys.writer_key(wk, body.tenant, "", "", body.received_at.unix_ms);
    if (!key) {
      return key.err();
    }
    std::string sealed;
    std::string sealed_headers;
    if (auto s = seal_quarantined((*key)->key, body, sealed, sealed_headers); !s) {
      return s;
    }
    query q(db_->w.insert_quarantine);
    q.text(1, body.tenant).text(2, body.channel).text(3, body.reason);
    q.int64(4, body.received_at.unix_ms).blob(5, sealed);
    q.uint64(6, body.body.size()).uint64(7, charge);
    if (!sealed_headers.empty()) {
      q.blob(8, sealed_headers);  // else NULL: no headers
    }
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "quarantine");
    }
    id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_->writer.db));
    return {};
  });
  if (!st) {
    return st.err();
  }
  db_->keys.publish(wk);
  return id;
}

std::vector<quarantined_body> sqlite_event_log::quarantined(const std::string& tenant) {
  std::vector<quarantined_body> out;
  auto lease = db_->readers.take();
  if (!lease) {
    log::error("store", "quarantined(", tenant, "): ", lease.err().message);
    return out;
  }
  auto rk = db_->keys.reading((*lease)->conn.db, (*lease)->find_key);
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
    auto st = open_quarantined(rk, b, q.col_view(4), q.col_view(5));
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

result<std::vector<quarantine_entry>> sqlite_event_log::quarantine_list(const std::string& tenant,
                                                                        const std::string& channel,
                                                                        std::uint64_t after_id,
                                                                        std::size_t limit) {
  std::vector<quarantine_entry> out;
  if (limit == 0) {
    return out;
  }
  auto lease = db_->readers.take();
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

result<quarantined_body> sqlite_event_log::quarantined_one(const std::string& tenant,
                                                           std::uint64_t id) {
  auto lease = db_->readers.take();
  if (!lease) {
    return lease.err();
  }
  auto rk = db_->keys.reading((*lease)->conn.db, (*lease)->find_key);
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
  if (auto st = open_quarantined(rk, b, q.col_view(3), q.col_view(4)); !st) {
    return st.err();
  }
  return b;
}

result<quarantine_entry> sqlite_event_log::drop_quarantined(const std::string& tenant,
                                                            std::uint64_t id) {
  std::lock_guard lock(db_->write_mutex);
  query q(db_->w.drop_quarantined);
  q.text(1, tenant).uint64(2, id);
  int rc = q.step();
  if (rc == SQLITE_DONE) {
    return no_quarantined(id);
  }
  if (rc != SQLITE_ROW) {
    return sql_error(db_->writer.db, rc, "drop quarantined body");
  }
  quarantine_entry e{id, q.col_text(0), q.col_text(1), timestamp::from_millis(q.col_int64(2)),
                     q.col_uint64(3)};
  // The statement (and its trigger) commits when it completes.
  if (rc = q.step(); rc != SQLITE_DONE) {
    return sql_error(db_->writer.db, rc, "drop quarantined body");
  }
  return e;
}

result<quarantine_purge> sqlite_event_log::drop_quarantine_of(const std::string& tenant,
                                                              const std::string& channel) {
  quarantine_purge out;
  std::lock_guard lock(db_->write_mutex);
  auto st = db_->in_transaction("purge quarantine", [&]() -> status {
    query q(db_->w.drop_quarantine_of);
    q.text(1, tenant).text(2, channel);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      ++out.bodies;
      out.bytes += q.col_uint64(0);
    }
    if (rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "purge quarantine");
    }
    return {};
  });
  if (!st) {
    return st.err();
  }
  return out;
}

result<std::uint64_t> sqlite_event_log::quarantine_used(const std::string& tenant,
                                                        const std::string& channel) {
  std::lock_guard lock(db_->write_mutex);
  return used_locked(tenant, channel);
}

result<std::uint64_t> sqlite_event_log::used_locked(const std::string& tenant,
                                                    const std::string& channel) {
  query q(db_->w.quarantine_used);
  q.text(1, tenant).text(2, channel);
  int rc = q.step();
  if (rc == SQLITE_ROW) {
    return q.col_uint64(0);
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db_->writer.db, rc, "read quarantine usage");
  }
  return std::uint64_t{0};
}

status sqlite_event_log::open_quarantined(read_keys& rk, quarantined_body& b, std::string_view body,
                                          std::string_view headers) {
  if (auto st = db_->keys.open(rk, b.tenant, "", body, quarantine_aad(b.tenant, b.channel), b.body);
      !st) {
    return st;
  }
  if (headers.empty()) {
    return {};
  }
  std::string plain;
  if (auto st = db_->keys.open(rk, b.tenant, "", headers,
                               quarantine_headers_aad(b.tenant, b.channel), plain);
      !st) {
    return st;
  }
  if (!decode_headers(plain, b.headers)) {
    return {errc::internal,
            "the headers of quarantined body " + std::to_string(b.id) + " are malformed"};
  }
  return {};
}

}  // namespace sb::store::sqlite

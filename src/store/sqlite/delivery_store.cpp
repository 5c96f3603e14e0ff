// The SQLite log's `delivery_store`: each push subscriber's cursor, its dead letters and whether
// its receiver stopped delivery. Nothing here is sealed: no content, only positions and ids.
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

namespace {

std::string subscriber_label(const std::string& tenant, const std::string& subscriber) {
  return tenant + "/" + subscriber;
}

class sqlite_delivery_store final : public delivery_store {
 public:
  explicit sqlite_delivery_store(std::shared_ptr<database> db) : db_(std::move(db)) {}

  status save_cursor(const std::string& tenant, const std::string& subscriber,
                     std::uint64_t seq) override {
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.upsert_cursor);
    q.text(1, tenant).text(2, subscriber).uint64(3, seq);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "save cursor");
    }
    return {};
  }

  std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) override {
    auto lease = db_->readers.take();
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
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.insert_dead_letter);
    q.text(1, letter.tenant).text(2, letter.subscriber).uint64(3, letter.seq);
    q.text(4, letter.event_id).int64(5, letter.attempts).text(6, letter.last_error);
    q.int64(7, letter.failed_at.unix_ms);
    int rc = q.step();
    if (rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "add dead letter");
    }
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_->writer.db));
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::vector<dead_letter> out;
    if (limit == 0) {
      return out;
    }
    auto lease = db_->readers.take();
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
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.take_dead_letter);
    q.uint64(1, id).text(2, tenant).text(3, subscriber);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return {errc::not_found, "no dead letter " + std::to_string(id) + " for subscriber " +
                                   subscriber_label(tenant, subscriber)};
    }
    if (rc != SQLITE_ROW) {
      return sql_error(db_->writer.db, rc, "take dead letter");
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
      return sql_error(db_->writer.db, rc, "take dead letter");
    }
    return d;
  }

  status disable(const std::string& tenant, const std::string& subscriber,
                 subscriber_disabled why) override {
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.upsert_disabled);
    q.text(1, tenant).text(2, subscriber).text(3, why.reason).int64(4, why.since.unix_ms);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "disable subscriber");
    }
    return {};
  }

  status enable(const std::string& tenant, const std::string& subscriber) override {
    std::lock_guard lock(db_->write_mutex);
    query q(db_->w.delete_disabled);
    q.text(1, tenant).text(2, subscriber);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "enable subscriber");
    }
    return {};
  }

  result<std::optional<subscriber_disabled>> disabled(const std::string& tenant,
                                                      const std::string& subscriber) override {
    auto lease = db_->readers.take();
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

 private:
  std::shared_ptr<database> db_;
};

}  // namespace

std::shared_ptr<delivery_store> make_delivery_store(std::shared_ptr<database> db) {
  return std::make_shared<sqlite_delivery_store>(std::move(db));
}

}  // namespace sb::store::sqlite

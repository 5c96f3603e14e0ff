#include "store/pg/delivery_store.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"

namespace sb::store::pg {

namespace {


std::string label(const std::string& tenant, const std::string& subscriber) {
  return tenant + "/" + subscriber;
}

class pg_delivery_store final : public delivery_store {
 public:
  pg_delivery_store(std::shared_ptr<pool> p, std::shared_ptr<const fences> f)
      : pool_(std::move(p)), fences_(std::move(f)) {}

  status save_cursor(const std::string& tenant, const std::string& subscriber,
                     std::uint64_t seq) override {
    if (!fences_ || !fences_->held) {
      return run("INSERT INTO cursors AS c (tenant, subscriber, seq) VALUES ($1, $2, $3) "
                 "ON CONFLICT (tenant, subscriber) DO UPDATE SET seq = EXCLUDED.seq",
                 {tenant, subscriber, bigint(seq)});
    }
    const std::string name = push_lease(tenant, subscriber);
    const auto held = fences_->held(name);
    if (!held) {
      return {errc::unavailable, "the push lease of " + label(tenant, subscriber) +
                                     " is not held here: its cursor is the holder's to save"};
    }
    // One statement: written only while the lease row still names this holder in this
    // generation, and that row is locked for sharing until the write commits (a takeover waits).
    auto q = pool_->exec(
        "INSERT INTO cursors AS c (tenant, subscriber, seq) SELECT $1, $2, $3 "
        "FROM switchboard_leases l WHERE l.name = $4 AND l.holder = $5 AND l.generation = $6 "
        "FOR SHARE OF l ON CONFLICT (tenant, subscriber) DO UPDATE SET seq = EXCLUDED.seq",
        {tenant, subscriber, bigint(seq), name, held->holder, bigint(held->generation)});
    if (!q) {
      return q.err();
    }
    if (q->affected() == 0) {
      return {errc::unavailable, "the push lease of " + label(tenant, subscriber) +
                                     " passed to another replica: cursor not saved"};
    }
    return {};
  }

  std::uint64_t cursor(const std::string& tenant, const std::string& subscriber) override {
    auto q = pool_->exec("SELECT seq FROM cursors WHERE tenant = $1 AND subscriber = $2",
                         {tenant, subscriber});
    if (!q) {
      log::error("store", "cursor(", label(tenant, subscriber), "): ", q.err().message);
      return 0;
    }
    if (q->size() == 0) {
      return 0;
    }
    auto v = q->int64(0, 0);
    return v ? static_cast<std::uint64_t>(*v) : 0;
  }

  result<std::uint64_t> add_dead_letter(dead_letter letter) override {
    // The subject comes from the event, so erasing the subject finds its dead letters.
    auto q = pool_->exec(
        "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
        "failed_at_ms, subject) VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE((SELECT subject "
        "FROM events WHERE tenant = $1 AND seq = $3), '')) RETURNING id",
        {letter.tenant, letter.subscriber, bigint(letter.seq), letter.event_id,
         std::to_string(letter.attempts), letter.last_error,
         std::to_string(letter.failed_at.unix_ms)});
    if (!q) {
      return q.err();
    }
    auto id = q->int64(0, 0);
    if (!id) {
      return id.err();
    }
    return static_cast<std::uint64_t>(*id);
  }

  std::vector<dead_letter> dead_letters(const std::string& tenant, const std::string& subscriber,
                                        std::uint64_t after_id, std::size_t limit) override {
    std::vector<dead_letter> out;
    if (limit == 0) {
      return out;
    }
    auto q = pool_->exec(
        "SELECT id, seq, event_id, attempts, last_error, failed_at_ms FROM dead_letters "
        "WHERE tenant = $1 AND subscriber = $2 AND id > $3 ORDER BY id LIMIT $4",
        {tenant, subscriber, bigint(after_id), bigint(limit)});
    if (!q) {
      log::error("store", "dead_letters(", label(tenant, subscriber), "): ", q.err().message);
      return out;
    }
    for (int i = 0; i < q->size(); ++i) {
      auto d = letter_row(*q, i, 0, tenant, subscriber);
      if (!d) {
        log::error("store", "dead_letters(", label(tenant, subscriber), "): ", d.err().message);
        break;
      }
      out.push_back(std::move(*d));
    }
    return out;
  }

  result<dead_letter> take_dead_letter(const std::string& tenant, const std::string& subscriber,
                                       std::uint64_t id) override {
    auto q = pool_->exec(
        "DELETE FROM dead_letters WHERE id = $1 AND tenant = $2 AND subscriber = $3 "
        "RETURNING id, seq, event_id, attempts, last_error, failed_at_ms",
        {bigint(id), tenant, subscriber});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return error{errc::not_found, "no dead letter " + std::to_string(id)};
    }
    return letter_row(*q, 0, 0, tenant, subscriber);
  }

  status disable(const std::string& tenant, const std::string& subscriber,
                 subscriber_disabled why) override {
    return run("INSERT INTO subscriber_disabled (tenant, subscriber, reason, disabled_at_ms) "
               "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, subscriber) DO UPDATE SET "
               "reason = EXCLUDED.reason, disabled_at_ms = EXCLUDED.disabled_at_ms",
               {tenant, subscriber, why.reason, std::to_string(why.since.unix_ms)});
  }

  status enable(const std::string& tenant, const std::string& subscriber) override {
    return run("DELETE FROM subscriber_disabled WHERE tenant = $1 AND subscriber = $2",
               {tenant, subscriber});
  }

  result<std::optional<subscriber_disabled>> disabled(const std::string& tenant,
                                                      const std::string& subscriber) override {
    auto q = pool_->exec(
        "SELECT reason, disabled_at_ms FROM subscriber_disabled "
        "WHERE tenant = $1 AND subscriber = $2",
        {tenant, subscriber});
    if (!q) {
      return q.err();
    }
    if (q->size() == 0) {
      return std::optional<subscriber_disabled>{};
    }
    auto since = q->int64(0, 1);
    if (!since) {
      return since.err();
    }
    return std::optional<subscriber_disabled>{
        subscriber_disabled{std::string(q->text(0, 0)), timestamp::from_millis(*since)}};
  }

 private:
  status run(const char* sql, std::initializer_list<param> params) {
    if (auto q = pool_->exec(sql, params); !q) {
      return q.err();
    }
    return {};
  }

  /// A row of (id, seq, event_id, attempts, last_error, failed_at_ms).
  static result<dead_letter> letter_row(const rows& q, int i, int first, const std::string& tenant,
                                        const std::string& subscriber) {
    auto id = q.int64(i, first);
    auto seq = q.int64(i, first + 1);
    auto attempts = q.int64(i, first + 3);
    auto failed = q.int64(i, first + 5);
    if (!id || !seq || !attempts || !failed) {
      return error{errc::internal, "a dead letter row is malformed"};
    }
    dead_letter d;
    d.id = static_cast<std::uint64_t>(*id);
    d.tenant = tenant;
    d.subscriber = subscriber;
    d.seq = static_cast<std::uint64_t>(*seq);
    d.event_id = std::string(q.text(i, first + 2));
    d.attempts = static_cast<std::uint32_t>(*attempts);
    d.last_error = std::string(q.text(i, first + 4));
    d.failed_at = timestamp::from_millis(*failed);
    return d;
  }

  std::shared_ptr<pool> pool_;
  std::shared_ptr<const fences> fences_;
};

}  // namespace

std::shared_ptr<delivery_store> make_delivery_store(std::shared_ptr<pool> connections,
                                                    std::shared_ptr<const fences> fenced) {
  return std::make_shared<pg_delivery_store>(std::move(connections), std::move(fenced));
}

}  // namespace sb::store::pg

// The SQLite log's `definition_store`: the control plane's tenant documents in `control_tenants`
// (schema v10), written on the writer connection with their audit entry in one transaction.
// Control-plane changes are rare (an operator's call), so the statements are prepared per call
// and the writer's lock is held only for that transaction.
#include <string>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/definitions.hpp"
#include "store/sqlite/database.hpp"

namespace sb::store::sqlite {

namespace {

class sqlite_definitions final : public definition_store {
 public:
  explicit sqlite_definitions(std::shared_ptr<database> db) : db_(std::move(db)) {}

  result<std::vector<tenant_definition>> load_all() override {
    std::lock_guard lock(db_->write_mutex);
    stmt s;
    if (auto st = prepare(db_->writer.db,
                          "SELECT tenant, document, updated_at_ms FROM control_tenants "
                          "ORDER BY tenant",
                          s);
        !st) {
      return st.err();
    }
    std::vector<tenant_definition> out;
    query q(s);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      tenant_definition d;
      d.tenant = q.col_text(0);
      auto plain = crypto::open(db_->keys.control_key(), q.col_blob(1), definition_aad(d.tenant));
      if (!plain) {
        return error{errc::internal, "control_tenants: the document of tenant '" + d.tenant +
                                         "' does not open (" + plain.err().message + ")"};
      }
      d.document = std::move(*plain);
      d.updated_at_ms = q.col_int64(2);
      out.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "control_tenants: load");
    }
    return out;
  }

  status put(const tenant_definition& d, const audit_entry& audit,
             std::optional<std::int64_t> replaces) override {
    auto sealed = crypto::seal(db_->keys.control_key(), d.document, definition_aad(d.tenant));
    if (!sealed) {
      return sealed.err();
    }
    std::lock_guard lock(db_->write_mutex);
    return db_->in_transaction("control put", [&]() -> status {
      stmt s;
      if (auto st = prepare(db_->writer.db,
                            replaces ? "UPDATE control_tenants SET document = ?2, "
                                       "updated_at_ms = ?3 WHERE tenant = ?1 AND updated_at_ms = ?4"
                                     : k_insert_if_absent,
                            s);
          !st) {
        return st;
      }
      auto written = write_row(s, d, *sealed, replaces, "control_tenants: put");
      if (!written) {
        return written.err();
      }
      if (!*written) {
        return error{errc::conflict, stale_definition(d.tenant)};
      }
      return write_audit(audit);
    });
  }

  result<std::vector<std::string>> insert_absent(
      const std::vector<std::pair<tenant_definition, audit_entry>>& items) override {
    std::vector<std::string> sealed;
    sealed.reserve(items.size());
    for (const auto& [d, audit] : items) {
      auto s = crypto::seal(db_->keys.control_key(), d.document, definition_aad(d.tenant));
      if (!s) {
        return s.err();
      }
      sealed.push_back(std::move(*s));
    }
    std::vector<std::string> stored;
    std::lock_guard lock(db_->write_mutex);
    auto st = db_->in_transaction("control import", [&]() -> status {
      stmt s;
      if (auto st = prepare(db_->writer.db, k_insert_if_absent, s); !st) {
        return st;
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& [d, audit] = items[i];
        auto written = write_row(s, d, sealed[i], std::nullopt, "control_tenants: import");
        if (!written) {
          return written.err();
        }
        if (!*written) {
          continue;  // stored already
        }
        if (auto st = write_audit(audit); !st) {
          return st;
        }
        stored.push_back(d.tenant);
      }
      return {};
    });
    if (!st) {
      return st.err();
    }
    return stored;
  }

  status remove(const std::string& tenant, const audit_entry& audit) override {
    std::lock_guard lock(db_->write_mutex);
    return db_->in_transaction("control remove", [&]() -> status {
      stmt s;
      if (auto st = prepare(db_->writer.db, "DELETE FROM control_tenants WHERE tenant = ?1", s);
          !st) {
        return st;
      }
      query q(s);
      q.text(1, tenant);
      if (int rc = q.step(); rc != SQLITE_DONE) {
        return sql_error(db_->writer.db, rc, "control_tenants: remove");
      }
      return write_audit(audit);
    });
  }

 private:
  /// A new tenant's row, unless the tenant has one.
  static constexpr const char* k_insert_if_absent =
      "INSERT INTO control_tenants (tenant, document, updated_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (tenant) DO NOTHING";

  /// Runs `s` (?1 tenant, ?2 sealed document, ?3 updated_at_ms, and ?4 the version replaced
  /// when given) for `d`: whether it wrote the row; `what` names a failure. With the write lock
  /// held, inside the transaction.
  result<bool> write_row(const stmt& s, const tenant_definition& d, const std::string& sealed,
                         std::optional<std::int64_t> replaces, const char* what) {
    query q(s);
    q.text(1, d.tenant).blob(2, sealed).int64(3, d.updated_at_ms);
    if (replaces) {
      q.int64(4, *replaces);
    }
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, what);
    }
    return sqlite3_changes(db_->writer.db) != 0;
  }

  /// With the write lock held, inside the transaction.
  status write_audit(const audit_entry& e) {
    query q(db_->w.insert_audit);
    q.text(1, e.tenant).int64(2, e.at.unix_ms).text(3, e.actor).text(4, e.action);
    q.text(5, e.subject).text(6, e.outcome).text(7, e.detail);
    if (int rc = q.step(); rc != SQLITE_DONE) {
      return sql_error(db_->writer.db, rc, "audit");
    }
    return {};
  }

  std::shared_ptr<database> db_;
};

}  // namespace

std::shared_ptr<definition_store> make_definition_store(std::shared_ptr<database> db) {
  return std::make_shared<sqlite_definitions>(std::move(db));
}

}  // namespace sb::store::sqlite

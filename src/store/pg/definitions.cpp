// The PostgreSQL `definition_store`: the control plane's tenant documents in `control_tenants`
// (schema v8), shared by every replica. A change is written with its audit entry and a
// `NOTIFY switchboard_control, '<tenant>'` in one transaction, so every replica's listener hears
// of it once it commits (store/pg/listener.hpp) and applies it (docs/control-plane.md).
#include "store/pg/definitions.hpp"

#include <utility>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/key_ring.hpp"
#include "store/pg/listener.hpp"

namespace sb::store::pg {

namespace {

class pg_definitions final : public definition_store {
 public:
  pg_definitions(std::shared_ptr<pool> connections, std::string control_key)
      : pool_(std::move(connections)), key_(std::move(control_key)) {}

  result<std::vector<tenant_definition>> load_all() override {
    auto r =
        pool_->exec("SELECT tenant, document, updated_at_ms FROM control_tenants ORDER BY tenant");
    if (!r) {
      return r.err();
    }
    std::vector<tenant_definition> out;
    out.reserve(static_cast<std::size_t>(r->size()));
    for (int i = 0; i < r->size(); ++i) {
      tenant_definition d;
      d.tenant = std::string(r->text(i, 0));
      auto sealed = r->bytes(i, 1);
      if (!sealed) {
        return sealed.err();
      }
      auto plain = crypto::open(key_, *sealed, definition_aad(d.tenant));
      if (!plain) {
        return error{errc::internal, "control_tenants: the document of tenant '" + d.tenant +
                                         "' does not open (" + plain.err().message + ")"};
      }
      d.document = std::move(*plain);
      auto at = r->int64(i, 2);
      if (!at) {
        return at.err();
      }
      d.updated_at_ms = *at;
      out.push_back(std::move(d));
    }
    return out;
  }

  status put(const tenant_definition& d, const audit_entry& audit,
             std::optional<std::int64_t> replaces) override {
    auto sealed = crypto::seal(key_, d.document, definition_aad(d.tenant));
    if (!sealed) {
      return sealed.err();
    }
    return in_transaction(d.tenant, audit, [&](connection& c) -> status {
      auto written =
          replaces ? changed_rows(c.exec("UPDATE control_tenants SET document = $2, "
                                         "updated_at_ms = $3 WHERE tenant = $1 AND "
                                         "updated_at_ms = $4 RETURNING tenant",
                                         {d.tenant, param::bytes(*sealed),
                                          bigint(d.updated_at_ms), bigint(*replaces)}))
                   : insert_if_absent(c, d, *sealed);
      if (!written) {
        return written.err();
      }
      if (!*written) {
        return error{errc::conflict, stale_definition(d.tenant)};
      }
      return {};
    });
  }

  result<std::vector<std::string>> insert_absent(
      const std::vector<std::pair<tenant_definition, audit_entry>>& items) override {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    if (auto st = tx.begin(); !st) {
      return st.err();
    }
    std::vector<std::string> stored;
    for (const auto& [d, audit] : items) {
      auto sealed = crypto::seal(key_, d.document, definition_aad(d.tenant));
      if (!sealed) {
        return sealed.err();
      }
      auto inserted = insert_if_absent(**c, d, *sealed);
      if (!inserted) {
        return inserted.err();
      }
      if (!*inserted) {
        continue;  // another replica stored it first
      }
      if (auto st = write_audit(**c, audit); !st) {
        return st.err();
      }
      stored.push_back(d.tenant);
    }
    if (!stored.empty()) {
      if (auto n = (**c).exec("SELECT pg_notify('switchboard_control', $1)", {stored.front()});
          !n) {
        return n.err();
      }
    }
    if (auto st = tx.commit(); !st) {
      return st.err();
    }
    return stored;
  }

  status remove(const std::string& tenant, const audit_entry& audit) override {
    return in_transaction(tenant, audit, [&](connection& c) -> status {
      auto r = c.exec("DELETE FROM control_tenants WHERE tenant = $1", {tenant});
      return r ? status{} : status{r.err()};
    });
  }

 private:
  /// `change`, the audit entry and the notification, in one transaction.
  template <class F>
  status in_transaction(const std::string& tenant, const audit_entry& e, F&& change) {
    auto c = pool_->take();
    if (!c) {
      return c.err();
    }
    transaction tx(**c);
    if (auto st = tx.begin(); !st) {
      return st;
    }
    if (auto st = change(**c); !st) {
      return st;
    }
    if (auto st = write_audit(**c, e); !st) {
      return st;
    }
    auto n = (**c).exec("SELECT pg_notify('switchboard_control', $1)", {tenant});
    if (!n) {
      return n.err();
    }
    return tx.commit();
  }

  /// Whether a statement with `RETURNING` wrote a row.
  static result<bool> changed_rows(result<rows> r) {
    if (!r) {
      return r.err();
    }
    return r->size() != 0;
  }

  /// Stores `d` (its document sealed as `sealed`) unless its tenant has a row: whether it did.
  static result<bool> insert_if_absent(connection& c, const tenant_definition& d,
                                       const std::string& sealed) {
    return changed_rows(c.exec(
        "INSERT INTO control_tenants (tenant, document, updated_at_ms) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant) DO NOTHING RETURNING tenant",
        {d.tenant, param::bytes(sealed), bigint(d.updated_at_ms)}));
  }

  static status write_audit(connection& c, const audit_entry& e) {
    auto a = c.exec(
        "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {e.tenant, bigint(e.at.unix_ms), e.actor, e.action, e.subject, e.outcome, e.detail});
    return a ? status{} : status{a.err()};
  }

  std::shared_ptr<pool> pool_;
  const std::string key_;
};

}  // namespace

result<std::shared_ptr<definition_store>> make_definition_store(std::shared_ptr<pool> connections,
                                                                const std::string& root_key,
                                                                const std::string& master_key) {
  key_ring keys;
  if (auto st = keys.derive(root_key, master_key); !st) {
    return st.err();
  }
  return std::shared_ptr<definition_store>(
      std::make_shared<pg_definitions>(std::move(connections), keys.control_key()));
}

}  // namespace sb::store::pg

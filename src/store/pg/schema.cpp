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
  if (auto r = c.exec("BEGIN"); !r) {
    return r.err();
  }
  auto st = migrate_locked(c, migrations, node);
  if (!st) {
    // A lost connection has rolled back already; otherwise undo whatever ran.
    (void)c.exec("ROLLBACK");
    return st;
  }
  if (auto r = c.exec("COMMIT"); !r) {
    return r.err();
  }
  return st;
}

}  // namespace sb::store::pg

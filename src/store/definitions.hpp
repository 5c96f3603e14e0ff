#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "store/privacy_store.hpp"

namespace sb::store {

/// One tenant defined through the control plane (docs/control-plane.md): its document, the
/// control plane's own JSON (src/control/document.hpp), which holds the channels' secrets.
struct tenant_definition {
  std::string tenant;
  std::string document;
  std::int64_t updated_at_ms = 0;
};

/// The tenants the control plane defines, kept with the rest of the store: SQLite's
/// `control_tenants` table, PostgreSQL's (shared by every replica), or memory. Each document is
/// sealed at rest (AES-256-GCM under a key derived from the store's root key, bound to its
/// tenant id), as the outbox's rows are, so a master-key rotation leaves them as they are.
///
/// Every change is written in one transaction with its audit entry (`privacy_store::audit`'s
/// table): a change that is stored is audited, and one that is not is not. On PostgreSQL the same
/// transaction sends `NOTIFY switchboard_control, '<tenant>'`, which every replica's listener
/// hears once it commits.
///
/// Threading: every member may be called from any thread; calls may block on the disk or the
/// network, so never from an I/O thread or an actor.
class definition_store {
 public:
  virtual ~definition_store() = default;

  /// Every stored definition, by tenant id.
  [[nodiscard]] virtual result<std::vector<tenant_definition>> load_all() = 0;

  /// Stores `d` and appends `audit` (its id ignored), all or nothing, if the tenant's stored
  /// document is still the one the change was made to: none when `replaces` is nullopt (a new
  /// tenant), else the one whose `updated_at_ms` is `*replaces`. Otherwise nothing is written
  /// and the error is `errc::conflict`: another replica changed (or created) the tenant since
  /// this one read it. `d.updated_at_ms` must differ from `*replaces`, as it is the version.
  [[nodiscard]] virtual status put(const tenant_definition& d, const audit_entry& audit,
                                   std::optional<std::int64_t> replaces) = 0;

  /// Stores each definition whose tenant has none yet, with its audit entry (id ignored), in one
  /// transaction; a tenant already stored (another replica imported it first) keeps its
  /// document. The tenants stored, in `items`' order. The config file's import
  /// (`control_plane.manage_file_tenants`): thousands at once, one commit.
  [[nodiscard]] virtual result<std::vector<std::string>> insert_absent(
      const std::vector<std::pair<tenant_definition, audit_entry>>& items) = 0;

  /// Removes the tenant's definition (none is no error) and appends `audit`, all or nothing.
  [[nodiscard]] virtual status remove(const std::string& tenant, const audit_entry& audit) = 0;
};

/// `definition_store::put`'s `errc::conflict` message, the same from every store.
inline std::string stale_definition(const std::string& tenant) {
  return "tenant '" + tenant +
         "' was changed meanwhile (by a call to another replica); nothing was stored";
}

/// Definitions in memory, audited into `privacy` (lost on restart, as the memory store is).
std::shared_ptr<definition_store> make_memory_definitions(std::shared_ptr<privacy_store> privacy);

}  // namespace sb::store

#pragma once

#include <memory>

#include "store/definitions.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"

namespace sb::store {

/// The stores a gateway runs on, as one bundle: the event log, the push-delivery state and the
/// privacy state. Built once, by `make_memory_stores` or `make_sqlite_stores`
/// (store/sqlite_log.hpp), and handed to whoever needs a member: nobody finds one store from
/// another. Both factories fill every member and keep the three over the same data: an erasure
/// through `privacy` removes what `log` reads, a dead letter added through `delivery` is erased
/// with its event's subject. The members share the ownership of that data, which lives (a SQLite
/// store keeps its directory locked) until the last of them is released.
///
/// A component keeps only the members it uses (the store writer keeps `log`, the retention
/// sweeper `privacy`). A null member is a store this gateway does not keep: what needs it does
/// without, as documented there (no push delivery, no retention, privacy calls refused). Tests
/// may put a wrapper in place of one member.
struct stores {
  std::shared_ptr<event_log> log;
  std::shared_ptr<delivery_store> delivery;
  std::shared_ptr<privacy_store> privacy;
  /// The tenants the control plane defines (docs/control-plane.md); null: this store keeps none
  /// and the control plane's API is refused.
  std::shared_ptr<definition_store> definitions;
};

/// In-memory stores (lost on restart; bounded only by memory; not encrypted, as nothing of them
/// is at rest). Thread-safe as each interface documents.
stores make_memory_stores();

}  // namespace sb::store

#include "store/pg/stores.hpp"

#include <utility>

#include "store/pg/definitions.hpp"
#include "store/pg/delivery_store.hpp"
#include "store/pg/event_log.hpp"
#include "store/pg/outbox.hpp"
#include "store/pg/privacy_store.hpp"
#include "store/pg/root_record.hpp"
#include "store/root_key.hpp"

namespace sb::store::pg {

result<replica_stores> open_stores(const config::storage_config& storage, std::string_view node) {
  replica_stores out;
  out.connections = pool::make(storage.postgres.dsn, static_cast<std::size_t>(storage.postgres.pool));
  std::string root;
  {
    auto c = out.connections->take();
    if (!c) {
      return c.err();
    }
    auto schema = migrate(**c, schema_versions(), node);
    if (!schema) {
      return schema.err();
    }
    out.schema = std::move(schema).value();
    // After the migration, so the table is there. A rotation in progress holds the table
    // exclusively: this waits for its commit and then reads the new record.
    auto record = read_root_record(**c);
    if (!record) {
      return record.err();
    }
    auto unlocked = root_key_of(storage.master_key, *record);
    if (!unlocked) {
      return unlocked.err();
    }
    root = std::move(unlocked).value();
  }
  auto log = make_event_log(out.connections, root, storage.master_key);
  if (!log) {
    return log.err();
  }
  auto privacy = make_privacy_store(out.connections, root, storage.master_key);
  if (!privacy) {
    return privacy.err();
  }
  out.fenced = std::make_shared<fences>();
  // The outbox's keys are all the root key's; its key check refuses a master key that is not
  // the store's first one when there is no root record yet.
  auto box = make_outbox(out.connections, root, out.fenced);
  if (!box) {
    return box.err();
  }
  out.stores.log = std::move(log).value();
  out.stores.delivery = make_delivery_store(out.connections, out.fenced);
  out.stores.privacy = std::move(privacy).value();
  auto definitions = make_definition_store(out.connections, root, storage.master_key);
  if (!definitions) {
    return definitions.err();
  }
  out.stores.definitions = std::move(definitions).value();
  out.outbox = std::move(box).value();
  return out;
}

}  // namespace sb::store::pg

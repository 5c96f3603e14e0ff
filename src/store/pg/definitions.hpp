#pragma once

#include <memory>
#include <string>

#include "store/definitions.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

/// The control plane's definitions over `connections` (a database at schema version 8 or later),
/// sealed under a key derived from `root_key` (store/root_key.hpp); `master_key` is checked to
/// be 32 bytes as the other stores' are. 32 raw bytes each, else `errc::internal`.
result<std::shared_ptr<definition_store>> make_definition_store(std::shared_ptr<pool> connections,
                                                                const std::string& root_key,
                                                                const std::string& master_key);

}  // namespace sb::store::pg

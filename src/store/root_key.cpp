#include "store/root_key.hpp"

#include "core/aead.hpp"
#include "store/sealed.hpp"

namespace sb::store {

namespace {

// The root record's key-encryption key is derived from the master key with a label of its own,
// so it is none of the keys the store derives for other purposes.
constexpr std::string_view k_root_wrap_label = "switchboard/store/root-wrap/v1";
constexpr std::string_view k_root_aad = "switchboard/store/root-key/v1";

}  // namespace

result<std::string> seal_root_key(std::string_view master_key, std::string_view root_key) {
  if (master_key.size() != crypto::aead_key_size || root_key.size() != crypto::aead_key_size) {
    return error{errc::bad_request, "storage.master_key must be 32 bytes (64 hex characters)"};
  }
  return crypto::wrap_key(sealed::derive_key(master_key, k_root_wrap_label), root_key, k_root_aad);
}

result<std::string> root_key_of(const std::string& master_key,
                                const std::optional<std::string>& record) {
  if (master_key.size() != crypto::aead_key_size) {
    return error{errc::bad_request, "storage.master_key must be 32 bytes (64 hex characters)"};
  }
  if (!record) {
    return master_key;
  }
  auto root =
      crypto::unwrap_key(sealed::derive_key(master_key, k_root_wrap_label), *record, k_root_aad);
  if (!root) {
    return error{errc::unauthorized, k_root_key_refused};
  }
  return std::move(*root);
}

result<std::string> unlock_root_key(const config::storage_config& storage) {
  result<std::optional<std::string>> record = std::optional<std::string>();
  if (storage.backend == "sqlite") {
    record = sqlite::read_root_record(storage.path);
  } else if (storage.backend == "postgres") {
    record = pg::read_root_record(storage.postgres.dsn);
  }
  if (!record) {
    return record.err();
  }
  return root_key_of(storage.master_key, *record);
}

result<rotation_report> rotate_master_key(const config::storage_config& storage,
                                          const std::string& new_key) {
  if (new_key.size() != crypto::aead_key_size) {
    return error{errc::bad_request, "the new master key must be 64 hex characters (32 bytes)"};
  }
  if (new_key == storage.master_key) {
    return error{errc::bad_request,
                 "the new master key is the current one (storage.master_key); nothing to rotate"};
  }
  if (storage.backend == "sqlite") {
    return sqlite::rotate_master_key(storage.path, storage.master_key, new_key);
  }
  if (storage.backend == "postgres") {
    return pg::rotate_master_key(storage.postgres.dsn, storage.master_key, new_key);
  }
  return error{errc::bad_request, "storage.backend is " + storage.backend +
                                      ": nothing is stored, so there is no key to rotate"};
}

}  // namespace sb::store

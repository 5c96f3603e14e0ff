#include "store/pg/key_ring.hpp"

#include <optional>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/sealed.hpp"

namespace sb::store::pg {

status key_ring::derive(const std::string& master_key) { return derived_.derive(master_key); }

std::string key_ring::dedupe_digest(std::string_view tenant, std::string_view channel,
                                    std::string_view key) const {
  return derived_.dedupe_digest(tenant, channel, key);
}

result<std::string> key_ring::unwrap(const std::string& tenant, const std::string& subject,
                                     std::string_view wrapped) const {
  auto key = crypto::unwrap_key(derived_.wrap, wrapped, key_aad(tenant, subject));
  if (!key) {
    return error{errc::internal, "the data key of a subject of tenant " + tenant +
                                     " does not unwrap: " + key.err().message};
  }
  return key;
}

status key_ring::open_event(const std::string& tenant, stored_event& e, std::string_view wrapped,
                            std::string_view sealed) const {
  auto key = unwrap(tenant, e.subject, wrapped);
  if (!key) {
    return key.err();
  }
  std::string aad;
  event_aad(aad, tenant, e.seq);
  std::string plain;
  if (auto st = crypto::open_append(plain, *key, sealed, aad); !st) {
    return {errc::internal, "event " + std::to_string(e.seq) + " of tenant " + tenant +
                                " cannot be decrypted: " + st.err().message};
  }
  if (!split_payload(plain, e.conversation, e.json)) {
    return {errc::internal,
            "event " + std::to_string(e.seq) + " of tenant " + tenant + " has a malformed payload"};
  }
  return {};
}

result<const data_key*> key_ring::writer_key(connection& c,
                                             std::unordered_map<std::string, data_key>& used,
                                             const std::string& tenant,
                                             const std::string& subject,
                                             const std::string& channel,
                                             std::int64_t now_ms) const {
  std::string id = sealed::join({tenant, subject});
  if (auto it = used.find(id); it != used.end()) {
    return &it->second;
  }
  // Most subjects have a key already: read it. A new one is inserted unless another replica
  // inserted one at the same moment; then that one is read and used.
  auto find = [&]() -> result<std::optional<data_key>> {
    auto found = c.exec("SELECT id, wrapped FROM subject_keys WHERE tenant = $1 AND subject = $2",
                        {tenant, subject});
    if (!found) {
      return found.err();
    }
    if (found->size() == 0) {
      return std::optional<data_key>{};
    }
    auto row = found->int64(0, 0);
    auto raw = found->bytes(0, 1);
    if (!row || !raw) {
      return !row ? row.err() : raw.err();
    }
    auto key = unwrap(tenant, subject, *raw);
    if (!key) {
      return key.err();
    }
    return std::optional<data_key>{data_key{std::move(*key), *row}};
  };
  auto existing = find();
  if (!existing) {
    return existing.err();
  }
  data_key k;
  if (*existing) {
    k = std::move(**existing);
  } else {
    const std::string fresh = crypto::generate_aead_key();
    auto wrapped = crypto::wrap_key(derived_.wrap, fresh, key_aad(tenant, subject));
    if (!wrapped) {
      return wrapped.err();
    }
    auto ins = c.exec(
        "INSERT INTO subject_keys (tenant, subject, channel, wrapped, created_at_ms) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, subject) DO NOTHING RETURNING id",
        {tenant, subject, channel, param::bytes(*wrapped), std::to_string(now_ms)});
    if (!ins) {
      return ins.err();
    }
    if (ins->size() == 1) {
      auto row = ins->int64(0, 0);
      if (!row) {
        return row.err();
      }
      k = {fresh, *row};
    } else {
      auto theirs = find();
      if (!theirs) {
        return theirs.err();
      }
      if (!*theirs) {
        return error{errc::internal, "the data key of a subject of tenant " + tenant +
                                         " was neither inserted nor found"};
      }
      k = std::move(**theirs);
    }
  }
  return &used.emplace(std::move(id), std::move(k)).first->second;
}

}  // namespace sb::store::pg

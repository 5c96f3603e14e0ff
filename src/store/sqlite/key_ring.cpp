#include "store/sqlite/key_ring.hpp"

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/sealed.hpp"

namespace sb::store::sqlite {

namespace {

// Unwrapped data keys kept in memory: about 150 bytes each.
constexpr std::size_t k_key_cache_entries = 16384;

error does_not_unwrap(const std::string& tenant, const error& e) {
  return {errc::internal,
          "the data key of a subject of tenant " + tenant + " does not unwrap: " + e.message};
}

}  // namespace

key_ring::key_ring() : cache_(k_key_cache_entries) {}

status key_ring::derive(const std::string& root_key, const std::string& master_key) {
  return derived_.derive(root_key, master_key);
}

std::string key_ring::dedupe_digest(std::string_view tenant, std::string_view channel,
                                    std::string_view key) const {
  return derived_.dedupe_digest(tenant, channel, key);
}

write_keys key_ring::writing(sqlite3* db, const stmt& find_key, const stmt& insert_key) const {
  write_keys wk;
  wk.db = db;
  wk.find_key = &find_key;
  wk.insert_key = &insert_key;
  return wk;
}

result<const data_key*> key_ring::writer_key(write_keys& wk, const std::string& tenant,
                                             const std::string& subject, const std::string& channel,
                                             std::int64_t now_ms) {
  std::string id = key_cache::id(tenant, subject);
  if (auto it = wk.used.find(id); it != wk.used.end()) {
    return &it->second;
  }
  if (auto cached = cache_.get(id)) {
    return &wk.used.emplace(std::move(id), std::move(*cached)).first->second;
  }
  const std::string aad = key_aad(tenant, subject);
  {
    query q(*wk.find_key);
    q.text(1, tenant).text(2, subject);
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      auto key = crypto::unwrap_key(derived_.wrap, q.col_view(1), aad);
      if (!key) {
        return does_not_unwrap(tenant, key.err());
      }
      data_key found{std::move(*key), q.col_int64(0)};
      // Committed before this transaction and unchanged while the writer is held: cacheable.
      cache_.put(id, found);
      return &wk.used.emplace(std::move(id), std::move(found)).first->second;
    }
    if (rc != SQLITE_DONE) {
      return sql_error(wk.db, rc, "find data key");
    }
  }
  data_key key{crypto::generate_aead_key(), 0};
  auto wrapped = crypto::wrap_key(derived_.wrap, key.key, aad);
  if (!wrapped) {
    return wrapped.err();
  }
  query ins(*wk.insert_key);
  ins.text(1, tenant).text(2, subject).text(3, channel).blob(4, *wrapped).int64(5, now_ms);
  if (int rc = ins.step(); rc != SQLITE_DONE) {
    return sql_error(wk.db, rc, "insert data key");
  }
  key.row = sqlite3_last_insert_rowid(wk.db);
  wk.created.emplace_back(id, key);
  return &wk.used.emplace(std::move(id), std::move(key)).first->second;
}

void key_ring::publish(const write_keys& wk) {
  for (const auto& [id, key] : wk.created) {
    cache_.put(id, key);
  }
}

void key_ring::evict(const std::string& tenant, const std::string& subject) {
  cache_.evict(key_cache::id(tenant, subject));
}

read_keys key_ring::reading(sqlite3* db, const stmt& find_key) {
  read_keys rk;
  rk.db = db;
  rk.find_key = &find_key;
  rk.generation = cache_.generation();
  return rk;
}

result<const read_keys::entry*> key_ring::reader_key(read_keys& rk, const std::string& tenant,
                                                     const std::string& subject,
                                                     bool from_snapshot) {
  std::string id = key_cache::id(tenant, subject);
  auto it = rk.used.find(id);
  if (it != rk.used.end() && (it->second.from_snapshot || !from_snapshot)) {
    return &it->second;
  }
  if (!from_snapshot) {
    if (auto cached = cache_.get(id)) {
      return &rk.used.insert_or_assign(std::move(id), read_keys::entry{std::move(*cached), false})
                  .first->second;
    }
  }
  query q(*rk.find_key);
  q.text(1, tenant).text(2, subject);
  int rc = q.step();
  if (rc == SQLITE_DONE) {
    return error{errc::internal, "no data key for a subject of tenant " + tenant};
  }
  if (rc != SQLITE_ROW) {
    return sql_error(rk.db, rc, "find data key");
  }
  auto key = crypto::unwrap_key(derived_.wrap, q.col_view(1), key_aad(tenant, subject));
  if (!key) {
    return does_not_unwrap(tenant, key.err());
  }
  data_key found{std::move(*key), q.col_int64(0)};
  cache_.put_if(id, found, rk.generation);
  return &rk.used.insert_or_assign(std::move(id), read_keys::entry{std::move(found), true})
              .first->second;
}

status key_ring::open(read_keys& rk, const std::string& tenant, const std::string& subject,
                      std::string_view sealed, std::string_view aad, std::string& out) {
  auto key = reader_key(rk, tenant, subject, false);
  if (!key) {
    return key.err();
  }
  auto st = crypto::open_append(out, (*key)->key.key, sealed, aad);
  if (st || (*key)->from_snapshot) {
    return st;
  }
  key = reader_key(rk, tenant, subject, true);
  if (!key) {
    return key.err();
  }
  return crypto::open_append(out, (*key)->key.key, sealed, aad);
}

status key_ring::open_event(read_keys& rk, const std::string& tenant, stored_event& e,
                            std::string_view sealed) {
  std::string aad;
  event_aad(aad, tenant, e.seq);
  std::string plain;
  auto st = open(rk, tenant, e.subject, sealed, aad, plain);
  if (!st) {
    return {errc::internal, "event " + std::to_string(e.seq) + " of tenant " + tenant +
                                " cannot be decrypted: " + st.err().message};
  }
  if (!split_payload(plain, e.conversation, e.json)) {
    return {errc::internal,
            "event " + std::to_string(e.seq) + " of tenant " + tenant + " has a malformed payload"};
  }
  return {};
}

}  // namespace sb::store::sqlite

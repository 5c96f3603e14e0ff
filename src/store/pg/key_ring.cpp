#include "store/pg/key_ring.hpp"

#include <algorithm>
#include <optional>

#include "core/aead.hpp"
#include "store/codec.hpp"
#include "store/sealed.hpp"

namespace sb::store::pg {

status key_ring::derive(const std::string& root_key, const std::string& master_key) {
  return derived_.derive(root_key, master_key);
}

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

status key_ring::open_event(read_keys& keys, const std::string& tenant, stored_event& e,
                            std::int64_t key_id, std::string_view wrapped,
                            std::string_view sealed) const {
  auto key = keys.find(key_id);
  if (key == keys.end()) {
    auto unwrapped = unwrap(tenant, e.subject, wrapped);
    if (!unwrapped) {
      return unwrapped.err();
    }
    key = keys.emplace(key_id, std::move(*unwrapped)).first;
  }
  std::string aad;
  event_aad(aad, tenant, e.seq);
  std::string plain;
  if (auto st = crypto::open_append(plain, key->second, sealed, aad); !st) {
    return {errc::internal, "event " + std::to_string(e.seq) + " of tenant " + tenant +
                                " cannot be decrypted: " + st.err().message};
  }
  if (!split_payload(plain, e.conversation, e.json)) {
    return {errc::internal,
            "event " + std::to_string(e.seq) + " of tenant " + tenant + " has a malformed payload"};
  }
  return {};
}

std::string key_ring::id(const std::string& tenant, const std::string& subject) {
  return sealed::join({tenant, subject});
}

status key_ring::writer_keys(connection& c, std::unordered_map<std::string, data_key>& used,
                             const std::vector<wanted>& subjects, std::int64_t now_ms) const {
  std::vector<const wanted*> missing;
  for (const auto& w : subjects) {
    if (used.count(id(w.tenant, w.subject)) == 0) {
      missing.push_back(&w);
    }
  }
  // Reads what exists for `which` into `used`.
  auto read = [&](const std::vector<const wanted*>& which) -> status {
    std::vector<std::string> tenants;
    std::vector<std::string> names;
    for (const auto* w : which) {
      tenants.push_back(w->tenant);
      names.push_back(w->subject);
    }
    auto q = c.exec(
        "SELECT k.tenant, k.subject, k.id, k.wrapped FROM subject_keys k "
        "JOIN unnest($1::text[], $2::text[]) AS w (tenant, subject) "
        "ON k.tenant = w.tenant AND k.subject = w.subject",
        {text_array(tenants), text_array(names)});
    if (!q) {
      return q.err();
    }
    for (int i = 0; i < q->size(); ++i) {
      const std::string tenant(q->text(i, 0));
      const std::string subject(q->text(i, 1));
      auto row = q->int64(i, 2);
      auto raw = q->bytes(i, 3);
      if (!row || !raw) {
        return !row ? row.err() : raw.err();
      }
      auto key = unwrap(tenant, subject, *raw);
      if (!key) {
        return key.err();
      }
      used.insert_or_assign(id(tenant, subject), data_key{std::move(*key), *row});
    }
    return {};
  };
  if (missing.empty()) {
    return {};
  }
  if (auto st = read(missing); !st) {
    return st;
  }
  std::vector<const wanted*> fresh;
  std::unordered_map<std::string, std::size_t> making;  // id -> index in fresh
  for (const auto* w : missing) {
    std::string k = id(w->tenant, w->subject);
    if (used.count(k) == 0 && making.emplace(std::move(k), fresh.size()).second) {
      fresh.push_back(w);
    }
  }
  if (fresh.empty()) {
    return {};
  }
  std::vector<std::string> tenants, names, channels, keys, wrapped_keys;
  for (const auto* w : fresh) {
    std::string key = crypto::generate_aead_key();
    auto wrapped = crypto::wrap_key(derived_.wrap, key, key_aad(w->tenant, w->subject));
    if (!wrapped) {
      return wrapped.err();
    }
    tenants.push_back(w->tenant);
    names.push_back(w->subject);
    channels.push_back(w->channel);
    keys.push_back(std::move(key));
    wrapped_keys.push_back(std::move(*wrapped));
  }
  std::vector<const std::string*> wrapped_ptrs;
  for (const auto& w : wrapped_keys) {
    wrapped_ptrs.push_back(&w);
  }
  auto ins = c.exec(
      "INSERT INTO subject_keys (tenant, subject, channel, wrapped, created_at_ms) "
      "SELECT t, s, ch, w, $5::bigint FROM unnest($1::text[], $2::text[], $3::text[], "
      "$4::bytea[]) AS n (t, s, ch, w) "
      "ON CONFLICT (tenant, subject) DO NOTHING RETURNING tenant, subject, id",
      {text_array(tenants), text_array(names), text_array(channels), bytea_array(wrapped_ptrs),
       std::to_string(now_ms)});
  if (!ins) {
    return ins.err();
  }
  for (int i = 0; i < ins->size(); ++i) {
    const std::string tenant(ins->text(i, 0));
    const std::string subject(ins->text(i, 1));
    auto row = ins->int64(i, 2);
    if (!row) {
      return row.err();
    }
    std::string k = id(tenant, subject);
    if (auto at = making.find(k); at != making.end()) {
      used.insert_or_assign(std::move(k), data_key{keys[at->second], *row});
    }
  }
  // Those another transaction inserted first: theirs is the key.
  std::vector<const wanted*> theirs;
  for (const auto* w : fresh) {
    if (used.count(id(w->tenant, w->subject)) == 0) {
      theirs.push_back(w);
    }
  }
  if (theirs.empty()) {
    return {};
  }
  if (auto st = read(theirs); !st) {
    return st;
  }
  for (const auto* w : theirs) {
    if (used.count(id(w->tenant, w->subject)) == 0) {
      return {errc::internal, "the data key of a subject of tenant " + w->tenant +
                                  " was neither inserted nor found"};
    }
  }
  return {};
}

result<const data_key*> key_ring::writer_key(connection& c,
                                             std::unordered_map<std::string, data_key>& used,
                                             const std::string& tenant,
                                             const std::string& subject,
                                             const std::string& channel,
                                             std::int64_t now_ms) const {
  if (auto st = writer_keys(c, used, {wanted{tenant, subject, channel}}, now_ms); !st) {
    return st.err();
  }
  return &used.at(id(tenant, subject));
}

}  // namespace sb::store::pg

#pragma once

// What the durable outboxes seal and digest, byte for byte: the SQLite outbox's `outbox.db`
// (sqlite_outbox.cpp) and the PostgreSQL outbox's tables (pg/outbox.cpp) hold the same bytes, so
// that `switchboard migrate` copies their rows as they are and one master key opens both. The
// plaintext of a record, the associated data that binds each sealed value to its row, the keyed
// lookup digests and the key check. Built on store/sealed.hpp. Internal to sb_store; what these
// produce is on disk: changing one makes existing outboxes unreadable.

#include <string>
#include <string_view>

#include "core/aead.hpp"
#include "core/error.hpp"
#include "store/outbox.hpp"
#include "store/sealed.hpp"

namespace sb::store::outbox_codec {

// The lookup columns hold HMAC-SHA256 digests under a key derived from the master key with this
// label, of (kind, tenant, ... , value), cut to 16 bytes as the event log's dedupe digests: a
// collision (about 2^-65 at 2^32 values of one kind and tenant) is caught on lookup, where the
// sealed value is compared with the one asked for.
inline constexpr std::string_view k_lookup_key_label = "switchboard/store/outbox-lookup/v1";
inline constexpr std::size_t k_digest_size = 16;

// What a digest is of, so that equal values of different kinds never share one.
inline constexpr std::string_view k_kind_conversation = "conversation";
inline constexpr std::string_view k_kind_subject = "subject";
inline constexpr std::string_view k_kind_platform_id = "platform_message_id";
inline constexpr std::string_view k_kind_idempotency = "idempotency_key";

// The sealed record: a format byte, then length-prefixed fields (sealed::put_field).
inline constexpr char k_record_format = 1;

// The key check holds this text sealed under the outbox's key: an outbox opened with another
// master key is refused at once, rather than finding nothing by its digests (a missed idempotent
// replay would send a message twice) and failing on every read.
inline constexpr std::string_view k_key_check_text = "switchboard outbox key check v1";
inline constexpr std::string_view k_key_check_aad = "outbox key_check";
inline constexpr std::string_view k_key_mismatch =
    "storage.master_key does not match the key this outbox was created with";

/// The forward order of states (`outbound_update::forward_only`): `failed` after everything.
inline int rank(outbound_state s) {
  return static_cast<int>(s);
}

/// Associated data of a sealed value: what it is ("record", "platform_message_id",
/// "error_title", "peer"), and the row it belongs to (tenant and message id, or tenant and
/// conversation for a peer), so that a value copied to another row or column does not open.
inline std::string aad(std::string_view what, std::string_view tenant, std::string_view row) {
  return sealed::join({what, tenant, row});
}

/// The plaintext of the sealed `record` column: conversation, recipient, subject, idempotency
/// key and the message JSON.
inline std::string encode_record(const outbound_record& r) {
  std::string out;
  out.reserve(1 + 5 * 4 + r.conversation.size() + r.recipient.size() + r.subject.size() +
              r.idempotency_key.size() + r.message.size());
  out.push_back(k_record_format);
  sealed::put_field(out, r.conversation);
  sealed::put_field(out, r.recipient);
  sealed::put_field(out, r.subject);
  sealed::put_field(out, r.idempotency_key);
  sealed::put_field(out, r.message);
  return out;
}

/// Reads what `encode_record` wrote into `r`; false when `in` is not such a record.
inline bool decode_record(std::string_view in, outbound_record& r) {
  if (in.empty() || in[0] != k_record_format) {
    return false;
  }
  in.remove_prefix(1);
  return sealed::get_field(in, r.conversation) && sealed::get_field(in, r.recipient) &&
         sealed::get_field(in, r.subject) && sealed::get_field(in, r.idempotency_key) &&
         sealed::get_field(in, r.message) && in.empty();
}

/// A record's stored columns other than those kept in clear (id, tenant, channel, purpose,
/// state, attempts, error code, times, caller). An empty string is stored as NULL.
struct sealed_record {
  std::string record;               ///< `encode_record`, sealed
  std::string platform_message_id;  ///< sealed; empty when none
  std::string error_title;          ///< sealed; empty when none
  std::string subject_digest;
  std::string idempotency_digest;
  std::string platform_digest;
};

/// What a window row (`outbox_write::kind::last_inbound`) stores besides its time: the lookup
/// digests, and the sealed peer (empty, stored as NULL, keep what is stored).
struct sealed_inbound {
  std::string conversation_digest;
  std::string subject_digest;  ///< empty: keeps the stored subject
  std::string peer;            ///< empty: keeps the stored peer
};

/// What an update stores of the values it sets, sealed or digested. The platform id's digest
/// and sealed value are empty when the update clears it (an empty id), as is the error title.
struct sealed_update {
  std::string platform_digest;
  std::string platform_message_id;
  std::string error_title;
};

/// The keys of one outbox, derived from the store's root key (store/root_key.hpp: the master key
/// the store was created with, until its first rotation): the sealing key (`outbox_key`) and the
/// key of the lookup digests. Thread-safe: nothing changes after `derive`.
class keys {
 public:
  /// From `root_key`: `errc::bad_request` unless it is 32 bytes.
  [[nodiscard]] status derive(std::string_view root_key) {
    if (root_key.size() != crypto::aead_key_size) {
      return {errc::bad_request, "outbox: storage.master_key must be 32 bytes"};
    }
    key_ = outbox_key(root_key);
    lookup_key_ = sealed::derive_key(root_key, k_lookup_key_label);
    return {};
  }

  /// The sealing key (the SQLite key check's helpers take it).
  const std::string& sealing_key() const { return key_; }

  /// The keyed digest of one identifier: `kind`, the tenant, and the value's parts.
  template <class... Parts>
  std::string digest_of(std::string_view kind, std::string_view tenant,
                        const Parts&... parts) const {
    return sealed::keyed_digest(lookup_key_, {kind, tenant, std::string_view(parts)...},
                                k_digest_size);
  }

  /// The digest for an optional column: empty (stored as NULL) for an empty value. `before`
  /// are the parts that precede the value (a caller, a channel).
  template <class... Parts>
  std::string digest_or_empty(std::string_view kind, std::string_view tenant,
                              std::string_view value, const Parts&... before) const {
    return value.empty() ? std::string() : digest_of(kind, tenant, before..., value);
  }

  /// `value` sealed as `what` of row `row` of `tenant`; empty (stored as NULL) for an empty value.
  result<std::string> seal_optional(std::string_view what, std::string_view tenant,
                                    std::string_view row, std::string_view value) const {
    if (value.empty()) {
      return std::string();
    }
    return crypto::seal(key_, value, aad(what, tenant, row));
  }

  /// What a put stores of `r` besides its columns in clear.
  result<sealed_record> seal(const outbound_record& r) const {
    sealed_record out;
    auto record = crypto::seal(key_, encode_record(r), aad("record", r.tenant, r.id));
    if (!record) {
      return record.err();
    }
    out.record = std::move(record.value());
    auto platform_id = seal_optional("platform_message_id", r.tenant, r.id, r.platform_message_id);
    if (!platform_id) {
      return platform_id.err();
    }
    out.platform_message_id = std::move(platform_id.value());
    auto error_title = seal_optional("error_title", r.tenant, r.id, r.error_title);
    if (!error_title) {
      return error_title.err();
    }
    out.error_title = std::move(error_title.value());
    out.subject_digest = digest_or_empty(k_kind_subject, r.tenant, r.subject);
    out.idempotency_digest =
        digest_or_empty(k_kind_idempotency, r.tenant, r.idempotency_key, r.caller);
    out.platform_digest =
        digest_or_empty(k_kind_platform_id, r.tenant, r.platform_message_id, r.channel);
    return out;
  }

  /// What an update of a message on `channel` stores of the platform id and error title it sets
  /// (those it leaves alone stay empty).
  result<sealed_update> seal(const outbound_update& u, std::string_view channel) const {
    sealed_update out;
    if (u.platform_message_id) {
      out.platform_digest =
          digest_or_empty(k_kind_platform_id, u.tenant, *u.platform_message_id, channel);
      auto sealed = seal_optional("platform_message_id", u.tenant, u.id, *u.platform_message_id);
      if (!sealed) {
        return sealed.err();
      }
      out.platform_message_id = std::move(sealed.value());
    }
    if (u.error_title) {
      auto sealed = seal_optional("error_title", u.tenant, u.id, *u.error_title);
      if (!sealed) {
        return sealed.err();
      }
      out.error_title = std::move(sealed.value());
    }
    return out;
  }

  /// What the window row of `w` (a `last_inbound` write) stores.
  result<sealed_inbound> seal_inbound(const outbox_write& w) const {
    sealed_inbound out;
    if (!w.peer.empty()) {
      auto s = seal_peer(w.tenant, w.conversation, w.peer);
      if (!s) {
        return s.err();
      }
      out.peer = std::move(s.value());
    }
    out.conversation_digest = digest_of(k_kind_conversation, w.tenant, w.conversation);
    out.subject_digest = digest_or_empty(k_kind_subject, w.tenant, w.subject);
    return out;
  }

  /// Opens a stored row's sealed columns into `r` (its `tenant` and `id` set): `record`, and
  /// `platform_message_id` and `error_title` (empty: NULL). `errc::internal` naming the message
  /// when one does not open.
  status open(outbound_record& r, std::string_view record, std::string_view platform_message_id,
              std::string_view error_title) const {
    auto opened = crypto::open(key_, record, aad("record", r.tenant, r.id));
    if (!opened || !decode_record(opened.value(), r)) {
      return {errc::internal, "outbox: message " + r.id + " cannot be decrypted"};
    }
    if (auto st =
            open_optional(r, "platform_message_id", platform_message_id, r.platform_message_id);
        !st) {
      return st;
    }
    return open_optional(r, "error_title", error_title, r.error_title);
  }

  /// The real peer of a pseudonymous conversation, sealed bound to it.
  result<std::string> seal_peer(std::string_view tenant, std::string_view conversation,
                                std::string_view peer) const {
    return crypto::seal(key_, peer, aad("peer", tenant, conversation));
  }

  result<std::string> open_peer(std::string_view tenant, std::string_view conversation,
                                std::string_view sealed) const {
    auto opened = crypto::open(key_, sealed, aad("peer", tenant, conversation));
    if (!opened) {
      return error{errc::internal, "outbox: the peer of a conversation cannot be decrypted"};
    }
    return std::move(opened.value());
  }

  /// A fresh key check (the text sealed under the outbox's key).
  result<std::string> key_check() const {
    return crypto::seal(key_, k_key_check_text, k_key_check_aad);
  }

  /// `errc::internal` with `k_key_mismatch` unless `sealed` is a key check of this key.
  status verify_key_check(std::string_view sealed) const {
    auto opened = crypto::open(key_, sealed, k_key_check_aad);
    if (!opened || opened.value() != k_key_check_text) {
      return {errc::internal, std::string(k_key_mismatch)};
    }
    return {};
  }

 private:
  status open_optional(const outbound_record& r, std::string_view what, std::string_view sealed,
                       std::string& out) const {
    if (sealed.empty()) {
      return {};  // NULL: none
    }
    auto opened = crypto::open(key_, sealed, aad(what, r.tenant, r.id));
    if (!opened) {
      return {errc::internal,
              "outbox: the " + std::string(what) + " of " + r.id + " cannot be decrypted"};
    }
    out = std::move(opened.value());
    return {};
  }

  std::string key_;         // seals values: outbox_key(master key)
  std::string lookup_key_;  // keys the lookup digests
};

/// An idempotent put found `earlier` stored under its key's digest: the put answers with it
/// (`created` false, nothing stored). Two keys with one digest are an error: the unique index
/// cannot hold both.
inline status replay(outbox_write& w, outbound_record earlier) {
  if (earlier.idempotency_key != w.record.idempotency_key) {
    return {errc::internal, "outbox: idempotency key digest collision"};
  }
  w.record = std::move(earlier);
  w.created = false;
  return {};
}

}  // namespace sb::store::outbox_codec

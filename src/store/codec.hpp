#pragma once

// What the event logs seal, byte for byte (SQLite's and PostgreSQL's alike, so a store copied
// from one to the other opens): the plaintext of an event and of a quarantined body's kept
// headers, and the associated data that binds each sealed value (and each wrapped data key) to
// where it belongs. Built on store/sealed.hpp, as the outbox's records are. Internal to sb_store;
// what these produce is on disk.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aead.hpp"
#include "core/error.hpp"
#include "store/event_log.hpp"
#include "store/sealed.hpp"

namespace sb::store {

// The labels of the keys a store derives (sealed::derive_key), one per purpose: the wrapping key
// from the master key, the others from the root key (store/root_key.hpp; the actors derive the
// tenants' subject-id keys from the root key with other labels).
inline constexpr std::string_view k_wrap_key_label = "switchboard/store/key-wrap/v1";
// Dedupe keys are stored as HMAC-SHA256 of (tenant, channel, key) under a key derived with this
// label, cut to 16 bytes: the digest alone is the dedupe table's key (collisions, which would make
// an event a false duplicate: about 2^-65 at 2^32 keys held at once, all tenants together).
inline constexpr std::string_view k_dedupe_key_label = "switchboard/store/dedupe/v1";
inline constexpr std::size_t k_dedupe_digest_size = 16;
// Platform privacy requests carried out are stored as HMAC-SHA256 of (tenant, channel, kind,
// request) under a key derived with this label (rules::privacy_request_digest), in full.
inline constexpr std::string_view k_privacy_request_key_label =
    "switchboard/store/privacy-request/v1";
// The control plane's tenant documents (store/definitions.hpp) are sealed under a key derived
// with this label, bound to their tenant id (`definition_aad`).
inline constexpr std::string_view k_control_key_label = "switchboard/store/control/v1";

// The event log's key check (`meta.key_check` in SQLite): this text sealed under the wrapping key,
// with this associated data. A store opened with another master key fails it before anything is
// read; a rotation seals it again under the new key.
inline constexpr std::string_view k_store_key_check_text = "switchboard store key check v1";
inline constexpr std::string_view k_store_key_check_aad = "key_check";

/// The keys a store derives, one per purpose: the same in every store, so a store copied from one
/// backend to another opens with the same keys (store/root_key.hpp tells the two inputs apart).
struct derived_keys {
  std::string wrap;     ///< wraps the data keys: from the master key, so a rotation replaces it
  std::string dedupe;   ///< keys the dedupe digests: from the root key
  std::string request;  ///< keys the privacy-request digests: from the root key
  std::string control;  ///< seals the control plane's tenant documents: from the root key

  /// From the store's `root_key` and its current `master_key` (32 raw bytes each, else
  /// `errc::internal`; the same key until the store's first rotation).
  status derive(const std::string& root_key, const std::string& master_key) {
    for (const auto* k : {&root_key, &master_key}) {
      if (k->size() != crypto::aead_key_size) {
        return {errc::internal, "storage.master_key must be 32 bytes (64 hex characters), not " +
                                    std::to_string(k->size())};
      }
    }
    wrap = sealed::derive_key(master_key, k_wrap_key_label);
    dedupe = sealed::derive_key(root_key, k_dedupe_key_label);
    request = sealed::derive_key(root_key, k_privacy_request_key_label);
    control = sealed::derive_key(root_key, k_control_key_label);
    return {};
  }

  /// The stored form of a dedupe key: a keyed digest of (tenant, channel, key), 16 bytes.
  std::string dedupe_digest(std::string_view tenant, std::string_view channel,
                            std::string_view key) const {
    return sealed::keyed_digest(dedupe, {tenant, channel, key}, k_dedupe_digest_size);
  }
};

/// Associated data of a sealed event: binds it to its tenant and seq, so a row copied elsewhere
/// (another tenant, another seq) does not open. Into `out` (reused on the append path).
inline void event_aad(std::string& out, const std::string& tenant, std::uint64_t seq) {
  sealed::join_to(out, {"event", tenant, std::to_string(seq)});
}

/// Associated data of a sealed tenant document of the control plane.
inline std::string definition_aad(const std::string& tenant) {
  return sealed::join({"control", tenant});
}

/// Associated data of a sealed quarantined body (its id is assigned by the insert).
inline std::string quarantine_aad(const std::string& tenant, const std::string& channel) {
  return sealed::join({"quarantine", tenant, channel});
}

/// Associated data of a quarantined body's sealed headers: not interchangeable with its body.
inline std::string quarantine_headers_aad(const std::string& tenant, const std::string& channel) {
  return sealed::join({"quarantine", tenant, channel, "headers"});
}

/// Associated data of a wrapped data key: its owner.
inline std::string key_aad(const std::string& tenant, const std::string& subject) {
  return sealed::join({"data_key", tenant, subject});
}

/// The plaintext of a sealed event: the conversation as a field (sealed::put_field), then the
/// event's JSON. Starts `out` with the conversation; the caller appends the JSON.
inline void start_payload(std::string& out, const std::string& conversation) {
  out.clear();
  sealed::put_field(out, conversation);
}

/// Splits an opened payload into conversation and JSON; false when it is not one.
inline bool split_payload(std::string_view plain, std::string& conversation, std::string& json) {
  if (!sealed::get_field(plain, conversation)) {
    return false;
  }
  json.assign(plain);
  return true;
}

/// The plaintext of kept headers: for each, its name and its value as fields.
inline std::string encode_headers(const std::vector<kept_header>& headers) {
  std::string out;
  for (const auto& h : headers) {
    sealed::put_field(out, h.name);
    sealed::put_field(out, h.value);
  }
  return out;
}

inline bool decode_headers(std::string_view in, std::vector<kept_header>& out) {
  while (!in.empty()) {
    kept_header h;
    if (!sealed::get_field(in, h.name) || !sealed::get_field(in, h.value)) {
      return false;
    }
    out.push_back(std::move(h));
  }
  return true;
}

/// Seals a quarantined body into `body_out` and its kept headers into `headers_out` (left empty
/// when it has none) under its tenant's subjectless data `key`.
inline status seal_quarantined(std::string_view key, const quarantined_body& b,
                               std::string& body_out, std::string& headers_out) {
  if (auto st = crypto::seal_append(body_out, key, b.body, quarantine_aad(b.tenant, b.channel));
      !st) {
    return st;
  }
  if (b.headers.empty()) {
    return {};
  }
  return crypto::seal_append(headers_out, key, encode_headers(b.headers),
                             quarantine_headers_aad(b.tenant, b.channel));
}

}  // namespace sb::store

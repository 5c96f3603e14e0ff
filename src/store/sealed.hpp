#pragma once

// The pieces every store builds its sealed values and lookup digests from: the event log
// (src/store/sqlite/), the outbox (sqlite_outbox.cpp) and the in-memory log (its digests). Keys
// derived from `storage.master_key`, NUL-joined associated data and digest material, keyed digests
// of identifiers, and the length-prefixed fields of a sealed record. Internal to sb_store. What
// these produce is on disk: changing one makes existing stores unreadable.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/crypto.hpp"

namespace sb::store::sealed {

/// The key for one purpose, derived from `master_key`: HMAC-SHA256(master_key, label), 32 bytes.
/// Each purpose (wrapping data keys, dedupe digests, ...) has a label of its own.
inline std::string derive_key(std::string_view master_key, std::string_view label) {
  const auto mac = crypto::hmac_sha256(master_key, label);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

/// Sets `out` to `parts` joined with NUL bytes: associated data ("event\0<tenant>\0<seq>") that
/// binds a sealed value to where it belongs, so that a value copied to another row or column does
/// not open, and the material of a keyed digest. Names hold no NUL, so no two part lists join to
/// the same bytes. Reuses `out`'s buffer (hot paths).
inline void join_to(std::string& out, std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) {
    n += p.size() + 1;
  }
  out.clear();
  out.reserve(n);
  bool first = true;
  for (auto p : parts) {
    if (!first) {
      out.push_back('\0');
    }
    first = false;
    out.append(p);
  }
}

inline std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  join_to(out, parts);
  return out;
}

/// The stored form of an identifier that a store must find again but never read back (a dedupe
/// key, a recipient, a platform message id, a privacy request): HMAC-SHA256 under `secret` of
/// `parts` joined with NUL bytes, cut to `size` bytes (at most 32). Equality is all a lookup
/// needs; the value itself, when it is needed, is kept sealed elsewhere.
inline std::string keyed_digest(std::string_view secret,
                                std::initializer_list<std::string_view> parts, std::size_t size) {
  const auto mac = crypto::hmac_sha256(secret, join(parts));
  return std::string(reinterpret_cast<const char*>(mac.data()), std::min(size, mac.size()));
}

/// Appends a field of a sealed record: its length (4 bytes, little endian), then its bytes.
inline void put_field(std::string& out, std::string_view v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out.append(v);
}

/// Reads a field written by `put_field` from the front of `in` and moves past it; false (and
/// `in` unspecified) when `in` does not start with a whole field.
inline bool get_field(std::string_view& in, std::string& out) {
  if (in.size() < 4) {
    return false;
  }
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  in.remove_prefix(4);
  if (in.size() < n) {
    return false;
  }
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace sb::store::sealed

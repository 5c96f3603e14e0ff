#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

/// Authenticated encryption for data at rest: AES-256-GCM over OpenSSL 3 EVP, and the wrapping of
/// data keys under a key-encryption key (docs/operations.md, "Storage and encryption at rest").
///
/// Sealed format: `nonce (12 bytes) | ciphertext (as long as the plaintext) | tag (16 bytes)`. The
/// nonce is random for every seal, so sealing the same plaintext twice gives different bytes; a
/// key must therefore not seal more than about 2^32 messages (the NIST bound for random 96-bit
/// nonces). Associated data (`aad`) is authenticated, not stored: `open` must be given the same
/// bytes, which binds a ciphertext to where it belongs (e.g. its tenant and seq).
///
/// Errors are values: a key that is not 32 bytes, an input over 2 GiB, or (open) a sealed text
/// that is truncated, tampered with, opened with another key or other associated data; all
/// `errc::internal` (the data path never opens what a caller sent). Never logs, never throws
/// (except when the system's entropy source fails, as `crypto::random_bytes`).
///
/// Threading: every function may be called from any thread at once (each thread keeps its own
/// cipher context).
namespace sb::crypto {

inline constexpr std::size_t aead_key_size = 32;
inline constexpr std::size_t aead_nonce_size = 12;
inline constexpr std::size_t aead_tag_size = 16;
/// Bytes a sealed text is longer than its plaintext.
inline constexpr std::size_t aead_overhead = aead_nonce_size + aead_tag_size;

/// A fresh random 32-byte key.
std::string generate_aead_key();

/// Appends `plaintext` sealed under `key` to `out` (which keeps what it held: callers reuse one
/// buffer on hot paths). On error `out` is as it was.
status seal_append(std::string& out, std::string_view key, std::string_view plaintext,
                   std::string_view aad = {});

/// `plaintext` sealed under `key`.
result<std::string> seal(std::string_view key, std::string_view plaintext,
                         std::string_view aad = {});

/// Appends the plaintext of `sealed` to `out`. On error `out` is as it was.
status open_append(std::string& out, std::string_view key, std::string_view sealed,
                   std::string_view aad = {});

/// The plaintext of `sealed`.
result<std::string> open(std::string_view key, std::string_view sealed, std::string_view aad = {});

/// A 32-byte data key sealed under the 32-byte key-encryption key `kek`; `aad` should name the
/// key's owner (e.g. tenant and subject) so a wrapped key cannot be moved to another owner.
result<std::string> wrap_key(std::string_view kek, std::string_view data_key, std::string_view aad);

/// The data key of `wrapped` (as `wrap_key` made it, with the same `aad`).
result<std::string> unwrap_key(std::string_view kek, std::string_view wrapped,
                               std::string_view aad);

}  // namespace sb::crypto

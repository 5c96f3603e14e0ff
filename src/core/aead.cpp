#include "core/aead.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "core/crypto.hpp"

namespace sb::crypto {

namespace {

// Fetched once: an implicit fetch by EVP_aes_256_gcm() at every init costs a provider lookup.
const EVP_CIPHER* gcm_cipher() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// One context per thread, re-initialized for every operation: creating one costs an allocation.
class thread_context {
 public:
  thread_context() : ctx_(EVP_CIPHER_CTX_new()) {}
  thread_context(const thread_context&) = delete;
  thread_context& operator=(const thread_context&) = delete;
  ~thread_context() { EVP_CIPHER_CTX_free(ctx_); }
  EVP_CIPHER_CTX* get() const { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_;
};

EVP_CIPHER_CTX* context() {
  thread_local thread_context ctx;
  return ctx.get();
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

status check_sizes(std::string_view key, std::string_view data, std::string_view aad) {
  if (key.size() != aead_key_size) {
    return {errc::internal,
            "AES-256-GCM: the key must be 32 bytes, not " + std::to_string(key.size())};
  }
  // EVP lengths are ints; nothing stored comes near this.
  if (data.size() > INT_MAX / 2 || aad.size() > INT_MAX / 2) {
    return {errc::internal, "AES-256-GCM: input too large"};
  }
  if (gcm_cipher() == nullptr || context() == nullptr) {
    return {errc::internal, "AES-256-GCM: the cipher is not available from OpenSSL"};
  }
  return {};
}

}  // namespace

std::string generate_aead_key() {
  std::string key(aead_key_size, '\0');
  random_bytes(reinterpret_cast<std::uint8_t*>(key.data()), key.size());
  return key;
}

status seal_append(std::string& out, std::string_view key, std::string_view plaintext,
                   std::string_view aad) {
  if (auto st = check_sizes(key, plaintext, aad); !st) {
    return st;
  }
  const std::size_t start = out.size();
  out.resize(start + aead_overhead + plaintext.size());
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + start);
  auto* cipher_text = nonce + aead_nonce_size;
  auto* tag = cipher_text + plaintext.size();
  random_bytes(nonce, aead_nonce_size);

  EVP_CIPHER_CTX* ctx = context();
  int len = 0;
  bool ok = EVP_EncryptInit_ex2(ctx, gcm_cipher(), bytes(key), nonce, nullptr) == 1;
  ok = ok && (aad.empty() ||
              EVP_EncryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_EncryptUpdate(ctx, cipher_text, &len, bytes(plaintext),
                               static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx, cipher_text + len, &len) == 1;
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(aead_tag_size), tag) == 1;
  if (!ok) {
    out.resize(start);
    return {errc::internal, "AES-256-GCM: encryption failed"};
  }
  return {};
}

result<std::string> seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  std::string out;
  if (auto st = seal_append(out, key, plaintext, aad); !st) {
    return st.err();
  }
  return out;
}

status open_append(std::string& out, std::string_view key, std::string_view sealed,
                   std::string_view aad) {
  if (auto st = check_sizes(key, sealed, aad); !st) {
    return st;
  }
  if (sealed.size() < aead_overhead) {
    return {errc::internal, "AES-256-GCM: the sealed text is truncated"};
  }
  const std::size_t n = sealed.size() - aead_overhead;
  const auto* nonce = bytes(sealed);
  const auto* cipher_text = nonce + aead_nonce_size;
  // The tag is only read, but the EVP control call takes a non-const pointer.
  unsigned char tag[aead_tag_size];
  const auto* stored_tag = cipher_text + n;
  std::copy(stored_tag, stored_tag + aead_tag_size, tag);

  const std::size_t start = out.size();
  out.resize(start + n);
  auto* plain = reinterpret_cast<unsigned char*>(out.data() + start);
  EVP_CIPHER_CTX* ctx = context();
  int len = 0;
  bool ok = EVP_DecryptInit_ex2(ctx, gcm_cipher(), bytes(key), nonce, nullptr) == 1;
  ok = ok && (aad.empty() ||
              EVP_DecryptUpdate(ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1);
  ok = ok && EVP_DecryptUpdate(ctx, plain, &len, cipher_text, static_cast<int>(n)) == 1;
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(aead_tag_size), tag) == 1;
  // Final verifies the tag: it fails for a wrong key, other associated data or any changed byte.
  ok = ok && EVP_DecryptFinal_ex(ctx, plain + len, &len) == 1;
  if (!ok) {
    // Nothing of an unauthenticated plaintext is handed out.
    OPENSSL_cleanse(plain, n);
    out.resize(start);
    return {errc::internal,
            "AES-256-GCM: authentication failed (wrong key, other associated data, or the sealed "
            "text was altered)"};
  }
  return {};
}

result<std::string> open(std::string_view key, std::string_view sealed, std::string_view aad) {
  std::string out;
  if (auto st = open_append(out, key, sealed, aad); !st) {
    return st.err();
  }
  return out;
}

result<std::string> wrap_key(std::string_view kek, std::string_view data_key,
                             std::string_view aad) {
  if (data_key.size() != aead_key_size) {
    return {errc::internal,
            "key wrap: a data key must be 32 bytes, not " + std::to_string(data_key.size())};
  }
  return seal(kek, data_key, aad);
}

result<std::string> unwrap_key(std::string_view kek, std::string_view wrapped,
                               std::string_view aad) {
  if (wrapped.size() != aead_overhead + aead_key_size) {
    return {errc::internal, "key unwrap: a wrapped key must be " +
                                std::to_string(aead_overhead + aead_key_size) + " bytes, not " +
                                std::to_string(wrapped.size())};
  }
  return open(kek, wrapped, aad);
}

}  // namespace sb::crypto

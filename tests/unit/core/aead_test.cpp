#include <catch2/catch.hpp>

#include <string>

#include "core/aead.hpp"
#include "core/crypto.hpp"

using namespace sb;
using namespace sb::crypto;

namespace {

std::string key_of(char fill) {
  return std::string(aead_key_size, fill);
}

}  // namespace

TEST_CASE("AES-256-GCM seal and open round trip, with and without associated data", "[aead]") {
  const std::string key = generate_aead_key();
  REQUIRE(key.size() == 32);
  for (std::string plain : {std::string(), std::string("x"), std::string("Does it come in blue?"),
                            std::string(100000, '\x07'), std::string("a\0b", 3)}) {
    for (std::string aad : {std::string(), std::string("acme\0"
                                                       "42",
                                                       7)}) {
      auto sealed = seal(key, plain, aad);
      REQUIRE(sealed.ok());
      CHECK(sealed->size() == plain.size() + aead_overhead);
      auto opened = open(key, *sealed, aad);
      INFO((opened ? std::string() : opened.err().message));
      REQUIRE(opened.ok());
      CHECK(*opened == plain);
    }
  }
}

TEST_CASE("AES-256-GCM matches a known answer (NIST GCM test vector, 256-bit key)", "[aead]") {
  // gcmEncryptExtIV256.rsp, Count 0 of [Keylen = 256][IVlen = 96][PTlen = 128][AADlen = 128]:
  // opening a text built from the vector proves the format is nonce | ciphertext | tag.
  auto key = from_hex("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b");
  auto nonce = from_hex("ac93a1a6145299bde902f21a");
  auto cipher_text = from_hex("8995ae2e6df3dbf96fac7b7137bae67f");
  auto aad = from_hex("1e0889016f67601c8ebea4943bc23ad6");
  auto tag = from_hex("eca5aa77d51d4a0a14d9c51e1da474ab");
  REQUIRE((key && nonce && cipher_text && aad && tag));
  auto opened = open(*key, *nonce + *cipher_text + *tag, *aad);
  INFO((opened ? std::string() : opened.err().message));
  REQUIRE(opened.ok());
  CHECK(*opened == *from_hex("2d71bcfa914e4ac045b2aa60955fad24"));
}

TEST_CASE("sealing the same text twice gives different bytes (fresh nonce)", "[aead]") {
  const std::string key = key_of('k');
  auto a = seal(key, "same text");
  auto b = seal(key, "same text");
  REQUIRE((a.ok() && b.ok()));
  CHECK(*a != *b);
  CHECK(a->substr(0, aead_nonce_size) != b->substr(0, aead_nonce_size));
  CHECK(a->find("same text") == std::string::npos);
}

TEST_CASE("any altered byte of a sealed text is detected", "[aead]") {
  const std::string key = key_of('k');
  auto sealed = seal(key, "Does it come in another color?", "aad");
  REQUIRE(sealed.ok());
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto opened = open(key, tampered, "aad");
    INFO("byte " << i);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.err().code == errc::internal);
  }
  // Truncated: a missing tag byte, or shorter than nonce and tag together.
  CHECK_FALSE(open(key, sealed->substr(0, sealed->size() - 1), "aad").ok());
  CHECK_FALSE(open(key, sealed->substr(0, aead_overhead - 1), "aad").ok());
  CHECK_FALSE(open(key, "", "aad").ok());
}

TEST_CASE("a sealed text does not open with another key", "[aead]") {
  auto sealed = seal(key_of('a'), "secret");
  REQUIRE(sealed.ok());
  auto opened = open(key_of('b'), *sealed);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.err().message.find("authentication failed") != std::string::npos);
}

TEST_CASE("a sealed text does not open with other associated data", "[aead]") {
  const std::string key = key_of('k');
  auto sealed = seal(key, "secret", "acme/1");
  REQUIRE(sealed.ok());
  CHECK_FALSE(open(key, *sealed, "acme/2").ok());
  CHECK_FALSE(open(key, *sealed).ok());
  auto without = seal(key, "secret");
  REQUIRE(without.ok());
  CHECK_FALSE(open(key, *without, "acme/1").ok());
}

TEST_CASE("keys that are not 32 bytes are refused", "[aead]") {
  CHECK_FALSE(seal("short", "x").ok());
  CHECK_FALSE(seal(std::string(33, 'k'), "x").ok());
  auto sealed = seal(key_of('k'), "x");
  REQUIRE(sealed.ok());
  CHECK_FALSE(open(std::string(16, 'k'), *sealed).ok());
}

TEST_CASE("append variants keep the buffer's earlier content, also on failure", "[aead]") {
  const std::string key = key_of('k');
  std::string buffer = "prefix";
  REQUIRE(seal_append(buffer, key, "payload", "aad").ok());
  REQUIRE(buffer.size() == 6 + 7 + aead_overhead);
  CHECK(buffer.compare(0, 6, "prefix") == 0);
  std::string plain = "head:";
  REQUIRE(open_append(plain, key, std::string_view(buffer).substr(6), "aad").ok());
  CHECK(plain == "head:payload");
  CHECK_FALSE(open_append(plain, key, std::string_view(buffer).substr(6), "other").ok());
  CHECK(plain == "head:payload");
}

TEST_CASE("a wrapped data key unwraps only with its key-encryption key and owner", "[aead]") {
  const std::string kek = generate_aead_key();
  const std::string data_key = generate_aead_key();
  const std::string owner("acme\0sub_1", 10);
  auto wrapped = wrap_key(kek, data_key, owner);
  REQUIRE(wrapped.ok());
  CHECK(wrapped->size() == aead_key_size + aead_overhead);
  CHECK(wrapped->find(data_key) == std::string::npos);
  auto unwrapped = unwrap_key(kek, *wrapped, owner);
  REQUIRE(unwrapped.ok());
  CHECK(*unwrapped == data_key);

  CHECK_FALSE(unwrap_key(generate_aead_key(), *wrapped, owner).ok());
  CHECK_FALSE(unwrap_key(kek, *wrapped, std::string("acme\0sub_2", 10)).ok());
  CHECK_FALSE(wrap_key(kek, "not 32 bytes", "x").ok());
  CHECK_FALSE(unwrap_key(kek, wrapped->substr(1), owner).ok());
}

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Thin, allocation-light wrappers over OpenSSL 3. All functions are thread-safe.
namespace sb::crypto {

using digest = std::array<std::uint8_t, 32>;

digest sha256(std::string_view data);
digest hmac_sha256(std::string_view key, std::string_view data);

/// Constant-time equality of two byte strings (length leaks, content does not).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// The value of one hex digit (either case), or -1.
int hex_digit(char c) noexcept;

std::string to_hex(const std::uint8_t* data, std::size_t n);
inline std::string to_hex(const digest& d) {
  return to_hex(d.data(), d.size());
}
/// Lower- or upper-case hex; nullopt when the text is not hex of even length.
std::optional<std::string> from_hex(std::string_view hex);

std::string base64_encode(std::string_view bytes);
inline std::string base64_encode(const digest& d) {
  return base64_encode({reinterpret_cast<const char*>(d.data()), d.size()});
}
/// Standard alphabet with padding; nullopt on invalid input.
std::optional<std::string> base64_decode(std::string_view text);
/// URL-safe alphabet, padding optional (Meta's signed_request).
std::optional<std::string> base64url_decode(std::string_view text);

/// Cryptographically secure random bytes.
void random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace sb::crypto

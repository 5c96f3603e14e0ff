#include "core/ids.hpp"

#include <array>
#include <chrono>
#include <cstdint>

#include "core/crypto.hpp"

namespace sb::ids {

namespace {
constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Encodes the last `chars * 5` bits of `data` (big-endian) as base32, most significant first;
// bits before the start of `data` read as zero (a ULID's 128 bits take 26 characters).
template <std::size_t N>
void encode_bits(const std::array<std::uint8_t, N>& data, std::size_t chars, std::string& out) {
  const long total_bits = static_cast<long>(N * 8);
  const long start = total_bits - static_cast<long>(chars * 5);
  for (std::size_t c = 0; c < chars; ++c) {
    long bit = start + static_cast<long>(c * 5);
    unsigned v = 0;
    for (long k = 0; k < 5; ++k) {
      long b = bit + k;
      unsigned one = b < 0 ? 0u : (data[static_cast<std::size_t>(b / 8)] >> (7 - b % 8)) & 1u;
      v = (v << 1) | one;
    }
    out.push_back(crockford[v]);
  }
}

struct ulid_state {
  std::int64_t last_ms = -1;
  std::array<std::uint8_t, 10> rand{};
};
}  // namespace

std::string make(std::string_view prefix) {
  thread_local ulid_state st;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  if (ms > st.last_ms) {
    st.last_ms = ms;
    crypto::random_bytes(st.rand.data(), st.rand.size());
  } else {
    // Same millisecond (or clock stepped back): increment the random part for monotonicity.
    for (int i = 9; i >= 0; --i) {
      if (++st.rand[static_cast<std::size_t>(i)] != 0) {
        break;
      }
    }
  }
  std::array<std::uint8_t, 16> bytes{};
  auto t = static_cast<std::uint64_t>(st.last_ms);
  for (int i = 5; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(t & 0xff);
    t >>= 8;
  }
  for (std::size_t i = 0; i < 10; ++i) {
    bytes[6 + i] = st.rand[i];
  }
  std::string out;
  out.reserve(prefix.size() + 26);
  out.append(prefix);
  encode_bits(bytes, 26, out);
  return out;
}

std::string subject_id(std::string_view tenant_key, std::string_view channel_type,
                       std::string_view account, std::string_view user_id) {
  std::string input;
  input.reserve(channel_type.size() + account.size() + user_id.size() + 2);
  input.append(channel_type).append(":").append(account).append(":").append(user_id);
  auto mac = crypto::hmac_sha256(tenant_key, input);
  std::array<std::uint8_t, 10> head{};
  for (std::size_t i = 0; i < head.size(); ++i) {
    head[i] = mac[i];
  }
  std::string out = "sub_";
  encode_bits(head, 16, out);
  return out;
}

}  // namespace sb::ids

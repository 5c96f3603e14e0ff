// Meta's `signed_request` (adapters/meta/signed_request.hpp): the form field, the signature
// check and the payload decoder.
//
// Input, one of two forms:
//   #signed\n<payload JSON>   the harness encodes and signs the payload with the app secret, so
//                             the decoder behind the signature check is reached;
//   <form body>               anything else: the raw POST body of the deletion callback.
//
// Properties checked besides memory safety:
// - a request signed with another secret never verifies;
// - an accepted payload has a user_id;
// - a correctly signed payload is never refused as "not signed with the channel's app_secret";
// - an accepted payload was issued within the hour before the harness's clock (k_now), and not
//   more than the allowed skew after it. The seeds' issued_at (1700000000) is inside that window
//   so the accepting path stays reachable.

#include <cstdint>
#include <string>

#include "adapters/meta/signed_request.hpp"
#include "common.hpp"
#include "core/crypto.hpp"

namespace {

using namespace sb;

constexpr std::string_view k_secret = "fuzz-app-secret";
constexpr std::int64_t k_now_s = 1'700'000'600;

std::string base64url(std::string_view bytes) {
  std::string s = crypto::base64_encode(bytes);
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  for (auto& c : s) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return s;
}

void check(std::string_view form_body, bool signed_by_us) {
  auto field = adapters::meta::signed_request_field(form_body);
  if (!field) {
    return;
  }
  const auto now = timestamp::from_seconds(k_now_s);
  auto verified = adapters::meta::verify_signed_request(field.value(), k_secret, now);
  if (verified) {
    fuzz::require(!verified.value().user_id.empty(), "an accepted signed_request without user_id");
    const auto issued = verified.value().issued_at;
    fuzz::require(issued >= k_now_s - adapters::meta::k_signed_request_max_age_s &&
                      issued <= k_now_s + adapters::meta::k_signed_request_max_skew_s,
                  "an accepted signed_request issued outside the allowed window");
  } else if (signed_by_us) {
    fuzz::require(verified.err().message.find("not signed with") == std::string::npos,
                  "a correctly signed request was refused as forged");
  }
  auto forged = adapters::meta::verify_signed_request(field.value(), "another-secret", now);
  fuzz::require(!forged, "a signed_request verified under the wrong secret");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);
  constexpr std::string_view k_mode = "#signed\n";
  if (text.substr(0, k_mode.size()) == k_mode) {
    const auto payload = base64url(text.substr(k_mode.size()));
    const auto mac = crypto::hmac_sha256(k_secret, payload);
    const auto sig = base64url({reinterpret_cast<const char*>(mac.data()), mac.size()});
    check("signed_request=" + sig + "." + payload, true);
  } else {
    check(text, false);
  }
  return 0;
}

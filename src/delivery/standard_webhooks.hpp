#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

/// Standard Webhooks signing (https://www.standardwebhooks.com, docs/DESIGN.md §6): the three
/// headers every push delivery carries.
namespace sb::delivery {

/// Header names, lower-case as HTTP/2 and the specification write them.
inline constexpr const char* k_webhook_id = "webhook-id";
inline constexpr const char* k_webhook_timestamp = "webhook-timestamp";
inline constexpr const char* k_webhook_signature = "webhook-signature";

/// Signs deliveries for one subscriber. Holds the decoded key; immutable after construction, so
/// one instance may be used from several threads.
class signer {
 public:
  /// From a configured secret, "whsec_" + base64 of the key (the prefix is optional, as the
  /// reference libraries accept it). `errc::bad_request` when the base64 is invalid or empty.
  static result<signer> from_secret(std::string_view secret);
  /// Rotation (`push.secret_previous`): signs with `secret` and, when `previous` is not empty,
  /// with `previous` too; the specification's signature header is a space-separated list, and a
  /// receiver accepts the delivery when any one matches. Errors as `from_secret`, for either key.
  static result<signer> from_secrets(std::string_view secret, std::string_view previous);

  /// "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), then " v1,..." under the
  /// previous key when there is one.
  std::string signature(std::string_view id, std::int64_t unix_seconds,
                        std::string_view body) const;

  /// The three headers in order: webhook-id, webhook-timestamp, webhook-signature.
  std::vector<std::pair<std::string, std::string>> headers(std::string_view id,
                                                           std::int64_t unix_seconds,
                                                           std::string_view body) const;

 private:
  explicit signer(std::string key) : key_(std::move(key)) {}
  std::string key_;       ///< raw bytes; never logged
  std::string previous_;  ///< raw bytes of the key rotated out; empty: none
};

/// The event's `id` from its stored JSON (schema v1), or "" when the JSON has no string `id`.
std::string event_id_of(std::string_view event_json);

}  // namespace sb::delivery

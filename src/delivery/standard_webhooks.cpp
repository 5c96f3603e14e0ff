#include "delivery/standard_webhooks.hpp"

#include <simdjson.h>

#include "core/crypto.hpp"

namespace sb::delivery {

result<signer> signer::from_secret(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.substr(0, prefix.size()) == prefix) {
    secret.remove_prefix(prefix.size());
  }
  auto key = crypto::base64_decode(secret);
  if (!key || key->empty()) {
    return {errc::bad_request, "push secret must be \"whsec_\" followed by base64"};
  }
  return signer(std::move(*key));
}

result<signer> signer::from_secrets(std::string_view secret, std::string_view previous) {
  auto current = from_secret(secret);
  if (!current || previous.empty()) {
    return current;
  }
  auto old = from_secret(previous);
  if (!old) {
    return old.err();
  }
  current->previous_ = std::move(old->key_);
  return current;
}

std::string signer::signature(std::string_view id, std::int64_t unix_seconds,
                              std::string_view body) const {
  const std::string ts = std::to_string(unix_seconds);
  std::string content;
  content.reserve(id.size() + ts.size() + body.size() + 2);
  content.append(id).append(1, '.').append(ts).append(1, '.').append(body);
  std::string out = "v1," + crypto::base64_encode(crypto::hmac_sha256(key_, content));
  if (!previous_.empty()) {
    out.append(" v1,").append(crypto::base64_encode(crypto::hmac_sha256(previous_, content)));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> signer::headers(std::string_view id,
                                                                 std::int64_t unix_seconds,
                                                                 std::string_view body) const {
  return {{k_webhook_id, std::string(id)},
          {k_webhook_timestamp, std::to_string(unix_seconds)},
          {k_webhook_signature, signature(id, unix_seconds, body)}};
}

std::string event_id_of(std::string_view event_json) {
  // The log renders `id` first; a full parse keeps this right should that ever change.
  simdjson::padded_string padded(event_json);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return {};
  }
  std::string_view id;
  if (doc["id"].get_string().get(id) != simdjson::SUCCESS) {
    return {};
  }
  return std::string(id);
}

}  // namespace sb::delivery

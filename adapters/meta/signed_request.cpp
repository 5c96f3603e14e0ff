#include "adapters/meta/signed_request.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/url.hpp"

namespace sb::adapters::meta {

result<std::string> signed_request_field(std::string_view form_body) {
  auto raw = url::raw_query_param(form_body, "signed_request");
  if (!raw || raw->empty()) {
    return error{errc::bad_request,
                 "the form body must carry the field 'signed_request' (<signature>.<payload>)"};
  }
  auto value = url::decode(*raw);
  if (!value) {
    return error{errc::bad_request, "the field 'signed_request' has a malformed % escape"};
  }
  return std::move(*value);
}

result<signed_request_payload> verify_signed_request(std::string_view signed_request,
                                                     std::string_view app_secret, timestamp now) {
  const auto dot = signed_request.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == signed_request.size()) {
    return error{errc::bad_signature, "signed_request is not <signature>.<payload>"};
  }
  const auto sig_part = signed_request.substr(0, dot);
  const auto payload_part = signed_request.substr(dot + 1);
  const auto given = crypto::base64url_decode(sig_part);
  if (!given || given->size() != 32) {
    return error{errc::bad_signature, "the signature of signed_request is not a base64url HMAC"};
  }
  const auto expected = crypto::hmac_sha256(app_secret, payload_part);
  const std::string_view expected_bytes{reinterpret_cast<const char*>(expected.data()),
                                        expected.size()};
  if (!crypto::constant_time_equal(*given, expected_bytes)) {
    return error{errc::bad_signature, "signed_request is not signed with the channel's app_secret"};
  }
  auto json = crypto::base64url_decode(payload_part);
  if (!json) {
    return error{errc::malformed_body, "the payload of signed_request is not base64url"};
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*json).get(root) != simdjson::SUCCESS) {
    return error{errc::malformed_body, "the payload of signed_request is not JSON"};
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return error{errc::malformed_body, "the payload of signed_request is not a JSON object"};
  }
  // The algorithm is read only from a payload whose signature holds, so an attacker cannot pick
  // it; anything but HMAC-SHA256 is refused rather than guessed.
  if (lenient::text(obj, "algorithm") != "HMAC-SHA256") {
    return error{errc::bad_signature, "signed_request's algorithm must be HMAC-SHA256"};
  }
  signed_request_payload out;
  out.user_id = lenient::text(obj, "user_id");
  if (out.user_id.empty()) {
    return error{errc::malformed_body, "the payload of signed_request has no user_id"};
  }
  if (auto t = lenient::unix_time(obj, "issued_at"); !t.empty()) {
    out.issued_at = t.unix_ms / 1000;
  }
  // Signed, but a replay unless fresh: Meta sends the callback when the person asks.
  const std::int64_t now_s = now.unix_ms / 1000;
  if (out.issued_at == 0) {
    return error{errc::stale_request, "signed_request has no issued_at"};
  }
  if (out.issued_at < now_s - k_signed_request_max_age_s) {
    return error{errc::stale_request,
                 "signed_request was issued " + std::to_string(now_s - out.issued_at) +
                     " s ago; at most " + std::to_string(k_signed_request_max_age_s) +
                     " s are accepted"};
  }
  if (out.issued_at > now_s + k_signed_request_max_skew_s) {
    return error{errc::stale_request,
                 "signed_request's issued_at is " + std::to_string(out.issued_at - now_s) +
                     " s in the future; at most " + std::to_string(k_signed_request_max_skew_s) +
                     " s of clock skew are accepted"};
  }
  return out;
}

namespace {

std::string base64url(std::string_view bytes) {
  std::string s = crypto::base64_encode(bytes);
  for (auto& c : s) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  return s;
}

}  // namespace

std::string make_signed_request(std::string_view app_secret, std::string_view user_id,
                                std::int64_t issued_at) {
  std::string payload_json;
  sb::json::writer w(payload_json);
  w.begin_object().key("algorithm").value("HMAC-SHA256");
  w.key("issued_at").value(issued_at).key("user_id").value(user_id).end_object();
  const std::string payload = base64url(payload_json);
  const auto mac = crypto::hmac_sha256(app_secret, payload);
  return base64url({reinterpret_cast<const char*>(mac.data()), mac.size()}) + "." + payload;
}

}  // namespace sb::adapters::meta

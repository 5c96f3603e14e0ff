// The edge's mapping of errors to the wire. No Beast and no CAF here: the actors link it too.
#include "http/response.hpp"

#include <string>

#include "core/json.hpp"

namespace sb::http {

int http_status(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return 200;
    case errc::missing_signature:
      return 401;
    case errc::bad_signature:
    case errc::replayed_request:
      return 401;
    case errc::unknown_tenant:
      return 404;
    case errc::unknown_channel:
    case errc::unknown_conversation:
      return 404;
    case errc::body_too_large:
    case errc::too_many_events:
      return 413;
    case errc::malformed_body:
      return 400;
    case errc::unsupported_media:
      return 415;
    case errc::rate_limited:
    case errc::too_many_auth_failures:
    case errc::too_many_streams:
      return 429;
    case errc::overloaded:
    case errc::quarantine_full:
      return 503;
    case errc::conflict:
      return 409;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::not_found:
      return 404;
    case errc::method_not_allowed:
      return 405;
    case errc::bad_request:
    case errc::stale_request:
      return 400;
    case errc::handshake_failed:
      return 403;
    case errc::unavailable:
      return 503;
    case errc::window_closed:
    case errc::consent_required:
    case errc::opted_out:
    case errc::restricted:
    case errc::idempotency_conflict:
      return 409;
    case errc::internal:
      return 500;
  }
  return 500;
}

response error_response(errc code, std::string_view message, int retry_after_s) {
  response r;
  r.status = http_status(code);
  r.code = code;
  r.body.reserve(48 + message.size());
  json::writer w(r.body);
  w.begin_object().key("error").value(to_string(code)).key("message").value(message).end_object();
  if (retry_after_s > 0) {
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  }
  return r;
}

}  // namespace sb::http

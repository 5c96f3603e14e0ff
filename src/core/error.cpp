#include "core/error.hpp"

namespace sb {

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::missing_signature:
      return "missing_signature";
    case errc::bad_signature:
      return "bad_signature";
    case errc::unknown_tenant:
      return "unknown_tenant";
    case errc::unknown_channel:
      return "unknown_channel";
    case errc::body_too_large:
      return "body_too_large";
    case errc::malformed_body:
      return "malformed_body";
    case errc::unsupported_media:
      return "unsupported_media";
    case errc::rate_limited:
      return "rate_limited";
    case errc::overloaded:
      return "overloaded";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::not_found:
      return "not_found";
    case errc::method_not_allowed:
      return "method_not_allowed";
    case errc::bad_request:
      return "bad_request";
    case errc::handshake_failed:
      return "handshake_failed";
    case errc::unavailable:
      return "unavailable";
    case errc::window_closed:
      return "window_closed";
    case errc::consent_required:
      return "consent_required";
    case errc::opted_out:
      return "opted_out";
    case errc::restricted:
      return "restricted";
    case errc::idempotency_conflict:
      return "idempotency_conflict";
    case errc::unknown_conversation:
      return "unknown_conversation";
    case errc::too_many_events:
      return "too_many_events";
    case errc::quarantine_full:
      return "quarantine_full";
    case errc::stale_request:
      return "stale_request";
    case errc::replayed_request:
      return "replayed_request";
    case errc::too_many_auth_failures:
      return "too_many_failures";
    case errc::too_many_streams:
      return "too_many_streams";
    case errc::conflict:
      return "conflict";
    case errc::internal:
      return "internal";
  }
  return "internal";
}

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "switchboard"; }
  std::string message(int v) const override { return to_string(static_cast<errc>(v)); }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const category c;
  return c;
}

}  // namespace sb

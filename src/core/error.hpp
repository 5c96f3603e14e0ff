#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace sb {

/// Every failure the data path can report. Mapped to an HTTP status and a wire code by one
/// exhaustive switch at the edge (`sb::http::http_status`, http/response.cpp); adding a value
/// without mapping it there fails to compile with -Werror=switch.
enum class errc {
  ok = 0,
  missing_signature,  ///< authenticity header absent
  bad_signature,      ///< authenticity header present but wrong
  unknown_tenant,
  unknown_channel,
  body_too_large,
  malformed_body,     ///< signature valid, body not parseable (quarantined)
  unsupported_media,  ///< e.g. Shopify request without X-Shopify-Topic
  rate_limited,
  overloaded,    ///< mailbox or queue past its high-water mark
  unauthorized,  ///< missing or unknown bearer token
  forbidden,     ///< token lacks scope or targets another tenant
  not_found,
  method_not_allowed,
  bad_request,
  handshake_failed,  ///< Meta GET verification with a wrong verify_token
  unavailable,       ///< actor down or shutting down; retry later
  // Outbound refusals (409, docs/outbound.md "Window and consent").
  window_closed,         ///< free-form message outside the platform's customer-service window
  consent_required,      ///< the person has not granted the message's purpose (marketing)
  opted_out,             ///< the person sent an opt-out keyword: replies only
  restricted,            ///< the person's processing is restricted: replies only
  idempotency_conflict,  ///< Idempotency-Key in use by a request in flight or another body
  unknown_conversation,  ///< a pseudonymous conversation the gateway knows no person of (404)
  // Bounds on what an outsider can make the gateway hold or do (docs/security.md).
  too_many_events,         ///< a webhook body with more than limits.events_per_webhook (413)
  quarantine_full,         ///< the channel's quarantine quota is used up (503, Retry-After)
  stale_request,           ///< a signed request older than its platform allows (400)
  replayed_request,        ///< a signed webhook whose timestamp is out of its platform's window, or
                           ///< whose one-time token was accepted before with another body (401)
  too_many_auth_failures,  ///< failed verifications past their budget (429, Retry-After)
  too_many_streams,        ///< SSE streams of one token past limits.sse_streams_per_token (429)
  conflict,  ///< the control plane: a tenant that exists, or one the config file defines (409)
  internal,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Stable machine-readable name of an error code (the `error` field of JSON error bodies).
const char* to_string(errc e) noexcept;

/// An error as a value: a code plus a human sentence for the `message` field.
struct error {
  errc code = errc::internal;
  std::string message;
};

/// A value or an error. Deliberately small: the data path needs nothing more. [[nodiscard]]: a
/// call whose result is dropped is a failure nobody looks at, so it does not compile quietly.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : v_(std::move(e)) {}      // NOLINT
  result(errc code, std::string message) : v_(error{code, std::move(message)}) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const error& err() const& { return std::get<1>(v_); }
  error&& err() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, error> v_;
};

/// `result<void>`: success or an error; [[nodiscard]] like `result`.
struct [[nodiscard]] status {
  status() = default;
  status(error e) : err_(std::move(e)), failed_(true) {}  // NOLINT
  status(errc code, std::string message) : err_{code, std::move(message)}, failed_(true) {}
  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const { return err_; }

 private:
  error err_;
  bool failed_ = false;
};

}  // namespace sb

namespace std {
template <>
struct is_error_code_enum<sb::errc> : true_type {};
}  // namespace std

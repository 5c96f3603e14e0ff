#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/ip.hpp"
#include "http/auth_failures.hpp"
#include "http/ingress_limit.hpp"
#include "http/replay_guard.hpp"
#include "http/router.hpp"

/// What the HTTP edge decides about a platform's request (a webhook POST, the GET subscription
/// handshake, Meta's data-deletion callback) before anything reaches the actors. Plain code, no
/// Beast; the session calls it on its I/O thread and maps the verdict to the wire.
///
/// The order is the defence (issue 10, row 2: a flood of unsigned POSTs used to spend the
/// tenant's `rate_limit` and lock its platforms out):
///   1. `admit_source`: a source whose failure budget is spent is answered 429
///      `too_many_failures` with Retry-After, before any HMAC is computed;
///   2. verification with the channel's own adapter (`adapter::verify`, `adapter::handshake`,
///      or Meta's `signed_request`); a failure is counted against the source's and the channel's
///      failure budgets and answered with the verification's error (401 / 403 / 400), or 429
///      `too_many_failures` once either budget is spent. A request whose signature holds is never
///      refused for a spent channel budget, so a distributed forged flood cannot lock a channel
///      out either;
///   3. the tenant's `rate_limit`, charged for verified requests only (429 `rate_limited`);
///   4. pass: the request is handed on, marked verified.
/// In step 2, a channel in secret rotation (`K_previous` set, config/config.hpp) whose current
/// secret refuses the signature or verify token (`bad_signature`, `handshake_failed`) is verified
/// again with its previous secrets (`channel_entry::previous_verifier`); a match passes and is
/// counted in `switchboard_webhook_previous_secret_total{tenant,channel}`.
/// Around step 2, the adapter's setup requests (`adapter::setup_request`: Slack's signed
/// url_verification, WooCommerce's unsigned creation ping) are answered here with their reply and
/// never handed on, and a verified one-time token (`adapter::replay_token`, Mailgun's) that came
/// before with another body is refused 401 `replayed_request` like a forged request.
namespace sb::http {

struct gate_verdict {
  bool pass = false;      ///< verified and within the tenant's rate limit: hand it on
  error err;              ///< when `!pass`: what to answer
  int retry_after_s = 0;  ///< > 0: the Retry-After of a 429
  std::string challenge;  ///< a passed handshake: the body of the 200 (text/plain)
  /// A passed setup request (`adapter::setup_request`): answer 200 with it, hand nothing on.
  std::optional<adapters::edge_reply> reply;
};

class platform_gate {
 public:
  /// `cfg` gives `limits.auth_failures_per_source`; `ingress` (the tenants' `rate_limit`) must
  /// outlive the gate.
  platform_gate(const config::config& cfg, ingress_limits& ingress);

  /// Step 1: whether `source` may still try. Cheap (a hash lookup), no entry added.
  gate_verdict admit_source(const ip::address& source, time_point now);

  /// Steps 2–4 for a webhook POST to `ch` of `tenant`.
  gate_verdict webhook(const channel_entry& ch, std::string_view tenant, const ip::address& source,
                       const adapters::request& req, time_point now);

  /// Steps 2–4 for the GET subscription handshake. A passed verdict carries the challenge; a
  /// channel type without a handshake is 405 `method_not_allowed` (not counted as a failure).
  gate_verdict handshake(const channel_entry& ch, std::string_view tenant,
                         const ip::address& source, const adapters::request& req, time_point now);

  /// Steps 2–4 for Meta's data-deletion callback (`POST /webhooks/{tenant}/{channel}/data-
  /// deletion`, a form body with `signed_request`): its HMAC under the channel's `app_secret` is
  /// checked here (adapters/meta/signed_request.hpp). A missing or malformed `signed_request`
  /// counts as a failure; a correctly signed payload that does not decode passes (the privacy API
  /// answers it). A channel without `app_secret` has no such callback: 404 `not_found`.
  gate_verdict data_deletion(const channel_entry& ch, std::string_view tenant,
                             const ip::address& source, std::string_view body, time_point now);

  source_failures& sources() { return sources_; }
  replay_guard& tokens() { return tokens_; }

 private:
  /// Counts a failed verification; `e` or 429 `too_many_failures`.
  gate_verdict failed(error e, const channel_entry& ch, const ip::address& source, time_point now);
  /// Step 3 for a verified request.
  gate_verdict charge_tenant(std::string_view tenant, time_point now);

  ingress_limits& ingress_;
  source_failures sources_;
  replay_guard tokens_;
};

}  // namespace sb::http

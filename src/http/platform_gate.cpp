#include "http/platform_gate.hpp"

#include <algorithm>
#include <utility>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace sb::http {

namespace {

gate_verdict refuse(error e, int retry_after_s = 0) {
  gate_verdict v;
  v.err = std::move(e);
  v.retry_after_s = retry_after_s;
  return v;
}

gate_verdict pass(std::string challenge = {}) {
  gate_verdict v;
  v.pass = true;
  v.err.code = errc::ok;
  v.challenge = std::move(challenge);
  return v;
}

gate_verdict no_adapter() {
  return refuse(error{errc::internal, "the channel has no adapter"});
}

/// Whether a refused verification may be retried with the channel's previous secrets: only a
/// wrong signature or token is (a missing header, a stale timestamp or a bad body would be
/// refused the same way).
bool rotation_retries(errc code) {
  return code == errc::bad_signature || code == errc::handshake_failed;
}

/// Counts (and logs, the first time in the process) a request that only the previous secret
/// verified: the operator must not remove `K_previous` yet.
void note_previous_secret(const channel_entry& ch, std::string_view tenant) {
  if (ch.previous_matched == nullptr) {
    return;
  }
  if (ch.previous_matched->value() == 0) {
    log::info("http", "channel ", tenant, "/", ch.cfg->name,
              ": a request verified with a previous secret (<key>_previous); keep it until "
              "switchboard_webhook_previous_secret_total stops growing");
  }
  ch.previous_matched->inc();
}

}  // namespace

platform_gate::platform_gate(const config::config& cfg, ingress_limits& ingress)
    : ingress_(ingress), sources_(cfg.limits.auth_failures_per_source) {}

gate_verdict platform_gate::admit_source(const ip::address& source, time_point now) {
  if (int wait = sources_.blocked(source, now); wait > 0) {
    return refuse(error{errc::too_many_auth_failures,
                        "too many failed verifications from this address; retry later"},
                  wait);
  }
  return pass();
}

gate_verdict platform_gate::failed(error e, const channel_entry& ch, const ip::address& source,
                                   time_point now) {
  const int source_wait = sources_.record(source, now);
  const int channel_wait = ch.failures ? ch.failures->take(now) : 0;
  if (channel_wait > 0) {
    return refuse(error{errc::too_many_auth_failures,
                        "too many failed verifications for this channel; retry later"},
                  std::max(channel_wait, source_wait));
  }
  if (source_wait > 0) {
    return refuse(error{errc::too_many_auth_failures,
                        "too many failed verifications from this address; retry later"},
                  source_wait);
  }
  return refuse(std::move(e));
}

gate_verdict platform_gate::charge_tenant(std::string_view tenant, time_point now) {
  if (int wait = ingress_.admit(tenant, now); wait > 0) {
    return refuse(
        error{errc::rate_limited, "the tenant's webhook rate limit is exceeded; retry later"},
        wait);
  }
  return pass();
}

gate_verdict platform_gate::webhook(const channel_entry& ch, std::string_view tenant,
                                    const ip::address& source, const adapters::request& req,
                                    time_point now) {
  if (!ch.verifier) {
    return no_adapter();
  }
  // An unsigned ping proves nothing and stores nothing: answered as the platform needs, without
  // charging the tenant (its shape is exact, so no webhook passes for one).
  if (auto ping = ch.verifier->setup_request(req, false)) {
    auto v = pass();
    v.reply = std::move(ping);
    return v;
  }
  const adapters::adapter* by = ch.verifier.get();
  if (auto verified = ch.verifier->verify(req); !verified) {
    if (!ch.previous_verifier || !rotation_retries(verified.err().code) ||
        !ch.previous_verifier->verify(req)) {
      return failed(verified.err(), ch, source, now);
    }
    by = ch.previous_verifier.get();
    note_previous_secret(ch, tenant);
  }
  if (auto token = by->replay_token(req)) {
    const auto at = req.now.empty() ? sb::now() : req.now;
    std::string scope(tenant);
    scope.append("/").append(ch.cfg->name);
    if (!tokens_.admit(scope, token->value, crypto::sha256(req.body), token->expires.unix_ms,
                       at.unix_ms)) {
      return failed(error{errc::replayed_request,
                          "this request's signed token was accepted before with another body: "
                          "a replayed signature; nothing was stored"},
                    ch, source, now);
    }
  }
  auto charged = charge_tenant(tenant, now);
  if (charged.pass) {
    charged.reply = by->setup_request(req, true);
  }
  return charged;
}

gate_verdict platform_gate::handshake(const channel_entry& ch, std::string_view tenant,
                                      const ip::address& source, const adapters::request& req,
                                      time_point now) {
  if (!ch.verifier) {
    return no_adapter();
  }
  auto challenge = ch.verifier->handshake(req);
  if (!challenge && ch.previous_verifier && rotation_retries(challenge.err().code)) {
    if (auto old = ch.previous_verifier->handshake(req)) {
      challenge = std::move(old);
      note_previous_secret(ch, tenant);
    }
  }
  if (!challenge) {
    if (challenge.err().code == errc::handshake_failed) {
      return failed(challenge.err(), ch, source, now);
    }
    return refuse(challenge.err());  // e.g. a type without a handshake: nothing to guess
  }
  auto charged = charge_tenant(tenant, now);
  if (!charged.pass) {
    return charged;
  }
  return pass(std::move(challenge.value()));
}

gate_verdict platform_gate::data_deletion(const channel_entry& ch, std::string_view tenant,
                                          const ip::address& source, std::string_view body,
                                          time_point now) {
  const auto* hooks = ch.info != nullptr ? &ch.info->privacy : nullptr;
  if (hooks == nullptr || hooks->deletion_enabled == nullptr || !hooks->deletion_enabled(*ch.cfg)) {
    return refuse(
        error{errc::not_found, "only " + adapters::types_where([](const adapters::adapter_info& a) {
                                 return a.privacy.deletion_enabled != nullptr;
                               }) + " channels have a data-deletion callback"});
  }
  auto field = hooks->deletion_request_of(body);
  if (!field) {
    return failed(field.err(), ch, source, now);
  }
  // A stale (replayed) request is refused here like a forged one: it costs the sender's failure
  // budget, never the tenant's rate limit.
  auto payload = hooks->verify_deletion(*ch.cfg, *field, sb::now());
  if (!payload && ch.previous_cfg && rotation_retries(payload.err().code)) {
    // A payload that does not decode under the previous secret was still signed with it.
    auto old = hooks->verify_deletion(*ch.previous_cfg, *field, sb::now());
    if (old || old.err().code == errc::malformed_body) {
      payload = std::move(old);
      note_previous_secret(ch, tenant);
    }
  }
  if (!payload && payload.err().code != errc::malformed_body) {
    return failed(payload.err(), ch, source, now);
  }
  return charge_tenant(tenant, now);
}

}  // namespace sb::http

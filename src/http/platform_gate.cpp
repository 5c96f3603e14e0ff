#include "http/platform_gate.hpp"

#include <algorithm>
#include <utility>

#include "core/crypto.hpp"
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
  if (auto verified = ch.verifier->verify(req); !verified) {
    return failed(verified.err(), ch, source, now);
  }
  if (auto token = ch.verifier->replay_token(req)) {
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
    charged.reply = ch.verifier->setup_request(req, true);
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
  if (!payload && payload.err().code != errc::malformed_body) {
    return failed(payload.err(), ch, source, now);
  }
  return charge_tenant(tenant, now);
}

}  // namespace sb::http

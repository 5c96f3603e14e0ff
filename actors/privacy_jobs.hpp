#pragma once

// What the privacy and consent API shells (privacy_api.cpp, consent_api.cpp) share: the context a
// one-shot job copies out of the tenant actor, the detached job itself, the audit write and the
// subject path parameter. Internal to sb_actors; not part of any interface.

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "actors/api.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "privacy/consent.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors::privacy_jobs {

/// Copied out of the tenant actor for a one-shot job (which outlives the handler).
struct job_ctx {
  std::string tenant;
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::privacy_store> ps;  ///< null when the event log keeps no privacy data
  std::shared_ptr<privacy::consent_registry> consents;
  caf::actor tenant_actor;
  caf::actor store;
  std::chrono::milliseconds timeout{std::chrono::seconds{10}};
};

inline job_ctx make_ctx(const tenant_api_env& env) {
  job_ctx ctx;
  ctx.tenant = env.tenant->id;
  ctx.cfg = env.cfg;
  ctx.log = env.log;
  ctx.ps = store::privacy_store_of(env.log);
  ctx.consents = env.consents;
  ctx.tenant_actor = caf::actor_cast<caf::actor>(env.self);
  ctx.store = env.store;
  ctx.timeout = env.settings.store_timeout;
  return ctx;
}

/// Runs `fn(self)` in a one-shot actor on its own thread: the store work it does (fsync'd
/// consent writes and deletes, audit writes) blocks neither the tenant's mailbox nor a scheduler
/// thread. Privacy jobs are rare, so a thread each is cheap.
template <class Fn>
void spawn_job(caf::event_based_actor* parent, Fn fn) {
  parent->spawn<caf::detached>(
      [fn = std::move(fn)](caf::event_based_actor* self) mutable { fn(self); });
}

/// Writes an audit entry stamped now; false when the store refused it (logged under `component`,
/// without the entry's detail).
inline bool write_audit(store::privacy_store& ps, const char* component, const std::string& tenant,
                        std::string actor, std::string action, std::string subject,
                        std::string outcome, std::string detail) {
  store::audit_entry a;
  a.at = now();
  a.tenant = tenant;
  a.actor = std::move(actor);
  a.action = std::move(action);
  a.subject = std::move(subject);
  a.outcome = std::move(outcome);
  a.detail = std::move(detail);
  auto id = ps.audit(std::move(a));
  if (!id) {
    log::error(component, "cannot write an audit entry of tenant ", tenant, ": ",
               id.err().message);
    return false;
  }
  return true;
}

/// The subject id of the call's path; answers 400 and returns nothing when it is not one.
inline std::optional<std::string> subject_param(api_call& c) {
  if (c.params.empty() || !privacy::valid_subject_id(c.params.front())) {
    c.reply->answer(error_response(errc::bad_request,
                                   "path parameter 'subject' must be a subject id: \"sub_\" "
                                   "followed by 16 Crockford base32 characters"));
    return std::nullopt;
  }
  return c.params.front();
}

/// The audit actor of a backend's call.
inline std::string caller_of(const api_call& c) {
  return "subscriber:" + c.caller;
}

}  // namespace sb::actors::privacy_jobs

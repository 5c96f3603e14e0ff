#pragma once

// What the privacy and consent API shells (privacy_api.cpp, consent_api.cpp) share: the context a
// job copies out of the tenant actor, the pool of workers that runs the jobs, the audit write and
// the subject path parameter. Internal to sb_actors; not part of any interface.

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/api.hpp"
#include "actors/privacy_worker.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "privacy/consent.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors::privacy_jobs {

/// The context a job runs in: its worker (actors/privacy_worker.hpp).
using worker_ptr = privacy_worker_actor::pointer;

/// How long a request refused by a full queue is told to wait (Retry-After, seconds).
inline constexpr int k_queue_full_retry_after_s = 1;

/// The fixed pool that runs every privacy job (export, erasure, the audit list, platform privacy
/// requests, consent API changes): `limits.privacy_workers` detached worker actors (one OS thread
/// each, so their blocking store calls hold no scheduler thread) take jobs from one queue, oldest
/// first; at most `limits.privacy_queue` jobs wait, past it a job is refused (503, Retry-After).
/// No thread is started per call. Created once by the gateway's root, which spawns the workers
/// (`spawn_worker`), restarts a crashed one and closes the pool when it stops; tenants get it in
/// `tenant_init`.
///
/// A job runs in its worker's context: what it does synchronously holds that worker (and the
/// jobs behind it); what it continues asynchronously (`self->request(...).then(...)`) runs in
/// the same worker when the answer comes, between other jobs. Thread-safe.
class job_pool {
 public:
  using job = std::function<void(worker_ptr)>;

  explicit job_pool(std::size_t max_waiting) : max_waiting_(max_waiting) {}

  /// Queues `fn` and wakes every worker (an idle one takes it, oldest job first). False, and
  /// nothing queued, when `max_waiting` jobs wait already or the pool is closed.
  bool submit(job fn) {
    std::vector<privacy_worker_actor> workers;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || jobs_.size() >= max_waiting_) {
        return false;
      }
      jobs_.push_back(std::move(fn));
      workers = workers_;
    }
    for (const auto& w : workers) {
      caf::anon_send(w, job_atom::value);
    }
    return true;
  }

  /// The oldest waiting job, if any (a worker, when woken).
  std::optional<job> take() {
    std::lock_guard lock(mutex_);
    if (jobs_.empty()) {
      return std::nullopt;
    }
    job fn = std::move(jobs_.front());
    jobs_.pop_front();
    return fn;
  }

  /// Jobs waiting for a worker.
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
  }

  /// Sets worker `index` (the root, at start and when it restarts one); wakes it, in case jobs
  /// wait that a crashed worker's wake-ups were meant for.
  void set_worker(std::size_t index, privacy_worker_actor worker) {
    {
      std::lock_guard lock(mutex_);
      if (workers_.size() <= index) {
        workers_.resize(index + 1);
      }
      workers_[index] = worker;
    }
    caf::anon_send(worker, job_atom::value);
  }

  /// Refuses every later job and drops the waiting ones: their requests are answered 503 by
  /// their responders. The root calls it when the gateway stops.
  void close() {
    std::deque<job> dropped;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      dropped.swap(jobs_);
      workers_.clear();
    }
  }

 private:
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::deque<job> jobs_;
  std::vector<privacy_worker_actor> workers_;
  bool closed_ = false;
};

/// One worker of `pool`: runs a waiting job each time it is woken. Detached (its own thread), a
/// monitored child of `parent`.
inline privacy_worker_actor spawn_worker(caf::local_actor* parent, std::shared_ptr<job_pool> pool) {
  return parent->spawn<caf::detached + caf::monitored>(
      [pool = std::move(pool)](worker_ptr self) -> privacy_worker_actor::behavior_type {
        return {
            [self, pool](job_atom) {
              if (auto fn = pool->take()) {
                (*fn)(self);
              }
            },
        };
      });
}

/// Copied out of the tenant actor for a job (which outlives the handler).
struct job_ctx {
  std::string tenant;
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::privacy_store> ps;  ///< null when the gateway keeps no privacy store
  std::shared_ptr<privacy::consent_registry> consents;
  actors::tenant_actor tenant_actor;
  store_writer_actor store;
  std::chrono::milliseconds timeout{std::chrono::seconds{10}};
};

inline job_ctx make_ctx(const tenant_api_env& env) {
  job_ctx ctx;
  ctx.tenant = env.tenant->id;
  ctx.cfg = env.cfg;
  ctx.log = env.stores.log;
  ctx.ps = env.stores.privacy;
  ctx.consents = env.consents;
  ctx.tenant_actor = caf::actor_cast<actors::tenant_actor>(env.self);
  ctx.store = env.store;
  ctx.timeout = env.settings.store_timeout;
  return ctx;
}

/// Runs `fn(self)` on the tenant's privacy workers (`job_pool`): the store work it does (fsync'd
/// consent writes and deletes, audit writes) blocks neither the tenant's mailbox nor a scheduler
/// thread, and no thread is started for it. When the queue is full, `reply` is answered 503
/// `overloaded` with Retry-After and `fn` is dropped.
template <class Fn>
void spawn_job(const tenant_api_env& env, const responder_ptr& reply, Fn fn) {
  if (!env.privacy_jobs) {
    reply->answer(error_response(errc::unavailable, "this gateway runs no privacy workers"));
    return;
  }
  if (!env.privacy_jobs->submit(job_pool::job(std::move(fn)))) {
    reply->answer(error_response(errc::overloaded,
                                 "too many privacy requests are waiting to be carried out; retry",
                                 k_queue_full_retry_after_s));
  }
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
    log::error(component, "cannot write an audit entry of tenant ", tenant, ": ", id.err().message);
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

/// The audit actor of a backend's call: "subscriber:<name>", or an operator's
/// "operator:<name>" as the token index names it (no subscriber name has a ':').
inline std::string caller_of(const api_call& c) {
  if (c.caller.rfind("operator:", 0) == 0) {
    return c.caller;
  }
  return "subscriber:" + c.caller;
}

}  // namespace sb::actors::privacy_jobs

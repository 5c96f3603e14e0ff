#pragma once

// The privacy worker's interface: one of the gateway's fixed pool of threads that run privacy and
// consent jobs (actors/privacy_jobs.hpp).

#include "actors/messages.hpp"

namespace sb::actors {

/// privacy_jobs::job_pool -> worker (`job_atom`): a job may be waiting in the pool.
using job_atom = caf::atom_constant<caf::atom("privjob")>;

/// A privacy worker, in pseudo-code:
///
///   interface privacy_worker {
///     // Take the oldest waiting job of the pool, if any, and run it in this actor's context
///     // (its continuations, `request(...).then(...)`, run here too, between other jobs).
///     (job_atom) -> void
///   }
///
/// Detached (its own OS thread: jobs block on fsync'd store writes), a monitored child of the
/// root, which restarts it and hands the new handle to the pool.
using privacy_worker_actor = caf::typed_actor<caf::reacts_to<job_atom>>;

}  // namespace sb::actors

#pragma once

// The live tail: the newest events of each tenant, kept rendered in memory as they are appended,
// so that every reader at the head (SSE streams, pull, push) reads a new event without reading or
// decrypting it again. One append renders it once, for all of them.
//
// Why: every live reader used to read each new event from the store and decrypt it on its own:
// with 200 SSE streams on a tenant, one webhook cost 200 reads and 200 decryptions, on the threads
// that answer the platforms (docs/performance.md, "Fan-out").
//
// It is a decorator over the stores, so readers need no change and nothing can bypass it: the log
// fills the tail with what `append` stored, `read` serves a range from the tail when the tail
// holds all of it and from the store otherwise (catch-up readers), and an erasure or a retention
// sweep through the privacy store empties the tenant's tail once the store has deleted the rows,
// so no erased event is served from memory afterwards.

#include <cstddef>

#include "store/stores.hpp"

namespace sb::store {

/// Bounds of one tenant's tail: the newest `events` events, and at most `bytes` of rendered frames
/// (whichever is reached first; the oldest go first).
struct live_tail_limits {
  std::size_t events = 4096;
  std::size_t bytes = 4u << 20;
};

/// `inner` with a live tail in front of its log, and its privacy store emptying the tail after
/// each erasure and sweep. `inner.delivery` is passed through. Thread-safe as `inner` is.
stores with_live_tail(stores inner, live_tail_limits limits = {});

}  // namespace sb::store

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event.hpp"

/// The tenant-scoped event log: the one interface between the actors and storage. The in-memory
/// implementation serves until the durable SQLite store implements the same interface; the actors
/// and the HTTP API do not change when it does.
///
/// Threading: one writer at a time (the store-writer actor calls `append`); `read`, `head` and
/// `quarantined` may run concurrently with it from any thread.
namespace sb::store {

/// One request's events, appended all-or-nothing.
struct append_request {
  std::string tenant;
  std::vector<event> events;  ///< `seq` is assigned by the log
};

/// What became of one event of an append.
struct append_outcome {
  bool duplicate = false;  ///< same (tenant, channel, dedupe_key) already stored
  std::uint64_t seq = 0;   ///< the new seq, or the original's seq for a duplicate
};

/// An event as stored: its position, routing keys and rendered JSON (schema v1, with `seq`).
struct stored_event {
  std::uint64_t seq = 0;
  std::string type;
  std::string conversation;
  std::string subject;  ///< "" when the event has none; readers check consent by it
  std::string json;
};

struct read_result {
  std::vector<stored_event> events;
  std::uint64_t next = 0;  ///< resume point: the last seq examined (>= `after`)
};

/// A body whose signature was valid but which could not be parsed: kept so nothing is lost.
struct quarantined_body {
  std::uint64_t id = 0;
  std::string tenant;
  std::string channel;
  std::string reason;
  timestamp received_at;
  std::string body;
};

class event_log {
 public:
  virtual ~event_log() = default;

  /// Appends a batch of requests in one commit (group commit). `outcomes[i][j]` answers
  /// `requests[i].events[j]`. Assigns each tenant's next `seq` in order, renders each event's
  /// JSON, and dedupes by (tenant, channel name, dedupe_key), also within the batch. On failure
  /// nothing of the batch is stored.
  virtual status append(std::vector<append_request>& requests,
                        std::vector<std::vector<append_outcome>>& outcomes) = 0;

  /// `upto` of `read` that bounds nothing.
  static constexpr std::uint64_t k_unbounded = ~std::uint64_t{0};

  /// Events of `tenant` with `after` < seq <= `upto`, in seq order, at most `limit`, only of
  /// `types` (empty = all). Examines a bounded number of events per call; `next` tells where to
  /// go on and never passes `upto` (it stays `after` when `after` >= `upto`).
  ///
  /// `upto`: readers that forward events (SSE streams, pull, push) pass the head their tenant has
  /// announced, never more: an event stored but not yet announced may carry a consent change
  /// (an opt-out keyword) that the tenant applies before it announces it (docs/architecture.md,
  /// "Consent is judged when an event is read"). Tools and tests that read what is stored may
  /// leave the default, everything.
  virtual result<read_result> read(const std::string& tenant, std::uint64_t after,
                                   std::size_t limit, const std::vector<std::string>& types,
                                   std::uint64_t upto = k_unbounded) = 0;

  /// The tenant's highest stored seq (0 when empty).
  virtual std::uint64_t head(const std::string& tenant) = 0;

  /// Keeps an unparseable body. Returns its quarantine id.
  virtual result<std::uint64_t> quarantine(quarantined_body body) = 0;

  /// Quarantined bodies of a tenant, oldest first (operations and tests).
  virtual std::vector<quarantined_body> quarantined(const std::string& tenant) = 0;
};

/// An in-memory log (lost on restart; bounded only by memory; not encrypted, as nothing of it is
/// at rest). Thread-safe as documented above. It also keeps delivery state (`delivery_store_of`,
/// store/delivery_store.hpp) and privacy state (`privacy_store_of`, store/privacy_store.hpp).
/// The durable log is `make_sqlite_log` (store/sqlite_log.hpp).
std::shared_ptr<event_log> make_memory_log();

}  // namespace sb::store

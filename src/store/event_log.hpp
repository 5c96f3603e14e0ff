#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/event.hpp"

/// The tenant-scoped event log: the one interface between the actors and storage. Implemented in
/// memory and over SQLite, each beside a `delivery_store` and a `privacy_store` over the same data
/// (store/stores.hpp: `make_memory_stores`, `make_sqlite_stores`); the actors and the HTTP API do
/// not change with the implementation.
///
/// Threading: one writer at a time (the store-writer actor calls `append`); `read`, `head` and
/// the quarantine's members may run concurrently with it from any thread.
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

/// What a failed `append` leaves, in every implementation: no event with a seq, no outcome
/// (nothing of the batch was stored).
inline void forget_failed_append(std::vector<append_request>& requests,
                                 std::vector<std::vector<append_outcome>>& outcomes) {
  for (auto& req : requests) {
    for (auto& ev : req.events) {
      ev.seq = 0;
    }
  }
  for (auto& out : outcomes) {
    out.clear();
  }
}

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

/// An event as the readers at the head of the log receive it (`event_log::read_cached`):
/// rendered once, when it was appended, and then shared by every reader, never copied per reader.
/// With 200 SSE streams on a tenant, copying each event out for each stream and formatting each
/// stream's frames cost more CPU than the webhooks (docs/performance.md, step 8).
///
/// `frame` is the event's Server-Sent Events frame as `GET /v1/stream` writes it
/// ("id: <seq>\nevent: <type>\ndata: <json>\n\n"); `json()` is the event's JSON inside it.
struct shared_event {
  std::uint64_t seq = 0;
  std::string type;
  std::string conversation;
  std::string subject;  ///< "" when the event has none; readers check consent by it
  std::string frame;
  std::size_t json_at = 0;
  std::size_t json_size = 0;

  std::string_view json() const { return std::string_view(frame).substr(json_at, json_size); }
};
using shared_event_ptr = std::shared_ptr<const shared_event>;

/// `e` rendered as a shared event (its frame built around its JSON).
shared_event_ptr share(const stored_event& e);

struct shared_read {
  std::vector<shared_event_ptr> events;
  std::uint64_t next = 0;  ///< as `read_result::next`
};

/// A request header kept with a quarantined body. Names are lower-case.
struct kept_header {
  std::string name;
  std::string value;
};

/// A body whose signature was valid but which could not be parsed: kept so nothing is lost, and
/// so it can be parsed again once the adapter is fixed (re-ingest, docs/operations.md).
struct quarantined_body {
  std::uint64_t id = 0;
  std::string tenant;
  std::string channel;
  std::string reason;
  timestamp received_at;
  std::string body;
  /// The headers the channel's adapter reads besides the body (Shopify's topic and webhook id),
  /// never one that carries a channel secret. Sealed like the body.
  std::vector<kept_header> headers = {};
};

/// A quarantined body as listed: everything but the body and its headers.
struct quarantine_entry {
  std::uint64_t id = 0;
  std::string channel;
  std::string reason;
  timestamp received_at;
  std::uint64_t bytes = 0;  ///< the body's size
};

/// What a purge removed.
struct quarantine_purge {
  std::uint64_t bodies = 0;
  std::uint64_t bytes = 0;  ///< the bodies' sizes, summed
};

/// Bytes every quarantined body counts against its channel's quota beyond its content: the row,
/// its index entries and its seals. It also bounds the number of rows a quota admits (tiny bodies
/// cannot pile up by the million).
inline constexpr std::uint64_t k_quarantine_row_bytes = 256;

/// What a body counts against its channel's quota (`limits.quarantine_bytes_per_channel`): its
/// body, its kept headers, its reason and `k_quarantine_row_bytes`.
inline std::uint64_t quarantine_charge(const quarantined_body& b) {
  std::uint64_t n = b.body.size() + b.reason.size() + k_quarantine_row_bytes;
  for (const auto& h : b.headers) {
    n += h.name.size() + h.value.size();
  }
  return n;
}

/// No quota: `quarantine(body)` keeps whatever it is given (tools and tests).
inline constexpr std::uint64_t k_no_quarantine_quota = UINT64_MAX;

class event_log {
 public:
  virtual ~event_log() = default;

  /// Appends a batch of requests in one commit (group commit). `outcomes[i][j]` answers
  /// `requests[i].events[j]`. Assigns each tenant's next `seq` in order, renders each event's
  /// JSON, and dedupes by (tenant, channel name, dedupe_key), also within the batch. On failure
  /// nothing of the batch is stored.
  [[nodiscard]] virtual status append(std::vector<append_request>& requests,
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
  [[nodiscard]] virtual result<read_result> read(const std::string& tenant, std::uint64_t after,
                                                 std::size_t limit,
                                                 const std::vector<std::string>& types,
                                                 std::uint64_t upto = k_unbounded) = 0;

  /// `read` answered from memory only, never from disk: true with `out` filled as `read` would
  /// fill it (the same events, shared instead of copied), or false (and `out` untouched) when
  /// this log cannot answer without reading its store. Live readers try it on their own thread
  /// and leave the rest to a catch-up reader (actors/history_reader.hpp). A log without such a
  /// memory answers false (the default). Thread-safe.
  [[nodiscard]] virtual bool read_cached(const std::string& tenant, std::uint64_t after,
                                         std::size_t limit, const std::vector<std::string>& types,
                                         std::uint64_t upto, shared_read& out) {
    (void)tenant, (void)after, (void)limit, (void)types, (void)upto, (void)out;
    return false;
  }

  /// Drops what this log keeps of the tenant's events in memory (`read_cached`), so that the
  /// next reads go to the store: another replica erased a subject (docs/scale-out.md). A log
  /// without such a memory does nothing (the default). Thread-safe.
  virtual void drop_cached(const std::string& tenant) { (void)tenant; }

  /// The tenant's highest stored seq (0 when empty).
  virtual std::uint64_t head(const std::string& tenant) = 0;

  /// Keeps an unparseable body and returns its quarantine id (ids increase, never reused), unless
  /// its channel's quarantine would then hold more than `quota_bytes` (`quarantine_charge` of
  /// every body kept for the channel): then `errc::quarantine_full` and nothing is written. The
  /// check and the insert are one step with respect to every other write of the log (its writes
  /// are serialized), so concurrent quarantines never overshoot the quota together.
  [[nodiscard]] virtual result<std::uint64_t> quarantine(quarantined_body body,
                                                         std::uint64_t quota_bytes) = 0;

  /// As above, without a quota.
  [[nodiscard]] result<std::uint64_t> quarantine(quarantined_body body) {
    return quarantine(std::move(body), k_no_quarantine_quota);
  }

  /// Quarantined bodies of a tenant with their bodies and headers, oldest first (tests and tools;
  /// the API lists with `quarantine_list`).
  virtual std::vector<quarantined_body> quarantined(const std::string& tenant) = 0;

  /// The tenant's quarantined bodies with id > `after_id`, of `channel` ("" = every channel),
  /// oldest first, at most `limit`: metadata only.
  [[nodiscard]] virtual result<std::vector<quarantine_entry>> quarantine_list(
      const std::string& tenant, const std::string& channel, std::uint64_t after_id,
      std::size_t limit) = 0;

  /// One quarantined body of the tenant, with its headers; `errc::not_found` when the tenant has
  /// none with this id.
  [[nodiscard]] virtual result<quarantined_body> quarantined_one(const std::string& tenant,
                                                                 std::uint64_t id) = 0;

  /// Deletes one quarantined body of the tenant and answers what it was; `errc::not_found` when
  /// the tenant has none with this id (never was, purged, re-ingested).
  [[nodiscard]] virtual result<quarantine_entry> drop_quarantined(const std::string& tenant,
                                                                  std::uint64_t id) = 0;

  /// Deletes every quarantined body of one channel of the tenant.
  [[nodiscard]] virtual result<quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                                                    const std::string& channel) = 0;

  /// What the channel's quarantine holds against its quota (`quarantine_charge`, summed).
  [[nodiscard]] virtual result<std::uint64_t> quarantine_used(const std::string& tenant,
                                                              const std::string& channel) = 0;
};

}  // namespace sb::store

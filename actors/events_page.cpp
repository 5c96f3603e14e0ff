#include "actors/events_page.hpp"

#include <string_view>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "core/json.hpp"

namespace sb::actors {

namespace {
// Reads per page when consent withholds events: bounds one request's work (each read examines
// a bounded number of events); the client continues from `next`.
constexpr int k_max_reads = 8;
}  // namespace

namespace {

/// The page, reading with `log.read`, or with `log.read_cached` alone when `cached_only` (then
/// none as soon as one read would need the store).
std::optional<http_response> page_of(store::event_log& log, const events_query& q,
                                     const privacy::consent_registry* consents,
                                     privacy::purpose_set purposes, std::uint64_t upto,
                                     bool cached_only) {
  // The page's events as views into what the reads returned, which `held` keeps alive (a
  // vector's elements stay where they are when the vector is moved).
  std::vector<std::string_view> page;
  std::vector<std::vector<store::stored_event>> held;
  std::vector<std::vector<store::shared_event_ptr>> held_shared;
  std::uint64_t next = q.after;
  for (int reads = 0; reads < k_max_reads && page.size() < q.limit; ++reads) {
    std::uint64_t read_next = next;
    if (cached_only) {
      store::shared_read read;
      if (!log.read_cached(q.tenant, next, q.limit - page.size(), q.types, upto, read)) {
        return std::nullopt;
      }
      read_next = read.next;
      privacy::filter(consents, q.tenant, purposes, read.events);
      for (const auto& e : read.events) {
        page.push_back(e->json());
      }
      held_shared.push_back(std::move(read.events));
    } else {
      auto r = log.read(q.tenant, next, q.limit - page.size(), q.types, upto);
      if (!r) {
        if (reads == 0) {
          return error_response(errc::unavailable, "could not read the event log; retry", 1);
        }
        break;  // answer what was read; the client continues from `next`
      }
      read_next = r->next;
      privacy::filter(consents, q.tenant, purposes, r->events);
      for (const auto& e : r->events) {
        page.push_back(e.json);
      }
      held.push_back(std::move(r->events));
    }
    const bool progressed = read_next > next;
    next = read_next;
    if (!progressed || next >= upto) {
      break;
    }
  }
  http_response resp;
  resp.headers.emplace_back(event_schema_header, event_schema_id);  // docs/events.md
  std::size_t size = 32;
  for (const auto& json : page) {
    size += json.size() + 1;
  }
  resp.body.reserve(size);
  json::writer w(resp.body);
  w.begin_object().key("events").begin_array();
  for (const auto& json : page) {
    w.raw(json);
  }
  w.end_array().key("next").value(next).end_object();
  return resp;
}

}  // namespace

http_response events_page(store::event_log& log, const events_query& q,
                          const privacy::consent_registry* consents, privacy::purpose_set purposes,
                          std::uint64_t upto) {
  return std::move(*page_of(log, q, consents, purposes, upto, false));
}

std::optional<http_response> events_page_cached(store::event_log& log, const events_query& q,
                                                const privacy::consent_registry* consents,
                                                privacy::purpose_set purposes,
                                                std::uint64_t upto) {
  return page_of(log, q, consents, purposes, upto, true);
}

}  // namespace sb::actors

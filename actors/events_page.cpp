#include "actors/events_page.hpp"

#include <utility>
#include <vector>

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
  std::vector<store::stored_event> page;
  std::uint64_t next = q.after;
  for (int reads = 0; reads < k_max_reads && page.size() < q.limit; ++reads) {
    store::read_result read;
    if (cached_only) {
      if (!log.read_cached(q.tenant, next, q.limit - page.size(), q.types, upto, read)) {
        return std::nullopt;
      }
    } else {
      auto r = log.read(q.tenant, next, q.limit - page.size(), q.types, upto);
      if (!r) {
        if (reads == 0) {
          return error_response(errc::unavailable, "could not read the event log; retry", 1);
        }
        break;  // answer what was read; the client continues from `next`
      }
      read = std::move(r.value());
    }
    const bool progressed = read.next > next;
    next = read.next;
    privacy::filter(consents, q.tenant, purposes, read.events);
    for (auto& e : read.events) {
      page.push_back(std::move(e));
    }
    if (!progressed || next >= upto) {
      break;
    }
  }
  http_response resp;
  std::size_t size = 32;
  for (const auto& e : page) {
    size += e.json.size() + 1;
  }
  resp.body.reserve(size);
  json::writer w(resp.body);
  w.begin_object().key("events").begin_array();
  for (const auto& e : page) {
    w.raw(e.json);
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

#include "actors/events_page.hpp"

#include "core/json.hpp"

namespace sb::actors {

namespace {
// Reads per page when consent withholds events: bounds one request's work (each read examines
// a bounded number of events); the client continues from `next`.
constexpr int k_max_reads = 8;
}  // namespace

http_response events_page(store::event_log& log, const events_query& q,
                          const privacy::consent_registry* consents, privacy::purpose_set purposes,
                          std::uint64_t upto) {
  std::vector<store::stored_event> page;
  std::uint64_t next = q.after;
  for (int reads = 0; reads < k_max_reads && page.size() < q.limit; ++reads) {
    auto r = log.read(q.tenant, next, q.limit - page.size(), q.types, upto);
    if (!r) {
      if (reads == 0) {
        return error_response(errc::unavailable, "could not read the event log; retry", 1);
      }
      break;  // answer what was read; the client continues from `next`
    }
    const bool progressed = r->next > next;
    next = r->next;
    privacy::filter(consents, q.tenant, purposes, r->events);
    for (auto& e : r->events) {
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

}  // namespace sb::actors

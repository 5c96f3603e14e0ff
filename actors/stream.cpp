#include <algorithm>

#include "actors/actors.hpp"
#include "actors/history_reader.hpp"
#include "core/log.hpp"

namespace sb::actors {

namespace {
// Events per SSE write; with one write in flight per stream this bounds a slow client's memory.
constexpr std::size_t k_stream_batch = 256;
// A catch-up read that takes longer ends the stream (the client reconnects with Last-Event-ID).
constexpr std::chrono::seconds k_history_timeout{30};
}  // namespace

struct stream_state {
  std::shared_ptr<store::event_log> log;
  /// Reads what the log's live tail does not hold.
  history_reader_actor history;
  std::shared_ptr<const privacy::consent_registry> consents;
  privacy::purpose_set purposes = 0;
  stream_request req;
  std::uint64_t cursor = 0;
  /// The tenant's announced head: the stream reads up to it, never further (a stored event past
  /// it may carry a consent change the tenant has not applied yet).
  std::uint64_t announced = 0;
  bool in_flight = false;
  static inline const char* name = "stream";
};

namespace {

using stream_ptr = stream_actor::stateful_pointer<stream_state>;

/// Sends what a read returned (after the consent filter) and moves the cursor.
void deliver(stream_ptr self, store::shared_read& r) {
  auto& st = self->state;
  bool progressed = r.next > st.cursor;
  st.cursor = r.next;
  // Consent is judged now, against the subject's current state: an event the subscriber may not
  // see is skipped (the cursor has moved past it), never waited on.
  privacy::filter(st.consents.get(), st.req.tenant, st.purposes, r.events);
  if (r.events.empty()) {
    // A type or consent filter may skip a long run: keep going until the head.
    if (progressed && st.cursor < st.announced) {
      self->send(self, pump_atom::value);
    }
    return;
  }
  st.in_flight = true;
  auto me = caf::actor_cast<stream_actor>(self);
  bool open = st.req.sink->write(std::move(r.events),
                                 [me] { caf::anon_send(me, written_atom::value); });
  if (!open) {
    self->quit();
  }
}

void pump(stream_ptr self) {
  auto& st = self->state;
  if (st.in_flight) {
    return;
  }
  if (st.cursor >= st.announced) {
    return;
  }
  store::shared_read r;
  if (st.log->read_cached(st.req.tenant, st.cursor, k_stream_batch, st.req.types, st.announced,
                          r)) {
    deliver(self, r);
    return;
  }
  // History: on the catch-up reader's thread, never on this one (a scheduler thread).
  st.in_flight = true;
  history_query q{st.req.tenant, st.cursor, k_stream_batch, st.req.types, st.announced};
  self->request(st.history, k_history_timeout, read_atom::value, std::move(q))
      .then(
          [self](history_page& p) {
            self->state.in_flight = false;
            if (p.failed) {
              log::warn("stream", "read failed for tenant ", self->state.req.tenant, ": ",
                        p.error);
              self->quit();
              return;
            }
            // History is rendered for this stream alone: no other reader is at its position.
            store::shared_read r{{}, p.page.next};
            r.events.reserve(p.page.events.size());
            for (const auto& e : p.page.events) {
              r.events.push_back(store::share(e));
            }
            deliver(self, r);
          },
          [self](caf::error& err) {
            log::warn("stream", "catch-up read for tenant ", self->state.req.tenant,
                      " did not finish: ", caf::to_string(err));
            self->quit();
          });
}

stream_actor::behavior_type stream_behavior(
    stream_ptr self, std::shared_ptr<store::event_log> log, stream_request req, tenant_actor tenant,
    std::shared_ptr<const privacy::consent_registry> consents, privacy::purpose_set purposes,
    history_reader_actor history) {
  auto& st = self->state;
  st.log = std::move(log);
  st.history = std::move(history);
  st.consents = std::move(consents);
  st.purposes = purposes;
  st.cursor = req.after;
  st.req = std::move(req);
  // Whatever ends the stream (client gone, shutdown, tenant down) closes the connection.
  self->attach_functor([sink = st.req.sink](const caf::error&) { sink->close(); });
  self->monitor(tenant);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  // The tenant answers with the announced head; reading starts then.
  self->send(tenant, register_atom::value, caf::actor_cast<stream_actor>(self));
  return {
      [=](pump_atom) { pump(self); },
      [=](head_atom, std::uint64_t head) {
        auto& st = self->state;
        st.announced = std::max(st.announced, head);
        pump(self);
      },
      [=](written_atom) {
        self->state.in_flight = false;
        pump(self);
      },
  };
}

}  // namespace

stream_actor spawn_stream_actor(caf::actor_system& sys, std::shared_ptr<store::event_log> log,
                                stream_request req, tenant_actor tenant,
                                std::shared_ptr<const privacy::consent_registry> consents,
                                privacy::purpose_set purposes, history_reader_actor history) {
  return sys.spawn(stream_behavior, std::move(log), std::move(req), std::move(tenant),
                   std::move(consents), purposes, std::move(history));
}

}  // namespace sb::actors

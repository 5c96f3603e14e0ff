#include "actors/actors.hpp"
#include "core/ids.hpp"

namespace sb::actors {

namespace {

template <class Self>
void emit(Self* self, const store_writer_actor& store, const tenant_actor& tenant,
          std::vector<event> events, std::chrono::milliseconds timeout,
          std::function<void(result<std::vector<event>>)> done) {
  if (events.empty()) {
    done(std::vector<event>{});
    return;
  }
  if (!store) {
    done(error{errc::unavailable, "the event store is restarting; retry"});
    return;
  }
  const timestamp now = sb::now();
  for (auto& e : events) {
    if (e.id.empty()) {
      e.id = ids::event_id();
    }
    if (e.received_at.unix_ms == 0) {
      e.received_at = now;
    }
    if (e.occurred_at.unix_ms == 0) {
      e.occurred_at = e.received_at;
    }
  }
  append_job job;
  job.req.tenant = events.front().tenant;
  job.req.events = std::move(events);
  self->request(store, timeout, append_atom::value, std::move(job))
      .then(
          [self, tenant, done](append_reply& r) {
            if (r.shed) {
              done(error{errc::overloaded, "the event store is overloaded; retry"});
              return;
            }
            committed_msg fresh;
            for (std::size_t i = 0; i < r.events.size(); ++i) {
              if (!r.outcomes[i].duplicate) {
                fresh.events.push_back(std::move(r.events[i]));
              }
            }
            std::vector<event> stored = fresh.events;
            if (!fresh.events.empty() && tenant) {
              self->send(tenant, commit_atom::value, std::move(fresh));
            }
            done(std::move(stored));
          },
          [done](caf::error&) {
            done(error{errc::unavailable, "the event store did not confirm the write; retry"});
          });
}

}  // namespace

void emit_events(privacy_worker_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done) {
  emit(self, store, tenant, std::move(events), timeout, std::move(done));
}

void emit_events(sender_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done) {
  emit(self, store, tenant, std::move(events), timeout, std::move(done));
}

void emit_events(tenant_actor::pointer self, const store_writer_actor& store,
                 const tenant_actor& tenant, std::vector<event> events,
                 std::chrono::milliseconds timeout,
                 std::function<void(result<std::vector<event>>)> done) {
  emit(self, store, tenant, std::move(events), timeout, std::move(done));
}

}  // namespace sb::actors

#include <variant>

#include "actors/actors.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace sb::actors {

struct channel_state {
  std::shared_ptr<channel_logic> logic;
  caf::actor store;
  caf::actor tenant;
  actor_settings settings;
  // Resolved on the first webhook (labels: the configured tenant id and channel name).
  metrics::counter* stored = nullptr;
  metrics::counter* duplicates = nullptr;
  metrics::gauge* depth = nullptr;
  static inline const char* name = "channel";
};

namespace {

void store_and_answer(caf::stateful_actor<channel_state>* self, store_events s,
                      responder_ptr reply) {
  auto& st = self->state;
  append_job job;
  job.req.tenant = s.events.front().tenant;
  job.req.events = std::move(s.events);
  self->request(st.store, st.settings.store_timeout, append_atom::value, std::move(job))
      .then(
          [self, reply](append_reply& r) {
            if (r.shed) {
              reply->answer(
                  error_response(errc::overloaded, "the event store is overloaded; retry", 1));
              return;
            }
            committed_msg fresh;
            std::size_t duplicates = 0;
            for (std::size_t i = 0; i < r.events.size(); ++i) {
              if (r.outcomes[i].duplicate) {
                ++duplicates;
              } else {
                fresh.events.push_back(std::move(r.events[i]));
              }
            }
            auto& st = self->state;
            st.stored->inc(fresh.events.size());
            st.duplicates->inc(duplicates);
            // Announce before acknowledging: the tenant then has the commit in its mailbox
            // before any request the platform's 200 can cause (a reply that needs the window
            // the message opened, a send after an opt-out keyword).
            const auto stored = fresh.events.size();
            if (!fresh.events.empty()) {
              self->send(self->state.tenant, commit_atom::value, std::move(fresh));
            }
            // Every event of the request is durable (or a recognised duplicate): acknowledge.
            reply->answer(accepted_response(stored, duplicates));
          },
          [reply](caf::error& err) {
            reply->answer(error_response(errc::unavailable,
                                         "the event store did not confirm "
                                         "the write; retry",
                                         1));
          });
}

void quarantine_and_answer(caf::stateful_actor<channel_state>* self, quarantine_body q,
                           responder_ptr reply) {
  auto err = std::move(q.err);
  quarantine_job job{std::move(q.body)};
  self->request(self->state.store, self->state.settings.store_timeout, quarant_atom::value,
                std::move(job))
      .then(
          [reply, err](std::uint64_t id) {
            reply->answer(error_response(
                err.code,
                err.message + " (the body is kept in quarantine #" + std::to_string(id) + ")"));
          },
          [reply](caf::error&) {
            reply->answer(error_response(errc::unavailable, "could not quarantine; retry", 1));
          });
}

caf::behavior channel_actor(caf::stateful_actor<channel_state>* self,
                            std::shared_ptr<channel_logic> logic, caf::actor store,
                            caf::actor tenant, actor_settings settings) {
  self->state.logic = std::move(logic);
  self->state.store = std::move(store);
  self->state.tenant = std::move(tenant);
  self->state.settings = settings;
  return {
      [=](store_atom, caf::actor store) { self->state.store = std::move(store); },
      [=](webhook_atom, webhook_msg& m) {
        auto reply = m.w.reply;
        auto& st = self->state;
        if (st.depth == nullptr) {  // m.w.tenant was matched against the config by the edge
          const std::string& ch = st.logic->name();
          st.depth = &metrics::catalog::mailbox_depth().with({m.w.tenant, ch});
          st.stored = &metrics::catalog::events_stored().with({m.w.tenant, ch});
          st.duplicates = &metrics::catalog::events_duplicate().with({m.w.tenant, ch});
        }
        const auto depth = self->mailbox().size();
        st.depth->set(static_cast<std::int64_t>(depth));
        if (depth > st.settings.mailbox_high_water) {
          reply->answer(error_response(errc::overloaded, "channel is overloaded; retry", 1));
          return;
        }
        auto outcome = self->state.logic->ingest(m.w.method, m.w.query, m.w.headers, m.w.body);
        if (auto* now = std::get_if<respond_now>(&outcome)) {
          reply->answer(std::move(now->response));
        } else if (auto* events = std::get_if<store_events>(&outcome)) {
          store_and_answer(self, std::move(*events), std::move(reply));
        } else {
          quarantine_and_answer(self, std::move(std::get<quarantine_body>(outcome)),
                                std::move(reply));
        }
      },
  };
}

}  // namespace

caf::actor spawn_channel_actor(caf::event_based_actor* parent, std::shared_ptr<channel_logic> logic,
                               caf::actor store, caf::actor tenant, actor_settings settings) {
  auto child =
      parent->spawn(channel_actor, std::move(logic), std::move(store), std::move(tenant), settings);
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

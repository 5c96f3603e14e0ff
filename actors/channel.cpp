#include <variant>

#include "actors/channel.hpp"

#include "actors/actors.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "privacy/requests.hpp"

namespace sb::actors {

struct channel_state {
  std::shared_ptr<channel_logic> logic;
  store_writer_actor store;
  tenant_actor tenant;
  actor_settings settings;
  // Resolved on the first webhook (labels: the configured tenant id and channel name).
  metrics::counter* stored = nullptr;
  metrics::counter* duplicates = nullptr;
  metrics::gauge* depth = nullptr;
  static inline const char* name = "channel";
};

using channel_ptr = channel_actor::stateful_pointer<channel_state>;

namespace {

void store_and_answer(channel_ptr self, store_events s, responder_ptr reply) {
  auto& st = self->state;
  append_job job;
  job.req.tenant = s.events.front().tenant;
  job.req.events = std::move(s.events);
  job.timeline = reply;
  reply->mark(responder::moment::sent);
  self->request(st.store, st.settings.store_timeout, append_atom::value, std::move(job))
      .then(
          [self, reply](append_reply& r) {
            reply->mark(responder::moment::replied);
            if (r.shed) {
              reply->answer(
                  error_response(errc::overloaded, "the event store is overloaded; retry", 1));
              return;
            }
            auto& st = self->state;
            const auto& tenant_privacy = st.logic->privacy();
            committed_msg fresh;
            // Keyword messages (STOP, START) the store already held: the platform's retry.
            committed_msg repeated;
            bool keywords = false;
            std::size_t duplicates = 0;
            for (std::size_t i = 0; i < r.events.size(); ++i) {
              const bool keyword = privacy::keyword_change(r.events[i], tenant_privacy).has_value();
              if (r.outcomes[i].duplicate) {
                ++duplicates;
                if (keyword) {
                  r.events[i].seq = r.outcomes[i].seq;
                  repeated.events.push_back(std::move(r.events[i]));
                }
              } else {
                keywords = keywords || keyword;
                fresh.events.push_back(std::move(r.events[i]));
              }
            }
            st.stored->inc(fresh.events.size());
            st.duplicates->inc(duplicates);
            const auto stored = fresh.events.size();
            if (keywords || !repeated.events.empty()) {
              // An opt-out or opt-in is acknowledged only once the consent change is stored: a
              // crash before that must leave the platform retrying (actors/consent_api.hpp).
              // The tenant announces the events as below before it answers.
              self->request(st.tenant, 2 * st.settings.store_timeout, commit_atom::value,
                            save_atom::value, std::move(fresh), std::move(repeated))
                  .then(
                      [reply, stored, duplicates](bool durable) {
                        reply->answer(durable ? accepted_response(stored, duplicates)
                                              : error_response(errc::unavailable,
                                                               "the message is stored but its "
                                                               "consent change is not; retry",
                                                               1));
                      },
                      [reply](caf::error&) {
                        reply->answer(error_response(errc::unavailable,
                                                     "the consent change of the message was "
                                                     "not confirmed; retry",
                                                     1));
                      });
              return;
            }
            // Announce before acknowledging: the tenant then has the commit in its mailbox
            // before any request the platform's 200 can cause (a reply that needs the window
            // the message opened).
            if (!fresh.events.empty()) {
              self->send(st.tenant, commit_atom::value, std::move(fresh));
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

void quarantine_and_answer(channel_ptr self, quarantine_body q, responder_ptr reply) {
  auto err = std::move(q.err);
  const bool answer_ok = q.answer_ok;
  quarantine_job job{std::move(q.body)};
  self->request(self->state.store, self->state.settings.store_timeout, quarant_atom::value,
                std::move(job))
      .then(
          [reply, err, answer_ok](std::uint64_t id) {
            if (answer_ok) {
              // Durable in quarantine: a 400 would count towards the platform disabling the
              // webhook, and it never retries.
              http_response r;
              json::writer w(r.body);
              w.begin_object().key("status").value("quarantined");
              w.key("quarantine").value(id).key("message").value(err.message).end_object();
              reply->answer(std::move(r));
              return;
            }
            reply->answer(error_response(
                err.code,
                err.message + " (the body is kept in quarantine #" + std::to_string(id) + ")"));
          },
          [reply](caf::error& e) {
            if (is_quarantine_full(e)) {
              // Nothing is lost: the platform retries after Retry-After, by when an operator may
              // have purged or re-ingested (docs/operations.md, "Quarantine").
              reply->answer(error_response(errc::quarantine_full,
                                           "the body does not parse and this channel's "
                                           "quarantine is full; retry later",
                                           k_quarantine_full_retry_after_s));
              return;
            }
            reply->answer(error_response(errc::unavailable, "could not quarantine; retry", 1));
          });
}

/// A quarantined body parsed again (the quarantine API's re-ingest): stored as a webhook's
/// events, or refused with the parser's message (the stored body is left as it is).
void reingest(channel_ptr self, reingest_msg& m) {
  auto& st = self->state;
  if (st.stored == nullptr) {  // no webhook yet since this actor started
    st.stored = &metrics::catalog::events_stored().with(
        {{"tenant", st.logic->tenant()}, {"channel", st.logic->name()}});
    st.duplicates = &metrics::catalog::events_duplicate().with(
        {{"tenant", st.logic->tenant()}, {"channel", st.logic->name()}});
  }
  auto outcome = self->state.logic->reingest(m.headers, m.body);
  if (auto* now = std::get_if<respond_now>(&outcome)) {
    m.reply->answer(std::move(now->response));
  } else if (auto* events = std::get_if<store_events>(&outcome)) {
    store_and_answer(self, std::move(*events), std::move(m.reply));
  } else {
    const auto& err = std::get<quarantine_body>(outcome).err;
    m.reply->answer(
        error_response(errc::malformed_body, err.message + " (the body stays in quarantine)"));
  }
}

channel_actor::behavior_type channel_behavior(channel_ptr self,
                                              std::shared_ptr<channel_logic> logic,
                                              store_writer_actor store, tenant_actor tenant,
                                              actor_settings settings) {
  self->state.logic = std::move(logic);
  self->state.store = std::move(store);
  self->state.tenant = std::move(tenant);
  self->state.settings = settings;
  return {
      [=](store_atom, store_writer_actor store) { self->state.store = std::move(store); },
      // In mailbox order: the webhooks queued before this one were handled with the old logic.
      [=](reconfig_atom, channel_logic_msg& m) {
        if (m.logic) {
          self->state.logic = std::move(m.logic);
        }
      },
      [=](reingest_atom, reingest_msg& m) {
        if (self->mailbox().size() > self->state.settings.mailbox_high_water) {
          m.reply->answer(error_response(errc::overloaded, "channel is overloaded; retry", 1));
          return;
        }
        reingest(self, m);
      },
      [=](webhook_atom, webhook_msg& m) {
        auto reply = m.w.reply;
        reply->mark(responder::moment::at_channel);
        auto& st = self->state;
        if (st.depth == nullptr) {  // m.w.tenant was matched against the config by the edge
          const std::string& ch = st.logic->name();
          st.depth =
              &metrics::catalog::mailbox_depth().with({{"tenant", m.w.tenant}, {"channel", ch}});
          st.stored =
              &metrics::catalog::events_stored().with({{"tenant", m.w.tenant}, {"channel", ch}});
          st.duplicates =
              &metrics::catalog::events_duplicate().with({{"tenant", m.w.tenant}, {"channel", ch}});
        }
        const auto depth = self->mailbox().size();
        st.depth->set(static_cast<std::int64_t>(depth));
        if (depth > st.settings.mailbox_high_water) {
          reply->answer(error_response(errc::overloaded, "channel is overloaded; retry", 1));
          return;
        }
        auto outcome =
            self->state.logic->ingest(m.w.method, m.w.query, m.w.headers, m.w.body, m.w.verified);
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

channel_actor spawn_channel_actor(caf::local_actor* parent, std::shared_ptr<channel_logic> logic,
                                  store_writer_actor store, tenant_actor tenant,
                                  actor_settings settings) {
  auto child = parent->spawn(channel_behavior, std::move(logic), std::move(store),
                             std::move(tenant), settings);
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

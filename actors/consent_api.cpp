#include "actors/consent_api.hpp"

#include <optional>
#include <utility>

#include "actors/actors.hpp"
#include "actors/privacy_jobs.hpp"
#include "core/log.hpp"
#include "privacy/requests.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

namespace {

using privacy_jobs::caller_of;
using privacy_jobs::job_ctx;
using privacy_jobs::make_ctx;
using privacy_jobs::spawn_job;
using privacy_jobs::subject_param;

/// Writes an audit entry; false (logged) when the store refused it.
bool write_audit(store::privacy_store& ps, const std::string& tenant, std::string actor,
                 std::string action, const std::string& subject, std::string outcome,
                 std::string detail) {
  return privacy_jobs::write_audit(ps, "consent", tenant, std::move(actor), std::move(action),
                                   subject, std::move(outcome), std::move(detail));
}

/// Both API calls: validate, then change, persist, audit, emit and answer in a one-shot job.
void change_by_api(const tenant_api_env& env, api_call& c, const char* action,
                   result<privacy::consent_change> (*parse)(std::string_view)) {
  auto subject = subject_param(c);
  if (!subject) {
    return;
  }
  auto change = parse(c.body);
  if (!change) {
    c.reply->answer(error_response(change.err().code, change.err().message));
    return;
  }
  auto ctx = make_ctx(env);
  if (!ctx.ps || !ctx.consents) {
    c.reply->answer(
        error_response(errc::internal, "this gateway's event store keeps no consent records"));
    return;
  }
  spawn_job(env, c.reply,
            [ctx, subject = std::move(*subject), change = std::move(change).value(), action,
             actor = caller_of(c), reply = c.reply](privacy_jobs::worker_ptr self) {
              const auto detail = privacy::audit_detail(change);
              // Memory first (every read from now on judges with it), then the store.
              auto state = ctx.consents->update(ctx.tenant, subject, change);
              if (!state) {
                write_audit(*ctx.ps, ctx.tenant, actor, action, subject, "error",
                            detail + " store: " + state.err().message);
                reply->answer(
                    error_response(errc::unavailable, "the consent could not be stored; retry", 1));
                return;
              }
              if (!write_audit(*ctx.ps, ctx.tenant, actor, action, subject, "ok", detail)) {
                reply->answer(error_response(
                    errc::unavailable, "the change is stored but could not be audited; retry", 1));
                return;
              }
              std::vector<event> events{
                  consent_changed_event(ctx.tenant, subject, change, "api", nullptr)};
              emit_events(
                  self, ctx.store, ctx.tenant_actor, std::move(events), ctx.timeout,
                  [ctx, subject, reply](result<std::vector<event>> stored) {
                    if (!stored) {
                      reply->answer(error_response(
                          errc::unavailable,
                          "the change is stored but consent.changed could not be; retry", 1));
                      return;
                    }
                    auto now_state = ctx.consents->find(ctx.tenant, subject);
                    http_response r;
                    r.body =
                        privacy::to_json(subject, now_state.value_or(privacy::consent_state{}));
                    reply->answer(std::move(r));
                  });
            });
}

}  // namespace

event consent_changed_event(const std::string& tenant, const std::string& subject,
                            const privacy::consent_change& change, const char* source,
                            const event* trigger) {
  event e;
  e.tenant = tenant;
  e.type = event_type::consent_changed;
  e.subject = subject;
  e.consent = privacy::to_info(change, source);
  if (trigger != nullptr) {
    e.channel = trigger->channel;
    e.conversation = trigger->conversation;
    e.peer = trigger->peer;
    // One change per message: a second emission for the same message, also for the platform's
    // retry of it (same dedupe key, new event id), is a duplicate.
    e.dedupe_key = "consent:" + (trigger->dedupe_key.empty() ? trigger->id : trigger->dedupe_key);
  }
  return e;
}

void put_consent(const tenant_api_env& env, api_call& c) {
  change_by_api(env, c, "consent", &privacy::parse_consent_body);
}

void restrict_subject(const tenant_api_env& env, api_call& c) {
  change_by_api(env, c, "restrict", &privacy::parse_restrict_body);
}

namespace {

/// Whether `s` already holds everything `c` sets.
bool reflects(const privacy::consent_state& s, const privacy::consent_change& c) {
  if (c.purpose_of && c.granted && s.granted[static_cast<unsigned>(*c.purpose_of)] != c.granted) {
    return false;
  }
  return (!c.opted_out || s.opted_out == *c.opted_out) &&
         (!c.restricted || s.restricted == *c.restricted);
}

/// One keyword message's share of the job.
struct keyword_job {
  std::string subject;
  std::string actor;
  const char* action;  ///< opt_out/opt_in; null: only written again (a retry, already applied)
  privacy::consent_change change;
};

/// The one-shot saver of `on_committed_keywords`: on `save_atom` it queues the writes on the
/// privacy workers (the consent records and audit entries are fsync'd writes: no scheduler thread
/// waits for them, and no thread is started per keyword message), and answers once the worker
/// reports back (`save_atom`, durable). A full queue answers false at once: the message is stored
/// but not acknowledged, and the platform's retry (a duplicate) saves the change again.
keyword_job_actor::behavior_type keyword_saver(keyword_job_actor::pointer self, job_ctx ctx,
                                               std::shared_ptr<privacy_jobs::job_pool> pool,
                                               std::vector<keyword_job> jobs,
                                               std::vector<event> changed) {
  auto promise = std::make_shared<caf::typed_response_promise<bool>>();
  return {
      [=](save_atom) -> caf::result<bool> {
        auto me = caf::actor_cast<keyword_job_actor>(self);
        auto work = [ctx, jobs, changed, me](privacy_jobs::worker_ptr worker) {
          bool durable = true;
          for (const auto& j : jobs) {
            auto persisted = ctx.consents->persist(ctx.tenant, j.subject);
            if (!persisted) {
              // The change holds in memory; the message is stored but not acknowledged (503),
              // and the platform's retry writes it again (a duplicate keyword message).
              durable = false;
              log::error("consent", "tenant ", ctx.tenant, ": cannot store a keyword ",
                         j.action != nullptr ? j.action : "change", ": ", persisted.err().message);
            }
            if (j.action != nullptr && ctx.ps) {
              write_audit(*ctx.ps, ctx.tenant, j.actor, j.action, j.subject,
                          persisted ? "ok" : "error", privacy::audit_detail(j.change));
            }
          }
          emit_events(
              worker, ctx.store, ctx.tenant_actor, changed, ctx.timeout,
              [me, durable, tenant = ctx.tenant](result<std::vector<event>> stored) {
                if (!stored) {
                  log::error("consent", "tenant ", tenant,
                             ": cannot store consent.changed of a keyword: ", stored.err().message);
                }
                caf::anon_send(me, save_atom::value, durable && stored.ok());
              });
        };
        if (!pool || !pool->submit(privacy_jobs::job_pool::job(std::move(work)))) {
          log::warn("consent", "tenant ", ctx.tenant,
                    ": the privacy workers' queue is full; a keyword change waits for the "
                    "platform's retry");
          self->quit();
          return false;
        }
        *promise = self->make_response_promise<bool>();
        return *promise;
      },
      [=](save_atom, bool durable) {
        promise->deliver(durable);
        self->quit();
      },
  };
}

}  // namespace

keyword_job_actor on_committed_keywords(const tenant_api_env& env, const std::vector<event>& events,
                                        const std::vector<event>& duplicates) {
  if (!env.consents) {
    return {};
  }
  const std::string& tenant = env.tenant->id;
  std::vector<keyword_job> jobs;
  std::vector<event> changed;
  auto apply = [&](const event& e, const privacy::consent_change& change) {
    // At once, in memory: the caller announces the events only after this returns.
    env.consents->apply_now(tenant, e.subject, change);
    jobs.push_back({e.subject, "platform:" + e.channel.name,
                    *change.opted_out ? "opt_out" : "opt_in", change});
    changed.push_back(consent_changed_event(tenant, e.subject, change, "keyword", &e));
  };
  for (const auto& e : events) {
    if (auto change = privacy::keyword_change(e, env.tenant->privacy)) {
      apply(e, *change);
    }
  }
  for (const auto& e : duplicates) {
    auto change = privacy::keyword_change(e, env.tenant->privacy);
    if (!change) {
      continue;
    }
    auto state = env.consents->find(tenant, e.subject);
    if (state && reflects(*state, *change)) {
      // Applied before (the platform did not get our 200, or delivers twice): write it again
      // and store its consent.changed again, both idempotent, in case a failure or a crash
      // came between.
      jobs.push_back({e.subject, "platform:" + e.channel.name, nullptr, *change});
      changed.push_back(consent_changed_event(tenant, e.subject, *change, "keyword", &e));
    } else if (!state ||
               (e.occurred_at.unix_ms != 0 && state->updated_at.unix_ms < e.occurred_at.unix_ms)) {
      // Stored, but the change never reached the store: the gateway stopped in between (and
      // did not acknowledge). Nothing changed the person's choice since they wrote it.
      apply(e, *change);
    }
    // Else the person chose again after this message (a later keyword or API call): the retry
    // of the older message must not undo that.
  }
  if (jobs.empty()) {
    return {};
  }
  return env.self->spawn(keyword_saver, make_ctx(env), env.privacy_jobs, std::move(jobs),
                         std::move(changed));
}

}  // namespace sb::actors

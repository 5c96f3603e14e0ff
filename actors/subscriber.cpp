// The push subscriber: a thin shell around delivery::delivery_planner (what to send, retries,
// cursor) and delivery::http_client (the requests). Its handlers never wait on the network: the
// client's thread posts each result back as a `sent_atom` message and touches no actor state.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <unordered_set>

#include "actors/actors.hpp"
#include "core/event.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "delivery/standard_webhooks.hpp"
#include "store/delivery_store.hpp"

namespace sb::actors {

struct subscriber_state {
  subscriber_init init;
  std::string label;  // "<tenant>/<subscriber>", for logs
  std::shared_ptr<store::delivery_store> dstore;
  std::optional<delivery::signer> signer;
  std::optional<delivery::delivery_planner> planner;
  std::optional<delivery::cursor_saver> saver;
  std::mt19937_64 rng{std::random_device{}()};
  bool disabled = false;
  bool busy_timer = false;  // a pump after `busy_backoff` is scheduled
  subscriber_stats counters;
  // switchboard_push_*{tenant,subscriber}, resolved at start.
  metrics::counter* attempts = nullptr;
  metrics::counter* delivered = nullptr;
  metrics::counter* failures = nullptr;
  metrics::counter* dead_letters = nullptr;
  metrics::gauge* lag = nullptr;
  std::uint64_t head = 0;  // the log's head at the last pump (for the lag)
  // The tenant's announced head (`head_atom`): events are read up to it, never further.
  std::uint64_t announced = 0;
  // Erasure (actors/privacy_api.hpp): the subject of each window event that has one, and the
  // window events of erased subjects, which are finished without being sent.
  std::map<std::uint64_t, std::string> window_subjects;
  std::unordered_set<std::uint64_t> purged;
  // Consent (privacy/consent.hpp): the purposes this subscriber serves, and for each tracked job
  // whose event has a subject (ticket -> {subject, type}) what to judge it by again before each
  // attempt, as consent may change while an event waits in the window or for a retry.
  privacy::purpose_set purposes = 0;
  std::map<std::uint64_t, std::pair<std::string, std::string>> consent_meta;
  static inline const char* name = "subscriber";
};

namespace {

using sub_ptr = subscriber_actor::stateful_pointer<subscriber_state>;
using steady = std::chrono::steady_clock;

constexpr std::size_t k_max_list = 1000;

/// May this event reach this subscriber now (consent, restriction, erasure)?
bool allowed(sub_ptr self, std::uint64_t seq, const std::string& type, const std::string& subject) {
  auto& st = self->state;
  if (!st.init.consents) {
    return subject.empty() || privacy::forwards(nullptr, type, st.purposes);
  }
  return st.init.consents->forwards(st.init.tenant, seq, type, subject, st.purposes);
}

/// Remembers what a tracked job's consent depends on (only events with a subject can change).
void track_consent(sub_ptr self, std::uint64_t ticket, const store::stored_event& e) {
  if (!e.subject.empty() && !privacy::always_forwarded(e.type)) {
    self->state.consent_meta.emplace(ticket, std::make_pair(e.subject, e.type));
  }
}

/// True when the job's subject no longer allows the event to reach this subscriber: the caller
/// finishes it without sending (never retried, never dead-lettered).
bool withheld_now(sub_ptr self, std::uint64_t ticket) {
  auto& st = self->state;
  auto it = st.consent_meta.find(ticket);
  if (it == st.consent_meta.end()) {
    return false;
  }
  const delivery::job* j = st.planner->find(ticket);
  if (j == nullptr || allowed(self, j->seq, it->second.second, it->second.first)) {
    return false;
  }
  st.consent_meta.erase(it);
  return true;
}

/// The planner has no "withdraw": a job that must not be sent is finished as if delivered,
/// without an attempt (and without counting one).
void finish_unsent(sub_ptr self, std::uint64_t ticket) {
  self->state.planner->on_result(ticket, delivery::attempt_result{200, {}, {}}, 0.0);
}

double draw(sub_ptr self) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(self->state.rng);
}

void save_cursor(sub_ptr self) {
  auto& st = self->state;
  const auto c = st.planner->cursor();
  if (c == st.saver->last_saved()) {
    return;
  }
  if (auto s = st.dstore->save_cursor(st.init.tenant, st.init.sub.name, c); !s) {
    // The next progress or timer tries again; a lost save only means re-delivery after a restart.
    log::warn("subscriber", st.label, ": cannot save the cursor: ", s.err().message);
    return;
  }
  st.saver->saved(c, steady::now());
  st.lag->set(st.head > c ? static_cast<std::int64_t>(st.head - c) : 0);
}

void progress(sub_ptr self) {
  auto& st = self->state;
  // Events up to the cursor are done: their subjects need no more tracking.
  const auto done_through = st.planner->cursor();
  st.window_subjects.erase(st.window_subjects.begin(),
                           st.window_subjects.upper_bound(done_through));
  // Window tickets are seqs (redriven ones are far above any seq and leave in `on_result`).
  st.consent_meta.erase(st.consent_meta.begin(), st.consent_meta.upper_bound(done_through));
  auto plan = st.saver->on_progress(st.planner->cursor(), steady::now());
  if (plan.save_now) {
    save_cursor(self);
  } else if (plan.arm_timer) {
    self->delayed_send(self, *plan.arm_timer, save_atom::value);
  }
}

void arm_busy_timer(sub_ptr self) {
  auto& st = self->state;
  if (!st.busy_timer) {
    st.busy_timer = true;
    self->delayed_send(self, st.init.settings.busy_backoff, pump_atom::value);
  }
}

/// Starts every delivery the planner allows now.
void dispatch(sub_ptr self) {
  auto& st = self->state;
  if (st.disabled) {
    return;
  }
  auto tickets = st.planner->take_ready();
  auto me = caf::actor_cast<subscriber_actor>(self);
  bool finished_unsent = false;
  for (std::size_t i = 0; i < tickets.size(); ++i) {
    const std::uint64_t ticket = tickets[i];
    if (st.purged.erase(ticket) != 0) {
      // An erased subject's event (window tickets are seqs): done, never sent.
      st.planner->on_result(ticket, delivery::attempt_result{200, {}, {}}, 0.0);
      finished_unsent = true;
      continue;
    }
    if (withheld_now(self, ticket)) {
      // Consent changed (opt-out, objection, restriction) since the event was read: not sent.
      finish_unsent(self, ticket);
      finished_unsent = true;
      continue;
    }
    const delivery::job* j = st.planner->find(ticket);
    delivery::http_client::request req;
    req.method = "POST";
    req.url = st.init.sub.push->url;
    req.timeout = st.init.settings.timeout;
    req.headers.emplace_back("content-type", "application/json");
    req.headers.emplace_back(event_schema_header, event_schema_id);  // docs/events.md
    // Each attempt is signed afresh: receivers reject old timestamps (replay protection).
    const std::int64_t ts = now().unix_ms / 1000;
    for (auto& h : st.signer->headers(j->event_id, ts, j->json)) {
      req.headers.push_back(std::move(h));
    }
    req.body = j->json;
    auto submitted =
        st.init.http->submit(std::move(req), [me, ticket](delivery::http_client::response res) {
          // On the client's thread: build an owned message, post it, touch nothing else.
          delivery_done d;
          d.ticket = ticket;
          d.cancelled = res.fail == delivery::http_client::failure::cancelled;
          d.result.status = res.status;
          d.result.error = std::move(res.error);
          d.cause = res.cause;
          if (auto ra = res.header("retry-after")) {
            d.result.retry_after = delivery::parse_retry_after(*ra, now().unix_ms / 1000);
          }
          caf::anon_send(me, sent_atom::value, std::move(d));
        });
    if (!submitted) {
      // The shared client is full: put these back and try again shortly (not an attempt).
      for (std::size_t k = i; k < tickets.size(); ++k) {
        st.planner->requeue(tickets[k]);
      }
      arm_busy_timer(self);
      return;
    }
    ++st.counters.attempts;
    st.attempts->inc();
  }
  if (finished_unsent) {
    dispatch(self);  // later events of those conversations may be ready now
  }
}

/// Reads the next batch after the window, then dispatches.
void pump(sub_ptr self) {
  auto& st = self->state;
  const std::uint64_t head = st.init.log->head(st.init.tenant);
  st.head = head;
  const auto durable = st.saver->last_saved();
  st.lag->set(head > durable ? static_cast<std::int64_t>(head - durable) : 0);
  if (st.disabled) {
    return;
  }
  auto& p = *st.planner;
  const std::size_t room = std::min(p.room(), st.init.settings.read_batch);
  if (room > 0 && p.read_position() < st.announced) {
    auto r = st.init.log->read(st.init.tenant, p.read_position(), room, {}, st.announced);
    if (!r) {
      log::warn("subscriber", st.label, ": cannot read the log: ", r.err().message);
      arm_busy_timer(self);
    } else {
      for (auto& e : r->events) {
        // What the subject's consent withholds from this subscriber is skipped, not queued:
        // `advance` below moves the window past it.
        if (!allowed(self, e.seq, e.type, e.subject)) {
          continue;
        }
        track_consent(self, e.seq, e);
        if (!e.subject.empty()) {
          st.window_subjects.emplace(e.seq, e.subject);
        }
        auto id = delivery::event_id_of(e.json);
        p.add(e.seq, std::move(e.conversation), std::move(id), std::move(e.json));
      }
      p.advance(r->next);
      // One batch per message keeps handlers short; the next one follows at once.
      if (p.read_position() < st.announced && p.room() > 0) {
        self->send(self, pump_atom::value);
      }
    }
  }
  dispatch(self);
  progress(self);
}

/// The receiver answered 410 Gone: delivery stops, also across restarts (the record is in the
/// delivery store), until `POST /v1/subscribers/{name}/enable` or a redrive.
void disable(sub_ptr self, const std::string& reason) {
  auto& st = self->state;
  st.disabled = true;
  if (auto s = st.dstore->disable(st.init.tenant, st.init.sub.name, {reason, now()}); !s) {
    // Stopped in memory all the same; after a restart a receiver still gone says 410 again.
    log::error("subscriber", st.label,
               ": cannot store that delivery is disabled: ", s.err().message);
  }
  save_cursor(self);
  log::error("subscriber", st.label, ": the receiver answered 410 Gone (", reason,
             "); push delivery is disabled until POST /v1/subscribers/", st.init.sub.name,
             "/enable or a redrive (nothing is skipped: the cursor stays before the event)");
}

/// Delivery may go on: removes the durable record. False (logged) when the store refused; the
/// subscriber then stays disabled, so memory and store never disagree about a 410.
bool enable(sub_ptr self) {
  auto& st = self->state;
  if (auto s = st.dstore->enable(st.init.tenant, st.init.sub.name); !s) {
    log::error("subscriber", st.label, ": cannot re-enable delivery: ", s.err().message);
    return false;
  }
  st.disabled = false;
  return true;
}

void on_result(sub_ptr self, delivery_done& d) {
  auto& st = self->state;
  if (d.cancelled) {
    st.planner->requeue(d.ticket);
    return;
  }
  if (st.purged.erase(d.ticket) != 0) {
    // Erased while the attempt ran: whatever the answer, the event is never sent again.
    st.planner->on_result(d.ticket, delivery::attempt_result{200, {}, {}}, 0.0);
    pump(self);
    return;
  }
  if (withheld_now(self, d.ticket)) {
    // Consent changed while the attempt ran: whatever the answer, no retry, no dead letter.
    finish_unsent(self, d.ticket);
    pump(self);
    return;
  }
  auto dec = st.planner->on_result(d.ticket, d.result, draw(self));
  if (!dec) {
    return;
  }
  if (dec->what != delivery::action::delivered) {
    st.failures->inc();
  }
  if (d.result.status == 0 && dec->what != delivery::action::delivered) {
    // Said per attempt, with its cause (docs/operations.md "Logs"): a dead letter comes only
    // after the whole retry schedule.
    const delivery::job* j = st.planner->find(d.ticket);
    log::record(log::level::warn, "subscriber",
                st.label + ": push attempt got no response (" + d.result.error + ")",
                {{"tenant", st.init.tenant},
                 {"subscriber", st.init.sub.name},
                 {"seq", j != nullptr ? j->seq : std::uint64_t{0}},
                 {"attempt", dec->attempts},
                 {"cause", delivery::to_string(d.cause)}});
  }
  switch (dec->what) {
    case delivery::action::delivered:
      ++st.counters.delivered;
      st.delivered->inc();
      break;
    case delivery::action::retry:
      ++st.counters.retries;
      st.counters.last_error = dec->last_error;
      self->delayed_send(self, dec->delay, retry_atom::value, d.ticket);
      break;
    case delivery::action::dead_letter: {
      st.counters.last_error = dec->last_error;
      const delivery::job* j = st.planner->find(d.ticket);
      store::dead_letter letter;
      letter.tenant = st.init.tenant;
      letter.subscriber = st.init.sub.name;
      letter.seq = j->seq;
      letter.event_id = j->event_id;
      letter.attempts = dec->attempts;
      letter.last_error = dec->last_error;
      letter.failed_at = now();
      auto id = st.dstore->add_dead_letter(std::move(letter));
      if (id) {
        ++st.counters.dead_lettered;
        st.dead_letters->inc();
        log::warn("subscriber", st.label, ": event seq ", j->seq, " dead-lettered as ", *id,
                  " after ", dec->attempts, " attempts (", dec->last_error, ")");
        st.planner->dead_lettered(d.ticket);
      } else {
        // Not done until the dead letter is stored: deliver again after the longest wait.
        log::error("subscriber", st.label, ": cannot store a dead letter: ", id.err().message);
        self->delayed_send(self, st.planner->schedule().delays().back(), retry_atom::value,
                           d.ticket);
      }
      break;
    }
    case delivery::action::disable:
      st.counters.last_error = dec->last_error;
      if (!st.disabled) {
        disable(self, dec->last_error);
      }
      break;
  }
  if (st.planner->find(d.ticket) == nullptr) {
    st.consent_meta.erase(d.ticket);  // done (a redriven job's entry leaves only here)
  }
  pump(self);
}

void write_letter(json::writer& w, const store::dead_letter& d) {
  w.begin_object();
  w.key("id").value(d.id).key("seq").value(d.seq).field("event_id", d.event_id);
  w.key("attempts").value(static_cast<std::uint64_t>(d.attempts));
  w.key("last_error").value(d.last_error).key("failed_at").value(to_rfc3339(d.failed_at));
  w.end_object();
}

void list_dead_letters(sub_ptr self, dead_letters_query& q) {
  auto& st = self->state;
  const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, k_max_list);
  auto letters = st.dstore->dead_letters(st.init.tenant, st.init.sub.name, q.after, limit);
  http_response resp;
  json::writer w(resp.body);
  w.begin_object().key("dead_letters").begin_array();
  for (const auto& d : letters) {
    write_letter(w, d);
  }
  w.end_array().key("next").value(letters.empty() ? q.after : letters.back().id).end_object();
  q.reply->answer(std::move(resp));
}

/// Takes dead letters from the store and hands them to the planner as independent deliveries.
void redrive(sub_ptr self, redrive_request& r) {
  auto& st = self->state;
  auto& p = *st.planner;
  const auto& tenant = st.init.tenant;
  const auto& name = st.init.sub.name;
  if (p.redrive_room() == 0) {
    r.reply->answer(
        error_response(errc::overloaded, "a redrive of this subscriber is still running", 5));
    return;
  }
  // The candidates, with their seqs: the store lists by id, so an id is found as the first
  // letter after id - 1.
  std::vector<store::dead_letter> candidates;
  std::vector<std::uint64_t> not_found;
  std::vector<std::uint64_t> skipped;  // over the bound: ask again
  if (r.all) {
    candidates = st.dstore->dead_letters(tenant, name, 0, p.redrive_room());
  } else {
    std::unordered_set<std::uint64_t> seen;
    for (auto id : r.ids) {
      if (id == 0 || !seen.insert(id).second) {
        continue;
      }
      if (candidates.size() >= p.redrive_room()) {
        skipped.push_back(id);
        continue;
      }
      auto found = st.dstore->dead_letters(tenant, name, id - 1, 1);
      if (found.empty() || found.front().id != id) {
        not_found.push_back(id);
      } else {
        candidates.push_back(std::move(found.front()));
      }
    }
  }
  std::vector<std::uint64_t> taken;
  std::vector<std::uint64_t> gone;  // the event itself is no longer in the log (retention)
  for (const auto& d : candidates) {
    auto ev = st.init.log->read(tenant, d.seq - 1, 1, {});
    if (!ev) {
      log::warn("subscriber", st.label, ": redrive cannot read the log: ", ev.err().message);
      skipped.push_back(d.id);
      continue;
    }
    if (ev->events.empty() || ev->events.front().seq != d.seq) {
      gone.push_back(d.id);
      continue;
    }
    auto& e = ev->events.front();
    if (!allowed(self, e.seq, e.type, e.subject)) {
      // The subject's consent withholds it from this subscriber now: it stays a dead letter,
      // reported as skipped (a redrive after consent is given again takes it).
      skipped.push_back(d.id);
      continue;
    }
    auto letter = st.dstore->take_dead_letter(tenant, name, d.id);
    if (!letter) {
      not_found.push_back(d.id);
      continue;
    }
    auto id = delivery::event_id_of(e.json);
    track_consent(self, p.add_redrive(e.seq, std::move(id), std::move(e.json)), e);
    taken.push_back(d.id);
    ++st.counters.redriven;
  }
  const bool more = r.all && !candidates.empty() &&
                    !st.dstore->dead_letters(tenant, name, candidates.back().id, 1).empty();
  if (st.disabled && enable(self)) {
    log::info("subscriber", st.label, ": re-enabled by a redrive");
  }
  log::info("subscriber", st.label, ": redriving ", taken.size(), " dead letters");
  http_response resp;
  resp.status = 202;
  json::writer w(resp.body);
  auto list = [&](const char* key, const std::vector<std::uint64_t>& ids) {
    w.key(key).begin_array();
    for (auto id : ids) {
      w.value(id);
    }
    w.end_array();
  };
  w.begin_object();
  list("redriven", taken);
  list("not_found", not_found);
  list("event_gone", gone);
  list("skipped", skipped);
  w.key("more").value(more).end_object();
  r.reply->answer(std::move(resp));
  pump(self);
}

/// Subjects were erased: their events in the window (up to the notice's seq) are finished
/// without being sent from now on. Returns how many.
std::uint64_t purge(sub_ptr self, const erased_notice& n) {
  auto& st = self->state;
  std::uint64_t dropped = 0;
  const std::unordered_set<std::string> erased(n.subjects.begin(), n.subjects.end());
  for (auto it = st.window_subjects.begin();
       it != st.window_subjects.end() && it->first <= n.through_seq;) {
    if (erased.count(it->second) != 0) {
      if (const auto* j = st.planner->find(it->first)) {  // not yet done
        st.purged.insert(it->first);
        ++dropped;
        if (j->st == delivery::job::state::waiting) {
          st.planner->retry_due(it->first);  // finish it now, not when its retry is due
        }
      }
      it = st.window_subjects.erase(it);
    } else {
      ++it;
    }
  }
  if (dropped > 0) {
    log::info("subscriber", st.label, ": ", dropped, " events of erased subjects will not be sent");
    dispatch(self);  // ready ones finish at once
    progress(self);
  }
  return dropped;
}

/// `POST /v1/subscribers/{name}/enable`: delivery resumes from the cursor (the event the 410
/// answered first). Answers 200 {"subscriber","enabled":true,"was_disabled","disabled_since"?,
/// "reason"?}, or 503 when the store did not take the change.
void on_enable(sub_ptr self, enable_request& r) {
  auto& st = self->state;
  auto before = st.dstore->disabled(st.init.tenant, st.init.sub.name);
  const bool was_disabled = st.disabled;
  if (!enable(self)) {
    r.reply->answer(
        error_response(errc::unavailable, "could not store that the subscriber is enabled", 1));
    return;
  }
  http_response resp;
  json::writer w(resp.body);
  w.begin_object().field("subscriber", st.init.sub.name);
  w.key("enabled").value(true).key("was_disabled").value(was_disabled);
  if (before && before->has_value()) {
    w.key("disabled_since").value(to_rfc3339((*before)->since));
    w.field("reason", (*before)->reason);
  }
  w.end_object();
  r.reply->answer(std::move(resp));
  if (was_disabled) {
    log::info("subscriber", st.label, ": re-enabled; delivery resumes after seq ",
              st.planner->cursor());
    pump(self);
  }
}

subscriber_stats stats_of(sub_ptr self) {
  auto& st = self->state;
  subscriber_stats s = st.counters;
  s.disabled = st.disabled;
  s.cursor = st.planner->cursor();
  s.saved_cursor = st.saver->last_saved();
  s.in_flight = st.planner->in_flight();
  s.tracked = st.planner->tracked();
  return s;
}

subscriber_actor::behavior_type subscriber_behavior(sub_ptr self, subscriber_init init,
                                                    caf::actor_addr parent) {
  auto& st = self->state;
  st.init = std::move(init);
  st.label = st.init.tenant + "/" + st.init.sub.name;
  st.purposes = privacy::purposes_of(st.init.sub.purposes);
  {
    namespace cat = metrics::catalog;
    const metrics::labels labels{{"tenant", st.init.tenant}, {"subscriber", st.init.sub.name}};
    st.attempts = &cat::push_attempts().with(labels);
    st.delivered = &cat::push_delivered().with(labels);
    st.failures = &cat::push_failures().with(labels);
    st.dead_letters = &cat::push_dead_letters().with(labels);
    st.lag = &cat::push_lag().with(labels);
  }
  st.dstore = st.init.delivery;
  auto sig = st.init.sub.push ? delivery::signer::from_secrets(st.init.sub.push->secret,
                                                               st.init.sub.push->secret_previous)
                              : result<delivery::signer>(errc::bad_request, "no push config");
  if (!st.dstore || !st.init.http || !sig) {
    log::error("subscriber", st.label, ": push delivery cannot start (",
               !sig ? sig.err().message : "no delivery store or HTTP client", ")");
    self->quit();
    return no_behavior<subscriber_actor>();
  }
  st.signer = std::move(*sig);
  const auto& s = st.init.settings;
  const std::uint64_t cursor = st.dstore->cursor(st.init.tenant, st.init.sub.name);
  st.planner.emplace(
      cursor, delivery::delivery_planner::limits{s.max_in_flight, s.max_lookahead, s.max_redrive},
      s.schedule);
  st.saver.emplace(cursor, s.cursor_save_interval, s.cursor_save_every);
  // A receiver that answered 410 before a restart is still gone until someone says otherwise.
  if (auto off = st.dstore->disabled(st.init.tenant, st.init.sub.name); !off) {
    log::warn("subscriber", st.label, ": cannot read whether delivery is disabled (",
              off.err().message, "); delivering");
  } else if (off->has_value()) {
    st.disabled = true;
    st.counters.last_error = (*off)->reason;
    log::warn("subscriber", st.label, ": push delivery is disabled since ",
              to_rfc3339((*off)->since), " (", (*off)->reason, "); POST /v1/subscribers/",
              st.init.sub.name, "/enable resumes it after seq ", cursor);
  }
  log::info("subscriber", st.label, ": push delivery starts after seq ", cursor);
  // Stopped by the tenant: save how far delivery got, then quit. Attempts in flight are
  // abandoned; their events are after the saved cursor and are sent again on the next start.
  self->set_exit_handler([=](caf::exit_msg& m) {
    save_cursor(self);
    self->quit(m.reason);
  });
  // A tenant that crashed is restarted with new subscribers: this one must not deliver beside
  // its successor. (Only the parent is monitored: every down message is the parent's.)
  self->monitor(parent);
  self->set_down_handler([=](caf::down_msg&) {
    save_cursor(self);
    self->quit();
  });
  self->send(self, pump_atom::value);
  return {
      [=](head_atom, std::uint64_t announced) {
        auto& st = self->state;
        st.announced = std::max(st.announced, announced);
        pump(self);
      },
      [=](pump_atom) {
        self->state.busy_timer = false;
        pump(self);
      },
      [=](sent_atom, delivery_done& d) { on_result(self, d); },
      [=](retry_atom, std::uint64_t ticket) {
        self->state.planner->retry_due(ticket);
        dispatch(self);
      },
      [=](save_atom) {
        auto& st = self->state;
        if (st.saver->on_timer(st.planner->cursor())) {
          save_cursor(self);
        }
      },
      [=](deadlist_atom, dead_letters_query& q) { list_dead_letters(self, q); },
      [=](redrive_atom, redrive_request& r) { redrive(self, r); },
      [=](enable_atom, enable_request& r) { on_enable(self, r); },
      [=](erased_atom, const erased_notice& n) -> std::uint64_t { return purge(self, n); },
      [=](stats_atom) -> subscriber_stats { return stats_of(self); },
  };
}

}  // namespace

subscriber_actor spawn_subscriber_actor(caf::local_actor* parent, subscriber_init init,
                                        bool detached) {
  // A weak reference to the parent (an address, as CAF monitors by it): a strong handle would
  // make a cycle with the child.
  auto addr = parent->address();
  auto child = detached ? parent->spawn<caf::detached>(subscriber_behavior, std::move(init), addr)
                        : parent->spawn(subscriber_behavior, std::move(init), addr);
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

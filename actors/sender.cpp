// The sender actors and the outbox writer (docs/outbound.md "Delivery engine").
//
// A sender is a thin shell around outbound::send_scheduler (what may go now, what an answer
// means, when to retry) and delivery::http_client (the requests). Its handlers never wait on the
// network or the disk: the client's thread posts each answer back as a `sent_atom` message, and
// every outbox read or write runs on the outbox writer, whose answers come back as messages too.
#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "actors/actors.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "outbound/send_scheduler.hpp"
#include "privacy/redact.hpp"
#include "store/outbound_dedupe_key.hpp"

namespace sb::actors {

// -- the outbox writer ------------------------------------------------------------------------

namespace {
// Bounds one transaction; a larger backlog is committed in several.
constexpr std::size_t k_max_writes_per_commit = 2048;
// How long window rows alone wait for more to share their transaction (store::window_only):
// one transaction per webhook commit cost more CPU than the rows themselves. Nothing reads
// them meanwhile: every read of the writer (tasks, lookups) commits what waits first, and a
// crash loses none for good (the start-up repair, outbound/window_rows.hpp).
constexpr auto k_window_linger = std::chrono::milliseconds(5);
}  // namespace

struct outbox_writer_state {
  struct pending_batch {
    outbox_batch batch;
    caf::typed_response_promise<outbox_batch> promise;
  };
  std::shared_ptr<store::outbox> box;
  std::vector<pending_batch> pending;
  std::size_t pending_writes = 0;
  bool flush_scheduled = false;  // a flush is queued behind the mailbox
  bool linger_armed = false;     // a delayed flush is on its way (`k_window_linger`)
  static inline const char* name = "outbox_writer";
};

namespace {

using outbox_writer_ptr = outbox_writer_actor::stateful_pointer<outbox_writer_state>;

/// Commits what waits, in batches of whole `outbox_batch`es, and answers each.
void flush_outbox(outbox_writer_ptr self) {
  auto& st = self->state;
  while (!st.pending.empty()) {
    // Whole requests up to the bound (at least one, however large).
    std::size_t n = 0;
    std::size_t writes = 0;
    while (n < st.pending.size() &&
           (n == 0 || writes + st.pending[n].batch.writes.size() <= k_max_writes_per_commit)) {
      writes += st.pending[n].batch.writes.size();
      ++n;
    }
    std::vector<store::outbox_write> all;
    all.reserve(writes);
    for (std::size_t i = 0; i < n; ++i) {
      for (auto& w : st.pending[i].batch.writes) {
        all.push_back(std::move(w));
      }
    }
    auto committed = st.box->apply(all);
    if (!committed) {
      log::error("outbox", "a commit of ", all.size(), " writes failed: ", committed.err().message);
    }
    std::size_t at = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto& p = st.pending[i];
      for (auto& w : p.batch.writes) {
        w = std::move(all[at++]);
      }
      p.batch.st = committed;
      p.promise.deliver(std::move(p.batch));
    }
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(n));
  }
  st.pending_writes = 0;
}

outbox_writer_actor::behavior_type outbox_writer(outbox_writer_ptr self,
                                                 std::shared_ptr<store::outbox> box) {
  self->state.box = std::move(box);
  return {
      [=](write_atom, outbox_batch& b) -> caf::typed_response_promise<outbox_batch> {
        auto& st = self->state;
        auto rp = self->make_response_promise<outbox_batch>();
        const bool linger = store::window_only(b.writes);
        st.pending_writes += b.writes.size();
        st.pending.push_back({std::move(b), rp});
        if (linger && st.pending_writes < k_max_writes_per_commit) {
          if (!st.linger_armed && !st.flush_scheduled) {
            st.linger_armed = true;
            self->delayed_send(self, k_window_linger, flush_atom::value);
          }
        } else if (!st.flush_scheduled) {
          // Group commit: the flush queues behind every write already in the mailbox, so one
          // transaction (one fsync) serves them all.
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return rp;
      },
      [=](task_atom, outbox_task& t) {
        // Writes queued before the task are committed first: a task sees them.
        flush_outbox(self);
        t.run(*self->state.box);
      },
      [=](resolve_atom, outbox_lookup& q) -> outbox_lookup {
        flush_outbox(self);  // a put queued before the lookup is found by it
        auto& box = *self->state.box;
        if (!q.idempotency_key.empty()) {
          auto r = box.find_by_idempotency_key(q.tenant, q.caller, q.idempotency_key);
          if (r) {
            q.earlier = std::move(r.value());
            return std::move(q);  // a replay: the earlier message answers, nothing to resolve
          }
          if (r.err().code != errc::not_found) {
            q.st = r.err();
            return std::move(q);
          }
        }
        if (!q.conversation.empty()) {
          auto peer = box.peer_of(q.tenant, q.conversation);
          if (peer) {
            q.peer = std::move(peer.value());
          } else if (peer.err().code != errc::not_found) {
            q.st = peer.err();
          }
        }
        return std::move(q);
      },
      [=](flush_atom) {
        // Either flush (queued or delayed) commits everything; a later one finds less or nothing.
        self->state.flush_scheduled = false;
        self->state.linger_armed = false;
        flush_outbox(self);
      },
  };
}

}  // namespace

outbox_writer_actor spawn_outbox_writer(caf::local_actor* parent,
                                        std::shared_ptr<store::outbox> box, bool detached) {
  auto child = detached ? parent->spawn<caf::detached>(outbox_writer, std::move(box))
                        : parent->spawn(outbox_writer, std::move(box));
  parent->monitor(child);
  return child;
}

// -- the sender -------------------------------------------------------------------------------

namespace {
using steady = std::chrono::steady_clock;
// Events waiting for the store when it is restarting or shedding: beyond this, the oldest are
// dropped (the outbox still has each message's state; GET /v1/messages/{id} answers it).
constexpr std::size_t k_max_unannounced = 10000;
constexpr std::chrono::seconds k_store_retry{1};
// Final-state writes that the outbox writer did not confirm are tried again this often.
constexpr std::uint32_t k_write_tries = 10;
}  // namespace

struct sender_state {
  struct held_message {
    store::outbound_record record;
    std::optional<adapters::outbound_message> message;  // nullopt: the record does not parse
    bool forgotten = false;  // erased while in flight: its outcome is not written back
    // The id the last encode gave the message itself (`platform_request::message_id`, e.g. an
    // e-mail Message-ID): its platform id when the answer names none.
    std::string message_id;
  };
  sender_init init;
  std::string label;  // "<tenant>/<channel>", for logs
  std::string account;
  caf::actor_addr parent;
  std::optional<outbound::send_scheduler> sched;
  std::unordered_map<std::string, held_message> held;
  // Messages concluded (sent or failed) whose final state the outbox writer has not confirmed
  // yet. A put answered meanwhile (an idempotent replay of one of them) read the state from
  // before that write and must not take the message in again: it would be sent twice.
  std::unordered_set<std::string> concluding;
  std::size_t reserved = 0;  // accepted sends whose put is not confirmed yet
  // Start-up resume: pages of unfinished messages read from the outbox.
  bool loaded = false;
  bool page_pending = false;
  std::string resume_after;
  // Several replicas (`sender_init::leased`): whether this replica holds the channel's sender
  // lease and so sends; a passive sender only stores what it accepts. `scanning`: a scan of
  // the outbox's unfinished messages after `loaded` (the lease was taken, or another replica
  // stored messages); `scan_again`: asked for while one was running.
  bool active = true;
  bool scanning = false;
  bool scan_again = false;
  // The armed wakeup (the earliest pending timer) and its generation.
  std::optional<steady::time_point> timer_at;
  std::uint64_t timer_gen = 0;
  // outbound.status events not yet confirmed by the store.
  std::vector<event> unannounced;
  bool emitting = false;
  bool emit_timer = false;
  sender_stats counters;
  // switchboard_outbound_* of this channel (core/metrics.hpp), resolved once at start.
  metrics::counter* sent_total = nullptr;
  metrics::counter* failed_total = nullptr;
  metrics::counter* retries_total = nullptr;
  metrics::counter* rate_limited_total = nullptr;
  metrics::gauge* queue = nullptr;
  static inline const char* name = "sender";
};

namespace {

using sender_ptr = sender_actor::stateful_pointer<sender_state>;

void pump(sender_ptr self);
void scan(sender_ptr self);

/// The final-state updates of `b` are written, or no longer tried: their messages leave
/// `concluding`. (An earlier write of the same message, confirmed meanwhile, does not count: a
/// put answered after it may still predate the final state.)
void settle(sender_state& st, const outbox_batch& b) {
  for (const auto& w : b.writes) {
    if (w.what == store::outbox_write::kind::update && !store::unfinished(w.update.state)) {
      st.concluding.erase(w.update.id);
    }
  }
}

/// Sends `b` to the outbox writer; a batch it does not confirm is tried again after a second,
/// up to `tries` times (the writes are idempotent: state updates and forward-only moves).
void write(sender_ptr self, outbox_batch b, std::uint32_t tries = k_write_tries) {
  auto& st = self->state;
  if (!st.init.outbox) {
    settle(st, b);
    return;
  }
  auto copy = b;
  self->request(st.init.outbox, st.init.settings.outbox_timeout, write_atom::value, std::move(b))
      .then(
          [self, copy, tries](outbox_batch& done) mutable {
            if (done.st) {
              settle(self->state, copy);
              return;
            }
            log::warn("sender", self->state.label,
                      ": outbox write failed: ", done.st.err().message);
            if (tries > 1) {
              self->delayed_send(self, k_store_retry, rewrite_atom::value, std::move(copy),
                                 tries - 1);
            } else {
              settle(self->state, copy);
            }
          },
          [self, copy, tries](caf::error&) mutable {
            log::warn("sender", self->state.label, ": the outbox writer did not confirm a write");
            if (tries > 1) {
              self->delayed_send(self, k_store_retry, rewrite_atom::value, std::move(copy),
                                 tries - 1);
            } else {
              settle(self->state, copy);
            }
          });
}

store::outbox_write state_write(const sender_state& st, const store::outbound_record& r,
                                store::outbound_state state, std::uint32_t attempts,
                                bool forward_only) {
  store::outbox_write w;
  w.what = store::outbox_write::kind::update;
  w.update.tenant = st.init.tenant;
  w.update.id = r.id;
  w.update.state = state;
  w.update.forward_only = forward_only;
  w.update.attempts = attempts;
  w.update.updated_at = sb::now();
  w.update.by_sender = true;  // fenced by the sender lease (several replicas)
  return w;
}

/// Stores what the gateway made and announces it; on failure keeps the events and tries again.
void flush_events(sender_ptr self) {
  auto& st = self->state;
  if (st.emitting || st.unannounced.empty()) {
    return;
  }
  st.emitting = true;
  std::vector<event> batch;
  batch.swap(st.unannounced);
  auto tenant = caf::actor_cast<tenant_actor>(st.parent);
  emit_events(self, st.init.store, tenant, batch, st.init.settings.outbox_timeout,
              [self, batch](result<std::vector<event>> r) {
                auto& st = self->state;
                st.emitting = false;
                if (!r) {
                  // Put them back in front (they are older) and try again shortly; the dedupe
                  // key makes a repeat harmless.
                  st.unannounced.insert(st.unannounced.begin(), batch.begin(), batch.end());
                  if (st.unannounced.size() > k_max_unannounced) {
                    const auto drop = st.unannounced.size() - k_max_unannounced;
                    log::warn("sender", st.label, ": dropping ", drop,
                              " outbound.status events the store did not take");
                    st.unannounced.erase(
                        st.unannounced.begin(),
                        st.unannounced.begin() + static_cast<std::ptrdiff_t>(drop));
                  }
                  if (!st.emit_timer) {
                    st.emit_timer = true;
                    self->delayed_send(self, k_store_retry, flush_atom::value);
                  }
                  return;
                }
                flush_events(self);
              });
}

void announce(sender_ptr self, const store::outbound_record& r, store::outbound_state state,
              std::uint32_t attempts, const std::string& platform_id, const std::string& code,
              const std::string& title) {
  auto& st = self->state;
  event e;
  e.tenant = st.init.tenant;
  e.channel = {st.init.channel.name, st.init.channel.type, st.account};
  e.type = event_type::outbound_status;
  e.conversation = r.conversation;
  e.subject = r.subject;
  outbound_info o;
  o.id = r.id;
  o.state = store::to_string(state);
  o.platform_message_id = platform_id;
  o.attempts = attempts;
  o.purpose = r.purpose;
  o.error_code = code;
  o.error_title = title;
  e.outbound = std::move(o);
  // One event per message and state: a message sent again after a restart is announced once.
  e.dedupe_key = store::outbound_dedupe_key(r.id, state).str();
  st.unannounced.push_back(std::move(e));
  flush_events(self);
}

/// Acts on the scheduler's decision about one answer.
void conclude(sender_ptr self, const outbound::decision& d, const adapters::send_result& res) {
  auto& st = self->state;
  auto it = st.held.find(d.id);
  if (it == st.held.end()) {
    return;
  }
  auto& h = it->second;
  if (d.rate_limited) {
    ++st.counters.rate_limited;
    st.rate_limited_total->inc();
  }
  if (h.forgotten) {
    if (d.what == outbound::verdict::retry) {
      st.sched->remove(d.id);  // queued again by the answer: drop it now
    }
    st.held.erase(it);
    return;
  }
  outbox_batch b;
  switch (d.what) {
    case outbound::verdict::sent: {
      ++st.counters.sent;
      st.sent_total->inc();
      // Forward only: a delivery receipt correlated meanwhile is never moved back.
      auto w = state_write(st, h.record, store::outbound_state::sent, d.attempts, true);
      // The platform's id when its answer carries one, else the one the encoder made (an
      // e-mail Message-ID: what a bounce or a reply will name).
      const std::string& platform_id =
          res.platform_message_id.empty() ? h.message_id : res.platform_message_id;
      w.update.platform_message_id = platform_id;
      w.update.error_code = std::string();
      w.update.error_title = std::string();
      b.writes.push_back(std::move(w));
      st.concluding.insert(h.record.id);
      write(self, std::move(b));
      announce(self, h.record, store::outbound_state::sent, d.attempts, platform_id, {}, {});
      st.held.erase(it);
      return;
    }
    case outbound::verdict::failed: {
      ++st.counters.failed;
      st.failed_total->inc();
      std::string code = res.error_code;
      std::string title = res.error_title;
      if (!d.reason.empty()) {
        // Out of attempts: say so, keeping the platform's last word in the title.
        title = code.empty() ? title : code + ": " + title;
        code = d.reason;
      }
      log::warn("sender", st.label, ": message ", h.record.id, " failed after ", d.attempts,
                " attempt(s): ", code);
      auto w = state_write(st, h.record, store::outbound_state::failed, d.attempts, true);
      w.update.error_code = code;
      w.update.error_title = title;
      b.writes.push_back(std::move(w));
      st.concluding.insert(h.record.id);
      write(self, std::move(b));
      announce(self, h.record, store::outbound_state::failed, d.attempts, {}, code, title);
      st.held.erase(it);
      return;
    }
    case outbound::verdict::retry: {
      if (!d.rate_limited) {
        ++st.counters.retries;
        st.retries_total->inc();
      }
      auto w = state_write(st, h.record, store::outbound_state::queued, d.attempts, false);
      w.update.error_code = res.error_code;
      w.update.error_title = res.error_title;
      b.writes.push_back(std::move(w));
      write(self, std::move(b), 1);
      return;
    }
  }
}

/// Ends an attempt that never reached the platform as a permanent failure (the record does not
/// parse, or the adapter cannot encode it: retrying would not help).
void fail_locally(sender_ptr self, std::uint64_t ticket, std::string code, std::string title) {
  adapters::send_result res;
  res.outcome = adapters::send_outcome::permanent;
  res.error_code = std::move(code);
  res.error_title = std::move(title);
  if (auto d = self->state.sched->on_result(ticket, res, steady::now())) {
    conclude(self, *d, res);
  }
}

/// The answer a local delivery gives `interpret` (adapters/outbound.hpp `local_delivery`).
platform_reply local_answer(std::uint64_t ticket, const result<std::vector<event>>& stored,
                            const std::string& event_id) {
  platform_reply p;
  p.ticket = ticket;
  if (stored) {
    // Stored now, or before (a duplicate of an attempt whose answer was lost): the event's id
    // derives from the outbound id, so it is the stored one either way.
    p.status = 201;
    json::writer(p.body).begin_object().field("id", event_id).end_object();
  } else {
    p.status = 503;  // transient: the engine retries with backoff
    p.body = error_response(stored.err().code, stored.err().message).body;
    p.error = stored.err().message;
  }
  return p;
}

/// Where the gateway is the platform: delivers the message by storing its event in the person's
/// conversation, and feeds the store's outcome back as the platform's answer (`sent_atom`).
/// False when the channel's messages go through a platform's API.
bool deliver_locally(sender_ptr self, const outbound::dispatch& d, sender_state::held_message& h) {
  auto& st = self->state;
  auto ev = st.init.outbound->local_delivery(*h.message, h.record.id);
  if (!ev) {
    return false;  // a platform with an API, or a message `encode` refuses (failed there)
  }
  ev->tenant = st.init.tenant;
  ev->subject = h.record.subject;
  // As a channel stores its events: what is redacted is never stored.
  privacy::redact_event(*ev, st.init.privacy, st.init.subject_key);
  h.message_id = ev->id;
  ++st.counters.attempts;
  outbox_batch b;
  b.writes.push_back(state_write(st, h.record, store::outbound_state::sending, d.attempt, false));
  write(self, std::move(b), 1);
  auto tenant = caf::actor_cast<tenant_actor>(st.parent);
  std::vector<event> events;
  events.push_back(std::move(*ev));
  emit_events(self, st.init.store, tenant, std::move(events), st.init.settings.timeout,
              [self, ticket = d.ticket, id = h.message_id](result<std::vector<event>> stored) {
                self->send(self, sent_atom::value, local_answer(ticket, stored, id));
              });
  return true;
}

void start_attempt(sender_ptr self, const outbound::dispatch& d, steady::time_point now) {
  auto& st = self->state;
  auto it = st.held.find(d.id);
  if (it == st.held.end() || !it->second.message) {
    fail_locally(self, d.ticket, "invalid_record", "the stored message cannot be read");
    return;
  }
  auto& h = it->second;
  if (deliver_locally(self, d, h)) {
    return;
  }
  auto req = st.init.outbound->encode(*h.message);
  if (!req) {
    fail_locally(self, d.ticket, to_string(req.err().code), req.err().message);
    return;
  }
  h.message_id = std::move(req->message_id);
  delivery::http_client::request r;
  r.method = std::move(req->method);
  r.url = std::move(req->url);
  r.headers = std::move(req->headers);
  r.body = std::move(req->body);
  r.timeout = st.init.settings.timeout;
  // SMTP submissions (an smtp:// or smtps:// url): the envelope and the login.
  r.mail_from = std::move(req->mail_from);
  r.mail_rcpt = std::move(req->mail_rcpt);
  r.user = std::move(req->user);
  r.password = std::move(req->password);
  auto me = caf::actor_cast<sender_actor>(self);
  const std::uint64_t ticket = d.ticket;
  auto submitted =
      st.init.http->submit(std::move(r), [me, ticket](delivery::http_client::response res) {
        // On the client's thread: build an owned message, post it, touch nothing else.
        platform_reply p;
        p.ticket = ticket;
        p.cancelled = res.fail == delivery::http_client::failure::cancelled;
        p.status = res.status;
        if (auto ra = res.header("retry-after")) {
          p.retry_after = std::string(*ra);
          p.has_retry_after = true;
        }
        p.body = std::move(res.body);
        p.error = std::move(res.error);
        p.cause = res.cause;
        caf::anon_send(me, sent_atom::value, std::move(p));
      });
  if (!submitted) {
    // The shared client is full: not an attempt; try again shortly.
    st.sched->requeue(ticket, now + st.init.settings.busy_backoff);
    return;
  }
  ++st.counters.attempts;
  outbox_batch b;
  b.writes.push_back(state_write(st, h.record, store::outbound_state::sending, d.attempt, false));
  write(self, std::move(b), 1);
}

/// Arms the timer for the scheduler's next wakeup unless an earlier one is pending.
void arm(sender_ptr self, steady::time_point now) {
  auto& st = self->state;
  auto next = st.sched->next_wakeup(now);
  if (!next || (st.timer_at && *st.timer_at <= *next)) {
    return;
  }
  st.timer_at = *next;
  ++st.timer_gen;
  // Rounded up: a timer that fires early would find nothing due and re-arm in a loop.
  auto delay =
      std::chrono::ceil<std::chrono::milliseconds>(std::max(*next - now, steady::duration{0}));
  self->delayed_send(self, delay, wake_atom::value, st.timer_gen);
}

void request_page(sender_ptr self);

void pump(sender_ptr self) {
  auto& st = self->state;
  const auto now = steady::now();
  for (const auto& d : st.sched->due(now)) {
    start_attempt(self, d, now);
  }
  arm(self, now);
  st.queue->set(static_cast<std::int64_t>(st.sched->held()));
  if ((!st.loaded || st.scanning) && !st.page_pending) {
    request_page(self);  // the resume (or a scan) reads its next page as room frees up
  }
}

std::size_t room(const sender_state& st) {
  const std::size_t used = st.sched->held() + st.reserved;
  return used >= st.init.settings.max_queued ? 0 : st.init.settings.max_queued - used;
}

/// Takes a stored record into the scheduler (a new send, or one resumed from the outbox).
void admit(sender_ptr self, const store::outbound_record& r) {
  auto& st = self->state;
  if (st.held.count(r.id) != 0 || st.concluding.count(r.id) != 0 || !store::unfinished(r.state)) {
    return;
  }
  sender_state::held_message h;
  h.record = r;
  auto m = adapters::outbound_from_json(r.message);
  if (m) {
    h.message = std::move(m.value());
  } else {
    log::error("sender", st.label, ": message ", r.id, " has an unreadable record");
  }
  outbound::send_item item;
  item.id = r.id;
  item.conversation = r.conversation;
  // The message's own `to` is the platform's id of the person; the record's `recipient` is a
  // pseudonym for a pseudonymizing tenant (store/outbox.hpp), which would hide a Telegram group.
  item.recipient = h.message ? h.message->to : r.recipient;
  item.group = st.init.outbound->is_group_recipient(item.recipient);
  item.attempts = r.attempts;
  if (auto s = st.sched->enqueue(std::move(item), steady::now()); !s) {
    // Stored but not held (the queue filled meanwhile): the next start resumes it.
    log::warn("sender", st.label, ": message ", r.id, " not queued now: ", s.err().message);
    return;
  }
  st.held.emplace(r.id, std::move(h));
}

/// Reads the next page of the channel's unfinished messages (start-up resume) on the writer.
void request_page(sender_ptr self) {
  auto& st = self->state;
  const std::size_t asked = std::min(room(st), st.init.settings.resume_batch);
  if (st.page_pending || (st.loaded && !st.scanning) || asked == 0 || !st.init.outbox) {
    return;
  }
  st.page_pending = true;
  outbox_task t;
  t.run = [me = caf::actor_cast<sender_actor>(self), tenant = st.init.tenant,
           channel = st.init.channel.name, after = st.resume_after, asked](store::outbox& box) {
    outbox_page p;
    p.asked = asked;
    auto r = box.unfinished(tenant, channel, asked, after);
    if (r) {
      p.records = std::move(r.value());
    } else {
      p.st = r.err();
    }
    caf::anon_send(me, resume_atom::value, std::move(p));
  };
  self->send(st.init.outbox, task_atom::value, std::move(t));
}

void on_page(sender_ptr self, outbox_page& p) {
  auto& st = self->state;
  st.page_pending = false;
  if (!p.st) {
    log::warn("sender", st.label, ": cannot read unfinished messages: ", p.st.err().message);
    self->delayed_send(self, k_store_retry, resume_atom::value);
    return;
  }
  std::size_t sending = 0;
  for (const auto& r : p.records) {
    if (r.state == store::outbound_state::sending) {
      ++sending;
    }
    if (st.held.count(r.id) == 0) {
      admit(self, r);
      ++st.counters.resumed;
    }
  }
  if (!p.records.empty()) {
    st.resume_after = p.records.back().id;
    log::info("sender", st.label, ": resumed ", p.records.size(), " unfinished message(s)",
              sending > 0 ? " (some were being sent when the gateway stopped: sent again)" : "");
  }
  if (p.records.size() < p.asked) {
    st.loaded = true;
    st.counters.loaded = true;
    st.scanning = false;
    if (st.scan_again) {
      st.scan_again = false;
      scan(self);
    }
  }
  pump(self);
}

/// Reads the channel's unfinished messages from the start and takes in those not held: this
/// replica took the lease (messages others accepted, or a dead holder left), or another
/// replica stored some. Sends go on meanwhile (`admit` skips what is held).
void scan(sender_ptr self) {
  auto& st = self->state;
  if (!st.active) {
    return;
  }
  if (st.page_pending) {
    st.scan_again = true;
    return;
  }
  st.scanning = true;
  st.resume_after.clear();
  request_page(self);
}

/// Several replicas: this replica got (`held`) or lost the channel's sender lease.
void on_lease(sender_ptr self, bool held) {
  auto& st = self->state;
  if (held) {
    if (!st.active) {
      st.active = true;
      log::info("sender", st.label, ": sending from this replica");
    }
    scan(self);
    return;
  }
  if (!st.active) {
    return;
  }
  st.active = false;
  st.scan_again = false;
  // What is queued goes back to the outbox's care (it is stored, unfinished): the next holder
  // sends it. What is in flight ends here, and its outcome is written as usual.
  std::size_t dropped = 0;
  for (auto it = st.held.begin(); it != st.held.end();) {
    if (st.sched->remove(it->first)) {
      it = st.held.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  log::info("sender", st.label, ": lease lost; stopped sending here (", dropped,
            " queued message(s) left to the next holder)");
}

void on_send(sender_ptr self, outbound_send& m, caf::typed_response_promise<send_accepted> rp) {
  auto& st = self->state;
  auto& r = m.record;
  if (r.channel != st.init.channel.name || r.tenant != st.init.tenant) {
    rp.deliver(
        send_accepted{error{errc::bad_request, "the message is not for this channel"}, {}, false});
    return;
  }
  if (!st.loaded) {
    rp.deliver(send_accepted{
        error{errc::unavailable, "the channel's sender is resuming queued messages; retry"},
        {},
        false});
    return;
  }
  if (room(st) == 0) {
    rp.deliver(
        send_accepted{error{errc::overloaded, "the channel's send queue is full (" +
                                                  std::to_string(st.init.settings.max_queued) +
                                                  " messages); retry later"},
                      {},
                      false});
    return;
  }
  ++st.reserved;
  r.state = store::outbound_state::queued;
  outbox_batch b;
  store::outbox_write w;
  w.what = store::outbox_write::kind::put;
  w.record = std::move(r);
  b.writes.push_back(std::move(w));
  self->request(st.init.outbox, st.init.settings.outbox_timeout, write_atom::value, std::move(b))
      .then(
          [self, rp](outbox_batch& done) mutable {
            auto& st = self->state;
            --st.reserved;
            if (!done.st) {
              rp.deliver(send_accepted{
                  error{errc::unavailable, "the outbox did not store the message; retry"},
                  {},
                  false});
              return;
            }
            auto& w = done.writes.front();
            // A replay of an earlier message that is still unfinished but not held (its first
            // put was confirmed too late) is taken in now. A passive sender leaves it to the
            // replica that holds the lease, which hears of the put from the database.
            if (st.active) {
              admit(self, w.record);
            }
            rp.deliver(send_accepted{status{}, std::move(w.record), w.created});
            pump(self);
          },
          [self, rp](caf::error&) mutable {
            --self->state.reserved;
            rp.deliver(send_accepted{
                error{errc::unavailable, "the outbox did not confirm the write; retry"},
                {},
                false});
          });
}

void on_reply(sender_ptr self, platform_reply& p) {
  auto& st = self->state;
  const auto now = steady::now();
  if (p.cancelled) {
    st.sched->requeue(p.ticket, now);
    return;
  }
  std::optional<std::string_view> retry_after;
  if (p.has_retry_after) {
    retry_after = p.retry_after;
  }
  auto res = st.init.outbound->interpret(p.status, p.body, retry_after);
  if (p.status == 0 && res.error_title.empty()) {
    res.error_code = "transport";
    res.error_title = p.error;
  } else if (p.status == 0 && res.error_title == "no response" &&
             p.cause != delivery::failure_cause::none) {
    // The short cause only ("no response (refused)"): the title reaches the backends in the
    // message's status event; curl's message, with the host, is in the log line below.
    res.error_title.append(" (").append(delivery::to_string(p.cause)).append(")");
  }
  if (auto d = st.sched->on_result(p.ticket, res, now)) {
    if (p.status == 0) {
      log::record(log::level::warn, "sender",
                  st.label + ": send attempt got no response (" + p.error + ")",
                  {{"tenant", st.init.tenant},
                   {"channel", st.init.channel.name},
                   {"message", d->id},
                   {"attempt", d->attempts},
                   {"cause", delivery::to_string(p.cause)}});
    }
    conclude(self, *d, res);
  }
  pump(self);
}

void forget(sender_ptr self, const std::string& subject) {
  auto& st = self->state;
  if (subject.empty()) {
    return;
  }
  std::size_t n = 0;
  for (auto it = st.held.begin(); it != st.held.end();) {
    if (it->second.record.subject != subject) {
      ++it;
      continue;
    }
    ++n;
    if (st.sched->remove(it->first)) {
      it = st.held.erase(it);
    } else {
      it->second.forgotten = true;  // in flight: its answer is dropped
      ++it;
    }
  }
  if (n > 0) {
    log::info("sender", st.label, ": dropped ", n, " queued message(s) of an erased subject");
  }
}

sender_stats stats_of(sender_ptr self) {
  auto& st = self->state;
  sender_stats s = st.counters;
  s.queued = st.sched->held();
  s.in_flight = st.sched->in_flight();
  return s;
}

sender_actor::behavior_type sender_behavior(sender_ptr self, sender_init init,
                                            caf::actor_addr parent) {
  auto& st = self->state;
  st.init = std::move(init);
  st.parent = std::move(parent);
  st.label = st.init.tenant + "/" + st.init.channel.name;
  if (st.init.adapter == nullptr || st.init.outbound == nullptr || !st.init.http ||
      !st.init.outbox) {
    log::error("sender", st.label, ": cannot send (no adapter encoder, HTTP client or outbox)");
    self->quit();
    return no_behavior<sender_actor>();
  }
  st.account = st.init.adapter->account != nullptr ? st.init.adapter->account(st.init.channel) : "";
  const auto& s = st.init.settings;
  outbound::scheduler_options o;
  o.limits = outbound::limits_from(st.init.outbound->limits());
  o.max_queued = s.max_queued;
  o.max_in_flight = s.max_in_flight;
  o.max_attempts = s.max_attempts;
  o.max_rate_limited = s.max_rate_limited;
  o.backoff_initial = s.backoff_initial;
  o.backoff_max = s.backoff_max;
  o.jitter = s.jitter;
  st.sched.emplace(o);
  const auto& tenant = st.init.tenant;
  const auto& channel = st.init.channel.name;
  st.sent_total = &metrics::catalog::outbound_messages(tenant, channel, "sent");
  st.failed_total = &metrics::catalog::outbound_messages(tenant, channel, "failed");
  st.retries_total =
      &metrics::catalog::outbound_retries().with({{"tenant", tenant}, {"channel", channel}});
  st.rate_limited_total =
      &metrics::catalog::outbound_rate_limited().with({{"tenant", tenant}, {"channel", channel}});
  st.queue = &metrics::catalog::outbound_queue().with({{"tenant", tenant}, {"channel", channel}});
  self->set_exit_handler([=](caf::exit_msg& m) { self->quit(m.reason); });
  // A tenant that crashed is restarted with new senders: this one must not send beside its
  // successor. (Only the parent is monitored: every down message is the parent's.)
  self->monitor(st.parent);
  self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  if (st.init.leased) {
    // Several replicas: nothing is sent (nor resumed) before the lease is held here.
    st.active = false;
    st.loaded = true;
    st.counters.loaded = true;
  } else {
    request_page(self);
  }
  return {
      [=](send_atom, outbound_send& m) -> caf::typed_response_promise<send_accepted> {
        auto rp = self->make_response_promise<send_accepted>();
        on_send(self, m, rp);
        return rp;
      },
      [=](sent_atom, platform_reply& p) { on_reply(self, p); },
      [=](wake_atom, std::uint64_t gen) {
        auto& st = self->state;
        if (gen == st.timer_gen) {
          st.timer_at.reset();
        }
        pump(self);
      },
      [=](resume_atom, outbox_page& p) { on_page(self, p); },
      // A page read failed: read again.
      [=](resume_atom) { request_page(self); },
      // An unconfirmed write, tried again.
      [=](rewrite_atom, outbox_batch& b, std::uint32_t tries) { write(self, std::move(b), tries); },
      // The outbox writer was restarted: use the new one; a page read lost with the old is
      // asked again.
      [=](outbox_atom, outbox_writer_actor writer) {
        auto& st = self->state;
        st.init.outbox = std::move(writer);
        if (st.page_pending) {
          st.page_pending = false;
          request_page(self);
        }
      },
      [=](store_atom, store_writer_actor store) {
        self->state.init.store = std::move(store);
        flush_events(self);
      },
      [=](flush_atom) {
        self->state.emit_timer = false;
        flush_events(self);
      },
      [=](forget_atom, const std::string& subject) { forget(self, subject); },
      [=](stats_atom) -> sender_stats { return stats_of(self); },
      [=](lease_atom, bool held) { on_lease(self, held); },
  };
}

}  // namespace

sender_actor spawn_sender_actor(caf::local_actor* parent, sender_init init) {
  // A weak reference to the parent (an address, as CAF monitors by it): a strong handle would
  // make a cycle with the child.
  auto child = parent->spawn(sender_behavior, std::move(init), parent->address());
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

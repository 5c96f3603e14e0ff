#include "actors/outbound_api.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "actors/actors.hpp"
#include "actors/channel_logic.hpp"
#include "adapters/adapter.hpp"
#include "adapters/outbound.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "outbound/conversation_state.hpp"
#include "outbound/send_flow.hpp"
#include "outbound/send_policy.hpp"
#include "outbound/window_rows.hpp"
#include "privacy/consent.hpp"
#include "store/outbound_dedupe_key.hpp"

namespace sb::actors {

// -- outbound_api_state -----------------------------------------------------------------------

outbound_api_state::outbound_api_state(const config::config& cfg,
                                       const config::tenant_config& tenant)
    : tenant_(tenant.id), subject_key_(derive_subject_key(cfg.storage.root_key, tenant.id)) {
  for (const auto& sub : tenant.subscribers) {
    if (sub.send_rate_limit.rps > 0) {
      send_limits_.emplace(
          sub.name, token_bucket::per_second(sub.send_rate_limit.rps, sub.send_rate_limit.burst));
    }
  }
  for (const auto& ch : tenant.channels) {
    if (auto out = adapters::outbound_for(ch)) {
      channels_.emplace(ch.name, std::move(out));
    }
  }
}

void outbound_api_state::reconfigure(const config::tenant_config& tenant) {
  std::unordered_map<std::string, token_bucket> limits;
  for (const auto& sub : tenant.subscribers) {
    if (sub.send_rate_limit.rps <= 0) {
      continue;
    }
    auto fresh = token_bucket::per_second(sub.send_rate_limit.rps, sub.send_rate_limit.burst);
    auto it = send_limits_.find(sub.name);
    const bool same = it != send_limits_.end() && it->second.interval() == fresh.interval() &&
                      it->second.burst() == fresh.burst();
    limits.emplace(sub.name, same ? it->second : fresh);
  }
  send_limits_ = std::move(limits);
  channels_.clear();
  for (const auto& ch : tenant.channels) {
    if (auto out = adapters::outbound_for(ch)) {
      channels_.emplace(ch.name, std::move(out));
    }
  }
}

std::shared_ptr<const adapters::outbound_channel> outbound_api_state::channel(
    const std::string& name) const {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second;
}

int outbound_api_state::admit(const std::string& caller, outbound::time_point now) {
  auto it = send_limits_.find(caller);
  if (it == send_limits_.end() || it->second.take(now)) {
    return 0;
  }
  const auto secs =
      std::chrono::ceil<std::chrono::seconds>(it->second.time_until_available(now)).count();
  return secs < 1 ? 1 : static_cast<int>(secs);
}

const outbound_api_state::key_entry* outbound_api_state::find_key(const std::string& caller,
                                                                  const std::string& key,
                                                                  outbound::time_point now) const {
  auto it = keys_.find(key_of(caller, key));
  if (it == keys_.end() || (!it->second.in_flight && now - it->second.at > k_key_memory)) {
    return nullptr;
  }
  return &it->second;
}

void outbound_api_state::begin_key(const std::string& caller, const std::string& key,
                                   outbound::time_point now) {
  auto k = key_of(caller, key);
  keys_[k] = key_entry{true, {}, now};
  key_order_.push_back(std::move(k));
  // Bounded: the oldest keys go first (a replay of a forgotten key is still caught by the
  // outbox, which keeps (caller, key) with the message).
  while (key_order_.size() > k_max_keys) {
    keys_.erase(key_order_.front());
    key_order_.pop_front();
  }
}

void outbound_api_state::end_key(const std::string& caller, const std::string& key,
                                 const std::string& id, outbound::time_point now) {
  auto k = key_of(caller, key);
  if (id.empty()) {
    keys_.erase(k);
    return;
  }
  auto [it, inserted] = keys_.insert_or_assign(k, key_entry{false, id, now});
  if (inserted) {  // evicted while in flight: count it again
    key_order_.push_back(std::move(k));
    while (key_order_.size() > k_max_keys) {
      keys_.erase(key_order_.front());
      key_order_.pop_front();
    }
  }
}

metrics::counter& outbound_api_state::messages_counter(const std::string& channel,
                                                       std::string_view state) {
  auto& c = counters_[channel + '\n' + std::string(state)];
  if (c == nullptr) {
    c = &metrics::catalog::outbound_messages(tenant_, channel, state);
  }
  return *c;
}

metrics::counter* outbound_api_state::refusals_counter(errc reason) {
  switch (reason) {
    case errc::window_closed:
    case errc::consent_required:
    case errc::opted_out:
    case errc::restricted:
      break;
    default:
      return nullptr;
  }
  auto& c = counters_[std::string("\n") + to_string(reason)];  // no channel name starts with \n
  if (c == nullptr) {
    c = &metrics::catalog::outbound_refusals(tenant_, reason);
  }
  return c;
}

bool outbound_api_state::may_warn(outbound::time_point now, std::uint64_t& suppressed) {
  if (warned_ && now - last_warn_ < k_warn_interval) {
    ++suppressed_;
    return false;
  }
  warned_ = true;
  last_warn_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

namespace {

/// Logs a failed background write of the outbound bookkeeping, throttled (see `may_warn`).
/// In the tenant actor's context, which owns `out`.
void warn_write(outbound_api_state* out, const std::string& tenant, const char* what,
                const std::string& why) {
  std::uint64_t suppressed = 0;
  if (out->may_warn(outbound::clock::now(), suppressed)) {
    log::warn("outbound", "tenant ", tenant, ": ", what, ": ", why,
              suppressed > 0 ? " (and " + std::to_string(suppressed) + " similar)" : "");
  }
}

/// A window query or a send that takes longer than this is answered 503 (retry).
constexpr std::chrono::seconds k_window_timeout{5};
/// The sender stores the message through the outbox writer before it answers.
constexpr std::chrono::seconds k_send_timeout{20};
/// A receipt that found no message is looked up once more after this (see `receipt::lookups`).
constexpr std::chrono::seconds k_receipt_retry{2};

std::string header_of(const api_call& c, std::string_view name) {
  for (const auto& [k, v] : c.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

http_response accepted(const store::outbound_record& r, bool replayed) {
  http_response res;
  res.status = 202;
  json::writer(res.body)
      .begin_object()
      .field("id", r.id)
      .field("state", store::to_string(r.state))
      .end_object();
  res.headers.emplace_back("Location", "/v1/messages/" + r.id);
  if (replayed) {
    res.headers.emplace_back("Idempotent-Replayed", "true");
  }
  return res;
}

std::string message_view(const store::outbound_record& r) {
  std::string out;
  json::writer w(out);
  w.begin_object();
  w.field("id", r.id).field("state", store::to_string(r.state));
  w.field("channel", r.channel).field("conversation", r.conversation);
  w.field("purpose", r.purpose);
  w.key("attempts").value(static_cast<std::uint64_t>(r.attempts));
  w.key("platform_message_id");
  if (r.platform_message_id.empty()) {
    w.null();
  } else {
    w.value(r.platform_message_id);
  }
  w.key("error");
  if (r.error_code.empty() && r.error_title.empty()) {
    w.null();
  } else {
    w.begin_object().field("code", r.error_code).field("title", r.error_title).end_object();
  }
  w.field("created_at", to_rfc3339(r.created_at)).field("updated_at", to_rfc3339(r.updated_at));
  w.end_object();
  return out;
}

event status_event(const config::tenant_config& tenant, const store::outbound_record& r,
                   const outbound::receipt& what) {
  event e;
  e.tenant = r.tenant;
  e.type = event_type::outbound_status;
  e.channel.name = r.channel;
  if (const auto* ch = tenant.find_channel(r.channel)) {
    e.channel.type = ch->type;
    if (const auto* info = adapters::find(ch->type); info != nullptr && info->account) {
      e.channel.account = info->account(*ch);
    }
  }
  e.conversation = r.conversation;
  e.subject = r.subject;
  e.occurred_at = what.at;
  outbound_info o;
  o.id = r.id;
  o.state = store::to_string(what.state);
  o.platform_message_id = r.platform_message_id;
  o.attempts = r.attempts;
  o.purpose = r.purpose;
  o.error_code = what.error_code;
  o.error_title = what.error_title;
  e.outbound = std::move(o);
  // One event per message and state, however often the platform repeats the receipt.
  e.dedupe_key = store::outbound_dedupe_key(r.id, what.state).str();
  return e;
}

/// Finds the messages `receipts` are about, on the outbox writer, and tells the tenant.
void look_up_receipts(const tenant_api_env& env, std::vector<outbound::receipt> receipts) {
  if (!env.outbox) {
    warn_write(env.outbound, env.tenant->id, "receipts not correlated",
               "the outbox writer is restarting");
    return;
  }
  outbox_task task;
  task.run = [tenant = env.tenant->id, me = caf::actor_cast<tenant_actor>(env.self),
              receipts = std::move(receipts)](store::outbox& box) {
    resolved_receipts out;
    for (const auto& rc : receipts) {
      outbound::receipt one = rc;
      one.ids.clear();
      ++one.lookups;
      if (!rc.platform_message_id.empty()) {
        auto r = box.find_by_platform_id(tenant, rc.channel, rc.platform_message_id);
        if (r) {
          out.items.push_back({one, std::move(*r)});
        } else if (r.err().code == errc::not_found && one.lookups < 2) {
          out.not_found.push_back(one);
        }
      }
      for (const auto& id : rc.ids) {
        if (auto r = box.get(tenant, id)) {
          out.items.push_back({one, std::move(*r)});
        }
      }
    }
    if (!out.items.empty() || !out.not_found.empty()) {
      caf::anon_send(me, receipts_atom::value, std::move(out));
    }
  };
  env.self->send(env.outbox, task_atom::value, std::move(task));
}

/// One `POST /v1/messages` in flight: the flow (outbound/send_flow.hpp) and what its driver
/// needs to perform the flow's steps. Lives in the tenant actor's context, shared by the
/// continuations of its requests.
struct send_run {
  send_run(tenant_api_env e, outbound::send_flow f, outbound::time_point at, responder_ptr rp)
      : env(std::move(e)), flow(std::move(f)), admitted_at(at), reply(std::move(rp)) {}

  tenant_api_env env;
  outbound::send_flow flow;
  outbound::time_point admitted_at;  ///< steady time of the request (rate limit, key memory)
  responder_ptr reply;
  sender_actor sender;  ///< the channel's, from `find_sender` on
};

/// The send flow's answer as HTTP.
http_response to_response(const outbound::send_answer& a) {
  if (a.code != errc::ok) {
    return error_response(a.code, a.message, a.retry_after_s);
  }
  return accepted(a.record, a.replayed);
}

/// The consent and window policy (src/outbound/send_policy.hpp) on what the flow knows: nothing
/// when the message may go, else the refusal (counted).
std::optional<error> decide(const tenant_api_env& env, const outbound::send_flow& f) {
  const auto& m = f.message();
  outbound::send_facts facts;
  facts.window = f.sending_side()->window();
  facts.is_template = m.template_message.has_value();
  facts.messaging_type = m.messaging_type;
  facts.tag = m.tag;
  facts.purpose = privacy::parse_purpose(m.purpose).value_or(privacy::purpose::support);
  if (env.consents) {
    facts.consent = env.consents->find(env.tenant->id, f.subject());
  }
  facts.tenant_allows_replies = env.tenant->privacy.allow_replies_after_opt_out;
  facts.last_inbound_ms = f.last_inbound_ms();
  facts.now = sb::now();
  auto refusal = outbound::decide_send(facts);
  if (!refusal) {
    return std::nullopt;
  }
  if (auto* c = env.outbound->refusals_counter(refusal->code)) {
    c->inc();
  }
  return error{refusal->code, std::move(refusal->message)};
}

/// Performs the flow's steps until one waits for an answer or the flow is done, then answers
/// (and ends the key's time in flight).
void drive(const std::shared_ptr<send_run>& r) {
  auto& f = r->flow;
  auto& env = r->env;
  auto& out = *env.outbound;
  for (;;) {
    switch (f.next()) {
      case outbound::send_step::admit:
        f.on_admission(out.admit(f.caller(), r->admitted_at));
        break;
      case outbound::send_step::check_key: {
        outbound::key_memory m;
        if (const auto* known = out.find_key(f.caller(), f.key(), r->admitted_at)) {
          m.st = known->in_flight ? outbound::key_memory::state::in_flight
                                  : outbound::key_memory::state::created;
          m.id = known->id;
        }
        f.on_key(m);
        break;
      }
      case outbound::send_step::find_sender:
        r->sender = env.sender_of ? env.sender_of(f.channel()) : decltype(r->sender){};
        f.on_sender(r->sender && env.outbox);
        if (f.holds_key()) {
          out.begin_key(f.caller(), f.key(), r->admitted_at);
        }
        break;
      case outbound::send_step::look_up: {
        // What the outbox knows before the message is judged: the message the request's
        // Idempotency-Key already created (after a restart the memory of keys is empty, and the
        // window or consent may have changed since: the first answer stands), and the real peer
        // of a pseudonymous conversation.
        outbox_lookup q;
        q.tenant = env.tenant->id;
        q.caller = f.caller();
        q.idempotency_key = f.message().idempotency_key;
        q.conversation = f.resolving();
        env.self->request(env.outbox, k_window_timeout, resolve_atom::value, std::move(q))
            .then(
                [r](outbox_lookup& l) {
                  r->flow.on_looked_up({l.st, std::move(l.earlier), std::move(l.peer)});
                  drive(r);
                },
                [r](caf::error&) {
                  r->flow.on_no_answer();
                  drive(r);
                });
        return;
      }
      case outbound::send_step::read_earlier: {
        // Answered from the outbox's record, on the outbox writer: the flow moves there (a key
        // known in memory is not held again, so nothing is left to do in the tenant).
        if (!env.outbox) {
          f.on_no_answer();
          break;
        }
        outbox_task task;
        task.run = [tenant = env.tenant->id, flow = std::move(f),
                    reply = r->reply](store::outbox& box) mutable {
          flow.on_earlier(box.get(tenant, flow.earlier_id()));
          reply->answer(to_response(flow.answer()));
        };
        env.self->send(env.outbox, task_atom::value, std::move(task));
        return;
      }
      case outbound::send_step::read_window:
        // The window lives in the conversation actor (restored from the outbox when it starts);
        // the events committed before this call reached it first (same sender, the tenant).
        env.self
            ->request(env.conversation_of(f.message().conversation), k_window_timeout,
                      window_atom::value, env.outbox)
            .then(
                [r](std::int64_t last_inbound_ms) {
                  r->flow.on_window(last_inbound_ms);
                  drive(r);
                },
                [r](caf::error&) {
                  r->flow.on_no_answer();
                  drive(r);
                });
        return;
      case outbound::send_step::decide:
        f.on_decided(decide(env, f));
        break;
      case outbound::send_step::hand_to_sender:
        env.self->request(r->sender, k_send_timeout, send_atom::value, outbound_send{f.record()})
            .then(
                [r](send_accepted& a) {
                  r->flow.on_sender_reply({a.st, std::move(a.record), a.created});
                  drive(r);
                },
                [r](caf::error&) {
                  r->flow.on_no_answer();
                  drive(r);
                });
        return;
      case outbound::send_step::done: {
        if (f.holds_key()) {
          out.end_key(f.caller(), f.key(), f.key_id(), outbound::clock::now());
        }
        const auto& a = f.answer();
        if (a.code == errc::ok && !a.replayed) {
          out.messages_counter(a.record.channel, "queued").inc();
        }
        r->reply->answer(to_response(a));
        return;
      }
    }
  }
}

}  // namespace

// -- message.send -----------------------------------------------------------------------------

void send_message(const tenant_api_env& env, api_call& c) {
  if (env.outbound == nullptr) {
    c.reply->answer(error_response(errc::unavailable, "the tenant is starting; retry", 1));
    return;
  }
  outbound::send_request req;
  req.caller = c.caller;
  req.content_type = header_of(c, "content-type");
  req.idempotency_key = header_of(c, "idempotency-key");
  req.body = std::move(c.body);
  outbound::send_setup setup;
  setup.tenant = env.tenant;
  setup.subject_key = env.outbound->subject_key();
  setup.has_outbox = env.has_outbox;
  setup.channel_of = [out = env.outbound](const std::string& name) { return out->channel(name); };
  auto r = std::make_shared<send_run>(env, outbound::send_flow(std::move(req), std::move(setup)),
                                      outbound::clock::now(), c.reply);
  drive(r);
}

// -- message.get ------------------------------------------------------------------------------

void get_message(const tenant_api_env& env, api_call& c) {
  if (c.params.empty()) {
    c.reply->answer(error_response(errc::not_found, "no message with that id"));
    return;
  }
  if (!env.has_outbox) {
    c.reply->answer(error_response(errc::not_found, "no message with that id"));
    return;
  }
  if (!env.outbox) {
    c.reply->answer(error_response(errc::unavailable, "the outbox is restarting; retry", 1));
    return;
  }
  outbox_task task;
  task.run = [tenant = env.tenant->id, id = c.params.front(), reply = c.reply](store::outbox& box) {
    auto r = box.get(tenant, id);  // another tenant's id is not_found too
    if (r) {
      http_response res;
      res.body = message_view(*r);
      reply->answer(std::move(res));
    } else if (r.err().code == errc::not_found) {
      reply->answer(error_response(errc::not_found, "no message with that id"));
    } else {
      reply->answer(error_response(errc::unavailable, "could not read the outbox; retry", 1));
    }
  };
  env.self->send(env.outbox, task_atom::value, std::move(task));
}

// -- commits and receipts ---------------------------------------------------------------------

void on_outbound_commit(const tenant_api_env& env, const std::vector<event>& events) {
  if (env.outbound == nullptr) {
    return;
  }
  if (env.outbox) {
    // One write per conversation and commit (the newest message of the person), and the
    // tenant's window head (outbound/window_rows.hpp). A pseudonymizing tenant's conversations
    // are named by a keyed hash of the person's id; the write records that id too (sealed at
    // rest), so that a reply by conversation reaches them (`peer_of`): this is the only place
    // that still sees it.
    outbox_batch batch;
    batch.writes =
        outbound::window_writes(env.tenant->id, env.tenant->privacy.pseudonymize, events);
    if (!batch.writes.empty()) {
      env.self->request(env.outbox, env.settings.store_timeout, write_atom::value, std::move(batch))
          .then(
              [out = env.outbound, tenant = env.tenant->id](outbox_batch& done) {
                if (!done.st) {
                  warn_write(out, tenant, "last inbound times not stored", done.st.err().message);
                }
              },
              [out = env.outbound, tenant = env.tenant->id](caf::error& err) {
                warn_write(out, tenant, "last inbound times not stored", caf::to_string(err));
              });
    }
  }
  auto receipts = env.outbound->correlator().on_committed(events);
  if (!receipts.empty()) {
    look_up_receipts(env, std::move(receipts));
  }
}

void retry_receipts(const tenant_api_env& env, pending_receipts& r) {
  if (!r.items.empty()) {
    look_up_receipts(env, std::move(r.items));
  }
}

void apply_receipts(const tenant_api_env& env, resolved_receipts& r) {
  if (!r.not_found.empty()) {
    env.self->delayed_send(env.self, k_receipt_retry, receipts_atom::value,
                           pending_receipts{std::move(r.not_found)});
  }
  if (r.items.empty()) {
    return;
  }
  if (!env.outbox) {
    warn_write(env.outbound, env.tenant->id, "receipts not applied",
               "the outbox writer is restarting");
    return;
  }
  const timestamp now = sb::now();
  outbox_batch batch;
  for (const auto& item : r.items) {
    store::outbox_write w;
    w.what = store::outbox_write::kind::update;
    w.update.tenant = env.tenant->id;
    w.update.id = item.record.id;
    w.update.state = item.what.state;
    w.update.forward_only = true;  // receipts arrive out of order; read never becomes delivered
    if (!item.what.error_code.empty() || !item.what.error_title.empty()) {
      w.update.error_code = item.what.error_code;
      w.update.error_title = item.what.error_title;
    }
    w.update.updated_at = now;
    batch.writes.push_back(std::move(w));
  }
  auto* self = env.self;
  env.self->request(env.outbox, env.settings.store_timeout, write_atom::value, std::move(batch))
      .then(
          [self, out = env.outbound, cfg = env.cfg, tenant = env.tenant, store = env.store,
           timeout = env.settings.store_timeout, items = std::move(r.items)](outbox_batch& done) {
            if (!done.st) {
              warn_write(out, tenant->id, "receipts not applied", done.st.err().message);
              return;
            }
            std::vector<event> events;
            for (std::size_t i = 0; i < items.size() && i < done.writes.size(); ++i) {
              if (done.writes[i].applied) {
                out->messages_counter(items[i].record.channel,
                                      store::to_string(items[i].what.state))
                    .inc();
                events.push_back(status_event(*tenant, items[i].record, items[i].what));
              }
            }
            if (events.empty()) {
              return;
            }
            emit_events(self, store, caf::actor_cast<tenant_actor>(self), std::move(events),
                        timeout, [out, id = tenant->id](result<std::vector<event>> emitted) {
                          if (!emitted) {
                            warn_write(out, id, "outbound.status not stored",
                                       emitted.err().message);
                          }
                        });
          },
          [out = env.outbound, tenant = env.tenant->id](caf::error& err) {
            warn_write(out, tenant, "receipts not applied", caf::to_string(err));
          });
}

}  // namespace sb::actors

#include "actors/outbound_api.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

#include "actors/actors.hpp"
#include "actors/channel_logic.hpp"
#include "actors/conversation_state.hpp"
#include "actors/send_policy.hpp"
#include "adapters/adapter.hpp"
#include "adapters/outbound.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "privacy/consent.hpp"
#include "privacy/redact.hpp"

namespace sb::actors {

// -- outbound_api_state -----------------------------------------------------------------------

outbound_api_state::outbound_api_state(const config::config& cfg,
                                       const config::tenant_config& tenant)
    : tenant_(tenant.id), subject_key_(derive_subject_key(cfg.storage.master_key, tenant.id)) {
  for (const auto& sub : tenant.subscribers) {
    if (sub.send_rate_limit.rps > 0) {
      send_limits_.emplace(sub.name, outbound::token_bucket::per_second(sub.send_rate_limit.rps,
                                                                        sub.send_rate_limit.burst));
    }
  }
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
constexpr std::size_t k_max_idempotency_key = 255;

std::string header_of(const api_call& c, std::string_view name) {
  for (const auto& [k, v] : c.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

bool is_json_type(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const auto semi = type.find(';');
  auto media = type.substr(0, semi);
  media.erase(media.find_last_not_of(" \t") + 1);
  return media == "application/json";
}

/// Stripe's rule: 1 to 255 characters; visible ASCII keeps keys loggable and comparable.
bool valid_idempotency_key(const std::string& k) {
  return !k.empty() && k.size() <= k_max_idempotency_key &&
         std::all_of(k.begin(), k.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
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

/// Whether `m` asks for the same message as the one stored in `stored` (the fields the caller
/// gave; the gateway's own are copied over).
bool same_request(const adapters::outbound_message& m, const store::outbound_record& stored) {
  auto earlier = adapters::outbound_from_json(stored.message);
  if (!earlier) {
    return false;
  }
  adapters::outbound_message candidate = m;
  // One conversation is one person: a request that names a pseudonymous conversation asks for
  // the same recipient as the stored message, whose `to` is the person's real id.
  if (candidate.conversation == earlier->conversation) {
    candidate.to = earlier->to;
  }
  candidate.id = earlier->id;
  candidate.tenant = earlier->tenant;
  candidate.channel_type = earlier->channel_type;
  candidate.idempotency_key = earlier->idempotency_key;
  candidate.created_at = earlier->created_at;
  return adapters::to_json(candidate) == adapters::to_json(*earlier);
}

/// The answer to a request whose Idempotency-Key already created `stored`: the same 202, unless
/// the key is reused for another message.
http_response replay_response(const adapters::outbound_message& m,
                              const store::outbound_record& stored) {
  if (!same_request(m, stored)) {
    return error_response(errc::idempotency_conflict,
                          "this Idempotency-Key was used for another message (" + stored.id +
                              "); use a new key for a new message");
  }
  return accepted(stored, true);
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

/// What a send carries from its first step to its answer: [the outbox lookup (idempotency key,
/// pseudonymous conversation)], the window query, consent and the window, the sender. The steps
/// run in the tenant actor's context, which owns what `env` points to.
struct pending_send {
  tenant_api_env env;
  const config::channel_config* channel = nullptr;        ///< into `env.cfg`
  std::shared_ptr<const adapters::outbound_channel> out;  ///< the channel's sending side
  std::string account;  ///< the channel's platform account (subjects, pseudonyms)
  sender_actor sender;
  adapters::outbound_message msg;
  std::string subject;
  std::string caller;
  /// The tenant pseudonymizes: the record's plain `recipient` is the conversation's pseudonym.
  bool pseudonymous = false;
  responder_ptr reply;

  /// Answers, and forgets the request's Idempotency-Key unless it created `id`.
  void finish(http_response r, const std::string& id = {}) {
    if (!msg.idempotency_key.empty()) {
      env.outbound->end_key(caller, msg.idempotency_key, id, outbound::clock::now());
    }
    reply->answer(std::move(r));
  }
};

void hand_to_sender(const std::shared_ptr<pending_send>& p) {
  const auto& m = p->msg;
  store::outbound_record r;
  r.id = m.id;
  r.tenant = m.tenant;
  r.channel = m.channel;
  r.conversation = m.conversation;
  // No plain column holds the id of a pseudonymizing tenant's person (store/outbox.hpp).
  r.recipient = p->pseudonymous ? m.conversation.substr(m.channel.size() + 1) : m.to;
  r.subject = p->subject;
  r.purpose = m.purpose;
  r.message = adapters::to_json(m);
  r.state = store::outbound_state::queued;
  r.created_at = m.created_at;
  r.updated_at = m.created_at;
  r.caller = p->caller;
  r.idempotency_key = m.idempotency_key;
  p->env.self->request(p->sender, k_send_timeout, send_atom::value, outbound_send{std::move(r)})
      .then(
          [p](send_accepted& a) {
            if (!a.st) {
              const auto code = a.st.err().code;
              const bool retry = code == errc::overloaded || code == errc::unavailable;
              p->finish(error_response(code, a.st.err().message, retry ? 1 : 0));
            } else if (!a.created) {
              // The outbox knew the key (a put that raced the lookup): the earlier message
              // stands.
              p->finish(replay_response(p->msg, a.record), a.record.id);
            } else {
              p->env.outbound->messages_counter(a.record.channel, "queued").inc();
              p->finish(accepted(a.record, false), a.record.id);
            }
          },
          [p](caf::error&) {
            p->finish(error_response(errc::unavailable,
                                     "the channel's sender did not confirm the message; retry "
                                     "(with the same Idempotency-Key a retry cannot send twice)",
                                     1));
          });
}

void decide_and_send(const std::shared_ptr<pending_send>& p, std::int64_t last_inbound_ms) {
  const auto& m = p->msg;
  send_facts f;
  f.window = p->out->window();
  f.is_template = m.template_message.has_value();
  f.messaging_type = m.messaging_type;
  f.tag = m.tag;
  f.purpose = privacy::parse_purpose(m.purpose).value_or(privacy::purpose::support);
  if (p->env.consents) {
    f.consent = p->env.consents->find(p->env.tenant->id, p->subject);
  }
  f.tenant_allows_replies = p->env.tenant->privacy.allow_replies_after_opt_out;
  f.last_inbound_ms = last_inbound_ms;
  f.now = sb::now();
  if (auto refusal = decide_send(f)) {
    if (auto* c = p->env.outbound->refusals_counter(refusal->code)) {
      c->inc();
    }
    p->finish(error_response(refusal->code, refusal->message));
    return;
  }
  hand_to_sender(p);
}

/// The person's subject, then the conversation's window, then the decision.
void judge_and_send(const std::shared_ptr<pending_send>& p) {
  p->subject =
      ids::subject_id(p->env.outbound->subject_key(), p->channel->type, p->account, p->msg.to);
  // The window lives in the conversation actor (restored from the outbox when it starts); the
  // events committed before this call reached it first (same sender, the tenant).
  p->env.self
      ->request(p->env.conversation_of(p->msg.conversation), k_window_timeout, window_atom::value,
                p->env.outbox)
      .then([p](std::int64_t last_inbound_ms) { decide_and_send(p, last_inbound_ms); },
            [p](caf::error&) {
              p->finish(error_response(errc::unavailable,
                                       "the conversation's window could not be read; retry", 1));
            });
}

/// Asks the outbox what it knows before the message is judged: the message the request's
/// Idempotency-Key already created (after a restart the memory of keys is empty, and the window
/// or consent may have changed since: the first answer stands), and the real peer of a
/// pseudonymous conversation (`resolve`).
void look_up_then_send(const std::shared_ptr<pending_send>& p, bool resolve) {
  outbox_lookup q;
  q.tenant = p->env.tenant->id;
  q.caller = p->caller;
  q.idempotency_key = p->msg.idempotency_key;
  if (resolve) {
    q.conversation = p->msg.conversation;
  }
  p->env.self->request(p->env.outbox, k_window_timeout, resolve_atom::value, std::move(q))
      .then(
          [p, resolve](outbox_lookup& r) {
            if (!r.st) {
              p->finish(error_response(errc::unavailable, "could not read the outbox; retry", 1));
              return;
            }
            if (r.earlier) {
              p->finish(replay_response(p->msg, *r.earlier), r.earlier->id);
              return;
            }
            if (resolve) {
              if (r.peer.empty()) {
                p->finish(error_response(
                    errc::unknown_conversation,
                    "field 'conversation' (or 'to') names no person this gateway knows: '" +
                        p->msg.conversation +
                        "' (a pseudonymous conversation is known from the person's messages "
                        "until they are erased or expire)"));
                return;
              }
              p->msg.to = std::move(r.peer);
              if (auto valid = adapters::validate(*p->channel, p->out.get(), p->msg); !valid) {
                p->finish(error_response(valid.err().code, valid.err().message));
                return;
              }
            }
            judge_and_send(p);
          },
          [p](caf::error&) {
            p->finish(error_response(errc::unavailable, "could not read the outbox; retry", 1));
          });
}

/// Whether `to` has the form of `privacy::pseudonymous_peer`: "anon_" + 16 letters and digits.
bool is_pseudonym(std::string_view to) {
  constexpr std::string_view prefix = "anon_";
  return to.size() == prefix.size() + 16 && to.substr(0, prefix.size()) == prefix &&
         std::all_of(to.begin() + prefix.size(), to.end(),
                     [](unsigned char ch) { return std::isalnum(ch) != 0; });
}

/// Answers a key known in memory from the outbox's record of its message.
void replay_from_outbox(const tenant_api_env& env, api_call& c, const std::string& id,
                        adapters::outbound_message msg) {
  if (!env.outbox) {
    c.reply->answer(error_response(errc::unavailable, "the outbox is restarting; retry", 1));
    return;
  }
  outbox_task task;
  task.run = [tenant = env.tenant->id, id, msg = std::move(msg),
              reply = c.reply](store::outbox& box) {
    auto r = box.get(tenant, id);
    if (r) {
      reply->answer(replay_response(msg, *r));
    } else if (r.err().code == errc::not_found) {
      reply->answer(error_response(errc::idempotency_conflict,
                                   "the message this Idempotency-Key created (" + id +
                                       ") is gone (erased or expired); use a new key"));
    } else {
      reply->answer(error_response(errc::unavailable, "could not read the outbox; retry", 1));
    }
  };
  env.self->send(env.outbox, task_atom::value, std::move(task));
}

event status_event(const config::tenant_config& tenant, const store::outbound_record& r,
                   const receipt& what) {
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
  e.dedupe_key = "outbound:" + r.id + ":" + store::to_string(what.state);
  return e;
}

/// Finds the messages `receipts` are about, on the outbox writer, and tells the tenant.
void look_up_receipts(const tenant_api_env& env, std::vector<receipt> receipts) {
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
      receipt one = rc;
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

}  // namespace

// -- message.send -----------------------------------------------------------------------------

void send_message(const tenant_api_env& env, api_call& c) {
  if (env.outbound == nullptr) {
    c.reply->answer(error_response(errc::unavailable, "the tenant is starting; retry", 1));
    return;
  }
  auto& out = *env.outbound;
  const auto steady_now = outbound::clock::now();
  if (int wait_s = out.admit(c.caller, steady_now); wait_s > 0) {
    c.reply->answer(error_response(errc::rate_limited,
                                   "this token's send rate limit (send_rate_limit) is exceeded; "
                                   "retry later",
                                   wait_s));
    return;
  }
  if (auto type = header_of(c, "content-type"); !type.empty() && !is_json_type(type)) {
    c.reply->answer(
        error_response(errc::unsupported_media, "send the body as Content-Type application/json"));
    return;
  }
  auto parsed = adapters::parse_send_request(c.body);
  if (!parsed) {
    c.reply->answer(error_response(parsed.err().code, parsed.err().message));
    return;
  }
  adapters::outbound_message msg = std::move(parsed->message);
  const config::channel_config* ch = env.tenant->find_channel(msg.channel);
  if (ch == nullptr) {
    c.reply->answer(error_response(errc::unknown_channel,
                                   "field 'channel' (or the channel of 'conversation') names no "
                                   "channel of this tenant: '" +
                                       msg.channel + "'"));
    return;
  }
  auto sender_side = out.channel(ch->name);
  adapters::apply_defaults(*ch, sender_side.get(), msg);
  const bool sendable = sender_side != nullptr;
  // A pseudonymizing tenant's events name conversations "<channel>:anon_…" (privacy/redact.hpp):
  // its backend replies by that pseudonym, resolved to the person through the outbox, and a
  // message to a real id belongs to the same pseudonymous conversation (window, receipts,
  // events).
  const bool pseudonymous = sendable && env.tenant->privacy.pseudonymize;
  const bool resolve = pseudonymous && is_pseudonym(msg.to);
  std::string account = sendable ? sender_side->account() : std::string();
  if (pseudonymous && !resolve) {
    msg.conversation =
        ch->name + ":" + privacy::pseudonymous_peer(out.subject_key(), ch->type, account, msg.to);
  }
  // The recipient's form is checked once the pseudonym is resolved.
  if (!resolve) {
    if (auto valid = adapters::validate(*ch, sender_side.get(), msg); !valid) {
      c.reply->answer(error_response(valid.err().code, valid.err().message));
      return;
    }
  }
  if (!sendable) {
    c.reply->answer(error_response(errc::bad_request, "channel '" + ch->name + "' (type " +
                                                          ch->type + ") cannot send messages"));
    return;
  }
  const std::string key = header_of(c, "idempotency-key");
  if (!key.empty() && !valid_idempotency_key(key)) {
    c.reply->answer(error_response(
        errc::bad_request, "header 'Idempotency-Key' must be 1 to 255 visible ASCII characters"));
    return;
  }
  if (!env.has_outbox) {
    c.reply->answer(error_response(
        errc::unavailable, "this gateway keeps no outbox, so it cannot accept messages to send"));
    return;
  }
  if (!key.empty()) {
    if (const auto* known = out.find_key(c.caller, key, steady_now)) {
      if (known->in_flight) {
        c.reply->answer(error_response(
            errc::idempotency_conflict,
            "a request with this Idempotency-Key is still in progress; retry once it is answered"));
      } else {
        replay_from_outbox(env, c, known->id, std::move(msg));
      }
      return;
    }
  }
  sender_actor sender = env.sender_of ? env.sender_of(ch->name) : sender_actor{};
  if (!sender || !env.outbox) {
    c.reply->answer(
        error_response(errc::unavailable, "the channel's sender is restarting; retry", 1));
    return;
  }

  auto p = std::make_shared<pending_send>();
  p->env = env;
  p->channel = ch;
  p->out = std::move(sender_side);
  p->account = std::move(account);
  p->sender = std::move(sender);
  p->caller = c.caller;
  p->pseudonymous = pseudonymous;
  p->reply = c.reply;
  msg.id = ids::make("out_");
  msg.tenant = env.tenant->id;
  msg.idempotency_key = key;
  msg.created_at = sb::now();
  p->msg = std::move(msg);
  if (!key.empty()) {
    out.begin_key(c.caller, key, steady_now);
  }
  if (!key.empty() || resolve) {
    look_up_then_send(p, resolve);
  } else {
    judge_and_send(p);
  }
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
    // One write per conversation and commit: the newest message of the person. A
    // pseudonymizing tenant's conversations are named by a keyed hash of the person's id; the
    // write records that id too (sealed at rest), so that a reply by conversation reaches them
    // (`peer_of`): this is the only place that still sees it.
    const bool pseudonymous = env.tenant->privacy.pseudonymize;
    std::unordered_map<std::string, std::size_t> index;
    outbox_batch batch;
    for (const auto& e : events) {
      if (e.conversation.empty() || !opens_window(e)) {
        continue;
      }
      const std::int64_t at = window_time(e).unix_ms;
      if (at <= 0) {
        continue;
      }
      auto [it, inserted] = index.emplace(e.conversation, batch.writes.size());
      if (!inserted) {
        auto& w = batch.writes[it->second];
        w.at_ms = std::max(w.at_ms, at);
        continue;
      }
      store::outbox_write w;
      w.what = store::outbox_write::kind::last_inbound;
      w.tenant = env.tenant->id;
      w.conversation = e.conversation;
      w.at_ms = at;
      w.subject = e.subject;
      if (pseudonymous && !e.peer.empty() && e.conversation != e.channel.name + ":" + e.peer) {
        w.peer = e.peer;
      }
      batch.writes.push_back(std::move(w));
    }
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

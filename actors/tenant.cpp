#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

#include "actors/actors.hpp"
#include "actors/api.hpp"
#include "actors/consent_api.hpp"
#include "actors/events_page.hpp"
#include "actors/outbound_api.hpp"
#include "actors/privacy_api.hpp"
#include "actors/visitor_stream_logic.hpp"
#include "config/diff.hpp"
#include "core/conversation_lru.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/restart_policy.hpp"
#include "outbound/conversation_state.hpp"
#include "privacy/redact.hpp"
#include "store/announced_head.hpp"

namespace sb::actors {

struct tenant_state {
  tenant_init init;
  const config::tenant_config* cfg = nullptr;
  std::unordered_map<std::string, channel_actor> channels;  // absent while restarting
  std::unordered_map<caf::actor_addr, std::string> channel_by_addr;
  std::unordered_map<std::string, restart_policy> channel_restarts;
  /// Live conversation actors by key, least recently used last, at most
  /// `limits.conversations_per_tenant` (set at start).
  std::optional<conversation_lru<conversation_actor>> conversations;
  std::unordered_map<caf::actor_addr, std::string> conversation_by_addr;
  /// Conversation actors stopped to make room that still finish a window query (they quit
  /// when it is answered); no longer routed to.
  std::unordered_map<caf::actor_addr, conversation_actor> evicting;
  /// What streams, pull and push may read up to: every event up to it was committed here, its
  /// consent change (keywords) applied (store/announced_head.hpp). From the log's head at start.
  store::announced_head announced;
  /// The log's head at the last settle tick (`settle_atom` to self): a seq up to it still not
  /// announced at the next tick lost its commit and is given up on.
  std::uint64_t settle_mark = 0;
  std::unordered_map<caf::actor_addr, stream_actor> streams;
  /// When the streams last heard of the head, and whether an announcement to them is held back.
  std::chrono::steady_clock::time_point streams_told{};
  bool streams_pending = false;
  /// Web chat visitor streams, apart from `streams`: by conversation, woken only by their own
  /// conversation's announced commits (actors/visitor_stream.hpp).
  visitor_streams<caf::actor_addr, stream_actor> visitors;
  std::unordered_map<std::string, subscriber_actor> subscribers;  // push; absent while restarting
  std::unordered_map<caf::actor_addr, std::string> subscriber_by_addr;
  std::unordered_map<std::string, restart_policy> subscriber_restarts;
  std::uint64_t subscriber_restart_count = 0;
  // Outbound (docs/outbound.md): the gateway's outbox writer (the root's, shared by every
  // tenant: `outbox_atom` hands over a restarted one) and one sender per sendable channel,
  // absent while restarting. The API handlers send `outbound_send` to `senders[channel]`.
  outbox_writer_actor outbox_writer;
  std::unordered_map<std::string, sender_actor> senders;
  std::unordered_map<caf::actor_addr, std::string> sender_by_addr;
  std::unordered_map<std::string, restart_policy> sender_restarts;
  /// Send limits, idempotency keys and receipt correlation of the outbound API.
  std::unique_ptr<outbound_api_state> outbound;
  std::uint64_t channel_restart_count = 0;
  std::uint64_t conversation_restart_count = 0;
  /// Configs a reconfigure replaced, with when: kept alive a while, since what started before
  /// (an API call's send flow, a one-shot reader) may still point into them.
  std::deque<
      std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const config::config>>>
      retired;
  /// Push subscribers and senders a reconfigure stopped to start them again with their new
  /// config once they are down (never two at once: two would deliver or send twice).
  std::unordered_map<caf::actor_addr, std::string> replacing_subscribers;
  std::unordered_map<caf::actor_addr, std::string> replacing_senders;
  bool stopping = false;
  metrics::gauge* depth = nullptr;               // switchboard_mailbox_depth{tenant,channel=""}
  metrics::gauge* conversations_live = nullptr;  // switchboard_conversation_actors{tenant}
  metrics::counter* conversations_evicted = nullptr;  // ..._evictions_total{tenant}
  static inline const char* name = "tenant";
};

namespace {

using tenant_ptr = tenant_actor::stateful_pointer<tenant_state>;

bool is_crash(const caf::error& reason) {
  return reason && reason != caf::make_error(caf::exit_reason::user_shutdown);
}

/// What a channel of the tenant's current config does with a webhook; null for an unknown type.
std::shared_ptr<channel_logic> make_channel_logic(tenant_ptr self,
                                                  const config::channel_config& ch) {
  auto& st = self->state;
  const auto* info = st.init.adapters(ch.type);
  if (info == nullptr) {
    log::error("tenant", st.cfg->id, ": channel ", ch.name, " has unknown type ", ch.type);
    return nullptr;
  }
  return std::make_shared<channel_logic>(st.cfg->id, ch, *info, st.init.cfg->storage.root_key,
                                         st.cfg->privacy, st.init.cfg->limits.events_per_webhook);
}

void spawn_channel(tenant_ptr self, const config::channel_config& ch) {
  auto& st = self->state;
  auto logic = make_channel_logic(self, ch);
  if (!logic) {
    return;
  }
  auto child = spawn_channel_actor(self, std::move(logic), st.init.store,
                                   caf::actor_cast<tenant_actor>(self), st.init.settings);
  st.channel_by_addr[child.address()] = ch.name;
  st.channels[ch.name] = std::move(child);
}

void spawn_subscriber(tenant_ptr self, const config::subscriber_config& sub) {
  auto& st = self->state;
  if (!st.init.http) {
    log::error("tenant", st.cfg->id, ": subscriber ", sub.name,
               " has push but the gateway has no HTTP client; not delivering");
    return;
  }
  subscriber_init init;
  init.tenant = st.cfg->id;
  init.sub = sub;
  init.log = st.init.stores.log;
  init.delivery = st.init.stores.delivery;
  init.http = st.init.http;
  init.settings = st.init.delivery;
  init.consents = st.init.consents;
  // The subscriber's own knobs (config `push.*`) over the gateway's delivery defaults.
  const auto& push = *sub.push;
  if (push.timeout_ms) {
    init.settings.timeout = std::chrono::milliseconds{*push.timeout_ms};
  }
  if (push.max_in_flight) {
    init.settings.max_in_flight = static_cast<std::size_t>(*push.max_in_flight);
  }
  if (push.retry_schedule_ms) {
    std::vector<std::chrono::milliseconds> delays;
    for (auto ms : *push.retry_schedule_ms) {
      delays.emplace_back(ms);
    }
    auto schedule =
        delivery::retry_schedule::make(std::move(delays), st.init.delivery.schedule.jitter());
    if (schedule) {
      init.settings.schedule = std::move(schedule).value();
    } else {
      // The loader validates the list; this only guards a config built in code.
      log::error("tenant", st.cfg->id, ": subscriber ", sub.name,
                 ": retry_schedule_ms ignored: ", schedule.err().message);
    }
  }
  auto child = spawn_subscriber_actor(self, std::move(init), st.init.store_blocks);
  // It reads up to what is announced; later announcements follow on commits.
  self->send(child, head_atom::value, st.announced.value());
  st.subscriber_by_addr[child.address()] = sub.name;
  st.subscribers[sub.name] = std::move(child);
}

/// Whether this replica runs the subscriber's push delivery: always on one gateway; with several,
/// while it holds the subscriber's lease (`tenant_init::holds_lease`).
bool holds_push_lease(tenant_ptr self, const std::string& subscriber) {
  const auto& holds = self->state.init.holds_lease;
  return !holds || holds(push_lease(self->state.cfg->id, subscriber));
}

/// Whether the tenant sends on `ch` (its type has an outbound side and the gateway an outbox).
bool sendable(tenant_ptr self, const config::channel_config& ch) {
  auto& st = self->state;
  return st.init.outbox && st.init.adapters(ch.type) != nullptr && st.outbound &&
         st.outbound->channel(ch.name) != nullptr;
}

void spawn_sender(tenant_ptr self, const config::channel_config& ch) {
  auto& st = self->state;
  if (!st.init.http || !st.outbox_writer) {
    log::error("tenant", st.cfg->id, ": channel ", ch.name,
               " cannot send: the gateway has no HTTP client or outbox writer");
    return;
  }
  sender_init init;
  init.tenant = st.cfg->id;
  init.channel = ch;
  init.adapter = st.init.adapters(ch.type);
  init.outbound = st.outbound->channel(ch.name);
  init.outbox = st.outbox_writer;
  init.store = st.init.store;
  init.http = st.init.http;
  init.privacy = st.cfg->privacy;
  init.subject_key = st.outbound->subject_key();
  init.settings = st.init.senders;
  init.leased = static_cast<bool>(st.init.holds_lease);
  auto child = spawn_sender_actor(self, std::move(init));
  if (st.init.holds_lease && st.init.holds_lease(sender_lease(st.cfg->id, ch.name))) {
    self->send(child, lease_atom::value, true);  // (re)started where the lease is held
  }
  st.sender_by_addr[child.address()] = ch.name;
  st.senders[ch.name] = std::move(child);
}

void spawn_outbound(tenant_ptr self) {
  auto& st = self->state;
  bool any = false;
  for (const auto& ch : st.cfg->channels) {
    any = any || sendable(self, ch);
  }
  if (!any) {
    return;
  }
  for (const auto& ch : st.cfg->channels) {
    if (sendable(self, ch)) {
      spawn_sender(self, ch);
    }
  }
}

const config::subscriber_config* find_push_subscriber(tenant_ptr self, const std::string& name) {
  for (const auto& sub : self->state.cfg->subscribers) {
    if (sub.name == name && sub.push) {
      return &sub;
    }
  }
  return nullptr;
}

/// Hands a dead-letter request to the named push subscriber, or answers it when there is none.
template <class Atom, class Msg>
void to_subscriber(tenant_ptr self, const std::string& name, Atom atom, Msg& m) {
  auto& st = self->state;
  auto it = st.subscribers.find(name);
  if (it != st.subscribers.end()) {
    self->send(it->second, atom, std::move(m));
    return;
  }
  if (find_push_subscriber(self, name) == nullptr) {
    m.reply->answer(error_response(errc::not_found, "no push subscriber of that name"));
  } else if (!holds_push_lease(self, name)) {
    // Several replicas: its dead letters are handled where its delivery runs.
    m.reply->answer(error_response(
        errc::unavailable, "this subscriber's push delivery runs on another replica; retry", 1));
  } else {
    m.reply->answer(error_response(errc::unavailable, "subscriber is restarting; retry", 1));
  }
}

/// Stops the least recently used conversation actor to make room. It holds nothing that is not
/// durable (conversation_state.hpp): its next event spawns a fresh one, which restores the window
/// from the outbox. It still handles what the tenant sent it before (events, a window query).
void evict_conversation(tenant_ptr self) {
  auto& st = self->state;
  auto [key, conv] = st.conversations->pop_lru();
  st.conversation_by_addr.erase(conv.address());
  self->send(conv, evict_atom::value);
  st.evicting.emplace(conv.address(), std::move(conv));
  st.conversations_evicted->inc();
}

conversation_actor conversation_for(tenant_ptr self, const std::string& key) {
  auto& st = self->state;
  auto& live = *st.conversations;
  if (auto* conv = live.touch(key)) {
    return *conv;
  }
  while (live.full()) {
    evict_conversation(self);
  }
  auto child = spawn_conversation_actor(self, st.cfg->id, key, st.init.settings.conversation_idle);
  st.conversation_by_addr[child.address()] = key;
  live.insert(key, child);
  st.conversations_live->set(static_cast<std::int64_t>(live.size()));
  return child;
}

/// Live streams hear of the head at most once per interval, which grows with their number (125 us
/// per stream, at most 25 ms). Each announcement costs every stream a message, a read and a
/// socket write, and wakes its client: announced per commit, 200 streams turned one webhook into
/// 200 of each (docs/performance.md, "Fan-out"). Held back, a stream reads and writes what several
/// commits stored in one go. An announcement after a quiet interval goes out at once, so this adds
/// no latency at low load, and under load at most the interval (0.125 ms for one stream, 25 ms
/// for 200). Measured at 200 streams (step 8): 10 ms kept 0.37 of ingest, 25 ms 0.45 to 0.5,
/// 50 ms little more at twice the delay.
constexpr std::chrono::microseconds k_stream_announce_per_stream{125};
constexpr std::chrono::microseconds k_stream_announce_max{25000};

std::chrono::microseconds stream_announce_interval(std::size_t streams) {
  return std::min(k_stream_announce_max,
                  k_stream_announce_per_stream * static_cast<std::int64_t>(streams));
}

void tell_streams(tenant_ptr self) {
  auto& st = self->state;
  st.streams_told = std::chrono::steady_clock::now();
  const std::uint64_t head = st.announced.value();
  for (auto& [addr, s] : st.streams) {
    self->send(s, head_atom::value, head);
  }
}

/// Wakes the visitor streams of the conversations whose committed events are announced now.
/// Not held back like `tell_streams`: each wakes one stream (or a few) of one conversation.
void wake_visitors(tenant_ptr self) {
  auto& st = self->state;
  st.visitors.due(st.announced.value(), [&](stream_actor& s) {
    self->send(s, head_atom::value, st.announced.value());
  });
}

/// Tells streams, visitor streams and push subscribers how far they may read now.
void announce(tenant_ptr self) {
  auto& st = self->state;
  const std::uint64_t head = st.announced.value();
  wake_visitors(self);
  for (auto& [name, sub] : st.subscribers) {
    self->send(sub, head_atom::value, head);
  }
  if (st.streams.empty() || st.streams_pending) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const auto due = st.streams_told + stream_announce_interval(st.streams.size());
  if (now >= due) {
    tell_streams(self);
    return;
  }
  st.streams_pending = true;
  self->delayed_send(self, due - now, fanout_atom::value);
}

/// Records a commit's seqs (ascending; a request's events have consecutive seqs). Returns true
/// when the announced head moved.
bool record_commit(tenant_ptr self, const std::vector<event>& events) {
  auto& head = self->state.announced;
  bool moved = false;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  for (const auto& e : events) {
    if (e.seq == 0) {
      continue;
    }
    if (first != 0 && e.seq == last + 1) {
      last = e.seq;
      continue;
    }
    if (first != 0) {
      moved = head.committed(first, last) || moved;
    }
    first = last = e.seq;
  }
  if (first != 0) {
    moved = head.committed(first, last) || moved;
  }
  return moved;
}

/// Time between settle ticks: a commit that has not reached the tenant one tick after its events
/// were stored is taken as lost (its sender timed out or crashed after the store wrote it), so
/// readers are not held back by it forever. The channel waits `store_timeout` for the store, so
/// a commit still on its way is never given up on.
std::chrono::milliseconds settle_interval(tenant_ptr self) {
  return std::max<std::chrono::milliseconds>(self->state.init.settings.store_timeout,
                                             std::chrono::seconds{1});
}

/// How long a config replaced by a reconfigure is kept alive: what still points into it (a send
/// flow of an API call, a privacy job's handler) is done within seconds (the tenant's timeouts).
/// The last few are kept longer whatever their age; the bound keeps frequent reconfigures (the
/// control plane) from holding every config ever applied.
constexpr std::chrono::minutes k_retired_config_kept{5};
constexpr std::size_t k_retired_configs_min = 4;

/// Drops the retired configs nothing can point into any more.
void prune_retired(tenant_ptr self) {
  auto& retired = self->state.retired;
  const auto now = std::chrono::steady_clock::now();
  while (retired.size() > k_retired_configs_min &&
         now - retired.front().first > k_retired_config_kept) {
    retired.pop_front();
  }
}

void settle(tenant_ptr self) {
  auto& st = self->state;
  if (st.stopping) {
    return;
  }
  const std::uint64_t before = st.announced.value();
  if (st.settle_mark > before && st.announced.give_up_through(st.settle_mark)) {
    log::warn("tenant", st.cfg->id, ": events ", before + 1, "..", st.settle_mark,
              " were stored but not all announced within ", settle_interval(self).count(),
              " ms (a commit was lost); announcing them now");
    announce(self);
  }
  st.settle_mark = st.init.stores.log->head(st.cfg->id);
  prune_retired(self);
  self->delayed_send(self, settle_interval(self), settle_atom::value);
}

void on_down(tenant_ptr self, caf::down_msg& m) {
  auto& st = self->state;
  if (auto it = st.channel_by_addr.find(m.source); it != st.channel_by_addr.end()) {
    std::string name = it->second;
    st.channel_by_addr.erase(it);
    st.channels.erase(name);
    if (st.stopping || st.cfg->find_channel(name) == nullptr) {
      return;  // stopping, or removed by a reconfigure
    }
    auto delay = st.channel_restarts[name].on_crash(restart_policy::clock::now());
    ++st.channel_restart_count;
    metrics::catalog::actor_restarts("channel").inc();
    log::warn("tenant", st.cfg->id, ": channel ", name, " went down (", caf::to_string(m.reason),
              "); restarting in ", delay.count(), " ms");
    if (delay.count() == 0) {
      if (const auto* ch = st.cfg->find_channel(name)) {
        spawn_channel(self, *ch);
      }
    } else {
      self->delayed_send(self, delay, restart_atom::value, name);
    }
    return;
  }
  if (auto it = st.conversation_by_addr.find(m.source); it != st.conversation_by_addr.end()) {
    if (is_crash(m.reason) && !st.stopping) {
      // Conversations hold soft state only: the next event spawns a fresh one.
      ++st.conversation_restart_count;
      metrics::catalog::actor_restarts("conversation").inc();
      log::warn("tenant", st.cfg->id, ": conversation actor went down (", caf::to_string(m.reason),
                "); respawned on its next event");
    }
    st.conversations->erase(it->second);
    st.conversation_by_addr.erase(it);
    st.conversations_live->set(static_cast<std::int64_t>(st.conversations->size()));
    return;
  }
  if (st.evicting.erase(m.source) != 0) {
    return;  // stopped for room; already replaced on demand
  }
  if (auto it = st.replacing_subscribers.find(m.source); it != st.replacing_subscribers.end()) {
    // Stopped by a reconfigure that changed it: its successor resumes from the stored cursor.
    std::string name = it->second;
    st.replacing_subscribers.erase(it);
    const auto* sub = find_push_subscriber(self, name);
    if (!st.stopping && sub != nullptr && st.subscribers.count(name) == 0 &&
        holds_push_lease(self, name)) {
      spawn_subscriber(self, *sub);
    }
    return;
  }
  if (auto it = st.replacing_senders.find(m.source); it != st.replacing_senders.end()) {
    // Stopped by a reconfigure that changed its channel: its successor resumes the outbox.
    std::string name = it->second;
    st.replacing_senders.erase(it);
    const auto* ch = st.cfg->find_channel(name);
    if (!st.stopping && ch != nullptr && st.senders.count(name) == 0 && sendable(self, *ch)) {
      spawn_sender(self, *ch);
    }
    return;
  }
  if (auto it = st.subscriber_by_addr.find(m.source); it != st.subscriber_by_addr.end()) {
    std::string name = it->second;
    st.subscriber_by_addr.erase(it);
    st.subscribers.erase(name);
    if (st.stopping || !is_crash(m.reason)) {
      return;
    }
    auto delay = st.subscriber_restarts[name].on_crash(restart_policy::clock::now());
    ++st.subscriber_restart_count;
    metrics::catalog::actor_restarts("subscriber").inc();
    log::warn("tenant", st.cfg->id, ": subscriber ", name, " went down (", caf::to_string(m.reason),
              "); restarting in ", delay.count(), " ms");
    self->delayed_send(self, delay, restart_atom::value, push_atom::value, name);
    return;
  }
  if (auto it = st.sender_by_addr.find(m.source); it != st.sender_by_addr.end()) {
    std::string name = it->second;
    st.sender_by_addr.erase(it);
    st.senders.erase(name);
    if (st.stopping || !is_crash(m.reason)) {
      return;
    }
    // Its queue is in the outbox: the new sender resumes it.
    auto delay = st.sender_restarts[name].on_crash(restart_policy::clock::now());
    metrics::catalog::actor_restarts("sender").inc();
    log::warn("tenant", st.cfg->id, ": sender ", name, " went down (", caf::to_string(m.reason),
              "); restarting in ", delay.count(), " ms");
    self->delayed_send(self, delay, restart_atom::value, send_atom::value, name);
    return;
  }
  if (st.visitors.remove(m.source)) {
    return;
  }
  st.streams.erase(m.source);
}

void stop_children(tenant_ptr self, const caf::error& reason) {
  auto& st = self->state;
  st.stopping = true;
  for (auto& [name, ch] : st.channels) {
    self->send_exit(ch, reason);
  }
  st.conversations->for_each(
      [&](const std::string&, conversation_actor& conv) { self->send_exit(conv, reason); });
  for (auto& [addr, conv] : st.evicting) {
    self->send_exit(conv, reason);
  }
  for (auto& [addr, s] : st.streams) {
    self->send_exit(s, reason);
  }
  st.visitors.for_each([&](stream_actor& s) { self->send_exit(s, reason); });
  for (auto& [name, sub] : st.subscribers) {
    self->send_exit(sub, reason);
  }
  for (auto& [name, snd] : st.senders) {
    self->send_exit(snd, reason);
  }
}

/// What the API handlers (actors/api.hpp) see of this tenant.
tenant_api_env api_env(tenant_ptr self) {
  auto& st = self->state;
  tenant_api_env env;
  env.self = self;
  env.cfg = st.init.cfg;
  env.tenant = st.cfg;
  env.stores = st.init.stores;
  env.store = st.init.store;
  env.settings = st.init.settings;
  env.consents = st.init.consents;
  env.privacy_jobs = st.init.privacy_jobs;
  env.has_outbox = st.init.outbox != nullptr;
  env.outbox = st.outbox_writer;
  env.sender_of = [self](const std::string& channel) {
    auto& senders = self->state.senders;
    auto it = senders.find(channel);
    return it == senders.end() ? sender_actor{} : it->second;
  };
  env.conversation_of = [self](const std::string& key) { return conversation_for(self, key); };
  env.outbound = st.outbound.get();
  return env;
}

/// Newly stored events of one request (`commit_atom`): keywords change consent first (so the
/// message that carries one is already judged with the new state, actors/consent_api.hpp), then
/// streams, push subscribers, conversations and the outbound state hear of them. Returns the
/// keyword job (`on_committed_keywords`), which the caller must start with `save_atom`, or a
/// null handle.
keyword_job_actor on_commit(tenant_ptr self, committed_msg& c,
                            const std::vector<event>& duplicates) {
  auto job = on_committed_keywords(api_env(self), c.events, duplicates);
  if (c.events.empty()) {
    return job;  // only duplicates (a platform's retry of a keyword message)
  }
  // Visitor streams of the conversations among these events: one hash lookup per event, woken
  // once the events are announced (below, or by a later commit that fills a gap).
  auto& visitors = self->state.visitors;
  if (visitors.size() != 0) {
    for (const auto& e : c.events) {
      if (e.type == event_type::message) {
        visitors.committed(e.conversation, e.seq);
      }
    }
  }
  // Announced only now that their consent changes are applied, and only up to where every
  // earlier seq is committed too: another request's keyword may still be on its way.
  if (record_commit(self, c.events)) {
    announce(self);
  } else {
    wake_visitors(self);  // another replica's follower may have announced them already
  }
  for (const auto& e : c.events) {
    if (e.conversation.empty()) {
      continue;
    }
    conversation_event ce{e.seq, e.type, outbound::opens_window(e), outbound::window_time(e)};
    self->send(conversation_for(self, e.conversation), event_atom::value, std::move(ce));
  }
  // Last inbound times into the outbox, receipts linked to outbound messages.
  on_outbound_commit(api_env(self), c.events);
  return job;
}

/// At most this many messages per web chat receipt (a read receipt names at most 500).
constexpr std::size_t k_max_receipt_ids = 1000;

/// Stores a web chat receipt as the channel would store a platform's: one `status` event per
/// message, about the visitor (their subject, redacted as the tenant redacts), deduplicated per
/// state and message. The receipt correlation (`on_outbound_commit`) then moves the outbound
/// message whose platform id is that message's event id to delivered or read.
void store_visitor_receipts(tenant_ptr self, visitor_receipt& r) {
  auto& st = self->state;
  const auto* ch = st.cfg->find_channel(r.channel);
  const auto* info = ch != nullptr ? st.init.adapters(ch->type) : nullptr;
  if (info == nullptr || info->visitors.mint == nullptr || r.visitor.empty() ||
      (r.state != "delivered" && r.state != "read") || !st.outbound) {
    log::warn("tenant", st.cfg->id, ": a visitor receipt for channel ", r.channel,
              " was dropped (not a web chat channel, no visitor or an unknown state)");
    return;
  }
  if (r.message_ids.size() > k_max_receipt_ids) {
    r.message_ids.resize(k_max_receipt_ids);
  }
  const channel_ref channel{ch->name, ch->type, info->account != nullptr ? info->account(*ch) : ""};
  const std::string& key = st.outbound->subject_key();
  const std::string subject = ids::subject_id(key, channel.type, channel.account, r.visitor);
  std::vector<event> events;
  for (auto& id : r.message_ids) {
    event e;
    e.tenant = st.cfg->id;
    e.channel = channel;
    e.type = event_type::status;
    e.conversation =
        r.conversation.empty() ? conversation_key::format(ch->name, r.visitor) : r.conversation;
    e.peer = r.visitor;
    e.subject_source = r.visitor;
    e.subject = subject;
    e.dedupe_key = r.state + ":" + id;  // a repeated receipt is a duplicate
    e.status = status_info{r.state, std::move(id), r.visitor, "", ""};
    privacy::redact_event(e, st.cfg->privacy, key);
    events.push_back(std::move(e));
  }
  emit_events(self, st.init.store, caf::actor_cast<tenant_actor>(self), std::move(events),
              st.init.settings.store_timeout,
              [tenant = st.cfg->id](result<std::vector<event>> stored) {
                if (!stored) {
                  log::warn("tenant", tenant,
                            ": web chat receipts not stored: ", stored.err().message);
                }
              });
}

/// The handle under `key` in `map`, or an error when there is none (introspection).
template <class Handle>
caf::result<Handle> find_in(const std::unordered_map<std::string, Handle>& map,
                            const std::string& key) {
  auto it = map.find(key);
  if (it == map.end()) {
    return caf::make_error(caf::sec::runtime_error);
  }
  return it->second;
}

/// How long an erasure waits for the outbox writer to delete the subjects' rows (the privacy job
/// waits twice `k_purge_timeout`, 10 s, for the whole of the tenant's part).
constexpr std::chrono::seconds k_outbox_erase_timeout{4};

/// The push subscribers' part of an erasure: each drops the subjects' events from memory.
caf::result<std::uint64_t> erased_in_subscribers(tenant_ptr self, const erased_notice& n) {
  std::vector<subscriber_actor> subs;
  for (auto& [name, sub] : self->state.subscribers) {
    subs.push_back(sub);
  }
  return on_subjects_erased(self, subs, n);
}

// -- reconfigure (actors/reconfigure.hpp) -------------------------------------------------------

bool named(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Stops a channel a reconfigure removed: its down message then matches nothing. Webhooks still
/// in its mailbox are answered 503 by their responders; new ones get 404 `unknown_channel`.
void stop_channel(tenant_ptr self, const std::string& name) {
  auto& st = self->state;
  st.channel_restarts.erase(name);
  auto it = st.channels.find(name);
  if (it == st.channels.end()) {
    return;
  }
  st.channel_by_addr.erase(it->second.address());
  self->send_exit(it->second, caf::exit_reason::user_shutdown);
  st.channels.erase(it);
}

/// Stops a push subscriber; `replace`: start it again (its new config) once it is down.
void stop_subscriber(tenant_ptr self, const std::string& name, bool replace) {
  auto& st = self->state;
  auto it = st.subscribers.find(name);
  if (it == st.subscribers.end()) {
    return;
  }
  st.subscriber_by_addr.erase(it->second.address());
  if (replace) {
    st.replacing_subscribers[it->second.address()] = name;
  }
  self->send_exit(it->second, caf::exit_reason::user_shutdown);
  st.subscribers.erase(it);
}

/// Stops a channel's sender; `replace`: start it again (its channel's new config) once it is down.
void stop_sender(tenant_ptr self, const std::string& name, bool replace) {
  auto& st = self->state;
  auto it = st.senders.find(name);
  if (it == st.senders.end()) {
    return;
  }
  st.sender_by_addr.erase(it->second.address());
  if (replace) {
    st.replacing_senders[it->second.address()] = name;
  }
  self->send_exit(it->second, caf::exit_reason::user_shutdown);
  st.senders.erase(it);
}

template <class Map>
bool replacing(const Map& m, const std::string& name) {
  return std::any_of(m.begin(), m.end(), [&](const auto& kv) { return kv.second == name; });
}

/// Applies a new config to this running tenant (tenant_actor.hpp, `reconfig_atom`): nothing is
/// restarted but what changed, and the open streams and conversations are left alone.
bool reconfigure_tenant(tenant_ptr self, reconfigure_msg& m) {
  auto& st = self->state;
  if (st.stopping || !m.cfg) {
    return false;
  }
  const auto* next = m.cfg->find_tenant(st.cfg->id);
  if (next == nullptr) {
    return false;
  }
  const config::tenant_config* prev = st.cfg;
  const auto d = config::diff_tenant(*prev, *next);
  if (m.http && !st.init.http) {
    st.init.http = m.http;
  }
  if (m.outbox && !st.init.outbox) {
    st.init.outbox = m.outbox;
  }
  if (!d.changed() && !m.globals_changed) {
    return true;  // what it holds is its own copy (`config::for_tenant`) and still current
  }
  // Inputs of every channel's logic besides the channel itself.
  const bool all_channels = d.privacy_changed || st.init.cfg->limits.events_per_webhook !=
                                                     m.cfg->limits.events_per_webhook;
  // The new config is held before anything points into it; the old one stays alive (retired)
  // for `prev` and for whatever started with it.
  prune_retired(self);
  st.retired.emplace_back(std::chrono::steady_clock::now(), st.init.cfg);
  // Only the globals and this tenant: a retired config costs one tenant, not all of them (a
  // control plane changes one tenant at a time, and every tenant keeps what it retires).
  st.init.cfg = config::for_tenant(*m.cfg, *next);
  st.cfg = &st.init.cfg->tenants.front();
  st.init.tenant_index = 0;

  // Channels: removed ones stop (with their senders); changed ones get a new logic in their
  // mailbox, behind the webhooks already queued; added ones start.
  for (const auto& name : d.channels_removed) {
    stop_sender(self, name, false);
    stop_channel(self, name);
  }
  for (const auto& ch : st.cfg->channels) {
    if (named(d.channels_added, ch.name)) {
      if (st.channels.count(ch.name) == 0) {
        spawn_channel(self, ch);
      }
      continue;
    }
    if (!all_channels && !named(d.channels_changed, ch.name)) {
      continue;
    }
    auto it = st.channels.find(ch.name);
    if (it == st.channels.end()) {
      continue;  // restarting: it starts from the new config
    }
    if (auto logic = make_channel_logic(self, ch)) {
      self->send(it->second, reconfig_atom::value, channel_logic_msg{std::move(logic)});
    }
  }

  // Outbound: the sending sides and send limits, then one sender per sendable channel (a sender
  // holds its channel's config and the tenant's privacy: replaced when they changed).
  if (st.outbound) {
    st.outbound->reconfigure(*st.cfg);
  } else {
    st.outbound = std::make_unique<outbound_api_state>(*st.init.cfg, *st.cfg);
  }
  for (const auto& ch : st.cfg->channels) {
    const bool has = st.senders.count(ch.name) != 0;
    if (!sendable(self, ch)) {
      if (has) {
        stop_sender(self, ch.name, false);
      }
      continue;
    }
    if (has) {
      if (named(d.channels_changed, ch.name) || d.privacy_changed) {
        stop_sender(self, ch.name, true);
      }
    } else if (!replacing(st.replacing_senders, ch.name)) {
      spawn_sender(self, ch);
    }
  }

  // Push subscribers: removed ones stop; one whose push settings or purposes changed is replaced
  // (its successor resumes from the stored cursor: at least once); a token or scope change
  // concerns only the HTTP edge.
  for (const auto& name : d.subscribers_removed) {
    stop_subscriber(self, name, false);
  }
  for (const auto& sub : st.cfg->subscribers) {
    const bool added = named(d.subscribers_added, sub.name);
    if (!added && !named(d.subscribers_changed, sub.name)) {
      continue;
    }
    const bool running = st.subscribers.count(sub.name) != 0;
    if (running && !sub.push) {
      stop_subscriber(self, sub.name, false);
      continue;
    }
    if (running) {
      const config::subscriber_config* old = nullptr;
      for (const auto& s : prev->subscribers) {
        if (s.name == sub.name) {
          old = &s;
        }
      }
      const bool delivery_changed = old == nullptr || old->purposes != sub.purposes || !old->push ||
                                    old->push->url != sub.push->url ||
                                    old->push->secret != sub.push->secret ||
                                    old->push->timeout_ms != sub.push->timeout_ms ||
                                    old->push->max_in_flight != sub.push->max_in_flight ||
                                    old->push->retry_schedule_ms != sub.push->retry_schedule_ms;
      if (delivery_changed) {
        stop_subscriber(self, sub.name, true);
      }
      continue;
    }
    if (sub.push && holds_push_lease(self, sub.name) &&
        !replacing(st.replacing_subscribers, sub.name)) {
      spawn_subscriber(self, sub);
    }
  }
  if (d.changed() || all_channels) {
    log::info("tenant", st.cfg->id, ": reconfigured: channels +", d.channels_added.size(), " -",
              d.channels_removed.size(), " ~", d.channels_changed.size(), ", subscribers +",
              d.subscribers_added.size(), " -", d.subscribers_removed.size(), " ~",
              d.subscribers_changed.size());
  }
  return true;
}

tenant_actor::behavior_type tenant_behavior(tenant_ptr self, tenant_init init) {
  auto& st = self->state;
  st.init = std::move(init);
  st.outbox_writer = st.init.outbox_writer;
  st.cfg = &st.init.cfg->tenants.at(st.init.tenant_index);
  st.depth = &metrics::catalog::mailbox_depth().with({{"tenant", st.cfg->id}, {"channel", ""}});
  st.conversations.emplace(st.init.cfg->limits.conversations_per_tenant);
  st.conversations_live = &metrics::catalog::conversation_actors().with({{"tenant", st.cfg->id}});
  st.conversations_live->set(0);
  st.conversations_evicted =
      &metrics::catalog::conversation_evictions().with({{"tenant", st.cfg->id}});
  // Everything stored before this tenant actor started is announced: a previous one committed
  // it, or it is gone with that actor (its keywords were applied or are retried).
  st.announced = store::announced_head{st.init.stores.log->head(st.cfg->id)};
  st.settle_mark = st.announced.value();
  self->delayed_send(self, settle_interval(self), settle_atom::value);
  for (const auto& ch : st.cfg->channels) {
    spawn_channel(self, ch);
  }
  for (const auto& sub : st.cfg->subscribers) {
    if (sub.push && holds_push_lease(self, sub.name)) {
      spawn_subscriber(self, sub);
    }
  }
  // Built before the senders: they share its channels' outbound sides.
  st.outbound = std::make_unique<outbound_api_state>(*st.init.cfg, *st.cfg);
  spawn_outbound(self);
  self->set_down_handler([=](caf::down_msg& m) { on_down(self, m); });
  // The parent (or the bridge) stops us: stop every child first, then quit.
  self->set_exit_handler([=](caf::exit_msg& m) {
    stop_children(self, m.reason);
    self->quit(m.reason);
  });
  return {
      [=](webhook_atom, webhook_msg& m) {
        m.w.reply->mark(responder::moment::at_tenant);
        auto& st = self->state;
        const auto depth = self->mailbox().size();
        st.depth->set(static_cast<std::int64_t>(depth));
        if (depth > st.init.settings.mailbox_high_water) {
          m.w.reply->answer(error_response(errc::overloaded, "tenant is overloaded; retry", 1));
          return;
        }
        // Privacy webhooks are requests to act on (erase, export), not events to store as they
        // come: verified the same way, then handled apart (actors/privacy_api.hpp).
        if (is_privacy_webhook(*st.cfg, m.w)) {
          privacy_webhook(api_env(self), std::move(m.w));
          return;
        }
        auto it = st.channels.find(m.w.channel);
        if (it == st.channels.end()) {
          bool configured = st.cfg->find_channel(m.w.channel) != nullptr;
          m.w.reply->answer(
              configured
                  ? error_response(errc::unavailable, "channel is restarting; retry", 1)
                  : error_response(errc::unknown_channel, "no such channel for this tenant"));
          return;
        }
        self->send(it->second, webhook_atom::value, std::move(m));
      },
      [=](commit_atom, committed_msg& c) {
        if (auto job = on_commit(self, c, {})) {
          caf::anon_send(job, save_atom::value);  // nobody waits for its answer
        }
      },
      // A request whose events hold an opt-out/opt-in keyword (actors/channel.cpp): the channel
      // acknowledges the webhook only when the consent change is stored, so the job answers it.
      [=](commit_atom, save_atom, committed_msg& c,
          committed_msg& duplicates) -> caf::result<bool> {
        auto job = on_commit(self, c, duplicates.events);
        if (!job) {
          return true;
        }
        self->delegate(job, save_atom::value);
        return caf::delegated<bool>{};
      },
      [=](read_atom, read_msg& r) {
        // A one-shot reader: a slow read (disk) holds neither this mailbox nor its webhooks.
        // The subscriber's purposes decide which events it may see (privacy/consent.hpp); a
        // query naming no configured subscriber gets the config default, support.
        auto& st = self->state;
        const auto* sub = privacy::find_subscriber(*st.cfg, r.q.subscriber);
        const auto purposes = sub != nullptr ? privacy::purposes_of(sub->purposes)
                                             : privacy::bit(privacy::purpose::support);
        // Up to what is announced now: a stored event whose commit (and keyword) is not yet
        // applied stays out of this page.
        // What the live tail holds is answered here; a page that needs the disk goes to the
        // catch-up reader (its thread, its priority), like a stream's catch-up.
        self->spawn([log = st.init.stores.log, consents = st.init.consents, purposes,
                     upto = st.announced.value(), history = st.init.history,
                     q = std::move(r.q)](caf::event_based_actor*) {
          if (auto cached = events_page_cached(*log, q, consents.get(), purposes, upto)) {
            q.reply->answer(std::move(*cached));
          } else {
            history_task t;
            t.run = [consents, purposes, upto, q](store::event_log& from) {
              q.reply->answer(events_page(from, q, consents.get(), purposes, upto));
            };
            caf::anon_send(history, task_atom::value, std::move(t));
          }
        });
      },
      [=](reconfig_atom, reconfigure_msg& m) { return reconfigure_tenant(self, m); },
      [=](store_atom, store_writer_actor store) {
        auto& st = self->state;
        st.init.store = store;
        for (auto& [name, ch] : st.channels) {
          self->send(ch, store_atom::value, store);
        }
        for (auto& [name, snd] : st.senders) {
          self->send(snd, store_atom::value, store);
        }
      },
      [=](register_atom, stream_actor& s) {
        if (s) {
          self->monitor(s);
          self->send(s, head_atom::value, self->state.announced.value());
          self->state.streams.emplace(s.address(), std::move(s));
        }
      },
      [=](register_atom, visitor_atom, const std::string& conversation, const std::string& subject,
          stream_actor& s) {
        auto& st = self->state;
        if (!s) {
          return;
        }
        // Erased between the visitor gate's check and now: not opened.
        if (st.init.consents && st.init.consents->revoked(st.cfg->id, subject)) {
          self->send_exit(s, caf::exit_reason::user_shutdown);
          return;
        }
        self->monitor(s);
        self->send(s, head_atom::value, st.announced.value());
        // The address first: argument evaluation order is unspecified (std::move(s) first
        // leaves s.address() reading a moved-from handle).
        auto addr = s.address();
        st.visitors.add(addr, conversation, subject, std::move(s));
      },
      // The settle tick (see `settle`).
      [=](settle_atom) { settle(self); },
      [=](replica_atom, replica_commits& c) {
        // Everything up to `through` is committed and its consent changes applied (by the
        // follower, before it sent this): readers may read it, whichever replica stored it.
        auto& st = self->state;
        for (const auto& [key, seq] : c.messages) {
          st.visitors.committed(key, seq);
        }
        if (st.announced.give_up_through(c.through)) {
          announce(self);
        } else {
          wake_visitors(self);
        }
        if (c.erasures && st.init.consents) {
          // Erased through another replica: its follower marked the subjects revoked.
          const auto& consents = *st.init.consents;
          st.visitors.of_subjects(
              [&](const std::string& subject) { return consents.revoked(st.cfg->id, subject); },
              [&](stream_actor& s) { self->send_exit(s, caf::exit_reason::user_shutdown); });
        }
        // A window opened through another replica: a conversation alive here would otherwise
        // judge a reply by its older last message (this replica's own commits arrive here too;
        // a window time never moves back).
        for (auto& [key, ce] : c.windows) {
          if (auto* conv = st.conversations->find(key)) {
            self->send(*conv, event_atom::value, std::move(ce));
          }
        }
      },
      [=](fanout_atom) {
        self->state.streams_pending = false;
        tell_streams(self);
      },
      // Web chat receipts (actors/messages.hpp `visitor_receipt`).
      [=](visitor_atom, visitor_receipt& r) { store_visitor_receipts(self, r); },
      [=](restart_atom, const std::string& name) {
        if (const auto* ch = self->state.cfg->find_channel(name)) {
          if (self->state.channels.count(name) == 0) {
            spawn_channel(self, *ch);
          }
        }
      },
      [=](restart_atom, send_atom, const std::string& name) {
        auto& st = self->state;
        if (const auto* ch = st.cfg->find_channel(name)) {
          if (st.senders.count(name) == 0 && !st.stopping) {
            spawn_sender(self, *ch);
          }
        }
      },
      [=](outbox_atom, outbox_writer_actor& writer) {
        // The root made the gateway's first outbox writer, or restarted it: senders use it now.
        // A tenant that started while there was none has no senders yet: they start now.
        auto& st = self->state;
        st.outbox_writer = std::move(writer);
        for (auto& [name, snd] : st.senders) {
          self->send(snd, outbox_atom::value, st.outbox_writer);
        }
        if (st.stopping) {
          return;
        }
        for (const auto& ch : st.cfg->channels) {
          if (sendable(self, ch) && st.senders.count(ch.name) == 0 &&
              !replacing(st.replacing_senders, ch.name)) {
            spawn_sender(self, ch);
          }
        }
      },
      [=](restart_atom, push_atom, const std::string& name) {
        if (const auto* sub = find_push_subscriber(self, name)) {
          if (self->state.subscribers.count(name) == 0 && holds_push_lease(self, name)) {
            spawn_subscriber(self, *sub);
          }
        }
      },
      [=](lease_atom, send_atom, const std::string& channel, bool held) {
        auto& st = self->state;
        if (auto it = st.senders.find(channel); it != st.senders.end()) {
          self->send(it->second, lease_atom::value, held);
        }
      },
      [=](lease_atom, push_atom, const std::string& name, bool held) {
        auto& st = self->state;
        const auto* sub = find_push_subscriber(self, name);
        auto it = st.subscribers.find(name);
        if (held && sub != nullptr && it == st.subscribers.end() && !st.stopping) {
          log::info("tenant", st.cfg->id, ": push delivery of ", name, " runs here now");
          spawn_subscriber(self, *sub);  // from its stored cursor: at least once
        } else if (!held && it != st.subscribers.end()) {
          // Lost: another replica may take it over a third of a lease from now. Not a crash, so
          // not restarted (on_down).
          log::info("tenant", st.cfg->id, ": push delivery of ", name, " stopped here");
          self->send_exit(it->second, caf::exit_reason::user_shutdown);
        }
      },
      // Backend and platform API calls (actors/api.hpp).
      [=](api_atom, api_msg& m) { handle_tenant_api(api_env(self), m.c); },
      // Receipts found in the outbox (actors/outbound_api.hpp), and the retry of those not.
      [=](receipts_atom, resolved_receipts& r) { apply_receipts(api_env(self), r); },
      [=](receipts_atom, pending_receipts& r) { retry_receipts(api_env(self), r); },
      // Subjects were erased (privacy_api.hpp): senders drop the queued messages of the subjects,
      // the outbox its rows, then push subscribers their events in memory. Answered once all of
      // that is done (or timed out), so the erasure's 200 comes after the outbox holds nothing
      // of the subjects any more.
      [=](erased_atom, const erased_notice& n) -> caf::result<std::uint64_t> {
        auto& st = self->state;
        // An erasure revokes the subjects' web chat sessions: their open streams end now.
        if (st.visitors.size() != 0 && !n.subjects.empty()) {
          st.visitors.of_subjects(
              [&](const std::string& subject) {
                return std::find(n.subjects.begin(), n.subjects.end(), subject) !=
                       n.subjects.end();
              },
              [&](stream_actor& s) { self->send_exit(s, caf::exit_reason::user_shutdown); });
        }
        for (const auto& subject : n.subjects) {
          for (auto& [name, snd] : st.senders) {
            self->send(snd, forget_atom::value, subject);
          }
        }
        if (!st.outbox_writer || n.subjects.empty()) {
          return erased_in_subscribers(self, n);
        }
        outbox_task t;
        t.run = [tenant = st.cfg->id, subjects = n.subjects](store::outbox& box) {
          for (const auto& subject : subjects) {
            if (auto r = box.erase_subject(tenant, subject); !r) {
              log::error("outbox", tenant,
                         ": erasing a subject's messages failed: ", r.err().message);
            }
          }
        };
        auto rp = self->make_response_promise<std::uint64_t>();
        self->request(st.outbox_writer, k_outbox_erase_timeout, task_atom::value, std::move(t))
            .then(
                [self, rp, n]() mutable {
                  rp.delegate(caf::actor_cast<tenant_actor>(self), erased_atom::value,
                              forget_atom::value, n);
                },
                [self, rp, n](caf::error& err) mutable {
                  log::warn("tenant", n.tenant, ": the outbox did not confirm erasing (",
                            caf::to_string(err), ")");
                  rp.delegate(caf::actor_cast<tenant_actor>(self), erased_atom::value,
                              forget_atom::value, n);
                });
        return rp;
      },
      [=](erased_atom, forget_atom, const erased_notice& n) -> caf::result<std::uint64_t> {
        return erased_in_subscribers(self, n);
      },
      [=](deadlist_atom a, dead_letters_query& q) { to_subscriber(self, q.subscriber, a, q); },
      [=](redrive_atom a, redrive_request& r) { to_subscriber(self, r.subscriber, a, r); },
      // A push subscriber's stats (tests and operations).
      [=](push_stats_atom, const std::string& name) -> caf::result<subscriber_stats> {
        auto& st = self->state;
        auto it = st.subscribers.find(name);
        if (it == st.subscribers.end()) {
          return caf::make_error(caf::sec::runtime_error);
        }
        auto rp = self->make_response_promise<subscriber_stats>();
        self->request(it->second, std::chrono::seconds{5}, stats_atom::value)
            .then([rp](subscriber_stats& s) mutable { rp.deliver(std::move(s)); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      // Introspection for tests and operations: the current actor of a channel, conversation,
      // push subscriber or sender.
      [=](find_chan_atom, const std::string& name) -> caf::result<channel_actor> {
        return find_in(self->state.channels, name);
      },
      [=](find_conv_atom, const std::string& key) -> caf::result<conversation_actor> {
        auto* conv = self->state.conversations->find(key);
        if (conv == nullptr) {
          return caf::make_error(caf::sec::runtime_error);
        }
        return *conv;
      },
      [=](find_push_atom, const std::string& name) -> caf::result<subscriber_actor> {
        return find_in(self->state.subscribers, name);
      },
      [=](find_send_atom, const std::string& channel) -> caf::result<sender_actor> {
        return find_in(self->state.senders, channel);
      },
      [=](stats_atom) -> tenant_stats {
        auto& st = self->state;
        return tenant_stats{st.channels.size(), st.conversations->size(), st.streams.size(),
                            st.channel_restart_count, st.conversation_restart_count,
                            st.announced.value()};
      },
  };
}

}  // namespace

tenant_actor spawn_tenant_actor(caf::local_actor* parent, tenant_init init) {
  auto child = parent->spawn(tenant_behavior, std::move(init));
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

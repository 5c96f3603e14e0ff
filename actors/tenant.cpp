#include <unordered_map>

#include "actors/actors.hpp"
#include "actors/api.hpp"
#include "actors/events_page.hpp"
#include "actors/supervision.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace sb::actors {

struct tenant_state {
  tenant_init init;
  const config::tenant_config* cfg = nullptr;
  std::unordered_map<std::string, caf::actor> channels;  // absent while restarting
  std::unordered_map<caf::actor_addr, std::string> channel_by_addr;
  std::unordered_map<std::string, restart_policy> channel_restarts;
  std::unordered_map<std::string, caf::actor> conversations;
  std::unordered_map<caf::actor_addr, std::string> conversation_by_addr;
  std::unordered_map<caf::actor_addr, caf::actor> streams;
  std::unordered_map<std::string, caf::actor> subscribers;  // push; absent while restarting
  std::unordered_map<caf::actor_addr, std::string> subscriber_by_addr;
  std::unordered_map<std::string, restart_policy> subscriber_restarts;
  std::uint64_t subscriber_restart_count = 0;
  std::uint64_t channel_restart_count = 0;
  std::uint64_t conversation_restart_count = 0;
  bool stopping = false;
  metrics::gauge* depth = nullptr;  // switchboard_mailbox_depth{tenant,channel=""}
  static inline const char* name = "tenant";
};

namespace {

using tenant_ptr = caf::stateful_actor<tenant_state>*;

bool is_crash(const caf::error& reason) {
  return reason && reason != caf::make_error(caf::exit_reason::user_shutdown);
}

void spawn_channel(tenant_ptr self, const config::channel_config& ch) {
  auto& st = self->state;
  const auto* info = st.init.adapters(ch.type);
  if (info == nullptr) {
    log::error("tenant", st.cfg->id, ": channel ", ch.name, " has unknown type ", ch.type);
    return;
  }
  auto logic =
      std::make_shared<channel_logic>(st.cfg->id, ch, *info, st.init.cfg->storage.master_key);
  auto child = spawn_channel_actor(self, std::move(logic), st.init.store,
                                   caf::actor_cast<caf::actor>(self), st.init.settings);
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
  init.log = st.init.log;
  init.http = st.init.http;
  init.settings = st.init.delivery;
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
  st.subscriber_by_addr[child.address()] = sub.name;
  st.subscribers[sub.name] = std::move(child);
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
  m.reply->answer(find_push_subscriber(self, name) != nullptr
                      ? error_response(errc::unavailable, "subscriber is restarting; retry", 1)
                      : error_response(errc::not_found, "no push subscriber of that name"));
}

caf::actor conversation_for(tenant_ptr self, const std::string& key) {
  auto& st = self->state;
  auto it = st.conversations.find(key);
  if (it != st.conversations.end()) {
    return it->second;
  }
  auto child = spawn_conversation_actor(self, key, st.init.settings.conversation_idle);
  st.conversation_by_addr[child.address()] = key;
  st.conversations.emplace(key, child);
  return child;
}

bool is_inbound_message(const event& e) {
  return !e.content.echo &&
         (e.type == event_type::message || e.type == event_type::message_edited ||
          e.type == event_type::postback || e.type == event_type::reaction);
}

void on_down(tenant_ptr self, caf::down_msg& m) {
  auto& st = self->state;
  if (auto it = st.channel_by_addr.find(m.source); it != st.channel_by_addr.end()) {
    std::string name = it->second;
    st.channel_by_addr.erase(it);
    st.channels.erase(name);
    if (st.stopping) {
      return;
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
    st.conversations.erase(it->second);
    st.conversation_by_addr.erase(it);
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
  st.streams.erase(m.source);
}

void stop_children(tenant_ptr self, const caf::error& reason) {
  auto& st = self->state;
  st.stopping = true;
  for (auto& [name, ch] : st.channels) {
    self->send_exit(ch, reason);
  }
  for (auto& [key, conv] : st.conversations) {
    self->send_exit(conv, reason);
  }
  for (auto& [addr, s] : st.streams) {
    self->send_exit(s, reason);
  }
  for (auto& [name, sub] : st.subscribers) {
    self->send_exit(sub, reason);
  }
}

caf::behavior tenant_actor(caf::stateful_actor<tenant_state>* self, tenant_init init) {
  auto& st = self->state;
  st.init = std::move(init);
  st.cfg = &st.init.cfg->tenants.at(st.init.tenant_index);
  st.depth = &metrics::catalog::mailbox_depth().with({st.cfg->id, ""});
  for (const auto& ch : st.cfg->channels) {
    spawn_channel(self, ch);
  }
  for (const auto& sub : st.cfg->subscribers) {
    if (sub.push) {
      spawn_subscriber(self, sub);
    }
  }
  self->set_down_handler([=](caf::down_msg& m) { on_down(self, m); });
  // The parent (or the bridge) stops us: stop every child first, then quit.
  self->set_exit_handler([=](caf::exit_msg& m) {
    stop_children(self, m.reason);
    self->quit(m.reason);
  });
  return {
      [=](webhook_atom, webhook_msg& m) {
        auto& st = self->state;
        const auto depth = self->mailbox().size();
        st.depth->set(static_cast<std::int64_t>(depth));
        if (depth > st.init.settings.mailbox_high_water) {
          m.w.reply->answer(error_response(errc::overloaded, "tenant is overloaded; retry", 1));
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
        auto& st = self->state;
        const std::uint64_t head = c.events.back().seq;
        for (auto& [addr, s] : st.streams) {
          self->send(s, head_atom::value, head);
        }
        for (auto& [name, sub] : st.subscribers) {
          self->send(sub, head_atom::value, head);
        }
        for (const auto& e : c.events) {
          if (e.conversation.empty()) {
            continue;
          }
          conversation_event ce{e.seq, e.type, is_inbound_message(e), e.occurred_at};
          self->send(conversation_for(self, e.conversation), event_atom::value, std::move(ce));
        }
      },
      [=](read_atom, read_msg& r) {
        // A one-shot reader: a slow read (disk) holds neither this mailbox nor its webhooks.
        self->spawn([log = self->state.init.log, q = std::move(r.q)](caf::event_based_actor*) {
          q.reply->answer(events_page(*log, q));
        });
      },
      [=](store_atom, caf::actor store) {
        auto& st = self->state;
        st.init.store = store;
        for (auto& [name, ch] : st.channels) {
          self->send(ch, store_atom::value, store);
        }
      },
      [=](register_atom) {
        auto s = caf::actor_cast<caf::actor>(self->current_sender());
        if (s) {
          self->monitor(s);
          self->state.streams.emplace(s.address(), s);
        }
      },
      [=](restart_atom, const std::string& name) {
        if (const auto* ch = self->state.cfg->find_channel(name)) {
          if (self->state.channels.count(name) == 0) {
            spawn_channel(self, *ch);
          }
        }
      },
      [=](restart_atom, push_atom, const std::string& name) {
        if (const auto* sub = find_push_subscriber(self, name)) {
          if (self->state.subscribers.count(name) == 0) {
            spawn_subscriber(self, *sub);
          }
        }
      },
      // Backend and platform API calls (actors/api.hpp).
      [=](api_atom, api_msg& m) { handle_tenant_api(m.c); },
      [=](deadlist_atom a, dead_letters_query& q) { to_subscriber(self, q.subscriber, a, q); },
      [=](redrive_atom a, redrive_request& r) { to_subscriber(self, r.subscriber, a, r); },
      // A push subscriber's stats (tests and operations).
      [=](stats_atom, const std::string& name) -> caf::result<subscriber_stats> {
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
      // Introspection for tests and operations: the current actor of a channel, conversation or
      // push subscriber.
      [=](lookup_atom, const std::string& kind, const std::string& key) -> caf::result<caf::actor> {
        auto& st = self->state;
        auto& map = kind == "channel"      ? st.channels
                    : kind == "subscriber" ? st.subscribers
                                           : st.conversations;
        auto it = map.find(key);
        if (it == map.end()) {
          return caf::make_error(caf::sec::runtime_error);
        }
        return it->second;
      },
      [=](stats_atom) {
        auto& st = self->state;
        return tenant_stats{st.channels.size(), st.conversations.size(), st.streams.size(),
                            st.channel_restart_count, st.conversation_restart_count};
      },
  };
}

}  // namespace

caf::actor spawn_tenant_actor(caf::event_based_actor* parent, tenant_init init) {
  auto child = parent->spawn(tenant_actor, std::move(init));
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

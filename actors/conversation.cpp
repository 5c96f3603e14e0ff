#include <vector>

#include "actors/conversation.hpp"

#include "actors/actors.hpp"
#include "outbound/conversation_state.hpp"

namespace sb::actors {

struct conversation_actor_state {
  std::string tenant;
  std::string key;
  outbound::conversation_state conv;
  /// Window queries waiting for the restore from the outbox.
  std::vector<caf::typed_response_promise<std::int64_t>> waiting;
  /// Which restore is in flight (0 = none); a late answer of an abandoned one is ignored.
  std::uint64_t restoring = 0;
  std::uint64_t next_restore = 1;
  /// Stopped by the tenant to make room (`evict_atom`): quit once no query waits.
  bool evicted = false;
  static inline const char* name = "conversation";
};

namespace {

using conversation_ptr = conversation_actor::stateful_pointer<conversation_actor_state>;

/// How long a restore may take before the waiting queries fail (the outbox writer crashed or is
/// stuck); the next query tries again.
constexpr std::chrono::seconds k_restore_timeout{5};

void finish_restore(conversation_ptr self, std::uint64_t which, std::int64_t durable_ms) {
  auto& st = self->state;
  if (which != st.restoring) {
    return;  // an abandoned restore answering late
  }
  st.restoring = 0;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  if (durable_ms < 0) {
    for (auto& rp : waiting) {
      rp.deliver(caf::make_error(caf::sec::request_timeout));
    }
    if (st.evicted) {
      self->quit();
    }
    return;
  }
  st.conv.restore(durable_ms);
  for (auto& rp : waiting) {
    rp.deliver(st.conv.last_inbound_ms());
  }
  if (st.evicted) {
    self->quit();
  }
}

/// Reads the conversation's durable last inbound time on the outbox writer (after the writes
/// queued there before it, so a commit's last-inbound write is seen) and sends it back.
void start_restore(conversation_ptr self, const outbox_writer_actor& outbox) {
  auto& st = self->state;
  const std::uint64_t which = st.next_restore++;
  st.restoring = which;
  outbox_task task;
  task.run = [me = caf::actor_cast<conversation_actor>(self), tenant = st.tenant, key = st.key,
              which](store::outbox& box) {
    auto r = box.last_inbound(tenant, key);
    caf::anon_send(me, restored_atom::value, which, r ? *r : std::int64_t{-1});
  };
  self->send(outbox, task_atom::value, std::move(task));
  self->delayed_send(self, k_restore_timeout, restored_atom::value, which, std::int64_t{-1});
}

conversation_actor::behavior_type conversation_behavior(conversation_ptr self, std::string tenant,
                                                        std::string key,
                                                        std::chrono::milliseconds idle) {
  self->state.tenant = std::move(tenant);
  self->state.key = std::move(key);
  return {
      [=](event_atom, conversation_event& e) {
        self->state.conv.on_event(e.inbound, e.occurred_at);
      },
      // The person's last inbound message (Unix ms, 0 = none known), restored from the outbox
      // first; `outbox` null = the gateway has none (this actor's memory is all there is).
      [=](window_atom,
          const outbox_writer_actor& outbox) -> caf::typed_response_promise<std::int64_t> {
        auto& st = self->state;
        auto rp = self->make_response_promise<std::int64_t>();
        if (st.conv.restored() || !outbox) {
          rp.deliver(st.conv.last_inbound_ms());
          return rp;
        }
        st.waiting.push_back(rp);
        if (st.restoring == 0) {
          start_restore(self, outbox);
        }
        return rp;
      },
      [=](restored_atom, std::uint64_t which, std::int64_t durable_ms) {
        finish_restore(self, which, durable_ms);
      },
      [=](stats_atom) -> std::uint64_t { return self->state.conv.events(); },
      // The tenant needs room (limits.conversations_per_tenant). Nothing here is lost: the window
      // is in the outbox, and `events` is an introspection counter that decides nothing. A
      // window query in progress is answered first.
      [=](evict_atom) {
        auto& st = self->state;
        st.evicted = true;
        if (st.restoring == 0) {
          self->quit();
        }
      },
      // Idle conversations go away; the tenant spawns a fresh one on the next event.
      caf::after(idle) >> [=] { self->quit(); },
  };
}

}  // namespace

conversation_actor spawn_conversation_actor(caf::local_actor* parent, std::string tenant,
                                            std::string key, std::chrono::milliseconds idle) {
  auto child = parent->spawn(conversation_behavior, std::move(tenant), std::move(key), idle);
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

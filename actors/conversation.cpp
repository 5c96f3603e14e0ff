#include "actors/actors.hpp"
#include "actors/conversation_state.hpp"

namespace sb::actors {

struct conversation_actor_state {
  std::string key;
  conversation_state conv;
  static inline const char* name = "conversation";
};

namespace {

caf::behavior conversation_actor(caf::stateful_actor<conversation_actor_state>* self,
                                 std::string key, std::chrono::milliseconds idle) {
  self->state.key = std::move(key);
  return {
      [=](event_atom, conversation_event& e) {
        self->state.conv.on_event(e.inbound, e.occurred_at);
      },
      [=](stats_atom) -> std::uint64_t { return self->state.conv.events(); },
      // Idle conversations go away; the tenant spawns a fresh one on the next event.
      caf::after(idle) >> [=] { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_conversation_actor(caf::event_based_actor* parent, std::string key,
                                    std::chrono::milliseconds idle) {
  auto child = parent->spawn(conversation_actor, std::move(key), idle);
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

// Mistakes the actors' typed interfaces (docs/architecture.md "Typed interfaces") turn into
// compile errors. Compiled once per case by cmake/check_compile_fail.cmake (tests/CMakeLists.txt,
// "typed_handles: ..."): case `ok` must compile, every other case must fail with the error
// named in tests/CMakeLists.txt. CAF 0.17 checks handle conversions with a static_assert inside
// the converting constructor, not by overload resolution, so type traits cannot see this: only
// a compiler run can.

#include "actors/actors.hpp"
#include "actors/sender_actor.hpp"
#include "actors/store_writer.hpp"
#include "actors/tenant_actor.hpp"

namespace sb::actors {

void probe(caf::local_actor* parent, std::shared_ptr<channel_logic> logic,
           store_writer_actor store, tenant_actor tenant, sender_actor sender, caf::actor untyped,
           actor_settings settings) {
#if defined(SB_CASE_ok)
  // The right handles in the right places, and an explicit cast where a handle is untyped.
  spawn_channel_actor(parent, logic, store, tenant, settings);
  tenant_actor t = caf::actor_cast<tenant_actor>(untyped);
  (void)t;
  (void)sender;
#elif defined(SB_CASE_swapped_spawn_arguments)
  // The mistake issue 11 names: the channel's store writer and tenant exchanged.
  spawn_channel_actor(parent, logic, tenant, store, settings);
  (void)sender;
  (void)untyped;
#elif defined(SB_CASE_other_kind)
  // A sender's handle where the tenant's is expected.
  tenant_actor t = sender;
  (void)t;
  (void)untyped;
  (void)logic, (void)store, (void)tenant, (void)parent, (void)settings;
#elif defined(SB_CASE_untyped_without_cast)
  // An untyped handle taken as a typed one without saying so.
  sender_actor s = untyped;
  (void)s;
  (void)logic, (void)store, (void)tenant, (void)parent, (void)settings, (void)sender;
#else
#error "no SB_CASE_<name> defined"
#endif
}

}  // namespace sb::actors

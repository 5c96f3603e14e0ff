#pragma once

// Running `api_call`s (gateway.hpp) inside the actor tree. The bridge sends a call to its
// tenant's actor, or to the root when its handler is the root's; there the call's own handler
// (`api_call::handler`, bound to its route by the HTTP layer's handler list) runs with the
// environment below. The handlers are declared in actors/api_handlers.hpp.

#include <functional>
#include <memory>
#include <string>

#include "actors/conversation.hpp"
#include "actors/gateway.hpp"
#include "actors/messages.hpp"
#include "actors/outbox_writer.hpp"
#include "actors/root_actor.hpp"
#include "actors/sender_actor.hpp"
#include "actors/store_writer.hpp"
#include "actors/tenant_actor.hpp"
#include "config/config.hpp"
#include "store/stores.hpp"

namespace sb::privacy {
class consent_registry;
}

namespace sb::actors {

class outbound_api_state;

namespace privacy_jobs {
class job_pool;
}

/// What a tenant's API handlers work with, built by the tenant actor for each call. Handlers
/// run in the tenant actor's context (`self`) and must not block it: they answer at once or hand
/// the work to a one-shot actor that copies what it needs from here.
struct tenant_api_env {
  tenant_actor::pointer self = nullptr;  ///< the tenant actor
  std::shared_ptr<const config::config> cfg;
  const config::tenant_config* tenant = nullptr;  ///< into `cfg`
  store::stores stores;                           ///< the gateway's (store/stores.hpp)
  store_writer_actor store;  ///< the current store writer; null while it restarts
  actor_settings settings;
  /// The gateway's consent registry (src/privacy/consent.hpp); null = consent kept only in the
  /// store.
  std::shared_ptr<privacy::consent_registry> consents;
  /// The gateway's privacy workers (actors/privacy_jobs.hpp): privacy and consent jobs run there.
  std::shared_ptr<privacy_jobs::job_pool> privacy_jobs;
  // Outbound (actors/outbound_api.hpp).
  bool has_outbox = false;     ///< the gateway keeps an outbox (else nothing can be sent)
  outbox_writer_actor outbox;  ///< the gateway's outbox writer; null while there is none
  /// The sender of a channel; a null handle when it has none or it is restarting.
  std::function<sender_actor(const std::string& channel)> sender_of;
  /// The conversation actor of a key ("<channel>:<peer>"), spawned when there is none.
  std::function<conversation_actor(const std::string& conversation)> conversation_of;
  outbound_api_state* outbound = nullptr;  ///< the tenant's, owned by the tenant actor
};

/// What a root handler works with (a call that names no tenant, e.g. a deletion-status page).
/// As for a tenant's handlers: it runs in the root actor's context and must not block it.
struct root_api_env {
  root_actor::pointer self = nullptr;             ///< the root actor
  std::shared_ptr<store::privacy_store> privacy;  ///< null when the log keeps no privacy data
  /// The gateway's privacy workers, where calls that read the store run.
  std::shared_ptr<privacy_jobs::job_pool> privacy_jobs;
};

/// In the tenant actor: runs a call of that tenant with its handler (a call without a tenant's
/// handler is answered 404 `not_found`).
void handle_tenant_api(const tenant_api_env& env, api_call& c);

/// In the root actor: runs a call that names no tenant with its handler (a call without a root
/// handler is answered 404 `not_found`). `jobs`: the privacy workers.
void handle_root_api(root_actor::pointer root, const std::shared_ptr<store::privacy_store>& privacy,
                     const std::shared_ptr<privacy_jobs::job_pool>& jobs, api_call& c);

}  // namespace sb::actors

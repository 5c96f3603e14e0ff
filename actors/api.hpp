#pragma once

// Dispatch of `api_call`s (gateway.hpp) inside the actor tree. The bridge sends a call to its
// tenant's actor (or to the root when it names no tenant); these functions route it by `op` to
// the part of the gateway that serves it. An op nobody serves is answered 404 `not_found`.

#include "actors/gateway.hpp"

namespace sb::actors {

/// In the tenant actor: a call of that tenant.
void handle_tenant_api(api_call& c);

/// In the root actor: a call that names no tenant.
void handle_root_api(api_call& c);

}  // namespace sb::actors

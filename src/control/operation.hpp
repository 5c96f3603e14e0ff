#pragma once

#include <cstdint>

namespace sb::control {

/// The control plane's calls (docs/control-plane.md), each bound to its route in the handler
/// list (src/http/routes.cpp). Path parameters come in pattern order: {tenant}, then {channel}
/// or {subscriber}.
enum class operation : std::uint8_t {
  none,
  list_tenants,       ///< GET    /v1/admin/tenants
  create_tenant,      ///< POST   /v1/admin/tenants
  get_tenant,         ///< GET    /v1/admin/tenants/{tenant}
  update_tenant,      ///< PATCH  /v1/admin/tenants/{tenant}
  delete_tenant,      ///< DELETE /v1/admin/tenants/{tenant}
  create_channel,     ///< POST   /v1/admin/tenants/{tenant}/channels
  get_channel,        ///< GET    /v1/admin/tenants/{tenant}/channels/{channel}
  update_channel,     ///< PATCH  /v1/admin/tenants/{tenant}/channels/{channel}
  delete_channel,     ///< DELETE /v1/admin/tenants/{tenant}/channels/{channel}
  create_subscriber,  ///< POST   /v1/admin/tenants/{tenant}/subscribers
  get_subscriber,     ///< GET    /v1/admin/tenants/{tenant}/subscribers/{subscriber}
  update_subscriber,  ///< PATCH  /v1/admin/tenants/{tenant}/subscribers/{subscriber}
  delete_subscriber,  ///< DELETE /v1/admin/tenants/{tenant}/subscribers/{subscriber}
  rotate_token,       ///< POST   /v1/admin/tenants/{tenant}/subscribers/{subscriber}/rotate-token
};

}  // namespace sb::control

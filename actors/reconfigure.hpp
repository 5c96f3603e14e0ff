#pragma once

// The messages of a reconfigure (a config reload, later the control plane): the root hands the
// new config to every tenant it keeps, a tenant hands each changed channel its new logic
// (docs/architecture.md, "Reconfigure").

#include <caf/all.hpp>

#include <memory>
#include <set>
#include <string>

#include "actors/channel_logic.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "store/outbox.hpp"

namespace sb::actors {

/// bridge -> root, root -> tenant (`reconfig_atom`, reconfigure_msg): run with this config from
/// now on. tenant -> channel (`reconfig_atom`, channel_logic_msg): handle the next webhook with
/// this logic.
using reconfig_atom = caf::atom_constant<caf::atom("reconfig")>;

/// A new config for the running gateway. Its restart-only keys are the running ones
/// (`config::keep_restart_keys`). `http` and `outbox`: the gateway's push/send client and outbox,
/// which a gateway started without push subscribers or sendable channels makes when a reload
/// adds the first one (null = unchanged).
struct reconfigure_msg {
  std::shared_ptr<const config::config> cfg;
  /// A key that reloads and applies to every tenant changed (`config_diff::global_keys`): every
  /// tenant takes the new config. When false, a tenant whose own part did not change keeps the
  /// one it holds (a control plane's change to one tenant costs the others nothing).
  bool globals_changed = true;
  /// The tenants whose own part changed (`config_diff::tenants_changed`); with
  /// `globals_changed` false, only these are handed the config.
  std::set<std::string> changed_tenants;
  std::shared_ptr<delivery::http_client> http;
  std::shared_ptr<store::outbox> outbox;
};

/// A channel's new logic (its settings, secrets or the tenant's privacy changed). Queued behind
/// the webhooks already in the channel's mailbox, which the old logic handles: none is dropped.
struct channel_logic_msg {
  std::shared_ptr<channel_logic> logic;
};

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::reconfigure_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::channel_logic_msg)

#pragma once

// The channel actor's interface: one per configured channel of a tenant.

#include <memory>

#include "actors/channel_logic.hpp"
#include "actors/messages.hpp"
#include "actors/reconfigure.hpp"
#include "actors/store_writer.hpp"

namespace sb::actors {

/// A channel, in pseudo-code:
///
///   interface channel {
///     // One webhook (verified at the edge or here), answered through its responder: 200 once
///     // stored, or the error; 503 `overloaded` past the mailbox's high-water mark.
///     (webhook_atom, webhook_msg) -> void
///     // A quarantined body parsed again (the quarantine API's re-ingest), answered through
///     // its responder as a webhook's.
///     (reingest_atom, reingest_msg) -> void
///     // The store writer was restarted: use this one.
///     (store_atom, store_writer_actor) -> void
///     // A reconfigure changed the channel (settings, secrets, the tenant's privacy): handle
///     // the webhooks after this message with this logic; those before it used the old one.
///     (reconfig_atom, channel_logic_msg) -> void
///   }
///
/// Every answer goes through the message's responder (the HTTP session waits on it), so none
/// of these is a request.
using channel_actor = caf::typed_actor<caf::reacts_to<webhook_atom, webhook_msg>,
                                       caf::reacts_to<reingest_atom, reingest_msg>,
                                       caf::reacts_to<store_atom, store_writer_actor>,
                                       caf::reacts_to<reconfig_atom, channel_logic_msg>>;

// Its spawn function, which takes the tenant's handle, is in actors/actors.hpp (the tenant's
// interface names this one).

}  // namespace sb::actors

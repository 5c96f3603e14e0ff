#pragma once

// A web chat visitor's stream (`GET /chat/{tenant}/{channel}/stream`): one actor per open
// connection, showing the visitor's own conversation (docs/webchat.md).

#include <memory>

#include "actors/gateway.hpp"
#include "actors/history_reader.hpp"
#include "actors/stream_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "privacy/consent.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

/// A visitor stream has the interface of a live stream (`stream_actor`): `head_atom` wakes it,
/// `pump_atom` and `written_atom` are its own. What differs is who wakes it and what it reads:
///
/// - It registers with its tenant as
///     stream -> tenant (`register_atom`, `visitor_atom`, conversation, subject, stream_actor)
///   and is kept apart from the tenant's streams, by conversation: no announcement reaches it;
///   the tenant sends it `head_atom` only when a committed event of its conversation is
///   announced (and once, at registration). An idle visitor stream costs a commit nothing.
/// - It reads the events of its subject after its cursor, up to the head it was told, 256 at a
///   time, on the catch-up reader's thread (`history_task`: the store read and the rendering
///   happen there, never on a scheduler thread), and keeps the `message` events of its
///   conversation (actors/visitor_stream_logic.hpp). One batch is in flight at a time.
/// - When the connection has taken a batch that held agent replies (`content.echo`), it tells
///   the tenant `visitor_atom`, visitor_receipt{..., "delivered", their event ids}.
/// - It ends when the client leaves, the tenant goes down, a read fails, or its subject is
///   erased (`consent_registry::revoked`; the tenant also stops it on `erased_atom`).
///
/// Memory of an idle visitor stream: the actor (CAF's ~1 KB per event-based actor, its
/// mailbox empty), the request's strings (~200 bytes) and the tenant's index entry (~150 bytes);
/// no parser and no buffer while idle.
stream_actor spawn_visitor_stream(caf::actor_system& sys, std::shared_ptr<store::privacy_store> ps,
                                  stream_request req, tenant_actor tenant,
                                  std::shared_ptr<const privacy::consent_registry> consents,
                                  history_reader_actor history);

}  // namespace sb::actors

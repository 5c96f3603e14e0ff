#pragma once

// The push subscriber's interface: one per configured subscriber with `push` (docs/delivery.md).

#include <cstdint>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "config/config.hpp"
#include "delivery/http_client.hpp"
#include "delivery/settings.hpp"
#include "privacy/consent.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// A push subscriber, in pseudo-code:
///
///   interface subscriber {
///     // The tenant's announced head: read up to this seq (at spawn and on every commit).
///     (head_atom, uint64_t head) -> void
///     // `GET /v1/subscribers/{name}/dead-letters`, answered through the query's responder.
///     (deadlist_atom, dead_letters_query) -> void
///     // `POST .../redrive`, answered 202 through the request's responder.
///     (redrive_atom, redrive_request) -> void
///     // `POST .../enable`: forget a durable 410; answered through the request's responder.
///     (enable_atom, enable_request) -> void
///     // Subjects were erased: drop their events held in memory; the number dropped.
///     (erased_atom, erased_notice) -> uint64_t
///     // Counters, for tests and operations.
///     (stats_atom) -> subscriber_stats
///     // Internal: how one attempt ended (posted from the HTTP client's thread).
///     (sent_atom, delivery_done) -> void
///     // Internal timers: read more; a retry is due (ticket); the cursor-save timer fired.
///     (pump_atom) -> void
///     (retry_atom, uint64_t ticket) -> void
///     (save_atom) -> void
///   }
using subscriber_actor = caf::typed_actor<
    caf::reacts_to<head_atom, std::uint64_t>, caf::reacts_to<deadlist_atom, dead_letters_query>,
    caf::reacts_to<redrive_atom, redrive_request>, caf::reacts_to<enable_atom, enable_request>,
    caf::replies_to<erased_atom, erased_notice>::with<std::uint64_t>,
    caf::replies_to<stats_atom>::with<subscriber_stats>, caf::reacts_to<sent_atom, delivery_done>,
    caf::reacts_to<pump_atom>, caf::reacts_to<retry_atom, std::uint64_t>,
    caf::reacts_to<save_atom>>;

/// What a push subscriber actor is built from.
struct subscriber_init {
  std::string tenant;
  config::subscriber_config sub;  ///< has `push`
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::delivery_store> delivery;  ///< cursor, dead letters; null = none
  std::shared_ptr<delivery::http_client> http;
  delivery::settings settings;
  /// Consent checked per event before it is queued, again before each attempt and before a
  /// dead letter is written (null = the defaults); the purposes are `sub.purposes`.
  std::shared_ptr<const privacy::consent_registry> consents;
};

/// One push subscriber (docs/delivery.md): reads the log after its durable cursor, signs and
/// POSTs each event with retries, per-conversation order, dead letters and redrive. A monitored
/// child of its tenant `parent`, which sends it `head_atom` on commits; it monitors the parent
/// and stops when it goes. `detached` (own OS thread) when the store's writes block on disk, so
/// cursor and dead-letter writes never hold a scheduler thread.
subscriber_actor spawn_subscriber_actor(caf::local_actor* parent, subscriber_init init,
                                        bool detached);

}  // namespace sb::actors

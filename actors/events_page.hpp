#pragma once

#include <memory>
#include <optional>

#include "actors/gateway.hpp"
#include "privacy/consent.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// Answers a `GET /v1/events` query from the log: {"events":[...],"next":<seq>}, or 503 when the
/// log cannot be read. Plain function. A page the live tail holds is answered by
/// `events_page_cached` in a one-shot actor; one that needs the disk runs on the catch-up reader
/// (actors/history_reader.hpp), so neither queues behind nor holds the threads that answer the
/// platforms.
///
/// Consent: each event is checked against its subject's current state (`consents`; null = the
/// defaults) for a subscriber serving `purposes`; an event that may not reach it is left out and
/// `next` moves past it all the same. When filtering leaves the page short, the log is read on
/// (a bounded number of times) so that a run of withheld events does not answer empty pages
/// while later events wait.
///
/// `upto`: the tenant's announced head when the query arrived. Nothing past it is read (`next`
/// never passes it): a stored event not yet announced may carry a consent change (an opt-out
/// keyword) that the tenant has not applied yet.
http_response events_page(store::event_log& log, const events_query& q,
                          const privacy::consent_registry* consents, privacy::purpose_set purposes,
                          std::uint64_t upto);

/// `events_page` from memory only (`event_log::read_cached`): the same page, or none when a read
/// would need the store.
std::optional<http_response> events_page_cached(store::event_log& log, const events_query& q,
                                                const privacy::consent_registry* consents,
                                                privacy::purpose_set purposes,
                                                std::uint64_t upto);

}  // namespace sb::actors

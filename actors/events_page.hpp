#pragma once

#include "actors/gateway.hpp"
#include "store/event_log.hpp"

namespace sb::actors {

/// Answers a `GET /v1/events` query from the log: {"events":[...],"next":<seq>}, or 503 when the
/// log cannot be read. Plain function; runs in a one-shot reader actor so that reads never queue
/// behind (or in front of) a tenant's webhooks.
http_response events_page(store::event_log& log, const events_query& q);

}  // namespace sb::actors

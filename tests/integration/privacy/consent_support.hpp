#pragma once

// What the consent tests through the actor tree (consent_filter_test, keyword_race_test) share:
// subscribers with purposes, the privacy API as a subscriber calls it, and the three ways a
// subscriber reads (a pull page, an SSE stream into a collecting sink; push goes to a receiver).

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "integration/delivery/push_support.hpp"
#include "integration/gateway_support.hpp"

namespace sb::test::consent {

/// A subscriber reading for `purposes`; a push subscriber to `url` when one is given.
inline config::subscriber_config subscriber(const std::string& name,
                                            std::vector<std::string> purposes,
                                            const std::string& url = "") {
  config::subscriber_config s;
  s.name = name;
  s.purposes = std::move(purposes);
  if (!url.empty()) {
    s.push = config::push_config{url, push::k_secret};
  }
  return s;
}

/// The privacy API call `op` about `subject` by `caller` (scope privacy), answered.
inline actors::http_response api(push::harness& h, const std::string& op,
                                 const std::string& subject, const std::string& body,
                                 const std::string& caller = "helpdesk") {
  return h.call(make_api_call("acme", op, caller, static_cast<unsigned>(config::scope::privacy),
                              {subject}, body));
}

/// `GET /v1/events?after=0` as `subscriber` sees it (the raw JSON page).
inline std::string pull(push::harness& h, const std::string& subscriber) {
  auto r = h.ask([&](actors::responder_ptr reply) {
    actors::events_query q;
    q.tenant = "acme";
    q.subscriber = subscriber;
    q.after = 0;
    q.limit = 100;
    q.reply = std::move(reply);
    h.gw->read_events(std::move(q));
  });
  REQUIRE(r.status == 200);
  return r.body;
}

/// An SSE stream of `subscriber` from the start, written into `sink`.
struct sse_stream {
  std::shared_ptr<collecting_sink> sink = std::make_shared<collecting_sink>();
  std::shared_ptr<actors::stream_handle> handle;

  sse_stream(push::harness& h, const std::string& subscriber) {
    actors::stream_request sr;
    sr.tenant = "acme";
    sr.subscriber = subscriber;
    sr.after = 0;
    sr.sink = sink;
    handle = h.gw->open_stream(sr);
    REQUIRE(handle);
  }
};

inline bool has(const std::string& body, const std::string& text) {
  return body.find(text) != std::string::npos;
}

/// How a message's text appears in its event's JSON.
inline std::string text(const std::string& t) {
  return "\"text\":\"" + t + "\"";
}

}  // namespace sb::test::consent

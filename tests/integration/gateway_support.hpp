#pragma once

// What the in-process gateway tests share: the message format of their test adapters, and
// calling the gateway as the HTTP layer does (a responder whose answer the test awaits).

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/gateway.hpp"
#include "core/event.hpp"
#include "http/routes.hpp"

namespace sb::test {

/// Parses "<peer>:<message id>:<text>" into a message of `channel` (platform "test", account
/// "acct"): conversation "<channel>:<peer>", dedupe key "m:<id>", the peer as the subject's
/// source. `errc::malformed_body` when the two colons are missing.
inline status parse_text_message(const std::string& body, const std::string& channel, event& e) {
  auto a = body.find(':');
  auto b = body.find(':', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos) {
    return {errc::malformed_body, "expected peer:id:text"};
  }
  e.channel = {channel, "test", "acct"};
  e.type = event_type::message;
  e.peer = body.substr(0, a);
  e.conversation = channel + ":" + e.peer;
  e.platform_event_id = body.substr(a + 1, b - a - 1);
  e.dedupe_key = "m:" + e.platform_event_id;
  e.subject_source = e.peer;
  e.content.text = body.substr(b + 1);
  e.occurred_at = timestamp::from_seconds(1749416383);
  return {};
}

/// A responder that fulfils `p` with the gateway's answer.
inline actors::responder_ptr promised(std::shared_ptr<std::promise<actors::http_response>> p) {
  return std::make_shared<actors::responder>(
      [p](actors::http_response r) { p->set_value(std::move(r)); });
}

/// The answer `f` brings; fails the test when none comes within `wait`.
inline actors::http_response await_answer(std::future<actors::http_response>& f,
                                          std::chrono::seconds wait = std::chrono::seconds{10}) {
  REQUIRE(f.wait_for(wait) == std::future_status::ready);
  return f.get();
}

/// Calls `send(responder)` and awaits the answer the responder is given.
template <class Send>
actors::http_response ask(Send&& send, std::chrono::seconds wait = std::chrono::seconds{10}) {
  auto p = std::make_shared<std::promise<actors::http_response>>();
  auto f = p->get_future();
  send(promised(p));
  return await_answer(f, wait);
}

/// The value of the answer's header `name`; "" when it has none.
inline std::string header_of(const actors::http_response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) {
      return v;
    }
  }
  return {};
}

/// The handler the handler list binds to the operation `op` ("subject.export"), as the HTTP
/// layer hands it over with a call.
inline actors::api_handler api_handler_of(std::string_view op) {
  for (const auto& r : http::routes()) {
    if (r.name == op) {
      return r.api;
    }
  }
  throw std::invalid_argument("no API operation " + std::string(op));
}

/// The API call `op` of `tenant` by its subscriber `caller` holding `scopes`, as the HTTP layer
/// makes it, without the reply (the test sets it).
inline actors::api_call make_api_call(std::string tenant, std::string_view op, std::string caller,
                                      unsigned scopes, std::vector<std::string> params = {},
                                      std::string body = {}, std::string query = {}) {
  actors::api_call c;
  c.handler = api_handler_of(op);
  c.tenant = std::move(tenant);
  c.caller = std::move(caller);
  c.scopes = scopes;
  c.params = std::move(params);
  c.body = std::move(body);
  c.query = std::move(query);
  return c;
}

/// An SSE stream's sink that keeps every frame written to it; writes after `close()` are
/// refused, as a closed connection refuses them.
class collecting_sink final : public actors::stream_sink {
 public:
  bool write(actors::sse_batch events, std::function<void()> on_written) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) {
        return false;
      }
      for (const auto& e : events) {
        data_ += e->frame;
      }
    }
    on_written();
    return true;
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  std::string data() {
    std::lock_guard<std::mutex> lock(mutex_);
    return data_;
  }
  bool closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::string data_;
  bool closed_ = false;
};

}  // namespace sb::test

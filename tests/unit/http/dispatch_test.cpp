// The dispatch functions (src/http/dispatch.hpp) without sockets: a request routed and served
// against the handler list, with a recording exchange and gateway.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "actors/api_handlers.hpp"
#include "http/dispatch.hpp"
#include "http_test_support.hpp"

using namespace sb;
using test_http::make_config;

namespace {

/// Records the API calls it is given and answers 200 at once.
class recording_gateway final : public actors::gateway {
 public:
  void submit(actors::webhook_submission w) override { w.reply->answer({}); }
  void read_events(actors::events_query q) override { q.reply->answer({}); }
  std::shared_ptr<actors::stream_handle> open_stream(actors::stream_request) override {
    return nullptr;
  }
  void call(actors::api_call c) override {
    auto reply = std::move(c.reply);
    calls.push_back(std::move(c));
    reply->answer({});
  }
  bool ready() const override { return true; }
  void shutdown() override {}

  std::vector<actors::api_call> calls;
};

/// A request of a method, target and headers (names in lower case).
class fake_request final : public http::request_view {
 public:
  fake_request(std::string method, std::string target,
               std::multimap<std::string, std::string> headers = {}, std::string body = {})
      : method_(std::move(method)),
        target_(std::move(target)),
        headers_(std::move(headers)),
        body_(std::move(body)) {}

  std::string_view method() const override { return method_; }
  std::string_view target() const override { return target_; }
  std::string_view header(std::string_view name) const override {
    auto it = headers_.find(lower(name));
    return it == headers_.end() ? std::string_view{} : std::string_view(it->second);
  }
  std::vector<std::string_view> headers(std::string_view name) const override {
    std::vector<std::string_view> out;
    auto range = headers_.equal_range(lower(name));
    for (auto it = range.first; it != range.second; ++it) {
      out.emplace_back(it->second);
    }
    return out;
  }
  std::string& body() override { return body_; }

 private:
  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  }
  std::string method_, target_;
  std::multimap<std::string, std::string> headers_;
  std::string body_;
};

/// What `serve` did with a request.
class recording_exchange final : public http::exchange {
 public:
  void respond(actors::http_response r) override { responses.push_back(std::move(r)); }
  actors::responder_ptr await_gateway() override {
    ++awaited;
    return std::make_shared<actors::responder>(
        [this](actors::http_response r) { answers.push_back(std::move(r)); });
  }
  void open_stream(const http::principal& who, http::stream_params params) override {
    streams.push_back({who.tenant, params.after});
  }

  std::vector<actors::http_response> responses;  ///< answered by the HTTP layer itself
  std::vector<actors::http_response> answers;    ///< answered by the gateway
  int awaited = 0;
  std::vector<std::pair<std::string, std::uint64_t>> streams;
};

struct harness {
  explicit harness(std::shared_ptr<config::config> c = make_config())
      : cfg(std::move(c)), ctx(cfg, gateway) {}

  /// Routes and serves one request on the main listener (or the metrics one).
  recording_exchange serve(fake_request req, bool metrics_only = false) {
    recording_exchange ex;
    auto r = http::route_request(ctx, req.method(), req.target(), metrics_only);
    http::serve(ctx, r, req, ip::address{}, ex);
    return ex;
  }

  std::shared_ptr<config::config> cfg;
  recording_gateway gateway;
  http::dispatch_context ctx;
};

std::string header_of(const actors::http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) {
      return v;
    }
  }
  return {};
}

}  // namespace

TEST_CASE("dispatch answers a known path with another method 405 with Allow", "[http][dispatch]") {
  harness h;
  auto ex = h.serve({"PATCH", "/v1/subjects/sub_1"});
  REQUIRE(ex.responses.size() == 1);
  CHECK(ex.responses[0].status == 405);
  CHECK(header_of(ex.responses[0], "Allow") == "GET, DELETE");
  CHECK(ex.awaited == 0);
}

TEST_CASE("dispatch checks a route's scope before the gateway sees the call", "[http][dispatch]") {
  harness h;
  // A token without `privacy`: 403, nothing handed on.
  auto denied = h.serve({"GET", "/v1/subjects/sub_1", {{"authorization", "Bearer tok-acme"}}});
  REQUIRE(denied.responses.size() == 1);
  CHECK(denied.responses[0].status == 403);
  // No token: 401 with WWW-Authenticate.
  auto anonymous = h.serve({"POST", "/v1/messages"});
  REQUIRE(anonymous.responses.size() == 1);
  CHECK(anonymous.responses[0].status == 401);
  CHECK(header_of(anonymous.responses[0], "WWW-Authenticate") == "Bearer");
  CHECK(h.gateway.calls.empty());
}

TEST_CASE(
    "dispatch hands an API call to the gateway with its route's handler and the token's "
    "tenant",
    "[http][dispatch]") {
  harness h;
  auto ex = h.serve({"POST",
                     "/v1/messages?tenant=acme",
                     {{"authorization", "Bearer tok-send-only"},
                      {"content-type", "application/json"},
                      {"idempotency-key", "k1"}},
                     R"({"text":"hi"})"});
  CHECK(ex.responses.empty());
  CHECK(ex.awaited == 1);
  REQUIRE(h.gateway.calls.size() == 1);
  const auto& c = h.gateway.calls[0];
  CHECK(c.handler.in_tenant == &actors::send_message);
  CHECK(c.tenant == "acme");
  CHECK(c.caller == "sender");
  CHECK(c.body == R"({"text":"hi"})");
  CHECK(c.query == "tenant=acme");
  CHECK(c.headers.size() == 2);

  // An open route of the root: no token, no tenant.
  h.serve({"GET", "/v1/deletion-status/del_1"});
  REQUIRE(h.gateway.calls.size() == 2);
  CHECK(h.gateway.calls[1].handler.in_root == &actors::deletion_status);
  CHECK(h.gateway.calls[1].tenant.empty());
  CHECK(h.gateway.calls[1].params == std::vector<std::string>{"del_1"});
}

TEST_CASE("dispatch serves each route on its listener only", "[http][dispatch]") {
  auto cfg = make_config();
  cfg->server.metrics.listen = "127.0.0.1:0";
  harness h(cfg);
  CHECK(h.serve({"GET", "/metrics"}).responses.at(0).status == 404);
  CHECK(h.serve({"GET", "/metrics"}, true).responses.at(0).status == 200);
  CHECK(h.serve({"GET", "/healthz"}, true).responses.at(0).status == 200);
  CHECK(h.serve({"GET", "/healthz"}).responses.at(0).status == 200);
  CHECK(h.serve({"GET", "/v1/events"}, true).responses.at(0).status == 404);
}

TEST_CASE("dispatch opens a stream only for a token with the stream scope", "[http][dispatch]") {
  harness h;
  auto ex = h.serve({"GET", "/v1/stream?after=7", {{"authorization", "Bearer tok-acme"}}});
  CHECK(ex.responses.empty());
  REQUIRE(ex.streams.size() == 1);
  CHECK(ex.streams[0] == std::make_pair(std::string("acme"), std::uint64_t{7}));
  auto denied = h.serve({"GET", "/v1/stream", {{"authorization", "Bearer tok-send-only"}}});
  CHECK(denied.streams.empty());
  CHECK(denied.responses.at(0).status == 403);
}

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "adapters/adapter.hpp"
#include "http/server.hpp"
#include "store/event_log.hpp"
#include "http_test_support.hpp"

using namespace sb::test_http;

namespace {

using fixture = server_fixture;

}  // namespace

TEST_CASE("the server binds a free port and answers /healthz with a Server header", "[http]") {
  fixture f;
  REQUIRE(f.port() != 0);
  CHECK(f.server.host() == "127.0.0.1");
  client c(f.port());
  REQUIRE(c.send(get("/healthz")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"status":"ok"})");
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->header("server") == "switchboard");
}

TEST_CASE("/readyz follows the gateway's readiness", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(get("/readyz")));
  auto ready = c.read_response();
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body == R"({"status":"ready"})");

  f.gateway.is_ready = false;
  REQUIRE(c.send(get("/readyz")));
  auto not_ready = c.read_response();
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  CHECK(is_json_error(*not_ready, "unavailable"));
}

TEST_CASE("an oversize POST is answered 413 JSON and the connection closes", "[http]") {
  fixture f;
  std::string big(5000, 'x');

  SECTION("declared by Content-Length") {
    client c(f.port());
    c.send(signed_post("/webhooks/acme/tg", big));  // the server may close before reading it all
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(is_json_error(*r, "body_too_large"));
    CHECK(r->header("connection") == "close");
    CHECK(c.closed_by_peer());
  }
  SECTION("sent chunked") {
    client c(f.port());
    std::string head =
        "POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunks;
    for (int i = 0; i < 5; ++i) {
      chunks += "3e8\r\n" + std::string(1000, 'y') + "\r\n";
    }
    c.send(head + chunks + "0\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(is_json_error(*r, "body_too_large"));
  }
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("unknown tenant or channel is 404 JSON and never reaches the gateway", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(post("/webhooks/nobody/tg", "{}")));
  auto tenant = c.read_response();
  REQUIRE(tenant);
  CHECK(tenant->status == 404);
  CHECK(is_json_error(*tenant, "unknown_channel"));

  REQUIRE(c.send(get("/webhooks/acme/nochannel?hub.mode=subscribe")));
  auto channel = c.read_response();
  REQUIRE(channel);
  CHECK(channel->status == 404);
  CHECK(is_json_error(*channel, "unknown_channel"));

  REQUIRE(c.send(get("/nowhere")));
  auto route = c.read_response();
  REQUIRE(route);
  CHECK(route->status == 404);
  CHECK(is_json_error(*route, "not_found"));

  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("a wrong method is 405 JSON with Allow", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send("DELETE /v1/events HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->header("allow") == "GET");
  CHECK(is_json_error(*r, "method_not_allowed"));
}

TEST_CASE(
    "webhooks on one keep-alive connection reach the gateway with only the adapter's "
    "headers",
    "[http]") {
  fixture f;
  client c(f.port());
  const std::string secret_header = "x-telegram-bot-api-secret-token";
  std::string extra = "X-Telegram-Bot-Api-Secret-Token: s3cret\r\nX-Unrelated: 1\r\n";

  REQUIRE(c.send(post("/webhooks/acme/tg?a=b", R"({"update_id":1})", extra)));
  auto first = c.read_response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == R"({"accepted":true})");
  CHECK(first->header("connection") != "close");

  REQUIRE(c.send(signed_post("/webhooks/acme/tg", R"({"update_id":2})", extra)));
  auto second = c.read_response();
  REQUIRE(second);
  CHECK(second->status == 200);

  REQUIRE(f.gateway.submission_count() == 2);
  auto s = f.gateway.submission_at(0);
  CHECK(s.tenant == "acme");
  CHECK(s.channel == "tg");
  CHECK(s.method == "POST");
  CHECK(s.query == "a=b");
  CHECK(s.body == R"({"update_id":1})");
  CHECK(s.body_capacity >= s.body.size() + 64);
  std::vector<sb::adapters::header> expected;
  for (const auto& name : sb::adapters::find("telegram")->headers) {
    if (name == secret_header) {
      expected.push_back({name, "s3cret"});
    }
  }
  REQUIRE(s.headers.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(s.headers[i].name == expected[i].name);
    CHECK(s.headers[i].value == expected[i].value);
  }
  for (const auto& h : s.headers) {
    CHECK(h.name != "x-unrelated");
  }
  CHECK(f.gateway.submission_at(1).body == R"({"update_id":2})");
}

TEST_CASE("pipelined requests are answered one at a time, in order", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(signed_post("/webhooks/acme/tg", "{\"n\":1}") + get("/healthz") +
                 signed_post("/webhooks/acme/tg", "{\"n\":2}")));
  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(d);
  CHECK(a->body == R"({"accepted":true})");
  CHECK(b->body == R"({"status":"ok"})");
  CHECK(d->body == R"({"accepted":true})");
  REQUIRE(f.gateway.submission_count() == 2);
  CHECK(f.gateway.submission_at(1).body == "{\"n\":2}");
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is read", "[http]") {
  fixture f;
  client c(f.port());
  std::string body = R"({"update_id":7})";
  REQUIRE(
      c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
             "X-Telegram-Bot-Api-Secret-Token: s3cret\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c.read_until("\r\n\r\n");
  REQUIRE(interim);
  CHECK(interim->rfind("HTTP/1.1 100", 0) == 0);
  REQUIRE(c.send(body));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(f.gateway.submission_at(0).body == body);
}

TEST_CASE("a responder destroyed unanswered yields 503 JSON with Retry-After", "[http]") {
  fixture f;
  f.gateway.webhook_mode = fake_gateway::mode::drop;
  client c(f.port());
  REQUIRE(c.send(signed_post("/webhooks/acme/tg", "{}")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(is_json_error(*r, "unavailable"));
  CHECK(r->header("retry-after") == "1");
}

TEST_CASE("a late answer from the gateway is written when it comes", "[http]") {
  fixture f;
  f.gateway.webhook_mode = fake_gateway::mode::hold;
  client c(f.port());
  REQUIRE(c.send(signed_post("/webhooks/acme/tg", "{}")));
  auto reply = f.gateway.held_at(0);
  std::thread answerer([reply] {
    sb::actors::http_response r;
    r.status = 429;
    r.body = R"({"error":"rate_limited","message":"slow down"})";
    r.headers.emplace_back("Retry-After", "3");
    reply->answer(std::move(r));
  });
  auto r = c.read_response();
  answerer.join();
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->header("retry-after") == "3");
}

TEST_CASE("a header over max_header_bytes is rejected with 431 JSON", "[http]") {
  fixture f;
  client c(f.port());
  c.send("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(is_json_error(*r, "bad_request"));
  CHECK(c.closed_by_peer());
}

TEST_CASE("a malformed request line is answered 400 JSON", "[http]") {
  fixture f;
  client c(f.port());
  c.send("GET /healthz HTTX/1.1\r\nHost: test\r\n\r\n");
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(is_json_error(*r, "bad_request"));
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout_ms", "[http]") {
  auto cfg = make_config();
  cfg->server.idle_timeout_ms = 200;
  cfg->server.header_timeout_ms = 30000;  // so only the idle timeout can close it in time
  fixture f(cfg);
  client c(f.port());
  REQUIRE(c.send(get("/healthz")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(c.closed_by_peer(milliseconds(3000)));
}

TEST_CASE(
    "past max_connections with no idle connection to close a new one is answered 503 JSON "
    "and closed",
    "[http]") {
  auto cfg = make_config();
  cfg->server.max_connections = 1;
  cfg->server.idle_timeout_ms = 30000;  // the first connection stays open on its own
  fixture f(cfg);
  f.gateway.webhook_mode = fake_gateway::mode::hold;
  client first(f.port());
  REQUIRE(first.send(signed_post("/webhooks/acme/tg", "{}")));
  auto held = f.gateway.held_at(0);  // accepted, counted, and busy: not idle

  client second(f.port());
  auto r = second.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(is_json_error(*r, "overloaded"));
  CHECK(r->header("retry-after") == "1");
  CHECK(second.closed_by_peer());

  held->answer({});
  REQUIRE(first.read_response());
  first.close();  // its slot frees once the server notices (or it is closed as idle)
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    client third(f.port());
    third.send(get("/healthz"));
    auto again = third.read_response();
    served = again && again->status == 200;
    if (!served) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  CHECK(served);
}

TEST_CASE("the events API requires a bearer token of the tenant with the stream scope", "[http]") {
  fixture f;
  client c(f.port());

  REQUIRE(c.send(get("/v1/events")));
  auto missing = c.read_response();
  REQUIRE(missing);
  CHECK(missing->status == 401);
  CHECK(missing->header("www-authenticate") == "Bearer");
  CHECK(is_json_error(*missing, "unauthorized"));

  REQUIRE(c.send(get("/v1/events", "Authorization: Bearer nope\r\n")));
  auto unknown = c.read_response();
  REQUIRE(unknown);
  CHECK(unknown->status == 401);

  REQUIRE(c.send(get("/v1/events", "Authorization: Bearer tok-send-only\r\n")));
  auto scope = c.read_response();
  REQUIRE(scope);
  CHECK(scope->status == 403);
  CHECK(is_json_error(*scope, "forbidden"));

  REQUIRE(c.send(get("/v1/events?tenant=globex", "Authorization: Bearer tok-acme\r\n")));
  auto cross = c.read_response();
  REQUIRE(cross);
  CHECK(cross->status == 403);

  REQUIRE(c.send(get("/v1/events?limit=abc", "Authorization: Bearer tok-acme\r\n")));
  auto bad = c.read_response();
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(is_json_error(*bad, "bad_request"));
  CHECK(bad->body.find("limit") != std::string::npos);

  CHECK(f.gateway.queries().empty());

  REQUIRE(c.send(get("/v1/events?after=41&limit=5000&types=message,status&tenant=acme",
                     "Authorization: Bearer tok-acme\r\n")));
  auto ok = c.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == R"({"events":[],"next":41})");
  auto queries = f.gateway.queries();
  REQUIRE(queries.size() == 1);
  CHECK(queries[0].tenant == "acme");
  CHECK(queries[0].subscriber == "helpdesk");
  CHECK(queries[0].after == 41);
  CHECK(queries[0].limit == 1000);
  CHECK(queries[0].types == std::vector<std::string>{"message", "status"});
}

TEST_CASE("SSE frames written by the gateway reach the client, a disconnect cancels the stream",
          "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(get("/v1/stream?types=message&after=3",
                     "Authorization: Bearer tok-acme\r\nLast-Event-ID: 7\r\n")));
  auto head = c.read_until("\r\n\r\n");
  REQUIRE(head);
  auto r = client::parse_head(*head);
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "text/event-stream");
  CHECK(r.header("cache-control") == "no-cache");
  CHECK(r.header("x-accel-buffering") == "no");
  CHECK_FALSE(r.has_header("content-length"));
  CHECK_FALSE(r.has_header("transfer-encoding"));

  auto request = f.gateway.stream_at(0);
  CHECK(request.tenant == "acme");
  CHECK(request.subscriber == "helpdesk");
  CHECK(request.after == 7);
  CHECK(request.types == std::vector<std::string>{"message"});
  REQUIRE(request.sink);

  // Two shared events, written in one write: their frames, in order, as they are.
  std::promise<void> written;
  auto e8 = sb::store::share({8, "message", "c1", "", "{\"seq\":8}"});
  auto e9 = sb::store::share({9, "message", "c1", "", "{\"seq\":9}"});
  CHECK(request.sink->write({e8, e9}, [&written] { written.set_value(); }));
  auto got = c.read_until("\"seq\":9}\n\n");
  REQUIRE(got);
  CHECK(*got == "id: 8\nevent: message\ndata: {\"seq\":8}\n\n"
                "id: 9\nevent: message\ndata: {\"seq\":9}\n\n");
  CHECK(written.get_future().wait_for(wait_bound) == std::future_status::ready);
  CHECK(f.gateway.cancels() == 0);

  c.close();
  REQUIRE(f.gateway.wait_cancels(1));
  CHECK_FALSE(request.sink->write({e9}, [] {}));
}

TEST_CASE("an idle SSE stream carries keep-alive comments", "[http]") {
  sb::http::server_options options;
  options.sse_keepalive_ms = 50;
  fixture f(make_config(), options);
  client c(f.port());
  REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-acme\r\n")));
  REQUIRE(c.read_until("\r\n\r\n"));
  auto comment = c.read_until("\n\n");
  REQUIRE(comment);
  CHECK(*comment == ": keep-alive\n\n");
}

TEST_CASE("the gateway closing a stream ends the response after pending frames", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-acme\r\n")));
  REQUIRE(c.read_until("\r\n\r\n"));
  auto request = f.gateway.stream_at(0);
  request.sink->write({sb::store::share({3, "message", "c1", "", "\"last\""})}, [] {});
  request.sink->close();
  CHECK(c.closed_by_peer());
  CHECK(c.buffered() == "id: 3\nevent: message\ndata: \"last\"\n\n");
}

TEST_CASE("a stream request without the stream scope is 403 and opens nothing", "[http]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-send-only\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(is_json_error(*r, "forbidden"));
  CHECK(f.gateway.stream_count() == 0);
}

TEST_CASE("stop() returns promptly with an open SSE client and cancels its stream", "[http]") {
  auto cfg = make_config();
  cfg->server.shutdown_grace_ms = 20000;  // only an immediate SSE close lets stop() return soon
  fixture f(cfg);
  client c(f.port());
  REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-acme\r\n")));
  REQUIRE(c.read_until("\r\n\r\n"));
  f.gateway.stream_at(0);

  auto done = std::async(std::launch::async, [&] { f.server.stop(); });
  REQUIRE(done.wait_for(milliseconds(10000)) == std::future_status::ready);
  CHECK(f.gateway.cancels() == 1);
  CHECK(c.closed_by_peer());
  f.server.stop();  // idempotent
}

TEST_CASE("stop() lets a request in flight finish and closes the connection after it", "[http]") {
  auto cfg = make_config();
  cfg->server.shutdown_grace_ms = 20000;
  cfg->server.idle_timeout_ms = 30000;  // only stop() can close the idle connection in time
  fixture f(cfg);
  f.gateway.webhook_mode = fake_gateway::mode::hold;
  client busy(f.port());
  REQUIRE(busy.send(signed_post("/webhooks/acme/tg", "{}")));
  auto reply = f.gateway.held_at(0);

  client idle(f.port());
  REQUIRE(idle.send(get("/healthz")));
  REQUIRE(idle.read_response());

  auto done = std::async(std::launch::async, [&] { f.server.stop(); });
  CHECK(idle.closed_by_peer());  // idle keep-alive connections close at once
  CHECK(done.wait_for(milliseconds(50)) == std::future_status::timeout);

  sb::actors::http_response answer;
  answer.body = R"({"accepted":true})";
  reply->answer(std::move(answer));
  auto r = busy.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  REQUIRE(done.wait_for(milliseconds(10000)) == std::future_status::ready);
}

TEST_CASE("stop() closes a request the gateway never answers after shutdown_grace_ms", "[http]") {
  auto cfg = make_config();
  cfg->server.shutdown_grace_ms = 200;
  fixture f(cfg);
  f.gateway.webhook_mode = fake_gateway::mode::hold;
  client busy(f.port());
  REQUIRE(busy.send(signed_post("/webhooks/acme/tg", "{}")));
  auto reply = f.gateway.held_at(0);

  auto done = std::async(std::launch::async, [&] { f.server.stop(); });
  REQUIRE(done.wait_for(milliseconds(10000)) == std::future_status::ready);
  CHECK(busy.closed_by_peer());
  reply->answer({});  // too late: dropped, the server is gone
}

TEST_CASE("a port already in use is a clear start-up error", "[http]") {
  fixture f;
  auto cfg = make_config();
  cfg->server.listen = "127.0.0.1:" + std::to_string(f.port());
  fake_gateway other;
  try {
    sb::http::server second(cfg, other);
    FAIL("binding a port in use succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("cannot listen on 127.0.0.1:") != std::string::npos);
  }
}

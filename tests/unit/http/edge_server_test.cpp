// The hostile-edge bounds of the in-process server (issue 10): strict framing, bounded chunk
// headers and trailers, /metrics access, SSE streams per token, idle connections closed to admit
// new ones, uniform 404s. A fake gateway; real sockets on 127.0.0.1.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "http/server.hpp"
#include "support/eventually.hpp"
#include "http_test_support.hpp"

using namespace sb::test_http;

namespace {

using fixture = server_fixture;

const std::string tg_secret = "X-Telegram-Bot-Api-Secret-Token: s3cret\r\n";

}  // namespace

TEST_CASE(
    "a request smuggled behind Transfer-Encoding chunked, identity is never answered: one "
    "400 and the connection closes",
    "[http][framing]") {
  fixture f;
  client c(f.port());
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
  REQUIRE(c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\n" + tg_secret +
                 "Transfer-Encoding: chunked, identity\r\n\r\n" + smuggled));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(is_json_error(*r, "bad_request"));
  CHECK(r->header("connection") == "close");
  CHECK(c.closed_by_peer());
  CHECK(c.buffered().find("HTTP/1.1") == std::string::npos);  // no second response
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("Transfer-Encoding with Content-Length, or twice, is answered 400 and closed",
          "[http][framing]") {
  fixture f;
  for (const std::string& framing :
       {std::string("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
        std::string("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        std::string("Transfer-Encoding: gzip\r\n")}) {
    INFO(framing);
    client c(f.port());
    c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\n" + tg_secret + framing +
           "\r\n0\r\n\r\n");
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(c.closed_by_peer());
  }
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("a chunked body with a small extension and trailer is still accepted",
          "[http][framing]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\n" + tg_secret +
                 "Transfer-Encoding: chunked\r\n\r\n"
                 "5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  REQUIRE(f.gateway.submission_count() == 1);
  CHECK(f.gateway.submission_at(0).body == "hello");
}

TEST_CASE("a chunk extension that never ends is cut at the read buffer's bound with 400",
          "[http][framing]") {
  fixture f;  // max_header_bytes 2048
  client c(f.port());
  c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\n" + tg_secret +
         "Transfer-Encoding: chunked\r\n\r\n5;");
  // 1 MiB of extension, sent while the server may already have answered.
  const std::string ext(64 * 1024, 'a');
  for (int i = 0; i < 16; ++i) {
    if (!c.send(ext)) {
      break;
    }
  }
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(is_json_error(*r, "bad_request"));
  CHECK(r->body.find("max_header_bytes") != std::string::npos);
  CHECK(c.closed_by_peer());
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("a trailer section over the bound is answered 400", "[http][framing]") {
  fixture f;
  client c(f.port());
  c.send("POST /webhooks/acme/tg HTTP/1.1\r\nHost: test\r\n" + tg_secret +
         "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n");
  for (int i = 0; i < 200; ++i) {
    if (!c.send("X-T" + std::to_string(i) + ": " + std::string(500, 'b') + "\r\n")) {
      break;
    }
  }
  c.send("\r\n");
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(c.closed_by_peer());
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("an unsigned webhook is refused at the edge and never reaches the gateway",
          "[http][gate]") {
  fixture f;
  client c(f.port());
  REQUIRE(c.send(post("/webhooks/acme/tg", "{}")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(is_json_error(*r, "missing_signature"));
  REQUIRE(c.send(signed_post("/webhooks/acme/tg", "{}")));
  auto ok = c.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  REQUIRE(f.gateway.submission_count() == 1);
}

TEST_CASE("failed verifications past the source's budget are answered 429 with Retry-After",
          "[http][gate]") {
  auto cfg = make_config();
  cfg->limits.auth_failures_per_source.rps = 0.1;
  cfg->limits.auth_failures_per_source.burst = 2;
  fixture f(cfg);
  client c(f.port());
  const std::string wrong = "X-Telegram-Bot-Api-Secret-Token: guess\r\n";
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send(post("/webhooks/acme/tg", "{}", wrong)));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  REQUIRE(c.send(post("/webhooks/acme/tg", "{}", wrong)));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(is_json_error(*r, "too_many_failures"));
  CHECK(std::stoi(r->header("retry-after")) >= 1);
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("the GET handshake is answered at the edge, unknown tenant and channel alike 404",
          "[http][gate]") {
  auto cfg = make_config();
  sb::config::channel_config fb;
  fb.name = "fb";
  fb.type = "messenger";
  fb.settings["app_secret"] = "fb-secret";
  fb.settings["verify_token"] = "fb-verify";
  fb.settings["page_id"] = "1";
  cfg->tenants[0].channels.push_back(fb);
  fixture f(cfg);
  client c(f.port());
  REQUIRE(
      c.send(get("/webhooks/acme/fb?hub.mode=subscribe&hub.verify_token=fb-verify"
                 "&hub.challenge=42")));
  auto ok = c.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "42");
  REQUIRE(c.send(get("/webhooks/acme/fb?hub.mode=subscribe&hub.verify_token=x&hub.challenge=42")));
  auto wrong = c.read_response();
  REQUIRE(wrong);
  CHECK(wrong->status == 403);

  REQUIRE(c.send(get("/webhooks/nobody/fb?hub.mode=subscribe")));
  auto tenant = c.read_response();
  REQUIRE(c.send(get("/webhooks/acme/nobody?hub.mode=subscribe")));
  auto channel = c.read_response();
  REQUIRE(c.send(post("/webhooks/nobody/fb/data-deletion", "signed_request=x.y")));
  auto deletion = c.read_response();
  REQUIRE(tenant);
  REQUIRE(channel);
  REQUIRE(deletion);
  CHECK(tenant->status == 404);
  CHECK(tenant->body == channel->body);
  CHECK(tenant->body == deletion->body);
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("/metrics with a token configured needs that bearer token", "[http][metrics]") {
  auto cfg = make_config();
  cfg->server.metrics.token_sha256 = digest_of("metrics-token");
  fixture f(cfg);
  client c(f.port());
  REQUIRE(c.send(get("/metrics")));
  auto none = c.read_response();
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(none->header("www-authenticate") == "Bearer");
  REQUIRE(c.send(get("/metrics", "Authorization: Bearer tok-acme\r\n")));
  auto other = c.read_response();
  REQUIRE(other);
  CHECK(other->status == 401);
  REQUIRE(c.send(get("/metrics", "Authorization: Bearer metrics-token\r\n")));
  auto ok = c.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body.find("switchboard_") != std::string::npos);
}

TEST_CASE("with server.metrics.listen /metrics moves to its own listener", "[http][metrics]") {
  auto cfg = make_config();
  cfg->server.metrics.listen = "127.0.0.1:0";
  fixture f(cfg);
  REQUIRE(f.server.metrics_port() != 0);
  CHECK(f.server.metrics_port() != f.port());
  CHECK(f.server.metrics_host() == "127.0.0.1");

  client main_listener(f.port());
  REQUIRE(main_listener.send(get("/metrics")));
  auto hidden = main_listener.read_response();
  REQUIRE(hidden);
  CHECK(hidden->status == 404);
  CHECK(is_json_error(*hidden, "not_found"));

  client metrics(f.server.metrics_port());
  REQUIRE(metrics.send(get("/metrics")));
  auto shown = metrics.read_response();
  REQUIRE(shown);
  CHECK(shown->status == 200);
  REQUIRE(metrics.send(get("/healthz")));
  auto health = metrics.read_response();
  REQUIRE(health);
  CHECK(health->status == 200);
  REQUIRE(metrics.send(get("/v1/events", "Authorization: Bearer tok-acme\r\n")));
  auto api = metrics.read_response();
  REQUIRE(api);
  CHECK(api->status == 404);
  REQUIRE(metrics.send(signed_post("/webhooks/acme/tg", "{}")));
  auto webhook = metrics.read_response();
  REQUIRE(webhook);
  CHECK(webhook->status == 404);
  CHECK(f.gateway.submission_count() == 0);
}

TEST_CASE("a token's SSE streams past limits.sse_streams_per_token get 429 until one closes",
          "[http][sse]") {
  auto cfg = make_config();
  cfg->limits.sse_streams_per_token = 1;
  fixture f(cfg);
  const std::string auth = "Authorization: Bearer tok-acme\r\n";
  auto first = std::make_unique<client>(f.port());
  REQUIRE(first->send(get("/v1/stream", auth)));
  auto head = first->read_until("\r\n\r\n");
  REQUIRE(head);
  CHECK(client::parse_head(*head).status == 200);

  client second(f.port());
  REQUIRE(second.send(get("/v1/stream", auth)));
  auto refused = second.read_response();
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(is_json_error(*refused, "too_many_streams"));
  CHECK(std::stoi(refused->header("retry-after")) >= 1);
  CHECK(f.gateway.stream_count() == 1);

  first.reset();  // the client goes away: its slot is given back before the stream is cancelled
  REQUIRE(f.gateway.wait_cancels(1));
  client third(f.port());
  REQUIRE(third.send(get("/v1/stream", auth)));
  auto again = third.read_until("\r\n\r\n");
  REQUIRE(again);
  CHECK(client::parse_head(*again).status == 200);
}

TEST_CASE("a stream the gateway cannot start is 503 with Retry-After, closed, and frees its slot",
          "[http][sse]") {
  auto cfg = make_config();
  cfg->limits.sse_streams_per_token = 1;
  fixture f(cfg);
  const std::string auth = "Authorization: Bearer tok-acme\r\n";
  f.gateway.refuse_streams = true;
  client refused(f.port());
  REQUIRE(refused.send(get("/v1/stream", auth)));
  auto r = refused.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(is_json_error(*r, "unavailable"));
  CHECK(r->header("retry-after") == "1");
  CHECK(refused.closed_by_peer());

  // The token's only slot was given back: the next stream opens.
  f.gateway.refuse_streams = false;
  client next(f.port());
  REQUIRE(next.send(get("/v1/stream", auth)));
  auto head = next.read_until("\r\n\r\n");
  REQUIRE(head);
  CHECK(client::parse_head(*head).status == 200);
  CHECK(f.gateway.stream_count() == 2);
}

TEST_CASE("at max_connections the oldest idle connection is closed to admit a new one", "[http]") {
  auto cfg = make_config();
  cfg->server.max_connections = 2;
  cfg->server.idle_timeout_ms = 30000;
  fixture f(cfg);
  client oldest(f.port());
  REQUIRE(oldest.send(get("/healthz")));
  REQUIRE(oldest.read_response());
  // Both sessions are idle (a client may read its response before its session is marked idle,
  // and the one marked first is the one evicted): only then is `oldest` the oldest idle one.
  REQUIRE(sb::test::eventually([&] { return f.server.idle_connections() == 1; }));
  client newer(f.port());
  REQUIRE(newer.send(get("/healthz")));
  REQUIRE(newer.read_response());
  REQUIRE(sb::test::eventually([&] { return f.server.idle_connections() == 2; }));

  client fresh(f.port());
  REQUIRE(fresh.send(signed_post("/webhooks/acme/tg", "{}")));
  auto r = fresh.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(oldest.closed_by_peer());
  REQUIRE(newer.send(get("/healthz")));
  auto still = newer.read_response();
  REQUIRE(still);
  CHECK(still->status == 200);
}

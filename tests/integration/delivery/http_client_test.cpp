// The curl-multi client against a real local HTTP server.
#include <catch2/catch.hpp>

#include <future>
#include <memory>

#include "delivery/http_client.hpp"
#include "integration/delivery/receiver.hpp"

using namespace sb;
using namespace std::chrono_literals;
using client = delivery::http_client;

namespace {

std::unique_ptr<client> start(client::options o = {}) {
  auto c = client::start(std::move(o));
  REQUIRE(c.ok());
  return std::move(c).value();
}

/// Submits and waits for the callback (a generous bound; the tests assert on the outcome).
client::response call(client& c, client::request req) {
  auto p = std::make_shared<std::promise<client::response>>();
  auto f = p->get_future();
  auto st = c.submit(std::move(req), [p](client::response r) { p->set_value(std::move(r)); });
  REQUIRE(st.ok());
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

client::request post(const std::string& url, std::string body) {
  client::request r;
  r.url = url;
  r.body = std::move(body);
  r.headers = {{"content-type", "application/json"}, {"x-test", "1"}};
  return r;
}

}  // namespace

TEST_CASE("the client posts the body and headers and returns status, headers and body",
          "[integration][delivery][http_client]") {
  test::receiver rx([](const test::received_request&, std::size_t) {
    test::reply r;
    r.status = 503;
    r.headers = {{"Retry-After", "7"}, {"X-Other", "y"}};
    r.body = "busy";
    return r;
  });
  auto c = start();
  auto res = call(*c, post(rx.url("/in?x=1"), R"({"a":1})"));
  CHECK(res.fail == client::failure::none);
  CHECK(res.error.empty());
  CHECK(res.status == 503);
  CHECK(res.body == "busy");
  CHECK(res.header("retry-after") == std::optional<std::string_view>("7"));
  CHECK(res.header("x-other") == std::optional<std::string_view>("y"));
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/in?x=1");
  CHECK(reqs[0].body == R"({"a":1})");
  CHECK(reqs[0].header("content-type") == "application/json");
  CHECK(reqs[0].header("x-test") == "1");
  CHECK(reqs[0].header("expect").empty());
}

TEST_CASE("sequential requests to one host reuse one connection",
          "[integration][delivery][http_client]") {
  test::receiver rx;
  auto c = start();
  for (int i = 0; i < 5; ++i) {
    CHECK(call(*c, post(rx.url(), "{}")).status == 200);
  }
  CHECK(rx.count() == 5);
  CHECK(rx.connections() == 1);
}

TEST_CASE("a response body is capped", "[integration][delivery][http_client]") {
  test::receiver rx([](const test::received_request&, std::size_t) {
    test::reply r;
    r.body = std::string(10000, 'x');
    return r;
  });
  client::options o;
  o.max_response_body = 100;
  auto c = start(o);
  auto res = call(*c, post(rx.url(), "{}"));
  CHECK(res.status == 200);
  CHECK(res.body.size() == 100);
  CHECK(res.truncated);
  // The connection survived the dropped rest of the body.
  CHECK(call(*c, post(rx.url(), "{}")).status == 200);
  CHECK(rx.connections() == 1);
}

TEST_CASE("a request that gets no answer times out", "[integration][delivery][http_client]") {
  test::receiver rx([](const test::received_request&, std::size_t) {
    test::reply r;
    r.hang = true;
    return r;
  });
  auto c = start();
  auto req = post(rx.url(), "{}");
  req.timeout = 200ms;
  auto res = call(*c, req);
  CHECK(res.fail == client::failure::timeout);
  CHECK(res.status == 0);
  CHECK_FALSE(res.error.empty());
}

TEST_CASE("a refused connection is a connect failure", "[integration][delivery][http_client]") {
  std::string url;
  {
    test::receiver gone;
    url = gone.url();
  }
  auto c = start();
  auto res = call(*c, post(url, "{}"));
  CHECK(res.fail == client::failure::connect);
  CHECK(res.status == 0);
}

TEST_CASE("only http and https URLs are fetched", "[integration][delivery][http_client]") {
  auto c = start();
  auto res = call(*c, post("file:///etc/passwd", "{}"));
  CHECK(res.fail == client::failure::other);
  CHECK(res.status == 0);
  CHECK(res.body.empty());
}

TEST_CASE("submit refuses work beyond the queue bound and after stop",
          "[integration][delivery][http_client]") {
  test::receiver rx([](const test::received_request&, std::size_t) {
    test::reply r;
    r.hang = true;
    return r;
  });
  client::options o;
  o.max_active = 2;
  o.max_queued = 3;
  auto c = start(o);
  std::mutex m;
  std::vector<client::response> done;
  auto cb = [&](client::response r) {
    std::lock_guard lock(m);
    done.push_back(std::move(r));
  };
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c->submit(post(rx.url(), "{}"), cb).ok());
  }
  auto refused = c->submit(post(rx.url(), "{}"), cb);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == errc::overloaded);
  CHECK(c->pending() == 5);
  // Two transfers run (held by the receiver), three wait for a slot.
  REQUIRE(rx.wait_for_count(2));
  CHECK(rx.max_concurrent() == 2);

  // Stop cancels all five, on the client's thread, before it returns.
  c->stop();
  {
    std::lock_guard lock(m);
    REQUIRE(done.size() == 5);
    for (const auto& r : done) {
      CHECK(r.fail == client::failure::cancelled);
    }
  }
  auto late = c->submit(post(rx.url(), "{}"), cb);
  REQUIRE_FALSE(late.ok());
  CHECK(late.err().code == errc::unavailable);
  CHECK(c->pending() == 0);
  c->stop();  // idempotent
}

TEST_CASE("a callback may submit the next request", "[integration][delivery][http_client]") {
  test::receiver rx;
  auto c = start();
  auto p = std::make_shared<std::promise<int>>();
  auto f = p->get_future();
  client* raw = c.get();
  const std::string url = rx.url();
  REQUIRE(c->submit(post(url, "1"), [raw, url, p](client::response) {
             auto st =
                 raw->submit(post(url, "2"), [p](client::response r) { p->set_value(r.status); });
             if (!st.ok()) {
               p->set_value(-1);
             }
           }).ok());
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  CHECK(f.get() == 200);
  CHECK(rx.count() == 2);
}

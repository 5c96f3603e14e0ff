// End-to-end: a web chat visitor's stream (`GET /chat/{tenant}/{channel}/stream`, issue 15 §1)
// against the real binary: the visitor's own conversation only, history and resume, frames
// without internal fields, streams of other visitors left asleep, and erasure revoking the
// visitor (their stream ends; the token stays refused after a restart on SQLite).
//
// Visitors post their messages as signed webhooks of the channel (the adapter verifies the
// session token): this exercises the stream apart from the visitor message route.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "core/time.hpp"
#include "e2e/yaml_config.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_acme_93b1c0d4e5f6a728"};
const char* const k_origin = "https://shop.example.com";
const char* const k_type = "webchat";  // the channel type under test (tests may name it)

/// The channel "web" of the web chat type, allowing `k_origin`.
test_server::channel web_channel() {
  return {"web", k_type, {{"allowed_origins", k_origin}}};
}

/// "vis_" + 26 Crockford base-32 characters, distinct per `n`.
std::string visitor_id(int n) {
  char digits[8];
  std::snprintf(digits, sizeof digits, "%04d", n);
  return std::string("vis_01JDQ3Z6J7AW4Y4PZ0VQ3N") + digits;
}

/// Mints visitors' tokens with the channel's key, as the session route does: the key is derived
/// from the master key by the loader, so the YAML the binary runs is loaded here too.
class minter {
 public:
  explicit minter(const std::string& yaml) {
    auto loaded = sb::config::load_string(yaml, "test.yaml", sb::adapters::schemas());
    REQUIRE(loaded.ok());
    cfg_ = loaded.cfg;
    channel_ = cfg_->find_tenant(acme.id)->find_channel("web");
    REQUIRE(channel_ != nullptr);
    hooks_ = &sb::adapters::find(k_type)->visitors;
    REQUIRE(hooks_->mint != nullptr);
  }

  std::string token(const std::string& visitor) const {
    auto expires = sb::timestamp::from_millis(sb::now().unix_ms + 3600 * 1000);
    return hooks_->mint(*channel_, visitor, expires);
  }

 private:
  std::shared_ptr<const sb::config::config> cfg_;
  const sb::config::channel_config* channel_ = nullptr;
  const sb::adapters::visitor_hooks* hooks_ = nullptr;
};

/// The visitor's message as a signed webhook of the channel; requires it stored (2xx).
void post_visitor(const gateway_process& gw, const std::string& token, const std::string& text,
                  const std::string& client_id) {
  const std::string body = "{\"text\":\"" + text + "\",\"client_id\":\"" + client_id + "\"}";
  auto r = request("POST", gw.base_url() + "/webhooks/acme/web",
                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                   body);
  INFO("POST /webhooks/acme/web -> " << r.status << ": " << r.body);
  REQUIRE(r.status >= 200);
  REQUIRE(r.status < 300);
}

std::string stream_url(const gateway_process& gw, const std::string& token,
                       const std::string& query = "") {
  return gw.base_url() + "/chat/acme/web/stream?token=" + token + query;
}

header_list origin_headers(header_list more = {}) {
  more.insert(more.begin(), {"Origin", k_origin});
  return more;
}

/// Opens a visitor's stream and requires it open.
std::unique_ptr<sse_client> open_stream(const gateway_process& gw, const std::string& token,
                                        const std::string& query = "",
                                        header_list more = {}) {
  auto s = std::make_unique<sse_client>(stream_url(gw, token, query),
                                        origin_headers(std::move(more)));
  const long status = s->wait_connected();
  INFO("visitor stream: " << status << " " << s->error_text());
  REQUIRE(status == 200);
  return s;
}

std::vector<std::string> texts(const std::vector<sse_frame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    out.push_back(json::parse(f.data)["content"]["text"].str());
  }
  return out;
}

/// The subject of the backend's events of `conversation` (the visitor's pseudonym).
std::string subject_of(const gateway_process& gw, const std::string& conversation) {
  // A pull reads up to the tenant's announced head, which may trail the webhook's 200 by the
  // announcement interval: ask until the event is there.
  std::string subject;
  std::string last;
  const bool found = eventually(
      [&] {
        auto r = request("GET", gw.base_url() + "/v1/events?after=0", bearer(acme.token));
        last = std::to_string(r.status) + " " + r.body.substr(0, 2000);
        if (r.status != 200) {
          return false;
        }
        // Named: a range-for over a member of a temporary would read freed memory.
        const json page = json::parse(r.body);
        for (const auto& e : page["events"].items()) {
          if (e["conversation"].str() == conversation && !e["subject"].str().empty()) {
            subject = e["subject"].str();
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(10));
  UNSCOPED_INFO("GET /v1/events?after=0 answered " << last);
  return found ? subject : "";
}

}  // namespace

TEST_CASE("a visitor's stream shows their own messages and never another visitor's",
          "[e2e][webchat][stream]") {
  test_server server;
  server.extra_channels.push_back(web_channel());
  const std::string yaml = test_config({acme}, server);
  gateway_process gw(yaml);
  minter m(yaml);
  const std::string alice = visitor_id(1);
  const std::string bob = visitor_id(2);
  const std::string alice_token = m.token(alice);
  const std::string bob_token = m.token(bob);

  sse_client backend(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(backend.wait_connected() == 200);
  auto alice_stream = open_stream(gw, alice_token);
  CHECK(alice_stream->content_type().find("text/event-stream") == 0);
  auto bob_stream = open_stream(gw, bob_token);

  post_visitor(gw, alice_token, "hello from alice", "a-1");
  post_visitor(gw, bob_token, "hello from bob", "b-1");
  post_visitor(gw, alice_token, "alice again", "a-2");

  REQUIRE(alice_stream->wait_for(2));
  REQUIRE(bob_stream->wait_for(1));
  // The backend's stream still gets everything.
  REQUIRE(backend.wait_for(3));
  // Whatever else may have come meanwhile is checked after the backend saw all three.
  CHECK(texts(alice_stream->frames()) ==
        std::vector<std::string>{"hello from alice", "alice again"});
  CHECK(texts(bob_stream->frames()) == std::vector<std::string>{"hello from bob"});

  for (const auto& f : alice_stream->frames()) {
    CHECK(f.event == "message");
    CHECK_FALSE(f.id.empty());
    auto e = json::parse(f.data);
    CHECK(e["seq"].number_text() == f.id);
    CHECK(e["conversation"].str() == "web:" + alice);
    // No subject, no tenant: the frame is the visitor's own data only.
    CHECK_FALSE(e.has("subject"));
    CHECK_FALSE(e.has("tenant"));
    CHECK(f.data.find("\"subject\"") == std::string::npos);
    CHECK(f.data.find("\"tenant\"") == std::string::npos);
  }
  // The backend's copy does name the subject.
  CHECK_FALSE(subject_of(gw, "web:" + alice).empty());
}

TEST_CASE("a visitor's stream replays the history from after=0 and resumes after Last-Event-ID",
          "[e2e][webchat][stream]") {
  test_server server;
  server.extra_channels.push_back(web_channel());
  const std::string yaml = test_config({acme}, server);
  gateway_process gw(yaml);
  minter m(yaml);
  const std::string alice_token = m.token(visitor_id(11));
  const std::string bob_token = m.token(visitor_id(12));

  post_visitor(gw, alice_token, "one", "c-1");
  post_visitor(gw, bob_token, "not yours", "c-x");
  post_visitor(gw, alice_token, "two", "c-2");
  post_visitor(gw, alice_token, "three", "c-3");

  // A page reload: the whole conversation.
  auto reload = open_stream(gw, alice_token, "&after=0");
  REQUIRE(reload->wait_for(3));
  auto frames = reload->frames();
  REQUIRE(texts(frames) == std::vector<std::string>{"one", "two", "three"});
  reload->stop();

  // Resume after the first: the other two, then what comes next, live.
  auto resumed = open_stream(gw, alice_token, "", {{"Last-Event-ID", frames[0].id}});
  REQUIRE(resumed->wait_for(2));
  post_visitor(gw, alice_token, "four", "c-4");
  REQUIRE(resumed->wait_for(3));
  CHECK(texts(resumed->frames()) == std::vector<std::string>{"two", "three", "four"});

  // ?after= as well, and a resume point past everything shows only what comes after it.
  auto latest = open_stream(gw, alice_token, "&after=" + resumed->frames().back().id);
  post_visitor(gw, alice_token, "five", "c-5");
  REQUIRE(latest->wait_for(1));
  CHECK(texts(latest->frames()) == std::vector<std::string>{"five"});
}

TEST_CASE("with 50 other visitors' streams open only the writing visitor's stream receives",
          "[e2e][webchat][stream]") {
  test_server server;
  server.extra_channels.push_back(web_channel());
  const std::string yaml = test_config({acme}, server);
  gateway_process gw(yaml);
  minter m(yaml);

  std::vector<std::unique_ptr<sse_client>> others;
  for (int i = 0; i < 50; ++i) {
    others.push_back(open_stream(gw, m.token(visitor_id(100 + i))));
  }
  const std::string writer_token = m.token(visitor_id(99));
  auto writer = open_stream(gw, writer_token);
  sse_client backend(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(backend.wait_connected() == 200);

  for (int i = 0; i < 5; ++i) {
    post_visitor(gw, writer_token, "message " + std::to_string(i), "w-" + std::to_string(i));
  }
  REQUIRE(writer->wait_for(5));
  REQUIRE(backend.wait_for(5));
  for (const auto& s : others) {
    CHECK(s->frames().empty());
    CHECK_FALSE(s->finished());
  }
}

TEST_CASE("an erasure of the visitor's subject ends their stream and revokes them after a restart",
          "[e2e][webchat][stream][erasure]") {
  temp_dir dir("sb-webchat-stream");
  yaml_config y;
  y.sqlite(dir.path)
      .tenant(acme.id)
      .channel("web", k_type, {{"allowed_origins", k_origin}})
      .subscriber("backend", acme.token, "[stream, send, privacy, admin]");
  const std::string yaml = y.str();
  minter m(yaml);
  const std::string alice = visitor_id(21);
  const std::string alice_token = m.token(alice);
  const std::string bob_token = m.token(visitor_id(22));
  {
    gateway_process gw(yaml);
    auto alice_stream = open_stream(gw, alice_token);
    auto bob_stream = open_stream(gw, bob_token);
    post_visitor(gw, alice_token, "please forget me", "e-1");
    post_visitor(gw, bob_token, "keep me", "e-2");
    REQUIRE(alice_stream->wait_for(1));
    REQUIRE(bob_stream->wait_for(1));

    const std::string subject = subject_of(gw, "web:" + alice);
    REQUIRE_FALSE(subject.empty());
    auto erased = request("DELETE", gw.base_url() + "/v1/subjects/" + subject, bearer(acme.token));
    INFO("DELETE -> " << erased.status << ": " << erased.body);
    REQUIRE(erased.status == 200);

    // Her stream ends at once; Bob's stays open.
    CHECK(alice_stream->wait_finished());
    CHECK_FALSE(bob_stream->finished());
    auto again = request("GET", stream_url(gw, alice_token), origin_headers());
    CHECK(again.status == 401);
  }
  // Restarted on the same store: the revocation holds, Bob's session still works.
  gateway_process gw(yaml);
  auto refused = request("GET", stream_url(gw, alice_token), origin_headers());
  INFO("after restart: " << refused.status << ": " << refused.body);
  CHECK(refused.status == 401);
  auto bob_stream = open_stream(gw, bob_token, "&after=0");
  REQUIRE(bob_stream->wait_for(1));
  CHECK(texts(bob_stream->frames()) == std::vector<std::string>{"keep me"});
}

TEST_CASE("one visitor holds at most eight streams and another visitor still gets one",
          "[e2e][webchat][stream]") {
  test_server server;
  server.extra_channels.push_back(web_channel());
  const std::string yaml = test_config({acme}, server);
  gateway_process gw(yaml);
  minter m(yaml);
  const std::string alice_token = m.token(visitor_id(21));
  std::vector<std::unique_ptr<sse_client>> tabs;
  for (int i = 0; i < 8; ++i) {
    tabs.push_back(open_stream(gw, alice_token));
  }
  // Streams are never idle connections: without this bound one token could hold every
  // connection the server admits, and platforms' webhooks would find none.
  auto ninth = request("GET", stream_url(gw, alice_token), origin_headers());
  CHECK(ninth.status == 429);
  CHECK(json::parse(ninth.body)["error"].str() == "too_many_streams");
  CHECK_FALSE(ninth.header("retry-after").empty());
  CHECK(ninth.header("access-control-allow-origin") == k_origin);
  auto bob = open_stream(gw, m.token(visitor_id(22)));
  // A closed tab gives its slot back.
  tabs.back()->stop();
  tabs.pop_back();
  CHECK(eventually(
      [&] {
        auto s = std::make_unique<sse_client>(stream_url(gw, alice_token), origin_headers());
        return s->wait_connected() == 200;
      },
      std::chrono::seconds(10)));
}

// End-to-end: the agent's side of web chat (docs/webchat.md, docs/outbound.md "Web chat")
// against the real binary: a reply through POST /v1/messages is stored as the agent's message in
// the visitor's conversation (no platform, no window) and becomes sent, delivered when the
// visitor's stream took it and read when the widget says so; a session's consent choices, name
// and e-mail are recorded like any other consent change and customer data.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "e2e/webchat_support.hpp"
#include "support/process.hpp"

using namespace sb::test;
using namespace sb::test::webchat;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_webchat_reply_4c81d2e7a9"};

/// acme with the web chat channel "web" for http://shop.example, titled "Acme support"; the
/// standard subscriber "backend" (every scope) is the help desk.
std::string chat_config() {
  test_server server;
  server.extra_channels.push_back({"web",
                                   "webchat",
                                   {{"allowed_origins", shop},
                                    {"title", "Acme support"},
                                    {"max_message_bytes", "300"}}});
  return test_config({acme}, server);
}

void visitor_says(const gateway_process& gw, const session& s, const std::string& text,
                  const std::string& client_id) {
  auto r = request("POST", gw.base_url() + "/chat/acme/web/messages", visitor_headers(s.token),
                   R"({"text":")" + text + R"(","client_id":")" + client_id + R"("})");
  INFO("POST messages -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 202);
}

http_result backend_send(const gateway_process& gw, const std::string& body,
                         const std::string& key = "") {
  header_list h = bearer(acme.token);
  h.emplace_back("Content-Type", "application/json");
  if (!key.empty()) {
    h.emplace_back("Idempotency-Key", key);
  }
  // A sender answers 503 for a moment after start, while it resumes its queue: retried.
  http_result r;
  eventually([&] {
    r = request("POST", gw.base_url() + "/v1/messages", h, body);
    return r.status != 503;
  }, 10s);
  return r;
}

json message_state(const gateway_process& gw, const std::string& id) {
  auto r = request("GET", gw.base_url() + "/v1/messages/" + id, bearer(acme.token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

/// The message once its state is `state` (a generous bound only).
json wait_state(const gateway_process& gw, const std::string& id, const std::string& state) {
  json last;
  const bool reached = eventually([&] {
    last = message_state(gw, id);
    return last["state"].str() == state;
  });
  INFO("last answer: " << last["state"].str() << " " << last["platform_message_id"].str());
  REQUIRE(reached);
  return last;
}

std::vector<json> events_of(const gateway_process& gw, const std::string& type) {
  std::vector<json> out;
  const json all = get_events(gw.base_url(), acme.token, "after=0&limit=1000");
  for (const auto& e : all["events"].items()) {
    if (e["type"].str() == type) {
      out.push_back(e);
    }
  }
  return out;
}

/// The outbound.status events of message `id` in state `state`.
std::size_t statuses(const gateway_process& gw, const std::string& id, const std::string& state) {
  std::size_t n = 0;
  for (const auto& e : events_of(gw, "outbound.status")) {
    if (e["outbound"]["id"].str() == id && e["outbound"]["state"].str() == state) {
      ++n;
    }
  }
  return n;
}

/// The agent's messages (echo) stored in `conversation`.
std::vector<json> agent_messages(const gateway_process& gw, const std::string& conversation) {
  std::vector<json> out;
  for (const auto& e : events_of(gw, "message")) {
    if (e["conversation"].str() == conversation && e["content"]["echo"].boolean()) {
      out.push_back(e);
    }
  }
  return out;
}

http_result read_up_to(const gateway_process& gw, const session& s, std::uint64_t seq) {
  return request("POST", gw.base_url() + "/chat/acme/web/read", visitor_headers(s.token),
                 R"({"up_to":)" + std::to_string(seq) + "}");
}

}  // namespace

TEST_CASE("an agent's reply is stored in the visitor's conversation and becomes sent then read",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  sse_client backend_stream(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(backend_stream.wait_connected() == 200);

  const auto s = start_session(gw);
  const std::string conversation = "web:" + s.visitor;
  visitor_says(gw, s, "Where is my order?", "c-1");

  // No window to wait for and nothing to resolve: the visitor id is the recipient.
  const std::string body = R"({"channel":"web","to":")" + s.visitor +
                           R"(","text":"Hello, it ships today."})";
  auto accepted = backend_send(gw, body, "reply-1");
  INFO(accepted.body);
  REQUIRE(accepted.status == 202);
  const std::string id = json::parse(accepted.body)["id"].str();
  REQUIRE(id.rfind("out_", 0) == 0);

  const json sent = wait_state(gw, id, "sent");
  const std::string event_id = sent["platform_message_id"].str();
  CHECK(event_id.rfind("evt_", 0) == 0);
  CHECK(sent["conversation"].str() == conversation);
  CHECK(sent["attempts"].u64() == 1);
  CHECK(sent["error"].is_null());

  // The agent's message is an event of the visitor's conversation, on the backend's stream too.
  json agent;
  REQUIRE(eventually([&] {
    for (const auto& f : backend_stream.frames()) {
      if (f.event != "message") {
        continue;
      }
      json e = json::parse(f.data);
      if (e["id"].str() == event_id) {
        agent = e;
        return true;
      }
    }
    return false;
  }));
  CHECK(agent["conversation"].str() == conversation);
  CHECK(agent["channel"]["name"].str() == "web");
  CHECK(agent["channel"]["type"].str() == "webchat");
  CHECK(agent["content"]["echo"].boolean());
  CHECK(agent["content"]["text"].str() == "Hello, it ships today.");
  CHECK(agent["sender"]["name"].str() == "Acme support");
  // The same person: the subject of the visitor's own message.
  std::string visitor_subject;
  for (const auto& e : events_of(gw, "message")) {
    if (e["conversation"].str() == conversation && !e["content"]["echo"].boolean()) {
      visitor_subject = e["subject"].str();
    }
  }
  REQUIRE_FALSE(visitor_subject.empty());
  CHECK(agent["subject"].str() == visitor_subject);
  CHECK(statuses(gw, id, "sent") == 1);

  // The same request again (a backend retry) answers the same message and stores nothing new.
  auto replay = backend_send(gw, body, "reply-1");
  REQUIRE(replay.status == 202);
  CHECK(json::parse(replay.body)["id"].str() == id);
  CHECK(replay.header("idempotent-replayed") == "true");
  CHECK(agent_messages(gw, conversation).size() == 1);

  // The widget showed everything up to the agent's message: read.
  auto read = read_up_to(gw, s, agent["seq"].u64());
  INFO(read.body);
  REQUIRE(read.status == 202);
  CHECK(json::parse(read.body)["read"].u64() == 1);
  CHECK(read.header("access-control-allow-origin") == shop);
  wait_state(gw, id, "read");
  REQUIRE(eventually([&] { return statuses(gw, id, "read") == 1; }));
  // The receipt is a status event of the visitor's conversation naming the agent's message.
  std::size_t receipts = 0;
  for (const auto& e : events_of(gw, "status")) {
    if (e["status"]["message_id"].str() == event_id) {
      ++receipts;
      CHECK(e["status"]["state"].str() == "read");
      CHECK(e["conversation"].str() == conversation);
      CHECK(e["subject"].str() == visitor_subject);
    }
  }
  CHECK(receipts == 1);

  // A read below the agent's message covers nothing.
  auto before = read_up_to(gw, s, agent["seq"].u64() - 1);
  REQUIRE(before.status == 202);
  CHECK(json::parse(before.body)["read"].u64() == 0);

  // A second reply, then a read up to it: both messages are covered (the widget reloaded); the
  // first one's receipt is stored in the same write as the second's, as a duplicate.
  auto second = backend_send(
      gw, R"({"channel":"web","to":")" + s.visitor + R"(","text":"Anything else?"})");
  REQUIRE(second.status == 202);
  const std::string id2 = json::parse(second.body)["id"].str();
  const std::string event_id2 = wait_state(gw, id2, "sent")["platform_message_id"].str();
  std::uint64_t seq2 = 0;
  REQUIRE(eventually([&] {
    for (const auto& e : agent_messages(gw, conversation)) {
      if (e["id"].str() == event_id2) {
        seq2 = e["seq"].u64();
      }
    }
    return seq2 != 0;
  }));
  auto again = read_up_to(gw, s, seq2);
  REQUIRE(again.status == 202);
  CHECK(json::parse(again.body)["read"].u64() == 2);
  wait_state(gw, id2, "read");
  REQUIRE(eventually([&] { return statuses(gw, id2, "read") == 1; }));
  std::size_t first_receipts = 0;
  for (const auto& e : events_of(gw, "status")) {
    first_receipts += e["status"]["message_id"].str() == event_id ? 1 : 0;
  }
  CHECK(first_receipts == 1);
  CHECK(statuses(gw, id, "read") == 1);
  CHECK(message_state(gw, id)["state"].str() == "read");
}

TEST_CASE("a web chat reply becomes delivered once the visitor's stream took it",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  const auto s = start_session(gw);
  visitor_says(gw, s, "Hello?", "c-1");
  auto accepted = backend_send(
      gw, R"({"conversation":"web:)" + s.visitor + R"(","text":"Hi, how can we help?"})");
  INFO(accepted.body);
  REQUIRE(accepted.status == 202);
  const std::string id = json::parse(accepted.body)["id"].str();
  const std::string event_id = wait_state(gw, id, "sent")["platform_message_id"].str();

  sse_client widget(gw.base_url() + "/chat/acme/web/stream?token=" + s.token, from_shop());
  REQUIRE(widget.wait_connected() == 200);
  const bool both = widget.wait_for(2);
  INFO("frames: " << widget.frames().size() << "; " << widget.error_text());
  REQUIRE(both);
  bool shown = false;
  for (const auto& f : widget.frames()) {
    shown = shown || json::parse(f.data)["id"].str() == event_id;
  }
  CHECK(shown);
  wait_state(gw, id, "delivered");
  CHECK(eventually([&] { return statuses(gw, id, "delivered") == 1; }));
}

TEST_CASE("a web chat reply must name a visitor and carry text only", "[e2e][webchat]") {
  gateway_process gw(chat_config());
  auto not_visitor = backend_send(gw, R"({"channel":"web","to":"15551234567","text":"Hi"})");
  REQUIRE(not_visitor.status == 400);
  CHECK_THAT(json::parse(not_visitor.body)["message"].str(), Catch::Contains("field 'to'"));
  auto media = backend_send(gw, R"({"channel":"web","to":"vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K",)"
                                R"("media":{"kind":"image","url":"https://x.example/a.png"}})");
  REQUIRE(media.status == 400);
  CHECK_THAT(json::parse(media.body)["message"].str(), Catch::Contains("field 'media'"));
  auto too_long = backend_send(gw, R"({"channel":"web","to":"vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K",)"
                                   R"("text":")" + std::string(301, 'a') + R"("})");
  REQUIRE(too_long.status == 400);
  CHECK_THAT(json::parse(too_long.body)["message"].str(), Catch::Contains("300 bytes"));
  CHECK(agent_messages(gw, "web:vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K").empty());
}

TEST_CASE("a session's consent choices are recorded and audited and its name and e-mail stored",
          "[e2e][webchat]") {
  gateway_process gw(chat_config());
  const auto s = start_session(
      gw, "web", R"({"name":"Ana Lima","email":"ana@example.com",)"
          R"("purposes":{"marketing":false,"analytics":true}})");
  const std::string conversation = "web:" + s.visitor;

  // consent.changed per choice, from the visitor, in their conversation.
  std::string subject;
  std::vector<json> changes;
  REQUIRE(eventually([&] {
    changes.clear();
    for (const auto& e : events_of(gw, "consent.changed")) {
      if (e["conversation"].str() == conversation) {
        changes.push_back(e);
      }
    }
    return changes.size() == 2;
  }));
  for (const auto& e : changes) {
    CHECK(e["consent"]["source"].str() == "visitor");
    CHECK(e["channel"]["name"].str() == "web");
    const auto purpose = e["consent"]["purpose"].str();
    CHECK((purpose == "marketing" || purpose == "analytics"));
    CHECK(e["consent"]["granted"].boolean() == (purpose == "analytics"));
    subject = e["subject"].str();
  }
  REQUIRE_FALSE(subject.empty());

  // The name and e-mail as a customer event of the visitor.
  std::vector<json> customers;
  for (const auto& e : events_of(gw, "customer")) {
    if (e["conversation"].str() == conversation) {
      customers.push_back(e);
    }
  }
  REQUIRE(customers.size() == 1);
  CHECK(customers[0]["kind"].str() == "webchat.session");
  CHECK(customers[0]["sender"]["platform_id"].str() == s.visitor);
  CHECK(customers[0]["sender"]["name"].str() == "Ana Lima");
  CHECK(customers[0]["sender"]["username"].str() == "ana@example.com");
  CHECK(customers[0]["subject"].str() == subject);

  // Audited as the consent API's changes are, with the visitor's channel as the actor.
  auto audit = request("GET", gw.base_url() + "/v1/audit", bearer(acme.token));
  INFO(audit.body);
  REQUIRE(audit.status == 200);
  std::size_t audited = 0;
  const json entries = json::parse(audit.body);
  for (const auto& a : entries["entries"].items()) {
    if (a["subject"].str() == subject) {
      CHECK(a["actor"].str() == "visitor:web");
      CHECK(a["action"].str() == "consent");
      CHECK(a["outcome"].str() == "ok");
      ++audited;
    }
  }
  CHECK(audited == 2);

  // The same subject as the visitor's messages, and the choice holds: no marketing to them.
  visitor_says(gw, s, "Hi", "c-1");
  std::string message_subject;
  REQUIRE(eventually([&] {
    for (const auto& e : events_of(gw, "message")) {
      if (e["conversation"].str() == conversation) {
        message_subject = e["subject"].str();
      }
    }
    return !message_subject.empty();
  }));
  CHECK(message_subject == subject);
  auto marketing = backend_send(gw, R"({"channel":"web","to":")" + s.visitor +
                                        R"(","purpose":"marketing","text":"Sale!"})");
  INFO(marketing.body);
  CHECK(marketing.status == 409);
  CHECK(json::parse(marketing.body)["error"].str() == "consent_required");

}

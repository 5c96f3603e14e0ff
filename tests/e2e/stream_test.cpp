// End-to-end: the backend APIs (DESIGN §6) — Server-Sent Events, pull, tenant isolation and
// shutdown — against the real binary over real sockets.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_acme_93b1c0d4e5f6a728"};
const test_tenant globex{"globex", "sbt_e2e_globex_1a2b3c4d5e6f7081"};

/// Posts a signed WhatsApp webhook and requires 200.
void post_whatsapp(const gateway_process& gw, const test_tenant& t, const std::string& body) {
  auto r = request("POST", gw.base_url() + "/webhooks/" + t.id + "/wa-main",
                   signing::whatsapp(t.wa_app_secret(), body), body);
  INFO("POST /webhooks/" << t.id << "/wa-main -> " << r.status << ": " << r.body);
  REQUIRE(r.status == 200);
}

void post_text(const gateway_process& gw, const test_tenant& t, int n, const std::string& text) {
  post_whatsapp(gw, t, pl::wa_text_webhook(pl::wamid(n), "16505551234", "Sheena Nelson", text));
}

std::vector<std::uint64_t> seqs(const json& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events.items()) {
    out.push_back(e["seq"].u64());
  }
  return out;
}

std::vector<std::string> frame_ids(const std::vector<sse_frame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    out.push_back(f.id);
  }
  return out;
}

std::string text(std::uint64_t v) {
  return std::to_string(v);
}

void require_error(const http_result& r, long status, const std::string& code) {
  INFO("response " << r.status << ": " << r.body);
  REQUIRE(r.status == status);
  json j = json::parse(r.body);
  CHECK(j["error"].str() == code);
  CHECK_FALSE(j["message"].str().empty());
}

}  // namespace

TEST_CASE("SSE resumes after Last-Event-ID or ?after= and filters by ?types=",
          "[e2e][stream][resume]") {
  gateway_process gw(test_config({acme}));
  const std::string out = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA==";
  post_text(gw, acme, 21, "one");
  post_text(gw, acme, 22, "two");
  post_whatsapp(gw, acme, pl::wa_status_webhook(out, "delivered", "16505551234"));

  auto stored = seqs(get_events(gw.base_url(), acme.token)["events"]);
  REQUIRE(stored.size() == 3);
  REQUIRE(stored[0] < stored[1]);
  REQUIRE(stored[1] < stored[2]);

  const std::string url = gw.base_url() + "/v1/stream";
  auto with_last_id = bearer(acme.token);
  with_last_id.emplace_back("Last-Event-ID", text(stored[0]));
  sse_client resumed(url, with_last_id);
  sse_client after(url + "?after=" + text(stored[1]), bearer(acme.token));
  sse_client statuses(url + "?types=status", bearer(acme.token));
  REQUIRE(resumed.wait_connected() == 200);
  REQUIRE(after.wait_connected() == 200);
  REQUIRE(statuses.wait_connected() == 200);

  REQUIRE(resumed.wait_for(2));
  REQUIRE(after.wait_for(1));
  REQUIRE(statuses.wait_for(1));

  // Live events follow the replay: each stream's next frame is the next event it should see,
  // which also proves nothing else came before it.
  post_text(gw, acme, 23, "three");
  post_whatsapp(gw, acme, pl::wa_status_webhook(out, "read", "16505551234"));
  auto all = seqs(get_events(gw.base_url(), acme.token)["events"]);
  REQUIRE(all.size() == 5);

  REQUIRE(resumed.wait_for(4));
  CHECK(frame_ids(resumed.frames()) ==
        std::vector<std::string>{text(all[1]), text(all[2]), text(all[3]), text(all[4])});

  REQUIRE(after.wait_for(3));
  CHECK(frame_ids(after.frames()) ==
        std::vector<std::string>{text(all[2]), text(all[3]), text(all[4])});

  REQUIRE(statuses.wait_for(2));
  auto status_frames = statuses.frames();
  CHECK(frame_ids(status_frames) == std::vector<std::string>{text(all[2]), text(all[4])});
  for (const auto& f : status_frames) {
    CHECK(f.event == "status");
    json e = json::parse(f.data);
    CHECK(e["type"].str() == "status");
    CHECK(e["status"]["message_id"].str() == out);
  }
  CHECK(json::parse(status_frames[0].data)["status"]["state"].str() == "delivered");
  CHECK(json::parse(status_frames[1].data)["status"]["state"].str() == "read");
}

TEST_CASE("a tenant's token sees only its own tenant's events, and others get 401 or 403",
          "[e2e][stream][isolation]") {
  gateway_process gw(test_config({acme, globex}));
  const std::string base = gw.base_url();

  // globex first, so that acme's first event is not simply the tenant-wide first one.
  post_text(gw, globex, 31, "globex secret plans");
  post_text(gw, acme, 32, "acme hello");

  sse_client acme_stream(base + "/v1/stream", bearer(acme.token));
  sse_client globex_stream(base + "/v1/stream", bearer(globex.token));
  REQUIRE(acme_stream.wait_connected() == 200);
  REQUIRE(globex_stream.wait_connected() == 200);

  post_text(gw, globex, 33, "globex again");
  post_text(gw, acme, 34, "acme again");

  json a = get_events(base, acme.token)["events"];
  json g = get_events(base, globex.token)["events"];
  REQUIRE(a.size() == 2);
  REQUIRE(g.size() == 2);
  CHECK(a[0]["platform_event_id"].str() == pl::wamid(32));
  CHECK(a[1]["platform_event_id"].str() == pl::wamid(34));
  CHECK(g[0]["platform_event_id"].str() == pl::wamid(31));
  CHECK(g[1]["platform_event_id"].str() == pl::wamid(33));
  for (const auto& e : a.items()) {
    CHECK(e["tenant"].str() == "acme");
  }
  for (const auto& e : g.items()) {
    CHECK(e["tenant"].str() == "globex");
  }

  REQUIRE(acme_stream.wait_for(2));
  REQUIRE(globex_stream.wait_for(2));
  auto af = acme_stream.frames();
  auto gf = globex_stream.frames();
  REQUIRE(af.size() == 2);
  REQUIRE(gf.size() == 2);
  CHECK(json::parse(af[0].data)["platform_event_id"].str() == pl::wamid(32));
  CHECK(json::parse(af[1].data)["platform_event_id"].str() == pl::wamid(34));
  CHECK(json::parse(gf[0].data)["platform_event_id"].str() == pl::wamid(31));
  CHECK(json::parse(gf[1].data)["platform_event_id"].str() == pl::wamid(33));
  for (const auto& f : af) {
    CHECK(json::parse(f.data)["tenant"].str() == "acme");
  }

  // Addressing another tenant explicitly is forbidden; one's own is fine.
  require_error(request("GET", base + "/v1/events?tenant=globex", bearer(acme.token)), 403,
                "forbidden");
  require_error(request("GET", base + "/v1/stream?tenant=globex", bearer(acme.token)), 403,
                "forbidden");
  CHECK(request("GET", base + "/v1/events?tenant=acme", bearer(acme.token)).status == 200);

  // No token, an unknown token, another scheme: 401.
  require_error(request("GET", base + "/v1/events"), 401, "unauthorized");
  require_error(request("GET", base + "/v1/stream"), 401, "unauthorized");
  require_error(request("GET", base + "/v1/events", bearer("sbt_e2e_nobody_000000000000")), 401,
                "unauthorized");
  require_error(request("GET", base + "/v1/stream", bearer("sbt_e2e_nobody_000000000000")), 401,
                "unauthorized");
  require_error(request("GET", base + "/v1/events", {{"Authorization", "Basic YWNtZTphY21l"}}), 401,
                "unauthorized");
}

TEST_CASE("SIGTERM with an open SSE client exits 0 within 5 seconds", "[e2e][stream][shutdown]") {
  auto gw = std::make_unique<gateway_process>(test_config({acme}));
  post_text(*gw, acme, 41, "before shutdown");
  sse_client stream(gw->base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(stream.wait_connected() == 200);
  REQUIRE(stream.wait_for(1));  // the stream is live end to end

  exit_status st = gw->terminate(5s);
  INFO("gateway output:\n" << gw->output());
  INFO("elapsed " << st.elapsed.count() << " ms");
  REQUIRE_FALSE(st.timed_out);
  CHECK(st.exited);
  CHECK(st.code == 0);
  CHECK(st.elapsed < 5s);
  // The server ended the stream; the client is not left hanging on a dead connection.
  CHECK(stream.wait_finished(2s));
}

TEST_CASE("twenty concurrent SSE subscribers all receive the same events in the same order",
          "[e2e][stream][fanout]") {
  gateway_process gw(test_config({acme}));
  constexpr int subscribers = 20;
  std::vector<std::unique_ptr<sse_client>> clients;
  for (int i = 0; i < subscribers; ++i) {
    clients.push_back(
        std::make_unique<sse_client>(gw.base_url() + "/v1/stream", bearer(acme.token)));
  }
  for (int i = 0; i < subscribers; ++i) {
    INFO("subscriber " << i);
    REQUIRE(clients[i]->wait_connected() == 200);
  }

  post_text(gw, acme, 51, "one");
  post_whatsapp(gw, acme,
                pl::wa_webhook({pl::wa_value(
                    {pl::wa_contact("4915112345678", "Jonas Weber")},
                    {pl::wa_text(pl::wamid(52), "4915112345678", "two", 1749416390),
                     pl::wa_text(pl::wamid(53), "4915112345678", "three", 1749416391)})}));
  post_text(gw, acme, 54, "four");

  json events = get_events(gw.base_url(), acme.token)["events"];
  REQUIRE(events.size() == 4);
  std::vector<std::string> expected_ids;
  std::vector<std::string> expected_event_ids;
  for (const auto& e : events.items()) {
    expected_ids.push_back(e["seq"].number_text());
    expected_event_ids.push_back(e["id"].str());
  }

  for (int i = 0; i < subscribers; ++i) {
    INFO("subscriber " << i);
    REQUIRE(clients[i]->wait_for(4, 15s));
    auto frames = clients[i]->frames();
    CHECK(frame_ids(frames) == expected_ids);
    std::vector<std::string> event_ids;
    for (const auto& f : frames) {
      event_ids.push_back(json::parse(f.data)["id"].str());
    }
    CHECK(event_ids == expected_event_ids);
  }
}

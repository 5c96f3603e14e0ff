// End-to-end: SIGHUP reloads the config file of the running binary (docs/operations.md,
// "Reloading the config"): channels, tokens and subscribers change without dropping an open
// stream; a broken file is refused and the old config keeps serving; a restart-only key is named
// in the log and keeps its running value.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <string>

#include "e2e/payloads.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using namespace std::chrono_literals;

namespace {

const test_tenant acme{"acme", "sbt_e2e_reload_acme_backend_7c1d"};
const std::string k_reader_old = "sbt_e2e_reload_reader_old_2b9e";
const std::string k_reader_new = "sbt_e2e_reload_reader_new_5f0a";
const std::string k_temp = "sbt_e2e_reload_temp_8e3c";
const std::string k_tg2_secret = "tg2-secret-token-reload";

std::string subscriber(const std::string& name, const std::string& token) {
  return "      - name: " + name + "\n        token_sha256: \"" + token_sha256(token) +
         "\"\n        scopes: [stream]\n";
}

/// The standard config of acme plus the subscribers "reader" (`reader_token`) and, when `temp`,
/// "temp"; with `tg2`, a second Telegram channel. `listen` replaces the listen address.
std::string reload_config(const std::string& reader_token, bool temp, bool tg2,
                          const std::string& listen = "127.0.0.1:0") {
  test_server s;
  if (tg2) {
    s.extra_channels.push_back({"tg2", "telegram", {{"secret_token", k_tg2_secret}}});
  }
  std::string y = test_config({acme}, s);
  y += subscriber("reader", reader_token);
  if (temp) {
    y += subscriber("temp", k_temp);
  }
  const std::string at = "127.0.0.1:0";
  y.replace(y.find(at), at.size(), listen);
  return y;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  REQUIRE(out.good());
}

std::string telegram_update(int update_id, const std::string& text) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" +
         std::to_string(7000 + update_id) +
         R"(,"from":{"id":532189746,"is_bot":false,"first_name":"Amélie"},)"
         R"("chat":{"id":532189746,"first_name":"Amélie","type":"private"},)"
         R"("date":1733230345,"text":)" +
         pl::quoted(text) + "}}";
}

long post_tg(const gateway_process& gw, const std::string& channel, const std::string& secret,
             int update_id, const std::string& text) {
  return request("POST", gw.base_url() + "/webhooks/acme/" + channel, signing::telegram(secret),
                 telegram_update(update_id, text))
      .status;
}

long pull_status(const gateway_process& gw, const std::string& token) {
  return request("GET", gw.base_url() + "/v1/events?after=0&limit=1",
                 {{"Authorization", "Bearer " + token}})
      .status;
}

bool metrics_show(const gateway_process& gw, const std::string& line) {
  auto r = request("GET", gw.base_url() + "/metrics");
  return r.status == 200 && r.body.find(line + "\n") != std::string::npos;
}

/// Sends SIGHUP and waits for the log line the reload ends with (`marker`, its `n`th occurrence).
void hangup_and_wait(gateway_process& gw, const std::string& marker, std::size_t n) {
  REQUIRE(::kill(gw.pid(), SIGHUP) == 0);
  REQUIRE(eventually([&] {
    const auto out = gw.output();
    std::size_t seen = 0;
    for (auto at = out.find(marker); at != std::string::npos; at = out.find(marker, at + 1)) {
      ++seen;
    }
    return seen >= n;
  }));
}

}  // namespace

TEST_CASE("SIGHUP applies a new config file without dropping a stream and refuses a broken one",
          "[e2e][reload]") {
  gateway_process gw(reload_config(k_reader_old, true, false));
  const std::string file = gw.dir() + "/switchboard.yaml";
  REQUIRE(pull_status(gw, k_reader_old) == 200);
  REQUIRE(pull_status(gw, k_temp) == 200);
  REQUIRE(post_tg(gw, "tg2", k_tg2_secret, 1, "too early") == 404);
  CHECK(metrics_show(gw, R"(switchboard_config_reloads_total{result="ok"} 0)"));

  sse_client stream(gw.base_url() + "/v1/stream", {{"Authorization", "Bearer " + acme.token}});
  REQUIRE(stream.wait_connected() == 200);
  REQUIRE(post_tg(gw, "tg", acme.tg_secret_token(), 2, "before the reload") == 200);
  REQUIRE(stream.wait_for(1));

  // A channel added, reader's token changed, temp removed.
  write_file(file, reload_config(k_reader_new, false, true));
  hangup_and_wait(gw, "config reloaded from", 1);
  CHECK(post_tg(gw, "tg2", k_tg2_secret, 3, "on the new channel") == 200);
  CHECK(pull_status(gw, k_reader_old) == 401);
  CHECK(pull_status(gw, k_reader_new) == 200);
  CHECK(pull_status(gw, k_temp) == 401);
  CHECK(stream.wait_for(2));
  CHECK_FALSE(stream.finished());
  REQUIRE(stream.frames().size() >= 2);
  CHECK(stream.frames()[1].data.find("on the new channel") != std::string::npos);
  CHECK(metrics_show(gw, R"(switchboard_config_reloads_total{result="ok"} 1)"));

  // A broken file: refused, every problem in the log, the config of the last reload serving.
  write_file(file, reload_config(k_reader_new, false, true) +
                       "  - id: acme\n    bogus_key: 1\nunknown_section: {}\n");
  hangup_and_wait(gw, "reload refused", 1);
  const auto out = gw.output();
  CHECK(out.find("bogus_key") != std::string::npos);
  CHECK(out.find("unknown_section") != std::string::npos);
  CHECK(metrics_show(gw, R"(switchboard_config_reloads_total{result="failed"} 1)"));
  CHECK(metrics_show(gw, R"(switchboard_config_reloads_total{result="ok"} 1)"));
  CHECK(pull_status(gw, k_reader_new) == 200);
  CHECK(post_tg(gw, "tg2", k_tg2_secret, 4, "still served") == 200);
  CHECK(stream.wait_for(3));

  // A restart-only key: named in the log, the running listener kept.
  write_file(file, reload_config(k_reader_new, false, true, "127.0.0.1:1"));
  hangup_and_wait(gw, "config reloaded from", 2);
  CHECK(gw.output().find("server.listen changed") != std::string::npos);
  CHECK(pull_status(gw, k_reader_new) == 200);  // on the port it started with
  CHECK(metrics_show(gw, R"(switchboard_config_reloads_total{result="ok"} 2)"));
  CHECK_FALSE(stream.finished());
  stream.stop();
  CHECK(gw.terminate().exited);
}

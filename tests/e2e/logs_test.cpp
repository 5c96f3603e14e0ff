// End-to-end: structured logs (docs/operations.md, "Logs") from the real binary: `--log-format
// json` and `log.format: json`, the access log (`log.access`), X-Request-Id accepted, generated
// and echoed (SSE heads included), and a push to a closed port logged with its cause.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/yaml_config.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_logs_admin_7d41c2"};

std::string tg_update(std::uint64_t update_id, const std::string& text) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" +
         std::to_string(update_id) +
         R"(,"from":{"id":42,"is_bot":false,"first_name":"Ada"},"chat":{"id":42,)"
         R"("first_name":"Ada","type":"private"},"date":1749416383,"text":")" +
         text + R"("}})";
}

/// The non-empty complete lines the process wrote so far (a line still being read is left).
std::vector<std::string> lines_of(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output.substr(0, output.rfind('\n') + 1));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

/// The first JSON log line whose `key` is the string `value`, parsed; waits for it. Every line
/// must parse as JSON (the test fails otherwise).
json wait_line(const gateway_process& gw, const std::string& key, const std::string& value) {
  json found;
  bool seen = eventually(
      [&] {
        for (const auto& line : lines_of(gw.output())) {
          json j = json::parse(line);
          if (j[key].is_string() && j[key].str() == value) {
            found = j;
            return true;
          }
        }
        return false;
      },
      seconds(10));
  INFO("output:\n" << gw.output());
  REQUIRE(seen);
  return found;
}

/// A free port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// The head of the response to `request` sent on a fresh connection to 127.0.0.1:`port`, up to
/// its blank line (an SSE stream's head, which the SSE client does not expose).
std::string raw_head(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[1024];
  while (got.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got.substr(0, got.find("\r\n\r\n"));
}

/// A request id the gateway made: 16 hex digits, '-', a decimal counter.
bool generated_id(const std::string& id) {
  if (id.size() < 18 || id[16] != '-') {
    return false;
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok = i < 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                           : (i == 16 || std::isdigit(static_cast<unsigned char>(c)) != 0);
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("with --log-format json every line is JSON and the access log names each request",
          "[e2e][logs]") {
  const std::string cfg = yaml_config()
                              .section("log:\n  access: true\n")
                              .tenant("acme")
                              .telegram(acme)
                              .subscriber("admin", acme.token, "[stream, admin]")
                              .str();
  process_options opts;
  opts.extra_args = {"--log-format", "json"};
  gateway_process gw(cfg, opts);

  // A client's id is echoed and logged with the request.
  header_list h = bearer(acme.token);
  h.emplace_back("X-Request-Id", "e2e-logs-42");
  auto events = request("GET", gw.base_url() + "/v1/events?after=0&limit=10", h);
  REQUIRE(events.status == 200);
  CHECK(events.header("x-request-id") == "e2e-logs-42");
  json line = wait_line(gw, "request_id", "e2e-logs-42");
  CHECK(line["level"].str() == "info");
  CHECK(line["component"].str() == "http");
  CHECK(line["msg"].str() == "request");
  CHECK(line["method"].str() == "GET");
  CHECK(line["route"].str() == "/v1/events");
  CHECK(line["status"].u64() == 200);
  CHECK(line["duration_us"].is_number());
  CHECK(line["tenant"].str() == "acme");
  CHECK(line["channel"].str() == "");
  CHECK(line["remote"].str() == "127.0.0.1");
  const std::string ts = line["ts"].str();  // RFC 3339, milliseconds, UTC
  REQUIRE(ts.size() == 24);
  CHECK(ts[10] == 'T');
  CHECK(ts[19] == '.');
  CHECK(ts.back() == 'Z');

  // Without an id the gateway makes one, echoes it and logs it; a webhook names its channel and
  // the route is the pattern, not the path.
  auto hook = request("POST", gw.base_url() + "/webhooks/acme/tg",
                      signing::telegram(acme.tg_secret_token()), tg_update(7001, "hello"));
  REQUIRE(hook.status == 200);
  const std::string made = hook.header("x-request-id");
  CHECK(generated_id(made));
  json hook_line = wait_line(gw, "request_id", made);
  CHECK(hook_line["method"].str() == "POST");
  CHECK(hook_line["route"].str() == "/webhooks/{tenant}/{channel}");
  CHECK(hook_line["tenant"].str() == "acme");
  CHECK(hook_line["channel"].str() == "tg");
  CHECK(hook_line["status"].u64() == 200);

  // An id that is not safe to echo is replaced; an unknown path is "unmatched", and neither
  // the path nor its query reaches the log.
  header_list bad{{"X-Request-Id", std::string(129, 'x')}};
  auto missing = request("GET", gw.base_url() + "/nope/path-e2e-secret?token=q-e2e-secret", bad);
  CHECK(missing.status == 404);
  const std::string replaced = missing.header("x-request-id");
  CHECK(generated_id(replaced));
  json missing_line = wait_line(gw, "request_id", replaced);
  CHECK(missing_line["route"].str() == "unmatched");
  CHECK(missing_line["status"].u64() == 404);
  CHECK(missing_line["tenant"].str() == "");
  CHECK(gw.output().find("e2e-secret") == std::string::npos);
  CHECK(gw.output().find(acme.token) == std::string::npos);

  // A stream's head carries the id too, and the stream is logged as it opens.
  const std::string head =
      raw_head(gw.port(), "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                              acme.token + "\r\nX-Request-Id: e2e-sse-7\r\n\r\n");
  INFO(head);
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK((head + "\r\n").find("\r\nX-Request-Id: e2e-sse-7\r\n") != std::string::npos);
  json sse_line = wait_line(gw, "request_id", "e2e-sse-7");
  CHECK(sse_line["route"].str() == "/v1/stream");
  CHECK(sse_line["status"].u64() == 200);

  // Every line, start-up included, is one JSON object with the four fixed keys.
  for (const auto& l : lines_of(gw.output())) {
    INFO(l);
    json j = json::parse(l);
    CHECK(j["ts"].is_string());
    CHECK(j["level"].is_string());
    CHECK(j["component"].is_string());
    CHECK(j["msg"].is_string());
  }
}

TEST_CASE("a push to a closed port is logged and dead-lettered with the cause refused",
          "[e2e][logs][delivery]") {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/hook";
  const std::string cfg =
      yaml_config()
          .section("log:\n  format: json\n")
          .tenant("acme")
          .telegram(acme)
          .subscriber("admin", acme.token, "[stream, admin]")
          .subscriber("hook", "", "",
                      push_settings(url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                    "          timeout_ms: 5000\n"
                                    "          retry_schedule_ms: [0, 100]\n"))
          .str();
  gateway_process gw(cfg);
  auto hook = request("POST", gw.base_url() + "/webhooks/acme/tg",
                      signing::telegram(acme.tg_secret_token()), tg_update(7002, "hi"));
  REQUIRE(hook.status == 200);

  json line = wait_line(gw, "cause", "refused");
  CHECK(line["component"].str() == "subscriber");
  CHECK(line["level"].str() == "warn");
  CHECK(line["tenant"].str() == "acme");
  CHECK(line["subscriber"].str() == "hook");
  CHECK(line["attempt"].u64() >= 1);
  CHECK(line["msg"].str().find("no response (refused: ") != std::string::npos);

  // The dead letter's last_error says the cause too.
  json letters;
  REQUIRE(eventually([&] {
    auto r =
        request("GET", gw.base_url() + "/v1/subscribers/hook/dead-letters", bearer(acme.token));
    if (r.status != 200) {
      return false;
    }
    letters = json::parse(r.body);
    return letters["dead_letters"].size() == 1;
  }));
  CHECK(letters["dead_letters"][0]["last_error"].str().rfind("refused: ", 0) == 0);
}

TEST_CASE("an unknown --log-format is refused with the accepted values", "[e2e][logs]") {
  auto run = run_switchboard({"--log-format", "yaml"}, seconds(20));
  CHECK(run.code == 2);
  CHECK(run.output.find("unknown log format 'yaml' (text or json)") != std::string::npos);
}

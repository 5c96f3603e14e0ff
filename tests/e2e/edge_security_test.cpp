// End-to-end: the attacks of issue 10 on the HTTP edge, run against the real binary over
// loopback (bounded in time and bytes), and what legitimate traffic sees meanwhile.
// Rows: 2 (forged floods lock a tenant out), 3 (a chunk extension grows memory), 7 (request
// smuggling), 9 (accept starvation); and name enumeration, /metrics access, SSE streams per token.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "e2e/payloads.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"

using namespace sb::test;
namespace pl = sb::test::payloads;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

const test_tenant acme{"acme", "sbt_e2e_edge_acme_81c4d2f07a"};

/// One parsed HTTP response.
struct raw_response {
  int status = 0;
  std::string head;  ///< status line and header lines, lower-cased names not guaranteed
  std::string body;

  /// The value of header `name` (case-insensitive), or "".
  std::string header(const std::string& name) const {
    std::string lower_head = head;
    for (auto& c : lower_head) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string key = "\r\n" + name + ":";
    for (auto& c : key) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto at = lower_head.find(key);
    if (at == std::string::npos) {
      return {};
    }
    auto start = at + key.size();
    auto end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') {
      v.erase(0, 1);
    }
    return v;
  }
};

/// A blocking TCP connection to the gateway from a chosen loopback source address (Linux routes
/// all of 127.0.0.0/8 to lo, so 127.0.0.2 is another client as far as the gateway can tell).
/// Every wait is bounded.
class raw_conn {
 public:
  raw_conn(std::uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      throw std::runtime_error("socket() failed");
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("bind to ") + source + " failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect() failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_conn() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  raw_conn(const raw_conn&) = delete;
  raw_conn& operator=(const raw_conn&) = delete;

  /// False when the peer refused the bytes (closed or reset).
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads what is there within `wait`: false on EOF or error (the connection is gone).
  bool fill(milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (ready <= 0) {
      return ready == 0;  // timeout: still open
    }
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  /// One response with a Content-Length body; nullopt when none came within `bound`.
  std::optional<raw_response> read_response(milliseconds bound = milliseconds(10000)) {
    const auto deadline = clock_type::now() + bound;
    for (;;) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        raw_response r;
        r.head = buf_.substr(0, end + 2);
        if (r.head.size() > 12) {
          r.status = std::stoi(r.head.substr(9, 3));
        }
        std::size_t length = 0;
        if (auto cl = r.header("content-length"); !cl.empty()) {
          length = std::stoul(cl);
        }
        if (buf_.size() >= end + 4 + length) {
          r.body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return r;
        }
      }
      if (eof_ || clock_type::now() >= deadline) {
        return std::nullopt;
      }
      fill(milliseconds(50));
    }
  }

  /// True when the peer closes (EOF or reset) within `bound`; data before is buffered.
  bool closed_by_peer(milliseconds bound = milliseconds(5000)) {
    const auto deadline = clock_type::now() + bound;
    while (!eof_ && clock_type::now() < deadline) {
      fill(milliseconds(50));
    }
    return eof_;
  }

  int fd() const { return fd_; }
  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

std::string http_post(const std::string& path, const std::string& body,
                      const header_list& headers = {}) {
  std::string r = "POST " + path + " HTTP/1.1\r\nHost: gw\r\n";
  for (const auto& [name, value] : headers) {
    r += name + ": " + value + "\r\n";
  }
  return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string http_get(const std::string& path, const header_list& headers = {}) {
  std::string r = "GET " + path + " HTTP/1.1\r\nHost: gw\r\n";
  for (const auto& [name, value] : headers) {
    r += name + ": " + value + "\r\n";
  }
  return r + "\r\n";
}

/// The standard config with `tenant_yaml` inserted into acme's entry (e.g. a rate limit).
std::string config_with(const test_server& server, const std::string& tenant_yaml = {}) {
  std::string y = test_config({acme}, server);
  if (!tenant_yaml.empty()) {
    const std::string entry = "  - id: acme\n";
    y.insert(y.find(entry) + entry.size(), tenant_yaml);
  }
  return y;
}

/// A signed WhatsApp webhook, as Meta posts it.
std::string signed_webhook(int n) {
  const std::string body =
      pl::wa_text_webhook(pl::wamid(9000 + n), "16505551234", "Sheena Nelson", "still there?");
  return http_post("/webhooks/acme/wa-main", body, signing::whatsapp(acme.wa_app_secret(), body));
}

/// The same body signed with a secret that is not the channel's.
std::string forged_webhook(int n, const header_list& extra = {}) {
  const std::string body =
      pl::wa_text_webhook(pl::wamid(50000 + n), "16505551234", "Mallory", "forged");
  header_list h = signing::whatsapp("not-the-app-secret", body);
  h.insert(h.end(), extra.begin(), extra.end());
  return http_post("/webhooks/acme/wa-main", body, h);
}

/// Sends `request` on a fresh connection from `source` and reads the answer.
raw_response send_once(const gateway_process& gw, const std::string& request,
                       const char* source = "127.0.0.1") {
  raw_conn c(gw.port(), source);
  REQUIRE(c.send(request));
  auto r = c.read_response();
  REQUIRE(r);
  return *r;
}

/// A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

/// Meta's signed_request for `user_id`, issued now, signed with `app_secret` (by the
/// platform's own signing, tests/support/signing.hpp).
std::string signed_request(const std::string& app_secret, const std::string& user_id) {
  return signing::deletion_request("messenger", app_secret, user_id);
}

std::string data_deletion(const std::string& tenant, const std::string& channel,
                          const std::string& signed_value) {
  return http_post("/webhooks/" + tenant + "/" + channel + "/data-deletion",
                   "signed_request=" + signed_value,
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
}

std::string error_code(const raw_response& r) {
  return json::parse(r.body)["error"].str();
}

}  // namespace

// ---- Row 2: forged floods ---------------------------------------------------------------------

TEST_CASE(
    "during a flood of unsigned POSTs signed webhooks keep getting 200 and the flood gets 401 "
    "then 429 with Retry-After",
    "[e2e][security][flood]") {
  // The tenant's rate limit is what the flood used to spend: 20/s, burst 20.
  gateway_process gw(config_with({}, "    rate_limit: {rps: 20, burst: 20}\n"));
  std::atomic<bool> stop{false};
  std::atomic<int> unauthorized{0};
  std::atomic<int> too_many{0};
  std::atomic<int> too_many_without_retry{0};
  std::atomic<int> other{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 3; ++t) {
    flood.emplace_back([&] {
      const auto until = clock_type::now() + milliseconds(2000);
      while (!stop && clock_type::now() < until) {
        raw_conn c(gw.port(), "127.0.0.2");  // the attacker's address
        for (int k = 0; k < 200 && clock_type::now() < until; ++k) {
          const std::string body = R"({"object":"whatsapp_business_account","entry":[]})";
          if (!c.send(http_post("/webhooks/acme/wa-main", body,
                                {{"Content-Type", "application/json"}}))) {
            break;
          }
          auto r = c.read_response();
          if (!r) {
            break;
          }
          if (r->status == 401) {
            ++unauthorized;
          } else if (r->status == 429 && error_code(*r) == "too_many_failures") {
            ++too_many;
            if (r->header("retry-after").empty()) {
              ++too_many_without_retry;
            }
          } else {
            ++other;
          }
        }
      }
    });
  }
  // Meanwhile the platform posts signed webhooks from its own address: 15 in all, fewer than
  // the tenant's burst, so each must be answered 200 whatever the timing.
  std::vector<int> signed_status;
  for (int i = 0; i < 15; ++i) {
    signed_status.push_back(send_once(gw, signed_webhook(i)).status);
    std::this_thread::sleep_for(milliseconds(100));  // pacing, not synchronisation
  }
  for (auto& t : flood) {
    t.join();
  }
  INFO("flood: 401 " << unauthorized << ", 429 " << too_many << ", other " << other);
  CHECK(signed_status == std::vector<int>(15, 200));
  CHECK(unauthorized >= 1);
  CHECK(unauthorized <= 20 + 5 * 4);  // the source's burst, plus what refills in 2 s (and slack)
  CHECK(too_many > unauthorized);
  CHECK(too_many_without_retry == 0);
  CHECK(other == 0);
}

TEST_CASE(
    "a forged flood from many addresses past the channel's failure budget is answered 429 and "
    "never refuses a signed webhook",
    "[e2e][security][flood]") {
  test_server server;
  server.extra_yaml =
      "limits:\n"
      "  auth_failures_per_source: {rps: 1, burst: 5}\n"
      "  auth_failures_per_channel: {rps: 1, burst: 30}\n";
  gateway_process gw(config_with(server));
  int unauthorized = 0;
  int channel_limited = 0;
  for (int s = 10; s < 40; ++s) {  // 30 addresses, 3 forgeries each: 90 > the channel's 30
    const std::string source = "127.0.0." + std::to_string(s);
    raw_conn c(gw.port(), source.c_str());
    for (int k = 0; k < 3; ++k) {
      REQUIRE(c.send(forged_webhook(s * 10 + k)));
      auto r = c.read_response();
      REQUIRE(r);
      if (r->status == 401) {
        ++unauthorized;
      } else {
        REQUIRE(r->status == 429);
        CHECK(error_code(*r) == "too_many_failures");
        CHECK_FALSE(r->header("retry-after").empty());
        ++channel_limited;
      }
    }
  }
  INFO("401: " << unauthorized << ", 429: " << channel_limited);
  CHECK(unauthorized <= 30 + 10);  // the channel's burst plus what refills meanwhile
  CHECK(channel_limited >= 40);
  // A fresh address: its forgery is over the channel's budget, its signed webhook is not.
  CHECK(send_once(gw, forged_webhook(1), "127.0.0.99").status == 429);
  CHECK(send_once(gw, signed_webhook(1), "127.0.0.99").status == 200);
  CHECK(send_once(gw, signed_webhook(2), "127.0.0.10").status == 200);
}

TEST_CASE(
    "with trusted_proxies X-Forwarded-For from a trusted peer separates sources and from any "
    "other peer it is ignored",
    "[e2e][security][flood]") {
  test_server server;
  server.extra_server_yaml = "  trusted_proxies: [\"127.0.0.1\"]\n";
  server.extra_yaml =
      "limits:\n"
      "  auth_failures_per_source: {rps: 0.1, burst: 3}\n"
      "  auth_failures_per_channel: {rps: 100, burst: 1000}\n";
  gateway_process gw(config_with(server));
  auto via = [](const std::string& client) { return header_list{{"X-Forwarded-For", client}}; };

  // Through the trusted proxy: 198.51.100.7 spends its budget ...
  for (int i = 0; i < 3; ++i) {
    CHECK(send_once(gw, forged_webhook(i, via("198.51.100.7"))).status == 401);
  }
  auto blocked = send_once(gw, forged_webhook(3, via("203.0.113.1, 198.51.100.7")));
  CHECK(blocked.status == 429);
  CHECK(error_code(blocked) == "too_many_failures");
  CHECK_FALSE(blocked.header("retry-after").empty());
  // ... which is checked before any signature: even its signed request waits.
  {
    const std::string body =
        pl::wa_text_webhook(pl::wamid(7001), "16505551234", "Sheena Nelson", "hi");
    header_list h = signing::whatsapp(acme.wa_app_secret(), body);
    h.emplace_back("X-Forwarded-For", "198.51.100.7");
    CHECK(send_once(gw, http_post("/webhooks/acme/wa-main", body, h)).status == 429);
  }
  // Another client behind the same proxy has its own budget.
  CHECK(send_once(gw, forged_webhook(4, via("198.51.100.8"))).status == 401);
  {
    const std::string body =
        pl::wa_text_webhook(pl::wamid(7002), "16505551234", "Sheena Nelson", "hi");
    header_list h = signing::whatsapp(acme.wa_app_secret(), body);
    h.emplace_back("X-Forwarded-For", "198.51.100.9");
    CHECK(send_once(gw, http_post("/webhooks/acme/wa-main", body, h)).status == 200);
  }

  // From a peer that is not a trusted proxy, X-Forwarded-For changes nothing: every forgery
  // counts against 127.0.0.3 whatever it claims.
  std::vector<int> untrusted;
  for (int i = 0; i < 5; ++i) {
    untrusted.push_back(
        send_once(gw, forged_webhook(10 + i, via("198.51.100." + std::to_string(20 + i))),
                  "127.0.0.3")
            .status);
  }
  CHECK(untrusted == std::vector<int>{401, 401, 401, 429, 429});
}

TEST_CASE(
    "the GET handshake and Meta's data-deletion callback are verified at the edge and their "
    "failures limited like webhooks",
    "[e2e][security][flood]") {
  test_server server;
  server.extra_yaml =
      "limits:\n"
      "  auth_failures_per_source: {rps: 0.1, burst: 3}\n"
      "  auth_failures_per_channel: {rps: 100, burst: 1000}\n";
  gateway_process gw(config_with(server));

  // Guessing the verify token: 403, 403, 403, then 429 from that address.
  const std::string handshake_path =
      "/webhooks/acme/wa-main?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=";
  std::vector<int> guesses;
  for (int i = 0; i < 4; ++i) {
    const std::string guess = handshake_path + "guess" + std::to_string(i);
    guesses.push_back(send_once(gw, http_get(guess), "127.0.0.4").status);
  }
  CHECK(guesses == std::vector<int>{403, 403, 403, 429});
  auto handshake = send_once(gw, http_get(handshake_path + acme.wa_verify_token()));
  CHECK(handshake.status == 200);
  CHECK(handshake.body == "1158201444");

  // Forged signed_request: 401 until the source's budget is spent, then 429.
  std::vector<int> forged;
  for (int i = 0; i < 4; ++i) {
    forged.push_back(send_once(gw,
                               data_deletion("acme", "fb", signed_request("wrong-secret", "70001")),
                               "127.0.0.5")
                         .status);
  }
  CHECK(forged == std::vector<int>{401, 401, 401, 429});
  auto genuine =
      send_once(gw, data_deletion("acme", "fb", signed_request(acme.fb_app_secret(), "70002")));
  INFO(genuine.body);
  CHECK(genuine.status == 200);
  CHECK(json::parse(genuine.body).has("confirmation_code"));
}

// ---- Name enumeration -------------------------------------------------------------------------

TEST_CASE("an unknown tenant and an unknown channel get the same 404 on every platform route",
          "[e2e][security][routing]") {
  gateway_process gw(test_config({acme}));
  const std::string body = pl::wa_text_webhook(pl::wamid(1), "16505551234", "Sheena", "hi");
  const auto headers = signing::whatsapp(acme.wa_app_secret(), body);
  auto post_tenant = send_once(gw, http_post("/webhooks/initech/wa-main", body, headers));
  auto post_channel = send_once(gw, http_post("/webhooks/acme/wa-backup", body, headers));
  auto get_tenant = send_once(gw, http_get("/webhooks/initech/wa-main?hub.mode=subscribe"));
  auto get_channel = send_once(gw, http_get("/webhooks/acme/wa-backup?hub.mode=subscribe"));
  auto del_tenant = send_once(gw, data_deletion("initech", "fb", "x.y"));
  auto del_channel = send_once(gw, data_deletion("acme", "fb-backup", "x.y"));
  for (const auto* r :
       {&post_tenant, &post_channel, &get_tenant, &get_channel, &del_tenant, &del_channel}) {
    INFO(r->body);
    CHECK(r->status == 404);
    CHECK(r->body == post_tenant.body);
  }
}

// ---- /metrics -------------------------------------------------------------------------------

TEST_CASE("/metrics behind server.metrics.token_sha256 needs the bearer token",
          "[e2e][security][metrics]") {
  test_server server;
  server.extra_server_yaml =
      "  metrics:\n    token_sha256: \"" + token_sha256("sbm_metrics_token_5e1f") + "\"\n";
  gateway_process gw(config_with(server));
  auto none = send_once(gw, http_get("/metrics"));
  CHECK(none.status == 401);
  CHECK(none.body.find("acme") == std::string::npos);
  auto tenant_token = send_once(gw, http_get("/metrics", bearer(acme.token)));
  CHECK(tenant_token.status == 401);
  auto ok = send_once(gw, http_get("/metrics", bearer("sbm_metrics_token_5e1f")));
  CHECK(ok.status == 200);
  CHECK(ok.body.find("switchboard_") != std::string::npos);
}

TEST_CASE("with server.metrics.listen /metrics is served only on that listener",
          "[e2e][security][metrics]") {
  test_server server;
  server.extra_server_yaml = "  metrics:\n    listen: \"127.0.0.1:0\"\n";
  gateway_process gw(config_with(server));
  // "metrics listener on http://127.0.0.1:<port>", logged before "listening on".
  const std::string marker = "metrics listener on http://127.0.0.1:";
  const std::string out = gw.output();
  auto at = out.find(marker);
  REQUIRE(at != std::string::npos);
  const auto metrics_port =
      static_cast<std::uint16_t>(std::stoi(out.substr(at + marker.size(), 5)));
  REQUIRE(metrics_port != gw.port());

  auto hidden = send_once(gw, http_get("/metrics"));
  CHECK(hidden.status == 404);
  CHECK(hidden.body.find("acme") == std::string::npos);

  raw_conn m(metrics_port);
  REQUIRE(m.send(http_get("/metrics")));
  auto shown = m.read_response();
  REQUIRE(shown);
  CHECK(shown->status == 200);
  CHECK(shown->body.find("switchboard_") != std::string::npos);
  REQUIRE(m.send(http_get("/readyz")));
  auto ready = m.read_response();
  REQUIRE(ready);
  CHECK(ready->status == 200);
  REQUIRE(m.send(signed_webhook(1)));
  auto webhook = m.read_response();
  REQUIRE(webhook);
  CHECK(webhook->status == 404);
}

// ---- Row 3: a chunk extension that never ends --------------------------------------------------

TEST_CASE(
    "a chunk extension that never ends gets 400 and a closed connection while the gateway's "
    "memory stays bounded",
    "[e2e][security][memory]") {
  // Under ASan (the sanitized pass of scripts/test) freed blocks stay in ASan's quarantine (up
  // to 256 MB) instead of being reused, so RSS counts every allocation the gateway ever made
  // while draining the attacker's bytes, not what it holds. The gateway this test starts runs
  // without quarantine (the variable means nothing to the Release binary); every other gateway
  // keeps it.
  process_options no_quarantine;
  no_quarantine.environment = {"ASAN_OPTIONS=quarantine_size_mb=0"};
  gateway_process gw(test_config({acme}), no_quarantine);
  REQUIRE(send_once(gw, signed_webhook(1)).status == 200);  // warm
  const long rss_before = proc_status_kb(gw.pid(), "VmRSS");
  const long peak_before = proc_status_kb(gw.pid(), "VmHWM");
  REQUIRE(rss_before > 0);

  raw_conn c(gw.port());
  REQUIRE(
      c.send("POST /webhooks/acme/wa-main HTTP/1.1\r\nHost: gw\r\n"
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;ext="));
  const std::string piece(64 * 1024, 'a');
  const std::size_t total = 64u * 1024 * 1024;
  std::size_t sent = 0;
  bool refused = false;
  while (sent < total) {
    c.fill(milliseconds(0));  // keep the answer before a reset could discard it
    if (!c.send(piece)) {
      refused = true;
      break;
    }
    sent += piece.size();
  }
  auto r = c.read_response();
  REQUIRE(r);
  INFO("sent " << sent / 1024 << " KiB, refused: " << refused << ": " << r->body);
  CHECK(r->status == 400);
  CHECK(error_code(*r) == "bad_request");
  CHECK(c.closed_by_peer());

  const long rss_after = proc_status_kb(gw.pid(), "VmRSS");
  const long peak_after = proc_status_kb(gw.pid(), "VmHWM");
  INFO("VmRSS " << rss_before << " -> " << rss_after << " kB, VmHWM " << peak_before << " -> "
                << peak_after << " kB");
  CHECK(peak_after - peak_before < 32 * 1024);  // the old gateway buffered all 64 MiB
  CHECK(rss_after - rss_before < 32 * 1024);
  // And it still serves.
  CHECK(send_once(gw, signed_webhook(2)).status == 200);
}

// ---- Row 7: request smuggling ------------------------------------------------------------------

TEST_CASE(
    "Transfer-Encoding chunked, identity gets one 400, the connection closes and the smuggled "
    "request is never answered",
    "[e2e][security][framing]") {
  gateway_process gw(test_config({acme}));
  raw_conn c(gw.port());
  REQUIRE(
      c.send("POST /webhooks/acme/wa-main HTTP/1.1\r\nHost: gw\r\n"
             "Content-Type: application/json\r\n"
             "Transfer-Encoding: chunked, identity\r\n\r\n"
             "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(error_code(*r) == "bad_request");
  CHECK(r->header("connection") == "close");
  CHECK(c.closed_by_peer());
  CHECK(c.buffered().find("HTTP/1.1") == std::string::npos);
  CHECK(c.buffered().find("switchboard_") == std::string::npos);
}

// ---- Row 9: accept starvation ----------------------------------------------------------------

TEST_CASE(
    "under a low open-files limit many idle connections never starve accepts: a signed "
    "webhook on a fresh connection is answered",
    "[e2e][security][connections]") {
  process_options options;
  options.open_files_limit = 256;  // max_connections 10,000 is far above it
  gateway_process gw(test_config({acme}), options);
  CHECK(gw.output().find("does not fit the open-files limit") != std::string::npos);

  // 300 connections that send nothing: more than the limit allows.
  std::vector<std::unique_ptr<raw_conn>> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<raw_conn>(gw.port()));
  }
  const auto asked = clock_type::now();
  auto r = request(
      "POST", gw.base_url() + "/webhooks/acme/wa-main",
      signing::whatsapp(acme.wa_app_secret(), pl::wa_text_webhook(pl::wamid(1), "16505551234",
                                                                  "Sheena", "are you there?")),
      pl::wa_text_webhook(pl::wamid(1), "16505551234", "Sheena", "are you there?"),
      milliseconds(10000));
  const auto took = std::chrono::duration_cast<milliseconds>(clock_type::now() - asked).count();
  INFO("answered " << r.status << " in " << took << " ms: " << r.body);
  CHECK((r.status == 200 || (r.status == 503 && !r.header("retry-after").empty())));

  // The gateway holds no more connections than it admits: the rest were closed.
  int open = 0;
  const auto deadline = clock_type::now() + milliseconds(5000);
  do {
    open = 0;
    for (auto& c : idle) {
      if (c->fill(milliseconds(0))) {
        ++open;
      }
    }
  } while (open > 128 && clock_type::now() < deadline);
  CHECK(open <= 128);
  CHECK(gw.output().find("accept failed") == std::string::npos);
}

// ---- SSE streams per token ---------------------------------------------------------------------

TEST_CASE("a token's SSE streams past limits.sse_streams_per_token get 429 until one closes",
          "[e2e][security][stream]") {
  test_server server;
  server.extra_yaml = "limits:\n  sse_streams_per_token: 2\n";
  gateway_process gw(config_with(server));
  auto first = std::make_unique<sse_client>(gw.base_url() + "/v1/stream", bearer(acme.token));
  sse_client second(gw.base_url() + "/v1/stream", bearer(acme.token));
  REQUIRE(first->wait_connected() == 200);
  REQUIRE(second.wait_connected() == 200);

  auto third = request("GET", gw.base_url() + "/v1/stream", bearer(acme.token));
  CHECK(third.status == 429);
  CHECK(json::parse(third.body)["error"].str() == "too_many_streams");
  CHECK_FALSE(third.header("retry-after").empty());

  first.reset();  // one client goes away; the gateway notices its disconnect
  long status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    sse_client again(gw.base_url() + "/v1/stream", bearer(acme.token));
    status = again.wait_connected();
    if (status != 200) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  CHECK(status == 200);
}

#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/gateway.hpp"
#include "config/config.hpp"
#include "core/crypto.hpp"
#include "http/server.hpp"

/// Helpers for the in-process server tests: a config, a fake gateway, a blocking client.
namespace sb::test_http {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// Every blocking wait in these tests is bounded by this.
constexpr milliseconds wait_bound{5000};

inline std::string digest_of(const std::string& token) {
  return crypto::to_hex(crypto::sha256(token));
}

/// Two tenants: acme (channel "tg" of type telegram; subscribers with and without the stream
/// scope) and globex. Short timeouts for the tests.
inline std::shared_ptr<config::config> make_config() {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  auto& s = cfg->server;
  s.listen = "127.0.0.1:0";
  s.io_threads = 2;
  s.max_body_bytes = 1024;
  s.max_header_bytes = 2048;
  s.header_timeout_ms = 5000;
  s.body_timeout_ms = 5000;
  s.idle_timeout_ms = 200;
  s.write_timeout_ms = 5000;
  s.shutdown_grace_ms = 300;
  s.max_connections = 64;

  config::tenant_config acme;
  acme.id = "acme";
  config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  tg.settings["secret_token"] = "s3cret";
  acme.channels.push_back(tg);
  config::subscriber_config helpdesk;
  helpdesk.name = "helpdesk";
  helpdesk.token_sha256 = digest_of("tok-acme");
  helpdesk.scopes = static_cast<unsigned>(config::scope::stream);
  acme.subscribers.push_back(helpdesk);
  config::subscriber_config sender;
  sender.name = "sender";
  sender.token_sha256 = digest_of("tok-send-only");
  sender.scopes = static_cast<unsigned>(config::scope::send);
  acme.subscribers.push_back(sender);

  config::tenant_config globex;
  globex.id = "globex";
  config::subscriber_config crm;
  crm.name = "crm";
  crm.token_sha256 = digest_of("tok-globex");
  crm.scopes = static_cast<unsigned>(config::scope::stream);
  globex.subscribers.push_back(crm);

  cfg->tenants = {acme, globex};
  return cfg;
}

/// A gateway that records what it is given and answers as the test says.
class fake_gateway final : public actors::gateway {
 public:
  enum class mode {
    answer,  ///< 200 {"accepted":true} at once
    drop,    ///< destroy the responder unanswered
    hold,    ///< keep the responder for the test to answer
  };

  struct submission {
    std::string tenant, channel, method, query, body;
    std::size_t body_capacity = 0;
    std::vector<adapters::header> headers;
  };

  class handle final : public actors::stream_handle {
   public:
    explicit handle(fake_gateway& g) : g_(g) {}
    void cancel() override { g_.on_cancel(); }

   private:
    fake_gateway& g_;
  };

  std::atomic<mode> webhook_mode{mode::answer};
  std::atomic<bool> is_ready{true};
  /// Streams cannot start (a tenant restarting): `open_stream` records and returns nullptr.
  std::atomic<bool> refuse_streams{false};

  void submit(actors::webhook_submission w) override {
    std::lock_guard<std::mutex> lock(m_);
    submissions_.push_back(
        {w.tenant, w.channel, w.method, w.query, w.body, w.body.capacity(), w.headers});
    switch (webhook_mode.load()) {
      case mode::answer: {
        actors::http_response r;
        r.body = R"({"accepted":true})";
        w.reply->answer(std::move(r));
        break;
      }
      case mode::drop:
        break;
      case mode::hold:
        held_.push_back(w.reply);
        break;
    }
    cv_.notify_all();
  }

  void read_events(actors::events_query q) override {
    actors::http_response r;
    r.body = R"({"events":[],"next":)" + std::to_string(q.after) + "}";
    auto reply = q.reply;
    {
      std::lock_guard<std::mutex> lock(m_);
      q.reply.reset();
      queries_.push_back(std::move(q));
    }
    reply->answer(std::move(r));
  }

  std::shared_ptr<actors::stream_handle> open_stream(actors::stream_request r) override {
    std::lock_guard<std::mutex> lock(m_);
    streams_.push_back(std::move(r));
    cv_.notify_all();
    if (refuse_streams.load()) {
      return nullptr;
    }
    return std::make_shared<handle>(*this);
  }

  bool ready() const override { return is_ready.load(); }
  void shutdown() override {}

  template <class Pred>
  bool wait(Pred pred, milliseconds bound = wait_bound) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, bound, [&] { return pred(); });
  }

  std::size_t submission_count() {
    std::lock_guard<std::mutex> lock(m_);
    return submissions_.size();
  }
  submission submission_at(std::size_t i) {
    std::lock_guard<std::mutex> lock(m_);
    return submissions_.at(i);
  }
  std::vector<actors::events_query> queries() {
    std::lock_guard<std::mutex> lock(m_);
    return queries_;
  }
  /// Waits for the i-th stream request; throws when it does not come.
  actors::stream_request stream_at(std::size_t i) {
    if (!wait([&] { return streams_.size() > i; })) {
      throw std::runtime_error("no stream opened");
    }
    std::lock_guard<std::mutex> lock(m_);
    return streams_.at(i);
  }
  /// Waits for the i-th held responder; throws when it does not come.
  actors::responder_ptr held_at(std::size_t i) {
    if (!wait([&] { return held_.size() > i; })) {
      throw std::runtime_error("no request held");
    }
    std::lock_guard<std::mutex> lock(m_);
    return held_.at(i);
  }
  std::size_t stream_count() {
    std::lock_guard<std::mutex> lock(m_);
    return streams_.size();
  }
  int cancels() const { return cancels_.load(); }
  bool wait_cancels(int n) {
    return wait([&] { return cancels_.load() >= n; });
  }

 private:
  void on_cancel() {
    {
      std::lock_guard<std::mutex> lock(m_);
      ++cancels_;
    }
    cv_.notify_all();
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<submission> submissions_;
  std::vector<actors::events_query> queries_;
  std::vector<actors::stream_request> streams_;
  std::vector<actors::responder_ptr> held_;
  std::atomic<int> cancels_{0};
};

struct response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
};

/// A blocking HTTP/1.1 client over a plain socket, every read bounded by `wait_bound`.
class client {
 public:
  explicit client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      throw std::runtime_error("socket() failed");
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
  ~client() { close(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

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

  /// Reads until `marker` is buffered; returns everything up to and including it, or nullopt
  /// on EOF, error or timeout.
  std::optional<std::string> read_until(std::string_view marker, milliseconds bound = wait_bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      auto pos = buf_.find(marker);
      if (pos != std::string::npos) {
        std::string out = buf_.substr(0, pos + marker.size());
        buf_.erase(0, pos + marker.size());
        return out;
      }
      if (!fill(deadline)) {
        return std::nullopt;
      }
    }
  }

  /// Reads one response (Content-Length bodies, or to EOF without one); nullopt on failure.
  std::optional<response> read_response() {
    auto deadline = std::chrono::steady_clock::now() + wait_bound;
    auto head = read_until("\r\n\r\n");
    if (!head) {
      return std::nullopt;
    }
    response r = parse_head(*head);
    if (r.has_header("content-length")) {
      std::size_t length = std::stoul(r.header("content-length"));
      while (buf_.size() < length) {
        if (!fill(deadline)) {
          return std::nullopt;
        }
      }
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
    } else {
      while (fill(deadline)) {
      }
      r.body = std::move(buf_);
      buf_.clear();
    }
    return r;
  }

  static response parse_head(const std::string& head) {
    response r;
    auto line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    auto sp = status_line.find(' ');
    r.status = std::stoi(status_line.substr(sp + 1, 3));
    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      std::string line = head.substr(pos, end - pos);
      pos = end + 2;
      if (line.empty()) {
        break;
      }
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.erase(0, 1);
      }
      r.headers[name] = value;
    }
    return r;
  }

  /// True when the server closes the connection (EOF or reset) within `bound`. Data that
  /// arrives first is buffered.
  bool closed_by_peer(milliseconds bound = wait_bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      switch (fill_status(deadline)) {
        case fill_result::data:
          continue;
        case fill_result::closed:
          return true;
        case fill_result::timeout:
          return false;
      }
    }
  }

  const std::string& buffered() const { return buf_; }

 private:
  enum class fill_result { data, closed, timeout };

  bool fill(std::chrono::steady_clock::time_point deadline) {
    return fill_status(deadline) == fill_result::data;
  }

  fill_result fill_status(std::chrono::steady_clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fill_result::timeout;
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready == 0) {
      return fill_result::timeout;
    }
    if (ready < 0) {
      return errno == EINTR ? fill_result::data : fill_result::closed;
    }
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return fill_result::closed;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return fill_result::data;
  }

  int fd_ = -1;
  std::string buf_;
};

/// "POST <target>" with a body and extra header lines (each ending in \r\n).
inline std::string post(const std::string& target, const std::string& body,
                        const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// A POST to the telegram channel "tg" of `make_config()` with its secret token: it passes the
/// edge's verification and reaches the gateway.
inline std::string signed_post(const std::string& target, const std::string& body,
                               const std::string& extra_headers = "") {
  return post(target, body, "X-Telegram-Bot-Api-Secret-Token: s3cret\r\n" + extra_headers);
}

inline std::string get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

/// A started server on 127.0.0.1:0 with a fake gateway. The gateway is declared first: it
/// outlives the server, as in main.
struct server_fixture {
  explicit server_fixture(std::shared_ptr<config::config> c = make_config(),
                          http::server_options options = {})
      : cfg(std::move(c)), server(cfg, gateway, options) {
    server.start();
  }
  std::uint16_t port() const { return server.port(); }

  fake_gateway gateway;
  std::shared_ptr<config::config> cfg;
  http::server server;
};

/// The answer is the JSON error body {"error":"<code>","message":...}.
inline bool is_json_error(const response& r, const std::string& code) {
  return r.header("content-type") == "application/json" &&
         r.body.find("\"error\":\"" + code + "\"") != std::string::npos &&
         r.body.find("\"message\":") != std::string::npos;
}

}  // namespace sb::test_http

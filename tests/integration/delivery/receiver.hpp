#pragma once

// A backend stand-in for push-delivery tests: a small blocking HTTP/1.1 server on 127.0.0.1,
// port 0, one thread per connection, keep-alive. It records every request and answers what the
// test's handler says (or holds the request open until the receiver stops).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sb::test {

struct received_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
  std::string body;
  std::chrono::steady_clock::time_point at;  ///< when it was fully read
  std::size_t connection = 0;                ///< which connection (0, 1, ...) it came on

  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) {
        return v;
      }
    }
    return {};
  }
  bool has(const std::string& text) const { return body.find(text) != std::string::npos; }
};

struct reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  bool hang = false;  ///< never answer (until the receiver stops)
};

class receiver {
 public:
  /// `index` counts requests from 0 in arrival order.
  using handler = std::function<reply(const received_request&, std::size_t index)>;

  explicit receiver(handler h = {}) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("receiver: cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~receiver() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return;
      }
      stopping_ = true;
      for (int fd : conn_fds_) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    cv_.notify_all();
    accept_thread_.join();
    ::close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(conn_threads_);
    }
    for (auto& t : threads) {
      t.join();
    }
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<received_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  /// The most requests that were being handled (or held) at the same time.
  std::size_t max_concurrent() const {
    std::lock_guard lock(mutex_);
    return max_concurrent_;
  }
  std::size_t open_requests() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

  /// Waits until `pred(requests())` holds; false after `deadline` (a generous bound only:
  /// tests assert on what arrived, never on how fast).
  template <class Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds{20}) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return pred(requests_); });
  }
  bool wait_for_count(std::size_t n,
                      std::chrono::milliseconds deadline = std::chrono::seconds{20}) {
    return wait_until([n](const auto& r) { return r.size() >= n; }, deadline);
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      conn_fds_.push_back(fd);
      const std::size_t index = connections_++;
      conn_threads_.emplace_back([this, fd, index] { serve(fd, index); });
    }
  }

  static bool read_more(int fd, std::string& buf) {
    char chunk[16384];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  static const char* reason(int status) {
    switch (status) {
      case 200:
        return "OK";
      case 410:
        return "Gone";
      case 429:
        return "Too Many Requests";
      case 500:
        return "Internal Server Error";
      case 503:
        return "Service Unavailable";
      default:
        return "Status";
    }
  }

  void serve(int fd, std::size_t connection) {
    std::string buf;
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!read_more(fd, buf)) {
          return close_conn(fd);
        }
      }
      received_request req;
      req.connection = connection;
      std::size_t content_length = 0;
      std::size_t pos = 0;
      bool first = true;
      while (pos < end) {
        auto eol = buf.find("\r\n", pos);
        std::string line = buf.substr(pos, eol - pos);
        pos = eol + 2;
        if (first) {
          first = false;
          auto sp1 = line.find(' ');
          auto sp2 = line.find(' ', sp1 + 1);
          req.method = line.substr(0, sp1);
          req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
          continue;
        }
        auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") {
          content_length = std::stoul(value);
        }
        req.headers.emplace_back(std::move(name), std::move(value));
      }
      buf.erase(0, end + 4);
      while (buf.size() < content_length) {
        if (!read_more(fd, buf)) {
          return close_conn(fd);
        }
      }
      req.body = buf.substr(0, content_length);
      buf.erase(0, content_length);
      req.at = std::chrono::steady_clock::now();
      std::size_t index;
      {
        std::lock_guard lock(mutex_);
        index = requests_.size();
        requests_.push_back(req);
        ++open_;
        max_concurrent_ = std::max(max_concurrent_, open_);
      }
      cv_.notify_all();
      reply r = handler_ ? handler_(req, index) : reply{};
      if (r.hang) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_; });
        --open_;
        lock.unlock();
        return close_conn(fd);
      }
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
      out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
      for (const auto& [k, v] : r.headers) {
        out += k + ": " + v + "\r\n";
      }
      out += "\r\n" + r.body;
      {
        std::lock_guard lock(mutex_);
        --open_;
      }
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        return close_conn(fd);
      }
    }
  }

  void close_conn(int fd) {
    std::lock_guard lock(mutex_);
    conn_fds_.erase(std::remove(conn_fds_.begin(), conn_fds_.end(), fd), conn_fds_.end());
    ::close(fd);
  }

  handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::vector<received_request> requests_;
  std::size_t connections_ = 0;
  std::size_t open_ = 0;
  std::size_t max_concurrent_ = 0;
};

}  // namespace sb::test

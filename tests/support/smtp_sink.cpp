#include "support/smtp_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "core/crypto.hpp"

namespace sb::test {

namespace {

constexpr std::size_t k_max_line = 64 * 1024;
constexpr std::size_t k_max_message = 32 * 1024 * 1024;

/// Reads CRLF- (or LF-) terminated lines from a blocking socket.
class line_reader {
 public:
  explicit line_reader(int fd) : fd_(fd) {}

  /// The next line without its line break; false when the peer closed or a line is too long.
  bool next(std::string& line) {
    for (;;) {
      auto lf = buffer_.find('\n');
      if (lf != std::string::npos) {
        line = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') {
          line.pop_back();
        }
        return true;
      }
      if (buffer_.size() > k_max_line) {
        return false;
      }
      char chunk[4096];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        return false;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

bool send_all(int fd, const std::string& text) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto n = ::send(fd, text.data() + at, text.size() - at, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    at += static_cast<std::size_t>(n);
  }
  return true;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

/// "FROM:<a@b> SIZE=10" -> "a@b" (after the command's "MAIL " / "RCPT ").
std::string path_of(const std::string& arg) {
  auto open = arg.find('<');
  auto close = arg.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) {
    auto colon = arg.find(':');
    return colon == std::string::npos ? std::string() : arg.substr(colon + 1);
  }
  return arg.substr(open + 1, close - open - 1);
}

}  // namespace

smtp_sink::smtp_sink() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    throw std::runtime_error("smtp_sink: socket() failed");
  }
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("smtp_sink: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

smtp_sink::~smtp_sink() {
  stop();
}

std::string smtp_sink::url() const {
  return "smtp://127.0.0.1:" + std::to_string(port_);
}

void smtp_sink::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
    workers.swap(workers_);
  }
  for (auto& w : workers) {
    w.join();
  }
}

void smtp_sink::reject_rcpt(std::string reply, int times) {
  std::lock_guard lock(mutex_);
  rcpt_rejection_ = {std::move(reply), times};
}

void smtp_sink::reject_data(std::string reply, int times) {
  std::lock_guard lock(mutex_);
  data_rejection_ = {std::move(reply), times};
}

void smtp_sink::require_auth(std::string user, std::string password) {
  std::lock_guard lock(mutex_);
  auth_user_ = std::move(user);
  auth_password_ = std::move(password);
}

std::vector<smtp_message> smtp_sink::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::vector<std::string> smtp_sink::commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

std::size_t smtp_sink::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

bool smtp_sink::wait_for(std::size_t n, std::chrono::milliseconds bound) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, bound, [&] { return messages_.size() >= n; });
}

std::string smtp_sink::take(rejection& r) {
  std::lock_guard lock(mutex_);
  if (r.times == 0) {
    return {};
  }
  if (r.times > 0) {
    --r.times;
  }
  return r.reply;
}

void smtp_sink::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) {
        return;
      }
      continue;
    }
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    const std::size_t connection = connections_++;
    workers_.emplace_back([this, fd, connection] { serve(fd, connection); });
  }
}

void smtp_sink::serve(int fd, std::size_t connection) {
  line_reader in(fd);
  std::string helo;
  std::string authed;  // the login of this connection
  bool have_mail = false;
  smtp_message tx;
  auto reset = [&] {
    have_mail = false;
    tx = smtp_message{};
  };
  auto needs_auth = [&] {
    std::lock_guard lock(mutex_);
    return !auth_user_.empty() && authed.empty();
  };
  auto check_login = [&](const std::string& b64) {
    // AUTH PLAIN: base64 of "authzid NUL user NUL password".
    auto plain = crypto::base64_decode(b64);
    std::lock_guard lock(mutex_);
    if (!plain) {
      return false;
    }
    auto first = plain->find('\0');
    auto second = first == std::string::npos ? first : plain->find('\0', first + 1);
    if (second == std::string::npos) {
      return false;
    }
    const auto user = plain->substr(first + 1, second - first - 1);
    const auto password = plain->substr(second + 1);
    if (user != auth_user_ || password != auth_password_) {
      return false;
    }
    authed = user;
    return true;
  };
  bool open = send_all(fd, "220 sink.test ESMTP ready\r\n");
  std::string line;
  while (open && in.next(line)) {
    const std::string verb = upper(line.substr(0, line.find(' ')));
    const std::string arg =
        line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
    {
      std::lock_guard lock(mutex_);
      commands_.push_back(verb == "AUTH" ? "AUTH ***" : line);
    }
    std::string reply;
    if (verb == "EHLO") {
      helo = arg;
      reset();
      std::lock_guard lock(mutex_);
      reply = "250-sink.test greets " + arg + "\r\n250-8BITMIME\r\n250-SIZE 33554432\r\n";
      if (!auth_user_.empty()) {
        reply += "250-AUTH PLAIN\r\n";
      }
      reply += "250 HELP";
    } else if (verb == "HELO") {
      helo = arg;
      reset();
      reply = "250 sink.test";
    } else if (verb == "AUTH") {
      const std::string mech = upper(arg.substr(0, arg.find(' ')));
      std::string initial = arg.find(' ') == std::string::npos ? "" : arg.substr(arg.find(' ') + 1);
      if (mech != "PLAIN") {
        reply = "504 5.5.4 Unrecognized authentication type";
      } else {
        if (initial.empty()) {
          open = send_all(fd, "334 \r\n") && in.next(initial);
        }
        reply = open && check_login(initial) ? "235 2.7.0 Authentication successful"
                                             : "535 5.7.8 Authentication credentials invalid";
      }
    } else if (verb == "MAIL") {
      if (helo.empty()) {
        reply = "503 5.5.1 EHLO first";
      } else if (have_mail) {
        reply = "503 5.5.1 Nested MAIL command";
      } else if (needs_auth()) {
        reply = "530 5.7.0 Authentication required";
      } else {
        reset();
        have_mail = true;
        tx.mail_from = path_of(arg);
        reply = "250 2.1.0 Ok";
      }
    } else if (verb == "RCPT") {
      if (!have_mail) {
        reply = "503 5.5.1 MAIL first";
      } else if (auto r = take(rcpt_rejection_); !r.empty()) {
        reply = r;
      } else {
        tx.rcpt.push_back(path_of(arg));
        reply = "250 2.1.5 Ok";
      }
    } else if (verb == "DATA") {
      if (tx.rcpt.empty()) {
        reply = "554 5.5.1 No valid recipients";
      } else if (!send_all(fd, "354 End data with <CR><LF>.<CR><LF>\r\n")) {
        break;
      } else {
        std::string data;
        bool ended = false;
        while (in.next(line)) {
          if (line == ".") {
            ended = true;
            break;
          }
          if (!line.empty() && line.front() == '.') {
            line.erase(0, 1);  // RFC 5321 §4.5.2: the client doubled a leading dot
          }
          if (data.size() < k_max_message) {
            data += line + "\r\n";
          }
        }
        if (!ended) {
          break;
        }
        if (auto r = take(data_rejection_); !r.empty()) {
          reply = r;
        } else {
          tx.helo = helo;
          tx.data = std::move(data);
          tx.auth_user = authed;
          tx.connection = connection;
          std::size_t n = 0;
          {
            std::lock_guard lock(mutex_);
            messages_.push_back(tx);
            n = messages_.size();
          }
          changed_.notify_all();
          reply = "250 2.0.0 Ok: queued as " + std::to_string(n);
        }
        reset();
      }
    } else if (verb == "RSET") {
      reset();
      reply = "250 2.0.0 Ok";
    } else if (verb == "NOOP") {
      reply = "250 2.0.0 Ok";
    } else if (verb == "QUIT") {
      send_all(fd, "221 2.0.0 Bye\r\n");
      break;
    } else {
      reply = "502 5.5.2 Command not recognized";
    }
    open = open && send_all(fd, reply + "\r\n");
  }
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace sb::test

#pragma once

// A mail server stand-in for the e-mail tests: a small blocking SMTP server (RFC 5321) on
// 127.0.0.1, port 0, one thread per connection. It speaks EHLO/HELO, MAIL FROM, RCPT TO, DATA
// (undoing the client's dot-stuffing), RSET, NOOP, QUIT and, when told to, AUTH PLAIN; it never
// offers STARTTLS, so a client that only tries TLS goes on in plain text. It records every
// message it takes (envelope and data) and can be told to reject the next RCPT TO or DATA with
// a given reply ("451 4.3.0 Try again later", "550 5.1.1 No such user").

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

/// One message the sink took.
struct smtp_message {
  std::string helo;               ///< the EHLO/HELO argument of its connection
  std::string mail_from;          ///< MAIL FROM, without angle brackets or parameters
  std::vector<std::string> rcpt;  ///< RCPT TO, the same
  std::string data;               ///< the message as sent after DATA, unstuffed, CRLF endings,
                                  ///< without the final ".\r\n"
  std::string auth_user;          ///< the AUTH PLAIN login of its connection; "" = none
  std::size_t connection = 0;     ///< which connection (0, 1, ...) it came on
};

class smtp_sink {
 public:
  /// Listens at once; throws std::runtime_error when it cannot.
  smtp_sink();
  /// Stops (as `stop`).
  ~smtp_sink();
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  int port() const { return port_; }
  /// "smtp://127.0.0.1:<port>".
  std::string url() const;

  /// Closes the listener and every connection and joins their threads; the port then refuses
  /// connections (a server that is down). Idempotent.
  void stop();

  /// The next `times` RCPT TO commands are answered `reply` instead of 250 (`times` < 0: all of
  /// them from now on). `reply` is a whole reply line without CRLF: "550 5.1.1 No such user".
  void reject_rcpt(std::string reply, int times = 1);
  /// The same for the end of the next `times` DATA transfers (the message is read, not kept).
  void reject_data(std::string reply, int times = 1);
  /// Offers AUTH PLAIN and requires it before MAIL FROM; answers 535 to another login.
  void require_auth(std::string user, std::string password);

  /// The messages taken so far, in order.
  std::vector<smtp_message> messages() const;
  /// Every command line received so far (AUTH arguments replaced by "***"), in order.
  std::vector<std::string> commands() const;
  /// Connections accepted so far.
  std::size_t connections() const;
  /// Waits until `n` messages were taken (a generous bound only); whether they were.
  bool wait_for(std::size_t n, std::chrono::milliseconds bound = std::chrono::seconds{20}) const;

 private:
  struct rejection {
    std::string reply;
    int times = 0;
  };
  void accept_loop();
  void serve(int fd, std::size_t connection);
  /// The reply to use instead of the normal one, consuming one of its `times`; "" = none.
  std::string take(rejection& r);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;  // guards everything below
  mutable std::condition_variable changed_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<smtp_message> messages_;
  std::vector<std::string> commands_;
  std::size_t connections_ = 0;
  rejection rcpt_rejection_;
  rejection data_rejection_;
  std::string auth_user_;
  std::string auth_password_;
};

}  // namespace sb::test

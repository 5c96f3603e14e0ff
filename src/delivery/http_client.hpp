#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

/// An asynchronous HTTP client on libcurl's multi interface: push deliveries to backends now,
/// sends to platform APIs later. No CAF here; callers get results through callbacks.
namespace sb::delivery {

/// Why an outbound request (a push delivery, a send to a platform API) got no response, as an
/// operator reads it in the log, a dead letter's `last_error` and a failed message's error.
enum class failure_cause : std::uint8_t {
  none,       ///< a response arrived
  dns,        ///< the host name did not resolve
  refused,    ///< no TCP connection: refused, or the host or network unreachable
  tls,        ///< the TLS handshake failed or the certificate was not accepted
  timeout,    ///< the request's timeout (or the connect timeout) expired
  cancelled,  ///< the client stopped before the transfer finished
  other,      ///< any other transport error (curl's message says which)
};

/// "none", "dns", "refused", "tls", "timeout", "cancelled", "other".
std::string_view to_string(failure_cause c);

/// The cause of a failed transfer from libcurl's result code (a `CURLcode`, taken as an int so
/// that this header needs no curl.h). CURLE_OK is `none`. Pure.
failure_cause cause_of_curl_code(int code);

/// The text of a transport failure: "<cause>: <curl's message>" ("refused: Failed to connect to
/// example.com port 443 after 3 ms: Couldn't connect to server"); for `other` (and `none`) the
/// message alone. Pure.
std::string describe_failure(failure_cause c, std::string_view message);

/// Threading: one client owns one OS thread that runs every transfer (curl_multi_poll, woken
/// by curl_multi_wakeup). `submit`, `pending` and `stop` may be called from any thread and never
/// block on the network. Callbacks run on the client's thread, one at a time: they must be short
/// and must not block (post a message and return); they may call `submit` but not `stop`.
///
/// Bounds: at most `max_active` transfers run at once; at most `max_queued` more wait for a slot;
/// past that `submit` fails with `errc::overloaded`. Every request has its own total timeout.
/// Response bodies are kept up to `max_response_body` bytes (the rest is read and dropped so the
/// connection can be reused), headers up to `max_response_headers` bytes.
///
/// Connections are kept and reused across requests (the multi handle's connection cache).
/// Redirects are not followed; only http and https URLs are accepted, and smtp and smtps ones
/// (see `request`); no signals are used (CURLOPT_NOSIGNAL), so the client is safe in a
/// multi-threaded process.
///
/// SMTP: a request whose URL's scheme is smtp or smtps submits `body` as one e-mail message from
/// `mail_from` to `mail_rcpt` (smtp://host:port upgrades with STARTTLS when the server offers
/// it and goes on in plain text when it does not; smtps:// is TLS from the start), logging in
/// with `user` and `password` when set. libcurl dot-stuffs the body and ends the DATA with
/// CRLF.CRLF itself. `response::status` is then the server's last reply code (250 when the
/// message was taken); a rejection (a 4xx or 5xx answer to MAIL, RCPT, DATA or the greeting) is
/// a complete response too (`fail == none`, `status` = that code), for the caller to classify;
/// `response::body` is the server's first rejection line ("550 5.1.1 No such user"), else its
/// last reply line.
class http_client {
 public:
  struct request {
    std::string method = "POST";  ///< GET, HEAD, POST, or any other verb (sent with `body`)
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  ///< HTTP only
    std::string body;
    std::chrono::milliseconds timeout{10000};  ///< whole transfer, connect included
    /// SMTP only: the envelope sender (MAIL FROM), a bare address.
    std::string mail_from;
    /// SMTP only: the envelope recipients (RCPT TO), bare addresses.
    std::vector<std::string> mail_rcpt;
    /// SMTP only: the login (SMTP AUTH); "" = none. Secrets: never logged.
    std::string user;
    std::string password;
  };

  enum class failure {
    none,       ///< a complete response arrived (whatever its status)
    timeout,    ///< the request's timeout expired
    connect,    ///< DNS, TCP or TLS connection failed
    cancelled,  ///< the client stopped before the transfer finished
    other,      ///< any other transport error (see `error`)
  };

  struct response {
    int status = 0;  ///< HTTP status (SMTP: the last reply code); 0 unless `fail == none`
    std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
    std::string body;                                          ///< capped
    bool truncated = false;                                    ///< the body was longer than the cap
    failure fail = failure::none;
    failure_cause cause = failure_cause::none;  ///< why, when `fail != none`
    std::string error;  ///< `describe_failure` of `cause` and curl's message, when `fail != none`

    /// The first header named `name` (lower case), if any.
    std::optional<std::string_view> header(std::string_view name) const;
  };

  using callback = std::function<void(response)>;

  struct options {
    std::size_t max_active = 256;
    std::size_t max_queued = 1024;
    std::size_t max_response_body = 64 * 1024;
    std::size_t max_response_headers = 64 * 1024;
    std::chrono::milliseconds connect_timeout{5000};  ///< also bounded by each request's timeout
    long max_host_connections = 0;                    ///< 0 = no limit per host
    std::string user_agent = "switchboard";
  };

  /// Starts the client's thread. Errors only when libcurl cannot be initialized.
  static result<std::unique_ptr<http_client>> start(options opts);

  /// Stops (as `stop`) and releases libcurl resources.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Queues a request; `cb` is called exactly once, on the client's thread, unless `submit`
  /// fails: `errc::overloaded` when the queue is full, `errc::unavailable` after `stop`,
  /// `errc::bad_request` for an empty URL.
  status submit(request req, callback cb);

  /// Transfers running or queued.
  std::size_t pending() const;

  /// Ends every transfer (their callbacks get `failure::cancelled`, on the client's thread,
  /// before this returns) and joins the thread. Idempotent. Must not be called from a callback.
  void stop();

 private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sb::delivery

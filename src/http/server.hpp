#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace sb::control {
class plane;
}

namespace sb::actors {
class gateway;
}  // namespace sb::actors

/// The HTTP/1.1 server: ingress webhooks (docs/DESIGN.md §4) and the backend APIs (§6), on
/// Boost.Beast. This header carries no Beast or Asio type. The implementation follows Beast's
/// advanced server: the listener in server.cpp, one `http_session` per connection
/// (http_session.hpp), which hands a connection that opens a stream to an `sse_session`
/// (sse_session.hpp); what a request gets is decided by plain dispatch functions
/// (dispatch.hpp) over the handler list (routes.hpp).
namespace sb::http {

struct server_options {
  /// Interval of the `: keep-alive` comment on an idle Server-Sent Events stream (DESIGN §6:
  /// every 15 s). Tests shorten it.
  int sse_keepalive_ms = 15000;
  /// Serves the control plane's calls (`/v1/admin/...`); null: they are answered 503. Must
  /// outlive the server.
  control::plane* control = nullptr;
};

/// Listens on `server.listen` with `server.io_threads` threads running one io_context.
///
/// Per connection: a strand; one request at a time (the next request is read only once the
/// previous response is written: that is the pipelining bound, at most one request in flight
/// and one response buffered per connection); a fresh parser per request with
/// `max_body_bytes` / `max_header_bytes`; `header_timeout_ms` (from accept, or from the first
/// byte of a keep-alive request, to the end of the header), `body_timeout_ms`,
/// `idle_timeout_ms` between keep-alive requests, `write_timeout_ms` per write; no timeout while
/// the gateway works on a request (the `actors::responder` guarantees an answer). The read
/// buffer is bounded (`max_header_bytes` + 4 KiB), which bounds chunk headers and trailers too;
/// framing is strict (src/http/framing.hpp). With `server.tls.cert`/`key` every connection is
/// TLS 1.2 or newer.
///
/// Connections: `max_connections` is clamped at construction so that it fits the open-files
/// limit with room for everything else (src/http/edge_limits.hpp; logged once when it bites).
/// At the cap, the oldest idle connection (waiting for a request's first byte) is closed to
/// admit the new one; with none idle the new one is answered 503 with Retry-After, and past 64
/// such answers in progress it is closed at once.
///
/// Platform requests (webhooks, the GET handshake, Meta's data-deletion callback) are verified
/// on the I/O thread before the tenant's rate limit is charged (src/http/platform_gate.hpp).
/// `server.metrics.listen` adds a second listener serving only /metrics, /healthz and /readyz.
///
/// Threading: construct, `start`, `stop` and destroy from one thread (typically main), never
/// from an I/O thread. `port` and `host` are safe from any thread.
class server {
 public:
  /// Binds and listens (connections queue until `start`). Throws std::runtime_error with a
  /// clear message when the address is invalid or taken, or the TLS files cannot be used.
  /// `gateway` must outlive the server.
  server(std::shared_ptr<const config::config> cfg, actors::gateway& gateway,
         server_options options = {});
  /// Calls `stop()`.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Starts accepting and the I/O threads. Idempotent.
  void start();

  /// The bound port (the real one when `server.listen` asks for port 0).
  std::uint16_t port() const noexcept;
  /// The bound address as text (IPv6 in brackets), e.g. "127.0.0.1".
  std::string host() const;
  /// The bound port of `server.metrics.listen` (serving /metrics, /healthz and /readyz only);
  /// 0 when it is not set.
  std::uint16_t metrics_port() const noexcept;
  /// Its bound address as text, as `host`; "" when it is not set.
  std::string metrics_host() const;
  /// True when connections are TLS.
  bool tls() const noexcept;
  /// Keep-alive connections waiting for their next request: the ones `server.max_connections`
  /// closes, oldest first, to admit a new connection. For tests and operations.
  std::size_t idle_connections() const;

  /// Applies a reloaded config (config/diff.hpp) without dropping anything: requests read from
  /// now on are served with `cfg`'s tokens, operators, channels, secrets, tenants' rate limits,
  /// trusted proxies and metrics token; requests in flight finish with the config they started
  /// with; open streams stay open. `cfg` must carry the running restart-only keys
  /// (`config::keep_restart_keys`): listeners, threads, timeouts and connection bounds never
  /// change here. Any thread but an I/O thread; never blocks on the network.
  void reconfigure(std::shared_ptr<const config::config> cfg);

  /// Graceful stop: stops accepting; closes idle keep-alive connections and SSE streams at
  /// once (cancelling their streams); lets requests in flight finish (their responses carry
  /// `Connection: close`) for up to `server.shutdown_grace_ms`, then closes what remains and
  /// joins the I/O threads. Idempotent; blocks, so call it from main, never an I/O thread.
  void stop();

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sb::http

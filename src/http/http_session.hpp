// The one translation unit with Beast and Asio in the HTTP layer (they are heavy to compile).
// What a request gets (the handler list, credentials, the handlers) is plain code in
// dispatch.cpp, routes.cpp and router.cpp; a session here only moves bytes, applies limits and
// timeouts, and is the way back of the requests it reads.
#include "http/server.hpp"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/gateway.hpp"
#include "core/ip.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/dispatch.hpp"
#include "http/edge_limits.hpp"
#include "http/framing.hpp"
#include "http/ingress_limit.hpp"

namespace sb::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// How long a closing connection may keep sending (e.g. the rest of an oversized body) before
/// it is cut: closing with unread input makes the kernel send RST, which can destroy the
/// response (413, 503) before the client reads it.
constexpr milliseconds linger_time{1000};
/// How long `stop()` waits for connections it force-closed after the grace period.
constexpr milliseconds force_close_wait{1000};
/// Retry-After of a 429 `too_many_streams`: a stream slot frees only when a client disconnects.
constexpr int k_stream_retry_after_s = 5;

constexpr std::string_view sse_head =
    "HTTP/1.1 200 OK\r\n"
    "Server: switchboard\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";
constexpr std::string_view sse_keepalive = ": keep-alive\n\n";
constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

/// Guards posting onto session strands from other threads (actor threads answering, the
/// stream actor writing). Closed before the io_context is destroyed, so a late answer is
/// dropped instead of touching a dead io_context.
struct post_gate {
  std::mutex m;
  bool open = true;
};

/// What every session is, seen from outside its strand. Handlers ending in `on_` run on the
/// session's strand.
class session_base : public std::enable_shared_from_this<session_base> {
 public:
  explicit session_base(net::any_io_executor ex) : ex_(std::move(ex)) {}
  virtual ~session_base() = default;
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;

  const net::any_io_executor& executor() const { return ex_; }

  /// The gateway's answer to the request in flight.
  virtual void on_answer(actors::http_response r) = 0;
  /// SSE frames from the stream actor.
  virtual void on_frames(std::string frames, std::function<void()> on_written) = 0;
  /// The stream actor ended the stream.
  virtual void on_stream_end() = 0;
  /// Server stop: graceful (`force` false) or immediate.
  virtual void on_stop(bool force) = 0;
  /// Drops the self-reference held while waiting for the gateway. Only once no thread runs
  /// the io_context (server destruction).
  virtual void detach() = 0;
  /// `max_connections` is reached and this connection was the oldest idle one: close it if it
  /// is still idle (a new connection was admitted in its place).
  virtual void on_evict() = 0;

 private:
  friend struct server_core;
  net::any_io_executor ex_;
  // The server core's list of idle admitted sessions (intrusive: no allocation per request).
  // Guarded by the core's mutex, never touched without it.
  session_base* idle_prev_ = nullptr;
  session_base* idle_next_ = nullptr;
  bool idle_listed_ = false;
  bool evicted_ = false;  ///< chosen for eviction, counted in the core's `evicting_`
};

/// Runs `f(session)` on the session's strand, from any thread. False when the session is gone
/// or the server is being destroyed. The strong reference is taken and handed to the handler
/// under the gate's lock, so no session is ever destroyed after its io_context.
template <class F>
bool post_to(const std::weak_ptr<session_base>& weak, post_gate& gate, F&& f) {
  std::lock_guard<std::mutex> lock(gate.m);
  if (!gate.open) {
    return false;
  }
  auto s = weak.lock();
  if (!s) {
    return false;
  }
  auto ex = s->executor();
  net::post(ex, [s = std::move(s), f = std::forward<F>(f)]() mutable { f(*s); });
  return true;
}

/// The soft RLIMIT_NOFILE (what this process may open now); 0 when unknown.
std::uint64_t open_files_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return 0;
  }
  return rl.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 32 : rl.rlim_cur;
}

/// What happens to an accepted connection.
enum class admission {
  admitted,  ///< served
  shed,      ///< answered 503 with Retry-After and closed
  refused,   ///< closed at once (too many being shed already)
};

/// State shared by the listener and every session: what the dispatch functions use
/// (`dispatch_context`: config, gateway, tokens, channels, platform gate) and the connections.
/// Outlives the io_context's handlers.
struct server_core : dispatch_context {
  server_core(std::shared_ptr<const config::config> c, actors::gateway& g, server_options o)
      : dispatch_context(std::move(c), g),
        limits(cfg->server),
        options(o),
        streams(cfg->limits.sse_streams_per_token),
        budget(budget_for(cfg->server.max_connections)) {
    metrics::catalog::register_all();
  }

  const config::server_config& limits;
  server_options options;
  stream_slots streams;            ///< `limits.sse_streams_per_token`
  const connection_budget budget;  ///< `max_connections` after the open-files clamp
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();
  std::atomic<bool> stopping{false};

  /// Decides about a new connection. At `max_connections`, the oldest idle connection (one
  /// waiting for the first byte of a request, fresh or keep-alive) is closed to make room
  /// (`victim`, to be sent `on_evict`); with none idle, the new one is shed (503) while fewer
  /// than `max_shedding` are, else refused outright, so that refusals themselves cannot use up
  /// the descriptors.
  admission admit(std::weak_ptr<session_base>& victim) {
    std::lock_guard<std::mutex> lock(m_);
    if (live_ < budget.max_connections) {
      ++live_;
      return admission::admitted;
    }
    if (idle_head_ != nullptr && evicting_ < max_evicting) {
      session_base* v = idle_head_;
      unlink_idle(v);
      v->evicted_ = true;
      ++evicting_;
      if (auto it = sessions_.find(v); it != sessions_.end()) {
        victim = it->second;
      }
      ++live_;
      evicted_total_.fetch_add(1, std::memory_order_relaxed);
      return admission::admitted;
    }
    if (shedding_ < max_shedding) {
      ++shedding_;
      return admission::shed;
    }
    return admission::refused;
  }

  /// Counts a connection shed or refused past `max_connections`, and logs what was shed or
  /// evicted at most once a second, so an overload does not turn into a flood of log lines.
  void note_shed() {
    shed_.fetch_add(1, std::memory_order_relaxed);
    metrics::catalog::http_connections_shed().inc();
    note_pressure();
  }
  void note_pressure() {
    auto now = std::chrono::duration_cast<milliseconds>(steady::now().time_since_epoch()).count();
    auto last = last_shed_log_ms_.load(std::memory_order_relaxed);
    if (now - last >= 1000 &&
        last_shed_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      auto shed = shed_.exchange(0, std::memory_order_relaxed);
      auto evicted = evicted_total_.exchange(0, std::memory_order_relaxed);
      if (shed > 0 || evicted > 0) {
        log::warn("http", "max_connections (", budget.max_connections, ") reached; closed ",
                  evicted, " idle connection(s) to admit new ones, shed ", shed, " connection(s)");
      }
    }
  }

  /// Registers an admitted session (for `stop`).
  void enter(const std::shared_ptr<session_base>& s) {
    std::lock_guard<std::mutex> lock(m_);
    sessions_.emplace(s.get(), s);
    metrics::catalog::http_connections_open().inc();
  }
  /// From an admitted session's destructor.
  void leave(session_base* s) {
    {
      std::lock_guard<std::mutex> lock(m_);
      unlink_idle(s);
      if (s->evicted_) {
        s->evicted_ = false;
        --evicting_;
      }
      sessions_.erase(s);
      --live_;
    }
    metrics::catalog::http_connections_open().dec();
    cv_.notify_all();
  }
  /// From a shed session's destructor.
  void leave_shed() {
    std::lock_guard<std::mutex> lock(m_);
    --shedding_;
  }

  /// The session waits for the first byte of a request: it may be evicted from now on.
  void mark_idle(session_base* s) {
    std::lock_guard<std::mutex> lock(m_);
    if (s->idle_listed_ || s->evicted_) {
      return;
    }
    s->idle_listed_ = true;
    s->idle_prev_ = idle_tail_;
    s->idle_next_ = nullptr;
    (idle_tail_ != nullptr ? idle_tail_->idle_next_ : idle_head_) = s;
    idle_tail_ = s;
  }
  /// The session is busy again (or closing).
  void mark_busy(session_base* s) {
    std::lock_guard<std::mutex> lock(m_);
    unlink_idle(s);
  }
  /// An evicted session was no longer idle when `on_evict` reached it: it stays.
  void eviction_skipped(session_base* s) {
    std::lock_guard<std::mutex> lock(m_);
    if (s->evicted_) {
      s->evicted_ = false;
      --evicting_;
    }
  }

  std::vector<std::weak_ptr<session_base>> snapshot() {
    std::lock_guard<std::mutex> lock(m_);
    std::vector<std::weak_ptr<session_base>> out;
    out.reserve(sessions_.size());
    for (const auto& [ptr, weak] : sessions_) {
      out.push_back(weak);
    }
    return out;
  }
  /// Waits until no admitted connection is left or `deadline`; returns how many are left.
  std::size_t wait_drained(steady::time_point deadline) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_until(lock, deadline, [&] { return live_ == 0; });
    return live_;
  }

 private:
  /// `server.max_connections` within the open-files limit; logs a clamp once, at start.
  static connection_budget budget_for(std::uint32_t configured) {
    const auto files = open_files_limit();
    if (files == 0) {
      return connection_budget{configured, 0, false};
    }
    auto b = clamp_connections(configured, files);
    if (b.clamped) {
      log::warn("http", "server.max_connections ", configured,
                " does not fit the open-files limit (RLIMIT_NOFILE ", files,
                "); admitting at most ", b.max_connections, " connections, ", b.reserved,
                " descriptors kept for the store, the outbound client and refused connections");
    }
    return b;
  }

  void unlink_idle(session_base* s) {
    if (!s->idle_listed_) {
      return;
    }
    (s->idle_prev_ != nullptr ? s->idle_prev_->idle_next_ : idle_head_) = s->idle_next_;
    (s->idle_next_ != nullptr ? s->idle_next_->idle_prev_ : idle_tail_) = s->idle_prev_;
    s->idle_prev_ = s->idle_next_ = nullptr;
    s->idle_listed_ = false;
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::unordered_map<session_base*, std::weak_ptr<session_base>> sessions_;
  std::size_t live_ = 0;
  std::uint32_t evicting_ = 0;
  std::uint32_t shedding_ = 0;
  session_base* idle_head_ = nullptr;  ///< the oldest idle session
  session_base* idle_tail_ = nullptr;
  std::atomic<std::uint64_t> shed_{0};
  std::atomic<std::uint64_t> evicted_total_{0};
  std::atomic<std::int64_t> last_shed_log_ms_{-1000000};
};

/// The `actors::stream_sink` of one SSE connection. Held by the stream actor; it refers to the
/// session weakly, so an actor that keeps it longer than the connection keeps nothing alive.
class sse_sink final : public actors::stream_sink {
 public:
  sse_sink(std::weak_ptr<session_base> s, std::shared_ptr<post_gate> gate)
      : session_(std::move(s)), gate_(std::move(gate)) {}

  bool write(std::string frames, std::function<void()> on_written) override {
    if (closed_.load(std::memory_order_acquire)) {
      return false;
    }
    bool posted =
        post_to(session_, *gate_,
                [frames = std::move(frames), cb = std::move(on_written)](session_base& s) mutable {
                  s.on_frames(std::move(frames), std::move(cb));
                });
    if (!posted) {
      mark_closed();
    }
    return !closed_.load(std::memory_order_acquire);
  }

  void close() override {
    post_to(session_, *gate_, [](session_base& s) { s.on_stream_end(); });
  }

  void mark_closed() { closed_.store(true, std::memory_order_release); }

 private:
  std::weak_ptr<session_base> session_;
  std::shared_ptr<post_gate> gate_;
  std::atomic<bool> closed_{false};
};

/// A request as the dispatch functions read it: Beast's parsed request behind `request_view`.
class beast_request final : public request_view {
 public:
  explicit beast_request(bhttp::request<bhttp::string_body>& req) : req_(req) {}
  std::string_view method() const override { return sv(req_.method_string()); }
  std::string_view target() const override { return sv(req_.target()); }
  std::string_view header(std::string_view name) const override {
    return sv(req_[beast::string_view(name.data(), name.size())]);
  }
  std::vector<std::string_view> headers(std::string_view name) const override {
    std::vector<std::string_view> out;
    auto range = req_.equal_range(beast::string_view(name.data(), name.size()));
    for (auto it = range.first; it != range.second; ++it) {
      out.push_back(sv(it->value()));
    }
    return out;
  }
  std::string& body() override { return req_.body(); }

 private:
  bhttp::request<bhttp::string_body>& req_;
};

/// One connection, plain or TLS. Lives as long as an asynchronous operation (or, while the
/// gateway works on its request, `self_hold_`) holds it; every handler runs on its strand. It
/// moves bytes, applies limits and timeouts, and is the `exchange` of the request it reads: what
/// the request gets is decided by the dispatch functions (src/http/dispatch.hpp).
template <class Stream>
class session final : public session_base, private exchange {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  enum class state {
    starting,   ///< TLS handshake
    idle,       ///< waiting for the first byte of a request
    reading,    ///< header or body of a request
    waiting,    ///< the gateway has the request
    writing,    ///< a response
    streaming,  ///< SSE
    closing,    ///< lingering before close
    closed,
  };

  struct pending_write {
    std::string bytes;
    std::function<void()> on_written;  ///< empty for the head and keep-alives
  };

 public:
  /// `metrics_only`: a connection of `server.metrics.listen`, which serves /metrics, /healthz
  /// and /readyz only. `peer`: the TCP peer's address.
  template <class... Extra>
  session(server_core& core, bool admitted, bool metrics_only, const ip::address& peer,
          tcp::socket&& socket, Extra&... extra)
      : session_base(socket.get_executor()),
        core_(core),
        admitted_(admitted),
        metrics_only_(metrics_only),
        peer_(peer),
        stream_(std::move(socket), extra...),
        accepted_at_(steady::now()),
        buffer_(read_buffer_limit(core.limits.max_header_bytes)) {}

  ~session() override {
    if (sse_open_) {
      metrics::catalog::sse_streams_open().dec();
    }
    release_stream_slot();
    if (admitted_) {
      core_.leave(this);
    } else {
      core_.leave_shed();
    }
  }

  void run() {
    net::dispatch(executor(), [self = shared()] { self->on_run(); });
  }

  void on_answer(actors::http_response r) override {
    if (state_ != state::waiting) {
      return;
    }
    self_hold_.reset();
    write_response(std::move(r));
  }

  void on_frames(std::string frames, std::function<void()> on_written) override {
    if (state_ != state::streaming || ending_) {
      return;
    }
    for (const auto& w : queue_) {
      if (w.on_written) {
        // The stream actor waits for on_written before its next batch; a second batch here
        // is a caller bug, still handled: it is queued behind the first.
        log::debug("http", "SSE batch queued before the previous one was written");
        break;
      }
    }
    queue_.push_back({std::move(frames), std::move(on_written)});
    pump();
  }

  void on_stream_end() override {
    if (state_ != state::streaming) {
      return;
    }
    ending_ = true;
    pump();
  }

  void on_stop(bool force) override {
    stopping_ = true;
    if (force) {
      close_now();
      return;
    }
    switch (state_) {
      case state::idle:
        close_now();
        break;
      case state::streaming:
        end_stream_connection();
        break;
      default:
        break;  // the exchange in flight finishes; its response closes the connection
    }
  }

  void detach() override {
    self_hold_.reset();
    if (sink_) {
      sink_->mark_closed();
    }
  }

  void on_evict() override {
    if (state_ == state::idle) {
      log::debug("http", "closing an idle connection to admit a new one (max_connections)");
      close_now();
      return;
    }
    core_.eviction_skipped(this);
  }

 private:
  std::shared_ptr<session> shared() {
    return std::static_pointer_cast<session>(shared_from_this());
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const config::server_config& limits() const { return core_.limits; }

  // ---- connection start ------------------------------------------------------------------

  void on_run() {
    if constexpr (is_tls) {
      state_ = state::starting;
      lowest().expires_at(accepted_at_ + milliseconds(limits().header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server, [self = shared()](beast::error_code ec) {
        if (ec) {
          log::debug("http", "TLS handshake failed: ", ec.message());
          self->close_now();
          return;
        }
        self->after_connect();
      });
    } else {
      after_connect();
    }
  }

  void after_connect() {
    if (state_ == state::closed) {
      return;
    }
    if (!admitted_) {
      core_.note_shed();
      write_response(
          actors::error_response(errc::overloaded, "too many connections; retry later", 1), true);
      return;
    }
    begin_request();
  }

  // ---- reading a request -----------------------------------------------------------------

  void begin_request() {
    if (state_ == state::closed) {
      return;
    }
    if (stopping_ || core_.stopping.load()) {
      close_now();
      return;
    }
    parser_.emplace();
    route_ = nullptr;
    read_done_ = {};
    parser_->body_limit(limits().max_body_bytes);
    parser_->header_limit(limits().max_header_bytes);
    state_ = state::idle;
    if (buffer_.size() > 0) {  // a pipelined request is already here
      read_header();
      return;
    }
    if (first_) {
      lowest().expires_at(accepted_at_ + milliseconds(limits().header_timeout_ms));
    } else {
      lowest().expires_after(milliseconds(limits().idle_timeout_ms));
    }
    core_.mark_idle(this);
    stream_.async_read_some(
        buffer_.prepare(first_read_size),
        [self = shared()](beast::error_code ec, std::size_t n) { self->on_first_bytes(ec, n); });
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (state_ == state::closed) {
      return;
    }
    core_.mark_busy(this);
    if (ec) {  // end of stream, idle timeout, reset: nothing to answer
      close_now();
      return;
    }
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    state_ = state::reading;
    if (first_) {
      lowest().expires_at(accepted_at_ + milliseconds(limits().header_timeout_ms));
    } else {
      lowest().expires_after(milliseconds(limits().header_timeout_ms));
    }
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (state_ == state::closed) {
      return;
    }
    if (ec) {
      on_read_error(ec);
      return;
    }
    first_ = false;
    if (auto framed = check_request_framing(); !framed) {
      note_route();
      write_response(actors::error_response(framed.err().code, framed.err().message), true);
      return;
    }
    if (parser_->is_done()) {
      handle_request();
      return;
    }
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      lowest().expires_after(milliseconds(limits().write_timeout_ms));
      net::async_write(stream_, net::buffer(continue_line.data(), continue_line.size()),
                       [self = shared()](beast::error_code ec, std::size_t) {
                         if (self->state_ == state::closed) {
                           return;
                         }
                         if (ec) {
                           self->close_now();
                           return;
                         }
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    lowest().expires_after(milliseconds(limits().body_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared()](beast::error_code ec, std::size_t) {
                        if (self->state_ == state::closed) {
                          return;
                        }
                        if (ec) {
                          self->on_read_error(ec);
                          return;
                        }
                        self->handle_request();
                      });
  }

  /// `check_framing` on the parsed header (src/http/framing.hpp). The vector is filled only
  /// when the request has a Transfer-Encoding at all.
  status check_request_framing() {
    const auto& req = parser_->get();
    std::vector<std::string_view> codings;
    auto range = req.equal_range(bhttp::field::transfer_encoding);
    for (auto it = range.first; it != range.second; ++it) {
      codings.push_back(sv(it->value()));
    }
    return check_framing(codings, req.count(bhttp::field::content_length) != 0,
                         req.version() == 10);
  }

  /// The route of a request answered before `handle_request`, for the request counter's label.
  void note_route() {
    read_done_ = steady::now();
    const auto& req = parser_->get();
    route_ = match_route(sv(req.method_string()), sv(req.target())).def;
  }

  void on_read_error(beast::error_code ec) {
    if (parser_ && parser_->is_header_done()) {  // for the request counter's route label
      note_route();
    }
    if (ec == bhttp::error::body_limit) {
      write_response(
          actors::error_response(errc::body_too_large, "the body exceeds server.max_body_bytes (" +
                                                           std::to_string(limits().max_body_bytes) +
                                                           " bytes)"),
          true);
      return;
    }
    if (ec == bhttp::error::buffer_overflow) {
      write_response(actors::error_response(
                         errc::bad_request,
                         "a chunk header or the trailer section exceeds server.max_header_bytes (" +
                             std::to_string(limits().max_header_bytes) + " bytes)"),
                     true);
      return;
    }
    if (ec == bhttp::error::header_limit) {
      auto r = actors::error_response(errc::bad_request,
                                      "the request header exceeds server.max_header_bytes (" +
                                          std::to_string(limits().max_header_bytes) + " bytes)");
      r.status = 431;
      write_response(std::move(r), true);
      return;
    }
    static const auto& http_category = beast::error_code(bhttp::error::bad_method).category();
    bool malformed = ec.category() == http_category && ec != bhttp::error::end_of_stream &&
                     ec != bhttp::error::partial_message;
    if (malformed) {
      write_response(
          actors::error_response(errc::bad_request, "malformed request: " + ec.message()), true);
      return;
    }
    // Timeouts (the stream is already closed by Beast), resets, a client gone mid-request.
    close_now();
  }

  // ---- handling a request ----------------------------------------------------------------

  void handle_request() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    route r = route_request(core_, sv(req.method_string()), sv(req.target()), metrics_only_);
    read_done_ = steady::now();
    if (log::enabled(log::level::debug)) {  // the path only: queries may carry verify tokens
      auto target = sv(req.target());
      log_target_.assign(sv(req.method_string()));
      log_target_.append(" ").append(target.substr(0, target.find('?')));
    }
    route_ = r.def;
    beast_request view(req);
    try {
      serve(core_, r, view, peer_, *this);
    } catch (const std::exception& e) {
      log::error("http", "request failed: ", e.what());
      if (state_ == state::reading) {
        write_response(actors::error_response(errc::internal, "internal error"), true);
      }
    }
  }

  // ---- the exchange of the request (src/http/dispatch.hpp) -------------------------------

  void respond(actors::http_response r) override { write_response(std::move(r)); }

  /// A responder whose answer comes back onto this strand; the session waits without timeout.
  actors::responder_ptr await_gateway() override {
    state_ = state::waiting;
    lowest().expires_never();
    self_hold_ = shared_from_this();
    return std::make_shared<actors::responder>(
        [weak = weak_from_this(), gate = core_.gate](actors::http_response res) {
          post_to(weak, *gate,
                  [res = std::move(res)](session_base& s) mutable { s.on_answer(std::move(res)); });
        });
  }

  // ---- writing a response ----------------------------------------------------------------

  void write_response(actors::http_response r, bool close = false) {
    res_ = {};
    res_.version(parser_ && parser_->get().version() == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(bhttp::field::server, "switchboard");
    if (!r.content_type.empty()) {
      res_.set(bhttp::field::content_type, r.content_type);
    }
    for (auto& [name, value] : r.headers) {
      res_.set(name, value);
    }
    close_after_ = close || !keep_alive_ || stopping_ || core_.stopping.load();
    res_.keep_alive(!close_after_);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    count_request(route_, r.status);
    if (is_webhook() && r.status >= 400) {
      metrics::catalog::webhook_rejections(r.code).inc();
    }
    log::debug("http", log_target_, " -> ", r.status);
    state_ = state::writing;
    lowest().expires_after(milliseconds(limits().write_timeout_ms));
    bhttp::async_write(stream_, res_, [self = shared()](beast::error_code ec, std::size_t) {
      self->on_response_written(ec);
    });
  }

  bool is_webhook() const { return route_ != nullptr && route_->kind == handler_kind::webhook; }

  void on_response_written(beast::error_code ec) {
    if (state_ == state::closed) {
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    res_ = {};
    if (is_webhook() && read_done_ != steady::time_point{}) {
      metrics::catalog::webhook_ack_seconds().observe(
          std::chrono::duration<double>(steady::now() - read_done_).count());
    }
    if (close_after_) {
      linger_close();
      return;
    }
    begin_request();
  }

  // ---- Server-Sent Events ----------------------------------------------------------------
  //
  // Framing: the header carries neither Content-Length nor Transfer-Encoding, so the body is
  // the raw event stream, delimited by the connection's close (RFC 7230 §3.3.3, rule 7). Each
  // batch of frames is one write; curl and EventSource read it as it comes.

  /// `GET /v1/stream` passed its checks (src/http/dispatch.hpp): takes a slot of the token and
  /// becomes a stream.
  void open_stream(const principal& token, stream_params params) override {
    const principal* who = &token;
    if (stopping_ || core_.stopping.load()) {
      write_response(actors::error_response(errc::unavailable, "shutting down; retry", 1), true);
      return;
    }
    if (!core_.streams.try_open(who)) {
      write_response(actors::error_response(
          errc::too_many_streams,
          "this token has " + std::to_string(core_.cfg->limits.sse_streams_per_token) +
              " streams open (limits.sse_streams_per_token); close one or retry later",
          k_stream_retry_after_s));
      return;
    }
    stream_slot_ = who;
    sink_ = std::make_shared<sse_sink>(weak_from_this(), core_.gate);
    actors::stream_request sr;
    sr.tenant = who->tenant;
    sr.subscriber = who->subscriber;
    sr.after = params.after;
    sr.types = std::move(params.types);
    sr.sink = sink_;
    // Frames the actor writes from here on are posted to this strand, so they queue behind
    // the head pushed below.
    stream_handle_ = core_.gateway.open_stream(std::move(sr));
    if (!stream_handle_) {
      release_stream_slot();
      sink_->mark_closed();
      sink_.reset();
      write_response(
          actors::error_response(errc::unavailable, "the stream could not be opened; retry", 1),
          true);
      return;
    }
    log::debug("http", "SSE stream opened for ", who->tenant, "/", who->subscriber);
    state_ = state::streaming;
    count_request(route_, 200);
    sse_open_ = true;
    metrics::catalog::sse_streams_open().inc();
    queue_.push_back({std::string(sse_head), {}});
    lowest().expires_never();
    watch_client();
    keepalive_.emplace(executor());
    arm_keepalive();
    pump();
  }

  /// Reads (and discards) until the client goes away: that is how a disconnect is noticed.
  void watch_client() {
    lowest().expires_never();  // only the read's timer: a write in flight keeps its own
    stream_.async_read_some(
        net::buffer(discard_),
        [self = shared()](beast::error_code ec, std::size_t) { self->on_client_read(ec); });
  }

  void on_client_read(beast::error_code ec) {
    if (state_ == state::closed) {
      return;
    }
    if (state_ == state::closing) {
      if constexpr (is_tls) {
        shutdown_tls();  // the read was cancelled to make way for close_notify
        return;
      }
    }
    if (ec) {
      log::debug("http", "SSE client went away");
      close_now();
      return;
    }
    watch_client();
  }

  void arm_keepalive() {
    keepalive_->expires_after(milliseconds(core_.options.sse_keepalive_ms));
    keepalive_->async_wait([self = shared()](beast::error_code ec) {
      if (ec || self->state_ != state::streaming || self->ending_) {
        return;
      }
      if (self->queue_.empty() && !self->writing_) {
        self->queue_.push_back({std::string(sse_keepalive), {}});
        self->pump();
      }
      self->arm_keepalive();
    });
  }

  void pump() {
    if (writing_ || state_ != state::streaming) {
      return;
    }
    if (queue_.empty()) {
      if (ending_) {
        end_stream_connection();
      }
      return;
    }
    writing_ = true;
    lowest().expires_after(milliseconds(limits().write_timeout_ms));
    const std::string& bytes = queue_.front().bytes;
    net::async_write(
        stream_, net::buffer(bytes.data(), bytes.size()),
        [self = shared()](beast::error_code ec, std::size_t) { self->on_frames_written(ec); });
  }

  void on_frames_written(beast::error_code ec) {
    writing_ = false;
    if (state_ == state::closed) {
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    auto done = std::move(queue_.front().on_written);
    queue_.pop_front();
    if (done) {
      try {
        done();
      } catch (const std::exception& e) {
        log::error("http", "SSE on_written failed: ", e.what());
      }
    }
    if (state_ == state::streaming) {
      pump();
    } else if (state_ == state::closing) {
      finish_stream_close();
    }
  }

  /// Ends an SSE connection: cancels the stream, drops frames not yet being written, and once
  /// the write in flight (if any) completes, closes.
  void end_stream_connection() {
    if (state_ != state::streaming) {
      return;
    }
    cancel_stream();
    drop_queued();
    ending_ = true;
    state_ = state::closing;
    if (!writing_) {
      finish_stream_close();
    }
  }

  /// Plain: FIN, then wait (bounded) for the client's, which `watch_client` notices. TLS:
  /// cancel the pending read, then close_notify (`shutdown_tls`): over TLS a close-delimited
  /// body must end with close_notify, or clients such as curl report a truncated response.
  void finish_stream_close() {
    keepalive_->cancel();
    if constexpr (is_tls) {
      beast::error_code ignored;
      lowest().socket().cancel(ignored);
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      keepalive_->expires_after(linger_time);
      keepalive_->async_wait([self = shared()](beast::error_code ec) {
        if (!ec) {
          self->close_now();
        }
      });
    }
  }

  void shutdown_tls() {
    if (tls_shutdown_started_ || writing_) {
      close_now();
      return;
    }
    tls_shutdown_started_ = true;
    lowest().expires_after(linger_time);
    if constexpr (is_tls) {
      stream_.async_shutdown([self = shared()](beast::error_code) { self->close_now(); });
    }
  }

  /// Frees queued frames, except the one a write in flight still reads from.
  void drop_queued() {
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queue_.pop_back();
    }
  }

  void cancel_stream() {
    if (sink_) {
      sink_->mark_closed();
    }
    if (stream_handle_) {
      auto h = std::move(stream_handle_);
      h->cancel();
    }
  }

  // ---- closing ---------------------------------------------------------------------------

  /// After a response with `Connection: close`: send FIN, then drain what the client still
  /// sends for a bounded time so the response is not lost to a reset.
  void linger_close() {
    state_ = state::closing;
    lowest().expires_after(linger_time);
    if constexpr (is_tls) {
      stream_.async_shutdown([self = shared()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared()](beast::error_code ec, std::size_t) {
                              if (self->state_ == state::closed) {
                                return;
                              }
                              if (ec) {
                                self->close_now();
                                return;
                              }
                              self->drain();
                            });
  }

  /// Gives back this connection's SSE slot of its token, once.
  void release_stream_slot() {
    if (stream_slot_ != nullptr) {
      core_.streams.close(stream_slot_);
      stream_slot_ = nullptr;
    }
  }

  void close_now() {
    if (state_ == state::closed) {
      return;
    }
    state_ = state::closed;
    if (admitted_) {
      core_.mark_busy(this);
    }
    release_stream_slot();
    cancel_stream();
    if (keepalive_) {
      keepalive_->cancel();
    }
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    drop_queued();
    self_hold_.reset();
  }

  server_core& core_;
  const bool admitted_;
  const bool metrics_only_;  ///< a connection of `server.metrics.listen`
  const ip::address peer_;   ///< the TCP peer
  Stream stream_;
  const steady::time_point accepted_at_;
  state state_ = state::starting;
  bool first_ = true;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool stopping_ = false;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::shared_ptr<session_base> self_hold_;  ///< set only while the gateway has the request
  std::array<char, 512> discard_{};
  std::string log_target_;            ///< "METHOD /path" of the request, for debug logs
  const route_def* route_ = nullptr;  ///< of the request in flight (metrics); nullptr: none
  steady::time_point read_done_{};    ///< when its reading completed (metrics)
  bool sse_open_ = false;             ///< counted in switchboard_sse_streams_open

  std::shared_ptr<sse_sink> sink_;
  std::shared_ptr<actors::stream_handle> stream_handle_;
  const principal* stream_slot_ = nullptr;  ///< the token whose SSE slot this stream holds
  std::deque<pending_write> queue_;
  bool writing_ = false;
  bool ending_ = false;
  bool tls_shutdown_started_ = false;
  std::optional<net::steady_timer> keepalive_;
};

/// "host:port" or "[v6]:port".
tcp::endpoint resolve_listen(net::io_context& ioc, const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      throw std::runtime_error("server.listen '" + listen + "' is not [address]:port");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("server.listen '" + listen + "' is not host:port");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned long port_number = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      (port_number = std::stoul(port)) > 65535 || host.empty()) {
    throw std::runtime_error("server.listen '" + listen + "' has a bad host or port");
  }
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (!ec) {
    return {address, static_cast<unsigned short>(port_number)};
  }
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("server.listen: cannot resolve '" + host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

class server::impl {
 public:
  impl(std::shared_ptr<const config::config> cfg, actors::gateway& gateway, server_options options)
      : core_(std::move(cfg), gateway, options), ioc_(std::max(1, core_.limits.io_threads)) {
    const auto& limits = core_.limits;
    if (!limits.tls.cert.empty() || !limits.tls.key.empty()) {
      setup_tls(limits.tls);
    }
    listen(limits.listen, false);
    if (!limits.metrics.listen.empty()) {
      listen(limits.metrics.listen, true);
    }
  }

  ~impl() {
    stop();
    {
      std::lock_guard<std::mutex> lock(core_.gate->m);
      core_.gate->open = false;
    }
    // No thread runs the io_context any more: break the self-references of sessions that
    // were still waiting on the gateway, so they are destroyed before the io_context.
    for (auto& weak : core_.snapshot()) {
      if (auto s = weak.lock()) {
        s->detach();
      }
    }
  }

  void start() {
    std::lock_guard<std::mutex> lock(control_m_);
    if (started_ || stopped_) {
      return;
    }
    started_ = true;
    work_.emplace(ioc_.get_executor());
    for (auto& l : listeners_) {
      do_accept(*l);
    }
    int n = std::max(1, core_.limits.io_threads);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] { run_loop(); });
    }
  }

  void stop() {
    std::lock_guard<std::mutex> lock(control_m_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    core_.stopping = true;
    if (!started_) {
      for (auto& l : listeners_) {
        beast::error_code ignored;
        l->acceptor.close(ignored);
      }
      return;
    }
    for (auto& l : listeners_) {
      net::post(l->acceptor.get_executor(), [l = l.get()] {
        beast::error_code ignored;
        l->acceptor.close(ignored);
        l->retry.cancel();
      });
    }
    for (auto& weak : core_.snapshot()) {
      post_to(weak, *core_.gate, [](session_base& s) { s.on_stop(false); });
    }
    auto grace = milliseconds(std::max(0, core_.limits.shutdown_grace_ms));
    std::size_t left = core_.wait_drained(steady::now() + grace);
    if (left > 0) {
      log::warn("http", "closing ", left, " connection(s) still busy after shutdown_grace_ms");
      for (auto& weak : core_.snapshot()) {
        post_to(weak, *core_.gate, [](session_base& s) { s.on_stop(true); });
      }
      core_.wait_drained(steady::now() + force_close_wait);
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
    log::info("http", "server stopped");
  }

  std::uint16_t port() const noexcept { return listeners_.front()->bound.port(); }
  std::string host() const { return host_of(listeners_.front()->bound); }
  std::uint16_t metrics_port() const noexcept {
    return listeners_.size() > 1 ? listeners_[1]->bound.port() : 0;
  }
  std::string metrics_host() const {
    return listeners_.size() > 1 ? host_of(listeners_[1]->bound) : std::string();
  }
  bool tls() const noexcept { return tls_.has_value(); }

 private:
  void setup_tls(const config::tls_config& t) {
    if (t.cert.empty() || t.key.empty()) {
      throw std::runtime_error("server.tls needs both cert and key");
    }
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    if (SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION) != 1) {
      throw std::runtime_error("server.tls: cannot require TLS 1.2");
    }
    try {
      tls_->use_certificate_chain_file(t.cert);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("server.tls.cert '" + t.cert + "': " + e.code().message());
    }
    try {
      tls_->use_private_key_file(t.key, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("server.tls.key '" + t.key + "': " + e.code().message());
    }
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      throw std::runtime_error("server.tls: the key does not match the certificate");
    }
  }

  void run_loop() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log::error("http", "I/O thread caught: ", e.what());
      }
    }
  }

  /// One listening socket: `server.listen`, or `server.metrics.listen` (`metrics_only`).
  struct listener {
    listener(net::io_context& ioc, bool metrics)
        : acceptor(net::make_strand(ioc)), retry(acceptor.get_executor()), metrics_only(metrics) {}
    tcp::acceptor acceptor;
    net::steady_timer retry;
    tcp::endpoint bound;
    const bool metrics_only;
  };

  static std::string host_of(const tcp::endpoint& e) {
    auto a = e.address();
    return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  }

  void listen(const std::string& address, bool metrics_only) {
    auto endpoint = resolve_listen(ioc_, address);
    auto l = std::make_unique<listener>(ioc_, metrics_only);
    try {
      l->acceptor.open(endpoint.protocol());
      l->acceptor.set_option(net::socket_base::reuse_address(true));
      l->acceptor.bind(endpoint);
      l->acceptor.listen(net::socket_base::max_listen_connections);
      l->bound = l->acceptor.local_endpoint();
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + address + ": " + e.code().message());
    }
    listeners_.push_back(std::move(l));
  }

  void do_accept(listener& l) {
    l.acceptor.async_accept(net::make_strand(ioc_),
                            [this, &l](beast::error_code ec, tcp::socket socket) {
                              on_accept(l, ec, std::move(socket));
                            });
  }

  static ip::address peer_of(const tcp::socket& socket) {
    ip::address out{};
    beast::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) {
      return out;
    }
    auto a = remote.address();
    if (a.is_v4()) {
      auto bytes = a.to_v4().to_bytes();
      out[10] = 0xff;
      out[11] = 0xff;
      std::copy(bytes.begin(), bytes.end(), out.begin() + 12);
    } else {
      auto bytes = a.to_v6().to_bytes();
      std::copy(bytes.begin(), bytes.end(), out.begin());
    }
    return out;
  }

  void on_accept(listener& l, beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || core_.stopping.load() || !l.acceptor.is_open()) {
      return;
    }
    if (ec) {
      // Typically EMFILE: retry shortly instead of spinning on the error.
      log::warn("http", "accept failed: ", ec.message());
      l.retry.expires_after(milliseconds(100));
      l.retry.async_wait([this, &l](beast::error_code wait_ec) {
        if (!wait_ec && !core_.stopping.load()) {
          do_accept(l);
        }
      });
      return;
    }
    beast::error_code ignored;
    std::weak_ptr<session_base> victim;
    const admission a = core_.admit(victim);
    if (a == admission::refused) {
      core_.note_shed();
      socket.close(ignored);
      do_accept(l);
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    const bool admitted = a == admission::admitted;
    const ip::address peer = peer_of(socket);
    if (tls_) {
      spawn<session<tls_stream>>(admitted, l.metrics_only, peer, std::move(socket), *tls_);
    } else {
      spawn<session<plain_stream>>(admitted, l.metrics_only, peer, std::move(socket));
    }
    if (!victim.expired()) {
      post_to(victim, *core_.gate, [](session_base& s) { s.on_evict(); });
      core_.note_pressure();
    }
    do_accept(l);
  }

  template <class Session, class... Extra>
  void spawn(bool admitted, bool metrics_only, const ip::address& peer, tcp::socket&& socket,
             Extra&... extra) {
    auto s =
        std::make_shared<Session>(core_, admitted, metrics_only, peer, std::move(socket), extra...);
    if (admitted) {
      core_.enter(s);
    }
    s->run();
  }

  // Declaration order is destruction order reversed: sessions (owned by the io_context's
  // handlers) die before the TLS context and the core they refer to.
  server_core core_;
  std::optional<ssl::context> tls_;
  net::io_context ioc_;
  std::vector<std::unique_ptr<listener>> listeners_;  ///< server.listen first
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex control_m_;
  bool started_ = false;
  bool stopped_ = false;
};

server::server(std::shared_ptr<const config::config> cfg, actors::gateway& gateway,
               server_options options)
    : impl_(std::make_unique<impl>(std::move(cfg), gateway, options)) {}

server::~server() = default;

void server::start() {
  impl_->start();
}
std::uint16_t server::port() const noexcept {
  return impl_->port();
}
std::string server::host() const {
  return impl_->host();
}
std::uint16_t server::metrics_port() const noexcept {
  return impl_->metrics_port();
}
std::string server::metrics_host() const {
  return impl_->metrics_host();
}
bool server::tls() const noexcept {
  return impl_->tls();
}
void server::stop() {
  impl_->stop();
}

}  // namespace sb::http

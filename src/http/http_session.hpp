#pragma once

// One HTTP/1.1 connection, plain or TLS: reads requests under the server's limits and timeouts,
// hands each to the dispatch functions (src/http/dispatch.hpp) and writes what they answer.
// Beast and Asio: included only by src/http/server.cpp, the one translation unit that holds
// them.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "http/framing.hpp"
#include "http/request_log.hpp"
#include "http/server_core.hpp"
#include "http/sse_session.hpp"

namespace sb::http::detail {

/// Retry-After of a 429 `too_many_streams`: a stream slot frees only when a client disconnects.
constexpr int k_stream_retry_after_s = 5;

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

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
/// the request gets is decided by the dispatch functions (src/http/dispatch.hpp). A request that
/// opens a stream hands the connection to an `sse_session` (src/http/sse_session.hpp).
template <class Stream>
class http_session final : public session_base, private exchange {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  enum class state {
    starting,  ///< TLS handshake
    idle,      ///< waiting for the first byte of a request
    reading,   ///< header or body of a request
    waiting,   ///< the gateway has the request
    writing,   ///< a response
    closing,   ///< lingering before close
    closed,    ///< or handed over to an SSE session
  };

 public:
  /// `metrics_only`: a connection of `server.metrics.listen`, which serves /metrics, /healthz
  /// and /readyz only. `peer`: the TCP peer's address.
  template <class... Extra>
  http_session(server_core& core, bool admitted, bool metrics_only, const ip::address& peer,
               tcp::socket&& socket, Extra&... extra)
      : session_base(socket.get_executor()),
        core_(core),
        admitted_(admitted),
        metrics_only_(metrics_only),
        peer_(peer),
        stream_(std::move(socket), extra...),
        accepted_at_(steady::now()),
        buffer_(read_buffer_limit(core.limits.max_header_bytes)) {}

  ~http_session() override {
    if (!admitted_) {
      core_.leave_shed();
    } else if (!handed_over_) {  // else its place is the SSE session's now
      core_.leave(this);
    }
  }

  void run() {
    net::dispatch(executor(), [self = shared()] { self->on_run(); });
  }

  void on_answer(response r) override {
    if (state_ != state::waiting) {
      return;
    }
    self_hold_.reset();
    write_response(std::move(r));
  }

  // Frames and stream ends go to the SSE session a stream request hands the connection to.
  void on_frames(actors::sse_batch, std::function<void()>) override {}
  void on_stream_end() override {}

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
      default:
        break;  // the exchange in flight finishes; its response closes the connection
    }
  }

  void detach() override { self_hold_.reset(); }

  void on_evict() override {
    if (state_ == state::idle) {
      log::debug("http", "closing an idle connection to admit a new one (max_connections)");
      close_now();
      return;
    }
    core_.eviction_skipped(this);
  }

 private:
  std::shared_ptr<http_session> shared() {
    return std::static_pointer_cast<http_session>(shared_from_this());
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
      write_response(error_response(errc::overloaded, "too many connections; retry later", 1),
                     true);
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
    started_ = {};
    request_id_.clear();
    tenant_.clear();
    channel_.clear();
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
    started_ = steady::now();
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
      write_response(error_response(framed.err().code, framed.err().message), true);
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
    auto r = match_route(sv(req.method_string()), sv(req.target()));
    route_ = r.def;
    note_webhook_target(*core_.context(), r);
  }

  void on_read_error(beast::error_code ec) {
    if (parser_ && parser_->is_header_done()) {  // for the request counter's route label
      note_route();
    }
    if (ec == bhttp::error::body_limit) {
      write_response(error_response(errc::body_too_large,
                                    "the body exceeds server.max_body_bytes (" +
                                        std::to_string(limits().max_body_bytes) + " bytes)"),
                     true);
      return;
    }
    if (ec == bhttp::error::buffer_overflow) {
      write_response(
          error_response(errc::bad_request,
                         "a chunk header or the trailer section exceeds server.max_header_bytes (" +
                             std::to_string(limits().max_header_bytes) + " bytes)"),
          true);
      return;
    }
    if (ec == bhttp::error::header_limit) {
      auto r = error_response(errc::bad_request,
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
      write_response(error_response(errc::bad_request, "malformed request: " + ec.message()), true);
      return;
    }
    // Timeouts (the stream is already closed by Beast), resets, a client gone mid-request.
    close_now();
  }

  // ---- handling a request ----------------------------------------------------------------

  void handle_request() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    // One context for the whole request: a reload meanwhile does not change what it is served
    // with (src/http/server_core.hpp).
    auto ctx = core_.context();
    route r = route_request(*ctx, sv(req.method_string()), sv(req.target()), metrics_only_);
    read_done_ = steady::now();
    if (log::enabled(log::level::debug)) {  // the path only: queries may carry verify tokens
      auto target = sv(req.target());
      log_target_.assign(sv(req.method_string()));
      log_target_.append(" ").append(target.substr(0, target.find('?')));
    }
    route_ = r.def;
    note_webhook_target(*ctx, r);
    assign_request_id();
    beast_request view(req);
    try {
      serve(*ctx, r, view, peer_, *this);
    } catch (const std::exception& e) {
      log::error("http", "request failed: ", e.what());
      if (state_ == state::reading) {
        write_response(error_response(errc::internal, "internal error"), true);
      }
    }
  }

  // ---- the exchange of the request (src/http/dispatch.hpp) -------------------------------

  void respond(response r) override { write_response(std::move(r)); }

  void identify(std::string_view tenant, std::string_view channel) override {
    tenant_.assign(tenant);
    channel_.assign(channel);
  }

  /// A responder whose answer comes back onto this strand; the session waits without timeout.
  actors::responder_ptr await_gateway() override {
    state_ = state::waiting;
    lowest().expires_never();
    self_hold_ = shared_from_this();
    return std::make_shared<actors::responder>(
        [weak = weak_from_this(), gate = core_.gate](response res) {
          post_to(weak, *gate,
                  [res = std::move(res)](session_base& s) mutable { s.on_answer(std::move(res)); });
        });
  }

  // ---- writing a response ----------------------------------------------------------------

  void write_response(response r, bool close = false) {
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
    assign_request_id();
    res_.set("X-Request-Id", request_id_);
    status_ = r.status;
    close_after_ = close || !keep_alive_ || stopping_ || core_.stopping.load();
    res_.keep_alive(!close_after_);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    count_request(route_, r.status);
    if (is_webhook() && r.status >= 400 && rejections_ != nullptr) {
      rejections_->at(r.code).inc();
    }
    log::debug("http", log_target_, " -> ", r.status);
    state_ = state::writing;
    lowest().expires_after(milliseconds(limits().write_timeout_ms));
    bhttp::async_write(stream_, res_, [self = shared()](beast::error_code ec, std::size_t) {
      self->on_response_written(ec);
    });
  }

  bool is_webhook() const { return route_ != nullptr && route_->kind == handler_kind::webhook; }

  /// The rejection counters of a webhook's channel, labelled from the config (never from the
  /// path: an unknown tenant or channel counts as tenant="" channel=""). The set outlives any
  /// config (core/metrics.hpp), so the pointer may outlive `ctx`.
  void note_webhook_target(const dispatch_context& ctx, const route& r) {
    rejections_ = nullptr;
    if (is_webhook() && r.params.size() >= 2) {
      rejections_ = &ctx.directory.rejections(r.params[0], r.params[1]);
    }
  }

  void on_response_written(beast::error_code ec) {
    log_request(status_);
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

  // ---- the request's id and log line (src/http/request_log.hpp) --------------------------

  /// The request's `X-Request-Id`: the client's when valid, else a new one; once per request.
  void assign_request_id() {
    if (!request_id_.empty()) {
      return;
    }
    std::string_view client;
    if (parser_ && parser_->is_header_done()) {
      client = sv(parser_->get()["X-Request-Id"]);
    }
    request_id_ = request_id_for(client);
  }

  /// The access log's line of the request (`log.access`), answered with `status`.
  void log_request(int status) {
    // The current config's: a reload turns the access log on or off for the next lines.
    if (!log::enabled(log::level::info) || !core_.context()->cfg->log.access) {
      return;
    }
    const auto start = started_ != steady::time_point{} ? started_ : accepted_at_;
    std::string_view method;
    if (parser_ && parser_->is_header_done()) {
      method = sv(parser_->get().method_string());
    }
    const std::string remote = ip::to_string(peer_);
    access_entry e;
    e.request_id = request_id_;
    e.method = method;
    e.route = route_ != nullptr ? route_->pattern : std::string_view("unmatched");
    e.status = status;
    e.duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start).count();
    e.tenant = tenant_;
    e.channel = channel_;
    e.remote = remote;
    log_access(e);
  }

  // ---- opening a stream ------------------------------------------------------------------

  /// `GET /v1/stream` passed its checks (src/http/dispatch.hpp): takes a stream slot of the
  /// token, opens the stream, and hands the connection to an `sse_session`; this session ends
  /// once the handler running it returns.
  void open_stream(const principal& who, stream_params params) override {
    if (stopping_ || core_.stopping.load()) {
      write_response(error_response(errc::unavailable, "shutting down; retry", 1), true);
      return;
    }
    if (!core_.streams.try_open(&who)) {
      write_response(error_response(
          errc::too_many_streams,
          "this token has " + std::to_string(core_.sse_streams_per_token) +
              " streams open (limits.sse_streams_per_token); close one or retry later",
          k_stream_retry_after_s));
      return;
    }
    auto sse = std::make_shared<sse_session<Stream>>(core_, executor(), who, route_);
    if (!sse->open(std::move(params))) {
      write_response(error_response(errc::unavailable, "the stream could not be opened; retry", 1),
                     true);
      return;
    }
    if (admitted_) {
      core_.transfer(this, sse);
    }
    handed_over_ = true;
    state_ = state::closed;
    sse->add_head_header("X-Request-Id", request_id_);
    log_request(200);  // a stream is logged when it opens
    sse->start(std::move(stream_), admitted_);
  }

  /// A web chat visitor's stream passed the visitor gate (src/http/dispatch.hpp): opens the
  /// visitor stream and hands the connection to an `sse_session`, as `open_stream` does, with
  /// the gate's CORS headers in the head; one of the visitor's stream slots
  /// (`visitor_slots::per_visitor`) is held while it is open.
  void open_visitor_stream(visitor_stream_params params,
                           std::vector<std::pair<std::string, std::string>> cors) override {
    if (stopping_ || core_.stopping.load()) {
      write_response(error_response(errc::unavailable, "shutting down; retry", 1), true);
      return;
    }
    std::string slot = params.tenant + "/" + params.channel + "/" + params.visitor;
    if (!core_.visitor_streams.try_open(slot)) {
      auto r = error_response(errc::too_many_streams,
                              "this visitor has " + std::to_string(visitor_slots::per_visitor) +
                                  " streams open; close one or retry later",
                              k_stream_retry_after_s);
      for (auto& h : cors) {
        r.headers.push_back(std::move(h));
      }
      write_response(std::move(r), true);
      return;
    }
    auto sse =
        std::make_shared<sse_session<Stream>>(core_, executor(), route_, visitor_sse_head(cors));
    sse->hold_visitor_slot(std::move(slot));
    if (!sse->open_visitor(std::move(params))) {
      auto r = error_response(errc::unavailable, "the stream could not be opened; retry", 1);
      for (auto& h : cors) {
        r.headers.push_back(std::move(h));
      }
      write_response(std::move(r), true);
      return;
    }
    if (admitted_) {
      core_.transfer(this, sse);
    }
    handed_over_ = true;
    state_ = state::closed;
    sse->add_head_header("X-Request-Id", request_id_);
    log_request(200);  // a stream is logged when it opens
    sse->start(std::move(stream_), admitted_);
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

  void close_now() {
    if (state_ == state::closed) {
      return;
    }
    state_ = state::closed;
    if (admitted_) {
      core_.mark_busy(this);
    }
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
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
  /// A webhook's `switchboard_webhook_rejections_total` counters (`note_webhook_target`).
  const metrics::catalog::webhook_rejection_set* rejections_ = nullptr;
  steady::time_point read_done_{};    ///< when its reading completed (metrics)
  steady::time_point started_{};      ///< when its header began to be read (access log)
  std::string request_id_;            ///< its X-Request-Id (`assign_request_id`); "": none yet
  std::string tenant_;                ///< `identify`: the request's tenant, for its log line
  std::string channel_;               ///< `identify`: the request's channel
  int status_ = 0;                    ///< of the response being written (access log)
  bool handed_over_ = false;          ///< the connection is an SSE session's now
};

}  // namespace sb::http::detail

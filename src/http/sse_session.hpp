#pragma once

// A Server-Sent Events connection (`GET /v1/stream`): what an HTTP session becomes once a stream
// is open, as a WebSocket session is in Beast's advanced server. Beast and Asio: included only by
// src/http/server.cpp, the one translation unit that holds them.
//
// Framing: the header carries neither Content-Length nor Transfer-Encoding, so the body is the
// raw event stream, delimited by the connection's close (RFC 7230 §3.3.3, rule 7). Each batch of
// frames is one write of the events' shared frames (`store::shared_event`), rendered once for
// every stream of the tenant and copied into the write's buffer; curl and EventSource read it as
// it comes.

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "http/server_core.hpp"
#include "store/event_log.hpp"

namespace sb::http::detail {

/// The head of `GET /v1/stream`; `Switchboard-Event-Schema` names the schema of its events
/// (`event_schema_id`, docs/events.md).
constexpr std::string_view sse_head =
    "HTTP/1.1 200 OK\r\n"
    "Server: switchboard\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: keep-alive\r\n"
    "Switchboard-Event-Schema: https://switchboard.dev/schemas/event/v1.json\r\n"
    "\r\n";
static_assert(sse_head.find(event_schema_header) != std::string_view::npos &&
                  sse_head.find(event_schema_id) != std::string_view::npos,
              "sse_head names the event schema (core/event.hpp)");
constexpr std::string_view sse_keepalive = ": keep-alive\n\n";

/// The head of a web chat visitor's stream: as `sse_head`, but never stored by a cache (the
/// conversation is personal data) and with the CORS headers the visitor gate granted.
inline std::string visitor_sse_head(const std::vector<std::pair<std::string, std::string>>& cors) {
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Server: switchboard\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: keep-alive\r\n";
  // Visitors see the event without `subject` and `tenant`: the schema's visitor variant.
  head.append(event_schema_header).append(": ").append(visitor_event_schema_id).append("\r\n");
  for (const auto& [name, value] : cors) {
    // The gate's own values; a line break would split the head, so such a header is dropped.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

/// The `actors::stream_sink` of one SSE connection. Held by the stream actor; it refers to the
/// session weakly, so an actor that keeps it longer than the connection keeps nothing alive.
class sse_sink final : public actors::stream_sink {
 public:
  sse_sink(std::weak_ptr<session_base> s, std::shared_ptr<post_gate> gate)
      : session_(std::move(s)), gate_(std::move(gate)) {}

  bool write(actors::sse_batch events, std::function<void()> on_written) override {
    if (closed_.load(std::memory_order_acquire)) {
      return false;
    }
    bool posted =
        post_to(session_, *gate_,
                [events = std::move(events), cb = std::move(on_written)](session_base& s) mutable {
                  s.on_frames(std::move(events), std::move(cb));
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
/// One stream, plain or TLS. Built by the HTTP session whose request opened it (`open`), then
/// handed the connection (`start`): from then on it holds the connection's place among the
/// server's sessions and its token's stream slot, and lives as long as an asynchronous operation
/// holds it; every handler runs on the connection's strand.
template <class Stream>
class sse_session final : public session_base {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  enum class state {
    opening,    ///< built, the connection not yet handed over
    streaming,  ///< writing frames
    closing,    ///< lingering before close
    closed,
  };

  /// The head or a keep-alive (`fixed`), or a batch of shared frames (`events`).
  struct pending_write {
    std::string_view fixed;
    actors::sse_batch events;
    std::function<void()> on_written;  ///< empty for the head and keep-alives
  };

 public:
  /// `who` holds a stream slot (`server_core::streams`) that this session gives back; `ex`: the
  /// connection's strand; `route`: the stream's entry of the handler list (metrics).
  sse_session(server_core& core, net::any_io_executor ex, const principal& who,
              const route_def* route)
      : session_base(std::move(ex)),
        core_(core),
        stream_principal_(who),
        stream_slot_(&stream_principal_),
        route_(route),
        who_(who.tenant + "/" + who.subscriber) {}

  /// A web chat visitor's stream: no token; the visitor's slot is given with
  /// `hold_visitor_slot`; `head` from `visitor_sse_head`.
  sse_session(server_core& core, net::any_io_executor ex, const route_def* route,
              std::string head)
      : session_base(std::move(ex)), core_(core), route_(route), head_(std::move(head)) {}

  ~sse_session() override {
    if (sse_open_) {
      metrics::catalog::sse_streams_open().dec();
    }
    release_stream_slot();
    if (registered_) {
      core_.leave(this);
    }
  }

  /// Asks the gateway for the stream of `params`. False when it cannot start now (the slot is
  /// given back; the HTTP session answers 503). Frames the stream actor writes from here on are
  /// posted to the connection's strand, so they queue behind the head `start` pushes.
  bool open(stream_params params) {
    sink_ = std::make_shared<sse_sink>(weak_from_this(), core_.gate);
    actors::stream_request sr;
    sr.tenant = stream_slot_->tenant;
    sr.subscriber = stream_slot_->subscriber;
    sr.after = params.after;
    sr.types = std::move(params.types);
    sr.sink = sink_;
    return open_request(std::move(sr));
  }

  /// Holds a visitor's stream slot (`server_core::visitor_streams`, already taken), given back
  /// with the session.
  void hold_visitor_slot(std::string key) { visitor_slot_ = std::move(key); }

  /// Asks the gateway for the visitor stream of `params` (the visitor gate passed), as `open`.
  bool open_visitor(visitor_stream_params params) {
    sink_ = std::make_shared<sse_sink>(weak_from_this(), core_.gate);
    who_ = params.tenant + "/" + params.channel + " visitor";
    actors::stream_request sr;
    sr.of = actors::stream_request::kind::visitor;
    sr.tenant = std::move(params.tenant);
    sr.after = params.after;
    sr.channel = std::move(params.channel);
    sr.visitor = std::move(params.visitor);
    sr.subject = std::move(params.subject);
    sr.conversation = std::move(params.conversation);
    sr.sink = sink_;
    return open_request(std::move(sr));
  }

  /// Adds the header `name: value` to the stream's head (the request's X-Request-Id); before
  /// `start`. A name or value with a line break is dropped, as in `visitor_sse_head`.
  void add_head_header(std::string_view name, std::string_view value) {
    if (name.find_first_of("\r\n:") != std::string_view::npos ||
        value.find_first_of("\r\n") != std::string_view::npos) {
      return;
    }
    if (head_.empty()) {
      head_.assign(sse_head);
    }
    std::string line;
    line.append(name).append(": ").append(value).append("\r\n");
    head_.insert(head_.size() - 2, line);  // before the blank line that ends the head
  }

  /// Takes over the connection (`registered`: it holds an admitted connection's place, given by
  /// `server_core::transfer`) and starts streaming: the head, then frames and keep-alives.
  void start(Stream&& stream, bool registered) {
    stream_.emplace(std::move(stream));
    registered_ = registered;
    log::debug("http", "SSE stream opened for ", who_);
    state_ = state::streaming;
    count_request(route_, 200);
    sse_open_ = true;
    metrics::catalog::sse_streams_open().inc();
    queue_.push_back({head_.empty() ? sse_head : std::string_view(head_), {}, {}});
    lowest().expires_never();
    watch_client();
    keepalive_.emplace(executor());
    arm_keepalive();
    pump();
  }

  void on_answer(response) override {}  // a stream waits for no answer

  void on_frames(actors::sse_batch events, std::function<void()> on_written) override {
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
    queue_.push_back({{}, std::move(events), std::move(on_written)});
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
    if (force) {
      close_now();
      return;
    }
    end_stream_connection();
  }

  void detach() override {
    if (sink_) {
      sink_->mark_closed();
    }
  }

  void on_evict() override { core_.eviction_skipped(this); }  // a stream is never idle

 private:
  std::shared_ptr<sse_session> shared() {
    return std::static_pointer_cast<sse_session>(shared_from_this());
  }

  bool open_request(actors::stream_request sr) {
    stream_handle_ = core_.gateway.open_stream(std::move(sr));
    if (!stream_handle_) {
      release_stream_slot();
      sink_->mark_closed();
      sink_.reset();
      return false;
    }
    return true;
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*stream_); }
  const config::server_config& limits() const { return core_.limits; }

  /// Reads (and discards) until the client goes away: that is how a disconnect is noticed.
  void watch_client() {
    lowest().expires_never();  // only the read's timer: a write in flight keeps its own
    stream_->async_read_some(
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
        std::string().swap(self->gathered_);  // idle: no batch to keep room for
        self->queue_.push_back({sse_keepalive, {}, {}});
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
    // The bytes are the front entry's (or `gathered_`), which stay until the write completes.
    const pending_write& w = queue_.front();
    std::string_view bytes = w.fixed;
    if (w.events.size() == 1) {
      bytes = w.events.front()->frame;
    } else if (w.events.size() > 1) {
      // Copied into one buffer: one `sendmsg` of one piece. Handed to the kernel as one iovec
      // entry per frame (Asio passes at most 64 per call), the same bytes cost this gateway a
      // third of its ingest with 200 streams (docs/performance.md, step 8).
      std::size_t n = 0;
      for (const auto& e : w.events) {
        n += e->frame.size();
      }
      gathered_.clear();
      gathered_.reserve(n);
      for (const auto& e : w.events) {
        gathered_.append(e->frame);
      }
      bytes = gathered_;
    }
    net::async_write(
        *stream_, net::buffer(bytes.data(), bytes.size()),
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
      stream_->async_shutdown([self = shared()](beast::error_code) { self->close_now(); });
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

  /// Gives back the token's or the visitor's stream slot, once.
  void release_stream_slot() {
    if (stream_slot_ != nullptr) {
      core_.streams.close(stream_slot_);
      stream_slot_ = nullptr;
    }
    if (!visitor_slot_.empty()) {
      core_.visitor_streams.close(visitor_slot_);
      visitor_slot_.clear();
    }
  }

  void close_now() {
    if (state_ == state::closed) {
      return;
    }
    const bool connected = stream_.has_value();
    state_ = state::closed;
    release_stream_slot();
    cancel_stream();
    if (keepalive_) {
      keepalive_->cancel();
    }
    if (connected) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    drop_queued();
  }

  server_core& core_;
  std::optional<Stream> stream_;  ///< from `start`
  state state_ = state::opening;
  bool registered_ = false;  ///< holds an admitted connection's place in `core_`
  std::array<char, 512> discard_{};
  /// A copy: the principal `open` got lives in the dispatch context of the request, which a
  /// config reload replaces while the stream stays open.
  principal stream_principal_;
  const principal* stream_slot_ = nullptr;  ///< the token whose stream slot this holds
  std::string visitor_slot_;                ///< the visitor whose stream slot this holds
  const route_def* route_ = nullptr;        ///< `GET /v1/stream` or a visitor's (metrics)
  bool sse_open_ = false;                   ///< counted in switchboard_sse_streams_open
  std::string who_;                         ///< "tenant/subscriber" (debug logs)
  std::string head_;  ///< the stream's head (a visitor's, or with added headers); "": `sse_head`

  std::shared_ptr<sse_sink> sink_;
  std::shared_ptr<actors::stream_handle> stream_handle_;
  std::deque<pending_write> queue_;
  /// A batch's frames, copied together for its write. Kept between writes (freeing and
  /// allocating a batch's size per write costs page faults: a third of the ingest with 200
  /// streams), and freed when the stream is idle for a keep-alive interval.
  std::string gathered_;
  bool writing_ = false;
  bool ending_ = false;
  bool tls_shutdown_started_ = false;
  std::optional<net::steady_timer> keepalive_;
};

}  // namespace sb::http::detail

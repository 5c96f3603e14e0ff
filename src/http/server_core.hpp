#pragma once

// What the listener and the sessions of the HTTP server share: Asio's names, the session
// interface seen from other threads (`session_base`, `post_to`), and the connections' registry
// and admission (`server_core`). Beast and Asio: included only by src/http/server.cpp (through
// the session headers), the one translation unit that holds them.

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
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
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/gateway.hpp"
#include "core/ip.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/dispatch.hpp"
#include "http/edge_limits.hpp"
#include "http/server.hpp"

namespace sb::http::detail {

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

inline std::string_view sv(beast::string_view s) {
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
  virtual void on_answer(response r) = 0;
  /// SSE frames from the stream actor (`actors::stream_sink::write`).
  virtual void on_frames(actors::sse_batch events, std::function<void()> on_written) = 0;
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
inline std::uint64_t open_files_limit() {
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

/// State shared by the listener and every session: what the dispatch functions use (the current
/// `dispatch_context`: config, tokens, channels, platform gate) and the connections. Outlives the
/// io_context's handlers.
struct server_core {
  server_core(std::shared_ptr<const config::config> c, actors::gateway& g, server_options o)
      : gateway(g),
        limits(c->server),
        sse_streams_per_token(c->limits.sse_streams_per_token),
        options(o),
        streams(c->limits.sse_streams_per_token),
        budget(budget_for(c->server.max_connections)),
        ctx_(std::make_shared<dispatch_context>(std::move(c), g)) {
    ctx_->control = o.control;
    metrics::catalog::register_all();
  }

  /// The context new requests are served with. Each request takes it once, when its head is
  /// read, and finishes on it even if a reload replaces it meanwhile (the shared pointer keeps
  /// it alive). Any thread.
  std::shared_ptr<dispatch_context> context() const { return std::atomic_load(&ctx_); }

  /// A reload: new requests see `c`'s tokens, channels, limits and secrets. The new context
  /// carries over the state of the one it replaces where its config did not change
  /// (`dispatch_context`'s constructor). `c`'s restart-only keys must be the running ones
  /// (`config::keep_restart_keys`): the listeners, timeouts and bounds of this core stay. Any
  /// thread; concurrent calls are serialized.
  void reconfigure(std::shared_ptr<const config::config> c) {
    std::lock_guard<std::mutex> lock(reconfigure_m_);
    auto previous = context();
    auto next = std::make_shared<dispatch_context>(std::move(c), gateway, previous.get());
    next->control = options.control;
    std::atomic_store(&ctx_, std::move(next));
  }

  actors::gateway& gateway;
  /// `server.*` as the server started: read only at start (config/diff.hpp, restart-only keys).
  const config::server_config limits;
  const std::uint32_t sse_streams_per_token;  ///< `limits.sse_streams_per_token` (restart-only)
  server_options options;
  stream_slots streams;            ///< `limits.sse_streams_per_token`
  visitor_slots visitor_streams;   ///< web chat streams per visitor
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
  /// An admitted connection changes hands: `to` (an SSE session) takes the place of `from`
  /// (the HTTP session whose request opened the stream). The count of connections stays.
  void transfer(session_base* from, const std::shared_ptr<session_base>& to) {
    std::lock_guard<std::mutex> lock(m_);
    unlink_idle(from);
    if (from->evicted_) {
      from->evicted_ = false;
      --evicting_;
    }
    sessions_.erase(from);
    sessions_.emplace(to.get(), to);
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
    ++idle_count_;
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

  /// Connections waiting for the first byte of a request (the eviction candidates).
  std::size_t idle_count() {
    std::lock_guard<std::mutex> lock(m_);
    return idle_count_;
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
    --idle_count_;
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::unordered_map<session_base*, std::weak_ptr<session_base>> sessions_;
  std::size_t live_ = 0;
  std::uint32_t evicting_ = 0;
  std::uint32_t shedding_ = 0;
  std::size_t idle_count_ = 0;        ///< sessions in the idle list
  session_base* idle_head_ = nullptr;  ///< the oldest idle session
  session_base* idle_tail_ = nullptr;
  std::atomic<std::uint64_t> shed_{0};
  std::atomic<std::uint64_t> evicted_total_{0};
  std::atomic<std::int64_t> last_shed_log_ms_{-1000000};
  std::mutex reconfigure_m_;
  std::shared_ptr<dispatch_context> ctx_;  ///< only through std::atomic_load / atomic_store
};

}  // namespace sb::http::detail

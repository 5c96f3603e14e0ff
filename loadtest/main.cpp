// switchboard-loadtest: drives a running gateway with a scenario (loadtest/README.md).
// The logic lives in sb_loadtest; this file is the I/O: the HTTP client, the SSE reader, the
// /metrics scrape, the progress line and the report files.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <unordered_map>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "loadtest/cli.hpp"
#include "core/time.hpp"
#include "loadtest/generator.hpp"
#include "loadtest/histogram.hpp"
#include "loadtest/loss.hpp"
#include "loadtest/report.hpp"
#include "loadtest/scenario.hpp"
#include "loadtest/schedule.hpp"
#include "loadtest/sse_count.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace sb::loadtest;
using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::microseconds;

namespace {

struct endpoint_spec {
  std::string host;
  std::string port;
};

std::optional<endpoint_spec> parse_url(std::string url) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) {
    return std::nullopt;
  }
  url = url.substr(prefix.size());
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) {
    return endpoint_spec{url, "80"};
  }
  return endpoint_spec{url.substr(0, colon), url.substr(colon + 1)};
}

/// The `error` code of a JSON error answer (`{"error":"rate_limited",...}`), or "" when the body
/// has none. A plain search: the gateway writes the code first, unescaped ([a-z_]).
std::string_view error_code_of(std::string_view body) {
  constexpr std::string_view field = "\"error\":\"";
  const auto at = body.find(field);
  if (at == std::string_view::npos) {
    return {};
  }
  const auto start = at + field.size();
  const auto end = body.find('"', start);
  if (end == std::string_view::npos || end - start > 64) {
    return {};
  }
  return body.substr(start, end - start);
}

/// GET path with an optional bearer token: {status, body}; status 0 when no answer. Blocking,
/// short timeout.
std::pair<int, std::string> http_get(const endpoint_spec& ep, const std::string& path,
                                     const std::string& token) {
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(5));
    s.connect(tcp::resolver(ioc).resolve(ep.host, ep.port));
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, ep.host);
    if (!token.empty()) {
      req.set(http::field::authorization, "Bearer " + token);
    }
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return {static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception&) {
    return {0, {}};
  }
}

/// GET path; the body when the answer is 200, else empty. Blocking, short timeout.
std::string scrape(const endpoint_spec& ep, const std::string& path) {
  auto [status, body] = http_get(ep, path, "");
  return status == 200 ? std::move(body) : std::string{};
}

/// The number after `"key":` in a JSON text, or nullopt (absent, null, not a number).
std::optional<std::int64_t> json_number_after(const std::string& body, const std::string& key) {
  const auto k = body.find("\"" + key + "\":");
  if (k == std::string::npos) {
    return std::nullopt;
  }
  const char* p = body.c_str() + k + key.size() + 3;
  char* end = nullptr;
  const long long v = std::strtoll(p, &end, 10);
  if (end == p) {
    return std::nullopt;
  }
  return v;
}

/// The fresh-store check: the tenant's head seq before the run, from `GET /v1/overview` (admin
/// scope), so the stream starts after the events already stored instead of replaying them into
/// the counts. Without the admin scope, `GET /v1/events?limit=1` still tells an empty store from
/// one with history.
store_before read_store_head(const endpoint_spec& ep, const std::string& tenant,
                             const std::string& token) {
  store_before b;
  b.tenant = tenant;
  const auto [status, body] = http_get(ep, "/v1/overview?tenant=" + tenant, token);
  if (status == 200) {
    if (const auto head = json_number_after(body, "head"); head && *head >= 0) {
      b.head = *head;
      b.note = "head seq from /v1/overview";
      return b;
    }
  }
  const auto [st2, page] = http_get(ep, "/v1/events?tenant=" + tenant + "&after=0&limit=1", token);
  if (st2 == 200 && page.find("\"events\":[]") != std::string::npos) {
    b.head = 0;
    b.note = "no events (/v1/events)";
    return b;
  }
  b.note = st2 == 200 ? "the store already holds events, how many is unknown (/v1/overview "
                        "answered " + std::to_string(status) +
                            ": the stream token lacks the admin scope); they are replayed on "
                            "the stream and counted as not-sent-by-this-run, not as this run's"
                      : "could not read the store's head (/v1/overview answered " +
                            std::to_string(status) + ", /v1/events " + std::to_string(st2) + ")";
  return b;
}

/// "<tenant>[0].rate_limit (acme: 500 rps, burst 1000)" for each targeted tenant with a limit.
config_hints hints_from(const sb::config::config& cfg, const std::vector<target>& targets,
                        const std::string& config_path) {
  config_hints h;
  h.config_path = config_path;
  for (std::size_t i = 0; i < cfg.tenants.size(); ++i) {
    const auto& t = cfg.tenants[i];
    const bool targeted = std::any_of(targets.begin(), targets.end(),
                                      [&](const target& x) { return x.tenant == t.id; });
    if (targeted && t.rate_limit.rps > 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "tenants[%zu].rate_limit (%s: %g rps, burst %g)", i,
                    t.id.c_str(), t.rate_limit.rps,
                    t.rate_limit.burst > 0 ? t.rate_limit.burst : t.rate_limit.rps);
      h.rate_limits.push_back(buf);
    }
  }
  const auto& a = cfg.limits.auth_failures_per_source;
  char buf[120];
  std::snprintf(buf, sizeof buf, "limits.auth_failures_per_source (%g/s, burst %g)", a.rps,
                a.burst > 0 ? a.burst : a.rps);
  h.auth_failures_per_source = buf;
  return h;
}

/// What the SSE readers and the client share.
struct shared_state {
  std::mutex mu;
  loss_checker loss;
  struct sent_info {
    clock::time_point at;
    bool measured = false;
  };
  std::unordered_map<std::string, sent_info> sent_at;  ///< first send of each id
  histogram e2e;
  std::uint64_t seen_events = 0;
};

/// Reads `GET /v1/stream` of one tenant on its own thread; every `data:` line's
/// platform_event_id goes to the loss checker.
class sse_reader {
 public:
  /// `after`: the seq to start after (the head before the run, so old events are not replayed).
  sse_reader(endpoint_spec ep, std::string tenant, std::string token, std::uint64_t after,
             shared_state& st)
      : ep_(std::move(ep)),
        tenant_(std::move(tenant)),
        token_(std::move(token)),
        after_(after),
        st_(st) {}

  /// Connects and waits for the 200 head; false (with `error()`) when the stream refused.
  bool start() {
    try {
      sock_.connect(*tcp::resolver(ioc_).resolve(ep_.host, ep_.port).begin());
      const std::string req = "GET /v1/stream?tenant=" + tenant_ +
                              "&after=" + std::to_string(after_) + " HTTP/1.1\r\nHost: " + ep_.host + "\r\nAuthorization: Bearer " +
                              token_ + "\r\nAccept: text/event-stream\r\n\r\n";
      asio::write(sock_, asio::buffer(req));
      const auto n = asio::read_until(sock_, asio::dynamic_buffer(buf_), "\r\n\r\n");
      const auto head = buf_.substr(0, n);
      buf_.erase(0, n);
      if (head.rfind("HTTP/1.1 200", 0) != 0) {
        error_ = "tenant " + tenant_ + ": /v1/stream answered " + head.substr(0, head.find('\r'));
        return false;
      }
      count(buf_);  // body bytes that came with the head
    } catch (const std::exception& e) {
      error_ = "tenant " + tenant_ + ": " + e.what();
      return false;
    }
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    stopping_ = true;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const std::string& error() const { return error_; }
  const std::string& tenant() const { return tenant_; }
  /// Events received so far, counted as the fan-out streams count theirs (`sse_counter`).
  /// Thread-safe.
  std::uint64_t events() const { return ids_.load(std::memory_order_relaxed); }

 private:
  void count(std::string_view bytes) {
    counter_.feed(bytes);
    ids_.store(counter_.events(), std::memory_order_relaxed);
  }

  void run() {
    char chunk[65536];
    boost::system::error_code ec;
    while (!stopping_) {
      const auto n = sock_.read_some(asio::buffer(chunk), ec);
      if (ec) {
        if (!stopping_) {
          error_ = "tenant " + tenant_ + ": stream ended: " + ec.message();
        }
        return;
      }
      count(std::string_view(chunk, n));
      buf_.append(chunk, n);
      std::size_t pos = 0;
      for (;;) {
        const auto nl = buf_.find('\n', pos);
        if (nl == std::string::npos) {
          break;
        }
        handle_line(std::string_view(buf_).substr(pos, nl - pos));
        pos = nl + 1;
      }
      buf_.erase(0, pos);
    }
  }

  void handle_line(std::string_view line) {
    if (line.rfind("data:", 0) != 0) {
      return;
    }
    constexpr std::string_view key = "\"platform_event_id\":\"";
    const auto k = line.find(key);
    if (k == std::string_view::npos) {
      return;
    }
    const auto start = k + key.size();
    const auto end = line.find('"', start);
    if (end == std::string_view::npos) {
      return;
    }
    const std::string id(line.substr(start, end - start));
    const auto now = clock::now();
    std::lock_guard<std::mutex> lock(st_.mu);
    const bool first = !st_.loss.was_seen(id);
    st_.loss.seen(id);
    ++st_.seen_events;
    auto it = st_.sent_at.find(id);
    if (first && it != st_.sent_at.end()) {
      if (it->second.measured) {
        st_.e2e.record(duration_cast<microseconds>(now - it->second.at).count());
      }
    }
  }

  endpoint_spec ep_;
  std::string tenant_;
  std::string token_;
  std::uint64_t after_ = 0;
  shared_state& st_;
  asio::io_context ioc_;
  tcp::socket sock_{ioc_};
  std::string buf_;
  std::string error_;
  std::atomic<bool> stopping_{false};
  sse_counter counter_;  ///< on the reader's thread (and in `start`, before it runs)
  std::atomic<std::uint64_t> ids_{0};
  std::thread thread_;
};

/// `--fanout N`: N more streams of one tenant, all read on one thread (one io_context), each
/// counting its events (`sse_counter`). They stand for a backend's many subscribers: a curl per
/// stream costs a process wake-up per write, which on the gateway's own two cores measured the
/// client more than the gateway (docs/performance.md, step 8).
class fanout_readers {
 public:
  fanout_readers(endpoint_spec ep, std::string tenant, std::string token, std::uint64_t after)
      : ep_(std::move(ep)), tenant_(std::move(tenant)), token_(std::move(token)), after_(after) {}

  /// Opens `n` streams from after the checked stream's start and waits for each 200 head; false (with
  /// `error()`) when one could not open.
  bool start(int n) {
    try {
      const auto where = *tcp::resolver(ioc_).resolve(ep_.host, ep_.port).begin();
      const std::string req = "GET /v1/stream?after=" + std::to_string(after_) + " HTTP/1.1\r\nHost: " + ep_.host +
                              "\r\nAuthorization: Bearer " + token_ +
                              "\r\nAccept: text/event-stream\r\n\r\n";
      for (int i = 0; i < n; ++i) {
        auto r = std::make_unique<reader>(ioc_);
        r->sock.connect(where);
        asio::write(r->sock, asio::buffer(req));
        std::string head;
        const auto len = asio::read_until(r->sock, asio::dynamic_buffer(head), "\r\n\r\n");
        if (head.rfind("HTTP/1.1 200", 0) != 0) {
          error_ = "fan-out stream " + std::to_string(i + 1) + " of tenant " + tenant_ +
                   ": /v1/stream answered " + head.substr(0, head.find('\r'));
          return false;
        }
        r->count.feed(std::string_view(head).substr(len));  // body bytes that came with the head
        r->events.store(r->count.events(), std::memory_order_relaxed);
        readers_.push_back(std::move(r));
      }
    } catch (const std::exception& e) {
      error_ = "fan-out streams of tenant " + tenant_ + ": " + e.what();
      return false;
    }
    for (auto& r : readers_) {
      read(*r);
    }
    thread_ = std::thread([this] { ioc_.run(); });
    return true;
  }

  /// The fewest and most events a stream has received so far (thread-safe).
  std::pair<std::uint64_t, std::uint64_t> range() const {
    std::uint64_t lo = ~std::uint64_t{0};
    std::uint64_t hi = 0;
    for (const auto& r : readers_) {
      const auto n = r->events.load(std::memory_order_relaxed);
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    return {readers_.empty() ? 0 : lo, hi};
  }

  void stop() {
    asio::post(ioc_, [this] {
      stopping_ = true;
      for (auto& r : readers_) {
        boost::system::error_code ec;
        r->sock.shutdown(tcp::socket::shutdown_both, ec);
        r->sock.close(ec);
      }
    });
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const std::string& tenant() const { return tenant_; }
  int streams() const { return static_cast<int>(readers_.size()); }
  /// The first failure (a stream that ended early), or empty. Read after `stop`.
  const std::string& error() const { return error_; }

 private:
  struct reader {
    explicit reader(asio::io_context& ioc) : sock(ioc) {}
    tcp::socket sock;
    sse_counter count;
    std::atomic<std::uint64_t> events{0};
    std::array<char, 16384> buf{};
  };

  void read(reader& r) {
    r.sock.async_read_some(asio::buffer(r.buf), [this, &r](boost::system::error_code ec,
                                                           std::size_t n) {
      if (ec) {
        if (!stopping_ && error_.empty()) {
          error_ = "a fan-out stream of tenant " + tenant_ + " ended: " + ec.message();
        }
        return;
      }
      r.count.feed(std::string_view(r.buf.data(), n));
      r.events.store(r.count.events(), std::memory_order_relaxed);
      read(r);
    });
  }

  endpoint_spec ep_;
  std::string tenant_;
  std::string token_;
  std::uint64_t after_ = 0;
  asio::io_context ioc_;
  std::vector<std::unique_ptr<reader>> readers_;
  bool stopping_ = false;  ///< on the io_context's thread only
  std::string error_;
  std::thread thread_;
};

/// `--visitor-streams N`: N idle visitor streams (`GET /chat/{tenant}/{channel}/stream`) of the
/// first visitor-facing channel (web chat) in the config, all on one thread. Their tokens are
/// minted here with the channel's own hooks from the same config (its derived key), as the
/// gateway would mint them for N visitors, so opening 10,000 costs no session calls. Each counts
/// the events it receives: none is expected, since the load writes to other conversations.
class visitor_streams {
 public:
  visitor_streams(endpoint_spec ep, const sb::config::config& cfg) : ep_(std::move(ep)) {
    for (const auto& t : cfg.tenants) {
      for (const auto& c : t.channels) {
        const auto* info = sb::adapters::find(c.type);
        if (info != nullptr && info->visitors.mint != nullptr && channel_ == nullptr) {
          tenant_ = t.id;
          channel_ = &c;
          info_ = info;
        }
      }
    }
  }

  /// "<tenant>/<channel>", or "" when the config has no visitor-facing channel.
  std::string name() const { return channel_ == nullptr ? "" : tenant_ + "/" + channel_->name; }

  bool start(int n) {
    if (channel_ == nullptr) {
      error_ = "the config has no visitor-facing channel (web chat)";
      return false;
    }
    const auto settings = info_->visitors.settings(*channel_);
    const std::string origin =
        settings.allowed_origins.empty() ? "" : "Origin: " + settings.allowed_origins.front() + "\r\n";
    const auto expires = sb::timestamp::from_millis(sb::now().unix_ms + 3600000);
    try {
      const auto where = *tcp::resolver(ioc_).resolve(ep_.host, ep_.port).begin();
      for (int i = 0; i < n; ++i) {
        const std::string token =
            info_->visitors.mint(*channel_, visitor_id(static_cast<std::uint64_t>(i)), expires);
        const std::string req = "GET /chat/" + tenant_ + "/" + channel_->name +
                                "/stream?token=" + token + " HTTP/1.1\r\nHost: " + ep_.host +
                                "\r\n" + origin + "Accept: text/event-stream\r\n\r\n";
        auto r = std::make_unique<reader>(ioc_);
        r->sock.connect(where);
        asio::write(r->sock, asio::buffer(req));
        std::string head;
        const auto len = asio::read_until(r->sock, asio::dynamic_buffer(head), "\r\n\r\n");
        if (head.rfind("HTTP/1.1 200", 0) != 0) {
          error_ = "visitor stream " + std::to_string(i + 1) + " answered " +
                   head.substr(0, head.find('\r'));
          return false;
        }
        r->count.feed(std::string_view(head).substr(len));
        readers_.push_back(std::move(r));
      }
    } catch (const std::exception& e) {
      error_ = "visitor streams: " + std::string(e.what()) + " after " +
               std::to_string(readers_.size());
      return false;
    }
    for (auto& r : readers_) {
      read(*r);
    }
    thread_ = std::thread([this] { ioc_.run(); });
    return true;
  }

  /// Events received by all of them (thread-safe).
  std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }

  void stop() {
    asio::post(ioc_, [this] {
      stopping_ = true;
      for (auto& r : readers_) {
        boost::system::error_code ec;
        r->sock.shutdown(tcp::socket::shutdown_both, ec);
        r->sock.close(ec);
      }
    });
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  int streams() const { return static_cast<int>(readers_.size()); }
  const std::string& error() const { return error_; }

 private:
  struct reader {
    explicit reader(asio::io_context& ioc) : sock(ioc) {}
    tcp::socket sock;
    sse_counter count;
    std::array<char, 512> buf{};  ///< idle streams: heartbeats only
  };

  /// "vis_" + 26 Crockford characters, distinct per i and per run.
  std::string visitor_id(std::uint64_t i) const {
    static constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string v = "vis_";
    std::uint64_t hi = run_;
    for (int k = 0; k < 13; ++k, hi /= 32) {
      v.push_back(crockford[hi % 32]);
    }
    for (int k = 0; k < 13; ++k, i /= 32) {
      v.push_back(crockford[i % 32]);
    }
    return v;
  }

  void read(reader& r) {
    r.sock.async_read_some(asio::buffer(r.buf), [this, &r](boost::system::error_code ec,
                                                           std::size_t n) {
      if (ec) {
        if (!stopping_ && error_.empty()) {
          error_ = "a visitor stream ended: " + ec.message();
        }
        return;
      }
      const auto before = r.count.events();
      r.count.feed(std::string_view(r.buf.data(), n));
      events_.fetch_add(r.count.events() - before, std::memory_order_relaxed);
      read(r);
    });
  }

  endpoint_spec ep_;
  std::string tenant_;
  const sb::config::channel_config* channel_ = nullptr;
  const sb::adapters::adapter_info* info_ = nullptr;
  std::uint64_t run_ = static_cast<std::uint64_t>(sb::now().unix_ms);
  asio::io_context ioc_;
  std::vector<std::unique_ptr<reader>> readers_;
  std::atomic<std::uint64_t> events_{0};
  bool stopping_ = false;  ///< on the io_context's thread only
  std::string error_;
  std::thread thread_;
};

/// The load generator: K keep-alive connections on one io_context thread.
class client {
 public:
  client(const scenario& s, generator& gen, endpoint_spec ep, shared_state& st, run_result& r,
         bool reference)
      : s_(s),
        gen_(gen),
        ep_(std::move(ep)),
        st_(st),
        r_(r),
        reference_(reference),
        progress_(ioc_),
        tick_(ioc_) {}

  void run() {
    endpoints_ = tcp::resolver(ioc_).resolve(ep_.host, ep_.port);
    start_ = clock::now() + std::chrono::milliseconds(50);
    measure_from_ = start_ + duration_cast<clock::duration>(duration<double>(s_.warmup_s));
    end_ = s_.duration_s > 0
               ? measure_from_ + duration_cast<clock::duration>(duration<double>(s_.duration_s))
               : clock::time_point::max();
    for (int i = 0; i < s_.connections; ++i) {
      conns_.push_back(std::make_unique<connection>(ioc_));
    }
    schedule_progress();
    if (s_.mode == loop_mode::open) {
      schedule_tick();
    } else {
      asio::post(ioc_, [this] {
        for (auto& c : conns_) {
          closed_next(*c);
        }
      });
    }
    ioc_.run();
    r_.seconds = timeline_.seconds();
    const auto last = std::min(clock::now(), end_);
    r_.measured_s = duration<double>(last - measure_from_).count();
  }

 private:
  struct pending {
    webhook w;
    clock::time_point intended;
  };

  struct connection {
    explicit connection(asio::io_context& ioc) : stream(ioc) {}
    beast::tcp_stream stream;
    bool connected = false;
    bool busy = false;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    std::optional<http::response_parser<http::string_body>> parser;
    pending job;
    clock::time_point sent;
  };

  bool more_to_issue(clock::time_point intended) const {
    if (s_.count > 0 && issued_ >= s_.count) {
      return false;
    }
    return intended < end_;
  }

  void schedule_tick() {
    const auto due = intended_time(start_, s_.rate, issued_);
    if (!more_to_issue(due)) {
      issuing_done_ = true;
      maybe_finish();
      return;
    }
    tick_.expires_at(due);
    tick_.async_wait([this](beast::error_code ec) {
      if (ec) {
        return;
      }
      const auto now = clock::now();
      while (true) {
        const auto t = intended_time(start_, s_.rate, issued_);
        if (t > now || !more_to_issue(t)) {
          break;
        }
        queue_.push_back({gen_.next(), t});
        ++issued_;
      }
      dispatch();
      schedule_tick();
    });
  }

  void dispatch() {
    for (auto& c : conns_) {
      if (queue_.empty()) {
        return;
      }
      if (!c->busy) {
        send(*c, std::move(queue_.front()));
        queue_.pop_front();
      }
    }
  }

  void closed_next(connection& c) {
    const auto now = clock::now();
    if (!more_to_issue(now)) {
      issuing_done_ = true;
      maybe_finish();
      return;
    }
    ++issued_;
    send(c, {gen_.next(), now});
  }

  void send(connection& c, pending job) {
    c.busy = true;
    ++in_flight_;
    c.job = std::move(job);
    c.req = {http::verb::post, c.job.w.target, 11};
    c.req.set(http::field::host, ep_.host);
    c.req.set(http::field::content_type, "application/json");
    c.req.set(http::field::user_agent, "switchboard-loadtest");
    for (const auto& [k, v] : c.job.w.headers) {
      c.req.set(k, v);
    }
    c.req.body() = c.job.w.body;
    c.req.keep_alive(true);
    c.req.prepare_payload();
    if (!c.connected) {
      c.stream.expires_after(std::chrono::seconds(5));
      c.stream.async_connect(endpoints_, [this, &c](beast::error_code ec, const auto&) {
        if (ec) {
          return fail(c, "connect");
        }
        c.connected = true;
        write(c);
      });
    } else {
      write(c);
    }
  }

  void write(connection& c) {
    c.sent = clock::now();
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      for (const auto& id : c.job.w.platform_ids) {
        st_.sent_at.try_emplace(id,
                                shared_state::sent_info{c.sent, c.job.intended >= measure_from_});
      }
    }
    ++r_.sent;
    c.stream.expires_after(duration_cast<clock::duration>(duration<double>(s_.timeout_s)));
    http::async_write(c.stream, c.req, [this, &c](beast::error_code ec, std::size_t) {
      if (ec) {
        return fail(c, "write");
      }
      c.parser.emplace();
      c.parser->body_limit(1 << 20);
      http::async_read(c.stream, c.buf, *c.parser, [this, &c](beast::error_code ec, std::size_t) {
        if (ec) {
          return fail(c, ec == beast::error::timeout ? "timeout" : "read");
        }
        const auto& res = c.parser->get();
        const bool keep = res.keep_alive();
        const int status = static_cast<int>(res.result_int());
        // A 429 is either the tenant's rate limit or the source's failed-signature budget: its
        // JSON error code tells which, and the report names each cause apart.
        complete(c, status, "", status == 429 ? error_code_of(res.body()) : std::string_view());
        if (!keep) {
          close(c);
        }
        next(c);
      });
    });
  }

  void close(connection& c) {
    beast::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    c.stream.close();
    c.connected = false;
    c.buf.clear();
  }

  void fail(connection& c, const char* what) {
    complete(c, 0, what);
    close(c);
    next(c);
  }

  void next(connection& c) {
    c.busy = false;
    --in_flight_;
    if (s_.mode == loop_mode::closed) {
      closed_next(c);
    } else if (!queue_.empty()) {
      auto job = std::move(queue_.front());
      queue_.pop_front();
      send(c, std::move(job));
    } else {
      maybe_finish();
    }
  }

  /// Records one outcome. `status` 0 = no HTTP answer (`err` says why). `code`: the answer's
  /// JSON error code, when it tells causes of one status apart ("429 rate_limited").
  void complete(connection& c, int status, const char* err, std::string_view code = {}) {
    const auto now = clock::now();
    const auto& w = c.job.w;
    std::string key = status == 0 ? std::string("error:") + err : std::to_string(status);
    if (!code.empty()) {
      key.append(" ").append(code);
    }
    // A platform that never retries gets 200 for a signed body kept in quarantine
    // (`adapters::adapter_info::ok_when_quarantined`): answered, but no event of it is stored.
    const auto* info = sb::adapters::find(w.type);
    const bool quarantine_ok = info != nullptr && info->ok_when_quarantined;
    const bool quarantined = w.kind == request_kind::malformed && quarantine_ok;
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      for (const auto& id : w.platform_ids) {
        st_.loss.answered(id, quarantined && status == 200 ? 400 : status);
      }
    }
    const auto second =
        static_cast<std::size_t>(std::max<double>(0, duration<double>(now - start_).count()));
    if (r_.per_second.size() <= second) {
      r_.per_second.resize(second + 1, 0);
    }
    if (status == 200) {
      ++r_.per_second[second];
      ++ok_this_second_;
    } else {
      ++errors_total_;
    }
    const auto latency = duration_cast<microseconds>(now - c.job.intended).count();
    // What the gateway answers each kind (docs/security.md): a forged request 401, or 429 once
    // the source's failure budget (limits.auth_failures_per_source) is spent; a signed but
    // unparseable body 400 (quarantined; 200 where the platform never retries), or 503 once the
    // channel's quarantine quota is full.
    int expected = 200;
    int also = 200;
    if (reference_) {
      // A reference server (nginx, a framework) does not validate: 200 is success for all kinds.
    } else if (w.kind == request_kind::bad_signature) {
      expected = 401;
      also = 429;
    } else if (w.kind == request_kind::malformed) {
      expected = quarantine_ok ? 200 : 400;
      also = 503;
    }
    const bool as_expected = status == expected || status == also;
    if (!as_expected) {
      ++r_.unexpected_status[std::string(to_string(w.kind)) + " " + w.type + " -> " + key];
      ++r_.unexpected_by_status[key];
    }
    timeline_.record(second, status, as_expected, latency);
    if (c.job.intended >= measure_from_ && c.job.intended < end_) {
      ++r_.measured;
      ++(as_expected ? r_.expected : r_.unexpected);
      ++r_.by_status[key];
      ++r_.by_kind[to_string(w.kind)];
      r_.ack.record(latency);
      window_.record(latency);
    }
  }

  void maybe_finish() {
    if (issuing_done_ && in_flight_ == 0 && queue_.empty() && !finished_) {
      finished_ = true;
      progress_.cancel();
      tick_.cancel();
    }
  }

  void schedule_progress() {
    progress_.expires_after(std::chrono::seconds(1));
    progress_.async_wait([this](beast::error_code ec) {
      if (ec) {
        return;
      }
      const auto t = duration<double>(clock::now() - start_).count();
      std::uint64_t seen = 0;
      {
        std::lock_guard<std::mutex> lock(st_.mu);
        seen = st_.seen_events;
      }
      std::fprintf(stderr,
                   "[%5.1fs]%s sent=%llu 200/s=%llu in_flight=%d queued=%zu non200=%llu "
                   "p99(last 1s)=%.2fms max=%.2fms stream_events=%llu\n",
                   t, clock::now() < measure_from_ ? " warm-up" : "",
                   static_cast<unsigned long long>(r_.sent),
                   static_cast<unsigned long long>(ok_this_second_), in_flight_, queue_.size(),
                   static_cast<unsigned long long>(errors_total_),
                   static_cast<double>(window_.percentile(99)) / 1000.0,
                   static_cast<double>(window_.max()) / 1000.0,
                   static_cast<unsigned long long>(seen));
      ok_this_second_ = 0;
      window_ = histogram{};
      schedule_progress();
    });
  }

  const scenario& s_;
  generator& gen_;
  endpoint_spec ep_;
  shared_state& st_;
  run_result& r_;
  bool reference_ = false;
  asio::io_context ioc_;
  tcp::resolver::results_type endpoints_;
  asio::steady_timer progress_;
  asio::steady_timer tick_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::deque<pending> queue_;
  clock::time_point start_;
  clock::time_point measure_from_;
  clock::time_point end_;
  std::uint64_t issued_ = 0;
  int in_flight_ = 0;
  bool issuing_done_ = false;
  bool finished_ = false;
  std::uint64_t ok_this_second_ = 0;
  std::uint64_t errors_total_ = 0;
  histogram window_;
  timeline timeline_;
};

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_args(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) {
    std::cerr << "switchboard-loadtest: bad arguments:\n" << parsed.err().message << "\n\n"
              << usage_text();
    return 2;
  }
  const options opt = std::move(parsed).value();
  const std::string& scenario_path = opt.scenario_path;
  auto loaded = load_scenario(scenario_path);
  if (!loaded) {
    std::cerr << loaded.err().message << "\n";
    return 2;
  }
  scenario s = std::move(loaded).value();
  apply(opt, s);
  const std::string& out_prefix = opt.out_prefix;
  const bool no_stream = opt.no_stream;
  const bool reference = opt.reference;
  const int fanout = opt.fanout;
  const int visitor_count = opt.visitor_streams;
  const auto ep = parse_url(s.gateway_url);
  if (!ep) {
    std::cerr << "gateway must be http://host:port, not " << s.gateway_url << "\n";
    return 2;
  }
  const auto cfg = sb::config::load_file(s.config_path, sb::adapters::schemas());
  if (!cfg.ok()) {
    std::cerr << s.config_path << ":\n" << cfg.errors.to_string() << "\n";
    return 2;
  }
  auto targets = targets_from(*cfg.cfg, s);
  if (!targets) {
    std::cerr << targets.err().message << "\n";
    return 2;
  }

  run_result r;
  r.scenario_path = scenario_path;
  r.hints = hints_from(*cfg.cfg, targets.value(), s.config_path);
  {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    r.started_at = buf;
  }
  r.gateway_url = s.gateway_url;
  r.mode = s.mode == loop_mode::open ? "open" : "closed";
  r.target_rate = s.mode == loop_mode::open ? s.rate : 0;
  r.connections = s.connections;
  r.warmup_s = s.warmup_s;
  if (no_stream) {
    s.stream_tokens.clear();
  } else {
    r.metrics_before = scrape(*ep, "/metrics");
  }

  shared_state st;
  std::vector<std::unique_ptr<sse_reader>> readers;
  std::string notes;
  std::map<std::string, std::uint64_t> heads;
  for (const auto& [tenant, token] : s.stream_tokens) {
    auto before = read_store_head(*ep, tenant, token);
    heads[tenant] = before.head > 0 ? static_cast<std::uint64_t>(before.head) : 0;
    r.store.push_back(before);
    if (before.head > 0) {
      std::fprintf(stderr,
                   "%lld events were already stored before the run (tenant %s): not counted, "
                   "the stream starts after seq %lld\n",
                   static_cast<long long>(before.head), tenant.c_str(),
                   static_cast<long long>(before.head));
    } else if (before.head < 0) {
      std::fprintf(stderr, "tenant %s: %s\n", tenant.c_str(), before.note.c_str());
    }
    auto rd = std::make_unique<sse_reader>(*ep, tenant, token, heads[tenant], st);
    if (!rd->start()) {
      notes += rd->error() + "; ";
      continue;
    }
    readers.push_back(std::move(rd));
  }
  // Only channels of tenants whose stream is watched can be loss-checked; the others are still
  // driven but their ids would all count as missing, so the check needs every tenant's token.
  bool all_watched = !readers.empty();
  for (const auto& t : targets.value()) {
    if (s.stream_tokens.count(t.tenant) == 0) {
      all_watched = false;
      notes += "no stream_tokens entry for tenant " + t.tenant + "; ";
    }
  }
  std::unique_ptr<fanout_readers> fan;
  if (fanout > 0 && !readers.empty()) {
    fan = std::make_unique<fanout_readers>(*ep, readers.front()->tenant(),
                                           s.stream_tokens.at(readers.front()->tenant()),
                                           heads[readers.front()->tenant()]);
    r.fanout.tenant = fan->tenant();
    if (!fan->start(fanout)) {
      r.fanout.error = fan->error();
      fan.reset();
    }
  } else if (fanout > 0) {
    r.fanout.error = "no watched stream to fan out (stream_tokens, --no-stream)";
  }
  std::unique_ptr<visitor_streams> visitors;
  if (visitor_count > 0) {
    visitors = std::make_unique<visitor_streams>(*ep, *cfg.cfg);
    r.visitors.channel = visitors->name();
    const auto t0 = clock::now();
    if (!visitors->start(visitor_count)) {
      r.visitors.error = visitors->error();
    }
    r.visitors.open_s = duration<double>(clock::now() - t0).count();
    std::fprintf(stderr, "%d visitor streams open in %.1f s\n", visitors->streams(),
                 r.visitors.open_s);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let replayed events arrive
  // Warn before the run when the config's limits are sure to refuse part of it.
  for (const auto& t : cfg.cfg->tenants) {
    const auto& limit = t.rate_limit;
    const bool targeted = std::any_of(targets.value().begin(), targets.value().end(),
                                      [&](const target& x) { return x.tenant == t.id; });
    if (!targeted || limit.rps <= 0 || (s.mode == loop_mode::open && s.rate <= limit.rps)) {
      continue;
    }
    std::fprintf(stderr, "warning: tenant %s has rate_limit %g rps in %s: %s\n", t.id.c_str(),
                 limit.rps, s.config_path.c_str(),
                 s.mode == loop_mode::closed
                     ? "a closed loop sends as fast as the gateway answers and will likely "
                       "exceed it (429); use --rate below it"
                     : "this run's rate is above it (429)");
  }

  const auto run_id =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  generator gen(s, targets.value(), run_id);
  client cl(s, gen, *ep, st, r, reference);
  cl.run();

  if (all_watched && notes.empty()) {
    std::fprintf(stderr, "load done; draining the stream (up to %.0f s)\n", s.drain_s);
    const auto deadline =
        clock::now() + duration_cast<clock::duration>(duration<double>(s.drain_s));
    while (clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(st.mu);
        const bool fan_done = !fan || fan->range().first >= readers.front()->events();
        if (st.loss.outstanding() == 0 && fan_done) {
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    // A short grace so late duplicates (if the gateway emitted any) are caught too.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (fan) {
    fan->stop();
    r.fanout.streams = fan->streams();
    r.fanout.expected = readers.front()->events();
    std::tie(r.fanout.fewest, r.fanout.most) = fan->range();
    r.fanout.error = fan->error();
  }
  if (visitors) {
    visitors->stop();
    r.visitors.streams = visitors->streams();
    r.visitors.events = visitors->events();
    if (r.visitors.error.empty()) {
      r.visitors.error = visitors->error();
    }
  }
  for (auto& rd : readers) {
    rd->stop();
    if (!rd->error().empty()) {
      notes += rd->error() + "; ";
    }
  }
  {
    std::lock_guard<std::mutex> lock(st.mu);
    r.stream_checked = all_watched && notes.empty();
    r.stream_note = no_stream ? "skipped (--no-stream)"
                    : notes.empty() ? (s.stream_tokens.empty() ? "no stream_tokens" : "")
                                    : notes;
    r.loss = st.loss.check();
    r.e2e = st.e2e;
  }
  if (!no_stream) {
    r.metrics_after = scrape(*ep, "/metrics");
  }

  const auto summary = render_summary(r);
  std::cout << summary;
  std::ofstream(out_prefix + ".json") << render_json(r);
  std::ofstream(out_prefix + ".html") << render_html(r);
  std::cout << "reports: " << out_prefix << ".json " << out_prefix << ".html\n";
  std::cout << render_verdict(r, isatty(STDOUT_FILENO) == 1);
  return failure_reasons(r).empty() ? 0 : 1;
}

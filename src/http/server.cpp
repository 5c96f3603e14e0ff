// The HTTP server (src/http/server.hpp): the listeners, the I/O threads and start/stop, in the
// manner of Beast's advanced server. The one translation unit with Beast and Asio in the HTTP
// layer (they are heavy to compile): the sessions are headers included here only
// (http_session.hpp, sse_session.hpp, server_core.hpp); what a request gets is plain code in
// dispatch.cpp, routes.cpp and router.cpp.
#include "http/server.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/http_session.hpp"

namespace sb::http {

using namespace detail;

namespace {

/// How long `stop()` waits for connections it force-closed after the grace period.
constexpr milliseconds force_close_wait{1000};

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

  void reconfigure(std::shared_ptr<const config::config> cfg) { core_.reconfigure(std::move(cfg)); }

  std::uint16_t port() const noexcept { return listeners_.front()->bound.port(); }
  std::size_t idle_connections() { return core_.idle_count(); }
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
      spawn<http_session<tls_stream>>(admitted, l.metrics_only, peer, std::move(socket), *tls_);
    } else {
      spawn<http_session<plain_stream>>(admitted, l.metrics_only, peer, std::move(socket));
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
std::size_t server::idle_connections() const {
  return impl_->idle_connections();
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
void server::reconfigure(std::shared_ptr<const config::config> cfg) {
  impl_->reconfigure(std::move(cfg));
}

}  // namespace sb::http

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "http/server.hpp"
#include "store/event_log.hpp"
#include "http_test_support.hpp"

using namespace sb::test_http;

namespace {

/// A self-signed P-256 certificate for "localhost" written to a fresh temporary directory.
struct self_signed {
  self_signed() {
    char tmpl[] = "/tmp/sb-tls-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir = tmpl;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";

    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    bool signed_ok = X509_sign(x, pkey, EVP_sha256()) > 0;

    FILE* kf = std::fopen(key.c_str(), "w");
    FILE* cf = std::fopen(cert.c_str(), "w");
    bool written = kf != nullptr && cf != nullptr &&
                   PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                   PEM_write_X509(cf, x) == 1;
    if (kf != nullptr) {
      std::fclose(kf);
    }
    if (cf != nullptr) {
      std::fclose(cf);
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    if (!signed_ok || !written) {
      throw std::runtime_error("cannot create a test certificate");
    }
  }
  ~self_signed() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::string dir, cert, key;
};

/// A blocking TLS client on a plain socket; reads are bounded by SO_RCVTIMEO.
class tls_client {
 public:
  /// `max_version` 0 = library default.
  tls_client(std::uint16_t port, int max_version = 0) : tcp_(port) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // self-signed test certificate
    if (max_version != 0) {
      SSL_CTX_set_security_level(ctx_, 0);  // let the client offer old versions
      SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_, max_version);
    }
    ssl_ = SSL_new(ctx_);
    timeval tv{5, 0};
    ::setsockopt(tcp_.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_set_fd(ssl_, tcp_.fd());
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~tls_client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  bool connected() const { return connected_; }
  int version() const { return SSL_version(ssl_); }

  bool send(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }

  /// Reads until `marker` arrives (true) or the stream ends or times out (false).
  bool read_until(const std::string& marker) {
    while (received.find(marker) == std::string::npos) {
      char chunk[4096];
      int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n <= 0) {
        return false;
      }
      received.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  /// True when the server ends the connection cleanly (close_notify) before the timeout.
  bool ended_by_peer() {
    for (;;) {
      char chunk[512];
      int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n > 0) {
        received.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      int err = SSL_get_error(ssl_, n);
      return err == SSL_ERROR_ZERO_RETURN ||
             (err == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
    }
  }

  std::string received;

 private:
  class raw_socket {
   public:
    explicit raw_socket(std::uint16_t port) {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error("connect() failed");
      }
    }
    ~raw_socket() { ::close(fd_); }
    int fd() const { return fd_; }

   private:
    int fd_ = -1;
  };

  raw_socket tcp_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
};

std::shared_ptr<sb::config::config> tls_config(const self_signed& files) {
  auto cfg = make_config();
  cfg->server.tls.cert = files.cert;
  cfg->server.tls.key = files.key;
  return cfg;
}

}  // namespace

TEST_CASE("with server.tls the server speaks TLS 1.2 or newer", "[http]") {
  self_signed files;
  fake_gateway gateway;
  sb::http::server server(tls_config(files), gateway);
  server.start();
  REQUIRE(server.tls());

  tls_client c(server.port());
  REQUIRE(c.connected());
  CHECK(c.version() >= TLS1_2_VERSION);
  REQUIRE(c.send(get("/healthz")));
  REQUIRE(c.read_until(R"({"status":"ok"})"));
  CHECK(c.received.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(c.received.find("Server: switchboard") != std::string::npos);
}

TEST_CASE("a TLS 1.1 client is refused", "[http]") {
  self_signed files;
  fake_gateway gateway;
  sb::http::server server(tls_config(files), gateway);
  server.start();
  tls_client old(server.port(), TLS1_1_VERSION);
  CHECK_FALSE(old.connected());
}

TEST_CASE("SSE over TLS delivers frames and a disconnect cancels the stream", "[http]") {
  self_signed files;
  fake_gateway gateway;
  sb::http::server server(tls_config(files), gateway);
  server.start();
  {
    tls_client c(server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-acme\r\n")));
    REQUIRE(c.read_until("\r\n\r\n"));
    CHECK(c.received.find("Content-Type: text/event-stream") != std::string::npos);
    auto request = gateway.stream_at(0);
    // Two shared frames in one write, through TLS.
    REQUIRE(request.sink->write({sb::store::share({1, "message", "c1", "", "{}"}),
                                 sb::store::share({2, "message", "c1", "", "{\"n\":2}"})},
                                [] {}));
    REQUIRE(c.read_until("data: {\"n\":2}\n\n"));
    CHECK(c.received.find("id: 1\nevent: message\ndata: {}\n\nid: 2\n") != std::string::npos);
  }
  CHECK(gateway.wait_cancels(1));
}

TEST_CASE("the gateway closing a TLS stream ends the connection", "[http]") {
  self_signed files;
  fake_gateway gateway;
  sb::http::server server(tls_config(files), gateway);
  server.start();
  tls_client c(server.port());
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/v1/stream", "Authorization: Bearer tok-acme\r\n")));
  REQUIRE(c.read_until("\r\n\r\n"));
  auto request = gateway.stream_at(0);
  request.sink->write({sb::store::share({1, "message", "c1", "", "\"bye\""})}, [] {});
  request.sink->close();
  CHECK(c.ended_by_peer());
  CHECK(c.received.find("data: \"bye\"\n\n") != std::string::npos);
}

TEST_CASE("unusable TLS files are a clear start-up error", "[http]") {
  auto cfg = make_config();
  cfg->server.tls.cert = "/nonexistent/cert.pem";
  cfg->server.tls.key = "/nonexistent/key.pem";
  fake_gateway gateway;
  try {
    sb::http::server server(cfg, gateway);
    FAIL("a server started with missing TLS files");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("server.tls.cert") != std::string::npos);
  }
}

#include "delivery/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/ip.hpp"
#include "core/log.hpp"

namespace sb::delivery {

namespace {

/// One request while it is queued or running. Owned by the client; `easy` points back to it
/// through CURLOPT_PRIVATE.
struct transfer {
  http_client::request req;
  http_client::callback cb;
  http_client::response res;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* rcpt = nullptr;  // SMTP: RCPT TO addresses
  bool smtp = false;
  std::size_t upload_at = 0;  // SMTP: bytes of `req.body` handed to curl so far
  std::size_t header_bytes = 0;
  std::size_t max_body = 0;
  std::size_t max_headers = 0;
  char errbuf[CURL_ERROR_SIZE] = {};

  ~transfer() {
    curl_slist_free_all(headers);
    curl_slist_free_all(rcpt);
  }
};

/// Whether `url`'s scheme is smtp or smtps (case-insensitive, as curl reads schemes).
bool is_smtp_url(std::string_view url) {
  auto colon = url.find("://");
  if (colon == std::string_view::npos) {
    return false;
  }
  std::string scheme(url.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return scheme == "smtp" || scheme == "smtps";
}

/// SMTP DATA: hands curl the message from `req.body` (curl dot-stuffs it as it sends).
std::size_t on_upload(char* buffer, std::size_t size, std::size_t n, void* userp) {
  auto* t = static_cast<transfer*>(userp);
  const auto& body = t->req.body;
  const std::size_t len = std::min(size * n, body.size() - t->upload_at);
  std::copy_n(body.data() + t->upload_at, len, buffer);
  t->upload_at += len;
  return len;
}

/// SMTP: curl passes each reply line of the server to the header callback. The last one is
/// kept as the body, or the first rejection (4xx, 5xx): the server's reason ("550 5.1.1 No such
/// user"), not the "221 Bye" of the QUIT curl sends after it.
std::size_t on_smtp_reply(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* t = static_cast<transfer*>(userp);
  const std::size_t len = size * n;
  const auto& kept = t->res.body;
  if (!kept.empty() && (kept.front() == '4' || kept.front() == '5')) {
    return len;
  }
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.remove_suffix(1);
  }
  t->res.body.assign(line.substr(0, t->max_body));
  return len;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* t = static_cast<transfer*>(userp);
  const std::size_t len = size * n;
  const std::size_t keep = std::min(len, t->max_body - std::min(t->max_body, t->res.body.size()));
  t->res.body.append(data, keep);
  if (keep < len) {
    t->res.truncated = true;
  }
  return len;  // read the rest and drop it: the connection stays reusable
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* t = static_cast<transfer*>(userp);
  const std::size_t len = size * n;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response begins (after a 1xx): only the final one's headers count.
    t->res.headers.clear();
    t->header_bytes = 0;
    return len;
  }
  t->header_bytes += len;
  auto colon = line.find(':');
  if (colon == std::string_view::npos || t->header_bytes > t->max_headers) {
    return len;
  }
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' ||
                            value.back() == '\t')) {
    value.remove_suffix(1);
  }
  t->res.headers.emplace_back(std::move(name), std::string(value));
  return len;
}

http_client::failure failure_of(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return http_client::failure::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return http_client::failure::connect;
    default:
      return http_client::failure::other;
  }
}

void invoke(http_client::callback& cb, http_client::response res) {
  // A callback is the caller's code on our thread: an exception must not end the thread.
  try {
    cb(std::move(res));
  } catch (const std::exception& e) {
    log::error("http_client", "a completion callback threw: ", e.what());
  } catch (...) {
    log::error("http_client", "a completion callback threw");
  }
}

http_client::response cancelled() {
  http_client::response r;
  r.fail = http_client::failure::cancelled;
  r.cause = failure_cause::cancelled;
  r.error = "cancelled: the client stopped";
  return r;
}

}  // namespace

std::string_view to_string(failure_cause c) {
  switch (c) {
    case failure_cause::none:
      return "none";
    case failure_cause::dns:
      return "dns";
    case failure_cause::refused:
      return "refused";
    case failure_cause::tls:
      return "tls";
    case failure_cause::timeout:
      return "timeout";
    case failure_cause::cancelled:
      return "cancelled";
    case failure_cause::other:
      return "other";
  }
  return "other";
}

failure_cause cause_of_curl_code(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_OK:
      return failure_cause::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return failure_cause::dns;
    case CURLE_COULDNT_CONNECT:
      return failure_cause::refused;
    case CURLE_OPERATION_TIMEDOUT:
      return failure_cause::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return failure_cause::tls;
    default:
      return failure_cause::other;
  }
}

std::string describe_failure(failure_cause c, std::string_view message) {
  if (c == failure_cause::other || c == failure_cause::none) {
    return std::string(message);
  }
  std::string out(to_string(c));
  out.append(": ").append(message);
  return out;
}

std::optional<std::string_view> http_client::response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

struct http_client::impl {
  options opts;
  CURLM* multi = nullptr;
  std::thread thread;

  mutable std::mutex mutex;  // guards queue, active_count, stopping
  std::deque<std::unique_ptr<transfer>> queue;
  std::size_t active_count = 0;
  bool stopping = false;

  // Client thread only.
  std::unordered_map<CURL*, std::unique_ptr<transfer>> active;
  std::vector<CURL*> idle_easy;

  ~impl() {
    for (CURL* e : idle_easy) {
      curl_easy_cleanup(e);
    }
    if (multi != nullptr) {
      curl_multi_cleanup(multi);
    }
  }

  void run() {
    for (;;) {
      std::vector<std::unique_ptr<transfer>> starting;
      {
        std::lock_guard lock(mutex);
        if (stopping) {
          break;
        }
        while (active_count < opts.max_active && !queue.empty()) {
          starting.push_back(std::move(queue.front()));
          queue.pop_front();
          ++active_count;
        }
      }
      for (auto& t : starting) {
        begin(std::move(t));
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      collect();
      // Waits for socket activity, curl's own timers (it shortens the wait to them) or a
      // wakeup from submit/stop.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    cancel_all();
  }

  void begin(std::unique_ptr<transfer> t) {
    CURL* e = nullptr;
    if (!idle_easy.empty()) {
      e = idle_easy.back();
      idle_easy.pop_back();
    } else {
      e = curl_easy_init();
    }
    if (e == nullptr) {
      fail(std::move(t), "cannot create a transfer");
      return;
    }
    t->easy = e;
    t->max_body = opts.max_response_body;
    t->max_headers = opts.max_response_headers;
    const auto& req = t->req;
    const long timeout = static_cast<long>(std::max<std::int64_t>(req.timeout.count(), 1));
    const long connect = std::min(timeout, static_cast<long>(opts.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::max(connect, 1L));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    t->smtp = is_smtp_url(req.url);
    if (t->smtp) {
      begin_smtp(*t);
    } else {
      begin_http(*t);
    }
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
      fail(std::move(t), "cannot start the transfer");
      return;
    }
    active.emplace(e, std::move(t));
  }

  /// The HTTP part of `begin`: method, body, headers.
  void begin_http(transfer& t) {
    CURL* e = t.easy;
    const auto& req = t.req;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
    if (req.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      if (req.method != "POST") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      }
      if (req.method == "POST" || !req.body.empty()) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
      }
    }
    for (const auto& [name, value] : req.headers) {
      t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
    }
    // No "Expect: 100-continue" round trip before large bodies.
    t.headers = curl_slist_append(t.headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  }

  /// Whether the smtp:// or smtps:// URL names a server on this host.
  static bool loopback_server(const std::string& url) {
    auto host = std::string_view(url);
    host.remove_prefix(std::min(host.size(), host.find("://") + 3));
    host = host.substr(0, host.find('/'));
    if (const auto at = host.rfind('@'); at != std::string_view::npos) {
      host.remove_prefix(at + 1);
    }
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') - 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    return ip::is_loopback_host(host);
  }

  /// The SMTP part of `begin`: the envelope, the login, the message as the upload.
  static void begin_smtp(transfer& t) {
    CURL* e = t.easy;
    const auto& req = t.req;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_smtp_reply);
    // smtp://: STARTTLS when the server offers it, plain text when it does not (smtps:// is TLS
    // from the start whatever this says). A login is never sent in clear to another machine: with
    // one, TLS is required unless the server is on this host (a local relay), so a server, or a
    // man in the middle, that does not offer STARTTLS fails the transfer instead.
    const bool login = !req.user.empty();
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     static_cast<long>(login && !loopback_server(req.url) ? CURLUSESSL_ALL
                                                                           : CURLUSESSL_TRY));
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, req.mail_from.c_str());
    for (const auto& to : req.mail_rcpt) {
      t.rcpt = curl_slist_append(t.rcpt, to.c_str());
    }
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t.rcpt);
    if (!req.user.empty()) {
      curl_easy_setopt(e, CURLOPT_USERNAME, req.user.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, req.password.c_str());
    }
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(e, CURLOPT_READDATA, &t);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }

  void collect() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* e = m->easy_handle;
      const CURLcode rc = m->data.result;
      curl_multi_remove_handle(multi, e);
      auto it = active.find(e);
      if (it == active.end()) {
        continue;
      }
      auto t = std::move(it->second);
      active.erase(it);
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      if (rc == CURLE_OK) {
        t->res.status = static_cast<int>(status);
      } else if (t->smtp && status >= 400) {
        // The server said no (to the greeting, MAIL, RCPT or DATA): curl fails the transfer,
        // but it is a complete answer; its code says whether a retry can help.
        t->res.status = static_cast<int>(status);
      } else {
        // An incomplete response counts as none: the caller retries (at-least-once).
        t->res.status = 0;
        t->res.fail = failure_of(rc);
        t->res.cause = cause_of_curl_code(rc);
        t->res.error =
            describe_failure(t->res.cause, t->errbuf[0] != '\0' ? std::string_view(t->errbuf)
                                                                : curl_easy_strerror(rc));
      }
      recycle(e);
      t->easy = nullptr;
      finish(std::move(t));
    }
  }

  void recycle(CURL* e) {
    if (idle_easy.size() < opts.max_active) {
      curl_easy_reset(e);
      idle_easy.push_back(e);
    } else {
      curl_easy_cleanup(e);
    }
  }

  void fail(std::unique_ptr<transfer> t, const char* why) {
    if (t->easy != nullptr) {
      curl_easy_cleanup(t->easy);
      t->easy = nullptr;
    }
    t->res.fail = http_client::failure::other;
    t->res.cause = failure_cause::other;
    t->res.error = why;
    finish(std::move(t));
  }

  void finish(std::unique_ptr<transfer> t) {
    {
      std::lock_guard lock(mutex);
      --active_count;
    }
    invoke(t->cb, std::move(t->res));
  }

  void cancel_all() {
    for (auto& [e, t] : active) {
      curl_multi_remove_handle(multi, e);
      curl_easy_cleanup(e);
      invoke(t->cb, cancelled());
    }
    active.clear();
    std::deque<std::unique_ptr<transfer>> rest;
    {
      std::lock_guard lock(mutex);
      rest.swap(queue);
      active_count = 0;
    }
    for (auto& t : rest) {
      invoke(t->cb, cancelled());
    }
  }
};

result<std::unique_ptr<http_client>> http_client::start(options opts) {
  static std::once_flag global_init;
  static CURLcode global_rc = CURLE_OK;
  std::call_once(global_init, [] { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_rc != CURLE_OK) {
    return {errc::internal, std::string("libcurl: ") + curl_easy_strerror(global_rc)};
  }
  auto i = std::make_unique<impl>();
  i->opts = std::move(opts);
  i->opts.max_active = std::max<std::size_t>(i->opts.max_active, 1);
  i->multi = curl_multi_init();
  if (i->multi == nullptr) {
    return {errc::internal, "libcurl: cannot create a multi handle"};
  }
  curl_multi_setopt(i->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(i->opts.max_active));
  curl_multi_setopt(i->multi, CURLMOPT_MAX_HOST_CONNECTIONS, i->opts.max_host_connections);
  auto* raw = i.get();
  i->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<http_client>(new http_client(std::move(i)));
}

http_client::http_client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

http_client::~http_client() {
  stop();
}

status http_client::submit(request req, callback cb) {
  if (req.url.empty()) {
    return {errc::bad_request, "request without a URL"};
  }
  auto t = std::make_unique<transfer>();
  t->req = std::move(req);
  t->cb = std::move(cb);
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) {
    return {errc::unavailable, "the HTTP client is stopped"};
  }
  if (impl_->queue.size() + impl_->active_count >=
      impl_->opts.max_active + impl_->opts.max_queued) {
    return {errc::overloaded, "too many HTTP requests pending"};
  }
  impl_->queue.push_back(std::move(t));
  curl_multi_wakeup(impl_->multi);
  return {};
}

std::size_t http_client::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queue.size() + impl_->active_count;
}

void http_client::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    curl_multi_wakeup(impl_->multi);
  }
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

}  // namespace sb::delivery

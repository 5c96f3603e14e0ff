#include "support/http_client.hpp"

#include "support/contract_log.hpp"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace sb::test {

namespace {

using clock = std::chrono::steady_clock;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  return s.substr(i);
}

/// Collects response headers; a new status line (after a 1xx) starts over.
void on_header_line(header_list& headers, const char* data, std::size_t size) {
  std::string line(data, size);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) {
    return;
  }
  headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
}

std::size_t collect_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t collect_header(char* data, std::size_t size, std::size_t n, void* user) {
  on_header_line(*static_cast<header_list*>(user), data, size * n);
  return size * n;
}

struct slist {
  curl_slist* list = nullptr;
  ~slist() { curl_slist_free_all(list); }
  void add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) {
      throw std::runtime_error("curl_slist_append failed");
    }
    list = next;
  }
};

struct easy {
  CURL* h;
  easy() : h(curl_easy_init()) {
    if (h == nullptr) {
      throw std::runtime_error("curl_easy_init failed");
    }
  }
  ~easy() { curl_easy_cleanup(h); }
};

}  // namespace

std::string http_result::header(const std::string& name) const {
  auto key = lower(name);
  for (const auto& h : headers) {
    if (h.first == key) {
      return h.second;
    }
  }
  return {};
}

http_result request(const std::string& method, const std::string& url, const header_list& headers,
                    const std::string& body, std::chrono::milliseconds timeout) {
  global_init();
  easy e;
  http_result r;
  slist hs;
  for (const auto& h : headers) {
    hs.add(h.first + ": " + h.second);
  }
  hs.add("Expect:");  // no 100-continue round trip
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, hs.list);
  curl_easy_setopt(e.h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &r.headers);
  bool sends_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "GET" && !sends_body) {
    curl_easy_setopt(e.h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(e.h, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") {
      curl_easy_setopt(e.h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (sends_body) {
      curl_easy_setopt(e.h, CURLOPT_POST, 1L);
      curl_easy_setopt(e.h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(e.h, CURLOPT_POSTFIELDS, body.data());
    }
  }
  CURLcode rc = curl_easy_perform(e.h);
  if (rc != CURLE_OK) {
    throw std::runtime_error(method + " " + url + " failed: " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &r.status);
  contract::record_http(method, url, r.status, r.headers, r.body);
  return r;
}

// ---- SSE ----------------------------------------------------------------------------------------

struct sse_client::state {
  std::string url;
  header_list headers;

  mutable std::mutex m;
  std::condition_variable cv;
  std::vector<sse_frame> frames;
  std::size_t comments = 0;
  long status = 0;
  std::string content_type;
  bool head_done = false;
  bool finished = false;
  std::string error;  ///< non-stream body or curl error
  curl_socket_t socket = CURL_SOCKET_BAD;
  std::atomic<bool> stopping{false};

  // Parser state (only the transfer thread touches it).
  header_list head;
  std::string pending;
  sse_frame current;
  bool has_data = false;

  bool is_stream() const {
    return status == 200 && lower(content_type).find("text/event-stream") != std::string::npos;
  }

  void on_line(std::string line) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty()) {
      if (has_data) {
        if (!current.data.empty() && current.data.back() == '\n') {
          current.data.pop_back();
        }
        contract::record_sse(url, status, current.event, current.id, current.data, head);
        std::lock_guard<std::mutex> lock(m);
        frames.push_back(std::move(current));
        cv.notify_all();
      }
      current = sse_frame{};
      has_data = false;
      return;
    }
    if (line[0] == ':') {
      std::lock_guard<std::mutex> lock(m);
      ++comments;
      return;
    }
    std::string name = line;
    std::string value;
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      name = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') {
        value.erase(0, 1);
      }
    }
    if (name == "id") {
      current.id = value;
    } else if (name == "event") {
      current.event = value;
    } else if (name == "data") {
      current.data += value;
      current.data += '\n';
      has_data = true;
    }
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<state*>(user);
    std::size_t len = size * n;
    if (s->stopping.load()) {
      return 0;
    }
    bool stream;
    {
      std::lock_guard<std::mutex> lock(s->m);
      stream = s->is_stream();
      if (!stream) {
        s->error.append(data, len);
        return len;
      }
    }
    s->pending.append(data, len);
    std::size_t start = 0;
    for (;;) {
      auto nl = s->pending.find('\n', start);
      if (nl == std::string::npos) {
        break;
      }
      s->on_line(s->pending.substr(start, nl - start));
      start = nl + 1;
    }
    s->pending.erase(0, start);
    return len;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<state*>(user);
    std::size_t len = size * n;
    std::string line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      auto sp = line.find(' ');
      long code = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
      std::lock_guard<std::mutex> lock(s->m);
      s->status = code;
    } else if (line == "\r\n" || line == "\n") {
      std::lock_guard<std::mutex> lock(s->m);
      if (s->status >= 200) {
        s->head_done = true;
        s->cv.notify_all();
      }
    } else {
      on_header_line(s->head, data, len);
      if (!s->head.empty() && s->head.back().first == "content-type") {
        std::lock_guard<std::mutex> lock(s->m);
        s->content_type = s->head.back().second;
      }
    }
    return len;
  }

  static curl_socket_t open_socket(void* user, curlsocktype, curl_sockaddr* addr) {
    auto* s = static_cast<state*>(user);
    curl_socket_t fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    std::lock_guard<std::mutex> lock(s->m);
    s->socket = fd;
    if (s->stopping.load() && fd != CURL_SOCKET_BAD) {
      ::shutdown(fd, SHUT_RDWR);
    }
    return fd;
  }

  static int close_socket(void* user, curl_socket_t fd) {
    auto* s = static_cast<state*>(user);
    std::lock_guard<std::mutex> lock(s->m);
    if (s->socket == fd) {
      s->socket = CURL_SOCKET_BAD;
    }
    return ::close(fd);
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<state*>(user)->stopping.load() ? 1 : 0;
  }

  void run() {
    easy e;
    slist hs;
    for (const auto& h : headers) {
      hs.add(h.first + ": " + h.second);
    }
    hs.add("Accept: text/event-stream");
    curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, hs.list);
    curl_easy_setopt(e.h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e.h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e.h, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(e.h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e.h, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e.h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    curl_easy_setopt(e.h, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e.h, CURLOPT_XFERINFODATA, this);
    CURLcode rc = curl_easy_perform(e.h);
    std::lock_guard<std::mutex> lock(m);
    if (rc != CURLE_OK && !stopping.load()) {
      error += std::string(error.empty() ? "" : "; ") + "curl: " + curl_easy_strerror(rc);
    }
    finished = true;
    cv.notify_all();
  }
};

sse_client::sse_client(std::string url, header_list headers) : state_(std::make_shared<state>()) {
  global_init();
  state_->url = std::move(url);
  state_->headers = std::move(headers);
  auto s = state_;
  thread_ = std::thread([s] { s->run(); });
}

sse_client::~sse_client() {
  stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void sse_client::stop() {
  state_->stopping.store(true);
  std::lock_guard<std::mutex> lock(state_->m);
  if (state_->socket != CURL_SOCKET_BAD) {
    ::shutdown(state_->socket, SHUT_RDWR);
  }
}

long sse_client::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->m);
  state_->cv.wait_for(lock, timeout, [&] { return state_->head_done || state_->finished; });
  return state_->head_done ? state_->status : 0;
}

bool sse_client::wait_for(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->m);
  return state_->cv.wait_for(lock, timeout, [&] {
    return state_->frames.size() >= n || state_->finished;
  }) && state_->frames.size() >= n;
}

bool sse_client::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->m);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->finished; });
}

std::vector<sse_frame> sse_client::frames() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->frames;
}

std::size_t sse_client::comments() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->comments;
}

long sse_client::status() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->status;
}

std::string sse_client::content_type() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->content_type;
}

bool sse_client::finished() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->finished;
}

std::string sse_client::error_text() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->error;
}

// ---- JSON ---------------------------------------------------------------------------------------

class json_parser {
 public:
  explicit json_parser(const std::string& text) : s_(text) {}

  json document() {
    json v = value(0);
    skip_ws();
    if (pos_ != s_.size()) {
      fail("trailing characters");
    }
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string excerpt = s_.substr(0, 300);
    throw std::runtime_error("invalid JSON at offset " + std::to_string(pos_) + ": " + what +
                             " in: " + excerpt);
  }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  char peek() {
    skip_ws();
    if (pos_ >= s_.size()) {
      fail("unexpected end");
    }
    return s_[pos_];
  }

  void expect(char c) {
    if (peek() != c) {
      fail(std::string("expected '") + c + "'");
    }
    ++pos_;
  }

  void literal(const char* word) {
    std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) {
      fail("bad literal");
    }
    pos_ += w.size();
  }

  json value(int depth) {
    if (depth > 64) {
      fail("too deep");
    }
    json v;
    char c = peek();
    if (c == '{') {
      v.kind_ = json::kind::object;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        if (peek() != '"') {
          fail("expected a member name");
        }
        std::string key = string();
        expect(':');
        v.members_.emplace_back(std::move(key), value(depth + 1));
        char d = peek();
        ++pos_;
        if (d == '}') {
          return v;
        }
        if (d != ',') {
          fail("expected ',' or '}'");
        }
      }
    }
    if (c == '[') {
      v.kind_ = json::kind::array;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        v.items_.push_back(value(depth + 1));
        char d = peek();
        ++pos_;
        if (d == ']') {
          return v;
        }
        if (d != ',') {
          fail("expected ',' or ']'");
        }
      }
    }
    if (c == '"') {
      v.kind_ = json::kind::string;
      v.text_ = string();
      return v;
    }
    if (c == 't') {
      literal("true");
      v.kind_ = json::kind::boolean;
      v.bool_ = true;
      return v;
    }
    if (c == 'f') {
      literal("false");
      v.kind_ = json::kind::boolean;
      return v;
    }
    if (c == 'n') {
      literal("null");
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t start = pos_;
      if (s_[pos_] == '-') {
        ++pos_;
      }
      auto digits = [&] {
        std::size_t from = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
          ++pos_;
        }
        if (pos_ == from) {
          fail("expected a digit");
        }
      };
      digits();
      if (pos_ < s_.size() && s_[pos_] == '.') {
        ++pos_;
        digits();
      }
      if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
        ++pos_;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
          ++pos_;
        }
        digits();
      }
      v.kind_ = json::kind::number;
      v.text_ = s_.substr(start, pos_ - start);
      return v;
    }
    fail("unexpected character");
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) {
      fail("short \\u escape");
    }
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return v;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) {
        fail("unterminated string");
      }
      char c = s_[pos_++];
      if (c == '"') {
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("control character in string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) {
        fail("unterminated escape");
      }
      char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
            pos_ += 2;
            unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) {
              fail("bad surrogate pair");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

json json::parse(const std::string& text) {
  return json_parser(text).document();
}

const std::string& json::empty_text() {
  static const std::string empty;
  return empty;
}

const json& json::operator[](const std::string& key) const {
  static const json null_value;
  for (const auto& m : members_) {
    if (m.first == key) {
      return m.second;
    }
  }
  return null_value;
}

const json& json::operator[](std::size_t index) const {
  static const json null_value;
  return index < items_.size() ? items_[index] : null_value;
}

bool json::has(const std::string& key) const {
  for (const auto& m : members_) {
    if (m.first == key) {
      return true;
    }
  }
  return false;
}

std::size_t json::size() const {
  return kind_ == kind::array ? items_.size() : kind_ == kind::object ? members_.size() : 0;
}

std::uint64_t json::u64() const {
  if (kind_ != kind::number || text_.empty() ||
      text_.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error("not a non-negative integer: " +
                             (kind_ == kind::string ? "\"" + text_ + "\"" : text_));
  }
  return std::stoull(text_);
}

// ---- API helpers --------------------------------------------------------------------------------

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

json get_events(const std::string& base_url, const std::string& token, const std::string& query) {
  auto r = request("GET", base_url + "/v1/events?" + query, bearer(token));
  if (r.status != 200) {
    throw std::runtime_error("GET /v1/events?" + query + " answered " + std::to_string(r.status) +
                             ": " + r.body);
  }
  json j = json::parse(r.body);
  if (!j["events"].is_array()) {
    throw std::runtime_error("GET /v1/events?" + query + ": no events array in " + r.body);
  }
  return j;
}

}  // namespace sb::test

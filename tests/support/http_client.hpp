#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

/// End-to-end support: a blocking HTTP client and a Server-Sent Events reader on libcurl, and a
/// small JSON reader for response bodies. Tests only.
namespace sb::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_result {
  long status = 0;
  header_list headers;  ///< names lower-cased, in the order received
  std::string body;

  /// The first header with that (case-insensitive) name, or "".
  std::string header(const std::string& name) const;
};

/// One request over a fresh connection. Throws std::runtime_error on a transport failure
/// (connection refused, timeout), with curl's message. Never follows redirects. `body` is sent
/// as-is (binary safe) for any method when non-empty, and for POST/PUT/PATCH always.
http_result request(const std::string& method, const std::string& url,
                    const header_list& headers = {}, const std::string& body = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// One SSE frame.
struct sse_frame {
  std::string id;     ///< the `id:` field ("" when absent)
  std::string event;  ///< the `event:` field ("" when absent)
  std::string data;   ///< `data:` lines joined with '\n'
};

/// Reads one `text/event-stream` response on its own thread. Frames are parsed per the SSE
/// specification (fields id/event/data, comment lines ignored, CRLF or LF) and appended to a
/// list guarded by a mutex. The destructor stops the transfer and joins the thread.
class sse_client {
 public:
  sse_client(std::string url, header_list headers = {});
  ~sse_client();
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  /// Waits until the response head arrived (or the transfer ended). Returns the status
  /// (0 when none arrived in time or the connection failed).
  long wait_connected(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Waits until at least `n` frames were received. False on timeout or when the stream ended
  /// with fewer.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Waits until the server ended the stream (the transfer finished). False on timeout.
  bool wait_finished(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::vector<sse_frame> frames() const;
  std::size_t comments() const;  ///< comment lines (keep-alives) seen
  long status() const;
  std::string content_type() const;
  bool finished() const;
  /// The body when the response was not an event stream (e.g. a JSON error), or curl's error.
  std::string error_text() const;

  /// Stops the transfer now (idempotent).
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
  std::thread thread_;
};

/// A parsed JSON value. Numbers keep their exact source text (`number_text`), so ids above 2^53
/// can be compared exactly. Objects keep member order.
class json {
 public:
  enum class kind { null, boolean, number, string, array, object };

  /// Parses a complete JSON text; throws std::runtime_error (with the offset) when invalid.
  static json parse(const std::string& text);

  kind type() const { return kind_; }
  bool is_null() const { return kind_ == kind::null; }
  bool is_object() const { return kind_ == kind::object; }
  bool is_array() const { return kind_ == kind::array; }
  bool is_string() const { return kind_ == kind::string; }
  bool is_number() const { return kind_ == kind::number; }

  /// Member lookup; a shared null value when absent or when this is not an object.
  const json& operator[](const std::string& key) const;
  /// Element lookup; a shared null value when out of range or not an array.
  const json& operator[](std::size_t index) const;
  bool has(const std::string& key) const;
  /// Elements of an array / members of an object; 0 otherwise.
  std::size_t size() const;
  const std::vector<json>& items() const { return items_; }
  const std::vector<std::pair<std::string, json>>& members() const { return members_; }

  /// String value ("" unless a string).
  const std::string& str() const { return text_; }
  /// Number source text, e.g. "820982911946154508" ("" unless a number).
  const std::string& number_text() const { return kind_ == kind::number ? text_ : empty_text(); }
  /// Number as an unsigned integer; throws unless it is a non-negative integer literal.
  std::uint64_t u64() const;
  bool boolean() const { return bool_; }

 private:
  friend class json_parser;
  static const std::string& empty_text();
  kind kind_ = kind::null;
  bool bool_ = false;
  std::string text_;
  std::vector<json> items_;
  std::vector<std::pair<std::string, json>> members_;
};

// ---- Switchboard backend API (DESIGN §6), as the e2e tests call it ------------------------------

/// `Authorization: Bearer <token>`.
header_list bearer(const std::string& token);

/// GET <base>/v1/events?<query> with the token; requires 200 and a JSON body with an `events`
/// array, else throws with the status and body.
json get_events(const std::string& base_url, const std::string& token,
                const std::string& query = "after=0&limit=1000");

}  // namespace sb::test

#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "core/error.hpp"

/// Strict HTTP/1.1 message framing (RFC 9112 §6), as a pure function: no Beast, no I/O, any
/// thread. The session calls it once a request's header is parsed and before any of its body is
/// read; a fuzzing harness calls it directly.
///
/// Why strict: a request whose framing two parties read differently is how requests are smuggled
/// past a proxy (`Transfer-Encoding: chunked, identity` is "no body" to one reader and "chunked"
/// to another, so the bytes after the header become a second request to one of them). The only
/// transfer coding a request may use here is `chunked`, alone.
namespace sb::http {

namespace framing_detail {

inline bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

inline bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

}  // namespace framing_detail

/// Decides whether a request's framing is acceptable.
///
/// `transfer_encodings`: the raw values of every `Transfer-Encoding` field of the request, in
/// order (one element per field line). `has_content_length`: whether any `Content-Length` field
/// is present. `http_1_0`: the request line says HTTP/1.0.
///
/// Accepted: no `Transfer-Encoding` (the body is `Content-Length` bytes, or none); or exactly one
/// `Transfer-Encoding` field whose value, without surrounding whitespace, is `chunked` in any
/// case, with no `Content-Length`, in HTTP/1.1. Everything else is `errc::bad_request` (400, and
/// the connection is closed: after a framing error nothing that follows on it can be trusted):
/// - more than one `Transfer-Encoding` field, or a list (`chunked, identity`, `gzip, chunked`,
///   `chunked, chunked`), or any other coding (`identity`, `gzip`), or an empty value;
/// - `Transfer-Encoding` together with `Content-Length` (RFC 9112 §6.3 lets a server reject it or
///   drop the `Content-Length`; rejecting leaves no room for a disagreement);
/// - `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty).
inline status check_framing(const std::vector<std::string_view>& transfer_encodings,
                            bool has_content_length, bool http_1_0 = false) {
  if (transfer_encodings.empty()) {
    return {};
  }
  if (http_1_0) {
    return {errc::bad_request, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
  }
  if (has_content_length) {
    return {errc::bad_request, "a request may not carry both Transfer-Encoding and Content-Length"};
  }
  if (transfer_encodings.size() != 1) {
    return {errc::bad_request, "a request may carry one Transfer-Encoding field only"};
  }
  std::string_view v = transfer_encodings.front();
  while (!v.empty() && framing_detail::is_ows(v.front())) {
    v.remove_prefix(1);
  }
  while (!v.empty() && framing_detail::is_ows(v.back())) {
    v.remove_suffix(1);
  }
  if (!framing_detail::iequals_ascii(v, "chunked")) {
    return {errc::bad_request, "the only Transfer-Encoding accepted is 'chunked', alone"};
  }
  return {};
}

/// How many bytes the session asks the socket for when a request starts.
inline constexpr std::size_t first_read_size = 4096;

/// The bound of a connection's read buffer. Beast's parser limits the header
/// (`max_header_bytes`) and the body's data (`max_body_bytes`), but buffers a chunk header (the
/// size line with its extensions) and the trailer section until their end, and these count
/// against neither: bounding the buffer bounds them (a read past it fails with
/// `buffer_overflow`, answered 400). The slack above the header limit lets the parser's own
/// header check answer 431 first.
inline std::size_t read_buffer_limit(std::size_t max_header_bytes) {
  return std::max(max_header_bytes, first_read_size) + first_read_size;
}

}  // namespace sb::http

#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

/// What an HTTP request is answered with, as a plain value: the actors build it, the HTTP layer
/// writes it. No Beast here (and no CAF): this header and response.cpp form the small library
/// `sb_http_response` below the actors, so the actors can answer requests without the HTTP
/// layer's sessions, and the HTTP layer keeps its direction on top of the actors
/// (docs/architecture.md "Layers").
namespace sb::http {

struct response {
  int status = 200;
  std::string body;  ///< JSON unless content_type says otherwise
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra, e.g. Retry-After
  errc code = errc::ok;  ///< of an `error_response`: the HTTP layer counts rejections by it
};

/// Builds the JSON error body of the contract: {"error":"<code>","message":"<text>"} with the
/// status of `http_status(code)`; `retry_after_s` > 0 adds a Retry-After header.
response error_response(errc code, std::string_view message, int retry_after_s = 0);

/// The HTTP status for an error code: the one exhaustive mapping of `errc` to the wire.
int http_status(errc code) noexcept;

}  // namespace sb::http

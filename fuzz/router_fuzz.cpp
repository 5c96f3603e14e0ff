// The router and URL decoding: `http::match_route`, the query parsers of /v1/events, /v1/stream
// and the dead-letter API, the redrive body, and src/core/url.hpp.
//
// Input: lines `<method>\n<request-target>\n<Last-Event-ID>\n`, then a redrive body.
//
// Properties checked besides memory safety:
// - no route means 404 not_found, or 405 method_not_allowed with an Allow header;
// - a matched route has as many decoded parameters as its pattern has "{name}", and its method;
// - limits are within 1..max_limit; a redrive is `all` xor 1..max_limit positive ids;
// - decoding never lengthens a string, and leaves text without '%' ('+' for queries) as it is.

#include <string>

#include "common.hpp"
#include "core/url.hpp"
#include "http/router.hpp"
#include "http/routes.hpp"

namespace {

using namespace sb;

std::size_t placeholders(std::string_view pattern) {
  std::size_t n = 0;
  for (auto at = pattern.find('{'); at != std::string_view::npos; at = pattern.find('{', at + 1)) {
    ++n;
  }
  return n;
}

void check_decoding(std::string_view s) {
  if (auto d = url::decode(s)) {
    fuzz::require(d->size() <= s.size(), "url::decode lengthened its input");
    if (s.find('%') == std::string_view::npos && s.find('+') == std::string_view::npos) {
      fuzz::require(*d == s, "url::decode changed text without escapes");
    }
  }
  if (auto d = url::decode_segment(s)) {
    fuzz::require(d->size() <= s.size(), "url::decode_segment lengthened its input");
    if (s.find('%') == std::string_view::npos) {
      fuzz::require(*d == s, "url::decode_segment changed text without escapes");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fields in(fuzz::as_text(data, size));
  const std::string method(in.line());
  const std::string target(in.line());
  const std::string last_event_id(in.line());
  const std::string body(in.rest());

  auto r = http::match_route(method, target);
  if (r.def == nullptr) {
    fuzz::require(r.err.code == errc::not_found || r.err.code == errc::method_not_allowed,
                  "an unmatched route is neither 404 nor 405");
    fuzz::require(r.err.code != errc::method_not_allowed || !r.allow.empty(),
                  "a 405 without Allow");
  } else {
    fuzz::require(r.def->method == method, "a route matched with another method");
    fuzz::require(r.params.size() == placeholders(r.def->pattern),
                  "a route's parameters do not match its pattern");
    for (const auto& p : r.params) {
      fuzz::require(!p.empty(), "an empty path parameter");
    }
  }
  // The query parsers on the matched query and on the raw target, whatever the route.
  for (std::string_view query : {r.query, std::string_view(target)}) {
    if (auto p = http::parse_events_params(query)) {
      fuzz::require(p.value().limit >= 1 && p.value().limit <= http::max_limit,
                    "events limit out of range");
    }
    (void)http::parse_stream_params(query, last_event_id);
    if (auto p = http::parse_dead_letter_params(query)) {
      fuzz::require(p.value().limit >= 1 && p.value().limit <= http::max_limit,
                    "dead-letter limit out of range");
    }
    (void)url::raw_query_param(query, method);
    (void)url::query_param(query, method);
    (void)url::query_param(query, "after");
  }
  if (auto b = http::parse_redrive_body(body)) {
    const auto& v = b.value();
    if (v.all) {
      fuzz::require(v.ids.empty(), "a redrive of all with ids");
    } else {
      fuzz::require(!v.ids.empty() && v.ids.size() <= http::max_limit,
                    "a redrive with no or too many ids");
      for (auto id : v.ids) {
        fuzz::require(id > 0, "a redrive of id 0");
      }
    }
  }
  check_decoding(target);
  check_decoding(last_event_id);
  return 0;
}

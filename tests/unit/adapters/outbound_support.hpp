#pragma once

// Helpers of the outbound adapter tests (tests/unit/adapters/outbound_*_test.cpp).

#include <simdjson.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/adapter.hpp"
#include "adapters/outbound.hpp"
#include "support/fixtures.hpp"

namespace sb::test::outbound {

namespace detail {

inline void canonical(simdjson::dom::element e, std::string& out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      std::vector<std::pair<std::string, simdjson::dom::element>> members;
      for (auto m : simdjson::dom::object(e)) {
        members.emplace_back(std::string(m.key), m.value);
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        out += (i ? ",\"" : "\"") + members[i].first + "\":";
        canonical(members[i].second, out);
      }
      out += '}';
      break;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto v : simdjson::dom::array(e)) {
        out += first ? "" : ",";
        first = false;
        canonical(v, out);
      }
      out += ']';
      break;
    }
    default:
      // Scalars as simdjson minifies them; integers stay exact (int64 / uint64).
      out += simdjson::minify(e);
  }
}

}  // namespace detail

/// JSON text with object members sorted by key, whitespace removed: compares documents by
/// content, not by member order. Fails the test when `json` is not valid JSON.
inline std::string canonical(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  INFO(json);
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  std::string out;
  detail::canonical(root, out);
  return out;
}

/// The header's value in a platform request, or "<absent>".
inline std::string header(const adapters::platform_request& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.first == name) {
      return h.second;
    }
  }
  return "<absent>";
}

/// Parses a POST /v1/messages body that must be valid, and applies the channel's defaults.
inline adapters::outbound_message message(const config::channel_config& cfg,
                                          const std::string& body) {
  auto parsed = adapters::parse_send_request(body);
  INFO(body);
  if (!parsed) {
    INFO(parsed.err().message);
    REQUIRE(parsed.ok());
  }
  auto m = parsed->message;
  adapters::apply_defaults(cfg, m);
  auto st = adapters::validate(cfg, m);
  INFO(st.err().message);
  REQUIRE(st.ok());
  return m;
}

/// The 400 message `validate` gives for a body that parses.
inline std::string invalid(const config::channel_config& cfg, const std::string& body) {
  auto parsed = adapters::parse_send_request(body);
  INFO(body);
  REQUIRE(parsed.ok());
  auto m = parsed->message;
  adapters::apply_defaults(cfg, m);
  auto st = adapters::validate(cfg, m);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == errc::bad_request);
  return st.err().message;
}

/// The sending side of `cfg` (from the registry: what the gateway builds).
inline std::shared_ptr<const adapters::outbound_channel> sender(const config::channel_config& cfg) {
  auto out = adapters::outbound_for(cfg);
  REQUIRE(out != nullptr);
  return out;
}

/// Encodes `m` for `cfg`, which must succeed.
inline adapters::platform_request encode(const config::channel_config& cfg,
                                         const adapters::outbound_message& m) {
  auto r = sender(cfg)->encode(m);
  if (!r) {
    INFO(r.err().message);
    REQUIRE(r.ok());
  }
  return *r;
}

/// Classifies a fixture answer of `platform` (tests/fixtures/<platform>/outbound/<file>).
inline adapters::send_result answer(const config::channel_config& cfg, int status,
                                    const std::string& file,
                                    std::optional<std::string_view> retry_after = {}) {
  const auto body = fixture(cfg.type + "/outbound/" + file);
  return sender(cfg)->interpret(status, body, retry_after);
}

/// Classifies the answer `body` of `cfg`'s platform.
inline adapters::send_result interpret(const config::channel_config& cfg, int status,
                                       std::string_view body,
                                       std::optional<std::string_view> retry_after) {
  return sender(cfg)->interpret(status, body, retry_after);
}

}  // namespace sb::test::outbound

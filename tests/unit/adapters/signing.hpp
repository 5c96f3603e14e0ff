#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "adapters/adapter.hpp"
#include "support/fixtures.hpp"

/// Signs webhook bodies the way each platform does (docs/DESIGN.md §4) with the platform's own
/// `adapter_info::sign` (the one implementation the e2e support and the load tester use too),
/// as the headers an adapter receives (lower-case names), so unit tests can hand adapters
/// authentic requests without knowing each scheme. Header-only; tests only.
namespace sb::test {

/// The event kind a fixture stands for where the platform names it in a header (a topic): its
/// file name without `.json`, with `__` for `/` (tests/fixtures/shopify/orders__create.json is
/// `orders/create`).
inline std::string fixture_kind(const std::string& fixture_name) {
  std::string stem = std::filesystem::path(fixture_name).stem().string();
  std::string kind;
  for (std::size_t i = 0; i < stem.size(); ++i) {
    if (stem.compare(i, 2, "__") == 0) {
      kind += '/';
      ++i;
    } else {
      kind += stem[i];
    }
  }
  return kind;
}

/// When the unit tests' platforms sign (the requests' `now` too): 2024-11-29T05:00:00Z.
inline const timestamp k_signed_at = timestamp::from_seconds(1732856400);

/// The body `type` posts for `body`: with the signature put in for the platforms that sign
/// inside the body (`adapter_info::sign_body`, Mailgun's form fields), else `body` itself.
inline std::string signed_body_for(const std::string& type,
                                   const std::map<std::string, std::string>& settings,
                                   const std::string& body) {
  const auto* info = adapters::find(type);
  if (info == nullptr || info->sign_body == nullptr) {
    return body;
  }
  config::channel_config cfg;
  cfg.type = type;
  cfg.settings = settings;
  adapters::signing_input in;
  in.body = body;
  in.at = k_signed_at;
  return info->sign_body(cfg, in);
}

/// The headers `type` sends with `body`, computed from the channel's settings (`app_secret`,
/// `secret_token`, `client_secret`...) by the type's `adapter_info::sign`. `fixture_name`
/// matters only for schemes that carry more than a signature (a topic: `fixture_kind`). Empty
/// for a type the registry does not know, which makes any verification fail loudly.
inline std::vector<adapters::header> sign_for(const std::string& type,
                                              const std::map<std::string, std::string>& settings,
                                              const std::string& body,
                                              const std::string& fixture_name = "") {
  const auto* info = adapters::find(type);
  if (info == nullptr || info->sign == nullptr) {
    return {};
  }
  config::channel_config cfg;
  cfg.type = type;
  cfg.settings = settings;
  const std::string kind = fixture_kind(fixture_name);
  adapters::signing_input in;
  in.body = body;
  in.kind = kind;
  in.sent_at = "2024-11-29T05:00:00.123Z";
  in.at = k_signed_at;
  return info->sign(cfg, in);
}

/// A request as the gateway hands it to an adapter: the body with simdjson padding capacity,
/// the headers, the query. `req()` views into this object; keep it alive while the request is
/// used.
struct webhook_request {
  std::string method = "POST";
  std::string query;
  std::string body;
  std::vector<adapters::header> headers;
  timestamp now = k_signed_at;  ///< when the gateway received it (freshness checks)

  adapters::request req() const {
    adapters::request r;
    r.method = method;
    r.query = query;
    r.headers = &headers;
    r.body = body;
    r.now = now;
    return r;
  }
};

/// A POST of `body` signed for `type` under `settings` (for the platforms that sign inside the
/// body, `body` with the signature put in).
inline webhook_request signed_post(const std::string& type,
                                   const std::map<std::string, std::string>& settings,
                                   std::string body, const std::string& fixture_name = "") {
  webhook_request w;
  body = signed_body_for(type, settings, body);
  w.headers = sign_for(type, settings, body, fixture_name);
  w.body = padded(std::move(body));
  return w;
}

/// A GET with the raw (not decoded) query string `query`.
inline webhook_request get_request(std::string query) {
  webhook_request w;
  w.method = "GET";
  w.query = std::move(query);
  w.body = padded("");
  return w;
}

/// A channel as the loader builds it.
inline config::channel_config make_channel(const std::string& name, const std::string& type,
                                           const std::map<std::string, std::string>& settings) {
  config::channel_config c;
  c.name = name;
  c.type = type;
  c.settings = settings;
  return c;
}

/// Signs tests/fixtures/<type>/<file> for `channel`, then verifies and parses it with a fresh
/// adapter of the channel, the way the gateway does; both steps must succeed.
inline std::vector<event> verify_and_parse(const config::channel_config& channel,
                                           const std::string& file) {
  auto a = adapters::find(channel.type)->make(channel);
  auto post = signed_post(channel.type, channel.settings, fixture(channel.type + "/" + file), file);
  auto verified = a->verify(post.req());
  INFO(verified.err().message);
  REQUIRE(verified.ok());
  std::vector<event> out;
  auto parsed = a->parse(post.req(), out);
  INFO(parsed.err().message);
  REQUIRE(parsed.ok());
  return out;
}

}  // namespace sb::test

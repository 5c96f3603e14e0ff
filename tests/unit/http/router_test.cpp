#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/api_handlers.hpp"
#include "config/config.hpp"
#include "http/router.hpp"

using sb::errc;
using sb::http::access;
using sb::http::handler_kind;
using sb::http::match_route;

namespace {

/// What serves a matched route; nullopt for none (404 or 405).
std::optional<handler_kind> kind_of(const sb::http::route& r) {
  return r.def == nullptr ? std::nullopt : std::optional<handler_kind>(r.def->kind);
}

}  // namespace

TEST_CASE("webhook paths route to their tenant and channel, decoded", "[http]") {
  auto r = match_route("POST", "/webhooks/acme/wa-main?x=1");
  REQUIRE(kind_of(r) == handler_kind::webhook);
  REQUIRE(r.params.size() == 2);
  CHECK(r.params[0] == "acme");
  CHECK(r.params[1] == "wa-main");
  CHECK(r.query == "x=1");

  auto get = match_route("GET", "/webhooks/ac%6De/a+b?hub.mode=subscribe");
  REQUIRE(kind_of(get) == handler_kind::webhook);
  REQUIRE(get.params.size() == 2);
  CHECK(get.params[0] == "acme");
  CHECK(get.params[1] == "a+b");  // '+' is literal in a path
  CHECK(get.query == "hub.mode=subscribe");

  auto absolute = match_route("POST", "http://gw.example:8080/webhooks/acme/tg");
  REQUIRE(kind_of(absolute) == handler_kind::webhook);
  REQUIRE(absolute.params.size() == 2);
  CHECK(absolute.params[1] == "tg");
}

TEST_CASE("malformed webhook paths and unknown paths are 404 not_found", "[http]") {
  for (const char* target :
       {"/webhooks/acme", "/webhooks/acme/", "/webhooks//tg", "/webhooks/acme/tg/extra",
        "/webhooks/a%zz/tg", "/", "/v1/eventsx", "/v1/events/"}) {
    INFO(target);
    auto r = match_route("GET", target);
    CHECK(r.def == nullptr);
    CHECK(r.err.code == errc::not_found);
  }
}

TEST_CASE("a known path with the wrong method is 405 with Allow", "[http]") {
  auto w = match_route("PUT", "/webhooks/acme/tg");
  CHECK(w.def == nullptr);
  CHECK(w.err.code == errc::method_not_allowed);
  CHECK(w.allow == "GET, POST");
  for (const char* target : {"/v1/events", "/v1/stream", "/healthz", "/readyz"}) {
    auto r = match_route("POST", target);
    CHECK(r.err.code == errc::method_not_allowed);
    CHECK(r.allow == "GET");
  }
}

TEST_CASE("API paths route by exact path", "[http]") {
  CHECK(kind_of(match_route("GET", "/v1/events?after=3")) == handler_kind::events);
  CHECK(kind_of(match_route("GET", "/v1/stream")) == handler_kind::stream);
  CHECK(kind_of(match_route("GET", "/healthz")) == handler_kind::healthz);
  CHECK(kind_of(match_route("GET", "/readyz")) == handler_kind::readyz);
}

TEST_CASE("events parameters: defaults, clamping and types", "[http]") {
  auto d = sb::http::parse_events_params("");
  REQUIRE(d.ok());
  CHECK(d->after == 0);
  CHECK(d->limit == 100);
  CHECK(d->types.empty());
  CHECK(d->tenant.empty());

  auto p = sb::http::parse_events_params(
      "after=18446744073709551615&limit=5000&types=message,"
      "%20status,,order&tenant=acme");
  REQUIRE(p.ok());
  CHECK(p->after == 18446744073709551615ull);
  CHECK(p->limit == 1000);
  CHECK(p->types == std::vector<std::string>{"message", "status", "order"});
  CHECK(p->tenant == "acme");
}

TEST_CASE("bad numbers are 400 bad_request naming the parameter", "[http]") {
  for (const char* query :
       {"after=-1", "after=abc", "after=", "after=18446744073709551616", "after=1e3"}) {
    INFO(query);
    auto p = sb::http::parse_events_params(query);
    REQUIRE_FALSE(p.ok());
    CHECK(p.err().code == errc::bad_request);
    CHECK(p.err().message.find("'after'") != std::string::npos);
  }
  for (const char* query : {"limit=0", "limit=x", "limit=-5"}) {
    INFO(query);
    auto p = sb::http::parse_events_params(query);
    REQUIRE_FALSE(p.ok());
    CHECK(p.err().message.find("'limit'") != std::string::npos);
  }
  auto escape = sb::http::parse_events_params("types=%zz");
  REQUIRE_FALSE(escape.ok());
  CHECK(escape.err().message.find("'types'") != std::string::npos);
}

TEST_CASE("Last-Event-ID takes precedence over ?after= on streams", "[http]") {
  auto p = sb::http::parse_stream_params("after=5&types=message", "42");
  REQUIRE(p.ok());
  CHECK(p->after == 42);
  CHECK(p->types == std::vector<std::string>{"message"});
  auto q = sb::http::parse_stream_params("after=5", "");
  REQUIRE(q.ok());
  CHECK(q->after == 5);
  auto bad = sb::http::parse_stream_params("", "abc");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("Last-Event-ID") != std::string::npos);
}

TEST_CASE(
    "the channel directory answers an unknown tenant and an unknown channel alike, so names "
    "cannot be enumerated",
    "[http]") {
  sb::config::config cfg;
  sb::config::tenant_config acme;
  acme.id = "acme";
  sb::config::channel_config tg;
  tg.name = "tg";
  tg.type = "telegram";
  acme.channels.push_back(tg);
  cfg.tenants.push_back(acme);
  sb::http::channel_directory dir(cfg);

  auto found = dir.find("acme", "tg");
  REQUIRE(found.ok());
  CHECK((*found)->cfg->type == "telegram");
  CHECK((*found)->info == sb::adapters::find("telegram"));
  CHECK((*found)->verifier != nullptr);
  CHECK((*found)->failures != nullptr);  // limits.auth_failures_per_channel is on by default
  auto tenant = dir.find("globex", "tg");
  auto channel = dir.find("acme", "wa");
  REQUIRE_FALSE(tenant.ok());
  REQUIRE_FALSE(channel.ok());
  CHECK(tenant.err().code == channel.err().code);
  CHECK(tenant.err().message == channel.err().message);
  CHECK(tenant.err().code == errc::unknown_channel);
}

TEST_CASE("a redrive body is {\"all\":true} or a non-empty list of positive ids", "[http]") {
  auto all = sb::http::parse_redrive_body(R"( { "all" : true } )");
  REQUIRE(all.ok());
  CHECK(all->all);
  CHECK(all->ids.empty());

  auto ids = sb::http::parse_redrive_body("{\"ids\":[3, 18446744073709551615,\n1]}");
  REQUIRE(ids.ok());
  CHECK_FALSE(ids->all);
  CHECK(ids->ids == std::vector<std::uint64_t>{3, 18446744073709551615ull, 1});

  const std::string generic = R"(the body must be {"all":true} or {"ids":[<dead letter id>, ...]})";
  for (const char* bad : {"", "{}", "[1]", R"({"ids":[]})", R"({"ids":[1],"all":true})",
                          R"({"id":[1]})", R"({"all":true} x)", R"({"all":true,"all":true})",
                          R"({"ids":[1],"ids":[2]})", R"({"all":true,"x":1})", "{", "null"}) {
    INFO(bad);
    auto r = sb::http::parse_redrive_body(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::bad_request);
    CHECK(r.err().message == generic);
  }
  CHECK(sb::http::parse_redrive_body(R"({"all":false})").err().message ==
        R"('all' must be true (or give "ids"))");
  CHECK(sb::http::parse_redrive_body(R"({"all":1})").err().message ==
        R"('all' must be true (or give "ids"))");
  CHECK(sb::http::parse_redrive_body(R"({"ids":"1"})").err().message ==
        "'ids' must be an array of dead letter ids");
  for (const char* bad : {R"({"ids":[0]})", R"({"ids":[-1]})", R"({"ids":["1"]})",
                          R"({"ids":[[1]]})", R"({"ids":[1,null]})"}) {
    INFO(bad);
    CHECK(sb::http::parse_redrive_body(bad).err().message == "'ids' must hold positive integers");
  }

  std::string many = "{\"ids\":[1";
  for (int i = 2; i <= 1000; ++i) {
    many += "," + std::to_string(i);
  }
  auto thousand = sb::http::parse_redrive_body(many + "]}");
  REQUIRE(thousand.ok());
  CHECK(thousand->ids.size() == 1000);
  auto too_many = sb::http::parse_redrive_body(many + ",1001]}");
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.err().message == "at most 1000 ids per redrive");
}

TEST_CASE("API routes match their templates and hand over decoded path parameters") {
  auto r = match_route("GET", "/v1/subjects/sub_ABC%2DD?tenant=acme");
  REQUIRE(kind_of(r) == handler_kind::api);
  CHECK(r.def->name == "subject.export");
  CHECK(r.def->api.in_tenant == &sb::actors::export_subject);
  REQUIRE(r.params == std::vector<std::string>{"sub_ABC-D"});
  CHECK(r.query == "tenant=acme");

  r = match_route("PUT", "/v1/subjects/sub_X/consent");
  REQUIRE(kind_of(r) == handler_kind::api);
  CHECK(r.def->name == "subject.consent");
  CHECK(r.def->api.in_tenant == &sb::actors::put_consent);
  CHECK(r.def->who == access::token);
  CHECK(r.def->scope == sb::config::scope::privacy);

  r = match_route("POST", "/webhooks/acme/fb-main/data-deletion");
  REQUIRE(kind_of(r) == handler_kind::api);
  CHECK(r.def->name == "meta.data_deletion");
  CHECK(r.def->api.in_tenant == &sb::actors::meta_data_deletion);
  CHECK(r.def->who == access::platform);  // no token: the platform's signature
  CHECK(r.params == std::vector<std::string>{"acme", "fb-main"});

  r = match_route("POST", "/v1/messages");
  REQUIRE(kind_of(r) == handler_kind::api);
  CHECK(r.def->name == "message.send");
  CHECK(r.def->api.in_tenant == &sb::actors::send_message);

  // The plain webhook route is not shadowed.
  CHECK(kind_of(match_route("POST", "/webhooks/acme/fb-main")) == handler_kind::webhook);
}

TEST_CASE("An API path with another method is 405 listing every method it takes") {
  auto r = match_route("PATCH", "/v1/subjects/sub_X");
  CHECK(r.def == nullptr);
  CHECK(r.err.code == sb::errc::method_not_allowed);
  CHECK(r.allow == "GET, DELETE");
  CHECK(match_route("GET", "/v1/subjects/").def == nullptr);
  CHECK(match_route("GET", "/v1/subjects/a/b").err.code == sb::errc::not_found);
}

TEST_CASE("a reload's channel directory keeps the entries of the channels it leaves as they were",
          "[http]") {
  auto make = [](const std::string& secret) {
    auto cfg = std::make_shared<sb::config::config>();
    for (const char* id : {"acme", "globex"}) {
      sb::config::tenant_config t;
      t.id = id;
      sb::config::channel_config tg;
      tg.name = "tg";
      tg.type = "telegram";
      tg.settings["secret_token"] = std::string(id) == "acme" ? secret : "globex-secret-1";
      t.channels.push_back(tg);
      cfg->tenants.push_back(t);
    }
    return cfg;
  };
  auto before_cfg = make("acme-secret-1");
  auto before = std::make_unique<sb::http::channel_directory>(*before_cfg);
  const auto* acme_before = before->find("acme", "tg").value();
  const auto* globex_before = before->find("globex", "tg").value();

  // acme's secret changes, globex's channel does not.
  auto after_cfg = make("acme-secret-2");
  sb::http::channel_directory after(*after_cfg, before.get());
  const auto* acme_after = after.find("acme", "tg").value();
  const auto* globex_after = after.find("globex", "tg").value();
  CHECK(globex_after == globex_before);  // the same verifier and failure budget
  CHECK(acme_after != acme_before);
  CHECK(acme_after->cfg->get("secret_token") == "acme-secret-2");

  // The kept entry owns what it needs: the configs and the directory it came from can go.
  before.reset();
  before_cfg.reset();
  CHECK(globex_after->cfg->get("secret_token") == "globex-secret-1");
  CHECK(globex_after->verifier != nullptr);
  CHECK(globex_after->failures != nullptr);

  // A changed per-channel failure limit makes every budget afresh.
  auto limited = make("acme-secret-2");
  limited->limits.auth_failures_per_channel.rps = 1;
  limited->limits.auth_failures_per_channel.burst = 1;
  sb::http::channel_directory again(*limited, &after);
  CHECK(again.find("globex", "tg").value() != globex_after);
}

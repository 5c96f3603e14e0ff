#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "config/loader.hpp"
#include "config_test_support.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"

using sb::test::config::load;
using sb::test::config::problems;
using sb::test::config::scoped_env;
using strings = std::vector<std::string>;

namespace {

const std::string k_hex_key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

/// Lines 1-2 of most test files: a valid storage section.
std::string storage() {
  return "storage:\n  master_key: \"" + k_hex_key + "\"\n";
}

/// A valid file: storage (lines 1-2) then `rest` from line 3 on.
std::string with_storage(const std::string& rest) {
  return storage() + rest;
}

/// A valid file whose only tenant `acme` (line 4) has `body` from line 5 on, indented by 4.
std::string with_tenant(const std::string& body) {
  return with_storage("tenants:\n  - id: acme\n" + body);
}

const char* k_token = "faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e";

}  // namespace

// -- Minimal files and defaults ------------------------------------------------------------

TEST_CASE("a minimal config gets the declared defaults", "[config]") {
  auto r = load(with_tenant(""));
  REQUIRE(r.errors.problems == strings{});
  REQUIRE(r.ok());
  const auto& c = *r.cfg;
  const sb::config::server_config defaults;
  CHECK(c.source == "test.yaml");
  CHECK(c.server.listen == defaults.listen);
  CHECK(c.server.io_threads == defaults.io_threads);
  CHECK(c.server.max_body_bytes == defaults.max_body_bytes);
  CHECK(c.server.header_timeout_ms == defaults.header_timeout_ms);
  CHECK(c.server.mailbox_high_water == defaults.mailbox_high_water);
  CHECK(c.server.tls.cert.empty());
  CHECK(c.server.scheduler.max_threads == 2);
  CHECK(c.server.scheduler.max_throughput == 100);
  CHECK_FALSE(c.server.scheduler.poll_sleep);
  CHECK(c.storage.backend == "memory");
  CHECK(c.storage.durability == sb::config::durability::fsync);
  REQUIRE(c.tenants.size() == 1);
  CHECK(c.tenants[0].id == "acme");
  CHECK(c.tenants[0].privacy.retention_days == 30);
  CHECK(c.tenants[0].privacy.opt_out_keywords == strings{"STOP", "UNSUBSCRIBE"});
  CHECK(c.tenants[0].privacy.opt_in_keywords == strings{"START"});
  CHECK_FALSE(c.tenants[0].privacy.redact_card_numbers);
  CHECK(c.tenants[0].rate_limit.rps == 0);
}

TEST_CASE("every key of every section is parsed into the typed model", "[config]") {
  auto r = load(with_storage(R"(server:
  listen: "0.0.0.0:0"
  io_threads: 4
  max_body_bytes: 1048576
  max_header_bytes: 8192
  header_timeout_ms: 500
  body_timeout_ms: 600
  idle_timeout_ms: 700
  write_timeout_ms: 800
  shutdown_grace_ms: 0
  max_connections: 50
  mailbox_high_water: 60
  scheduler: {max_threads: 8, max_throughput: 7, poll_sleep: true}
tenants:
  - id: acme
    rate_limit: {rps: 2.5, burst: 10}
    privacy:
      pseudonymize: true
      redact: [card_numbers]
      retention_days: 3650
      opt_out_keywords: [STOPP]
      opt_in_keywords: []
)"));
  REQUIRE(r.errors.problems == strings{});
  const auto& c = *r.cfg;
  CHECK(c.server.listen == "0.0.0.0:0");
  CHECK(c.server.io_threads == 4);
  CHECK(c.server.max_body_bytes == 1048576);
  CHECK(c.server.max_header_bytes == 8192);
  CHECK(c.server.header_timeout_ms == 500);
  CHECK(c.server.body_timeout_ms == 600);
  CHECK(c.server.idle_timeout_ms == 700);
  CHECK(c.server.write_timeout_ms == 800);
  CHECK(c.server.shutdown_grace_ms == 0);
  CHECK(c.server.max_connections == 50);
  CHECK(c.server.mailbox_high_water == 60);
  CHECK(c.server.scheduler.max_threads == 8);
  CHECK(c.server.scheduler.max_throughput == 7);
  CHECK(c.server.scheduler.poll_sleep);
  const auto& t = c.tenants.at(0);
  CHECK(t.rate_limit.rps == 2.5);
  CHECK(t.rate_limit.burst == 10);
  CHECK(t.privacy.pseudonymize);
  CHECK(t.privacy.redact_card_numbers);
  CHECK(t.privacy.retention_days == 3650);
  CHECK(t.privacy.opt_out_keywords == strings{"STOPP"});
  CHECK(t.privacy.opt_in_keywords.empty());
}

// -- Syntax, structure, unknown keys -------------------------------------------------------

TEST_CASE("a YAML syntax error is one problem with its line", "[config]") {
  CHECK(problems("server:\n  io_threads: 2\n  listen: a: b\n") ==
        strings{"test.yaml:3: invalid YAML: illegal map value (column 12)"});
  CHECK(problems("server:\n  listen: [a, b\ntenants: x\n") ==
        strings{"test.yaml:3: invalid YAML: end of sequence flow not found (column 8)"});
  CHECK(problems("tenants: []\n\tserver: 2\n") ==
        strings{"test.yaml:2: invalid YAML: end of map not found (column 2)"});
}

TEST_CASE("an unknown key is an error that suggests the close one", "[config]") {
  CHECK(problems(with_storage("server:\n  io_thread: 2\ntenants: [{id: acme}]\n")) ==
        strings{"test.yaml:4: server.io_thread: unknown key; did you mean 'io_threads'?"});
  CHECK(problems(with_storage("tenants: [{id: acme}]\nlogging: {level: debug}\n")) ==
        strings{"test.yaml:4: logging: unknown key; known keys: server, storage, cluster, log, "
                "control_plane, privacy, limits, tenants, operators"});
  CHECK(problems(with_tenant("    privacy: {retention: 3}\n")) ==
        strings{"test.yaml:5: tenants[0].privacy.retention: unknown key; did you mean "
                "'retention_days'?"});
  // Among close keys the closest wins, however far the others are in length; a key far from
  // every known one, long or short, gets the list.
  CHECK(problems(with_storage("server:\n  max_threds: 2\ntenants: [{id: acme}]\n")) ==
        strings{"test.yaml:4: server.max_threds: unknown key; known keys: listen, io_threads, "
                "max_body_bytes, max_header_bytes, header_timeout_ms, body_timeout_ms, "
                "idle_timeout_ms, write_timeout_ms, shutdown_grace_ms, max_connections, "
                "mailbox_high_water, public_url, trusted_proxies, metrics, tls, scheduler"});
  CHECK(problems(with_storage("limits:\n  privacy_worker: 2\ntenants: [{id: acme}]\n")) ==
        strings{"test.yaml:4: limits.privacy_worker: unknown key; did you mean 'privacy_workers'?"});
  const std::string garbage(300, 'q');
  CHECK(problems(with_storage("server:\n  " + garbage + ": 2\ntenants: [{id: acme}]\n"))
            .at(0)
            .find("; known keys: listen,") != std::string::npos);
}

TEST_CASE("a key given twice in one mapping is an error", "[config]") {
  CHECK(problems(with_storage("server:\n  io_threads: 2\n  io_threads: 3\ntenants: [{id: a}]\n")) ==
        strings{"test.yaml:5: server.io_threads: duplicate key (first at line 4)"});
}

TEST_CASE("a value of the wrong shape is reported, not thrown", "[config]") {
  CHECK(problems(with_storage("server: [1, 2]\ntenants: [{id: a}]\n")) ==
        strings{"test.yaml:3: server: expected a mapping of keys, not a list"});
  CHECK(problems(with_storage("server: {io_threads: [2]}\ntenants: [{id: a}]\n")) ==
        strings{"test.yaml:3: server.io_threads: expected a single value, not a list"});
  CHECK(problems(with_storage("tenants: {id: a}\n")) ==
        strings{"test.yaml:3: tenants: expected a list, not a mapping"});
  CHECK(problems("- a\n- b\n") ==
        strings{"test.yaml:1: the file must be a mapping with the keys server, storage and "
                "tenants"});
}

TEST_CASE("odd input never throws", "[config]") {
  for (std::string text : {std::string("\0\1\2\xff", 4), std::string("{{{{{{{{"),
                           std::string("\t- x"), std::string(":"), std::string("&a [*a]"),
                           std::string("tenants: !!binary AAAA"), std::string(2000, '[')}) {
    sb::config::load_result r;
    REQUIRE_NOTHROW(r = load(text));
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.errors.problems.empty());
  }
}

// -- server ----------------------------------------------------------------------------------

TEST_CASE("server numbers outside their range name the range and the value", "[config]") {
  CHECK(problems(with_storage(R"(server:
  io_threads: 0
  max_body_bytes: 1023
  max_header_bytes: 16k
  scheduler: {max_threads: 65}
tenants: [{id: a}]
)")) == strings{
            "test.yaml:4: server.io_threads: must be an integer from 1 to 64 (got '0')",
            "test.yaml:5: server.max_body_bytes: must be an integer from 1024 to 67108864 "
            "(got '1023')",
            "test.yaml:6: server.max_header_bytes: must be an integer from 1024 to 1048576 "
            "(got '16k')",
            "test.yaml:7: server.scheduler.max_threads: must be an integer from 1 to 64 (got "
            "'65')",
        });
  CHECK(problems(with_storage(
            "server: {io_threads: 64, max_body_bytes: 67108864}\ntenants: [{id: a}]\n")) ==
        strings{});
  CHECK(problems(with_storage("server: {max_body_bytes: 67108865}\ntenants: [{id: a}]\n")) ==
        strings{"test.yaml:3: server.max_body_bytes: must be an integer from 1024 to 67108864 "
                "(got '67108865')"});
}

TEST_CASE("server.listen takes host:port with port 0 and bracketed IPv6", "[config]") {
  for (const char* ok : {"127.0.0.1:0", "0.0.0.0:8080", "[::1]:443", "localhost:65535"}) {
    CAPTURE(ok);
    CHECK(problems(with_storage(std::string("server: {listen: \"") + ok +
                                "\"}\ntenants: [{id: a}]\n")) == strings{});
  }
  for (const char* bad : {"8080", ":8080", "127.0.0.1:65536", "127.0.0.1:http", "::1:80"}) {
    CAPTURE(bad);
    auto p = problems(
        with_storage(std::string("server: {listen: \"") + bad + "\"}\ntenants: [{id: a}]\n"));
    REQUIRE(p.size() == 1);
    CHECK(p[0].rfind("test.yaml:3: server.listen: must be host:port with a port from 0 to "
                     "65535 (got '" +
                         std::string(bad) + "')",
                     0) == 0);
  }
}

TEST_CASE("server.tls needs both cert and key, and both files must exist", "[config]") {
  // Any readable file will do: the loader checks presence, the server parses the PEM.
  const std::string readable = std::string(SB_FIXTURES_DIR) + "/config/bad_keys.yaml";
  CHECK(problems(with_storage("server:\n  tls: {cert: \"" + readable + "\", key: \"" + readable +
                              "\"}\ntenants: [{id: a}]\n")) == strings{});
  CHECK(problems(with_storage("server:\n  tls:\n    cert: \"" + readable +
                              "\"\ntenants: [{id: a}]\n")) ==
        strings{"test.yaml:5: server.tls.key: required together with cert (give both or neither)"});
  CHECK(problems(with_storage("server:\n  tls:\n    cert: /nonexistent/cert.pem\n    key: "
                              "/nonexistent/key.pem\ntenants: [{id: a}]\n")) ==
        strings{
            "test.yaml:5: server.tls.cert: cannot read file '/nonexistent/cert.pem'",
            "test.yaml:6: server.tls.key: cannot read file '/nonexistent/key.pem'",
        });
}

// -- storage ---------------------------------------------------------------------------------

TEST_CASE("the master key is stored as its 32 decoded bytes", "[config]") {
  auto r = load(with_tenant(""));
  REQUIRE(r.ok());
  CHECK(r.cfg->storage.master_key == *sb::crypto::from_hex(k_hex_key));
  CHECK(r.cfg->storage.master_key.size() == 32);
}

TEST_CASE("a missing master key says how to generate one", "[config]") {
  CHECK(problems("storage:\n  backend: memory\ntenants: [{id: a}]\n") ==
        strings{"test.yaml:1: storage.master_key: missing secret; generate one with `openssl rand "
                "-hex 32`"});
  CHECK(problems("tenants: [{id: a}]\n") ==
        strings{"test.yaml:1: storage.master_key: missing secret; generate one with `openssl rand "
                "-hex 32`"});
  CHECK(problems("storage:\n  master_key: \"\"\ntenants: [{id: a}]\n") ==
        strings{"test.yaml:2: storage.master_key: missing secret; generate one with `openssl rand "
                "-hex 32`"});
}

TEST_CASE("a malformed master key is refused without echoing it", "[config]") {
  const std::string expected =
      "test.yaml:2: storage.master_key: must be exactly 64 hex characters (32 bytes); generate "
      "one with `openssl rand -hex 32`";
  for (const std::string& key : {k_hex_key.substr(1), k_hex_key + "0", "zz" + k_hex_key.substr(2),
                                 std::string("correct horse battery staple")}) {
    auto p = problems("storage:\n  master_key: \"" + key + "\"\ntenants: [{id: a}]\n");
    CHECK(p == strings{expected});
  }
}

TEST_CASE("storage backend and durability accept only their values", "[config]") {
  CHECK(problems("storage:\n  backend: sqlite3\n  durability: always\n  master_key: \"" +
                 k_hex_key + "\"\ntenants: [{id: a}]\n") ==
        strings{
            "test.yaml:2: storage.backend: must be one of memory, sqlite, postgres (got "
            "'sqlite3')",
            "test.yaml:3: storage.durability: must be one of fsync, os, none (got 'always')",
        });
  auto r = load(
      "storage:\n  backend: sqlite\n  durability: none\n  path: /var/lib/sb\n  "
      "master_key: \"" +
      k_hex_key + "\"\ntenants: [{id: a}]\n");
  REQUIRE(r.ok());
  CHECK(r.cfg->storage.backend == "sqlite");
  CHECK(r.cfg->storage.durability == sb::config::durability::none);
  CHECK(r.cfg->storage.path == "/var/lib/sb");
}

TEST_CASE("the postgres backend takes a DSN and a pool, and the cluster its node and lease",
          "[config]") {
  auto r = load("storage:\n  backend: postgres\n  postgres:\n    dsn: \"host=/run/postgresql "
                "dbname=sb user=sb password=s3cret\"\n    pool: 12\n  master_key: \"" +
                k_hex_key +
                "\"\ncluster:\n  node_id: gw-1.eu\n  lease_ms: 3000\ntenants: [{id: a}]\n");
  REQUIRE(r.ok());
  CHECK(r.cfg->storage.backend == "postgres");
  CHECK(r.cfg->storage.postgres.dsn == "host=/run/postgresql dbname=sb user=sb password=s3cret");
  CHECK(r.cfg->storage.postgres.pool == 12);
  CHECK(r.cfg->cluster.node_id == "gw-1.eu");
  CHECK(r.cfg->cluster.lease_ms == 3000);
  // Defaults: 8 connections, a node id chosen at start, 5 s leases.
  auto d = load(with_storage("tenants: [{id: a}]\n"));
  REQUIRE(d.ok());
  CHECK(d.cfg->storage.postgres.pool == 8);
  CHECK(d.cfg->cluster.node_id.empty());
  CHECK(d.cfg->cluster.lease_ms == 5000);
}

TEST_CASE("the postgres backend needs a DSN, and the cluster keys their ranges", "[config]") {
  CHECK(problems("storage:\n  backend: postgres\n  master_key: \"" + k_hex_key +
                 "\"\ntenants: [{id: a}]\n") ==
        strings{"test.yaml:2: storage.postgres.dsn: required when storage.backend is postgres (a "
                "libpq connection string, e.g. \"host=/run/postgresql dbname=switchboard "
                "user=switchboard\")"});
  CHECK(problems("storage:\n  backend: postgres\n  postgres: {dsn: \"\", pool: 0}\n  "
                 "master_key: \"" +
                 k_hex_key + "\"\ncluster: {node_id: \"gw 1\", lease_ms: 10}\ntenants: [{id: a}]\n") ==
        strings{
            "test.yaml:3: storage.postgres.dsn: missing secret",
            "test.yaml:3: storage.postgres.pool: must be an integer from 1 to 256 (got '0')",
            "test.yaml:5: cluster.node_id: must be 1 to 100 characters of A-Z a-z 0-9 . _ : -",
            "test.yaml:5: cluster.lease_ms: must be an integer from 500 to 600000 (got '10')",
        });
}

// -- tenants ---------------------------------------------------------------------------------

TEST_CASE("at least one tenant is required", "[config]") {
  CHECK(problems(storage()) == strings{"test.yaml:1: tenants: at least one tenant is required"});
  CHECK(problems(with_storage("tenants: []\n")) ==
        strings{"test.yaml:3: tenants: at least one tenant is required"});
}

TEST_CASE("tenant ids follow the id pattern and are unique", "[config]") {
  CHECK(problems(with_storage(R"(tenants:
  - id: acme
  - id: Acme
  - id: acme
  - id: -x
  - id: a234567890123456789012345678901234567890123456789012345678901234
  - rate_limit: {rps: 1}
)")) == strings{
            "test.yaml:5: tenants[1].id: must match [a-z0-9][a-z0-9_-]{0,62} (got 'Acme')",
            "test.yaml:6: tenants[2].id: duplicate tenant id 'acme' (first at line 4)",
            "test.yaml:7: tenants[3].id: must match [a-z0-9][a-z0-9_-]{0,62} (got '-x')",
            "test.yaml:8: tenants[4].id: must match [a-z0-9][a-z0-9_-]{0,62} (got "
            "'a234567890123456789012345678901234567890...')",
            "test.yaml:9: tenants[5].id: required",
        });
}

TEST_CASE("burst defaults to rps and both must be non-negative", "[config]") {
  auto r = load(with_tenant("    rate_limit: {rps: 50}\n"));
  REQUIRE(r.ok());
  CHECK(r.cfg->tenants[0].rate_limit.burst == 50);
  CHECK(problems(with_tenant("    rate_limit: {rps: -1, burst: x}\n")) ==
        strings{
            "test.yaml:5: tenants[0].rate_limit.rps: must be a number >= 0 (got '-1')",
            "test.yaml:5: tenants[0].rate_limit.burst: must be a number >= 0 (got 'x')",
        });
  CHECK(problems(with_tenant("    rate_limit: {rps: 10, burst: 0.5}\n")) ==
        strings{"test.yaml:5: tenants[0].rate_limit.burst: must be at least 1 when rps > 0"});
}

TEST_CASE("privacy accepts only known redactions and a sane retention", "[config]") {
  CHECK(problems(with_tenant(R"(    privacy:
      pseudonymize: maybe
      redact: [card_numbers, ssn]
      retention_days: 3651
      opt_in_keywords: [stop]
)")) == strings{
            "test.yaml:6: tenants[0].privacy.pseudonymize: must be true or false (got 'maybe')",
            "test.yaml:7: tenants[0].privacy.redact[1]: unknown redaction 'ssn'; known: "
            "card_numbers",
            "test.yaml:8: tenants[0].privacy.retention_days: must be an integer from 1 to 3650 "
            "(got '3651')",
        });
  CHECK(
      problems(with_tenant("    privacy:\n      opt_in_keywords: [stop]\n")) ==
      strings{"test.yaml:6: tenants[0].privacy.opt_in_keywords: keyword 'stop' is also an opt-out "
              "keyword"});
}

// -- channels --------------------------------------------------------------------------------

TEST_CASE("a channel's settings are validated against its type's schema", "[config]") {
  auto r = load(with_tenant(R"(    channels:
      - name: wa-main
        type: whatsapp
        app_secret: s1
        verify_token: v1
        phone_number_id: "106540352242922"
      - {name: shop, type: shopify, client_secret: s2, shop_domain: x.myshopify.com,
         api_version: "2025-01"}
)"));
  REQUIRE(r.errors.problems == strings{});
  const auto& t = r.cfg->tenants.at(0);
  const auto* wa = t.find_channel("wa-main");
  REQUIRE(wa != nullptr);
  CHECK(wa->type == "whatsapp");
  CHECK(wa->source == "test.yaml:6");
  CHECK(wa->get("app_secret") == "s1");
  CHECK(wa->get("phone_number_id") == "106540352242922");
  CHECK(wa->get("api_base") == "https://graph.facebook.com/v21.0");  // the schema's default
  CHECK(wa->get("waba_id").empty());
  const auto* shop = t.find_channel("shop");
  REQUIRE(shop != nullptr);
  CHECK(shop->source == "test.yaml:11");
  CHECK(shop->get("api_version") == "2025-01");
}

TEST_CASE("an unknown channel type lists the known types", "[config]") {
  CHECK(problems(with_tenant("    channels:\n      - {name: s, type: viber, token: x}\n")) ==
        strings{"test.yaml:6: tenants[0].channels[0].type: unknown channel type 'viber'; known "
                "types: email, hubspot, instagram, messenger, shopify, slack, telegram, "
                "webchat, whatsapp, woocommerce"});
  CHECK(problems(with_tenant("    channels:\n      - {name: s}\n")) ==
        strings{"test.yaml:6: tenants[0].channels[0].type: required; known types: email, "
                "hubspot, instagram, messenger, shopify, slack, telegram, webchat, whatsapp, "
                "woocommerce"});
}

TEST_CASE("channel keys outside the schema, missing keys and empty secrets are errors",
          "[config]") {
  CHECK(problems(with_tenant(R"(    channels:
      - name: wa
        type: whatsapp
        app_secret: ""
        phone_numer_id: "1"
        client_secret: x
      - name: tg
        type: telegram
        secret_token:
)")) == strings{
            "test.yaml:6: tenants[0].channels[0].verify_token: missing secret",
            "test.yaml:6: tenants[0].channels[0].phone_number_id: required for channel type "
            "whatsapp",
            "test.yaml:8: tenants[0].channels[0].app_secret: missing secret",
            "test.yaml:9: tenants[0].channels[0].phone_numer_id: unknown key for channel type "
            "whatsapp; did you mean 'phone_number_id'?",
            "test.yaml:10: tenants[0].channels[0].client_secret: unknown key for channel type "
            "whatsapp; known keys: name, type, app_secret, verify_token, phone_number_id, "
            "access_token, waba_id, api_base, app_secret_previous, verify_token_previous, "
            "access_token_previous",
            "test.yaml:13: tenants[0].channels[1].secret_token: missing secret",
        });
}

TEST_CASE("channel names follow the pattern and are unique per tenant", "[config]") {
  const std::string tg = "type: telegram, secret_token: s";
  CHECK(problems(with_storage("tenants:\n  - id: a\n    channels:\n      - {name: tg, " + tg +
                              "}\n      - {name: tg, " + tg + "}\n      - {name: Tg, " + tg +
                              "}\n  - id: b\n    channels:\n      - {name: tg, " + tg + "}\n")) ==
        strings{
            "test.yaml:7: tenants[0].channels[1].name: duplicate channel name 'tg' (first at "
            "line 6)",
            "test.yaml:8: tenants[0].channels[2].name: must match [a-z0-9][a-z0-9_-]* (got "
            "'Tg')",
        });
}

// -- subscribers -----------------------------------------------------------------------------

TEST_CASE("a subscriber's token hash is normalised to lower case", "[config]") {
  std::string upper = k_token;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto r =
      load(with_tenant("    subscribers:\n      - name: helpdesk\n        token_sha256: " + upper +
                       "\n        scopes: [stream, admin]\n"));
  REQUIRE(r.errors.problems == strings{});
  const auto& s = r.cfg->tenants[0].subscribers.at(0);
  CHECK(s.token_sha256 == k_token);
  CHECK(s.has_scope(sb::config::scope::stream));
  CHECK(s.has_scope(sb::config::scope::admin));
  CHECK_FALSE(s.has_scope(sb::config::scope::send));
  CHECK_FALSE(s.has_scope(sb::config::scope::privacy));
  CHECK(s.purposes == strings{"support"});
  CHECK_FALSE(s.push);
}

TEST_CASE("a token belongs to one subscriber across all tenants", "[config]") {
  CHECK(problems(with_storage(std::string(R"(tenants:
  - id: acme
    subscribers:
      - {name: helpdesk, token_sha256: )") +
                              k_token + R"(}
  - id: beta
    subscribers:
      - {name: helpdesk, token_sha256: )" +
                              k_token + R"(}
      - {name: other, token_sha256: )" +
                              k_token + "}\n")) ==
        strings{
            "test.yaml:9: tenants[1].subscribers[0].token_sha256: same token as "
            "tenants[0].subscribers[0] (line 6); a token belongs to one subscriber",
            "test.yaml:10: tenants[1].subscribers[1].token_sha256: same token as "
            "tenants[0].subscribers[0] (line 6); a token belongs to one subscriber",
        });
}

TEST_CASE("subscriber names, tokens, scopes and purposes are validated", "[config]") {
  CHECK(problems(with_tenant(R"(    subscribers:
      - name: a
        token_sha256: abc
        scopes: [stream, root]
      - name: a
        token_sha256: 0000000000000000000000000000000000000000000000000000000000000000
        purposes: [support, spam]
      - name: lonely
        purposes: [ai]
)")) == strings{
            "test.yaml:7: tenants[0].subscribers[0].token_sha256: must be the 64 hex characters "
            "of the token's SHA-256 (`printf %s TOKEN | sha256sum`)",
            "test.yaml:8: tenants[0].subscribers[0].scopes[1]: unknown scope 'root'; known: "
            "stream, send, privacy, admin",
            "test.yaml:9: tenants[0].subscribers[1].name: duplicate subscriber name 'a' (first "
            "at line 6)",
            "test.yaml:11: tenants[0].subscribers[1].purposes[1]: unknown purpose 'spam'; "
            "known: support, ai, analytics, marketing",
            "test.yaml:12: tenants[0].subscribers[2]: needs token_sha256 (API access) or push "
            "(delivery), or both",
        });
}

TEST_CASE("a push subscriber needs an http(s) URL and a Standard Webhooks secret", "[config]") {
  // 32 random bytes, base64.
  const std::string secret = "whsec_" + sb::crypto::base64_encode(sb::crypto::sha256("k"));
  auto r =
      load(with_tenant("    subscribers:\n      - name: assistant\n        purposes: [ai]\n"
                       "        push: {url: \"https://backend.example/hook\", secret: \"" +
                       secret + "\"}\n"));
  REQUIRE(r.errors.problems == strings{});
  const auto& s = r.cfg->tenants[0].subscribers.at(0);
  REQUIRE(s.push);
  CHECK(s.push->url == "https://backend.example/hook");
  CHECK(s.push->secret == secret);
  CHECK(s.token_sha256.empty());
  CHECK(s.purposes == strings{"ai"});

  const std::string bad_secret_problem =
      "must be \"whsec_\" followed by the base64 of 24 to 64 random bytes; generate one with "
      "`echo whsec_$(openssl rand -base64 32)`";
  for (const std::string& bad :
       {std::string("whsec_"), "whsec_" + sb::crypto::base64_encode(std::string(23, 'x')),
        "whsec_" + sb::crypto::base64_encode(std::string(65, 'x')), std::string("whsec_!!!!"),
        secret.substr(6)}) {
    CAPTURE(bad.size());
    CHECK(problems(with_tenant("    subscribers:\n      - name: p\n        push:\n          url: "
                               "http://127.0.0.1:9000/hook\n          secret: \"" +
                               bad + "\"\n")) ==
          strings{"test.yaml:9: tenants[0].subscribers[0].push.secret: " + bad_secret_problem});
  }
  CHECK(problems(with_tenant(
            "    subscribers:\n      - name: p\n        push: {url: ftp://x/hook}\n")) ==
        strings{
            "test.yaml:7: tenants[0].subscribers[0].push.url: must be an http:// or https:// URL "
            "with a host",
            "test.yaml:7: tenants[0].subscribers[0].push.secret: missing secret; generate one "
            "with `echo whsec_$(openssl rand -base64 32)`",
        });
}

TEST_CASE("push delivery knobs are read per subscriber and left unset by default", "[config]") {
  const std::string secret = "whsec_" + sb::crypto::base64_encode(sb::crypto::sha256("k"));
  auto r =
      load(with_tenant("    subscribers:\n"
                       "      - name: plain\n"
                       "        push: {url: \"http://127.0.0.1:9000/a\", secret: \"" +
                       secret +
                       "\"}\n"
                       "      - name: tuned\n"
                       "        push:\n"
                       "          url: http://127.0.0.1:9000/b\n"
                       "          secret: \"" +
                       secret +
                       "\"\n"
                       "          timeout_ms: 100\n"
                       "          max_in_flight: 256\n"
                       "          retry_schedule_ms: [0, 60000, 1000, 86400000]\n"));
  REQUIRE(r.errors.problems == strings{});
  const auto& plain = r.cfg->tenants[0].subscribers.at(0).push.value();
  CHECK_FALSE(plain.timeout_ms);
  CHECK_FALSE(plain.max_in_flight);
  CHECK_FALSE(plain.retry_schedule_ms);
  const auto& tuned = r.cfg->tenants[0].subscribers.at(1).push.value();
  CHECK(tuned.timeout_ms == 100);
  CHECK(tuned.max_in_flight == 256);
  // Not necessarily ascending: a wait may be shorter than the one before it.
  CHECK(tuned.retry_schedule_ms == std::vector<std::int64_t>{0, 60000, 1000, 86400000});

  auto single =
      load(with_tenant("    subscribers:\n      - name: once\n        push:\n"
                       "          url: http://127.0.0.1:9000/c\n          secret: \"" +
                       secret + "\"\n          retry_schedule_ms: [0]\n"));
  REQUIRE(single.errors.problems == strings{});
  CHECK(single.cfg->tenants[0].subscribers.at(0).push->retry_schedule_ms ==
        std::vector<std::int64_t>{0});
}

TEST_CASE("push delivery knobs outside their range are reported with the value", "[config]") {
  const std::string secret = "whsec_" + sb::crypto::base64_encode(sb::crypto::sha256("k"));
  // Lines: 5 subscribers, 6 name, 7 push, 8 url, 9 secret, 10.. the knobs.
  auto with_push = [&](const std::string& knobs) {
    return with_tenant(
        "    subscribers:\n      - name: p\n        push:\n"
        "          url: http://127.0.0.1:9000/hook\n          secret: \"" +
        secret + "\"\n" + knobs);
  };
  CHECK(problems(with_push("          timeout_ms: 99\n          max_in_flight: 0\n")) ==
        strings{
            "test.yaml:10: tenants[0].subscribers[0].push.timeout_ms: must be an integer from "
            "100 to 60000 (got '99')",
            "test.yaml:11: tenants[0].subscribers[0].push.max_in_flight: must be an integer "
            "from 1 to 256 (got '0')",
        });
  CHECK(problems(with_push("          timeout_ms: 60001\n          max_in_flight: 257\n")) ==
        strings{
            "test.yaml:10: tenants[0].subscribers[0].push.timeout_ms: must be an integer from "
            "100 to 60000 (got '60001')",
            "test.yaml:11: tenants[0].subscribers[0].push.max_in_flight: must be an integer "
            "from 1 to 256 (got '257')",
        });
  CHECK(problems(with_push("          retry_schedule_ms: [5000, 0]\n")) ==
        strings{"test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms[0]: the first "
                "entry is the first attempt and must be 0 (got '5000')"});
  CHECK(problems(with_push("          retry_schedule_ms: [0, -1, 86400001, soon]\n")) ==
        strings{
            "test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms[1]: must be a wait "
            "in milliseconds from 0 to 86400000 (got '-1')",
            "test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms[2]: must be a wait "
            "in milliseconds from 0 to 86400000 (got '86400001')",
            "test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms[3]: must be a wait "
            "in milliseconds from 0 to 86400000 (got 'soon')",
        });
  CHECK(problems(with_push("          retry_schedule_ms: []\n")) ==
        strings{"test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms: must list at "
                "least one wait (the first attempt, 0)"});
  CHECK(problems(with_push("          retry_schedule_ms: 0\n")) ==
        strings{"test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms: expected a "
                "list, not a value"});
  std::string many = "          retry_schedule_ms: [0";
  for (int i = 0; i < 20; ++i) {
    many += ", 1";
  }
  CHECK(problems(with_push(many + "]\n")) ==
        strings{"test.yaml:10: tenants[0].subscribers[0].push.retry_schedule_ms: at most 20 "
                "attempts (got 21)"});
  CHECK(problems(with_push("          retries: 3\n")) ==
        strings{"test.yaml:10: tenants[0].subscribers[0].push.retries: unknown key; known keys: "
                "url, secret, secret_previous, timeout_ms, max_in_flight, retry_schedule_ms"});
}

// -- ${VAR} ----------------------------------------------------------------------------------

TEST_CASE("${VAR} reads the environment and ${VAR:-default} falls back", "[config]") {
  scoped_env key("SB_TEST_MASTER_KEY", k_hex_key);
  scoped_env unset("SB_TEST_UNSET", std::nullopt);
  scoped_env empty("SB_TEST_EMPTY", std::string());
  scoped_env port("SB_TEST_PORT", std::string("9090"));
  auto r = load(R"(server:
  listen: 127.0.0.1:${SB_TEST_PORT}
  io_threads: ${SB_TEST_UNSET:-3}
  max_connections: ${SB_TEST_EMPTY:-77}
storage:
  master_key: ${SB_TEST_MASTER_KEY}
  path: "$${NOT_A_VAR}/data"
tenants:
  - id: ${SB_TEST_UNSET:-acme}
)");
  REQUIRE(r.errors.problems == strings{});
  CHECK(r.cfg->server.listen == "127.0.0.1:9090");
  CHECK(r.cfg->server.io_threads == 3);
  CHECK(r.cfg->server.max_connections == 77);
  CHECK(r.cfg->storage.master_key == *sb::crypto::from_hex(k_hex_key));
  CHECK(r.cfg->storage.path == "${NOT_A_VAR}/data");
  CHECK(r.cfg->tenants.at(0).id == "acme");
}

TEST_CASE("an unset ${VAR} without default names the variable on its line", "[config]") {
  scoped_env unset("SB_TEST_UNSET", std::nullopt);
  scoped_env unset2("SB_TEST_UNSET_KEY", std::nullopt);
  CHECK(problems(R"(storage:
  master_key: ${SB_TEST_UNSET_KEY}
tenants:
  - id: acme
    channels:
      - name: tg
        type: telegram
        secret_token: "${SB_TEST_UNSET}"
        api_base: "${SB_TEST_UNSET"
        bot_token: "${1BAD}"
)") == strings{
           "test.yaml:2: storage.master_key: environment variable SB_TEST_UNSET_KEY is not set; "
           "generate one with `openssl rand -hex 32`",
           "test.yaml:8: tenants[0].channels[0].secret_token: environment variable "
           "SB_TEST_UNSET is not set",
           "test.yaml:9: tenants[0].channels[0].api_base: unterminated ${ in value (write $${ "
           "for a literal ${)",
           "test.yaml:10: tenants[0].channels[0].bot_token: malformed ${...} reference; write "
           "${NAME} or ${NAME:-default}",
       });
}

TEST_CASE("secrets never appear in messages", "[config]") {
  const std::string secret = "s3cr3t-v4lue-0123456789";
  scoped_env env("SB_TEST_SECRET", secret);
  auto p = problems(R"(storage:
  master_key: "${SB_TEST_SECRET}"
tenants:
  - id: acme
    channels:
      - {name: wa, type: whatsapp, app_secret: "${SB_TEST_SECRET}", verify_token: x}
      - {name: x, type: nope, app_secret: "${SB_TEST_SECRET}"}
      - {name: tg, type: telegram, secret_token: s, bot_tokn: "${SB_TEST_SECRET}"}
    subscribers:
      - name: p
        push: {url: "http://h/", secret: "whsec_${SB_TEST_SECRET}"}
)");
  REQUIRE(p.size() == 5);
  for (const auto& line : p) {
    CAPTURE(line);
    CHECK(line.find(secret) == std::string::npos);
  }
}

// -- reporting -------------------------------------------------------------------------------

TEST_CASE("every problem of a file is reported at once, in line order", "[config]") {
  scoped_env unset("SB_TEST_BAD_KEYS_UNSET", std::nullopt);
  const std::string path = std::string(SB_FIXTURES_DIR) + "/config/bad_keys.yaml";
  auto r = sb::config::load_file(path, sb::test::config::documented_schemas());
  CHECK_FALSE(r.ok());
  const std::string f = path + ":";
  CHECK(r.errors.problems ==
        strings{
            f + "3: server.listen: must be host:port with a port from 0 to 65535 (got "
                "'localhost')",
            f + "4: server.io_threads: must be an integer from 1 to 64 (got '100')",
            f + "5: server.scheduler.max_threds: unknown key; did you mean 'max_threads'?",
            f + "6: server.bogus: unknown key; known keys: listen, io_threads, max_body_bytes, "
                "max_header_bytes, header_timeout_ms, body_timeout_ms, idle_timeout_ms, "
                "write_timeout_ms, shutdown_grace_ms, max_connections, mailbox_high_water, "
                "public_url, trusted_proxies, metrics, tls, scheduler",
            f + "9: storage.master_key: must be exactly 64 hex characters (32 bytes); generate "
                "one with `openssl rand -hex 32`",
            f + "11: tenants[0].id: must match [a-z0-9][a-z0-9_-]{0,62} (got 'Acme')",
            f + "13: tenants[0].privacy.redact[1]: unknown redaction 'ssn'; known: card_numbers",
            f + "15: tenants[0].channels[0].app_secret: missing secret",
            f + "15: tenants[0].channels[0].phone_numer_id: unknown key for channel type "
                "whatsapp; did you mean 'phone_number_id'?",
            f + "15: tenants[0].channels[0].phone_number_id: required for channel type whatsapp",
            f + "16: tenants[0].channels[1].type: unknown channel type 'viber'; known types: "
                "email, hubspot, instagram, messenger, shopify, slack, telegram, webchat, "
                "whatsapp, woocommerce",
            f + "16: tenants[0].channels[1].name: duplicate channel name 'wa' (first at line "
                "15)",
            f + "20: tenants[0].channels[2].secret_token: environment variable "
                "SB_TEST_BAD_KEYS_UNSET is not set",
            f + "24: tenants[0].subscribers[0].scopes[1]: unknown scope 'root'; known: stream, "
                "send, privacy, admin",
            f + "30: tenants[1].subscribers[0].token_sha256: same token as "
                "tenants[0].subscribers[0] (line 23); a token belongs to one subscriber",
            f + "31: tenants[2].id: duplicate tenant id 'beta' (first at line 27)",
        });
  CHECK(r.errors.to_string() == [&] {
    std::string all;
    for (const auto& p : r.errors.problems) {
      all += p + "\n";
    }
    return all;
  }());
}

TEST_CASE("an unreadable file is one problem naming it", "[config]") {
  auto r = sb::config::load_file("/nonexistent/switchboard.yaml", {});
  CHECK_FALSE(r.ok());
  CHECK(r.errors.problems ==
        strings{"/nonexistent/switchboard.yaml:1: cannot read the config file: No such file or "
                "directory"});
  const std::string dir = std::string(SB_FIXTURES_DIR) + "/config";
  CHECK(sb::config::load_file(dir, {}).errors.problems ==
        strings{dir + ":1: cannot read the config file: it is a directory"});
}

TEST_CASE("a loaded file is named by its path in the config and its channels", "[config]") {
  const std::string path = std::string(SB_FIXTURES_DIR) + "/config/minimal.yaml";
  auto r = sb::config::load_file(path, sb::test::config::documented_schemas());
  REQUIRE(r.errors.problems == strings{});
  CHECK(r.cfg->source == path);
  CHECK(r.cfg->tenants.at(0).channels.at(0).source == path + ":8");
}

TEST_CASE("trusted_proxies, metrics and limits are parsed and bad values named with their line",
          "[config]") {
  auto ok = sb::config::load_string(R"(
server:
  listen: "127.0.0.1:0"
  trusted_proxies: [10.0.0.0/8, "::1", 192.0.2.7]
  metrics: {token_sha256: "FAAD082B331A596372E3094D8B351BAA46CE9EC98CBA97BD9B8EAFC59C39823E", listen: "127.0.0.1:0"}
storage: {backend: memory, master_key: "aa3e5f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e"}
limits:
  events_per_webhook: 50
  auth_failures_per_source: {rps: 2}
tenants:
  - id: t1
    channels: [{name: tg, type: telegram, secret_token: s}]
)",
                                    "t.yaml", sb::adapters::schemas());
  INFO(ok.errors.to_string());
  REQUIRE(ok.ok());
  CHECK(ok.cfg->server.trusted_proxies.size() == 3);
  CHECK(ok.cfg->server.metrics.token_sha256 ==
        "faad082b331a596372e3094d8b351baa46ce9ec98cba97bd9b8eafc59c39823e");
  CHECK(ok.cfg->limits.events_per_webhook == 50);
  CHECK(ok.cfg->limits.auth_failures_per_source.rps == 2);
  CHECK(ok.cfg->limits.auth_failures_per_source.burst == 2);  // defaults to rps when given alone
  CHECK(ok.cfg->limits.auth_failures_per_channel.rps == 20);
  CHECK(ok.cfg->limits.auth_failures_per_channel.burst == 100);
  CHECK(ok.cfg->limits.quarantine_bytes_per_channel == 16777216);

  auto bad = sb::config::load_string(R"(
server:
  trusted_proxies: [10.0.0.1/8, proxy.example.com]
  metrics: {token_sha256: "abc"}
storage: {backend: memory, master_key: "aa3e5f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e"}
limits:
  auth_failures_per_channel: {rps: 0}
  conversation_per_tenant: 5
tenants:
  - id: t1
    channels: [{name: tg, type: telegram, secret_token: s}]
)",
                                     "t.yaml", sb::adapters::schemas());
  REQUIRE_FALSE(bad.ok());
  const auto text = bad.errors.to_string();
  INFO(text);
  CHECK(text.find("t.yaml:3: server.trusted_proxies[0]: must be an IP address or a CIDR") !=
        std::string::npos);
  CHECK(text.find("t.yaml:3: server.trusted_proxies[1]:") != std::string::npos);
  CHECK(text.find("t.yaml:4: server.metrics.token_sha256: must be the 64 hex") !=
        std::string::npos);
  CHECK(text.find("t.yaml:7: limits.auth_failures_per_channel.rps: must be greater than 0") !=
        std::string::npos);
  CHECK(text.find("t.yaml:8: limits.conversation_per_tenant: unknown key; did you mean "
                  "'conversations_per_tenant'?") != std::string::npos);
}

TEST_CASE("a list setting takes a YAML list or one value, and a derived key is the gateway's",
          "[config]") {
  auto r = sb::test::config::load(with_tenant(R"(    channels:
      - name: web
        type: webchat
        allowed_origins: ["https://shop.example.com", "http://127.0.0.1:8081"]
)"));
  REQUIRE(r.cfg);
  const auto* web = r.cfg->tenants[0].find_channel("web");
  REQUIRE(web != nullptr);
  CHECK(web->list("allowed_origins") ==
        strings{"https://shop.example.com", "http://127.0.0.1:8081"});
  // Derived from the master key, per tenant and channel: 64 hex characters, never empty.
  CHECK(web->get("session_key").size() == 64);

  auto one = sb::test::config::load(with_tenant(R"(    channels:
      - {name: web, type: webchat, allowed_origins: "https://shop.example.com"}
)"));
  REQUIRE(one.cfg);
  CHECK(one.cfg->tenants[0].channels[0].list("allowed_origins") ==
        strings{"https://shop.example.com"});

  CHECK(problems(with_tenant(R"(    channels:
      - {name: web, type: webchat, allowed_origins: [[a]], session_key: "abc"}
)")) == strings{"test.yaml:6: tenants[0].channels[0].allowed_origins[0]: expected a single "
                "value, not a list",
                "test.yaml:6: tenants[0].channels[0].session_key: is derived from "
                "storage.master_key by the gateway; remove it"});
}

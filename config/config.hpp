#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

/// The typed, validated configuration (docs/DESIGN.md §8). Built once by `config::load`, then
/// immutable and shared by `std::shared_ptr<const config>`; a reload builds a new object.
namespace sb::config {

struct tls_config {
  std::string cert;  ///< PEM file; empty = plain HTTP
  std::string key;
};

struct scheduler_config {
  int max_threads = 2;       ///< CAF worker threads (`caf.scheduler.max-threads`)
  int max_throughput = 100;  ///< messages an actor handles before yielding its thread
  bool poll_sleep = false;   ///< false = no 50us idle polling sleeps (low-latency hops)
};

/// `GET /metrics` (docs/operations.md): who may read it.
struct metrics_config {
  /// SHA-256 (lower-case hex) of a bearer token `/metrics` then requires; "" = no token.
  std::string token_sha256;
  /// "host:port" of a separate listener that serves only `/metrics` (and `/healthz`,
  /// `/readyz`); "" = served on `server.listen`. When set, the main listener answers
  /// `/metrics` with 404.
  std::string listen;
};

struct server_config {
  std::string listen = "127.0.0.1:8080";  ///< host:port; port 0 picks a free port
  int io_threads = 2;
  std::uint64_t max_body_bytes = 3145728;
  std::uint32_t max_header_bytes = 16384;
  int header_timeout_ms = 10000;  ///< from connect (or the previous response) to full headers
  int body_timeout_ms = 30000;    ///< to the last byte of the body
  int idle_timeout_ms = 60000;    ///< keep-alive with no request in flight
  int write_timeout_ms = 30000;
  int shutdown_grace_ms = 3000;  ///< how long in-flight requests get on SIGTERM
  std::uint32_t max_connections = 10000;
  int mailbox_high_water = 10000;  ///< past this many queued messages an actor sheds with 503
  /// Base URL platforms and people reach the gateway at (no trailing '/'), for links the gateway
  /// hands out (Meta's deletion-status URL); "" = "http://" + `listen`.
  std::string public_url;
  /// Peers whose `X-Forwarded-For` is believed (load balancers, reverse proxies): IP
  /// addresses or CIDR networks. Empty: the source of a request is always the TCP peer.
  std::vector<std::string> trusted_proxies;
  metrics_config metrics;
  tls_config tls;
  scheduler_config scheduler;
};

enum class durability { fsync, os, none };

/// `storage.postgres`: the shared database of several replicas (docs/scale-out.md).
struct postgres_config {
  /// A libpq connection string or URI. May hold a password: never logged (messages show it
  /// redacted, store/pg/connection.hpp).
  std::string dsn;
  int pool = 8;  ///< connections per replica
};

struct storage_config {
  /// memory | sqlite (the durable store of one machine) | postgres (several replicas)
  std::string backend = "memory";
  std::string path = "./data";
  postgres_config postgres;
  enum durability durability = durability::fsync;
  std::string master_key;  ///< 32 raw bytes (decoded from 64 hex characters); secret
  /// The store's root key (32 raw bytes; secret): the subjects' pseudonyms and the channels'
  /// derived keys come from it (store/root_key.hpp). The loader sets it to `master_key`, which
  /// it is until the store's first `rotate-master-key`; main replaces it by the store's
  /// (`config::set_root_key`) before anything uses it. Not a key of the file.
  std::string root_key;
};

struct rate_limit_config {
  double rps = 0;    ///< 0 = unlimited
  double burst = 0;  ///< bucket size; defaults to `rps` when not given
};

struct privacy_config {
  bool pseudonymize = false;
  bool redact_card_numbers = false;
  int retention_days = 30;
  std::vector<std::string> opt_out_keywords{"STOP", "UNSUBSCRIBE"};
  std::vector<std::string> opt_in_keywords{"START"};
  /// Support replies (within 24 h of the person's own message) still reach a subject who sent
  /// an opt-out keyword or is restricted. The opt-out withdraws marketing and unsolicited
  /// messages (DESIGN §7: "marketing and outbound non-replies"); answering a question the
  /// person just asked rests on the contract, so it stays allowed unless the tenant says no.
  bool allow_replies_after_opt_out = true;
};

/// A failed-verification budget (`limits.auth_failures_*`): requests whose signature does not
/// hold, per second, before further ones from the same source (or to the same channel) are
/// answered 429 instead of 401.
struct source_failure_limit : rate_limit_config {
  source_failure_limit() : rate_limit_config{5, 20} {}
};
struct channel_failure_limit : rate_limit_config {
  channel_failure_limit() : rate_limit_config{20, 100} {}
};

/// Top-level `limits`: the bounds of everything an outsider can make the gateway hold or do
/// (docs/security.md). Each has a default that legitimate traffic never reaches.
struct limits_config {
  /// Events one webhook body may carry; a body with more is refused with 413 (nothing stored).
  std::uint32_t events_per_webhook = 1000;
  /// Live conversation actors per tenant; past it the least recently used idle ones are
  /// stopped (their state is durable, so nothing is lost).
  std::uint32_t conversations_per_tenant = 100000;
  /// Concurrent `GET /v1/stream` connections per subscriber token; past it 429.
  std::uint32_t sse_streams_per_token = 64;
  /// Bytes of quarantined (signed but unparseable) bodies kept per channel; past it the
  /// channel's unparseable bodies are answered 503 with Retry-After (nothing is lost: the
  /// platform retries) until an operator purges or re-ingests some.
  std::uint64_t quarantine_bytes_per_channel = 16777216;
  /// Threads running privacy jobs (export, erasure, platform deletion requests).
  int privacy_workers = 2;
  /// Privacy jobs waiting for a worker; past it 503 with Retry-After.
  int privacy_queue = 256;
  /// Failed verifications per source address (after `server.trusted_proxies`).
  source_failure_limit auth_failures_per_source;
  /// Failed verifications per channel, all sources together.
  channel_failure_limit auth_failures_per_channel;
};

/// Top-level `privacy`: defaults for the tenants that do not set their own.
struct privacy_defaults_config {
  int retention_days = privacy_config{}.retention_days;
};

/// One channel. Type-specific settings (secrets, ids, api_base) live in `settings`; the keys each
/// type accepts are declared once, by that type's adapter (`adapters::schema`), and validated by
/// the loader against that declaration.
struct channel_config {
  std::string name;
  std::string type;
  std::map<std::string, std::string> settings;
  std::string source;  ///< "file:line" of the channel, for messages

  /// The setting's value, or "" when unset.
  const std::string& get(const std::string& key) const;
  /// A list setting's values (`setting_spec::list`), in file order; empty when unset.
  std::vector<std::string> list(const std::string& key) const;
};

enum class scope : unsigned { stream = 1, send = 2, privacy = 4, admin = 8 };

/// A scope's name in the config file, the API's errors and the OpenAPI document ("stream", ...).
const char* scope_name(scope s);

/// The push knobs' defaults, the one place they are written: `delivery::settings` starts from
/// them and the loader's key table documents them (a unit test pins both to docs/).
struct push_defaults {
  static constexpr int timeout_ms = 15000;
  static constexpr int max_in_flight = 8;
  /// The Standard Webhooks schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
  static constexpr std::array<std::int64_t, 8> retry_schedule_ms{
      0, 5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000};
};

/// A push subscriber's endpoint and delivery knobs. An unset knob takes the gateway's delivery
/// default (`delivery::settings`, which starts from `push_defaults`).
struct push_config {
  push_config() = default;
  push_config(std::string push_url, std::string push_secret)
      : url(std::move(push_url)), secret(std::move(push_secret)) {}

  std::string url;
  std::string secret;                ///< "whsec_<base64>" as Standard Webhooks
  /// The key being rotated out: deliveries carry a second signature with it; "" = none.
  std::string secret_previous;
  std::optional<int> timeout_ms;     ///< one attempt, connect included
  std::optional<int> max_in_flight;  ///< concurrent attempts of this subscriber
  /// Wait before attempt i+1 after attempt i failed; entry 0 is 0 (the first attempt is never
  /// delayed); as many attempts as entries.
  std::optional<std::vector<std::int64_t>> retry_schedule_ms;
};

struct subscriber_config {
  std::string name;
  std::string token_sha256;  ///< lower-case hex; empty = no API access (push only)
  unsigned scopes = 0;       ///< bit set of `scope`
  std::vector<std::string> purposes{"support"};
  std::optional<push_config> push;
  /// `POST /v1/messages` with this subscriber's token: a token bucket (rps 0 = unlimited).
  rate_limit_config send_rate_limit;

  bool has_scope(scope s) const { return (scopes & static_cast<unsigned>(s)) != 0; }
};

struct tenant_config {
  std::string id;
  rate_limit_config rate_limit;
  privacy_config privacy;
  std::vector<channel_config> channels;
  std::vector<subscriber_config> subscribers;
  /// The tenant's element of the file as an API body (JSON; `${VAR}` expanded, a literal `${`
  /// written `$${`), for the control plane to import (`control_plane.manage_file_tenants`).
  /// Set by the loader only when that key is true; "" otherwise and for tenants of the API.
  std::string file_object;

  const channel_config* find_channel(const std::string& name) const;
};

/// `cluster`: this replica among several on one PostgreSQL (docs/scale-out.md).
struct cluster_config {
  /// Unique per replica; "" = the listen address plus a random suffix, chosen at start.
  std::string node_id;
  /// How long a dead replica's singleton work (push delivery, senders, retention, outbox resume)
  /// waits before another replica takes it over.
  int lease_ms = 5000;
};

/// `log`: the format of the log lines on stderr (docs/operations.md "Logs").
enum class log_format { text, json };

struct log_config {
  log_format format = log_format::text;  ///< `--log-format` overrides it
  bool access = false;                   ///< one info line per finished request (the access log)
};

/// `control_plane`: tenants, channels and subscribers managed by API (docs/control-plane.md).
struct control_plane_config {
  /// A channel secret changed through the API: the previous one is still accepted this long.
  int secret_grace_seconds = 3600;
  /// The file's tenants are copied into the store once (at start or the reload that adds them)
  /// and served from there, changeable by API; the file's entry of an imported tenant is unread.
  bool manage_file_tenants = false;
};

/// One entry of the top-level `operators` list (docs/console.md): a person who runs the gateway.
/// The token works on every tenant with every scope; the request names the tenant with
/// `?tenant=<id>` (required when there are several tenants).
struct operator_config {
  std::string name;          ///< unique; audit entries name the caller "operator:<name>"
  std::string token_sha256;  ///< lower-case hex of the token's SHA-256; never the token
};

struct config {
  std::string source;  ///< file name the config came from ("<embedded>" for the default)
  server_config server;
  storage_config storage;
  cluster_config cluster;
  log_config log;
  control_plane_config control_plane;
  privacy_defaults_config privacy;
  limits_config limits;
  std::vector<tenant_config> tenants;
  std::vector<operator_config> operators;  ///< `operators`: tokens valid on every tenant

  /// `server.public_url`, or "http://" + `server.listen` when unset; never ends with '/'.
  std::string public_url() const {
    std::string url = server.public_url.empty() ? "http://" + server.listen : server.public_url;
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    return url;
  }

  const tenant_config* find_tenant(const std::string& id) const;
};

/// The tenants of `cfg` by id, for code that looks up many (`config::find_tenant` is a linear
/// scan: fine for one lookup, quadratic for one per tenant). Points into `cfg`.
std::unordered_map<std::string_view, const tenant_config*> tenants_by_id(const config& cfg);

/// `whole` with `tenant` as its only tenant: what a tenant's actors hold (the globals and their
/// own tenant), so a change to another tenant neither reaches nor retains them. Costs one
/// tenant's copy, not the whole config's. Every member of `config` but `tenants` is copied (a
/// unit test pins it: tests/unit/config/for_tenant_test.cpp).
std::shared_ptr<const config> for_tenant(const config& whole, const tenant_config& tenant);

/// What one channel type accepts, declared by its adapter. The loader rejects keys not listed,
/// reports missing required keys, and refuses empty secrets.
struct setting_spec {
  std::string key;
  bool required = false;
  bool secret = false;        ///< never logged
  std::string default_value;  ///< applied when absent and not required
  std::string description;
  /// The value is a YAML list of values (`allowed_origins: [a, b]`); a single value is a list
  /// of one. Kept in `channel_config::settings` joined with '\n' (`channel_config::list`),
  /// and no element may contain a line break.
  bool list = false;
  /// A key the gateway derives for the channel instead of reading it from the file (web chat's
  /// session-token key): HMAC-SHA256(`storage.master_key`, "channel-key:<tenant>/<channel>/<key>"),
  /// lower-case hex, filled by the loader. Writing it in the file is an error. Implies secret.
  bool derived = false;
};

/// A bad value of one channel setting, found by a type's `channel_schema::check`: `key` is the
/// setting, `problem` what is wrong with it ("must be a non-negative number").
struct setting_problem {
  std::string key;
  std::string problem;
};

struct channel_schema {
  std::string type;
  std::vector<setting_spec> settings;
  /// What the declarations alone cannot say (a value's form, settings that depend on each
  /// other): called by the loader with the channel's settings, defaults applied; each problem is
  /// reported like any config error, at the setting's line (the channel's when it was defaulted).
  /// Null: the type has no such rules. Pure; the adapters declare it (the loader is layered below
  /// them and knows no type's rules).
  std::function<std::vector<setting_problem>(const channel_config&)> check = nullptr;
};

/// Secret rotation without a window of refusals (docs/security.md "Rotating a platform secret"):
/// every secret setting `K` of a channel type that the file gives (not `derived`, not a `list`)
/// has an optional `K_previous`. Verification of inbound requests tries `K` first and, only when
/// the signature or token does not match, `K_previous`; outbound calls always use `K`. An empty
/// `K_previous` (an unset `${VAR:-}`) is no previous secret. Generated from the schema here, once:
/// the loader accepts exactly these keys, and adapters never see them.
inline constexpr char k_previous_suffix[] = "_previous";

/// Whether `key` is a `K_previous` setting (ends with `k_previous_suffix` after a `K`).
bool is_previous_key(std::string_view key);

/// The `K_previous` settings of `schema`, one per rotatable secret `K`, in schema order: optional,
/// secret, no default.
std::vector<setting_spec> previous_secret_settings(const channel_schema& schema);

/// The channel as it was before the rotation: a copy of `ch` with each `K` that has a non-empty
/// `K_previous` replaced by it. Nothing when the channel has no previous secret.
std::optional<channel_config> with_previous_secrets(const channel_config& ch);

/// One key of the YAML file as the loader declares it. The loader's declaration table is the
/// only place a key is written: it drives parsing, defaults, unknown-key detection and this
/// list, which a unit test checks against docs/configuration.md.
struct key_info {
  std::string path;           ///< e.g. "server.io_threads", "tenants[].channels[].name"
  std::string default_value;  ///< as one would write it in YAML; "" when there is none
  std::string allowed;        ///< accepted values, e.g. "1..64", "memory, sqlite"
  std::string description;
  bool required = false;
  bool secret = false;  ///< never echoed in messages
};

/// Every key the loader accepts, in declaration order. Channel-type settings are not listed:
/// each adapter declares those in its `channel_schema`.
const std::vector<key_info>& declared_keys();

}  // namespace sb::config

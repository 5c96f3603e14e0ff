#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "actors/gateway.hpp"
#include "adapters/adapter.hpp"
#include "config/config.hpp"
#include "core/event.hpp"
#include "store/event_log.hpp"

/// What a channel does with one webhook, as a plain class: verify, answer handshakes, parse,
/// stamp the gateway's fields. The channel actor is a thin shell around it; tests reach it
/// without an actor system. One instance per channel, used by one thread at a time.
namespace sb::actors {

/// Answer the request now (handshake, rejection, empty body).
struct respond_now {
  http_response response;
};
/// Store these events, then answer 200.
struct store_events {
  std::vector<event> events;
};
/// Signature valid, body unparseable: keep it, then answer 400 (200 with `answer_ok`).
struct quarantine_body {
  store::quarantined_body body;
  error err;
  /// The platform disables webhooks that fail and never retries
  /// (`adapters::adapter_info::ok_when_quarantined`): once kept, answer 200.
  bool answer_ok = false;
};
using ingest_outcome = std::variant<respond_now, store_events, quarantine_body>;

class channel_logic {
 public:
  /// `root_key` is the store's 32-byte root key (`storage.root_key`); the tenant's subject key
  /// derives from it.
  /// `privacy`: the tenant's redaction and pseudonymization settings, applied to every event
  /// before it is stored (privacy/redact.hpp). `max_events`: events one body may carry
  /// (`limits.events_per_webhook`).
  channel_logic(std::string tenant, const config::channel_config& channel,
                const adapters::adapter_info& info, const std::string& root_key,
                config::privacy_config privacy = {},
                std::size_t max_events = config::limits_config{}.events_per_webhook);

  /// Handles one request. `body` must carry simdjson padding capacity (see adapters::request);
  /// it is moved into the quarantine when unparseable, with the headers the adapter reads
  /// (except any whose value is one of the channel's secrets, such as Telegram's secret token).
  /// A verified body with more than `max_events` events is answered 413 `too_many_events` and
  /// nothing of it is kept. `verified`: the HTTP edge has verified this POST already
  /// (`webhook_submission::verified`), so `adapter::verify` is skipped; when false it is verified
  /// here.
  ingest_outcome ingest(std::string_view method, std::string_view query,
                        const std::vector<adapters::header>& headers, std::string& body,
                        bool verified = false);

  /// Parses a quarantined body again (re-ingest): as `ingest` of a POST whose signature holds,
  /// without verifying it (it was verified when it arrived, and the channel's secret may have
  /// been rotated since). `store_events` (stamped as `ingest` does), `respond_now` for a body
  /// without events, or `quarantine_body` whose `err` is the parser's refusal (the caller keeps
  /// the stored body as it is).
  ingest_outcome reingest(const std::vector<adapters::header>& headers, std::string& body);

  const std::string& name() const { return channel_name_; }
  const std::string& tenant() const { return tenant_; }
  /// The tenant's privacy settings (its opt-out/opt-in keywords, for the channel actor).
  const config::privacy_config& privacy() const { return privacy_; }

 private:
  /// Parses a body whose authenticity is settled; stamps its events.
  ingest_outcome parse(adapters::request& req, std::string& body);
  /// `adapter::verify` with the current secrets, then, on a wrong signature only, with the
  /// previous ones (`K_previous`, config/config.hpp) when the channel has any.
  status verify(const adapters::request& req);

  std::string tenant_;
  std::string channel_name_;
  std::string subject_key_;
  config::privacy_config privacy_;
  std::size_t max_events_;
  bool ok_when_quarantined_ = false;
  std::unique_ptr<adapters::adapter> adapter_;
  /// Built from `config::with_previous_secrets(channel)`; used for verification only, never
  /// for parsing. nullptr when the channel has no `K_previous`.
  std::unique_ptr<adapters::adapter> previous_adapter_;
  /// Values of the channel's secret settings (previous ones included): a header carrying one is not
  /// kept in quarantine.
  std::vector<std::string> secrets_;
};

/// The tenant's subject key: HMAC-SHA256(root_key, "subject-key:" + tenant), so subjects are
/// stable per tenant and unlinkable across tenants. `root_key` is the store's
/// (`storage.root_key`), which a master-key rotation does not change.
std::string derive_subject_key(const std::string& root_key, const std::string& tenant);

/// 200 answer of an ingested webhook: {"status":"ok","events":n,"duplicates":d}.
http_response accepted_response(std::size_t stored, std::size_t duplicates);

}  // namespace sb::actors

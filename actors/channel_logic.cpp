#include "actors/channel_logic.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "privacy/redact.hpp"

namespace sb::actors {

std::string derive_subject_key(const std::string& root_key, const std::string& tenant) {
  auto mac = crypto::hmac_sha256(root_key, "subject-key:" + tenant);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

http_response accepted_response(std::size_t stored, std::size_t duplicates) {
  http_response r;
  json::writer w(r.body);
  w.begin_object().key("status").value("ok");
  w.key("events").value(static_cast<std::uint64_t>(stored));
  w.key("duplicates").value(static_cast<std::uint64_t>(duplicates));
  w.end_object();
  return r;
}

channel_logic::channel_logic(std::string tenant, const config::channel_config& channel,
                             const adapters::adapter_info& info, const std::string& root_key,
                             config::privacy_config privacy, std::size_t max_events)
    : tenant_(std::move(tenant)),
      channel_name_(channel.name),
      subject_key_(derive_subject_key(root_key, tenant_)),
      privacy_(std::move(privacy)),
      max_events_(max_events),
      ok_when_quarantined_(info.ok_when_quarantined),
      adapter_(info.make(channel)) {
  for (const auto& spec : info.schema.settings) {
    if (spec.secret && !channel.get(spec.key).empty()) {
      secrets_.push_back(channel.get(spec.key));
    }
  }
  for (const auto& spec : config::previous_secret_settings(info.schema)) {
    if (!channel.get(spec.key).empty()) {
      secrets_.push_back(channel.get(spec.key));
    }
  }
  if (auto previous = config::with_previous_secrets(channel)) {
    previous_adapter_ = info.make(*previous);
  }
}

status channel_logic::verify(const adapters::request& req) {
  auto checked = adapter_->verify(req);
  if (!checked && previous_adapter_ && checked.err().code == errc::bad_signature &&
      previous_adapter_->verify(req)) {
    return {};  // the previous secret (K_previous) still matches: rotation in progress
  }
  return checked;
}

ingest_outcome channel_logic::ingest(std::string_view method, std::string_view query,
                                     const std::vector<adapters::header>& headers,
                                     std::string& body, bool verified) {
  adapters::request req;
  req.method = method;
  req.query = query;
  req.headers = &headers;
  req.body = body;
  if (method == "GET") {
    auto challenge = adapter_->handshake(req);
    if (!challenge && previous_adapter_ && challenge.err().code == errc::handshake_failed) {
      if (auto old = previous_adapter_->handshake(req)) {
        challenge = std::move(old);
      }
    }
    if (!challenge) {
      return respond_now{error_response(challenge.err().code, challenge.err().message)};
    }
    http_response r;
    r.content_type = "text/plain";
    r.body = std::move(challenge.value());
    return respond_now{std::move(r)};
  }
  req.now = sb::now();
  if (!verified) {
    if (auto checked = verify(req); !checked) {
      return respond_now{error_response(checked.err().code, checked.err().message)};
    }
  }
  return parse(req, body);
}

ingest_outcome channel_logic::reingest(const std::vector<adapters::header>& headers,
                                       std::string& body) {
  adapters::request req;
  req.method = "POST";
  req.headers = &headers;
  req.body = body;
  return parse(req, body);
}

ingest_outcome channel_logic::parse(adapters::request& req, std::string& body) {
  std::vector<event> events;
  if (auto parsed = adapter_->parse(req, events); !parsed) {
    // A request the gateway's own API refuses (a web chat visitor's bad message): answered as
    // it is and not kept. Quarantine is for platforms' bodies that must not be lost.
    if (parsed.err().code == errc::bad_request) {
      return respond_now{error_response(errc::bad_request, parsed.err().message)};
    }
    store::quarantined_body q;
    q.tenant = tenant_;
    q.channel = channel_name_;
    q.reason = parsed.err().message;
    q.received_at = now();
    for (const auto& h : *req.headers) {
      // A header that holds a secret (a shared token compared as is) is not needed to parse and
      // would only put the secret on disk and into the admin API.
      const bool secret = std::any_of(secrets_.begin(), secrets_.end(), [&](const auto& s) {
        return crypto::constant_time_equal(s, h.value);
      });
      if (!secret) {
        q.headers.push_back({h.name, h.value});
      }
    }
    q.body = std::move(body);
    return quarantine_body{std::move(q), parsed.err(), ok_when_quarantined_};
  }
  if (events.empty()) {
    return respond_now{accepted_response(0, 0)};
  }
  // Each event may spawn a conversation actor and is stored in one transaction: a signed body
  // must not carry more than the bound. All or nothing: the platform's retry meets the same
  // answer, so nothing of such a body is stored or quarantined.
  if (events.size() > max_events_) {
    return respond_now{error_response(errc::too_many_events,
                                      "the body carries " + std::to_string(events.size()) +
                                          " events; at most " + std::to_string(max_events_) +
                                          " are accepted per webhook (limits.events_per_webhook)")};
  }
  const timestamp received = now();
  for (auto& e : events) {
    e.id = ids::event_id();
    e.tenant = tenant_;
    e.received_at = received;
    if (!e.subject_source.empty()) {
      e.subject =
          ids::subject_id(subject_key_, e.channel.type, e.channel.account, e.subject_source);
    }
    // After the subject (derived from the platform id, which pseudonymization hides) and before
    // the store: what is redacted is never stored.
    privacy::redact_event(e, privacy_, subject_key_);
  }
  return store_events{std::move(events)};
}

}  // namespace sb::actors

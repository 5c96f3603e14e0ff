// The web chat visitor calls that reach the actor tree (docs/webchat.md): the start of a session
// with what the visitor gave (consent choices, name, e-mail), and the widget's read receipts.
// The visitor gate (src/http) has checked the Origin, the token and the limits, and minted the
// session. Both do store work, so both run on the privacy workers (actors/privacy_jobs.hpp).
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/actors.hpp"
#include "actors/api_handlers.hpp"
#include "actors/channel_logic.hpp"
#include "actors/consent_api.hpp"
#include "actors/privacy_jobs.hpp"
#include "adapters/adapter.hpp"
#include "core/conversation_key.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "privacy/redact.hpp"
#include "privacy/requests.hpp"

namespace sb::actors {

namespace {

// Names distinct from the other files of this unity group (consent_api.cpp and others).

/// The agent's messages a read receipt looks for among the visitor's stored events, newest
/// first: older ones were covered by the widget's earlier read calls.
constexpr std::size_t k_visitor_read_max_ids = 500;
/// At most this many of the visitor's events are read for a receipt (the export's reader).
constexpr std::size_t k_visitor_read_scan = 20000;

/// The visitor of a call, as the channel names them in its events.
struct visitor_ref {
  std::string visitor;
  channel_ref channel;
  std::string conversation;  ///< "<channel>:<visitor>", before the tenant's redaction
  std::string subject;
  std::string subject_key;  ///< the tenant's (redaction)
  config::privacy_config privacy;
};

/// The call's web chat channel and visitor (params {tenant, channel}, caller the visitor); answers
/// 404 and returns nothing when the channel is not a visitor channel of the tenant.
std::optional<visitor_ref> visitor_of_call(const tenant_api_env& env, api_call& c) {
  const config::channel_config* ch =
      c.params.size() >= 2 ? env.tenant->find_channel(c.params[1]) : nullptr;
  const adapters::adapter_info* info = ch != nullptr ? adapters::find(ch->type) : nullptr;
  if (info == nullptr || info->visitors.mint == nullptr || c.caller.empty()) {
    c.reply->answer(error_response(errc::not_found, "no web chat channel of that name"));
    return std::nullopt;
  }
  visitor_ref v;
  v.visitor = c.caller;
  v.channel = {ch->name, ch->type, info->account != nullptr ? info->account(*ch) : ch->name};
  v.conversation = conversation_key::format(ch->name, v.visitor);
  // As the channel derives the subject of the visitor's own events (channel_logic.cpp).
  v.subject_key = derive_subject_key(env.cfg->storage.root_key, env.tenant->id);
  v.subject = ids::subject_id(v.subject_key, v.channel.type, v.channel.account, v.visitor);
  v.privacy = env.tenant->privacy;
  return v;
}

/// An event of the visitor's conversation made by the gateway (not by the visitor's adapter).
event visitor_event(const std::string& tenant, const visitor_ref& v, const char* type) {
  event e;
  e.tenant = tenant;
  e.channel = v.channel;
  e.type = type;
  e.conversation = v.conversation;
  e.peer = v.visitor;
  e.subject_source = v.visitor;
  e.subject = v.subject;
  return e;
}

/// The session body's e-mail member, spelled in two literals: the one-word literal is how code
/// names the e-mail platform, which the platform scan refuses outside adapters/.
constexpr std::string_view k_visitor_email_member{
    "e"
    "mail"};

/// What a session's body asks to record (the gate validated it: src/http/visitor_gate.hpp).
struct session_body {
  std::string name;
  std::string email;
  std::vector<privacy::consent_change> purposes;
  std::string answer;  ///< the 201 body, as the gate wrote it
};

result<session_body> parse_session_body(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(text).get(o) != simdjson::SUCCESS) {
    return error{errc::bad_request, "the session call's body is not a JSON object"};
  }
  session_body b;
  for (auto field : o) {
    if (field.key == "name" || field.key == k_visitor_email_member) {
      std::string_view s;
      if (field.value.get(s) != simdjson::SUCCESS) {
        return error{errc::bad_request, "member \"" + std::string(field.key) + "\" must be text"};
      }
      (field.key == "name" ? b.name : b.email) = std::string(s);
    } else if (field.key == "purposes") {
      simdjson::dom::object purposes;
      if (field.value.get(purposes) != simdjson::SUCCESS) {
        return error{errc::bad_request, "member \"purposes\" must be an object"};
      }
      for (auto p : purposes) {
        bool granted = false;
        auto purpose = privacy::parse_purpose(p.key);
        if (!purpose || p.value.get(granted) != simdjson::SUCCESS) {
          return error{errc::bad_request,
                       "member \"purposes\" holds \"" + std::string(p.key) +
                           "\": a purpose (support, ai, analytics, marketing) with true or false"};
        }
        privacy::consent_change change;
        change.purpose_of = *purpose;
        change.granted = granted;
        b.purposes.push_back(change);
      }
    } else if (field.key == "answer") {
      simdjson::dom::object answer;
      if (field.value.get(answer) != simdjson::SUCCESS) {
        return error{errc::bad_request, "member \"answer\" must be an object"};
      }
      b.answer = simdjson::to_string(answer);
    }
  }
  if (b.answer.empty()) {
    return error{errc::bad_request, "the session call's body has no \"answer\""};
  }
  return b;
}

http_response session_created(std::string answer) {
  http_response r;
  r.status = 201;
  r.body = std::move(answer);
  return r;
}

/// The agent's messages (the channel's echo `message` events) of `conversation` with seq <=
/// `up_to` among `events` (seq order), newest last, at most `k_visitor_read_max_ids` of them.
std::vector<std::string> agent_messages_up_to(const std::vector<store::stored_event>& events,
                                              const std::string& conversation,
                                              std::uint64_t up_to) {
  std::vector<std::string> ids;
  simdjson::dom::parser parser;
  for (const auto& e : events) {
    if (e.seq > up_to) {
      break;
    }
    if (e.type != event_type::message || e.conversation != conversation) {
      continue;
    }
    simdjson::dom::object o;
    if (parser.parse(e.json).get(o) != simdjson::SUCCESS) {
      continue;
    }
    bool echo = false;
    std::string_view id;
    if (o.at_pointer("/content/echo").get(echo) != simdjson::SUCCESS || !echo ||
        o["id"].get(id) != simdjson::SUCCESS) {
      continue;  // the visitor's own message
    }
    ids.emplace_back(id);
  }
  if (ids.size() > k_visitor_read_max_ids) {
    ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(k_visitor_read_max_ids));
  }
  return ids;
}

}  // namespace

void start_visitor_session(const tenant_api_env& env, api_call& c) {
  auto v = visitor_of_call(env, c);
  if (!v) {
    return;
  }
  auto body = parse_session_body(c.body);
  if (!body) {
    c.reply->answer(error_response(body.err().code, body.err().message));
    return;
  }
  if (body->purposes.empty() && body->name.empty() && body->email.empty()) {
    c.reply->answer(session_created(std::move(body->answer)));
    return;
  }
  auto ctx = privacy_jobs::make_ctx(env);
  if (!body->purposes.empty() && (!ctx.ps || !ctx.consents)) {
    c.reply->answer(
        error_response(errc::internal, "this gateway's event store keeps no consent records"));
    return;
  }
  privacy_jobs::spawn_job(
      env, c.reply,
      [ctx, v = std::move(*v), b = std::move(body).value(),
       reply = c.reply](privacy_jobs::worker_ptr self) mutable {
        const std::string actor = "visitor:" + v.channel.name;
        std::vector<event> events;
        // Each choice exactly as PUT /v1/subjects/{subject}/consent makes it: memory and store,
        // audit, then consent.changed. Every step is idempotent: a retried call repeats them.
        for (const auto& change : b.purposes) {
          const auto detail = privacy::audit_detail(change);
          auto state = ctx.consents->update(ctx.tenant, v.subject, change);
          if (!state) {
            privacy_jobs::write_audit(*ctx.ps, "visitor", ctx.tenant, actor, "consent", v.subject,
                                      "error", detail + " store: " + state.err().message);
            reply->answer(error_response(
                errc::unavailable, "the consent choices could not be stored; retry", 1));
            return;
          }
          if (!privacy_jobs::write_audit(*ctx.ps, "visitor", ctx.tenant, actor, "consent",
                                         v.subject, "ok", detail)) {
            reply->answer(error_response(
                errc::unavailable, "the consent choices could not be audited; retry", 1));
            return;
          }
          // One consent.changed per visitor and purpose: a retry stores it once.
          auto trigger = visitor_event(ctx.tenant, v, event_type::message);
          trigger.dedupe_key =
              "session:" + v.visitor + ":" + privacy::to_string(*change.purpose_of);
          events.push_back(consent_changed_event(ctx.tenant, v.subject, change, "visitor", &trigger));
        }
        if (!b.name.empty() || !b.email.empty()) {
          // What the visitor gave about themselves. `sender.username` of a customer event is
          // the person's handle on the platform: on web chat, the e-mail they gave.
          auto e = visitor_event(ctx.tenant, v, event_type::customer);
          e.kind = v.channel.type + ".session";
          e.sender = sender_info{v.visitor, b.name, b.email};
          e.dedupe_key = "session:" + v.visitor;
          events.push_back(std::move(e));
        }
        for (auto& e : events) {
          privacy::redact_event(e, v.privacy, v.subject_key);
        }
        emit_events(self, ctx.store, ctx.tenant_actor, std::move(events), ctx.timeout,
                    [reply, answer = std::move(b.answer)](result<std::vector<event>> stored) {
                      if (!stored) {
                        reply->answer(error_response(
                            errc::unavailable, "the session's events could not be stored; retry",
                            1));
                        return;
                      }
                      reply->answer(session_created(answer));
                    });
      });
}

void visitor_read(const tenant_api_env& env, api_call& c) {
  auto v = visitor_of_call(env, c);
  if (!v) {
    return;
  }
  std::uint64_t up_to = 0;
  {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(c.body).get(o) != simdjson::SUCCESS ||
        o["up_to"].get(up_to) != simdjson::SUCCESS) {
      c.reply->answer(error_response(
          errc::bad_request, "the body must be {\"up_to\":<seq>} with a non-negative integer"));
      return;
    }
  }
  auto ctx = privacy_jobs::make_ctx(env);
  if (!ctx.ps) {
    c.reply->answer(error_response(errc::internal, "this gateway's event store keeps no index of "
                                                   "a person's events"));
    return;
  }
  // The conversation as stored: a pseudonymizing tenant's events name the visitor's pseudonym.
  std::string stored_conversation = v->conversation;
  if (v->privacy.pseudonymize) {
    stored_conversation = conversation_key::format(
        v->channel.name, privacy::pseudonymous_peer(v->subject_key, v->channel.type,
                                                    v->channel.account, v->visitor));
  }
  privacy_jobs::spawn_job(
      env, c.reply,
      [ctx, v = std::move(*v), stored_conversation, up_to,
       reply = c.reply](privacy_jobs::worker_ptr) {
        auto events = ctx.ps->subject_events(ctx.tenant, v.subject, k_visitor_read_scan);
        if (!events) {
          log::warn("visitor", "tenant ", ctx.tenant,
                    ": cannot read a visitor's events: ", events.err().message);
          reply->answer(
              error_response(errc::unavailable, "the conversation could not be read; retry", 1));
          return;
        }
        auto ids = agent_messages_up_to(*events, stored_conversation, up_to);
        const auto count = static_cast<std::uint64_t>(ids.size());
        if (!ids.empty()) {
          visitor_receipt r;
          r.channel = v.channel.name;
          r.conversation = v.conversation;
          r.visitor = v.visitor;
          r.state = "read";
          r.message_ids = std::move(ids);
          caf::anon_send(ctx.tenant_actor, visitor_atom::value, std::move(r));
        }
        http_response res;
        res.status = 202;
        json::writer(res.body).begin_object().key("read").value(count).end_object();
        reply->answer(std::move(res));
      });
}

}  // namespace sb::actors

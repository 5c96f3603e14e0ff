#include "actors/quarantine_api.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "actors/actors.hpp"
#include "actors/privacy_api.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/url.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

/// channel (through a responder) -> re-ingest job (`reingest_atom`): how the channel answered.
struct reingest_done {
  http_response response;
};

}  // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::reingest_done)

namespace sb::actors {

namespace {

/// The one-shot re-ingest job of `POST /v1/quarantine/{id}/reingest`, in pseudo-code:
///
///   interface reingest_job {
///     // The channel's answer to the re-ingested body: relayed to the caller; on 200 the body
///     // leaves the quarantine. It quits after answering (or after a bounded wait).
///     (reingest_atom, reingest_done) -> void
///   }
///
/// Detached: it reads and deletes the quarantined body on disk.
using reingest_job_actor = caf::typed_actor<caf::reacts_to<reingest_atom, reingest_done>>;

constexpr std::size_t k_max_limit = 1000;

/// What a one-shot job copies out of the tenant actor (the job outlives the handler).
struct quarantine_ctx {
  std::string tenant;
  std::shared_ptr<const config::config> cfg;  ///< keeps `tenant_cfg` alive
  const config::tenant_config* tenant_cfg = nullptr;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::privacy_store> ps;  ///< its audit log; null = none kept
  actors::tenant_actor tenant_actor;
  std::string caller;  ///< audit: "subscriber:<name>"
  std::chrono::milliseconds timeout{std::chrono::seconds{10}};
};

quarantine_ctx make_quarantine_ctx(const tenant_api_env& env, const api_call& c) {
  quarantine_ctx ctx;
  ctx.tenant = env.tenant->id;
  ctx.cfg = env.cfg;
  ctx.tenant_cfg = env.tenant;
  ctx.log = env.stores.log;
  ctx.ps = env.stores.privacy;
  ctx.tenant_actor = caf::actor_cast<actors::tenant_actor>(env.self);
  ctx.caller = "subscriber:" + c.caller;
  ctx.timeout = env.settings.store_timeout;
  return ctx;
}

/// Runs `fn(self)` in a one-shot actor on its own thread: store reads and fsync'd deletes block
/// neither the tenant's mailbox nor a scheduler thread. Admin calls are rare.
template <class Fn>
void spawn_job(caf::local_actor* parent, Fn fn) {
  parent->spawn<caf::detached>(
      [fn = std::move(fn)](caf::event_based_actor* self) mutable { fn(self); });
}

http_response store_error(const error& e) {
  return e.code == errc::not_found
             ? error_response(errc::not_found, e.message)
             : error_response(errc::unavailable, "could not reach the quarantine; retry", 1);
}

/// Writes an audit entry (privacy audit log); logged, not fatal, when the store refuses it.
void audit(const quarantine_ctx& ctx, std::string action, std::string outcome, std::string detail) {
  const auto& ps = ctx.ps;
  if (!ps) {
    return;
  }
  store::audit_entry a;
  a.at = now();
  a.tenant = ctx.tenant;
  a.actor = ctx.caller;
  a.action = std::move(action);
  a.outcome = std::move(outcome);
  a.detail = std::move(detail);
  if (auto id = ps->audit(std::move(a)); !id) {
    log::error("quarantine", "cannot write an audit entry of tenant ", ctx.tenant, ": ",
               id.err().message);
  }
}

std::string entry_detail(const store::quarantine_entry& e) {
  return "id=" + std::to_string(e.id) + " channel=" + e.channel +
         " bytes=" + std::to_string(e.bytes);
}

/// Parses the call's id (answers 400 itself when it is not one).
std::optional<std::uint64_t> id_of(api_call& c) {
  auto id = parse_quarantine_id(c.params);
  if (!id) {
    c.reply->answer(error_response(id.err().code, id.err().message));
    return std::nullopt;
  }
  return *id;
}

}  // namespace

// -- plain logic -----------------------------------------------------------------------------

result<quarantine_query> parse_quarantine_query(std::string_view query) {
  quarantine_query q;
  auto channel = url::decoded_query_param(query, "channel");
  if (!channel) {
    return channel.err();
  }
  if (channel->has_value()) {
    q.channel = std::move(**channel);
  }
  if (auto st = url::parse_after_param(query, q.after); !st) {
    return st.err();
  }
  if (auto st = url::parse_limit_param(query, k_max_limit, q.limit); !st) {
    return st.err();
  }
  return q;
}

result<std::uint64_t> parse_quarantine_id(const std::vector<std::string>& params) {
  auto id = params.empty() ? std::nullopt : url::parse_u64(params.front());
  if (!id || *id == 0) {
    return error{errc::bad_request,
                 "path parameter 'id' must be a quarantine id (a positive integer)"};
  }
  return *id;
}

std::string quarantine_list_json(const std::vector<store::quarantine_entry>& entries,
                                 std::uint64_t next,
                                 std::optional<std::pair<std::uint64_t, std::uint64_t>> usage) {
  std::string out;
  json::writer w(out);
  w.begin_object().key("quarantined").begin_array();
  for (const auto& e : entries) {
    w.begin_object().key("id").value(e.id).key("channel").value(e.channel);
    w.key("reason").value(e.reason).key("received_at").value(to_rfc3339(e.received_at));
    w.key("bytes").value(e.bytes).end_object();
  }
  w.end_array().key("next").value(next);
  if (usage) {
    w.key("used_bytes").value(usage->first).key("quota_bytes").value(usage->second);
  }
  w.end_object();
  return out;
}

std::string quarantine_meta_json(const store::quarantined_body& b) {
  std::string out;
  json::writer w(out);
  w.begin_object().key("id").value(b.id).key("channel").value(b.channel);
  w.key("reason").value(b.reason).key("received_at").value(to_rfc3339(b.received_at));
  w.key("bytes").value(static_cast<std::uint64_t>(b.body.size()));
  w.key("headers").begin_object();
  for (const auto& h : b.headers) {
    w.key(h.name).value(h.value);
  }
  w.end_object().end_object();
  return out;
}

// -- API calls -------------------------------------------------------------------------------

void list_quarantine(const tenant_api_env& env, api_call& c) {
  auto q = parse_quarantine_query(c.query);
  if (!q) {
    c.reply->answer(error_response(q.err().code, q.err().message));
    return;
  }
  const std::uint64_t quota = env.cfg->limits.quarantine_bytes_per_channel;
  spawn_job(env.self, [ctx = make_quarantine_ctx(env, c), q = std::move(*q), quota,
                       reply = c.reply](caf::event_based_actor*) {
    auto entries = ctx.log->quarantine_list(ctx.tenant, q.channel, q.after, q.limit);
    if (!entries) {
      reply->answer(store_error(entries.err()));
      return;
    }
    std::optional<std::pair<std::uint64_t, std::uint64_t>> usage;
    if (!q.channel.empty()) {
      auto used = ctx.log->quarantine_used(ctx.tenant, q.channel);
      if (!used) {
        reply->answer(store_error(used.err()));
        return;
      }
      usage.emplace(*used, quota);
    }
    http_response r;
    r.body = quarantine_list_json(*entries, entries->empty() ? q.after : entries->back().id, usage);
    reply->answer(std::move(r));
  });
}

void get_quarantined(const tenant_api_env& env, api_call& c) {
  auto id = id_of(c);
  if (!id) {
    return;
  }
  const bool meta = url::raw_query_param(c.query, "meta").has_value();
  spawn_job(env.self,
            [ctx = make_quarantine_ctx(env, c), id = *id, meta, reply = c.reply](caf::event_based_actor*) {
              auto b = ctx.log->quarantined_one(ctx.tenant, id);
              if (!b) {
                reply->answer(store_error(b.err()));
                return;
              }
              http_response r;
              if (meta) {
                r.body = quarantine_meta_json(*b);
              } else {
                // The body may hold personal data: its reading is on record, as an export's is.
                audit(ctx, "quarantine_download", "ok",
                      entry_detail({b->id, b->channel, b->reason, b->received_at, b->body.size()}));
                r.content_type = "application/octet-stream";
                r.body = std::move(b->body);
              }
              reply->answer(std::move(r));
            });
}

void purge_quarantined(const tenant_api_env& env, api_call& c) {
  auto id = id_of(c);
  if (!id) {
    return;
  }
  spawn_job(env.self, [ctx = make_quarantine_ctx(env, c), id = *id, reply = c.reply](caf::event_based_actor*) {
    auto dropped = ctx.log->drop_quarantined(ctx.tenant, id);
    if (!dropped) {
      reply->answer(store_error(dropped.err()));
      return;
    }
    audit(ctx, "quarantine_purge", "ok", entry_detail(*dropped));
    http_response r;
    json::writer w(r.body);
    w.begin_object().key("purged").value(std::uint64_t{1});
    w.key("bytes").value(dropped->bytes).end_object();
    reply->answer(std::move(r));
  });
}

void purge_quarantine_of_channel(const tenant_api_env& env, api_call& c) {
  auto q = parse_quarantine_query(c.query);
  if (!q) {
    c.reply->answer(error_response(q.err().code, q.err().message));
    return;
  }
  if (q->channel.empty()) {
    c.reply->answer(error_response(errc::bad_request,
                                   "parameter 'channel' is required: purge one channel at a time"));
    return;
  }
  spawn_job(env.self, [ctx = make_quarantine_ctx(env, c), channel = q->channel,
                       reply = c.reply](caf::event_based_actor*) {
    auto purged = ctx.log->drop_quarantine_of(ctx.tenant, channel);
    if (!purged) {
      reply->answer(store_error(purged.err()));
      return;
    }
    audit(ctx, "quarantine_purge", "ok",
          "channel=" + channel + " bodies=" + std::to_string(purged->bodies) +
              " bytes=" + std::to_string(purged->bytes));
    http_response r;
    json::writer w(r.body);
    w.begin_object().key("purged").value(purged->bodies);
    w.key("bytes").value(purged->bytes).end_object();
    reply->answer(std::move(r));
  });
}

void reingest_quarantined(const tenant_api_env& env, api_call& c) {
  auto id = id_of(c);
  if (!id) {
    return;
  }
  env.self->spawn<caf::detached>([ctx = make_quarantine_ctx(env, c), id = *id,
                                  reply = c.reply](reingest_job_actor::pointer self)
                                     -> reingest_job_actor::behavior_type {
    auto b = ctx.log->quarantined_one(ctx.tenant, id);
    if (!b) {
      reply->answer(store_error(b.err()));
      return no_behavior<reingest_job_actor>();
    }
    if (ctx.tenant_cfg->find_channel(b->channel) == nullptr) {
      reply->answer(error_response(
          errc::unknown_channel,
          "channel " + b->channel + " is no longer configured; the body stays (purge it)"));
      return no_behavior<reingest_job_actor>();
    }
    auto msg = std::make_shared<reingest_msg>();
    for (auto& h : b->headers) {
      msg->headers.push_back({std::move(h.name), std::move(h.value)});
    }
    {
      webhook_submission w;
      w.tenant = ctx.tenant;
      w.channel = b->channel;
      w.method = "POST";
      w.headers = msg->headers;
      w.body = b->body;  // for the types that name privacy requests inside the body
      if (is_privacy_webhook(*ctx.tenant_cfg, w)) {
        reply->answer(error_response(
            errc::bad_request,
            "this body is a platform privacy request: re-ingesting would store it without acting "
            "on it; the body stays (purge it once the request is handled)"));
        return no_behavior<reingest_job_actor>();
      }
    }
    const store::quarantine_entry entry{b->id, b->channel, b->reason, b->received_at,
                                        b->body.size()};
    msg->body = std::move(b->body);
    msg->body.reserve(msg->body.size() + 64);  // simdjson padding
    auto me = caf::actor_cast<reingest_job_actor>(self);
    // Through the channel's own actor: its adapter instance, and the path every webhook takes
    // after parsing (store writer, consent keywords, the tenant's announcement).
    self->request(ctx.tenant_actor, ctx.timeout, find_chan_atom::value, entry.channel)
        .then(
            [self, me, msg](channel_actor& channel) {
              msg->reply = std::make_shared<responder>([me](http_response r) {
                caf::anon_send(me, reingest_atom::value, reingest_done{std::move(r)});
              });
              self->send(channel, reingest_atom::value, std::move(*msg));
            },
            [self, reply](caf::error&) {
              reply->answer(error_response(errc::unavailable, "channel is restarting; retry", 1));
              self->quit();
            });
    return {
        [self, ctx, entry, reply](reingest_atom, reingest_done& d) {
          if (d.response.status == 200) {
            // The events are durable (or recognised duplicates): the body leaves the quarantine.
            // Should this delete fail, a second re-ingest finds its events as duplicates.
            auto dropped = ctx.log->drop_quarantined(ctx.tenant, entry.id);
            if (!dropped && dropped.err().code != errc::not_found) {
              log::error("quarantine", ctx.tenant, ": body ", entry.id,
                         " was re-ingested but not deleted: ", dropped.err().message);
            }
            audit(ctx, "quarantine_reingest", "ok", entry_detail(entry));
          }
          reply->answer(std::move(d.response));
          self->quit();
        },
        // The channel answers through the responder even when it dies (its destructor answers
        // 503); this bounds the job's life should anything else go wrong.
        caf::after(3 * ctx.timeout + std::chrono::seconds{5}) >>
            [self, reply] {
              reply->answer(error_response(errc::unavailable, "the re-ingest timed out; retry", 1));
              self->quit();
            },
    };
  });
}

void enable_subscriber(const tenant_api_env& env, api_call& c) {
  const std::string name = c.params.empty() ? std::string() : c.params.front();
  const bool push = std::any_of(env.tenant->subscribers.begin(), env.tenant->subscribers.end(),
                                [&](const auto& s) { return s.name == name && s.push; });
  if (!push) {
    c.reply->answer(error_response(errc::not_found, "no push subscriber of that name"));
    return;
  }
  // The tenant's own lookup, answered from its mailbox after this handler returns.
  auto* self = env.self;
  self->request(caf::actor_cast<tenant_actor>(self), std::chrono::seconds{5}, find_push_atom::value,
                name)
      .then(
          [self, name, reply = c.reply](subscriber_actor& sub) {
            self->send(sub, enable_atom::value, enable_request{name, reply});
          },
          [reply = c.reply](caf::error&) {
            reply->answer(error_response(errc::unavailable, "subscriber is restarting; retry", 1));
          });
}

}  // namespace sb::actors

#include "actors/privacy_api.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <utility>

#include "actors/actors.hpp"
#include "actors/channel_logic.hpp"
#include "actors/privacy_jobs.hpp"
#include "adapters/adapter.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/url.hpp"
#include "privacy/consent.hpp"
#include "privacy/erasure_flow.hpp"

namespace sb::actors {

namespace {

/// How long the tenant may take to have its push subscribers drop an erased subject's events.
constexpr std::chrono::seconds k_purge_timeout{5};
constexpr std::size_t k_audit_default_limit = 100;
constexpr std::size_t k_audit_max_limit = 1000;

// -- what a one-shot job needs ---------------------------------------------------------------

using privacy_jobs::caller_of;
using privacy_jobs::job_ctx;
using privacy_jobs::make_ctx;
using privacy_jobs::spawn_job;
using privacy_jobs::subject_param;

http_response unavailable(std::string_view what) {
  return error_response(errc::unavailable, what, 1);
}

http_response no_privacy_store() {
  return error_response(errc::internal, "this gateway's event store keeps no privacy data");
}

/// Writes an audit entry; false (logged) when the store refused it.
bool audit(store::privacy_store& ps, const std::string& tenant, std::string actor,
           std::string action, std::string subject, std::string outcome, std::string detail) {
  return privacy_jobs::write_audit(ps, "privacy", tenant, std::move(actor), std::move(action),
                                   std::move(subject), std::move(outcome), std::move(detail));
}

/// The subject's consent state as the API renders it (privacy::to_json): from the registry when
/// the gateway has one, else from the store's record.
std::string consent_json(const job_ctx& ctx, const std::string& subject) {
  std::optional<privacy::consent_state> s;
  if (ctx.consents) {
    s = ctx.consents->find(ctx.tenant, subject);
  } else {
    for (const auto& r : ctx.ps->consents(ctx.tenant)) {
      if (r.subject == subject) {
        s = privacy::from_record(r);
      }
    }
  }
  return privacy::to_json(subject, s.value_or(privacy::consent_state{}));
}

struct built_export {
  std::string json;
  std::size_t events = 0;
  bool truncated = false;
};

/// The subject's export, or the store's error. In a job.
result<built_export> build_export(const job_ctx& ctx, const std::string& subject) {
  auto events = ctx.ps->subject_events(ctx.tenant, subject, k_export_limit + 1);
  if (!events) {
    return events.err();
  }
  built_export out;
  out.events = std::min(events->size(), k_export_limit);
  out.truncated = events->size() > k_export_limit;
  out.json =
      export_json(ctx.tenant, subject, *events, k_export_limit, consent_json(ctx, subject), now());
  return out;
}

// -- platform privacy requests: each carried out once -----------------------------------------

/// A claimed platform privacy request (store::privacy_store::claim_privacy_request), abandoned
/// unless finished: the job's continuations share it, so a job that ends any other way (an
/// error, a worker that went down) leaves the request to the platform's retry.
class request_claim {
 public:
  request_claim(const job_ctx& ctx, std::string channel, std::string kind,
                store::privacy_request_claim claim)
      : ps_(ctx.ps),
        tenant_(ctx.tenant),
        channel_(std::move(channel)),
        kind_(std::move(kind)),
        claim_(std::move(claim)) {}
  request_claim(const request_claim&) = delete;
  request_claim& operator=(const request_claim&) = delete;
  ~request_claim() {
    if (!finished_) {
      ps_->abandon_privacy_request(claim_);
    }
  }

  /// Records the request as carried out; `code` is what the answer named (for a replay's).
  bool finish(std::string code) {
    store::privacy_request r;
    r.tenant = tenant_;
    r.channel = channel_;
    r.kind = kind_;
    r.code = std::move(code);
    r.done_at = now();
    auto st = ps_->finish_privacy_request(claim_, r);
    if (!st) {
      log::error("privacy", "tenant ", tenant_, ": cannot record a ", kind_, " request of ",
                 channel_, " as done: ", st.err().message);
      return false;
    }
    finished_ = true;
    return true;
  }

 private:
  std::shared_ptr<store::privacy_store> ps_;
  std::string tenant_;
  std::string channel_;
  std::string kind_;
  store::privacy_request_claim claim_;
  bool finished_ = false;
};

using claim_ptr = std::shared_ptr<request_claim>;

/// Claims the platform's privacy request `request` (its signed bytes, or a hash of them) of
/// `kind` on `channel`. A new request: the claim, to finish once it is carried out. A replay of
/// one carried out before: `replayed(record)` answers it, and null is returned (nothing is done
/// or audited again); likewise (503, retry) while the same request is being carried out, or when
/// the store cannot tell.
claim_ptr claim_request(const job_ctx& ctx, const std::string& channel, const std::string& kind,
                        std::string_view request, const responder_ptr& reply,
                        const std::function<void(const store::privacy_request&)>& replayed) {
  auto c = ctx.ps->claim_privacy_request(ctx.tenant, channel, kind, request);
  if (!c) {
    log::error("privacy", "tenant ", ctx.tenant, ": cannot look up a ", kind,
               " request: ", c.err().message);
    reply->answer(unavailable("could not tell whether this request was carried out; retry"));
    return nullptr;
  }
  switch (c->st) {
    case store::privacy_request_claim::state::done:
      replayed(c->done);
      return nullptr;
    case store::privacy_request_claim::state::in_progress:
      reply->answer(unavailable("the same request is being carried out; retry"));
      return nullptr;
    case store::privacy_request_claim::state::claimed:
      break;
  }
  return std::make_shared<request_claim>(ctx, channel, kind, std::move(c).value());
}

/// Claims the platform's privacy request `request` (its signed bytes, or a hash of them) of
/// `kind` on `channel` for an erasure: what the store says, as the erasure flow takes it; when
/// newly claimed, `out` holds the claim.
privacy::claim_outcome claim_for_erasure(const job_ctx& ctx, const std::string& channel,
                                         const std::string& kind, std::string_view request,
                                         claim_ptr& out) {
  using st = privacy::claim_outcome::state;
  auto c = ctx.ps->claim_privacy_request(ctx.tenant, channel, kind, request);
  if (!c) {
    log::error("privacy", "tenant ", ctx.tenant, ": cannot look up a ", kind,
               " request: ", c.err().message);
    return {st::failed, {}};
  }
  switch (c->st) {
    case store::privacy_request_claim::state::done:
      return {st::done, c->done.code};
    case store::privacy_request_claim::state::in_progress:
      return {st::in_progress, {}};
    case store::privacy_request_claim::state::claimed:
      break;
  }
  out = std::make_shared<request_claim>(ctx, channel, kind, std::move(c).value());
  return {st::claimed, {}};
}

// -- erasure ---------------------------------------------------------------------------------

/// The answer to a data-deletion callback: where the status is, and the code.
http_response deletion_answer(const job_ctx& ctx, const std::string& code) {
  http_response resp;
  json::writer w(resp.body);
  w.begin_object();
  w.key("url").value(ctx.cfg->public_url() + "/v1/deletion-status/" + code);
  w.key("confirmation_code").value(code);
  w.end_object();
  return resp;
}

/// One erasure in a privacy job: the flow (privacy/erasure_flow.hpp) and what its driver needs
/// to perform the flow's steps. Lives in the job's worker, shared by the continuations of its
/// requests; a platform request's claim is abandoned with it unless recorded.
struct erasure_run {
  erasure_run(privacy_jobs::worker_ptr s, job_ctx c, privacy::erasure_request request,
              responder_ptr rp)
      : self(s), ctx(std::move(c)), flow(std::move(request)), reply(std::move(rp)) {}

  privacy_jobs::worker_ptr self = nullptr;
  job_ctx ctx;
  privacy::erasure_flow flow;
  responder_ptr reply;
  /// A platform request: where it came from, what it is, its bytes (`claim`), the claim.
  std::string request_channel;
  std::string request_kind;
  std::string request_bytes;
  claim_ptr claim;
  timestamp requested;            ///< a deletion callback's arrival
  std::uint64_t through_seq = 0;  ///< the log's head when the subjects were forgotten
};

/// The flow's answer in the form its origin expects.
http_response erasure_response(const erasure_run& r) {
  const auto& f = r.flow;
  const auto& a = f.answer();
  if (a.code != errc::ok) {
    return unavailable(a.message);
  }
  switch (f.request().origin) {
    case privacy::erasure_origin::api: {
      http_response res;
      json::writer w(res.body);
      w.begin_object().key("receipt").value(a.receipt).key("subject").value(f.subject());
      w.key("erased").begin_object();
      w.key("events").value(a.outcome.events).key("dedupe_keys").value(a.outcome.dedupe_keys);
      w.key("dead_letters").value(a.outcome.dead_letters);
      w.key("key_destroyed").value(a.outcome.key_destroyed);
      w.end_object().end_object();
      return res;
    }
    case privacy::erasure_origin::deletion_callback:
      // The same signed_request again (Meta's retry, or a replay within the hour) is answered
      // with the first one's code: one erasure, one audit entry.
      return deletion_answer(r.ctx, a.replayed ? a.replayed_code : f.request().code);
    case privacy::erasure_origin::platform_request:
      return a.replayed ? accepted_response(0, 1) : accepted_response(a.stored, a.duplicates);
  }
  return unavailable("the erasure could not be completed; retry");
}

/// Records the platform request as carried out: a deletion callback's status page first, then
/// the claim.
bool record_request(erasure_run& r) {
  const auto& f = r.flow;
  if (f.request().origin == privacy::erasure_origin::deletion_callback) {
    store::deletion_request d;
    d.code = f.record_code();
    d.tenant = r.ctx.tenant;
    d.channel = r.request_channel;
    d.subject = f.subject();
    d.state = "completed";
    d.requested_at = r.requested;
    d.completed_at = now();
    if (auto s = r.ctx.ps->put_deletion_request(d); !s) {
      log::error("privacy", "cannot store a deletion request of tenant ", r.ctx.tenant, ": ",
                 s.err().message);
      return false;
    }
  }
  return r.claim && r.claim->finish(f.record_code());
}

/// Performs the flow's steps until one waits for an answer or the flow is done, then answers.
/// The store's steps run here, in the privacy worker; the tenant's and the store writer's are
/// requests whose answers continue the flow in this worker.
void drive(const std::shared_ptr<erasure_run>& r) {
  auto& f = r->flow;
  auto& ctx = r->ctx;
  auto& ps = *ctx.ps;
  for (;;) {
    switch (f.next()) {
      case privacy::erasure_step::claim:
        f.on_claimed(claim_for_erasure(ctx, r->request_channel, r->request_kind, r->request_bytes,
                                       r->claim));
        break;
      case privacy::erasure_step::erase:
        f.on_erased(f.channel_wide() ? ps.erase_channel(ctx.tenant, f.channel())
                                     : ps.erase_subject(ctx.tenant, f.subject()));
        break;
      case privacy::erasure_step::forget:
        // The registry drops the subjects' consent state (the store deleted the records too) and
        // stops forwarding what streams may already have read of them.
        r->through_seq = ctx.log->head(ctx.tenant);
        if (ctx.consents) {
          for (const auto& s : f.erased_subjects()) {
            ctx.consents->mark_erased(ctx.tenant, s, r->through_seq);
          }
        }
        f.on_forgotten();
        break;
      case privacy::erasure_step::notify: {
        if (!ctx.tenant_actor) {
          f.on_notified();
          break;
        }
        // The answer waits until no push window holds the subjects' events any more: nothing of
        // an erased subject is delivered after the erasure is acknowledged.
        erased_notice notice;
        notice.tenant = ctx.tenant;
        notice.subjects = f.erased_subjects();
        notice.through_seq = r->through_seq;
        r->self->request(ctx.tenant_actor, k_purge_timeout * 2, erased_atom::value, notice)
            .then(
                [r](std::uint64_t) {
                  r->flow.on_notified();
                  drive(r);
                },
                [r](caf::error& err) {
                  log::warn("privacy", "tenant ", r->ctx.tenant,
                            ": push subscribers did not confirm dropping erased events (",
                            caf::to_string(err), ")");
                  r->flow.on_notified();
                  drive(r);
                });
        return;
      }
      case privacy::erasure_step::store_receipt:
        emit_events(r->self, ctx.store, ctx.tenant_actor, {f.receipt()}, ctx.timeout,
                    [r](result<std::vector<event>> stored) {
                      if (stored) {
                        r->flow.on_receipt_stored(stored->size());
                      } else {
                        r->flow.on_receipt_stored(std::move(stored).err());
                      }
                      drive(r);
                    });
        return;
      case privacy::erasure_step::audit: {
        const auto& a = f.audit_entry();
        f.on_audited(audit(ps, ctx.tenant, a.actor, a.action, a.subject, a.outcome, a.detail));
        break;
      }
      case privacy::erasure_step::record:
        f.on_recorded(record_request(*r));
        break;
      case privacy::erasure_step::done:
        r->reply->answer(erasure_response(*r));
        return;
    }
  }
}

// -- small parsing helpers ---------------------------------------------------------------------

/// A non-negative integer query parameter; `fallback` when absent. nullopt when malformed.
std::optional<std::uint64_t> number_param(std::string_view query, std::string_view name,
                                          std::uint64_t fallback) {
  auto raw = url::raw_query_param(query, name);
  if (!raw) {
    return fallback;
  }
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (raw->empty() || ec != std::errc{} || end != raw->data() + raw->size()) {
    return std::nullopt;
  }
  return v;
}

constexpr const char* k_crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The adapter's privacy hooks of a channel type, or none.
const adapters::privacy_hooks& privacy_of(const std::string& type) {
  static const adapters::privacy_hooks none;
  const auto* info = adapters::find(type);
  return info != nullptr ? info->privacy : none;
}

void write_audit_entry(json::writer& w, const store::audit_entry& a) {
  w.begin_object();
  w.key("id").value(a.id).key("at").value(to_rfc3339(a.at));
  w.key("tenant").value(a.tenant).key("actor").value(a.actor).key("action").value(a.action);
  w.key("subject").value(a.subject).key("outcome").value(a.outcome);
  w.key("detail").value(a.detail);
  w.end_object();
}

}  // namespace

// -- plain logic -----------------------------------------------------------------------------

std::string new_receipt_id() {
  return privacy::new_receipt_id();
}

std::string new_deletion_code() {
  std::string code = ids::make("del_");
  std::uint8_t bytes[16];
  crypto::random_bytes(bytes, sizeof bytes);
  for (auto b : bytes) {
    code.push_back(k_crockford[b & 31u]);
  }
  return code;
}

event privacy_receipt(std::string type, const std::string& tenant, privacy_info info) {
  event e;
  e.tenant = tenant;
  e.type = std::move(type);
  e.privacy = std::move(info);
  return e;
}

std::string export_json(const std::string& tenant, const std::string& subject,
                        const std::vector<store::stored_event>& events, std::size_t limit,
                        const std::string& consent_json, timestamp exported_at) {
  struct identifier {
    std::string channel, type, platform_id, name;
  };
  std::vector<identifier> ids;
  std::set<std::pair<std::string, std::string>> seen;  // (channel, platform_id)
  simdjson::dom::parser parser;
  const std::size_t n = std::min(events.size(), limit);
  std::size_t size = 256 + consent_json.size();
  for (std::size_t i = 0; i < n; ++i) {
    size += events[i].json.size() + 1;
    simdjson::dom::element root;
    if (parser.parse(events[i].json).get(root) != simdjson::SUCCESS) {
      continue;  // rendered by the store: always JSON
    }
    auto text_at = [&root](const char* pointer) {
      std::string_view v;
      return root.at_pointer(pointer).get(v) == simdjson::SUCCESS ? v : std::string_view{};
    };
    const auto platform_id = text_at("/sender/platform_id");
    if (platform_id.empty()) {
      continue;
    }
    const auto channel = text_at("/channel/name");
    const auto type = text_at("/channel/type");
    const auto name = text_at("/sender/name");
    if (seen.emplace(std::string(channel), std::string(platform_id)).second) {
      ids.push_back(
          {std::string(channel), std::string(type), std::string(platform_id), std::string(name)});
    } else if (!name.empty()) {
      for (auto& id : ids) {
        if (id.channel == channel && id.platform_id == platform_id && id.name.empty()) {
          id.name = std::string(name);
        }
      }
    }
  }
  std::string out;
  out.reserve(size);
  json::writer w(out);
  w.begin_object().key("subject").value(subject).key("tenant").value(tenant);
  w.key("identifiers").begin_array();
  for (const auto& id : ids) {
    w.begin_object().key("channel").value(id.channel).key("type").value(id.type);
    w.key("platform_id").value(id.platform_id).field("name", id.name).end_object();
  }
  w.end_array();
  w.key("consent").raw(consent_json);
  w.key("events").begin_array();
  for (std::size_t i = 0; i < n; ++i) {
    w.raw(events[i].json);
  }
  w.end_array();
  if (events.size() > limit) {
    w.key("truncated").value(true);
  }
  w.key("exported_at").value(to_rfc3339(exported_at));
  w.end_object();
  return out;
}

// -- API calls -------------------------------------------------------------------------------

void export_subject(const tenant_api_env& env, api_call& c) {
  auto subject = subject_param(c);
  if (!subject) {
    return;
  }
  auto ctx = make_ctx(env);
  if (!ctx.ps) {
    c.reply->answer(no_privacy_store());
    return;
  }
  spawn_job(
      env, c.reply,
      [ctx, subject = *subject, actor = caller_of(c), reply = c.reply](privacy_jobs::worker_ptr) {
        auto exported = build_export(ctx, subject);
        if (!exported) {
          audit(*ctx.ps, ctx.tenant, actor, "export", subject, "error", exported.err().message);
          reply->answer(unavailable("could not read the subject's data; retry"));
          return;
        }
        // Audited before anything leaves: an export nobody could account for is not given out.
        if (!audit(*ctx.ps, ctx.tenant, actor, "export", subject, "ok",
                   "events=" + std::to_string(exported->events) +
                       (exported->truncated ? " truncated=true" : ""))) {
          reply->answer(unavailable("could not record the export in the audit log; retry"));
          return;
        }
        http_response r;
        r.body = std::move(exported->json);
        reply->answer(std::move(r));
      });
}

void erase_subject(const tenant_api_env& env, api_call& c) {
  auto subject = subject_param(c);
  if (!subject) {
    return;
  }
  auto ctx = make_ctx(env);
  if (!ctx.ps) {
    c.reply->answer(no_privacy_store());
    return;
  }
  privacy::erasure_request job;
  job.origin = privacy::erasure_origin::api;
  job.subject = *subject;
  job.actor = caller_of(c);
  job.action = "erase";
  privacy_info info;
  info.subject = *subject;
  job.receipt = privacy_receipt(event_type::privacy_erased, ctx.tenant, std::move(info));
  spawn_job(env, c.reply,
            [ctx, job = std::move(job), reply = c.reply](privacy_jobs::worker_ptr self) mutable {
              drive(std::make_shared<erasure_run>(self, ctx, std::move(job), reply));
            });
}

void list_audit(const tenant_api_env& env, api_call& c) {
  const auto after = number_param(c.query, "after", 0);
  if (!after) {
    c.reply->answer(error_response(
        errc::bad_request, "parameter 'after' must be a non-negative integer (an audit id)"));
    return;
  }
  const auto limit = number_param(c.query, "limit", k_audit_default_limit);
  if (!limit || *limit == 0) {
    c.reply->answer(
        error_response(errc::bad_request, "parameter 'limit' must be an integer from 1 to 1000"));
    return;
  }
  auto ps = env.stores.privacy;
  if (!ps) {
    c.reply->answer(no_privacy_store());
    return;
  }
  // A read of the store, on the privacy workers like every privacy job.
  spawn_job(
      env, c.reply,
      [ps, tenant = env.tenant->id, after = *after,
       limit = std::min<std::uint64_t>(*limit, k_audit_max_limit),
       reply = c.reply](privacy_jobs::worker_ptr) {
        const auto entries = ps->audit_log(tenant, after, static_cast<std::size_t>(limit));
        http_response r;
        json::writer w(r.body);
        w.begin_object().key("entries").begin_array();
        for (const auto& a : entries) {
          write_audit_entry(w, a);
        }
        w.end_array().key("next").value(entries.empty() ? after : entries.back().id).end_object();
        reply->answer(std::move(r));
      });
}

namespace {

/// Why a channel has no data-deletion callback: which types have one.
std::string deletion_unavailable() {
  return "only " + adapters::types_where([](const adapters::adapter_info& a) {
           return a.privacy.deletion_enabled != nullptr;
         }) +
         " channels have a data-deletion callback";
}

constexpr const char* k_deletion_kind = "data_deletion";

}  // namespace

void meta_data_deletion(const tenant_api_env& env, api_call& c) {
  const auto* ch = c.params.size() >= 2 ? env.tenant->find_channel(c.params[1]) : nullptr;
  if (ch == nullptr) {
    c.reply->answer(error_response(errc::unknown_channel, "no such channel for this tenant"));
    return;
  }
  const auto& hooks = privacy_of(ch->type);
  if (hooks.deletion_enabled == nullptr || !hooks.deletion_enabled(*ch)) {
    c.reply->answer(error_response(errc::not_found, deletion_unavailable()));
    return;
  }
  auto field = hooks.deletion_request_of(c.body);
  if (!field) {
    c.reply->answer(error_response(field.err().code, field.err().message));
    return;
  }
  // Signature first, then freshness (issued_at within the last hour): a replay of an old
  // callback is refused before anything is looked up.
  auto payload = hooks.verify_deletion(*ch, *field, now());
  if (!payload && payload.err().code == errc::bad_signature) {
    // Secret rotation (config/config.hpp `K_previous`): the edge accepted the previous secret.
    if (auto previous = config::with_previous_secrets(*ch)) {
      if (auto old = hooks.verify_deletion(*previous, *field, now());
          old || old.err().code != errc::bad_signature) {
        payload = std::move(old);
      }
    }
  }
  if (!payload) {
    c.reply->answer(error_response(payload.err().code, payload.err().message));
    return;
  }
  const auto* info = adapters::find(ch->type);
  auto ctx = make_ctx(env);
  if (!ctx.ps) {
    c.reply->answer(no_privacy_store());
    return;
  }
  // The subject exactly as the channel derives it for this person's events. The callback's
  // user id may be app-scoped where events carry page-scoped ids; the match holds when the app
  // uses the same id space for both (docs/privacy.md).
  const auto account = info->account(*ch);
  const auto subject = ids::subject_id(derive_subject_key(ctx.cfg->storage.root_key, ctx.tenant),
                                       ch->type, account, payload->user_id);
  privacy::erasure_request job;
  job.origin = privacy::erasure_origin::deletion_callback;
  job.subject = subject;
  job.actor = "platform:" + ch->name;
  job.action = "deletion_callback";
  job.code = new_deletion_code();
  privacy_info pi;
  pi.subject = subject;
  pi.platform_id = payload->user_id;
  pi.request = job.code;
  job.receipt = privacy_receipt(event_type::privacy_redact, ctx.tenant, std::move(pi));
  job.receipt.kind = "data_deletion";
  job.receipt.channel = {ch->name, ch->type, account};
  const timestamp requested = now();
  spawn_job(env, c.reply,
            [ctx, job = std::move(job), requested, channel = ch->name,
             signed_request = std::move(field).value(),
             reply = c.reply](privacy_jobs::worker_ptr self) mutable {
              auto r = std::make_shared<erasure_run>(self, ctx, std::move(job), reply);
              r->request_channel = channel;
              r->request_kind = k_deletion_kind;
              r->request_bytes = std::move(signed_request);
              r->requested = requested;
              drive(r);
            });
}

void deletion_status(const root_api_env& root, api_call& c) {
  const auto& ps = root.privacy;
  const std::string code = c.params.empty() ? std::string{} : c.params.front();
  if (!ps || code.rfind("del_", 0) != 0 || code.size() > 128) {
    c.reply->answer(
        error_response(errc::not_found, "no deletion request with this confirmation code"));
    return;
  }
  tenant_api_env env;  // only the pool: the call names no tenant
  env.privacy_jobs = root.privacy_jobs;
  privacy_jobs::spawn_job(env, c.reply, [ps, code, reply = c.reply](privacy_jobs::worker_ptr) {
    auto r = ps->find_deletion_request(code);
    if (!r) {
      reply->answer(
          r.err().code == errc::not_found
              ? error_response(errc::not_found, "no deletion request with this confirmation code")
              : unavailable("could not read the deletion request; retry"));
      return;
    }
    http_response resp;
    json::writer w(resp.body);
    w.begin_object().key("confirmation_code").value(r->code).key("status").value(r->state);
    w.key("requested_at").value(to_rfc3339(r->requested_at));
    if (!r->completed_at.empty()) {
      w.key("completed_at").value(to_rfc3339(r->completed_at));
    }
    w.end_object();
    reply->answer(std::move(resp));
  });
}

// -- privacy webhooks --------------------------------------------------------------------------

bool is_privacy_webhook(const config::tenant_config& tenant, const webhook_submission& w) {
  if (w.method != "POST") {
    return false;
  }
  const auto* ch = tenant.find_channel(w.channel);
  if (ch == nullptr) {
    return false;
  }
  const auto& hooks = privacy_of(ch->type);
  if (hooks.request_action == nullptr) {
    return false;
  }
  if (hooks.request_header.empty()) {
    // Named inside the body, among other events.
    return hooks.requests_in_body != nullptr && hooks.requests_in_body(w.body);
  }
  for (const auto& h : w.headers) {
    if (h.name == hooks.request_header) {
      return hooks.request_action(h.value) != adapters::privacy_action::none;
    }
  }
  return false;
}

namespace {

/// The receipt of a privacy webhook: the adapter's event without any personal field.
event webhook_receipt(event parsed, const std::string& subject) {
  event r = privacy_receipt(std::move(parsed.type), parsed.tenant,
                            parsed.privacy ? std::move(*parsed.privacy) : privacy_info{});
  r.privacy->subject = subject;
  r.id = std::move(parsed.id);
  r.channel = std::move(parsed.channel);
  r.kind = std::move(parsed.kind);
  r.platform_event_id = std::move(parsed.platform_event_id);
  r.dedupe_key = std::move(parsed.dedupe_key);
  r.occurred_at = parsed.occurred_at;
  r.received_at = parsed.received_at;
  return r;
}

/// A data request (`privacy_action::export_person`): the export travels in the event, which is
/// therefore the subject's (sealed under its key, and erased with it).
void webhook_data_request(privacy_jobs::worker_ptr self, const job_ctx& ctx, event parsed,
                          std::string actor, claim_ptr claim, responder_ptr reply) {
  const std::string subject = parsed.subject;
  event e = webhook_receipt(std::move(parsed), subject);
  e.subject = subject;
  std::size_t n = 0;
  if (!subject.empty()) {
    auto exported = build_export(ctx, subject);
    if (!exported) {
      audit(*ctx.ps, ctx.tenant, actor, "data_request", subject, "error", exported.err().message);
      reply->answer(unavailable("could not read the customer's data; retry"));
      return;
    }
    e.privacy->export_json = std::move(exported->json);
    n = exported->events;
  }
  emit_events(self, ctx.store, ctx.tenant_actor, {std::move(e)}, ctx.timeout,
              [ctx, actor, subject, n, claim, reply](result<std::vector<event>> stored) {
                if (!stored) {
                  audit(*ctx.ps, ctx.tenant, actor, "data_request", subject, "error",
                        stored.err().message);
                  reply->answer(unavailable(stored.err().message));
                  return;
                }
                const std::string detail =
                    subject.empty() ? "no customer id" : "events=" + std::to_string(n);
                if (!audit(*ctx.ps, ctx.tenant, actor, "data_request", subject,
                           subject.empty() ? "not_found" : "ok", detail)) {
                  reply->answer(unavailable("could not record the request in the audit log"));
                  return;
                }
                if (!claim->finish("")) {
                  reply->answer(unavailable("the request is answered but could not be recorded"));
                  return;
                }
                reply->answer(accepted_response(stored->size(), stored->empty() ? 1 : 0));
              });
}

/// One privacy request of a webhook, in a privacy job: carried out per its `privacy_action`
/// (export, the channel's erasure, the subject's erasure) and answered on `reply` exactly as a
/// webhook holding it alone is. `request` is what its claim is keyed on.
void carry_out_request(privacy_jobs::worker_ptr self, const job_ctx& ctx,
                       const adapters::adapter_info& info, const std::string& channel, event parsed,
                       std::string request, responder_ptr reply) {
  const auto action = info.privacy.request_action(parsed.kind);
  const std::string actor = "platform:" + channel;
  if (action == adapters::privacy_action::export_person) {
    auto claim = claim_request(
        ctx, channel, parsed.kind, request, reply,
        [&reply](const store::privacy_request&) { reply->answer(accepted_response(0, 1)); });
    if (!claim) {
      return;
    }
    webhook_data_request(self, ctx, std::move(parsed), actor, claim, reply);
    return;
  }
  privacy::erasure_request job;
  job.origin = privacy::erasure_origin::platform_request;
  job.actor = actor;
  if (action == adapters::privacy_action::erase_channel) {
    job.channel = channel;
    job.action = "shop_redact";
  } else {
    job.subject = parsed.subject;
    job.action = "redact";
  }
  std::string kind = parsed.kind;
  job.receipt = webhook_receipt(std::move(parsed), job.subject);
  auto r = std::make_shared<erasure_run>(self, ctx, std::move(job), reply);
  r->request_channel = channel;
  r->request_kind = std::move(kind);
  r->request_bytes = std::move(request);
  drive(r);
}

/// The counts of an `accepted_response`; nullopt for any other answer.
std::optional<std::pair<std::uint64_t, std::uint64_t>> accepted_counts(const http_response& r) {
  if (r.status != 200) {
    return std::nullopt;
  }
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  if (parser.parse(r.body).get_object().get(o) != simdjson::SUCCESS ||
      o["events"].get_uint64().get(stored) != simdjson::SUCCESS ||
      o["duplicates"].get_uint64().get(duplicates) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return std::make_pair(stored, duplicates);
}

/// A webhook whose body holds privacy requests among other events (HubSpot's batches), in one
/// privacy job: the other events are stored first (so an erasure in the same body also removes
/// what the body brought of its subject), then each request is carried out in turn, as a lone
/// one is (`carry_out_request`: its own claim, erasure, receipt and audit entry). Answered 200
/// with the sums once all of it is durable; the first answer that is not 200 is the webhook's
/// (the platform retries the body: its stored events are duplicates then, and the requests
/// carried out already are replays).
struct webhook_batch {
  privacy_jobs::worker_ptr self = nullptr;
  job_ctx ctx;
  const adapters::adapter_info* info = nullptr;
  std::string channel;
  std::vector<event> others;
  std::vector<std::pair<event, std::string>> requests;  ///< the event, its claim's key
  std::size_t next = 0;
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  responder_ptr reply;
};
using batch_ptr = std::shared_ptr<webhook_batch>;

/// Carries out the batch's next request, or answers when none is left. In the job's worker.
void next_request(const batch_ptr& b) {
  if (b->next == b->requests.size()) {
    b->reply->answer(accepted_response(b->stored, b->duplicates));
    return;
  }
  auto& [parsed, request] = b->requests[b->next++];
  // The request's answer continues the batch. A 200 comes from the worker's own continuations;
  // anything else (also a 503 from a responder dropped unanswered) only ends the webhook.
  auto step = std::make_shared<responder>([b](http_response r) {
    const auto counts = accepted_counts(r);
    if (!counts) {
      b->reply->answer(std::move(r));
      return;
    }
    b->stored += counts->first;
    b->duplicates += counts->second;
    next_request(b);
  });
  carry_out_request(b->self, b->ctx, *b->info, b->channel, std::move(parsed), std::move(request),
                    std::move(step));
}

/// Stores the batch's events that are not requests, then carries out the requests.
void store_others(const batch_ptr& b) {
  if (b->others.empty()) {
    next_request(b);
    return;
  }
  const std::size_t n = b->others.size();
  emit_events(b->self, b->ctx.store, b->ctx.tenant_actor, std::move(b->others), b->ctx.timeout,
              [b, n](result<std::vector<event>> stored) {
                if (!stored) {
                  b->reply->answer(unavailable(stored.err().message));
                  return;
                }
                b->stored += stored->size();
                b->duplicates += n - stored->size();
                next_request(b);
              });
}

}  // namespace

void privacy_webhook(const tenant_api_env& env, webhook_submission w) {
  const auto* ch = env.tenant->find_channel(w.channel);
  const auto* info = ch == nullptr ? nullptr : adapters::find(ch->type);
  auto ctx = make_ctx(env);
  if (ch == nullptr || info == nullptr || !ctx.ps) {
    w.reply->answer(ch == nullptr
                        ? error_response(errc::unknown_channel, "no such channel for this tenant")
                        : no_privacy_store());
    return;
  }
  // Verified and parsed here, exactly as the channel actor does (so the subject derives the same
  // way as for the customer's orders/* and customers/* events), before any thread is spent: a
  // forged request costs one HMAC.
  channel_logic logic(ctx.tenant, *ch, *info, ctx.cfg->storage.root_key, env.tenant->privacy);
  auto outcome = logic.ingest(w.method, w.query, w.headers, w.body);
  auto reply = w.reply;
  if (auto* now_ = std::get_if<respond_now>(&outcome)) {
    reply->answer(std::move(now_->response));
    return;
  }
  if (auto* q = std::get_if<quarantine_body>(&outcome)) {
    // Signed, but not a valid request of its topic: an attacker's re-labelled webhook of another
    // topic, or a body that is not what the platform documents (also a body naming requests
    // inside it, another portal's included). Refused, and not quarantined: it
    // is no platform data to keep (the platform's own requests have the documented shape, and a
    // re-labelled webhook was delivered under its real topic already), and quarantining it would
    // let one captured body fill the quarantine.
    const auto code = q->err.code == errc::forbidden ? errc::forbidden : errc::bad_request;
    std::string why = q->err.message;
    if (q->err.code == errc::malformed_body) {
      why += "; a privacy request that is not valid JSON is not kept";
    }
    reply->answer(error_response(code, why));
    return;
  }
  auto events = std::move(std::get<store_events>(outcome).events);
  if (events.empty()) {
    reply->answer(accepted_response(0, 0));
    return;
  }
  // The request is the signed body: the same body again (a retry, or a replay under a new
  // webhook id) is the same request. A body of several events names each of its requests by
  // its event's dedupe key too.
  const auto body_hash = crypto::sha256(w.body);
  const std::string body_key(reinterpret_cast<const char*>(body_hash.data()), body_hash.size());
  if (events.size() == 1 &&
      info->privacy.request_action(events.front().kind) != adapters::privacy_action::none) {
    // One request alone (Shopify's topics): carried out and answered as it is.
    spawn_job(env, reply,
              [ctx, channel = ch->name, parsed = std::move(events.front()), request = body_key,
               info, reply](privacy_jobs::worker_ptr self) mutable {
                carry_out_request(self, ctx, *info, channel, std::move(parsed), std::move(request),
                                  reply);
              });
    return;
  }
  auto batch = std::make_shared<webhook_batch>();
  batch->ctx = ctx;
  batch->info = info;
  batch->channel = ch->name;
  batch->reply = reply;
  for (auto& e : events) {
    if (info->privacy.request_action(e.kind) == adapters::privacy_action::none) {
      batch->others.push_back(std::move(e));
    } else {
      std::string request = body_key + "\n" + e.dedupe_key;
      batch->requests.emplace_back(std::move(e), std::move(request));
    }
  }
  spawn_job(env, reply, [batch](privacy_jobs::worker_ptr self) mutable {
    batch->self = self;
    store_others(batch);
  });
}

// -- in the tenant ---------------------------------------------------------------------------

caf::result<std::uint64_t> on_subjects_erased(tenant_actor::pointer self,
                                              const std::vector<subscriber_actor>& subscribers,
                                              const erased_notice& n) {
  if (subscribers.empty()) {
    return std::uint64_t{0};
  }
  auto rp = std::make_shared<caf::typed_response_promise<std::uint64_t>>(
      self->make_response_promise<std::uint64_t>());
  auto pending = std::make_shared<std::size_t>(subscribers.size());
  auto dropped = std::make_shared<std::uint64_t>(0);
  auto one_done = [rp, pending, dropped] {
    if (--*pending == 0) {
      rp->deliver(*dropped);
    }
  };
  for (const auto& s : subscribers) {
    self->request(s, k_purge_timeout, erased_atom::value, n)
        .then(
            [dropped, one_done](std::uint64_t k) {
              *dropped += k;
              one_done();
            },
            [one_done](caf::error&) { one_done(); });
  }
  return *rp;
}

}  // namespace sb::actors

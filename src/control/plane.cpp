#include "control/plane.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <variant>

#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "core/url.hpp"

namespace sb::control {

namespace {

constexpr std::size_t k_default_page = 100;
constexpr std::size_t k_max_page = 1000;
constexpr int k_busy_retry_s = 1;

std::int64_t now_ms() {
  return now().unix_ms;
}

/// 400 `invalid_config` with every problem (docs/control-plane.md).
http::response invalid(const std::vector<config::object_problem>& problems) {
  http::response r;
  r.status = 400;
  r.code = errc::bad_request;
  json::writer w(r.body);
  w.begin_object().key("error").value("invalid_config");
  w.key("message").value(std::to_string(problems.size()) +
                         (problems.size() == 1 ? " problem" : " problems") + " in the body");
  w.key("problems").begin_array();
  for (const auto& p : problems) {
    w.begin_object().key("pointer").value(p.pointer).key("message").value(p.message).end_object();
  }
  w.end_array().end_object();
  return r;
}

http::response invalid(std::string pointer, std::string message) {
  return invalid({config::object_problem{std::move(pointer), std::move(message)}});
}

http::response json_answer(int status, std::string body) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

/// A new subscriber token: "sbt_" and 32 random bytes, base64url without padding.
std::string new_token() {
  std::uint8_t raw[32];
  crypto::random_bytes(raw, sizeof raw);
  std::string b64 =
      crypto::base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  std::string out = "sbt_";
  for (char c : b64) {
    if (c == '+') {
      out.push_back('-');
    } else if (c == '/') {
      out.push_back('_');
    } else if (c != '=') {
      out.push_back(c);
    }
  }
  return out;
}

std::string sha256_hex(std::string_view s) {
  return crypto::to_hex(crypto::sha256(s));
}

/// `cfg` without its tenants' `file_object`s (or `cfg` itself when it has none): the import
/// reads them once; every config composed from the file's would otherwise copy them along.
std::shared_ptr<const config::config> without_file_objects(
    std::shared_ptr<const config::config> cfg) {
  if (std::all_of(cfg->tenants.begin(), cfg->tenants.end(),
                  [](const config::tenant_config& t) { return t.file_object.empty(); })) {
    return cfg;
  }
  auto out = std::make_shared<config::config>(*cfg);
  for (auto& t : out->tenants) {
    t.file_object = std::string();
  }
  return out;
}

/// `cfg` without the tenant `id`.
std::shared_ptr<config::config> without_tenant(const config::config& cfg, const std::string& id) {
  auto out = std::make_shared<config::config>(cfg);
  out->tenants.erase(std::remove_if(out->tenants.begin(), out->tenants.end(),
                                    [&](const config::tenant_config& t) { return t.id == id; }),
                     out->tenants.end());
  return out;
}

}  // namespace

/// The calls, with the plane's lock held.
struct plane_calls {
  plane& p;
  request& r;
  const std::int64_t now = now_ms();

  std::string actor() const { return "operator:" + r.operator_name; }

  store::audit_entry audit(const std::string& tenant, const char* action,
                           std::string detail = {}) const {
    store::audit_entry e;
    e.at = timestamp::from_millis(now);
    e.tenant = tenant;
    e.actor = actor();
    e.action = action;
    e.outcome = "ok";
    e.detail = std::move(detail);
    return e;
  }

  const config::tenant_config* running_tenant(const std::string& id) const {
    return p.running_->find_tenant(id);
  }

  /// 404 for an unknown tenant, 409 for one of the file's; nullptr when `id` is the control
  /// plane's (then `doc` is set).
  std::optional<http::response> managed(const std::string& id, tenant_document*& doc) {
    auto it = p.docs_.find(id);
    const auto* t = running_tenant(id);
    if (it != p.docs_.end() && t != nullptr) {
      doc = &it->second;
      return std::nullopt;
    }
    if (t != nullptr) {
      return http::error_response(errc::conflict,
                                  "tenant '" + id + "' is defined in the config file (" +
                                      p.running_->source + "); change it there and reload");
    }
    return http::error_response(errc::unknown_tenant, "no tenant '" + id + "'");
  }

  /// Stores `doc` with its audit entry, then runs `next` (the config with the change).
  /// The tenant's document is stored only if it is still the one read (`definition_store::put`):
  /// a change made meanwhile through another replica is not overwritten. That one is read now,
  /// and the caller gets 409 to retry against it.
  http::response commit(tenant_document& doc, const store::audit_entry& e,
                        std::shared_ptr<config::config> next, http::response ok) {
    std::optional<std::int64_t> replaces;
    if (auto it = p.docs_.find(doc.id); it != p.docs_.end()) {
      replaces = it->second.updated_at_ms;
    }
    // The document's version: it must change with every change, also within one millisecond.
    doc.updated_at_ms = replaces ? std::max(now, *replaces + 1) : now;
    const std::string stored = to_json(doc);
    if (auto st = p.definitions_->put({doc.id, stored, doc.updated_at_ms}, e, replaces); !st) {
      if (st.err().code == errc::conflict) {
        log::warn("control", st.err().message, "; reading the definitions again");
        p.reload_definitions();
        return http::error_response(errc::conflict, st.err().message + "; read it again and retry");
      }
      log::error("control", "cannot store tenant ", doc.id, ": ", st.err().message);
      return http::error_response(errc::unavailable,
                                  "the change could not be stored; nothing changed, retry", 1);
    }
    p.docs_[doc.id] = doc;
    p.stored_[doc.id] = stored;
    return apply(std::move(next), std::move(ok));
  }

  http::response apply(std::shared_ptr<config::config> next, http::response ok) {
    if (auto st = p.apply_running(std::move(next)); !st) {
      log::error("control", "a stored change was not applied: ", st.err().message);
      return http::error_response(errc::unavailable,
                                  "the change is stored but could not be applied now (" +
                                      st.err().message + "); it applies at the next restart",
                                  1);
    }
    return ok;
  }

  /// The tenant of `doc` parsed against the running config without it: the config with the
  /// change, or the problems.
  std::variant<std::shared_ptr<config::config>, std::vector<config::object_problem>> recompose(
      const tenant_document& doc) {
    auto next = without_tenant(*p.running_, doc.id);
    auto parsed = config::parse_tenant_object(tenant_json(doc, now), *next, p.schemas_);
    if (!parsed.ok()) {
      return parsed.problems;
    }
    // In the running config's place: a changed tenant keeps its position.
    auto pos = std::find_if(p.running_->tenants.begin(), p.running_->tenants.end(),
                            [&](const config::tenant_config& t) { return t.id == doc.id; });
    const auto index = static_cast<std::size_t>(pos - p.running_->tenants.begin());
    next->tenants.insert(
        next->tenants.begin() + static_cast<std::ptrdiff_t>(std::min(index, next->tenants.size())),
        std::move(*parsed.value));
    return next;
  }

  /// `changed` checked as a whole against the running config without its tenant, then stored
  /// with its audit entry (`action`, `detail`) and applied; `ok` answers then.
  http::response finish(tenant_document& changed, const char* action, std::string detail,
                        http::response ok) {
    auto next = recompose(changed);
    if (auto* problems = std::get_if<std::vector<config::object_problem>>(&next)) {
      return invalid(*problems);
    }
    return commit(changed, audit(changed.id, action, std::move(detail)),
                  std::move(std::get<0>(next)), std::move(ok));
  }
  http::response finish(tenant_document& changed, const char* action, http::response ok) {
    return finish(changed, action, std::string(), std::move(ok));
  }

  /// {"name":…,"deleted":true}.
  static http::response deleted(const std::string& name) {
    std::string out;
    json::writer w(out);
    w.begin_object().key("name").value(name).key("deleted").value(true).end_object();
    return json_answer(200, std::move(out));
  }

  // -- views ------------------------------------------------------------------------------

  std::string tenant_view(const tenant_document& d) const {
    std::string lists;
    json::writer w(lists);
    w.begin_object().key("source").value("api").key("channels").begin_array();
    for (const auto& c : d.channels) {
      w.raw(redacted_channel(c, p.schemas_));
    }
    w.end_array().key("subscribers").begin_array();
    for (const auto& s : d.subscribers) {
      w.raw(redacted_subscriber(s));
    }
    w.end_array();
    w.key("created_at").value(rfc3339(d.created_at_ms));
    w.key("updated_at").value(rfc3339(d.updated_at_ms));
    if (!d.imported_from.empty()) {
      w.key("imported_from").value(d.imported_from);
    }
    w.end_object();
    return merge_patch(d.body, lists);
  }

  /// A tenant of the file: what it has, no settings (they are the file's, secrets included).
  static std::string file_tenant_view(const config::tenant_config& t) {
    std::string out;
    json::writer w(out);
    w.begin_object().key("id").value(t.id).key("source").value("file");
    w.key("channels").begin_array();
    for (const auto& c : t.channels) {
      w.begin_object().key("name").value(c.name).key("type").value(c.type).end_object();
    }
    w.end_array().key("subscribers").begin_array();
    for (const auto& s : t.subscribers) {
      w.begin_object().key("name").value(s.name).end_object();
    }
    w.end_array().end_object();
    return out;
  }

  // -- tenants ----------------------------------------------------------------------------

  http::response list_tenants() {
    std::size_t limit = k_default_page;
    if (auto st = url::parse_limit_param(r.query, k_max_page, limit); !st) {
      return http::error_response(st.err().code, st.err().message);
    }
    std::string after;
    if (auto a = url::query_param(r.query, "after")) {
      after = *a;
    }
    std::vector<const config::tenant_config*> sorted;
    for (const auto& t : p.running_->tenants) {
      if (t.id > after) {
        sorted.push_back(&t);
      }
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->id < b->id; });
    const bool more = sorted.size() > limit;
    sorted.resize(std::min(sorted.size(), limit));
    std::string out;
    json::writer w(out);
    w.begin_object().key("tenants").begin_array();
    for (const auto* t : sorted) {
      w.begin_object().key("id").value(t->id);
      w.key("source").value(p.docs_.count(t->id) != 0 ? "api" : "file");
      w.key("channels").value(static_cast<std::uint64_t>(t->channels.size()));
      w.key("subscribers").value(static_cast<std::uint64_t>(t->subscribers.size()));
      w.end_object();
    }
    w.end_array();
    if (more) {
      w.key("next").value(sorted.back()->id);
    }
    w.end_object();
    return json_answer(200, std::move(out));
  }

  http::response create_tenant() {
    if (!is_object(r.body)) {
      return invalid("", "the body must be a JSON object (a tenant: id, rate_limit, privacy)");
    }
    std::vector<config::object_problem> refused;
    for (const char* list : {"channels", "subscribers"}) {
      if (member(r.body, list)) {
        refused.push_back({std::string("/") + list, std::string("add ") + list +
                                                        " with POST /v1/admin/tenants/{id}/" +
                                                        list + " once the tenant exists"});
      }
    }
    if (!refused.empty()) {
      return invalid(refused);
    }
    if (auto id = string_member(r.body, "id"); id && running_tenant(*id) != nullptr) {
      return http::error_response(errc::conflict, "tenant '" + *id + "' exists already");
    }
    auto parsed = config::parse_tenant_object(r.body, *p.running_, p.schemas_);
    if (!parsed.ok()) {
      return invalid(parsed.problems);
    }
    tenant_document doc;
    doc.id = parsed.value->id;
    doc.body = merge_patch("", r.body);
    doc.created_at_ms = now;
    auto next = std::make_shared<config::config>(*p.running_);
    next->tenants.push_back(std::move(*parsed.value));
    doc.updated_at_ms = now;
    return commit(doc, audit(doc.id, "tenant_create"), std::move(next),
                  json_answer(201, tenant_view(doc)));
  }

  http::response get_tenant() {
    const auto& id = r.params.at(0);
    if (auto it = p.docs_.find(id); it != p.docs_.end() && running_tenant(id) != nullptr) {
      return json_answer(200, tenant_view(it->second));
    }
    if (const auto* t = running_tenant(id)) {
      return json_answer(200, file_tenant_view(*t));
    }
    return http::error_response(errc::unknown_tenant, "no tenant '" + id + "'");
  }

  http::response update_tenant() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    if (!is_object(r.body)) {
      return invalid("", "the body must be a JSON object (a JSON merge patch of the tenant)");
    }
    std::vector<config::object_problem> refused;
    for (const char* list : {"channels", "subscribers"}) {
      if (member(r.body, list)) {
        refused.push_back(
            {std::string("/") + list,
             std::string("change ") + list + " with their own calls (…/" + list + "/{name})"});
      }
    }
    if (auto id = member(r.body, "id"); id && string_member(r.body, "id") != doc->id) {
      refused.push_back({"/id", "a tenant's id cannot change"});
    }
    if (!refused.empty()) {
      return invalid(refused);
    }
    tenant_document changed = *doc;
    changed.body = merge_patch(doc->body, r.body);
    changed.updated_at_ms = now;
    return finish(changed, "tenant_update", json_answer(200, tenant_view(changed)));
  }

  http::response delete_tenant() {
    const auto id = r.params.at(0);
    tenant_document* doc = nullptr;
    if (auto refused = managed(id, doc)) {
      return *refused;
    }
    if (string_member(r.body, "confirm") != id) {
      return http::error_response(errc::bad_request,
                                  "deleting tenant '" + id +
                                      "' erases all of its data; confirm with the body "
                                      "{\"confirm\":\"" +
                                      id + "\"}");
    }
    // Stopped first (404 from now on; requests in flight finish), then erased, then forgotten.
    const tenant_document gone = *doc;
    if (auto st = p.apply_running(without_tenant(*p.running_, id)); !st) {
      return http::error_response(errc::unavailable,
                                  "the tenant could not be stopped now (" + st.err().message +
                                      "); nothing was deleted, retry",
                                  1);
    }
    std::vector<std::string> channels = gone.former_channels;
    for (const auto& ch : gone.channels) {
      channels.push_back(ch.name);
    }
    auto erased = p.hooks_.erase_tenant(id, channels);
    if (!erased) {
      log::error("control", "erasing tenant ", id, ": ", erased.err().message);
      return http::error_response(errc::unavailable,
                                  "the tenant is stopped but its data could not all be erased (" +
                                      erased.err().message + "); send the same DELETE again",
                                  1);
    }
    const std::string receipt = ids::make("era_");
    const std::string detail = "receipt=" + receipt + " events=" + std::to_string(erased->events) +
                               " subjects=" + std::to_string(erased->subjects.size());
    if (auto st = p.definitions_->remove(id, audit(id, "tenant_delete", detail)); !st) {
      return http::error_response(errc::unavailable,
                                  "the tenant's data is erased but its definition could not be "
                                  "removed (" +
                                      st.err().message + "); send the same DELETE again",
                                  1);
    }
    p.docs_.erase(id);
    p.stored_.erase(id);
    std::string out;
    json::writer w(out);
    w.begin_object().key("receipt").value(receipt).key("tenant").value(id);
    w.key("erased").begin_object();
    w.key("events").value(erased->events).key("dedupe_keys").value(erased->dedupe_keys);
    w.key("dead_letters").value(erased->dead_letters);
    w.key("keys_destroyed").value(static_cast<std::uint64_t>(erased->subjects.size()));
    w.end_object().key("deleted_at").value(rfc3339(now)).end_object();
    return json_answer(200, std::move(out));
  }

  // -- channels ---------------------------------------------------------------------------

  static std::vector<config::object_problem> previous_keys_refused(const std::string& body) {
    std::vector<config::object_problem> out;
    for (const auto& key : member_names(body)) {
      if (config::is_previous_key(key)) {
        out.push_back({"/" + key,
                       "set by the gateway: when a secret changes, the previous one is accepted "
                       "for control_plane.secret_grace_seconds"});
      }
    }
    return out;
  }

  http::response create_channel() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    if (!is_object(r.body)) {
      return invalid("", "the body must be a JSON object (a channel: name, type and its settings)");
    }
    if (auto refused = previous_keys_refused(r.body); !refused.empty()) {
      return invalid(refused);
    }
    const auto* t = running_tenant(doc->id);
    auto parsed = config::parse_channel_object(r.body, *t, *p.running_, p.schemas_);
    if (!parsed.ok()) {
      return invalid(parsed.problems);
    }
    tenant_document changed = *doc;
    channel_entry ch;
    ch.name = parsed.value->name;
    ch.body = merge_patch("", r.body);
    for (const auto& key : writable_secrets(p.schemas_, parsed.value->type)) {
      if (member(ch.body, key)) {
        ch.secret_set_at[key] = now;
      }
    }
    changed.channels.push_back(ch);
    changed.former_channels.erase(
        std::remove(changed.former_channels.begin(), changed.former_channels.end(), ch.name),
        changed.former_channels.end());
    return finish(changed, "channel_create", "channel=" + ch.name,
                  json_answer(201, redacted_channel(ch, p.schemas_)));
  }

  http::response get_channel() {
    const auto& id = r.params.at(0);
    if (auto it = p.docs_.find(id); it != p.docs_.end()) {
      if (auto* ch = it->second.find_channel(r.params.at(1))) {
        return json_answer(200, redacted_channel(*ch, p.schemas_));
      }
      return http::error_response(errc::unknown_channel, "no channel '" + r.params.at(1) + "'");
    }
    tenant_document* doc = nullptr;
    return *managed(id, doc);
  }

  http::response update_channel() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    auto* old = doc->find_channel(r.params.at(1));
    if (old == nullptr) {
      return http::error_response(errc::unknown_channel, "no channel '" + r.params.at(1) + "'");
    }
    if (!is_object(r.body)) {
      return invalid("", "the body must be a JSON object (a JSON merge patch of the channel)");
    }
    auto refused = previous_keys_refused(r.body);
    for (const char* fixed : {"name", "type"}) {
      if (member(r.body, fixed) && member(r.body, fixed) != member(old->body, fixed)) {
        refused.push_back({std::string("/") + fixed,
                           std::string("a channel's ") + fixed +
                               " cannot change; delete the channel and create another"});
      }
    }
    if (!refused.empty()) {
      return invalid(refused);
    }
    channel_entry ch = *old;
    ch.body = merge_patch(old->body, r.body);
    const std::int64_t grace_ms =
        static_cast<std::int64_t>(p.running_->control_plane.secret_grace_seconds) * 1000;
    const auto type = string_member(old->body, "type").value_or("");
    for (const auto& key : writable_secrets(p.schemas_, type)) {
      const auto before = string_member(old->body, key);
      const auto after = string_member(ch.body, key);
      if (before == after) {
        continue;
      }
      ch.secret_set_at[key] = now;
      const std::string previous = key + config::k_previous_suffix;
      if (before && !before->empty() && grace_ms > 0) {
        std::string patch;
        json::writer w(patch);
        w.begin_object().key(previous).value(*before).end_object();
        ch.body = merge_patch(ch.body, patch);
        ch.previous_until[key] = now + grace_ms;
      } else {
        ch.body = merge_patch(ch.body, "{\"" + previous + "\":null}");
        ch.previous_until.erase(key);
      }
    }
    // Checked as a new channel of the tenant without this one: pointers into the channel.
    config::tenant_config others = *running_tenant(doc->id);
    others.channels.erase(
        std::remove_if(others.channels.begin(), others.channels.end(),
                       [&](const config::channel_config& c) { return c.name == ch.name; }),
        others.channels.end());
    auto parsed = config::parse_channel_object(ch.body, others, *p.running_, p.schemas_);
    if (!parsed.ok()) {
      return invalid(parsed.problems);
    }
    tenant_document changed = *doc;
    *changed.find_channel(ch.name) = ch;
    return finish(changed, "channel_update", "channel=" + ch.name,
                  json_answer(200, redacted_channel(ch, p.schemas_)));
  }

  http::response delete_channel() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    const auto& name = r.params.at(1);
    if (doc->find_channel(name) == nullptr) {
      return http::error_response(errc::unknown_channel, "no channel '" + name + "'");
    }
    tenant_document changed = *doc;
    changed.channels.erase(std::remove_if(changed.channels.begin(), changed.channels.end(),
                                          [&](const channel_entry& c) { return c.name == name; }),
                           changed.channels.end());
    changed.former_channels.push_back(name);
    return finish(changed, "channel_delete", "channel=" + name, deleted(name));
  }

  // -- subscribers ------------------------------------------------------------------------

  http::response with_token(const subscriber_entry& s, const std::string& token, int status) {
    std::string patch;
    json::writer w(patch);
    w.begin_object().key("token").value(token).end_object();
    return json_answer(status, merge_patch(redacted_subscriber(s), patch));
  }

  /// The tenant's config without subscriber `name`, to check a replacement against.
  config::tenant_config without_subscriber(const std::string& tenant, const std::string& name) {
    config::tenant_config t = *running_tenant(tenant);
    t.subscribers.erase(
        std::remove_if(t.subscribers.begin(), t.subscribers.end(),
                       [&](const config::subscriber_config& s) { return s.name == name; }),
        t.subscribers.end());
    return t;
  }

  /// `body` with `token_sha256` set to the digest of `token`.
  static std::string with_digest(const std::string& body, const std::string& token) {
    std::string patch;
    json::writer w(patch);
    w.begin_object().key("token_sha256").value(sha256_hex(token)).end_object();
    return merge_patch(body, patch);
  }

  http::response create_subscriber() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    if (!is_object(r.body)) {
      return invalid("",
                     "the body must be a JSON object (a subscriber: name, scopes, purposes, "
                     "push)");
    }
    if (member(r.body, "token_sha256")) {
      return invalid("/token_sha256",
                     "the gateway makes the token: it is in the answer, once, and kept only as "
                     "its SHA-256");
    }
    const std::string token = new_token();
    subscriber_entry s;
    s.body = with_digest(merge_patch("", r.body), token);
    auto parsed =
        config::parse_subscriber_object(s.body, *running_tenant(doc->id), *p.running_, p.schemas_);
    if (!parsed.ok()) {
      return invalid(parsed.problems);
    }
    s.name = parsed.value->name;
    s.created_at_ms = now;
    s.token_set_at_ms = now;
    tenant_document changed = *doc;
    changed.subscribers.push_back(s);
    return finish(changed, "subscriber_create", "subscriber=" + s.name, with_token(s, token, 201));
  }

  http::response get_subscriber() {
    const auto& id = r.params.at(0);
    if (auto it = p.docs_.find(id); it != p.docs_.end()) {
      if (auto* s = it->second.find_subscriber(r.params.at(1))) {
        return json_answer(200, redacted_subscriber(*s));
      }
      return http::error_response(errc::not_found, "no subscriber '" + r.params.at(1) + "'");
    }
    tenant_document* doc = nullptr;
    return *managed(id, doc);
  }

  /// PATCH (`rotate` false) or rotate-token.
  http::response change_subscriber(bool rotate) {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    auto* old = doc->find_subscriber(r.params.at(1));
    if (old == nullptr) {
      return http::error_response(errc::not_found, "no subscriber '" + r.params.at(1) + "'");
    }
    subscriber_entry s = *old;
    std::string token;
    if (rotate) {
      token = new_token();
      s.body = with_digest(s.body, token);
      s.token_set_at_ms = now;
    } else {
      if (!is_object(r.body)) {
        return invalid("",
                       "the body must be a JSON object (a JSON merge patch of the "
                       "subscriber)");
      }
      std::vector<config::object_problem> refused;
      if (member(r.body, "token_sha256")) {
        refused.push_back({"/token_sha256", "a new token comes from POST …/rotate-token"});
      }
      if (member(r.body, "name") && member(r.body, "name") != member(old->body, "name")) {
        refused.push_back({"/name", "a subscriber's name cannot change"});
      }
      if (!refused.empty()) {
        return invalid(refused);
      }
      s.body = merge_patch(old->body, r.body);
    }
    auto parsed = config::parse_subscriber_object(s.body, without_subscriber(doc->id, s.name),
                                                  *p.running_, p.schemas_);
    if (!parsed.ok()) {
      return invalid(parsed.problems);
    }
    tenant_document changed = *doc;
    *changed.find_subscriber(s.name) = s;
    return finish(changed, rotate ? "subscriber_rotate_token" : "subscriber_update",
                  "subscriber=" + s.name,
                  rotate ? with_token(s, token, 200) : json_answer(200, redacted_subscriber(s)));
  }

  http::response delete_subscriber() {
    tenant_document* doc = nullptr;
    if (auto refused = managed(r.params.at(0), doc)) {
      return *refused;
    }
    const auto& name = r.params.at(1);
    if (doc->find_subscriber(name) == nullptr) {
      return http::error_response(errc::not_found, "no subscriber '" + name + "'");
    }
    tenant_document changed = *doc;
    changed.subscribers.erase(
        std::remove_if(changed.subscribers.begin(), changed.subscribers.end(),
                       [&](const subscriber_entry& s) { return s.name == name; }),
        changed.subscribers.end());
    return finish(changed, "subscriber_delete", "subscriber=" + name, deleted(name));
  }
};

plane::plane(std::shared_ptr<store::definition_store> definitions,
             std::vector<config::channel_schema> schemas, options o)
    : definitions_(std::move(definitions)), schemas_(std::move(schemas)), opts_(o) {}

plane::~plane() {
  stop();
}

void plane::stop() {
  std::deque<job> left;
  {
    std::lock_guard<std::mutex> lock(q_m_);
    stopping_ = true;
    left.swap(queue_);
  }
  q_cv_.notify_all();
  if (worker_.joinable()) {
    worker_.join();
  }
  for (auto& j : left) {
    j.done(http::error_response(errc::unavailable, "shutting down", k_busy_retry_s));
  }
}

std::shared_ptr<config::config> plane::compose(const config::config& file_cfg, std::int64_t now) {
  auto cfg = std::make_shared<config::config>(file_cfg);
  // An imported tenant is served from the store; the file's entry is kept aside, served only
  // if the stored one no longer validates.
  std::map<std::string, config::tenant_config> imported;
  if (file_cfg.control_plane.manage_file_tenants) {
    auto stored = std::stable_partition(
        cfg->tenants.begin(), cfg->tenants.end(),
        [&](const config::tenant_config& t) { return docs_.count(t.id) == 0; });
    for (auto it = stored; it != cfg->tenants.end(); ++it) {
      imported.emplace(it->id, std::move(*it));
    }
    cfg->tenants.erase(stored, cfg->tenants.end());
  }
  // Built once and grown: checking each stored tenant against the config so far stays O(tenant).
  config::claims taken(*cfg);
  for (const auto& [id, doc] : docs_) {
    if (taken.has_tenant(id)) {
      log::error("control", "tenant ", id,
                 " is defined both in the config file and through the API; the file's is "
                 "served (delete one of them)");
      continue;
    }
    auto parsed = config::parse_tenant_object(tenant_json(doc, now), *cfg, taken, schemas_);
    if (!parsed.ok()) {
      auto file = imported.find(id);
      for (const auto& problem : parsed.problems) {
        log::error("control", "tenant ", id, " (defined through the API) is not served",
                   file != imported.end() ? " (the config file's entry is, instead)" : "", ": ",
                   problem.pointer, ": ", problem.message);
      }
      if (file != imported.end()) {
        taken.add(file->second);
        cfg->tenants.push_back(std::move(file->second));
      }
      continue;
    }
    taken.add(*parsed.value);
    cfg->tenants.push_back(std::move(*parsed.value));
  }
  return cfg;
}

status plane::import_file_tenants(const config::config& file_cfg, std::int64_t now) {
  if (!file_cfg.control_plane.manage_file_tenants) {
    return {};
  }
  const std::int64_t grace_ms =
      static_cast<std::int64_t>(file_cfg.control_plane.secret_grace_seconds) * 1000;
  std::vector<std::pair<store::tenant_definition, store::audit_entry>> items;
  std::map<std::string, tenant_document> imported;
  std::size_t already = 0;
  for (const auto& t : file_cfg.tenants) {
    if (docs_.count(t.id) != 0) {
      ++already;
      continue;
    }
    auto doc = imported_document(t.file_object, schemas_, now, grace_ms, file_cfg.source);
    if (doc.id != t.id) {
      return error{errc::internal, "tenant " + t.id + " of the file could not be imported"};
    }
    store::audit_entry e;
    e.at = timestamp::from_millis(now);
    e.tenant = t.id;
    e.actor = "config:" + file_cfg.source;
    e.action = "tenant_import";
    e.outcome = "ok";
    e.detail = "channels=" + std::to_string(doc.channels.size()) +
               " subscribers=" + std::to_string(doc.subscribers.size());
    items.push_back({store::tenant_definition{t.id, to_json(doc), now}, std::move(e)});
    imported.emplace(t.id, std::move(doc));
  }
  if (already > 0) {
    log::info("control", already,
              " tenant(s) of the config file are served from the store, where they were "
              "imported before (control_plane.manage_file_tenants): their entries in the file are "
              "not read");
  }
  if (items.empty()) {
    return {};
  }
  auto stored = definitions_->insert_absent(items);
  if (!stored) {
    return error{stored.err().code,
                 "importing the config file's tenants into the store: " + stored.err().message};
  }
  log::info("control", stored->size(),
            " tenant(s) of the config file imported into the store "
            "(control_plane.manage_file_tenants); they are changed through the API from now on");
  if (stored->size() < items.size()) {
    return read_definitions();  // another replica imported some first: theirs are stored
  }
  for (auto& [definition, audit] : items) {
    docs_[definition.tenant] = std::move(imported.at(definition.tenant));
    stored_[definition.tenant] = std::move(definition.document);
  }
  return {};
}

status plane::read_definitions() {
  auto all = definitions_->load_all();
  if (!all) {
    return error{all.err().code, "cannot read the control plane's tenants: " + all.err().message};
  }
  for (auto& d : *all) {
    auto doc = parse_document(d.document);
    if (!doc) {
      return doc.err();
    }
    stored_[d.tenant] = std::move(d.document);
    docs_[d.tenant] = std::move(*doc);
  }
  return {};
}

result<std::shared_ptr<const config::config>> plane::compose_at_start(
    std::shared_ptr<const config::config> file_cfg) {
  std::lock_guard<std::mutex> lock(m_);
  if (!definitions_) {
    file_cfg_ = without_file_objects(std::move(file_cfg));
    running_ = file_cfg_;
    return running_;
  }
  if (auto st = read_definitions(); !st) {
    return st.err();
  }
  const auto now = now_ms();
  if (auto st = import_file_tenants(*file_cfg, now); !st) {
    return st.err();
  }
  file_cfg_ = without_file_objects(std::move(file_cfg));
  running_ = compose(*file_cfg_, now);
  if (!docs_.empty()) {
    log::info("control", docs_.size(), " tenant(s) defined through the API");
  }
  return running_;
}

void plane::start(hooks h) {
  hooks_ = std::move(h);
  // The server already listens: calls it took before now wait in `queue_`, and the worker
  // takes them first.
  std::lock_guard<std::mutex> lock(q_m_);
  worker_ = std::thread([this] { run(); });
}

std::shared_ptr<const config::config> plane::running() const {
  std::lock_guard<std::mutex> lock(m_);
  return running_;
}

std::shared_ptr<const config::config> plane::file_config() const {
  std::lock_guard<std::mutex> lock(m_);
  return file_cfg_;
}

status plane::apply_running(std::shared_ptr<const config::config> next) {
  if (auto st = hooks_.apply(next); !st) {
    return st;
  }
  running_ = std::move(next);
  return {};
}

status plane::replace_file_config(std::shared_ptr<const config::config> file_cfg) {
  std::lock_guard<std::mutex> lock(m_);
  const auto now = now_ms();
  if (definitions_) {
    if (auto st = import_file_tenants(*file_cfg, now); !st) {
      return st;
    }
  }
  file_cfg = without_file_objects(std::move(file_cfg));
  if (auto st = apply_running(compose(*file_cfg, now)); !st) {
    return st;
  }
  file_cfg_ = std::move(file_cfg);
  return {};
}

void plane::definitions_changed() {
  {
    std::lock_guard<std::mutex> lock(q_m_);
    reload_wanted_ = true;
  }
  q_cv_.notify_one();
}

void plane::submit(request r, std::function<void(http::response)> done) {
  if (!definitions_) {
    done(http::error_response(errc::unavailable,
                              "this gateway's store keeps no control-plane definitions"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(q_m_);
    // Also before `start`: the server listens a moment before the worker starts, and a call
    // arriving then waits for it (`stop` answers it, if the worker never comes).
    if (!stopping_ && queue_.size() < opts_.queue) {
      queue_.push_back(job{std::move(r), std::move(done)});
      q_cv_.notify_one();
      return;
    }
  }
  done(http::error_response(errc::overloaded, "the control plane is busy; retry", k_busy_retry_s));
}

std::int64_t plane::next_wake(std::int64_t now) const {
  std::optional<std::int64_t> next;
  for (const auto& [id, doc] : docs_) {
    if (auto end = next_grace_end(doc, now); end && (!next || *end < *next)) {
      next = end;
    }
  }
  return next.value_or(0);
}

void plane::expire_graces() {
  // A grace that ended drops out of the composed config: compose again and apply.
  if (auto st = apply_running(compose(*file_cfg_, now_ms())); !st) {
    log::error("control", "ending a secret's grace: ", st.err().message);
    return;
  }
  log::info("control", "a previous channel secret's grace ended; it is no longer accepted");
}

void plane::reload_definitions() {
  auto all = definitions_->load_all();
  if (!all) {
    log::error("control", "reading the definitions another replica changed: ", all.err().message,
               " (the next change or reconnect reads them again)");
    return;
  }
  std::map<std::string, tenant_document> docs;
  std::map<std::string, std::string> stored;
  bool changed = all->size() != stored_.size();
  for (auto& d : *all) {
    auto it = stored_.find(d.tenant);
    if (it != stored_.end() && it->second == d.document) {
      docs[d.tenant] = docs_.at(d.tenant);
      stored[d.tenant] = std::move(d.document);
      continue;
    }
    auto doc = parse_document(d.document);
    if (!doc) {
      log::error("control", doc.err().message);
      continue;
    }
    changed = true;
    docs[d.tenant] = std::move(*doc);
    stored[d.tenant] = std::move(d.document);
  }
  if (!changed) {
    return;
  }
  docs_ = std::move(docs);
  stored_ = std::move(stored);
  if (auto st = apply_running(compose(*file_cfg_, now_ms())); !st) {
    log::error("control", "applying the definitions another replica changed: ", st.err().message);
    return;
  }
  log::info("control", "applied the control plane's definitions as another replica changed them");
}

void plane::run() {
  for (;;) {
    std::optional<job> j;
    bool reload = false;
    {
      std::unique_lock<std::mutex> lock(q_m_);
      std::int64_t wake = 0;
      {
        std::lock_guard<std::mutex> state(m_);
        wake = next_wake(now_ms());
      }
      auto ready = [&] { return stopping_ || reload_wanted_ || !queue_.empty(); };
      if (wake == 0) {
        q_cv_.wait(lock, ready);
      } else {
        const auto wait_ms = std::max<std::int64_t>(wake - now_ms(), 0);
        if (!q_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready)) {
          lock.unlock();
          std::lock_guard<std::mutex> state(m_);
          expire_graces();
          continue;
        }
      }
      if (stopping_) {
        return;
      }
      if (reload_wanted_) {
        reload_wanted_ = false;
        reload = true;
      } else {
        j = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (reload) {
      std::lock_guard<std::mutex> state(m_);
      reload_definitions();
      continue;
    }
    http::response answer;
    try {
      answer = handle(j->r);
    } catch (const std::exception& e) {
      log::error("control", "call failed: ", e.what());
      answer = http::error_response(errc::internal, "the call failed; see the gateway's log");
    }
    j->done(std::move(answer));
  }
}

http::response plane::handle(request& r) {
  std::lock_guard<std::mutex> state(m_);
  plane_calls c{*this, r};
  switch (r.op) {
    case operation::list_tenants:
      return c.list_tenants();
    case operation::create_tenant:
      return c.create_tenant();
    case operation::get_tenant:
      return c.get_tenant();
    case operation::update_tenant:
      return c.update_tenant();
    case operation::delete_tenant:
      return c.delete_tenant();
    case operation::create_channel:
      return c.create_channel();
    case operation::get_channel:
      return c.get_channel();
    case operation::update_channel:
      return c.update_channel();
    case operation::delete_channel:
      return c.delete_channel();
    case operation::create_subscriber:
      return c.create_subscriber();
    case operation::get_subscriber:
      return c.get_subscriber();
    case operation::update_subscriber:
      return c.change_subscriber(false);
    case operation::delete_subscriber:
      return c.delete_subscriber();
    case operation::rotate_token:
      return c.change_subscriber(true);
    case operation::none:
      break;
  }
  return http::error_response(errc::not_found, "no such call");
}

}  // namespace sb::control

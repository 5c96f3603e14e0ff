#include "http/auth.hpp"

#include <cctype>

#include "core/crypto.hpp"
#include "core/log.hpp"

namespace sb::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || !is_space(authorization[scheme.size()]) ||
      lower(authorization.substr(0, scheme.size())) != scheme) {
    return {};
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && is_space(token.front())) {
    token.remove_prefix(1);
  }
  while (!token.empty() && is_space(token.back())) {
    token.remove_suffix(1);
  }
  return token;
}

token_index::token_index(const config::config& cfg) {
  for (const auto& t : cfg.tenants) {
    for (const auto& s : t.subscribers) {
      if (s.token_sha256.empty()) {
        continue;
      }
      std::string digest = lower(s.token_sha256);
      if (ambiguous_.count(digest) != 0) {
        continue;
      }
      auto [it, inserted] = by_digest_.emplace(digest, principal{t.id, s.name, s.scopes});
      if (!inserted) {
        log::warn("http", "subscribers ", it->second.tenant, "/", it->second.subscriber, " and ",
                  t.id, "/", s.name, " share one token; it is refused for both");
        by_digest_.erase(it);
        ambiguous_.insert(std::move(digest));
      }
    }
  }
  for (const auto& t : cfg.tenants) {
    tenant_ids_.push_back(t.id);
  }
  const unsigned every_scope =
      static_cast<unsigned>(config::scope::stream) | static_cast<unsigned>(config::scope::send) |
      static_cast<unsigned>(config::scope::privacy) | static_cast<unsigned>(config::scope::admin);
  for (const auto& o : cfg.operators) {
    auto raw = crypto::from_hex(lower(o.token_sha256));
    const std::string digest = lower(o.token_sha256);
    if (!raw || raw->size() != 32 || by_digest_.count(digest) != 0 ||
        ambiguous_.count(digest) != 0) {
      // The loader refuses both; an unusable or shared digest must still never open a tenant.
      log::error("http", "operator ", o.name, " has an unusable or shared token; it is refused");
      continue;
    }
    operator_entry e;
    e.name = o.name;
    e.digest = std::move(*raw);
    for (const auto& id : tenant_ids_) {
      e.as.push_back(principal{id, "operator:" + o.name, every_scope, true});
    }
    operators_.push_back(std::move(e));
  }
}

const token_index::operator_entry* token_index::match_operator(std::string_view token) const {
  if (token.empty() || operators_.empty()) {
    return nullptr;
  }
  const auto given = crypto::sha256(token);
  const std::string_view g(reinterpret_cast<const char*>(given.data()), given.size());
  const operator_entry* hit = nullptr;
  for (const auto& e : operators_) {  // no early exit: the time does not depend on the match
    if (crypto::constant_time_equal(g, e.digest) && hit == nullptr) {
      hit = &e;
    }
  }
  return hit;
}

result<const principal*> token_index::operator_on(const operator_entry& e,
                                                  std::string_view requested_tenant) const {
  if (requested_tenant.empty()) {
    if (tenant_ids_.size() == 1) {
      return &e.as.front();
    }
    return error{errc::bad_request,
                 "an operator token must name the tenant with ?tenant=<id> (the config has " +
                     std::to_string(tenant_ids_.size()) + " tenants)"};
  }
  for (std::size_t i = 0; i < tenant_ids_.size(); ++i) {
    if (tenant_ids_[i] == requested_tenant) {
      return &e.as[i];
    }
  }
  return error{errc::unknown_tenant, "no such tenant"};
}

const std::string* token_index::find_operator(std::string_view authorization) const {
  const operator_entry* e = match_operator(bearer_token(authorization));
  return e == nullptr ? nullptr : &e->name;
}

const principal* token_index::find(std::string_view token) const {
  if (token.empty()) {
    return nullptr;
  }
  auto it = by_digest_.find(crypto::to_hex(crypto::sha256(token)));
  return it == by_digest_.end() ? nullptr : &it->second;
}

result<const principal*> token_index::authenticate(std::string_view authorization,
                                                   config::scope needed,
                                                   std::string_view requested_tenant) const {
  std::string_view token = bearer_token(authorization);
  if (token.empty()) {
    return error{errc::unauthorized, "missing bearer token"};
  }
  const principal* p = find(token);
  if (p == nullptr) {
    if (const operator_entry* op = match_operator(token)) {
      return operator_on(*op, requested_tenant);  // every scope
    }
    return error{errc::unauthorized, "unknown bearer token"};
  }
  if (!p->has_scope(needed)) {
    return error{errc::forbidden,
                 std::string("the token lacks the '") + config::scope_name(needed) + "' scope"};
  }
  if (!requested_tenant.empty() && requested_tenant != p->tenant) {
    return error{errc::forbidden, "the token does not belong to this tenant"};
  }
  return p;
}

metrics_access::metrics_access(const config::server_config& server) {
  if (!server.metrics.token_sha256.empty()) {
    auto raw = crypto::from_hex(lower(server.metrics.token_sha256));
    if (raw && raw->size() == 32) {
      digest_ = std::move(*raw);
    } else {
      // The loader validates the key; an unusable digest must still never open the endpoint.
      digest_ = std::string(32, '\0');
      log::error("http", "server.metrics.token_sha256 is unusable; /metrics refuses all");
    }
  }
}

status metrics_access::check(std::string_view authorization) const {
  if (digest_.empty()) {
    return {};
  }
  std::string_view token = bearer_token(authorization);
  if (token.empty()) {
    return {errc::unauthorized, "GET /metrics needs a bearer token"};
  }
  const auto given = crypto::sha256(token);
  if (!crypto::constant_time_equal(
          std::string_view(reinterpret_cast<const char*>(given.data()), given.size()), digest_)) {
    return {errc::unauthorized, "unknown bearer token"};
  }
  return {};
}

}  // namespace sb::http

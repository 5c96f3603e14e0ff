#include "config/config.hpp"

#include <iterator>

namespace sb::config {

const char* scope_name(scope s) {
  switch (s) {
    case scope::stream:
      return "stream";
    case scope::send:
      return "send";
    case scope::privacy:
      return "privacy";
    case scope::admin:
      return "admin";
  }
  return "?";
}

const std::string& channel_config::get(const std::string& key) const {
  static const std::string empty;
  auto it = settings.find(key);
  return it == settings.end() ? empty : it->second;
}

std::vector<std::string> channel_config::list(const std::string& key) const {
  std::vector<std::string> out;
  const std::string& v = get(key);
  std::size_t start = 0;
  while (start < v.size()) {
    auto end = v.find('\n', start);
    if (end == std::string::npos) {
      end = v.size();
    }
    out.push_back(v.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<setting_spec> previous_secret_settings(const channel_schema& schema) {
  std::vector<setting_spec> out;
  for (const auto& spec : schema.settings) {
    if (!spec.secret || spec.derived || spec.list) {
      continue;
    }
    setting_spec p;
    p.key = spec.key + k_previous_suffix;
    p.secret = true;
    p.description = "The previous value of `" + spec.key +
                    "`, still accepted for verification while the platform switches to the new "
                    "one; remove it once switchboard_webhook_previous_secret_total stops growing.";
    out.push_back(std::move(p));
  }
  return out;
}

bool is_previous_key(std::string_view key) {
  constexpr std::string_view suffix = k_previous_suffix;
  return key.size() > suffix.size() && key.substr(key.size() - suffix.size()) == suffix;
}

std::optional<channel_config> with_previous_secrets(const channel_config& ch) {
  constexpr std::size_t suffix = std::string_view(k_previous_suffix).size();
  std::optional<channel_config> out;
  for (const auto& [key, value] : ch.settings) {
    if (value.empty() || !is_previous_key(key)) {
      continue;
    }
    if (!out) {
      out = ch;
    }
    out->settings[key.substr(0, key.size() - suffix)] = value;
  }
  if (out) {
    for (auto it = out->settings.begin(); it != out->settings.end();) {
      it = is_previous_key(it->first) ? out->settings.erase(it) : std::next(it);
    }
  }
  return out;
}

const channel_config* tenant_config::find_channel(const std::string& name) const {
  for (const auto& c : channels) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const tenant_config* config::find_tenant(const std::string& id) const {
  for (const auto& t : tenants) {
    if (t.id == id) {
      return &t;
    }
  }
  return nullptr;
}

std::unordered_map<std::string_view, const tenant_config*> tenants_by_id(const config& cfg) {
  std::unordered_map<std::string_view, const tenant_config*> out;
  out.reserve(cfg.tenants.size());
  for (const auto& t : cfg.tenants) {
    out.emplace(t.id, &t);
  }
  return out;
}

std::shared_ptr<const config> for_tenant(const config& whole, const tenant_config& tenant) {
  auto out = std::make_shared<config>();
  out->source = whole.source;
  out->server = whole.server;
  out->storage = whole.storage;
  out->cluster = whole.cluster;
  out->log = whole.log;
  out->control_plane = whole.control_plane;
  out->privacy = whole.privacy;
  out->limits = whole.limits;
  out->operators = whole.operators;
  out->tenants.push_back(tenant);
  return out;
}

}  // namespace sb::config

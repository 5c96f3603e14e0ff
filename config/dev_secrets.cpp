#include "config/dev_secrets.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "config/loader.hpp"
#include "core/crypto.hpp"
#include "core/ip.hpp"

namespace sb::config {

namespace {

/// Public value -> how to replace it, read from the embedded example: every `${VAR:-default}`
/// fallback ("set VAR") and every literal `token_sha256` ("issue your own token").
std::map<std::string, std::string> public_values() {
  std::map<std::string, std::string> out;
  YAML::Node root;
  try {
    root = YAML::Load(embedded_default());
  } catch (const YAML::Exception&) {
    return out;  // the embedded config is tested to load
  }
  std::vector<std::pair<std::string, YAML::Node>> todo{{"", root}};
  while (!todo.empty()) {
    auto [key, node] = todo.back();
    todo.pop_back();
    if (node.IsMap()) {
      for (const auto& kv : node) {
        todo.emplace_back(kv.first.Scalar(), kv.second);
      }
    } else if (node.IsSequence()) {
      for (const auto& el : node) {
        todo.emplace_back(key, el);
      }
    } else if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (key == "token_sha256") {
        std::string hex = text;
        std::transform(hex.begin(), hex.end(), hex.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.emplace(hex, "issue your own token (the example's is public)");
        continue;
      }
      for (std::size_t at = text.find("${"); at != std::string::npos;
           at = text.find("${", at + 2)) {
        const auto close = text.find('}', at);
        const auto sep = text.find(":-", at);
        if (close == std::string::npos || sep == std::string::npos || sep > close) {
          continue;
        }
        const std::string var = text.substr(at + 2, sep - at - 2);
        const std::string fallback = text.substr(sep + 2, close - sep - 2);
        if (!fallback.empty()) {
          out.emplace(fallback, "set " + var);
        }
      }
    }
  }
  return out;
}

const std::map<std::string, std::string>& dev_values() {
  static const auto values = public_values();
  return values;
}

void check(std::vector<std::string>& out, const std::string& path, const std::string& value) {
  if (value.empty()) {
    return;
  }
  const auto& values = dev_values();
  if (auto it = values.find(value); it != values.end()) {
    out.push_back(path + ": the example config's public DEV-ONLY value; " + it->second);
  }
}

bool is_secret(const std::vector<channel_schema>& schemas, const std::string& type,
               const std::string& key) {
  for (const auto& s : schemas) {
    if (s.type == type) {
      for (const auto& spec : s.settings) {
        if (spec.key == key) {
          return spec.secret;
        }
      }
      for (const auto& spec : previous_secret_settings(s)) {
        if (spec.key == key) {
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> dev_only_secrets(const config& cfg,
                                          const std::vector<channel_schema>& schemas) {
  std::vector<std::string> out;
  // The master key is held decoded; the example's fallback is its hex text.
  check(out, "storage.master_key",
        crypto::to_hex(reinterpret_cast<const std::uint8_t*>(cfg.storage.master_key.data()),
                       cfg.storage.master_key.size()));
  check(out, "server.metrics.token_sha256", cfg.server.metrics.token_sha256);
  for (const auto& t : cfg.tenants) {
    const std::string tenant = "tenants[" + t.id + "]";
    for (const auto& ch : t.channels) {
      for (const auto& [key, value] : ch.settings) {
        if (is_secret(schemas, ch.type, key)) {
          check(out, tenant + ".channels[" + ch.name + "]." + key, value);
        }
      }
    }
    for (const auto& sub : t.subscribers) {
      const std::string path = tenant + ".subscribers[" + sub.name + "]";
      check(out, path + ".token_sha256", sub.token_sha256);
      if (sub.push) {
        check(out, path + ".push.secret", sub.push->secret);
        check(out, path + ".push.secret_previous", sub.push->secret_previous);
      }
    }
  }
  return out;
}

bool loopback_only(const config& cfg) {
  if (!ip::is_loopback_host(ip::host_of(cfg.server.listen))) {
    return false;
  }
  return cfg.server.metrics.listen.empty() ||
         ip::is_loopback_host(ip::host_of(cfg.server.metrics.listen));
}

}  // namespace sb::config

#include "config/config.hpp"

namespace sb::config {

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

}  // namespace sb::config

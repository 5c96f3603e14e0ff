#include "http/replay_guard.hpp"

#include <algorithm>

namespace sb::http {

void replay_guard::prune(std::int64_t now_ms) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    tokens_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

bool replay_guard::admit(std::string_view scope, std::string_view token, const digest& body,
                         std::int64_t expires_ms, std::int64_t now_ms) {
  std::string key;
  key.reserve(scope.size() + 1 + token.size());
  key.append(scope).push_back('\n');
  key.append(token);
  std::lock_guard<std::mutex> lock(m_);
  prune(now_ms);
  if (auto it = tokens_.find(key); it != tokens_.end()) {
    return it->second.body == body;
  }
  if (capacity_ == 0) {
    return true;
  }
  while (tokens_.size() >= capacity_ && !by_expiry_.empty()) {
    tokens_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
    ++evicted_;
  }
  tokens_.emplace(key, entry{expires_ms, body});
  by_expiry_.emplace(expires_ms, std::move(key));
  return true;
}

std::size_t replay_guard::size() const {
  std::lock_guard<std::mutex> lock(m_);
  return tokens_.size();
}

std::uint64_t replay_guard::evicted() const {
  std::lock_guard<std::mutex> lock(m_);
  return evicted_;
}

}  // namespace sb::http

#include "core/conversation_key.hpp"

namespace sb {

std::optional<conversation_key> conversation_key::parse(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
    return std::nullopt;
  }
  return conversation_key(std::string(s.substr(0, colon)), std::string(s.substr(colon + 1)));
}

std::string conversation_key::format(std::string_view channel, std::string_view peer) {
  std::string s;
  s.reserve(channel.size() + 1 + peer.size());
  s.append(channel).push_back(':');
  s.append(peer);
  return s;
}

}  // namespace sb

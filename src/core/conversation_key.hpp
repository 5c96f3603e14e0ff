#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

/// The name of a conversation as events, the outbox and the API carry it: "<channel>:<peer>",
/// `channel` a configured channel name (config: [a-z0-9][a-z0-9_-]*, so never a ':'), `peer` the
/// platform's id of the other side, or its pseudonym (privacy/redact.hpp). Every place that
/// composes or splits that string goes through this type, so the form is written once.
namespace sb {

class conversation_key {
 public:
  /// Both parts non-empty for a key that `parse` gives back.
  conversation_key(std::string channel, std::string peer)
      : channel_(std::move(channel)), peer_(std::move(peer)) {}

  /// Splits "<channel>:<peer>" at the first ':' (a peer may contain ':'); nothing when there is
  /// no ':' or either part is empty.
  static std::optional<conversation_key> parse(std::string_view s);

  /// "<channel>:<peer>" without building a key first (the adapters' hot path).
  static std::string format(std::string_view channel, std::string_view peer);

  const std::string& channel() const noexcept { return channel_; }
  const std::string& peer() const noexcept { return peer_; }
  /// "<channel>:<peer>".
  std::string str() const { return format(channel_, peer_); }

  friend bool operator==(const conversation_key& a, const conversation_key& b) noexcept {
    return a.channel_ == b.channel_ && a.peer_ == b.peer_;
  }
  friend bool operator!=(const conversation_key& a, const conversation_key& b) noexcept {
    return !(a == b);
  }
  friend bool operator<(const conversation_key& a, const conversation_key& b) noexcept {
    return a.channel_ != b.channel_ ? a.channel_ < b.channel_ : a.peer_ < b.peer_;
  }

 private:
  std::string channel_;
  std::string peer_;
};

}  // namespace sb

namespace std {
/// Hashes like the key's string form, so a key and its `str()` land in the same bucket.
template <>
struct hash<sb::conversation_key> {
  std::size_t operator()(const sb::conversation_key& k) const { return hash<string>{}(k.str()); }
};
}  // namespace std

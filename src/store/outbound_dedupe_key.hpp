#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/outbox.hpp"

/// The dedupe key of an `outbound.status` event: "outbound:<message id>:<state>". The event log
/// stores one event per key, so a state reached twice (a sender restart, a receipt replayed) is
/// announced once. Written by the sender (sent, failed) and by the tenant (delivered, read,
/// failed from a receipt) through this type, so both compose the same string.
namespace sb::store {

class outbound_dedupe_key {
 public:
  outbound_dedupe_key(std::string message_id, outbound_state state)
      : message_id_(std::move(message_id)), state_(state) {}

  /// Parses "outbound:<message id>:<state>" (the state is after the last ':'); nothing for any
  /// other key (the platforms' own inbound dedupe keys) or an unknown state.
  static std::optional<outbound_dedupe_key> parse(std::string_view s) {
    constexpr std::string_view prefix = "outbound:";
    if (s.substr(0, prefix.size()) != prefix) {
      return std::nullopt;
    }
    s.remove_prefix(prefix.size());
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return std::nullopt;
    }
    auto state = parse_outbound_state(s.substr(colon + 1));
    if (!state) {
      return std::nullopt;
    }
    return outbound_dedupe_key(std::string(s.substr(0, colon)), *state);
  }

  const std::string& message_id() const noexcept { return message_id_; }
  outbound_state state() const noexcept { return state_; }

  /// "outbound:<message id>:<state>".
  std::string str() const { return "outbound:" + message_id_ + ":" + to_string(state_); }

  friend bool operator==(const outbound_dedupe_key& a, const outbound_dedupe_key& b) noexcept {
    return a.state_ == b.state_ && a.message_id_ == b.message_id_;
  }
  friend bool operator!=(const outbound_dedupe_key& a, const outbound_dedupe_key& b) noexcept {
    return !(a == b);
  }

 private:
  std::string message_id_;
  outbound_state state_;
};

}  // namespace sb::store

namespace std {
template <>
struct hash<sb::store::outbound_dedupe_key> {
  std::size_t operator()(const sb::store::outbound_dedupe_key& k) const {
    return hash<string>{}(k.message_id()) * 31 + static_cast<std::size_t>(k.state());
  }
};
}  // namespace std

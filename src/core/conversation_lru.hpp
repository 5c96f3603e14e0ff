#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

/// A tenant's live conversation actors in least-recently-used order, bounded by
/// `limits.conversations_per_tenant`, as a plain class (the tenant actor keeps one; `Value` is
/// the actor handle there, anything in tests).
///
/// One signed webhook may name thousands of senders, each a conversation: without a bound the
/// tenant would keep an actor for every one of them until it idles out. Conversation actors hold
/// nothing that is not durable (the window is restored from the outbox, conversation_state.hpp),
/// so the least recently used one can be stopped whenever a new one needs room.
///
/// Every call is O(1) on average (a hash map into a list); the key is stored once.
namespace sb {

template <class Value>
class conversation_lru {
 public:
  /// `cap`: at most this many entries after `insert` (at least 1).
  explicit conversation_lru(std::size_t cap) : cap_(cap == 0 ? 1 : cap) {}

  conversation_lru(const conversation_lru&) = delete;  // `index_` points into `order_`
  conversation_lru& operator=(const conversation_lru&) = delete;

  /// The value of `key`, now the most recently used; null when absent.
  Value* touch(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  /// The value of `key` without changing the order (introspection); null when absent.
  Value* find(std::string_view key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }

  /// True when an `insert` must first make room with `pop_lru`.
  bool full() const { return order_.size() >= cap_; }

  /// Adds `key` (absent) as the most recently used.
  void insert(std::string key, Value value) {
    order_.emplace_front(std::move(key), std::move(value));
    index_.emplace(std::string_view(order_.front().first), order_.begin());
  }

  /// Removes and returns the least recently used entry. Precondition: not empty.
  std::pair<std::string, Value> pop_lru() {
    auto& last = order_.back();
    index_.erase(std::string_view(last.first));
    std::pair<std::string, Value> out(std::move(last.first), std::move(last.second));
    order_.pop_back();
    return out;
  }

  /// Removes `key` (its actor stopped by itself). False when absent.
  bool erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return false;
    }
    auto pos = it->second;
    index_.erase(it);  // before the list node its key points into
    order_.erase(pos);
    return true;
  }

  /// Calls `f(key, value)` from the most to the least recently used.
  template <class F>
  void for_each(F&& f) {
    for (auto& [key, value] : order_) {
      f(key, value);
    }
  }

  std::size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  std::size_t cap() const { return cap_; }

 private:
  using entry = std::pair<std::string, Value>;
  std::size_t cap_;
  std::list<entry> order_;  // most recently used first
  std::unordered_map<std::string_view, typename std::list<entry>::iterator> index_;
};

}  // namespace sb

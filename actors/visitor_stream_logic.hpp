#pragma once

// The plain logic of web chat visitor streams (no CAF): which stored events a visitor's stream
// shows and how, and the tenant's index of open visitor streams by conversation. The actors
// (actors/visitor_stream.cpp, actors/tenant.cpp) are thin shells around these.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/event_log.hpp"
#include "store/privacy_store.hpp"

namespace sb::actors {

/// One event as a visitor's stream writes it.
struct visitor_item {
  /// Its frame: "id: <seq>\nevent: message\ndata: <JSON>\n\n", the JSON being the stored event
  /// without `subject` and `tenant` (the stored JSON holds no other internal field).
  store::shared_event_ptr frame;
  bool agent = false;  ///< an agent's reply (`content.echo` true): receipted once written
  std::string id;      ///< the event's id ("evt_…")
};

/// `e` as the visitor of `conversation` sees it, or nothing when it is not theirs to see: not a
/// `message`, another conversation, or JSON that does not parse (logged by nobody: skipped).
/// Thread-compatible: call from one thread at a time (it keeps a parser per thread).
std::optional<visitor_item> visitor_view(const store::stored_event& e,
                                         std::string_view conversation);

/// One page of a visitor's conversation, as the catch-up reader reads it.
struct visitor_page {
  std::vector<visitor_item> items;  ///< in seq order
  std::uint64_t next = 0;           ///< the cursor after this page (>= the read's `after`)
  bool failed = false;
  std::string error;
};

/// Reads the events of `subject` after `after` (at most `limit`, from the subject index) and
/// keeps the visitor's (`visitor_view`) up to `upto`: what may be read now (the announced head).
/// `next` is the last seq examined, or `upto` once the subject has nothing more up to it.
/// Blocking I/O: on the catch-up reader's thread only.
visitor_page read_visitor_page(store::privacy_store& ps, const std::string& tenant,
                               const std::string& subject, const std::string& conversation,
                               std::uint64_t after, std::uint64_t upto, std::size_t limit);

/// A tenant's open visitor streams, by conversation: a commit wakes only the streams of the
/// conversations among its events (one hash lookup per committed event, nothing per stream),
/// and only once the announced head has passed the event (`due`). `Handle` is the stream's
/// actor handle, `Id` what identifies it (its address). Not thread-safe: the tenant's.
template <class Id, class Handle>
class visitor_streams {
 public:
  /// An open stream of `conversation`, whose subject is `subject`.
  void add(const Id& id, const std::string& conversation, const std::string& subject,
           Handle h) {
    by_conversation_[conversation].push_back(id);
    entries_[id] = entry{conversation, subject, std::move(h)};
  }

  /// The stream is gone (its actor went down). False when it was not one of these.
  bool remove(const Id& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      return false;
    }
    auto c = by_conversation_.find(it->second.conversation);
    if (c != by_conversation_.end()) {
      auto& ids = c->second;
      ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
      if (ids.empty()) {
        by_conversation_.erase(c);
      }
    }
    entries_.erase(it);
    return true;
  }

  /// An event of `conversation` with `seq` was committed: its streams are woken once the
  /// announced head reaches `seq` (`due`). One hash lookup; nothing when no stream watches it.
  void committed(const std::string& conversation, std::uint64_t seq) {
    if (conversation.empty() || seq == 0) {
      return;
    }
    auto c = by_conversation_.find(conversation);
    if (c == by_conversation_.end()) {
      return;
    }
    waking_.emplace_back(seq, conversation);
  }

  /// Calls `wake(handle)` for every stream of a conversation with a committed event up to
  /// `head`, once per conversation per call, and forgets those events.
  template <class F>
  void due(std::uint64_t head, F&& wake) {
    if (waking_.empty()) {
      return;
    }
    std::vector<std::string> now;
    auto keep = std::partition(waking_.begin(), waking_.end(),
                               [head](const auto& w) { return w.first > head; });
    for (auto it = keep; it != waking_.end(); ++it) {
      if (std::find(now.begin(), now.end(), it->second) == now.end()) {
        now.push_back(std::move(it->second));
      }
    }
    waking_.erase(keep, waking_.end());
    for (const auto& conversation : now) {
      auto c = by_conversation_.find(conversation);
      if (c == by_conversation_.end()) {
        continue;  // its streams closed meanwhile
      }
      for (const auto& id : c->second) {
        wake(entries_.at(id).handle);
      }
    }
  }

  /// Calls `close(handle)` for every stream whose subject `is_gone` (an erasure). Walks every
  /// stream: erasures are rare, commits are not.
  template <class Pred, class F>
  void of_subjects(Pred&& is_gone, F&& close) {
    for (auto& [id, e] : entries_) {
      if (is_gone(e.subject)) {
        close(e.handle);
      }
    }
  }

  /// Calls `f(handle)` for every stream (shutdown).
  template <class F>
  void for_each(F&& f) {
    for (auto& [id, e] : entries_) {
      f(e.handle);
    }
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t conversations() const { return by_conversation_.size(); }
  /// Committed events that wait for the announced head (tests).
  std::size_t waiting() const { return waking_.size(); }

 private:
  struct entry {
    std::string conversation;
    std::string subject;
    Handle handle;
  };
  std::unordered_map<std::string, std::vector<Id>> by_conversation_;
  std::unordered_map<Id, entry> entries_;
  /// (seq, conversation) of committed events of watched conversations not yet announced.
  std::vector<std::pair<std::uint64_t, std::string>> waking_;
};

}  // namespace sb::actors

#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>

/// The head of a tenant's log that its readers may read up to, as a plain class (the tenant
/// actor is its shell; docs/architecture.md, "Consent is judged when an event is read").
///
/// Every stored event reaches the tenant in a commit message, and the tenant applies what the
/// events change (opt-out and opt-in keywords change consent) before it announces them. Commits
/// of one tenant come from several actors (channels, the emitters of consent.changed, receipts
/// and outbound.status), so they can arrive out of seq order: the announced head is the highest
/// seq up to which every seq has been committed here, never past a seq whose commit is still on
/// its way. A commit that never comes (its sender timed out or crashed after the store wrote
/// it) would hold the head back forever: `give_up_through` moves past it.
///
/// Seqs are issued by the log one by one per tenant, never reused, without holes at the time of
/// issue (deletions later are irrelevant here).
namespace sb::store {

class announced_head {
 public:
  /// `head`: what is announced from the start (the log's head when the tenant starts: what a
  /// previous tenant actor committed or gave up on).
  explicit announced_head(std::uint64_t head = 0) : head_(head) {}

  /// Records the commit of the events with seqs `first`..`last` (inclusive; `first` <= `last`).
  /// Seqs at or below the head are ignored. Returns true when the head moved.
  bool committed(std::uint64_t first, std::uint64_t last) {
    if (last <= head_) {
      return false;
    }
    if (first <= head_) {
      first = head_ + 1;
    }
    // Merge with the pending ranges it touches or overlaps.
    auto it = pending_.upper_bound(first);
    if (it != pending_.begin()) {
      auto prev = std::prev(it);
      if (prev->second + 1 >= first) {
        first = prev->first;
        last = std::max(last, prev->second);
        it = pending_.erase(prev);
      }
    }
    while (it != pending_.end() && it->first <= last + 1) {
      last = std::max(last, it->second);
      it = pending_.erase(it);
    }
    pending_.emplace(first, last);
    return advance();
  }

  /// Stops waiting for the commits of seqs up to `through`: the head moves to it (and on over
  /// pending commits that follow without a gap). Returns true when the head moved.
  bool give_up_through(std::uint64_t through) {
    if (through <= head_) {
      return false;
    }
    head_ = through;
    while (!pending_.empty() && pending_.begin()->second <= head_) {
      pending_.erase(pending_.begin());
    }
    if (!pending_.empty() && pending_.begin()->first <= head_) {
      auto range = *pending_.begin();
      pending_.erase(pending_.begin());
      pending_.emplace(head_ + 1, range.second);
    }
    advance();
    return true;
  }

  /// Every seq up to here has been committed (or given up on): readers may read up to it.
  std::uint64_t value() const { return head_; }

  /// Commits recorded past a gap (their seqs wait for an earlier commit).
  bool waiting() const { return !pending_.empty(); }

  /// The highest seq committed so far (the head when nothing waits).
  std::uint64_t highest() const { return pending_.empty() ? head_ : pending_.rbegin()->second; }

 private:
  bool advance() {
    bool moved = false;
    while (!pending_.empty() && pending_.begin()->first == head_ + 1) {
      head_ = pending_.begin()->second;
      pending_.erase(pending_.begin());
      moved = true;
    }
    return moved;
  }

  std::uint64_t head_;
  std::map<std::uint64_t, std::uint64_t> pending_;  // first -> last, disjoint, above head_ + 1
};

}  // namespace sb::store

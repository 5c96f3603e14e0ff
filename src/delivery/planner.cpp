#include "delivery/planner.hpp"

#include <algorithm>
#include <cassert>

namespace sb::delivery {

verdict classify(int status) {
  if (status >= 200 && status <= 299) {
    return verdict::success;
  }
  if (status == 410) {
    return verdict::disable;
  }
  return verdict::retry;
}

std::string describe(const attempt_result& r) {
  if (r.status != 0) {
    return "HTTP " + std::to_string(r.status);
  }
  return r.error.empty() ? std::string("no response") : r.error;
}

delivery_planner::delivery_planner(std::uint64_t cursor, limits lim, retry_schedule schedule)
    : limits_(lim), schedule_(std::move(schedule)), read_position_(cursor) {
  limits_.max_in_flight = std::max<std::size_t>(limits_.max_in_flight, 1);
  limits_.max_lookahead = std::max<std::size_t>(limits_.max_lookahead, 1);
}

std::size_t delivery_planner::room() const {
  const std::uint64_t ahead = read_position_ - cursor();
  return ahead >= limits_.max_lookahead ? 0
                                        : static_cast<std::size_t>(limits_.max_lookahead - ahead);
}

void delivery_planner::add(std::uint64_t seq, std::string conversation, std::string event_id,
                           std::string json) {
  assert(seq > read_position_ && seq < k_redrive_bit);
  read_position_ = seq;
  job j;
  j.ticket = seq;
  j.seq = seq;
  j.conversation = std::move(conversation);
  j.event_id = std::move(event_id);
  j.json = std::move(json);
  auto& added = jobs_.emplace(seq, std::move(j)).first->second;
  if (added.conversation.empty()) {
    make_ready(added);
    return;
  }
  auto& queue = conversations_[added.conversation];
  queue.push_back(seq);
  if (queue.size() == 1) {
    make_ready(added);
  }
}

void delivery_planner::advance(std::uint64_t seq) {
  read_position_ = std::max(read_position_, seq);
}

std::uint64_t delivery_planner::cursor() const {
  if (jobs_.empty() || (jobs_.begin()->first & k_redrive_bit) != 0) {
    return read_position_;
  }
  return jobs_.begin()->first - 1;
}

std::size_t delivery_planner::redrive_room() const {
  return redriving_ >= limits_.max_redrive ? 0 : limits_.max_redrive - redriving_;
}

std::uint64_t delivery_planner::add_redrive(std::uint64_t seq, std::string event_id,
                                            std::string json) {
  assert(redrive_room() > 0);
  const std::uint64_t ticket = k_redrive_bit | ++next_redrive_;
  job j;
  j.ticket = ticket;
  j.seq = seq;
  j.event_id = std::move(event_id);
  j.json = std::move(json);
  j.redrive = true;
  ++redriving_;
  make_ready(jobs_.emplace(ticket, std::move(j)).first->second);
  return ticket;
}

std::vector<std::uint64_t> delivery_planner::take_ready() {
  std::vector<std::uint64_t> out;
  auto take = [&](std::set<std::uint64_t>::iterator it) {
    auto& j = jobs_.at(*it);
    j.st = job::state::sending;
    ++sending_;
    out.push_back(*it);
    return ready_.erase(it);
  };
  // Redriven dead letters first: they are the oldest, and there are boundedly many.
  for (auto it = ready_.lower_bound(k_redrive_bit);
       it != ready_.end() && sending_ < limits_.max_in_flight;) {
    it = take(it);
  }
  for (auto it = ready_.begin();
       it != ready_.end() && (*it & k_redrive_bit) == 0 && sending_ < limits_.max_in_flight;) {
    it = take(it);
  }
  return out;
}

const job* delivery_planner::find(std::uint64_t ticket) const {
  auto it = jobs_.find(ticket);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::optional<decision> delivery_planner::on_result(std::uint64_t ticket, const attempt_result& r,
                                                    double u) {
  auto it = jobs_.find(ticket);
  if (it == jobs_.end() || it->second.st != job::state::sending) {
    return std::nullopt;
  }
  auto& j = it->second;
  --sending_;
  ++j.attempts;
  decision d;
  d.attempts = j.attempts;
  switch (classify(r.status)) {
    case verdict::success:
      d.what = action::delivered;
      done(it);
      return d;
    case verdict::disable:
      j.last_error = describe(r);
      d.what = action::disable;
      d.last_error = j.last_error;
      make_ready(j);
      return d;
    case verdict::retry:
      break;
  }
  j.last_error = describe(r);
  d.last_error = j.last_error;
  if (auto wait = schedule_.next_delay(j.attempts, r.retry_after, u)) {
    j.st = job::state::waiting;
    d.what = action::retry;
    d.delay = *wait;
    return d;
  }
  j.st = job::state::dead_letter;
  d.what = action::dead_letter;
  return d;
}

void delivery_planner::requeue(std::uint64_t ticket) {
  auto it = jobs_.find(ticket);
  if (it != jobs_.end() && it->second.st == job::state::sending) {
    --sending_;
    make_ready(it->second);
  }
}

void delivery_planner::retry_due(std::uint64_t ticket) {
  auto it = jobs_.find(ticket);
  if (it != jobs_.end() &&
      (it->second.st == job::state::waiting || it->second.st == job::state::dead_letter)) {
    make_ready(it->second);
  }
}

void delivery_planner::dead_lettered(std::uint64_t ticket) {
  auto it = jobs_.find(ticket);
  if (it != jobs_.end() && it->second.st == job::state::dead_letter) {
    done(it);
  }
}

std::size_t delivery_planner::count(job::state s) const {
  return static_cast<std::size_t>(
      std::count_if(jobs_.begin(), jobs_.end(), [s](const auto& kv) { return kv.second.st == s; }));
}

void delivery_planner::make_ready(job& j) {
  j.st = job::state::ready;
  ready_.insert(j.ticket);
}

void delivery_planner::done(std::map<std::uint64_t, job>::iterator it) {
  const job& j = it->second;
  if (j.redrive) {
    --redriving_;
  } else if (!j.conversation.empty()) {
    auto q = conversations_.find(j.conversation);
    assert(q != conversations_.end() && q->second.front() == j.seq);
    q->second.pop_front();
    if (q->second.empty()) {
      conversations_.erase(q);
    } else {
      make_ready(jobs_.at(q->second.front()));
    }
  }
  ready_.erase(j.ticket);
  jobs_.erase(it);
}

cursor_saver::cursor_saver(std::uint64_t saved, std::chrono::milliseconds interval,
                           std::uint64_t every)
    : saved_(saved), interval_(interval), every_(std::max<std::uint64_t>(every, 1)) {}

cursor_saver::plan cursor_saver::on_progress(std::uint64_t cursor, clock::time_point now) {
  plan p;
  if (cursor == saved_) {
    return p;
  }
  const bool far = cursor > saved_ && cursor - saved_ >= every_;
  const auto since = now - last_save_;
  if (far || since >= interval_) {
    p.save_now = true;
    return p;
  }
  if (!timer_armed_) {
    timer_armed_ = true;
    p.arm_timer = std::chrono::duration_cast<std::chrono::milliseconds>(interval_ - since) +
                  std::chrono::milliseconds{1};
  }
  return p;
}

bool cursor_saver::on_timer(std::uint64_t cursor) {
  timer_armed_ = false;
  return cursor != saved_;
}

void cursor_saver::saved(std::uint64_t cursor, clock::time_point now) {
  saved_ = cursor;
  last_save_ = now;
}

}  // namespace sb::delivery

#include "store/pg/lease_keeper.hpp"

#include <vector>

#include "core/log.hpp"

namespace sb::store::pg {

std::unique_ptr<lease_keeper> lease_keeper::start(std::shared_ptr<pool> connections,
                                                  std::string node,
                                                  std::chrono::milliseconds ttl) {
  return std::unique_ptr<lease_keeper>(new lease_keeper(std::move(connections), std::move(node), ttl));
}

lease_keeper::lease_keeper(std::shared_ptr<pool> connections, std::string node,
                           std::chrono::milliseconds ttl)
    : pool_(std::move(connections)), node_(std::move(node)), ttl_(ttl) {
  thread_ = std::thread([this] { run(); });
}

void lease_keeper::stop() {
  {
    std::lock_guard lock(m_);
    if (stop_) {
      return;
    }
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  // Handed over at once rather than after the expiry: the work stops here first.
  std::vector<std::pair<on_change, lease>> held;
  {
    std::lock_guard lock(m_);
    for (auto& [name, w] : wanted_) {
      if (w.held) {
        held.emplace_back(w.changed, *w.held);
        w.held.reset();
      }
    }
  }
  for (auto& [changed, l] : held) {
    if (changed) {
      changed(false);
    }
    if (auto c = pool_->take()) {
      (void)release(**c, l);
    }
  }
}

void lease_keeper::want(const std::string& name, on_change changed) {
  {
    std::lock_guard lock(m_);
    wanted_.emplace(name, wanted{std::move(changed), std::nullopt, {}});
  }
  cv_.notify_all();  // a round now, so a new want is served without waiting a period
}

bool lease_keeper::holds(const std::string& name) const {
  std::lock_guard lock(m_);
  auto it = wanted_.find(name);
  return it != wanted_.end() && it->second.held.has_value();
}

std::optional<lease> lease_keeper::held(const std::string& name) const {
  std::lock_guard lock(m_);
  auto it = wanted_.find(name);
  return it != wanted_.end() ? it->second.held : std::nullopt;
}

void lease_keeper::run() {
  const auto period = std::max<std::chrono::milliseconds>(ttl_ / 3, std::chrono::milliseconds{1});
  std::unique_lock lock(m_);
  while (!stop_) {
    lock.unlock();
    round();
    lock.lock();
    cv_.wait_for(lock, period, [&] { return stop_; });
  }
}

void lease_keeper::round() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(m_);
    for (const auto& [name, w] : wanted_) {
      names.push_back(name);
    }
  }
  auto c = pool_->take();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& name : names) {
    std::optional<lease> held;
    std::chrono::steady_clock::time_point renewed;
    {
      std::lock_guard lock(m_);
      held = wanted_[name].held;
      renewed = wanted_[name].renewed;
    }
    if (!c) {
      // Unreachable: a held lease is given up before it can expire in the database.
      if (held && now - renewed >= ttl_ * 2 / 3) {
        log::warn("leases", name, ": not renewed for ", ttl_.count() * 2 / 3,
                  " ms (PostgreSQL unreachable); stopping its work");
        set_held(name, false);
      }
      continue;
    }
    if (held) {
      auto r = renew(**c, *held, ttl_);
      if (r && *r) {
        std::lock_guard lock(m_);
        wanted_[name].renewed = now;
      } else if ((r && !*r) || now - renewed >= ttl_ * 2 / 3) {
        log::warn("leases", name, ": lost", r ? " to another replica" : " (renewals failing)",
                  "; stopping its work");
        set_held(name, false);
      }
      continue;
    }
    auto got = acquire(**c, name, node_, ttl_);
    if (got && got->granted) {
      {
        std::lock_guard lock(m_);
        wanted_[name].held = got->granted;
        wanted_[name].renewed = now;
      }
      log::info("leases", name, ": taken (generation ", got->granted->generation, ")");
      on_change changed;
      {
        std::lock_guard lock(m_);
        changed = wanted_[name].changed;
      }
      if (changed) {
        changed(true);
      }
    }
  }
}

void lease_keeper::set_held(const std::string& name, bool held) {
  on_change changed;
  {
    std::lock_guard lock(m_);
    auto& w = wanted_[name];
    if (!held) {
      w.held.reset();
    }
    changed = w.changed;
  }
  if (changed) {
    changed(held);
  }
}

}  // namespace sb::store::pg

#include "store/pg/pool.hpp"

namespace sb::store::pg {

result<pool::lease> pool::take() {
  std::unique_lock lock(m_);
  if (!cv_.wait_for(lock, wait_, [this] { return !idle_.empty() || open_ < size_; })) {
    return error{errc::unavailable, "all " + std::to_string(size_) +
                                        " PostgreSQL connections stayed busy (storage.postgres.pool)"};
  }
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return lease(shared_from_this(), std::move(c));
  }
  ++open_;
  lock.unlock();
  // Connecting takes a round trip or more: not under the lock.
  auto c = connection::open(dsn_);
  if (!c) {
    std::lock_guard relock(m_);
    --open_;
    cv_.notify_one();
    return c.err();
  }
  return lease(shared_from_this(), std::make_unique<connection>(std::move(c).value()));
}

void pool::give_back(std::unique_ptr<connection> c) {
  {
    std::lock_guard lock(m_);
    if (c->ok()) {
      idle_.push_back(std::move(c));
    } else {
      --open_;  // closed below, outside the lock; the next take connects again
    }
  }
  cv_.notify_one();
}

}  // namespace sb::store::pg

#include "store/sqlite/reader_pool.hpp"

namespace sb::store::sqlite {

namespace {

// Read connections kept open between calls.
constexpr std::size_t k_max_idle_readers = 8;

}  // namespace

void reader_pool::open(std::string path, int busy_timeout_ms) {
  path_ = std::move(path);
  busy_timeout_ms_ = busy_timeout_ms;
}

result<reader_pool::lease> reader_pool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto r = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(r));
    }
  }
  auto r = std::make_unique<reader>();
  if (auto st = open_connection(path_, SQLITE_OPEN_READONLY, r->conn, busy_timeout_ms_); !st) {
    return st.err();
  }
  if (auto st = prepare_reader(*r); !st) {
    return st.err();
  }
  return lease(this, std::move(r));
}

void reader_pool::give_back(std::unique_ptr<reader> r) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < k_max_idle_readers) {
    idle_.push_back(std::move(r));
  }
}

}  // namespace sb::store::sqlite

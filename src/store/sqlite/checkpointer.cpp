#include "store/sqlite/checkpointer.hpp"

#include "core/log.hpp"

namespace sb::store::sqlite {

status checkpointer::start(sqlite3* writer, const std::string& path,
                           config::durability durability, int busy_timeout_ms) {
  if (auto st = open_connection(path, SQLITE_OPEN_READWRITE, conn_, busy_timeout_ms); !st) {
    return st;
  }
  // The pass syncs the WAL before copying and the database file after, as the writer would.
  if (auto st = exec(conn_.db, synchronous_pragma(durability)); !st) {
    return st;
  }
  writer_ = writer;
  sqlite3_wal_hook(writer_, &checkpointer::on_commit, this);
  thread_ = std::thread([this] { run(); });
  return {};
}

void checkpointer::stop() {
  if (!thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_wal_autocheckpoint(writer_, k_due_frames);  // the default hook again
}

int checkpointer::on_commit(void* arg, sqlite3* db, const char* /*name*/, int frames) {
  auto* self = static_cast<checkpointer*>(arg);
  const int copied = self->copied_.load(std::memory_order_acquire);
  if (frames >= k_inline_frames ||
      (copied > 0 && !self->busy_.load() && frames - copied <= k_catch_up_frames)) {
    // Copies what the last pass left (a few frames), or everything when the thread is far
    // behind; the next write transaction then starts the WAL over. PASSIVE: never waits.
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    self->copied_.store(0, std::memory_order_release);
    return SQLITE_OK;
  }
  if (frames >= k_due_frames && !self->busy_.load()) {
    {
      std::lock_guard lock(self->m_);
      self->due_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void checkpointer::run() {
  std::unique_lock lock(m_);
  for (;;) {
    cv_.wait(lock, [this] { return due_ || stopping_; });
    if (stopping_) {
      return;
    }
    due_ = false;
    busy_.store(true);
    lock.unlock();
    int wal_frames = 0;
    int copied = 0;
    {
      std::lock_guard pass(pass_mutex_);
      const int rc = sqlite3_wal_checkpoint_v2(conn_.db, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               &wal_frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::warn("store", "background checkpoint failed: ", sqlite3_errstr(rc),
                  "; the writer checkpoints past ", k_inline_frames, " WAL pages");
      }
    }
    if (copied > 0 && copied == wal_frames) {
      copied_.store(copied, std::memory_order_release);
    }
    busy_.store(false);
    lock.lock();
    if (copied < wal_frames) {
      // A reader still needs older frames: give it time rather than pass again at once.
      cv_.wait_for(lock, std::chrono::milliseconds(10), [this] { return stopping_; });
    }
  }
}

}  // namespace sb::store::sqlite

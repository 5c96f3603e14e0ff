#pragma once

// Checkpoints the event log's WAL on a thread of its own, so that no commit waits for one.
//
// Why: SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1000 pages:
// that commit copies every page back into the database file and syncs it, a few milliseconds
// every few dozen commits at saturation, which made the commit's p99 (docs/performance.md,
// "Checkpoints"). Here the writer's WAL hook only signals this thread, which copies the frames
// with a PASSIVE checkpoint on its own connection while commits go on. The WAL starts over only
// once every frame is copied when a write transaction begins, so the few frames committed during
// the pass are copied by the writer itself at its next commit (a short catch-up), and past a hard
// bound (a thread that cannot keep up) the writer checkpoints inline, as SQLite would.
//
// Internal to sb_store (store/sqlite/database.hpp owns one).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "core/error.hpp"
#include "store/sqlite_util.hpp"

namespace sb::store::sqlite {

class checkpointer {
 public:
  /// WAL frames (pages) after which a checkpoint is due: SQLite's own default.
  static constexpr int k_due_frames = 1000;
  /// Frames committed during a pass that the writer copies itself, right after its commit.
  static constexpr int k_catch_up_frames = 256;
  /// Past this many frames the writer checkpoints inline (the thread is behind).
  static constexpr int k_inline_frames = 16 * k_due_frames;

  checkpointer() = default;
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;
  ~checkpointer() { stop(); }

  /// Takes the checkpoints over from `writer` (a connection to `path`, in WAL mode): opens a
  /// connection of its own (synchronous as `durability`), installs the WAL hook on `writer` (which
  /// turns SQLite's automatic checkpoint off) and starts the thread.
  status start(sqlite3* writer, const std::string& path, config::durability durability,
               int busy_timeout_ms);

  /// Stops the thread and gives the checkpoints back to SQLite. Idempotent.
  void stop();

  /// Holds off the thread while alive (e.g. for a truncating checkpoint on the writer, which a
  /// concurrent pass would make fail with SQLITE_BUSY); waits for a pass in progress.
  std::unique_lock<std::mutex> pause() { return std::unique_lock<std::mutex>(pass_mutex_); }

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  void run();

  sqlite3* writer_ = nullptr;
  connection conn_;
  std::thread thread_;
  std::mutex pass_mutex_;  // held during a pass
  std::mutex m_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stopping_ = false;
  /// Frames the last pass had copied (the WAL's size then), 0 when the writer caught up since.
  std::atomic<int> copied_{0};
  std::atomic<bool> busy_{false};
};

}  // namespace sb::store::sqlite

#include "actors/history_reader.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.hpp"

namespace sb::actors {

namespace {

// Added to the thread's nice value: catch-up reads take the CPU the webhook path leaves.
constexpr int k_nice = 10;

struct history_state {
  std::shared_ptr<store::event_log> log;
  static inline const char* name = "history_reader";
};

using history_ptr = history_reader_actor::stateful_pointer<history_state>;

history_reader_actor::behavior_type history_behavior(history_ptr self,
                                                     std::shared_ptr<store::event_log> log) {
  self->state.log = std::move(log);
  // On Linux a thread has its own nice value (setpriority with its thread id). Best effort.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, tid, ::getpriority(PRIO_PROCESS, tid) + k_nice) != 0) {
    log::info("stream", "catch-up reader runs at normal priority (setpriority failed)");
  }
  return {
      [=](read_atom, history_query& q) -> history_page {
        history_page p;
        auto r = self->state.log->read(q.tenant, q.after, q.limit, q.types, q.upto);
        if (!r) {
          p.failed = true;
          p.error = r.err().message;
        } else {
          p.page = std::move(r.value());
        }
        return p;
      },
      [=](task_atom, history_task& t) { t.run(*self->state.log); },
  };
}

}  // namespace

history_reader_actor spawn_history_reader(caf::actor_system& sys,
                                          std::shared_ptr<store::event_log> log) {
  return sys.spawn<caf::detached>(history_behavior, std::move(log));
}

}  // namespace sb::actors

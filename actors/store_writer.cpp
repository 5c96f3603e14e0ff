#include "actors/actors.hpp"
#include "core/log.hpp"

namespace sb::actors {

namespace {
// Bounds one commit; a larger backlog is committed in several batches.
constexpr std::size_t k_max_batch = 1024;
}  // namespace

struct store_writer_state {
  struct pending_append {
    append_job job;
    caf::response_promise promise;
  };
  std::shared_ptr<store::event_log> log;
  std::vector<pending_append> pending;
  bool flush_scheduled = false;
  static inline const char* name = "store_writer";
};

namespace {
caf::behavior store_writer(caf::stateful_actor<store_writer_state>* self,
                           std::shared_ptr<store::event_log> log) {
  self->state.log = std::move(log);
  return {
      [=](append_atom, append_job& job) {
        auto& st = self->state;
        st.pending.push_back({std::move(job), self->make_response_promise()});
        // Group commit: the flush message queues behind every append already in the mailbox,
        // so one commit serves them all.
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      },
      [=](flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        std::vector<store_writer_state::pending_append> batch;
        if (st.pending.size() <= k_max_batch) {
          batch.swap(st.pending);
        } else {
          auto end = st.pending.begin() + static_cast<std::ptrdiff_t>(k_max_batch);
          batch.assign(std::make_move_iterator(st.pending.begin()), std::make_move_iterator(end));
          st.pending.erase(st.pending.begin(), end);
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        std::vector<store::append_request> requests;
        requests.reserve(batch.size());
        for (auto& p : batch) {
          requests.push_back(std::move(p.job.req));
        }
        std::vector<std::vector<store::append_outcome>> outcomes;
        auto committed = st.log->append(requests, outcomes);
        if (!committed) {
          log::error("store", "append of ", batch.size(),
                     " requests failed: ", committed.err().message);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (committed) {
            batch[i].promise.deliver(
                append_reply{std::move(requests[i].events), std::move(outcomes[i])});
          } else {
            batch[i].promise.deliver(caf::make_error(caf::sec::runtime_error));
          }
        }
      },
      [=](quarant_atom, quarantine_job& job) -> caf::result<std::uint64_t> {
        auto id = self->state.log->quarantine(std::move(job.body));
        if (!id) {
          log::error("store", "quarantine failed: ", id.err().message);
          return caf::make_error(caf::sec::runtime_error);
        }
        return id.value();
      },
  };
}

}  // namespace

caf::actor spawn_store_writer(caf::event_based_actor* parent,
                              std::shared_ptr<store::event_log> log, bool detached) {
  auto child = detached ? parent->spawn<caf::detached>(store_writer, std::move(log))
                        : parent->spawn(store_writer, std::move(log));
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

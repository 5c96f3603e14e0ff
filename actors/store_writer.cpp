#include "actors/store_writer.hpp"

#include "actors/actors.hpp"
#include "actors/gateway_impl.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

namespace sb::actors {

namespace {
// Bounds one commit; a larger backlog is committed in several batches.
constexpr std::size_t k_max_batch = 1024;
// At most one "shedding" log line per interval, so an overload is not also a log flood.
constexpr std::chrono::seconds k_shed_log_interval{1};
}  // namespace

struct store_writer_state {
  struct pending_append {
    append_job job;
    caf::typed_response_promise<append_reply> promise;
  };
  std::shared_ptr<store::event_log> log;
  std::vector<pending_append> pending;
  bool flush_scheduled = false;
  std::size_t high_water = 0;
  std::uint64_t quarantine_quota = store::k_no_quarantine_quota;  // bytes per channel
  std::uint64_t shed = 0;  // appends refused since the last log line
  std::chrono::steady_clock::time_point last_shed_log{};
  std::uint64_t refused = 0;  // bodies a full quarantine refused since the last log line
  std::chrono::steady_clock::time_point last_refused_log{};
  static inline const char* name = "store_writer";
};

namespace {

using writer_ptr = store_writer_actor::stateful_pointer<store_writer_state>;

/// Appends waiting for a commit plus every message queued behind this one. Only from inside the
/// actor (CAF 0.17: the mailbox size is safe to read only from its owner).
std::size_t backlog(writer_ptr self) {
  return self->state.pending.size() + self->mailbox().size();
}

std::int64_t steady_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void note_shed(writer_ptr self, std::size_t backlog) {
  auto& st = self->state;
  ++st.shed;
  const auto now = std::chrono::steady_clock::now();
  if (now - st.last_shed_log >= k_shed_log_interval) {
    log::warn("store", "backlog of ", backlog, " past server.mailbox_high_water (", st.high_water,
              "); shed ", st.shed, " append(s) with 503");
    st.shed = 0;
    st.last_shed_log = now;
  }
}

/// A full quarantine refuses every unparseable body of its channel until an admin purges or
/// re-ingests some: said once per interval, with how many were refused, not once per body.
void note_quarantine_full(writer_ptr self, const std::string& message) {
  auto& st = self->state;
  ++st.refused;
  const auto now = std::chrono::steady_clock::now();
  if (now - st.last_refused_log >= k_shed_log_interval) {
    log::warn("store", message, "; refused ", st.refused,
              " unparseable body(ies) with 503 (limits.quarantine_bytes_per_channel; purge or "
              "re-ingest through /v1/quarantine)");
    st.refused = 0;
    st.last_refused_log = now;
  }
}

store_writer_actor::behavior_type store_writer(writer_ptr self,
                                               std::shared_ptr<store::event_log> log,
                                               std::size_t high_water,
                                               std::uint64_t quarantine_quota) {
  self->state.log = std::move(log);
  self->state.high_water = high_water;
  self->state.quarantine_quota = quarantine_quota;
  return {
      [=](append_atom, append_job& job) -> caf::typed_response_promise<append_reply> {
        auto& st = self->state;
        auto rp = self->make_response_promise<append_reply>();
        // Past the high-water mark the request is refused before it costs a commit: the platform
        // retries (503 + Retry-After), and memory stays bounded by the mark.
        const auto b = backlog(self);
        metrics::catalog::store_backlog().set(static_cast<std::int64_t>(b));
        if (b > st.high_water) {
          note_shed(self, b);
          append_reply shed;
          shed.shed = true;
          rp.deliver(std::move(shed));
          return rp;
        }
        st.pending.push_back({std::move(job), rp});
        // Group commit: the flush message queues behind every append already in the mailbox,
        // so one commit serves them all.
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return rp;
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
        const auto started = std::chrono::steady_clock::now();
        auto committed = st.log->append(requests, outcomes);
        const auto ended = std::chrono::steady_clock::now();
        metrics::catalog::store_commit_seconds().observe(
            std::chrono::duration<double>(ended - started).count());
        for (auto& p : batch) {
          if (p.job.timeline) {
            p.job.timeline->mark(responder::moment::commit_start, steady_ns(started));
            p.job.timeline->mark(responder::moment::commit_end, steady_ns(ended));
            p.job.timeline.reset();  // the channel holds it until the answer
          }
        }
        metrics::catalog::store_commit_batch_size().observe(static_cast<double>(batch.size()));
        metrics::catalog::store_backlog().set(static_cast<std::int64_t>(backlog(self)));
        if (!committed) {
          log::error("store", "append of ", batch.size(),
                     " requests failed: ", committed.err().message);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (committed) {
            batch[i].promise.deliver(
                append_reply{std::move(requests[i].events), std::move(outcomes[i]), false});
          } else {
            batch[i].promise.deliver(caf::make_error(caf::sec::runtime_error));
          }
        }
      },
      [=](quarant_atom, quarantine_job& job) -> caf::result<std::uint64_t> {
        auto id = self->state.log->quarantine(std::move(job.body), self->state.quarantine_quota);
        if (!id) {
          if (id.err().code == errc::quarantine_full) {
            note_quarantine_full(self, id.err().message);
            return quarantine_full_error();
          }
          log::error("store", "quarantine failed: ", id.err().message);
          return caf::make_error(caf::sec::runtime_error);
        }
        return id.value();
      },
  };
}

}  // namespace

store_writer_actor spawn_store_writer(caf::local_actor* parent,
                                      std::shared_ptr<store::event_log> log, bool detached,
                                      std::size_t high_water, std::uint64_t quarantine_quota) {
  auto child = detached ? parent->spawn<caf::detached>(store_writer, std::move(log), high_water,
                                                       quarantine_quota)
                        : parent->spawn(store_writer, std::move(log), high_water, quarantine_quota);
  parent->monitor(child);
  return child;
}

store_writer_actor spawn_store_writer(caf::local_actor* parent,
                                      std::shared_ptr<store::event_log> log, bool detached) {
  return spawn_store_writer(parent, std::move(log), detached, actor_settings{}.mailbox_high_water,
                            config::limits_config{}.quarantine_bytes_per_channel);
}

}  // namespace sb::actors

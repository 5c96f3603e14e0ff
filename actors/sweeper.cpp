#include "actors/sweeper.hpp"

#include <string>

#include "core/log.hpp"

namespace sb::actors {

namespace {

constexpr std::int64_t k_day_ms = 24LL * 3600 * 1000;

struct sweeper_state {
  sweeper_init init;
  std::shared_ptr<store::privacy_store> store;
  static inline const char* name = "sweeper";
};

std::string detail_of(const store::sweep_outcome& o, std::uint64_t outbound, timestamp cutoff) {
  return "events=" + std::to_string(o.events) + " dedupe_keys=" + std::to_string(o.dedupe_keys) +
         " dead_letters=" + std::to_string(o.dead_letters) +
         " quarantined=" + std::to_string(o.quarantined) + " outbound=" + std::to_string(outbound) +
         " cutoff=" + to_rfc3339(cutoff);
}

/// Whether some tenant of `next` keeps its data for less time than it did in `running`.
bool retention_shortened(const config::config& running, const config::config& next) {
  if (next.privacy.retention_days < running.privacy.retention_days) {
    return true;
  }
  const auto running_by_id = config::tenants_by_id(running);
  for (const auto& t : next.tenants) {
    auto it = running_by_id.find(t.id);
    if (it != running_by_id.end() &&
        t.privacy.retention_days < it->second->privacy.retention_days) {
      return true;
    }
  }
  return false;
}

sweep_report sweep_now(sweeper_actor::stateful_pointer<sweeper_state> self) {
  auto& st = self->state;
  if (!st.store) {
    return {};
  }
  const timestamp now = st.init.clock ? st.init.clock() : sb::now();
  auto report = sweep_retention(*st.init.cfg, *st.store, now, st.init.outbox.get());
  if (report.events + report.dedupe_keys + report.dead_letters + report.quarantined +
              report.outbound >
          0 ||
      report.failures > 0) {
    log::info("sweeper", "retention sweep deleted ", report.events, " events, ", report.dedupe_keys,
              " dedupe keys, ", report.dead_letters, " dead letters, ", report.quarantined,
              " quarantined bodies, ", report.outbound, " outbound messages; ", report.failures,
              " tenants failed");
  }
  return report;
}

}  // namespace

}  // namespace sb::actors

namespace sb::actors {

sweep_report sweep_retention(const config::config& cfg, store::privacy_store& store, timestamp now,
                             store::outbox* outbox) {
  sweep_report report;
  for (const auto& t : cfg.tenants) {
    const timestamp cutoff =
        timestamp::from_millis(now.unix_ms - t.privacy.retention_days * k_day_ms);
    auto out = store.expire(t.id, cutoff);
    // The outbox is swept even when the event log failed: they are separate databases.
    std::uint64_t outbound = 0;
    std::string outbox_failure;
    if (outbox != nullptr) {
      if (auto n = outbox->expire(t.id, cutoff)) {
        outbound = *n;
        report.outbound += outbound;
      } else {
        outbox_failure = "outbox: " + n.err().message;
      }
    }
    store::audit_entry a;
    a.at = now;
    a.tenant = t.id;
    a.actor = "system:retention";
    a.action = "retention";
    if (!out || !outbox_failure.empty()) {
      ++report.failures;
      const std::string why = !out ? out.err().message : outbox_failure;
      log::warn("sweeper", "retention sweep of tenant ", t.id, " failed: ", why);
      a.outcome = "error";
      a.detail = why;
      if (out) {
        report.events += out->events;
        report.dedupe_keys += out->dedupe_keys;
        report.dead_letters += out->dead_letters;
        report.quarantined += out->quarantined;
      }
    } else {
      ++report.tenants_swept;
      report.events += out->events;
      report.dedupe_keys += out->dedupe_keys;
      report.dead_letters += out->dead_letters;
      report.quarantined += out->quarantined;
      if (out->events + out->dedupe_keys + out->dead_letters + out->quarantined + outbound == 0) {
        continue;  // nothing to account for: a quiet hour writes no audit row
      }
      a.outcome = "ok";
      a.detail = detail_of(*out, outbound, cutoff);
    }
    if (auto id = store.audit(std::move(a)); !id) {
      log::warn("sweeper", "cannot write the retention audit entry of tenant ", t.id, ": ",
                id.err().message);
    }
  }
  return report;
}

sweeper_actor spawn_sweeper(caf::local_actor* parent, sweeper_init init) {
  auto child = parent->spawn<caf::detached>(
      [](sweeper_actor::stateful_pointer<sweeper_state> self,
         sweeper_init init) -> sweeper_actor::behavior_type {
        auto& st = self->state;
        st.init = std::move(init);
        st.store = st.init.privacy;
        if (!st.store) {
          log::warn("sweeper", "the event log keeps no privacy data; retention is not enforced");
        }
        if (st.init.interval.count() > 0) {
          self->send(self, tick_atom::value);
        }
        return {
            [=](tick_atom) {
              const auto& in = self->state.init;
              if (in.holds_lease && !in.holds_lease()) {
                // Another replica sweeps; look again soon, to take over when it is gone.
                self->delayed_send(self, std::min(in.interval, in.lease_recheck), tick_atom::value);
                return;
              }
              sweep_now(self);
              // The next tick is armed only after this sweep: sweeps never overlap or pile up.
              self->delayed_send(self, self->state.init.interval, tick_atom::value);
            },
            [=](sweep_atom) -> sweep_report { return sweep_now(self); },
            [=](reconfig_atom, reconfigure_msg& m) {
              auto& in = self->state.init;
              const bool shorter = retention_shortened(*in.cfg, *m.cfg);
              in.cfg = std::move(m.cfg);
              if (m.outbox) {
                in.outbox = std::move(m.outbox);
              }
              if (shorter && in.interval.count() > 0 && (!in.holds_lease || in.holds_lease())) {
                sweep_now(self);
              }
            },
        };
      },
      std::move(init));
  parent->monitor(child);
  return child;
}

}  // namespace sb::actors

#pragma once

// A replica's leases on singleton work (store/pg/lease.hpp), kept on a thread of its own: each
// wanted lease is taken when free, renewed every third of its lifetime while held, and reported
// lost in time. Work that needs a lease starts when `changed(true)` says this replica got it and
// stops at once on `changed(false)` (docs/scale-out.md, "Singleton work: leases").
//
// Lost means: a renewal answered that another replica holds it now, or renewals have failed (the
// database unreachable) for two thirds of the lifetime, so the lease is about to expire in the
// database and another replica may take it a third of a lifetime later. The work stops before
// another replica can start it, as long as the clocks of the replica and of the database run at
// about the same rate (no synchronized clocks needed).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/pg/lease.hpp"
#include "store/pg/pool.hpp"

namespace sb::store::pg {

class lease_keeper {
 public:
  /// Called on the keeper's thread when this replica gets (`true`) or loses (`false`) the lease:
  /// keep it short (post a message).
  using on_change = std::function<void(bool held)>;

  /// Starts the thread. `ttl`: `cluster.lease_ms`.
  static std::unique_ptr<lease_keeper> start(std::shared_ptr<pool> connections, std::string node,
                                             std::chrono::milliseconds ttl);

  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;
  /// Stops the thread and releases every lease held (so another replica takes over at once,
  /// without waiting for the expiry), reporting each as lost first. Idempotent.
  void stop();
  ~lease_keeper() { stop(); }

  /// Asks for lease `name` (e.g. "push/acme/crm"), from the next round on. Once per name.
  void want(const std::string& name, on_change changed);

  /// Whether this replica holds `name` now (as last reported by `changed`).
  bool holds(const std::string& name) const;
  /// The lease `name` as this replica holds it (its generation: the fence of the work's writes,
  /// `hold`), or nothing.
  std::optional<lease> held(const std::string& name) const;

  const std::string& node() const { return node_; }
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  lease_keeper(std::shared_ptr<pool> connections, std::string node, std::chrono::milliseconds ttl);
  void run();
  void round();
  void set_held(const std::string& name, bool held);

  struct wanted {
    on_change changed;
    std::optional<lease> held;
    std::chrono::steady_clock::time_point renewed;  // the last successful acquire or renew
  };

  const std::shared_ptr<pool> pool_;
  const std::string node_;
  const std::chrono::milliseconds ttl_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, wanted> wanted_;  // by name; guarded by m_ (the callbacks run unlocked)
  std::thread thread_;
};

}  // namespace sb::store::pg

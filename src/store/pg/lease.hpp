#pragma once

// Leases on singleton work across replicas (issue 13): a subscriber's push delivery, a channel's
// sender (so a platform's rate limit holds for the cluster), the retention sweeper, the outbox
// resume. Each runs on one replica at a time: the holder of its lease. A lease is a row with an
// expiry in the database's own clock (`now()`), so replicas need no synchronized clocks; the
// holder renews it well before it expires, and another replica takes it over once it has. Not
// a session advisory lock: that of a dead host lives until TCP keepalive gives up, which is
// hours by default.
//
// Every change of hands raises the lease's generation. Work is fenced with it: inside the
// transaction that writes the work's result, `hold` locks the lease row for sharing, and only
// if it is still this holder's generation. A replica that lost its lease (paused, partitioned,
// or just slow) then cannot write as its holder, and the replica that takes the lease over
// waits for a fenced transaction in flight to end.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/pg/connection.hpp"

namespace sb::store::pg {

/// A lease as its holder knows it.
struct lease {
  std::string name;          ///< what it is for, e.g. "push/acme/crm"
  std::string holder;        ///< `cluster.node_id` of the replica that holds it
  std::int64_t generation = 0;
};

/// The answer to `acquire`: the lease when granted, else who holds it and for how much longer.
struct acquired {
  std::optional<lease> granted;
  std::string holder;               ///< the holder when not granted
  std::int64_t expires_in_ms = 0;   ///< when not granted: until the holder's lease expires
};

/// Takes the lease `name` for `node` for `ttl`: when nobody holds it, when its holder's lease
/// has expired, or when `node` holds it already (then it is renewed, same generation). A lease
/// that changes hands, or that its own holder takes again after it expired, gets a new
/// generation. One statement: of several replicas racing for a free lease, exactly one gets it.
result<acquired> acquire(connection& c, std::string_view name, std::string_view node,
                         std::chrono::milliseconds ttl);

/// Extends `held` by `ttl` from now if it is still this holder's generation (even past its
/// expiry, as long as nobody has taken it since). False when it was lost: stop the work.
result<bool> renew(connection& c, const lease& held, std::chrono::milliseconds ttl);

/// Gives `held` up at once (another replica can take it without waiting for the expiry). False
/// when it had been lost already.
result<bool> release(connection& c, const lease& held);

/// The lease on a subscriber's push delivery: "push/<tenant>/<subscriber>". The tenant actor
/// runs the subscriber where it is held, and the delivery store fences the cursor with it.
inline std::string push_lease(const std::string& tenant, const std::string& subscriber) {
  return "push/" + tenant + "/" + subscriber;
}

/// The lease on a channel's sender: "sender/<tenant>/<channel>". Its holder sends every message of
/// the channel, whichever replica accepted it, so a platform's rate limit holds for the cluster;
/// the outbox fences the sender's outcomes with it.
inline std::string sender_lease(const std::string& tenant, const std::string& channel) {
  return "sender/" + tenant + "/" + channel;
}

/// What a replica's stores fence their singleton work's writes with: the lease of that name as
/// this replica holds it now, or nothing (the write is refused). Set once the lease keeper runs
/// (`gateway::start`); unset, writes are not fenced (one replica, tests).
struct fences {
  std::function<std::optional<lease>(const std::string& name)> held;
};

/// The fence: inside the caller's transaction, true when `held` is still this holder's
/// generation, and then the lease cannot change hands before that transaction ends (the row is
/// locked for sharing; a takeover waits for the commit). False: the lease was lost, roll back.
result<bool> hold(connection& c, const lease& held);

}  // namespace sb::store::pg

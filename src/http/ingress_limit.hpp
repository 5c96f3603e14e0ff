#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "core/token_bucket.hpp"

/// The tenant ingress limit (`tenants[].rate_limit`, DESIGN §4): webhooks a tenant's platforms
/// may post per second, enforced at the HTTP edge before anything is parsed or queued, so a
/// flood costs one hash lookup and a few arithmetic operations per request.
namespace sb::http {

class ingress_limits {
 public:
  using time_point = token_bucket::time_point;

  /// One token bucket per tenant with `rate_limit.rps` > 0 (`burst` tokens, refilled at `rps`);
  /// tenants without a limit are not listed and always admitted. Built at server start, and
  /// again on a reload: `previous` (the limits being replaced, or null) gives its bucket, as it
  /// is now, to each tenant whose `rate_limit` is the same, so a reload neither refills nor
  /// empties it.
  explicit ingress_limits(const config::config& cfg, const ingress_limits* previous = nullptr) {
    for (const auto& t : cfg.tenants) {
      if (t.rate_limit.rps <= 0) {
        continue;
      }
      auto l = std::make_unique<limiter>(
          token_bucket::per_second(t.rate_limit.rps, t.rate_limit.burst), t.rate_limit);
      if (previous != nullptr) {
        auto it = previous->limits_.find(t.id);
        if (it != previous->limits_.end() && it->second->rps == t.rate_limit.rps &&
            it->second->burst == t.rate_limit.burst) {
          std::lock_guard<std::mutex> lock(it->second->m);
          l->bucket = it->second->bucket;
        }
      }
      limits_.emplace(t.id, std::move(l));
    }
  }

  /// Takes a token of `tenant`'s bucket at `now`. Returns 0 when the request is admitted, else
  /// the seconds to wait before the next one would be (rounded up, at least 1): the
  /// Retry-After of the 429.
  ///
  /// Thread-safe: any I/O thread may call it; each bucket has its own mutex, held for a few
  /// arithmetic operations only (never across I/O), so it never blocks for long.
  int admit(std::string_view tenant, time_point now) {
    auto it = limits_.find(std::string(tenant));
    if (it == limits_.end()) {
      return 0;
    }
    limiter& l = *it->second;
    std::lock_guard<std::mutex> lock(l.m);
    if (l.bucket.take(now)) {
      return 0;
    }
    const auto wait = l.bucket.time_until_available(now);
    const auto secs = std::chrono::ceil<std::chrono::seconds>(wait).count();
    return secs < 1 ? 1 : static_cast<int>(secs);
  }

  /// Whether `tenant` has a limit at all.
  bool limited(std::string_view tenant) const { return limits_.count(std::string(tenant)) != 0; }

 private:
  struct limiter {
    limiter(token_bucket b, const config::rate_limit_config& limit)
        : bucket(b), rps(limit.rps), burst(limit.burst) {}
    std::mutex m;
    token_bucket bucket;
    const double rps;  ///< as configured, to tell whether a reload changed it
    const double burst;
  };
  std::unordered_map<std::string, std::unique_ptr<limiter>> limits_;  // read-only after start
};

}  // namespace sb::http

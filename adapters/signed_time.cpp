#include "adapters/signed_time.hpp"

#include <string>

namespace sb::adapters {

bool same_digest(std::string_view given, const crypto::digest& expected) {
  const std::string_view bytes{reinterpret_cast<const char*>(expected.data()), expected.size()};
  return crypto::constant_time_equal(given, bytes);
}

namespace {

/// "300 s", "5 minutes", "8 hours": a limit as people write it.
std::string span(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  if (s >= 3600 && s % 3600 == 0) {
    return std::to_string(s / 3600) + (s == 3600 ? " hour" : " hours");
  }
  if (s >= 60 && s % 60 == 0 && s != 300) {
    return std::to_string(s / 60) + " minutes";
  }
  return std::to_string(s) + " s";
}

}  // namespace

status check_signed_time(std::int64_t signed_ms, timestamp now, const signed_time_window& w,
                         std::string_view what) {
  if (now.empty()) {
    return {errc::replayed_request,
            "stale request: no reception time to check " + std::string(what) + " against"};
  }
  const std::int64_t skew_ms = signed_ms - now.unix_ms;
  if (skew_ms >= -w.max_age_ms && skew_ms <= w.max_ahead_ms) {
    return {};
  }
  const bool old = skew_ms < 0;
  const std::string limit =
      w.max_age_ms == w.max_ahead_ms
          ? span(w.max_age_ms) + " " + std::string(w.platform) + " allows either way"
          : (old ? span(w.max_age_ms) + " " + std::string(w.platform) + " allows"
                 : span(w.max_ahead_ms) + " of clock skew " + std::string(w.platform) + " allows");
  return {errc::replayed_request,
          "stale request: " + std::string(what) + " is " +
              std::to_string((old ? -skew_ms : skew_ms) / 1000) + " s " +
              (old ? "old" : "in the future") + ", more than the " + limit +
              " (a replayed request, or a clock far off); nothing was stored"};
}

}  // namespace sb::adapters

#pragma once

#include <cstdint>
#include <string_view>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

/// What the platforms that sign a time share (Slack, HubSpot, Mailgun): a captured request
/// verifies for as long as its signed time is accepted, so that time is bounded against the
/// gateway's clock at reception (`request::now`), and the comparison of the signature itself.
/// Pure; any thread.
namespace sb::adapters {

/// Whether the raw bytes `given` are the digest `expected`, compared in constant time.
bool same_digest(std::string_view given, const crypto::digest& expected);

/// How far from the reception time a platform accepts its signed time.
struct signed_time_window {
  std::int64_t max_age_ms = 0;    ///< older: a replay (or a retry the platform no longer makes)
  std::int64_t max_ahead_ms = 0;  ///< further ahead: a clock far off
  std::string_view platform;      ///< the platform's name, for the message
};

/// Ok when `signed_ms` (Unix ms) lies within `w` of `now`; else `errc::replayed_request`
/// "stale request: <what> is N s old (or in the future), more than <platform> allows …;
/// nothing was stored". An empty `now` fails the same way (no time to check against).
status check_signed_time(std::int64_t signed_ms, timestamp now, const signed_time_window& w,
                         std::string_view what);

}  // namespace sb::adapters

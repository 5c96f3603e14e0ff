#include "delivery/retry_schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "config/config.hpp"

namespace sb::delivery {

namespace {

using namespace std::chrono_literals;

/// The Standard Webhooks schedule, as config documents it for `push.retry_schedule_ms`.
std::vector<retry_schedule::duration> standard_delays() {
  const auto& ms = config::push_defaults::retry_schedule_ms;
  return {ms.begin(), ms.end()};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month_index(const char* name) {
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < months.size(); ++i) {
    if (std::strcmp(name, months[i]) == 0) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

std::optional<std::int64_t> to_unix(int year, int month, int day, int hh, int mm, int ss) {
  if (month < 1 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
      ss > 60 || year < 1970 || year > 9999) {
    return std::nullopt;
  }
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hh * 3600 + mm * 60 + ss;
}

std::optional<std::int64_t> parse_http_date(std::string_view value) {
  const std::string s(value);
  char mon[4] = {};
  char zone[4] = {};
  int day = 0;
  int year = 0;
  int hh = 0;
  int mm = 0;
  int ss = 0;
  int used = 0;
  auto comma = s.find(',');
  if (comma != std::string::npos) {
    const char* rest = s.c_str() + comma + 1;
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (std::sscanf(rest, " %2d %3s %4d %2d:%2d:%2d %3s%n", &day, mon, &year, &hh, &mm, &ss, zone,
                    &used) == 7 &&
        rest[used] == '\0' && std::strcmp(zone, "GMT") == 0) {
      return to_unix(year, month_index(mon), day, hh, mm, ss);
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years are 1970..2069.
    if (std::sscanf(rest, " %2d-%3s-%2d %2d:%2d:%2d %3s%n", &day, mon, &year, &hh, &mm, &ss, zone,
                    &used) == 7 &&
        rest[used] == '\0' && std::strcmp(zone, "GMT") == 0) {
      year += year < 70 ? 2000 : 1900;
      return to_unix(year, month_index(mon), day, hh, mm, ss);
    }
    return std::nullopt;
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  char wday[4] = {};
  if (std::sscanf(s.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &hh, &mm, &ss, &year,
                  &used) == 7 &&
      s[used] == '\0') {
    return to_unix(year, month_index(mon), day, hh, mm, ss);
  }
  return std::nullopt;
}

}  // namespace

retry_schedule::retry_schedule() : delays_(standard_delays()) {}

result<retry_schedule> retry_schedule::make(std::vector<duration> delays, double jitter,
                                            duration max_retry_after) {
  if (delays.empty()) {
    return {errc::bad_request, "retry schedule needs at least one attempt"};
  }
  if (delays.front() != duration::zero()) {
    return {errc::bad_request, "retry schedule must start with 0 (the first attempt is at once)"};
  }
  if (std::any_of(delays.begin(), delays.end(), [](duration d) { return d < duration::zero(); })) {
    return {errc::bad_request, "retry schedule delays must not be negative"};
  }
  if (!(jitter >= 0.0 && jitter < 1.0)) {
    return {errc::bad_request, "retry jitter must be in [0, 1)"};
  }
  if (max_retry_after < duration::zero()) {
    return {errc::bad_request, "max Retry-After must not be negative"};
  }
  retry_schedule s;
  s.delays_ = std::move(delays);
  s.jitter_ = jitter;
  s.max_retry_after_ = max_retry_after;
  return s;
}

std::optional<retry_schedule::duration> retry_schedule::next_delay(
    std::uint32_t attempts_made, std::optional<duration> retry_after, double u) const {
  if (attempts_made == 0 || attempts_made >= attempts()) {
    return std::nullopt;
  }
  const auto base = static_cast<double>(delays_[attempts_made].count());
  const double factor = 1.0 - jitter_ + 2.0 * jitter_ * std::clamp(u, 0.0, 1.0);
  auto wait = duration{static_cast<std::int64_t>(std::llround(base * factor))};
  if (retry_after) {
    wait = std::max(wait, std::min(*retry_after, max_retry_after_));
  }
  return wait;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_unix_s) {
  value = trim(value);
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // More than 9 digits is over 30 years: treated as "very long" rather than as garbage.
    if (value.size() > 9) {
      return std::chrono::milliseconds{std::chrono::hours{24 * 365 * 30}};
    }
    return std::chrono::seconds{std::stoll(std::string(value))};
  }
  auto at = parse_http_date(value);
  if (!at) {
    return std::nullopt;
  }
  return std::chrono::seconds{std::max<std::int64_t>(0, *at - now_unix_s)};
}

}  // namespace sb::delivery

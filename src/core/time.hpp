#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb {

/// A point in time as the platforms give it: Unix milliseconds, plus whether the source had
/// sub-second precision (RFC 3339 output keeps milliseconds only when it did).
struct timestamp {
  std::int64_t unix_ms = 0;
  bool has_ms = false;

  static timestamp from_seconds(std::int64_t s) { return {s * 1000, false}; }
  static timestamp from_millis(std::int64_t ms) { return {ms, true}; }
  bool empty() const { return unix_ms == 0; }
};

/// Wall clock now, with milliseconds.
timestamp now();

/// "2025-06-08T20:59:43Z" or "2025-06-08T20:59:43.123Z".
std::string to_rfc3339(timestamp t);

/// Parses RFC 3339 / ISO 8601 with a `Z` or numeric offset ("2024-01-01T12:00:00-05:00", as
/// Shopify sends), optional fraction. nullopt when malformed.
std::optional<timestamp> parse_rfc3339(std::string_view s);

/// Parses a decimal Unix time given as text: 10-digit-ish seconds or 13-digit-ish millis are told
/// apart by magnitude (WhatsApp sends seconds as a string, Messenger milliseconds as a number).
std::optional<timestamp> parse_unix_auto(std::string_view digits);

}  // namespace sb

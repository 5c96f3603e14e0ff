#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sb::url {

/// Percent-decodes `s`; '+' becomes a space (form encoding). nullopt on a malformed escape.
std::optional<std::string> decode(std::string_view s);

/// Percent-decodes one path segment: as `decode`, but '+' stays '+' (form encoding is for
/// queries only). nullopt on a malformed escape.
std::optional<std::string> decode_segment(std::string_view s);

/// The raw (still encoded) value of the first `name=value` pair of a raw query string; "" for a
/// bare `name`; nullopt when the parameter is absent. Lets a caller tell absent from malformed.
std::optional<std::string_view> raw_query_param(std::string_view query, std::string_view name);

/// The decoded value of the first `name=value` pair of a raw query string, or nullopt when the
/// parameter is absent or malformed. A present parameter without '=' yields "".
std::optional<std::string> query_param(std::string_view query, std::string_view name);

/// The decoded value of query parameter `name`: nullopt when absent, `errc::bad_request` when its
/// escapes are malformed (the API's query parsers tell the two apart).
result<std::optional<std::string>> decoded_query_param(std::string_view query,
                                                       std::string_view name);

/// A non-negative decimal that fits in 64 bits; nullopt for anything else (a sign, a space, an
/// empty string, more than 20 digits, overflow).
std::optional<std::uint64_t> parse_u64(std::string_view s);

/// `?after=`: a non-negative integer into `out`, which keeps its value when the parameter is
/// absent; `errc::bad_request` when malformed.
status parse_after_param(std::string_view query, std::uint64_t& out);

/// `?limit=`: an integer from 1, clamped to `max_limit`, into `out`, which keeps its value when
/// the parameter is absent; `errc::bad_request` when malformed or 0.
status parse_limit_param(std::string_view query, std::size_t max_limit, std::size_t& out);

}  // namespace sb::url

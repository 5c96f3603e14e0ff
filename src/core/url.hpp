#pragma once

#include <optional>
#include <string>
#include <string_view>

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

}  // namespace sb::url

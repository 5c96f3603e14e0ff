#pragma once

#include <string>
#include <string_view>

namespace sb::ids {

/// A new time-ordered unique id: `<prefix>` + 26-character ULID (48-bit millisecond time,
/// 80 random bits, Crockford base32). Thread-safe; ids made by one thread within the same
/// millisecond are strictly increasing.
std::string make(std::string_view prefix);

inline std::string event_id() {
  return make("evt_");
}

/// Pseudonymous subject id: "sub_" + 16 Crockford base32 chars (80 bits) of
/// HMAC-SHA256(tenant_key, "<channel type>:<account>:<user id>").
std::string subject_id(std::string_view tenant_key, std::string_view channel_type,
                       std::string_view account, std::string_view user_id);

}  // namespace sb::ids

#pragma once

// What the SQLite log seals, byte for byte: the plaintext of an event and of a quarantined body's
// kept headers, and the associated data that binds each sealed value (and each wrapped data key)
// to where it belongs. Built on store/sealed.hpp, as the outbox's records are. Internal to
// sb_store; what these produce is on disk.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/event_log.hpp"
#include "store/sealed.hpp"

namespace sb::store::sqlite {

/// Associated data of a sealed event: binds it to its tenant and seq, so a row copied elsewhere
/// (another tenant, another seq) does not open. Into `out` (reused on the append path).
inline void event_aad(std::string& out, const std::string& tenant, std::uint64_t seq) {
  sealed::join_to(out, {"event", tenant, std::to_string(seq)});
}

/// Associated data of a sealed quarantined body (its id is assigned by the insert).
inline std::string quarantine_aad(const std::string& tenant, const std::string& channel) {
  return sealed::join({"quarantine", tenant, channel});
}

/// Associated data of a quarantined body's sealed headers: not interchangeable with its body.
inline std::string quarantine_headers_aad(const std::string& tenant, const std::string& channel) {
  return sealed::join({"quarantine", tenant, channel, "headers"});
}

/// Associated data of a wrapped data key: its owner.
inline std::string key_aad(const std::string& tenant, const std::string& subject) {
  return sealed::join({"data_key", tenant, subject});
}

/// The plaintext of a sealed event: the conversation as a field (sealed::put_field), then the
/// event's JSON. Starts `out` with the conversation; the caller appends the JSON.
inline void start_payload(std::string& out, const std::string& conversation) {
  out.clear();
  sealed::put_field(out, conversation);
}

/// Splits an opened payload into conversation and JSON; false when it is not one.
inline bool split_payload(std::string_view plain, std::string& conversation, std::string& json) {
  if (!sealed::get_field(plain, conversation)) {
    return false;
  }
  json.assign(plain);
  return true;
}

/// The plaintext of kept headers: for each, its name and its value as fields.
inline std::string encode_headers(const std::vector<kept_header>& headers) {
  std::string out;
  for (const auto& h : headers) {
    sealed::put_field(out, h.name);
    sealed::put_field(out, h.value);
  }
  return out;
}

inline bool decode_headers(std::string_view in, std::vector<kept_header>& out) {
  while (!in.empty()) {
    kept_header h;
    if (!sealed::get_field(in, h.name) || !sealed::get_field(in, h.value)) {
      return false;
    }
    out.push_back(std::move(h));
  }
  return true;
}

}  // namespace sb::store::sqlite

#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/privacy_store.hpp"

/// Input checks and the consent encoding shared by the in-memory and the SQLite logs, so both
/// refuse the same input the same way. Internal to the store.
namespace sb::store::rules {

/// Purpose names are identifiers ("marketing"): lower-case letters, digits, '_' and '-'.
inline bool valid_purpose(std::string_view p) {
  if (p.empty() || p.size() > 64) {
    return false;
  }
  for (char c : p) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

inline status check_consent(const consent_record& r) {
  if (r.tenant.empty()) {
    return {errc::bad_request, "consent: tenant is empty"};
  }
  if (r.subject.empty()) {
    return {errc::bad_request, "consent: subject is empty"};
  }
  for (const auto& [purpose, granted] : r.granted) {
    if (!valid_purpose(purpose)) {
      return {errc::bad_request,
              "consent: purpose must be lower-case letters, digits, '_' or '-' (at most 64)"};
    }
  }
  return {};
}

/// Erasing the subject "" would erase the tenant's own key and every event without a subject.
inline status check_subject(const std::string& subject) {
  if (subject.empty()) {
    return {errc::bad_request, "subject is empty"};
  }
  return {};
}

inline status check_channel(const std::string& channel) {
  if (channel.empty()) {
    return {errc::bad_request, "channel is empty"};
  }
  return {};
}

/// "ai=1,marketing=0": purposes are checked identifiers, so no escaping is needed.
inline std::string encode_granted(const std::map<std::string, bool>& granted) {
  std::string out;
  for (const auto& [purpose, on] : granted) {
    if (!out.empty()) {
      out.push_back(',');
    }
    out.append(purpose).append(on ? "=1" : "=0");
  }
  return out;
}

inline std::optional<std::map<std::string, bool>> decode_granted(std::string_view text) {
  std::map<std::string, bool> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || !valid_purpose(item.substr(0, eq)) ||
        (item.substr(eq + 1) != "1" && item.substr(eq + 1) != "0")) {
      return std::nullopt;
    }
    out[std::string(item.substr(0, eq))] = item.substr(eq + 1) == "1";
  }
  return out;
}

}  // namespace sb::store::rules

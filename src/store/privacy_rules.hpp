#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "store/privacy_store.hpp"
#include "store/sealed.hpp"

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

/// The receipts a channel erasure keeps: events without a subject of a `privacy.*` type.
inline bool is_privacy_type(std::string_view type) {
  return type.substr(0, 8) == "privacy.";
}

inline status check_privacy_request(const std::string& tenant, const std::string& channel,
                                    const std::string& kind) {
  if (tenant.empty() || channel.empty() || kind.empty()) {
    return {errc::bad_request, "privacy request: tenant, channel and kind must not be empty"};
  }
  return {};
}

/// The stored identity of a privacy request: a keyed digest (sealed::keyed_digest, all 32 bytes)
/// under `secret` of (tenant, channel, kind, request), so no two requests share one.
inline std::string privacy_request_digest(std::string_view secret, std::string_view tenant,
                                          std::string_view channel, std::string_view kind,
                                          std::string_view request) {
  return sealed::keyed_digest(secret, {tenant, channel, kind, request}, 32);
}

/// The privacy-request claims in progress of one log (`privacy_store::claim_privacy_request`),
/// held in memory only. A claim is looked up and taken under one lock; a log finishes a claim by
/// storing its record first and ending the claim after, so a concurrent claim of the same
/// request sees either the claim or the record, never neither.
class request_claims {
 public:
  /// `find(digest)` answers the stored record of a finished request: result<optional<...>>.
  template <class Find>
  result<privacy_request_claim> claim(std::string digest, Find&& find) {
    std::lock_guard lock(mutex_);
    privacy_request_claim c;
    c.digest = std::move(digest);
    if (in_progress_.count(c.digest) > 0) {
      c.st = privacy_request_claim::state::in_progress;
      return c;
    }
    result<std::optional<privacy_request>> found = find(c.digest);
    if (!found) {
      return std::move(found).err();
    }
    if (found.value()) {
      c.st = privacy_request_claim::state::done;
      c.done = std::move(*found.value());
      return c;
    }
    in_progress_.insert(c.digest);
    c.st = privacy_request_claim::state::claimed;
    return c;
  }

  void end(const std::string& digest) {
    std::lock_guard lock(mutex_);
    in_progress_.erase(digest);
  }

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> in_progress_;
};

}  // namespace sb::store::rules

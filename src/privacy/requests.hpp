#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/event.hpp"
#include "privacy/consent.hpp"

/// The consent changes that come from outside: the consent and restriction API bodies, and the
/// opt-out/opt-in keywords of inbound messages; and how a change is told to backends (the
/// `consent` block of `consent.changed`). Pure functions, any thread.
namespace sb::privacy {

/// `PUT /v1/subjects/{subject}/consent` body: exactly {"purpose":"<purpose>","granted":<bool>}.
/// Errors (`errc::bad_request`) name the member: malformed JSON or not an object, a missing
/// member, a member of the wrong type, an unknown purpose (listing the known ones), an unknown
/// or repeated member.
result<consent_change> parse_consent_body(std::string_view body);

/// `POST /v1/subjects/{subject}/restrict` body: exactly {"restricted":<bool>}.
result<consent_change> parse_restrict_body(std::string_view body);

/// The change an inbound message makes when its whole text is one of the tenant's keywords
/// (`match_keyword`): opt-out sets marketing off and `opted_out`; opt-in sets marketing on and
/// clears `opted_out`. Only a `message` from the person (not an echo of the business's own
/// message) with a subject counts; anything else gives nothing.
std::optional<consent_change> keyword_change(const event& e, const config::privacy_config& p);

/// The `consent` block telling backends what `c` set; `source` is "keyword" or "api".
consent_info to_info(const consent_change& c, std::string source);

/// The audit `detail` of a change: "purpose=marketing granted=false opted_out=true",
/// "restricted=true" (no content).
std::string audit_detail(const consent_change& c);

}  // namespace sb::privacy

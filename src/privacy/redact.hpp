#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/event.hpp"

/// Redaction and pseudonymization of event content (docs/DESIGN.md §5, §7), applied by the
/// channel before an event is stored, so what is removed never reaches storage or subscribers.
/// Pure functions over owned strings; any thread.
namespace sb::privacy {

/// What replaces a card number. The whole number goes, last four digits included: the gateway
/// promises that card numbers never reach storage, and a backend that needs the card has the
/// payment provider's reference.
inline constexpr std::string_view k_card_mask = "[card number]";
/// What replaces a phone number / an e-mail address when the tenant pseudonymizes.
inline constexpr std::string_view k_phone_mask = "[phone]";
inline constexpr std::string_view k_email_mask = "[email]";

/// `redactions` entries of an event (schema v1): what was taken out of it.
namespace redaction {
inline constexpr const char* card_number = "card_number";
inline constexpr const char* phone_number = "phone_number";
inline constexpr const char* email_address = "email_address";
}  // namespace redaction

/// Luhn checksum of a string of decimal digits (only digits; at least two).
bool luhn_valid(std::string_view digits) noexcept;

/// Replaces every card number in `text` with `k_card_mask`; returns how many. A card number is
/// 13-19 digits passing Luhn, written either as one run of digits or in the groupings cards are
/// printed with (4-4-4-4[-1..3], 4-4-4-1..3, Amex 4-6-5, Diners 4-6-4) separated by single
/// spaces or dashes. Digits that are part of a longer digit run are never taken (a 20-digit
/// reference stays whole), nor runs that begin with '+' (phone numbers), nor groupings that
/// cards do not use (phone numbers such as "0049 151 2345 6789").
std::size_t redact_card_numbers(std::string& text);

/// Replaces e-mail addresses (local@domain.tld) with `k_email_mask`; returns how many.
std::size_t mask_emails(std::string& text);

/// Replaces phone numbers with `k_phone_mask`; returns how many. A phone number is an optional
/// '+', then digit groups separated by single spaces, dashes or dots, optionally with one group
/// in parentheses ("+1 (650) 555-1234", "+44 (0)20 7946 0018", "650.555.1234"): 7-15 digits
/// with a '+', 9-15 without (so dates, times, prices and short codes stay). Not taken when
/// glued to a letter, digit or '#' on either side ("#100234567890123" is an order number).
std::size_t mask_phone_numbers(std::string& text);

/// A pseudonymous stand-in for a platform peer id: "anon_" + 16 Crockford base32 characters of
/// HMAC-SHA256(tenant key, "peer:<channel type>:<account>:<peer>"). Stable per tenant and
/// channel, unlinkable without the key. The rendered `conversation` of a pseudonymizing tenant
/// is "<channel name>:<this>".
std::string pseudonymous_peer(std::string_view tenant_key, std::string_view channel_type,
                              std::string_view account, std::string_view peer);

/// Applies the tenant's privacy settings to an event about to be stored; `subject` must already
/// be derived (it stays). With `redact_card_numbers`: card numbers in the text, the e-mail subject
/// and attachment captions are replaced, and "card_number" is added to `redactions`. With `pseudonymize`:
/// `sender` is dropped; e-mail addresses and phone numbers in the text, subject, captions and location
/// names/addresses are masked (adding "email_address" / "phone_number" to `redactions`); a
/// shared contact keeps its kind but loses its name and its phone becomes `k_phone_mask`;
/// `status.recipient` is dropped; `conversation` becomes "<channel>:anon_…" (see
/// `pseudonymous_peer`). `tenant_key` is the tenant's subject key.
void redact_event(event& e, const config::privacy_config& p, std::string_view tenant_key);

}  // namespace sb::privacy

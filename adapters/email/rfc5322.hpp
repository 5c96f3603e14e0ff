#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

/// The pieces of RFC 5322 header values the e-mail channel reads: a mailbox ("Name <addr>"), a
/// Message-ID, a Date, and header lines inside text (a DSN's fields, an attached message's
/// headers). Pure, linear in the input, no recursion; thread-safe.
namespace sb::adapters::email::rfc5322 {

/// One mailbox of a From header.
struct mailbox {
  std::string name;     ///< the display name, unquoted; "" when none
  std::string address;  ///< lower-case; "" when the value holds none
};

/// `Jane Doe <Jane@Example.com>`, `"Doe, Jane" <jane@example.com>`, `jane@example.com`,
/// `jane@example.com (Jane Doe)`. The address is lower-cased: the whole of it, although RFC 5321
/// lets the local part be case-sensitive, because no mail system in use treats it so and one
/// person must be one conversation.
mailbox parse_mailbox(std::string_view value);

/// The first message id of a Message-ID, In-Reply-To or References value, without its angle
/// brackets ("<abc@mail.example.com> <def@x>" → "abc@mail.example.com"); a value without
/// brackets gives its first word. "" when there is none.
std::string first_message_id(std::string_view value);

/// An RFC 5322 date ("Tue, 3 Dec 2024 10:14:05 -0500", day name and seconds optional, the
/// obsolete zone names and two-digit years of RFC 5322 §4.3 accepted, comments ignored).
/// nullopt when it is not one.
std::optional<timestamp> parse_date(std::string_view value);

/// The value of the header line `name:` (case-insensitive) in `text`, folded lines joined,
/// trimmed; "" when absent. Lines end in LF or CRLF. With `header_block` the search stops at the
/// first empty line (the headers of an attached message); without, every line is searched (the
/// text of a delivery report).
std::string line_field(std::string_view text, std::string_view name, bool header_block);

}  // namespace sb::adapters::email::rfc5322

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

/// HTML form bodies as Mailgun posts them (`application/x-www-form-urlencoded`, and
/// `multipart/form-data` per RFC 7578 when the e-mail has attachments), read without copying
/// the values: each field views into the body. Pure and bounded: no recursion, no read past the
/// body, at most `limits::max_fields` fields and `limits::max_part_headers` headers per part, so
/// any byte sequence (fuzzed, truncated) ends in a field list or an error. Thread-safe: free
/// functions over their arguments only.
namespace sb::adapters::email::form {

/// The body's encoding, from its Content-Type header.
enum class encoding {
  urlencoded,  ///< application/x-www-form-urlencoded
  multipart,   ///< multipart/form-data; `body_type::boundary` is set
};

struct body_type {
  encoding enc = encoding::urlencoded;
  std::string boundary;  ///< multipart: the `boundary` parameter, unquoted
};

/// The encoding of a Content-Type value (type and parameter names compared case-insensitively;
/// the boundary may be quoted). `errc::malformed_body` naming the problem for another type, a
/// multipart type without a boundary, or a boundary that is empty or longer than RFC 2046's 70
/// characters.
result<body_type> type_of(std::string_view content_type);

/// One field of a form, in body order. Views into the body passed to `parse`.
struct field {
  std::string name;
  /// The value as it is in the body: still percent-encoded (urlencoded, see `value()`), or the
  /// part's bytes verbatim (multipart: binary-safe, without the CRLF before the next delimiter).
  std::string_view data;
  /// The whole field as it is in the body: "name=value" (urlencoded), or the part from its
  /// delimiter line ("--<boundary>") to the end of its bytes (multipart). For rewriting a body
  /// (`sign_body`).
  std::string_view span;
  bool urlencoded = false;
  bool file = false;         ///< multipart: the part's Content-Disposition has a filename
  std::string file_name;     ///< that filename ("" when none or empty)
  std::string content_type;  ///< multipart: the part's Content-Type as given; "" when none

  /// The value decoded: percent-decoded with '+' as space (urlencoded), else `data` copied.
  std::string value() const;
};

struct limits {
  std::size_t max_fields = 4096;      ///< more makes the body malformed
  std::size_t max_part_headers = 32;  ///< header lines per multipart part
};

/// The fields of `body` in the encoding `content_type` names (`type_of`). Urlencoded bodies
/// always parse (as browsers do, a '%' not followed by two hex digits stands for itself);
/// multipart bodies fail with `errc::malformed_body` naming the problem: no opening delimiter,
/// a part whose headers or bytes are cut off (no CRLF CRLF, no next delimiter), a part header
/// line without ':', no Content-Disposition form-data name, more than the limits.
result<std::vector<field>> parse(std::string_view content_type, std::string_view body,
                                 const limits& lim = {});

/// The first field named `name` (exact, case-sensitive as the form's names are), or nullptr.
const field* find(const std::vector<field>& fields, std::string_view name);

/// Percent-decoding of a form value: "+" is a space, "%hh" a byte, a lone '%' itself.
std::string url_decode(std::string_view s);

/// Percent-encoding for a form value: unreserved characters (ALPHA DIGIT - . _ * ) as they are,
/// space as '+', every other byte as %HH.
std::string url_encode(std::string_view s);

/// The value of parameter `name` (case-insensitive) of a header value such as
/// `form-data; name="a"; filename="b.pdf"` or `multipart/report; report-type=delivery-status`:
/// unquoted (backslash escapes resolved); "" when absent.
std::string header_param(std::string_view value, std::string_view name);

/// ASCII lower-case copy.
std::string lower(std::string_view s);

}  // namespace sb::adapters::email::form

#pragma once

// Shared by the adapters: parsing a request body with simdjson and reading platform JSON from the
// fully validated DOM. Included by adapter .cpp files only (simdjson stays out of adapter.hpp).
//
// One rule throughout: a member that is absent or `null` is absent. Beyond it, strictness is
// chosen per call:
// - `shape_reader` member functions are strict: a member of another type than expected makes the
//   body malformed, and the reader records the problem.
// - the functions in `lenient::` read a scalar of an unexpected type as absent and never record a
//   problem (Meta: one odd field must not reject a whole batch of otherwise good events).

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"
#include "core/time.hpp"

namespace sb::adapters {

namespace dom = simdjson::dom;

/// Parses `req.body` in place into `parser` (the body has simdjson's padding past its end, see
/// `request::body`). The root element, or `errc::malformed_body` with "not valid JSON (...)".
/// The element lives as long as the parser's next parse.
result<dom::element> parse_body(dom::parser& parser, const request& req);

/// A platform API's answer as a JSON object (`text` needs no padding: simdjson copies it), parsed
/// into `parser`; nullopt when it is not one. The object lives as long as the parser's next parse.
std::optional<dom::object> parse_object(dom::parser& parser, std::string_view text);

/// The member, or nullopt when absent or `null`.
std::optional<dom::element> member(dom::object o, std::string_view key);

/// An integer element as exact decimal text: never through a double, so ids above 2^53 survive.
/// nullopt when the element is not an integer.
std::optional<std::string> integer_text(dom::element el);

/// Hex SHA-256 of the element's minified JSON: a stable dedupe key for events without an id
/// (retries send the same bytes, and minification is deterministic).
std::string json_digest(dom::element e);

/// "first last", or whichever of the two is not empty.
std::string join_name(const std::string& first, const std::string& last);

/// Reads members of a fully validated DOM, strictly: a member of another type than expected is
/// a problem. The first problem is kept for the error message; reading goes on harmlessly after
/// it. Problem messages quote member names with `quote` (`"key"` by default).
class shape_reader {
 public:
  explicit shape_reader(char quote = '"') : quote_(quote) {}

  /// The member as an object; nullopt when absent or null, and a problem when of another type.
  std::optional<dom::object> object(dom::object o, std::string_view key);
  /// The member as an array; as `object`.
  std::optional<dom::array> array(dom::object o, std::string_view key);
  /// An element (e.g. of an array) as an object; a problem when it is not one. `what` names it.
  std::optional<dom::object> as_object(dom::element e, std::string_view what);
  /// A string member; "" when absent.
  std::string string(dom::object o, std::string_view key);
  /// An integer member (ids, counts) as exact text (`integer_text`); "" when absent.
  std::string id(dom::object o, std::string_view key);
  /// An integer element as exact text; a problem, named after `key`, when it is not one.
  std::string id_of(dom::element el, std::string_view key);
  std::optional<std::int64_t> int64(dom::object o, std::string_view key);
  /// A numeric member (integer or floating).
  std::optional<double> number(dom::object o, std::string_view key);

  /// Records `what` as missing unless `present`.
  void require(bool present, std::string_view what);
  /// Records that member `key` must be `expected` ("an object", ...).
  void wrong_type(std::string_view key, std::string_view expected);
  /// Records `what` as the problem unless one is already recorded.
  void fail(std::string what);

  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }

 private:
  std::string quoted(std::string_view key) const;

  char quote_;
  std::string problem_;
};

/// Scalar accessors that read a member of an unexpected type as absent.
namespace lenient {

/// A string member as is, or an integer member as exact decimal text; "" otherwise.
std::string text(dom::object o, std::string_view key);
/// Like `text`, and a non-integer number as its shortest round-trip decimal (prices).
std::string number_text(dom::object o, std::string_view key);
/// A boolean member; false when absent or of another type.
bool flag(dom::object o, std::string_view key);
/// A numeric member (integer or floating); nullopt otherwise.
std::optional<double> number(dom::object o, std::string_view key);
/// A Unix time given as an integer or a decimal string, seconds or milliseconds told apart by
/// magnitude (`parse_unix_auto`); an empty timestamp when absent or malformed.
timestamp unix_time(dom::object o, std::string_view key);

}  // namespace lenient

}  // namespace sb::adapters

// The web chat visitor gate's parsers (src/http/visitor_gate.hpp): the session and read bodies a
// visitor's browser sends, the bearer header, If-None-Match, the script-safe widget config, and
// the reading of the channel's webhook answer. Everything here reads what anyone on the internet
// may send.
//
// Input: lines `<Authorization>\n<If-None-Match>\n`, then a body given to every body parser.
//
// Properties checked besides memory safety:
// - a session body that parses yields a name of at most 100 characters, an e-mail of at most
//   254 bytes with an '@', known purposes only, each once; the call body made of it is JSON;
// - a read body that parses is a positive seq;
// - `script_safe` keeps JSON valid and leaves no '<', '>' or '&' in it;
// - `bearer_of` returns a suffix of its input.

#include <string>

#include "common.hpp"
#include "http/visitor_gate.hpp"

namespace {

using namespace sb;

bool known_purpose(const std::string& p) {
  return p == "support" || p == "ai" || p == "analytics" || p == "marketing";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fields in(fuzz::as_text(data, size));
  const auto authorization = in.line();
  const auto if_none_match = in.line();
  const auto body = in.rest();

  const auto token = http::bearer_of(authorization);
  fuzz::require(token.empty() || authorization.substr(authorization.size() - token.size()) == token,
                "bearer_of returned something that is not the header's end");
  (void)http::etag_matches(if_none_match, "\"0123456789abcdef\"");

  if (auto s = http::parse_session_body(body)) {
    fuzz::require(s->email.size() <= 254, "an e-mail longer than 254 bytes was accepted");
    fuzz::require(s->email.empty() || s->email.find('@') != std::string::npos,
                  "an e-mail without '@' was accepted");
    std::string seen;
    for (const auto& [purpose, granted] : s->purposes) {
      (void)granted;
      fuzz::require(known_purpose(purpose), "an unknown purpose was accepted");
      fuzz::require(seen.find("|" + purpose + "|") == std::string::npos,
                    "a purpose was accepted twice");
      seen += "|" + purpose + "|";
    }
    const auto call = http::session_call_body("vis_01JDQ3Z6J7AW4Y4PZ0VQ3N5T6K", *s, "{}");
    fuzz::require(fuzz::valid_json(call), "the session call body is not JSON");
    const auto safe = http::script_safe(call);
    fuzz::require(fuzz::valid_json(safe), "script_safe broke the JSON");
    fuzz::require(safe.find_first_of("<>&") == std::string::npos,
                  "script_safe left a '<', '>' or '&'");
  }
  if (auto up_to = http::parse_read_body(body)) {
    fuzz::require(*up_to > 0, "a read body with seq 0 was accepted");
  }
  (void)http::accepted_duplicate(body);
  return 0;
}

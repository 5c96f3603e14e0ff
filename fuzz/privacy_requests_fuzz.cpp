// The privacy request bodies and keywords of src/privacy/requests.hpp: the consent and
// restriction API bodies, and the opt-out/opt-in keyword of an inbound message.
//
// Input: a request body (also used as the text of an inbound message).
//
// Properties checked besides memory safety:
// - an accepted consent body sets a purpose and `granted` and nothing else; an accepted
//   restriction body sets `restricted` and nothing else;
// - an accepted change renders a non-empty audit detail;
// - a keyword is only ever the whole message: text that matches no keyword changes nothing.

#include <string>

#include "common.hpp"
#include "privacy/requests.hpp"

using namespace sb;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);

  if (auto c = privacy::parse_consent_body(fuzz::padded(text))) {
    const auto& v = c.value();
    fuzz::require(v.purpose_of && v.granted && !v.restricted && !v.opted_out,
                  "a consent body set more or less than a purpose");
    fuzz::require(!privacy::audit_detail(v).empty(), "a consent change without audit detail");
    (void)privacy::to_info(v, "api");
  }
  if (auto c = privacy::parse_restrict_body(fuzz::padded(text))) {
    const auto& v = c.value();
    fuzz::require(v.restricted && !v.purpose_of && !v.granted && !v.opted_out,
                  "a restriction body set more or less than restricted");
    fuzz::require(!privacy::audit_detail(v).empty(), "a restriction without audit detail");
  }

  config::privacy_config p;
  event e;
  e.type = event_type::message;
  e.subject = "sub_fuzz";
  e.subject_source = "16505551234";
  e.content.text = std::string(text);
  auto change = privacy::keyword_change(e, p);
  if (privacy::match_keyword(p, text) == privacy::keyword::none) {
    fuzz::require(!change, "a message that is no keyword changed consent");
  } else {
    fuzz::require(change.has_value(), "a keyword changed nothing");
  }
  return 0;
}

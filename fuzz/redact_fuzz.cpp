// Card-number redaction and the other maskers of src/privacy/redact.hpp, alone and through
// `redact_event` with a tenant that redacts and pseudonymizes.
//
// Input: the text of a message.
//
// Properties checked besides memory safety:
// - no card number survives: the result holds no unbroken run of 13-19 digits that passes Luhn,
//   stands alone (no digit group joined to it by a single space or dash) and does not follow a
//   '+' (the documented phone-number exception) -- an oracle written apart from the redactor;
// - redaction is idempotent: a second pass finds nothing;
// - the redacted event renders as valid JSON.

#include <string>

#include "common.hpp"
#include "core/event.hpp"
#include "privacy/redact.hpp"

namespace {

using namespace sb;

bool digit(char c) {
  return c >= '0' && c <= '9';
}

bool separator(char c) {
  return c == ' ' || c == '-';
}

/// The first lone Luhn-valid 13-19 digit run of `text`, or "".
std::string lone_card_number(const std::string& text) {
  const std::size_t n = text.size();
  for (std::size_t b = 0; b < n;) {
    if (!digit(text[b])) {
      ++b;
      continue;
    }
    std::size_t e = b;
    while (e < n && digit(text[e])) {
      ++e;
    }
    const bool joined_left = b >= 2 && separator(text[b - 1]) && digit(text[b - 2]);
    const bool joined_right = e + 1 < n && separator(text[e]) && digit(text[e + 1]);
    const bool phone = b > 0 && text[b - 1] == '+';
    const std::string run = text.substr(b, e - b);
    if (!joined_left && !joined_right && !phone && run.size() >= 13 && run.size() <= 19 &&
        privacy::luhn_valid(run)) {
      return run;
    }
    b = e;
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(fuzz::as_text(data, size));

  std::string text = input;
  privacy::redact_card_numbers(text);
  if (auto left = lone_card_number(text); !left.empty()) {
    fuzz::fail("a card number survived redaction: " + left);
  }
  std::string again = text;
  fuzz::require(privacy::redact_card_numbers(again) == 0 && again == text,
                "a second redaction pass found more");

  std::string masked = input;
  privacy::mask_emails(masked);
  privacy::mask_phone_numbers(masked);

  event e;
  e.type = event_type::message;
  e.channel = {"fuzz", "whatsapp", "106540352242922"};
  e.conversation = "fuzz:16505551234";
  e.sender = sender_info{"16505551234", input, ""};
  e.content.text = input;
  attachment a;
  a.kind = "location";
  a.caption = input;
  a.name = input;
  a.address = input;
  e.content.attachments.push_back(a);
  config::privacy_config p;
  p.redact_card_numbers = true;
  p.pseudonymize = true;
  privacy::redact_event(e, p, "fuzz-tenant-key-0123456789abcdef");
  if (auto left = lone_card_number(e.content.text); !left.empty()) {
    fuzz::fail("a card number survived redact_event: " + left);
  }
  const std::string json = to_json(e);
  if (!fuzz::valid_json(json)) {
    fuzz::fail("a redacted event renders as invalid JSON: " + json);
  }
  return 0;
}

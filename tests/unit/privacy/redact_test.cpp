// Card-number redaction and the pseudonymization masks (src/privacy/redact.hpp) on the kind of
// text people send: numbers written with spaces and dashes, order numbers, phone numbers.
#include <catch2/catch.hpp>

#include <string>

#include "privacy/redact.hpp"

using namespace sb;

namespace {

std::string cards(std::string s) {
  privacy::redact_card_numbers(s);
  return s;
}
std::string phones(std::string s) {
  privacy::mask_phone_numbers(s);
  return s;
}
std::string emails(std::string s) {
  privacy::mask_emails(s);
  return s;
}

}  // namespace

TEST_CASE("Luhn accepts the networks' test numbers and refuses a changed digit", "[privacy]") {
  CHECK(privacy::luhn_valid("4111111111111111"));
  CHECK(privacy::luhn_valid("5555555555554444"));
  CHECK(privacy::luhn_valid("378282246310005"));
  CHECK(privacy::luhn_valid("6011111111111117"));
  CHECK_FALSE(privacy::luhn_valid("4111111111111112"));
  CHECK_FALSE(privacy::luhn_valid("100234567890123"));
  CHECK_FALSE(privacy::luhn_valid("4111-1111"));
  CHECK_FALSE(privacy::luhn_valid("0"));
}

TEST_CASE("card numbers are redacted however they are written", "[privacy]") {
  // Visa, plain and grouped with spaces.
  CHECK(cards("my card is 4111111111111111 thanks") == "my card is [card number] thanks");
  CHECK(cards("4111 1111 1111 1111") == "[card number]");
  // Mastercard with dashes, at the end of a sentence.
  CHECK(cards("Use 5555-5555-5555-4444.") == "Use [card number].");
  CHECK(cards("mc 5105 1051 0510 5100, exp 12/27") == "mc [card number], exp 12/27");
  // Amex 4-6-5, Diners 4-6-4, Discover, a 19-digit Visa.
  CHECK(cards("amex 3782 822463 10005 ok") == "amex [card number] ok");
  CHECK(cards("3714-496353-98431") == "[card number]");
  CHECK(cards("diners 3056 930902 5904") == "diners [card number]");
  CHECK(cards("6011111111111117") == "[card number]");
  CHECK(cards("4111111111111111110") == "[card number]");
  // Two cards, and a card followed by its expiry and CVC in the same run of groups.
  CHECK(cards("4111111111111111 and 5555555555554444") == "[card number] and [card number]");
  CHECK(cards("4111 1111 1111 1111 12 27 123") == "[card number] 12 27 123");
  CHECK(cards("card:4242424242424242") == "card:[card number]");
}

TEST_CASE("order numbers, phone numbers and other digit runs are left alone", "[privacy]") {
  // An order number that fails Luhn.
  CHECK(cards("where is order #100234567890123?") == "where is order #100234567890123?");
  // A Luhn-valid card inside a longer run of digits is not a card.
  CHECK(cards("ref 41111111111111111234") == "ref 41111111111111111234");
  CHECK(cards("ref 14111111111111111") == "ref 14111111111111111");
  // Phone numbers: with '+', and in groupings cards do not use (0049 151 2345 6789 has 15 digits).
  CHECK(cards("call +49 1512 3456 7890 1") == "call +49 1512 3456 7890 1");
  CHECK(cards("call 0049 151 2345 6789") == "call 0049 151 2345 6789");
  CHECK(cards("+4111111111111111") == "+4111111111111111");
  // Not Luhn-valid, or too short/long.
  CHECK(cards("4111 1111 1111 1112") == "4111 1111 1111 1112");
  CHECK(cards("411111111111") == "411111111111");
  CHECK(cards("41111111111111111111111") == "41111111111111111111111");
  // Separators must be single.
  CHECK(cards("4111  1111  1111  1111") == "4111  1111  1111  1111");
  CHECK(cards("") == "");
}

TEST_CASE("e-mail addresses are masked, the surrounding text kept", "[privacy]") {
  CHECK(emails("write to jane.doe+shop@example.co.uk, thanks") == "write to [email], thanks");
  CHECK(emails("Mail: JOHN_1986@mail.example.com.") == "Mail: [email].");
  CHECK(emails("a@b.io and c.d@e-f.org") == "[email] and [email]");
  CHECK(emails("no address @ here, @handle, x@localhost, y@z.1") ==
        "no address @ here, @handle, x@localhost, y@z.1");
}

TEST_CASE("phone numbers are masked in their international and local forms", "[privacy]") {
  CHECK(phones("call me on +44 20 7946 0018 today") == "call me on [phone] today");
  CHECK(phones("+1 (650) 555-1234") == "[phone]");
  CHECK(phones("+44 (0)20 7946 0018") == "[phone]");
  CHECK(phones("(650) 555-1234 or 650.555.1234") == "[phone] or [phone]");
  CHECK(phones("whatsapp 16505551234") == "whatsapp [phone]");
  CHECK(phones("+4915123456789") == "[phone]");
  CHECK(phones("0612345678, please") == "[phone], please");
}

TEST_CASE("dates, prices, times and order numbers are not phone numbers", "[privacy]") {
  CHECK(phones("on 2025-06-08 at 10:30") == "on 2025-06-08 at 10:30");
  CHECK(phones("total 1234.50 EUR, 3 items") == "total 1234.50 EUR, 3 items");
  CHECK(phones("order #100234567890123") == "order #100234567890123");
  CHECK(phones("code AB123456789") == "code AB123456789");
  CHECK(phones("123456789abc") == "123456789abc");
  CHECK(phones("room 12345678") == "room 12345678");
}

TEST_CASE("an event is redacted in its text and captions when the tenant redacts cards",
          "[privacy]") {
  config::privacy_config p;
  p.redact_card_numbers = true;
  event e;
  e.channel = {"tg", "telegram", "123"};
  e.conversation = "tg:42";
  e.peer = "42";
  e.sender = sender_info{"42", "Ann", "ann"};
  e.content.text = "pay with 4111 1111 1111 1111 for order #100234567890123";
  attachment a;
  a.kind = "image";
  a.caption = "card 5555-5555-5555-4444";
  e.content.attachments.push_back(a);
  privacy::redact_event(e, p, "key");
  CHECK(e.content.text == "pay with [card number] for order #100234567890123");
  CHECK(e.content.attachments[0].caption == "card [card number]");
  CHECK(e.redactions == std::vector<std::string>{"card_number"});
  // Nothing else changes without pseudonymization.
  REQUIRE(e.sender);
  CHECK(e.conversation == "tg:42");

  event clean;
  clean.content.text = "nothing to see, order #100234567890123";
  privacy::redact_event(clean, p, "key");
  CHECK(clean.redactions.empty());
  CHECK(clean.content.text == "nothing to see, order #100234567890123");
}

TEST_CASE(
    "a pseudonymizing tenant gets no sender, masked contacts and a stable conversation "
    "that does not show the phone number",
    "[privacy]") {
  config::privacy_config p;
  p.pseudonymize = true;
  auto make = [] {
    event e;
    e.channel = {"wa-main", "whatsapp", "106540352242922"};
    e.peer = "16505551234";
    e.conversation = "wa-main:16505551234";
    e.subject = "sub_5KQ2C7WZ3N4B6Y8T";
    e.sender = sender_info{"16505551234", "Sheena Nelson", ""};
    e.content.text = "I'm sheena@example.com, +1 650 555 1234";
    attachment c;
    c.kind = "contact";
    c.name = "John Smith";
    c.phone = "+1 415 555 0000";
    e.content.attachments.push_back(c);
    e.status = status_info{"read", "wamid.x", "16505551234", "", ""};
    return e;
  };
  auto e = make();
  privacy::redact_event(e, p, "tenant-key");
  CHECK_FALSE(e.sender);
  CHECK(e.subject == "sub_5KQ2C7WZ3N4B6Y8T");
  CHECK(e.content.text == "I'm [email], [phone]");
  CHECK(e.content.attachments[0].phone == "[phone]");
  CHECK(e.content.attachments[0].name.empty());
  CHECK(e.status->recipient.empty());
  CHECK(e.conversation.rfind("wa-main:anon_", 0) == 0);
  CHECK(e.conversation.size() == std::string("wa-main:anon_").size() + 16);
  CHECK(e.conversation.find("16505551234") == std::string::npos);
  CHECK(e.redactions == std::vector<std::string>{"email_address", "phone_number"});
  // Stable per tenant key, different under another tenant's key.
  auto again = make();
  privacy::redact_event(again, p, "tenant-key");
  CHECK(again.conversation == e.conversation);
  auto other = make();
  privacy::redact_event(other, p, "other-key");
  CHECK(other.conversation != e.conversation);
}

// The e-mail channel's inbound side (Mailgun Routes' forwarded form posts): authenticity,
// freshness, the replay token, the recipient check, the mapping of messages and bounces, and the
// signing helpers the tests and the load tester use.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/email/email.hpp"
#include "adapters/email/form.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"
#include "unit/adapters/signing.hpp"

using sb::test::k_signed_at;
using sb::test::webhook_request;

namespace {

const std::string k_key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
const std::map<std::string, std::string> k_settings{{"address", "Support@Example.com"},
                                                    {"inbound_signing_key", k_key}};
constexpr std::int64_t k_hour_ms = 3600 * 1000;

sb::config::channel_config channel() {
  return sb::test::make_channel("mail", "email", k_settings);
}

std::unique_ptr<sb::adapters::adapter> make() {
  return sb::adapters::email::info().make(channel());
}

sb::errc code_of(const sb::status& st) {
  return st.ok() ? sb::errc::ok : st.err().code;
}

/// `body` (an unsigned form) signed as Mailgun does at `k_signed_at`.
webhook_request signed_post(const std::string& body) {
  return sb::test::signed_post("email", k_settings, body);
}

/// The decoded value of field `name` of a signed urlencoded body.
std::string field_of(const std::string& body, const std::string& name) {
  auto fields = sb::adapters::email::form::parse("application/x-www-form-urlencoded", body);
  REQUIRE(fields.ok());
  const auto* f = sb::adapters::email::form::find(*fields, name);
  return f == nullptr ? "" : f->value();
}

/// Verifies and parses `w`; both must succeed with one event.
sb::event one_event(const webhook_request& w) {
  auto a = make();
  auto verified = a->verify(w.req());
  INFO(verified.err().message);
  REQUIRE(verified.ok());
  std::vector<sb::event> out;
  auto parsed = a->parse(w.req(), out);
  INFO(parsed.err().message);
  REQUIRE(parsed.ok());
  REQUIRE(out.size() == 1);
  return out[0];
}

sb::event fixture_event(const std::string& file) {
  auto events = sb::test::verify_and_parse(channel(), file);
  REQUIRE(events.size() == 1);
  return events[0];
}

std::string enc(const std::string& s) {
  return sb::adapters::email::form::url_encode(s);
}

/// A small urlencoded post from Jane to the channel; `extra` appended as it is.
std::string small_form(const std::string& extra = "",
                       const std::string& headers =
                           R"([["Message-Id","<m1@example.org>"],["Date","Tue, 3 Dec 2024 )"
                           R"(10:14:05 -0500"]])") {
  return "recipient=support%40example.com&from=" + enc("Jane <jane@example.org>") +
         "&subject=Hi&body-plain=Hello&message-headers=" + enc(headers) + extra;
}

sb::status parse_status(const webhook_request& w) {
  std::vector<sb::event> out;
  auto a = make();
  return a->parse(w.req(), out);
}

}  // namespace

TEST_CASE("a reply maps to a message event: From, subject, stripped text, thread, reply_to",
          "[email]") {
  const auto e = fixture_event("reply_urlencoded.txt");
  CHECK(e.type == "message");
  CHECK(e.kind.empty());
  CHECK(e.channel.name == "mail");
  CHECK(e.channel.type == "email");
  CHECK(e.channel.account == "support@example.com");
  REQUIRE(e.sender);
  CHECK(e.sender->platform_id == "jane.doe@example.org");  // From, lower-cased
  CHECK(e.sender->name == "Jane Doe");
  CHECK(e.peer == "jane.doe@example.org");
  CHECK(e.subject_source == "jane.doe@example.org");
  CHECK(e.conversation == "mail:jane.doe@example.org");
  CHECK(e.content.subject == "Re: Your order #1001 has shipped");
  // stripped-text: the reply without the quoted history and the signature.
  CHECK(e.content.text ==
        "Thanks, but the tracking link does not work for me. Could you send it again?");
  CHECK(e.content.thread == "sb.01JE3K8Q2M7NRX4T5VB6CWD9EF@example.com");
  CHECK(e.content.reply_to == "sb.01JE3M4A7B8C9D0E1F2G3H4J5K@example.com");
  CHECK(e.platform_event_id == "CAJx8vN3Qk2r9pT7wYc0m=4hV@mail.example.org");
  CHECK(e.dedupe_key == "m:CAJx8vN3Qk2r9pT7wYc0m=4hV@mail.example.org");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-03T15:14:05Z");  // the Date header
  CHECK(e.content.attachments.empty());
  CHECK_FALSE(e.status);
}

TEST_CASE("a multipart message carries its attachments' metadata with size and SHA-256",
          "[email]") {
  const auto e = fixture_event("new_message_multipart.txt");
  CHECK(e.type == "message");
  CHECK(e.sender->platform_id == "max.mustermann@example.de");
  CHECK(e.sender->name == "Max Mustermann");
  CHECK(e.content.subject == "Invoice and photo of the damaged parcel");
  CHECK(e.content.text ==
        "Hello,\r\n\r\nthe parcel for order #1004 arrived damaged. The invoice "
        "and a photo are attached.");
  CHECK(e.content.thread.empty());
  CHECK(e.content.reply_to.empty());
  CHECK(e.platform_event_id == "5e0c1a7d-93b2-4f61-a8e4-0d2f6c9b1e37@example.de");
  CHECK(sb::to_rfc3339(e.occurred_at) == "2024-12-03T17:20:12Z");
  REQUIRE(e.content.attachments.size() == 2);
  const auto& pdf = e.content.attachments[0];
  CHECK(pdf.kind == "file");
  CHECK(pdf.file_name == "invoice-2024-117.pdf");
  CHECK(pdf.mime_type == "application/pdf");
  CHECK(pdf.size == std::uint64_t{218});
  CHECK(pdf.sha256 == "a6946076beaeb23e666cc3e268cac0b34c2c281d1497aaf7952609d31043199f");
  const auto& png = e.content.attachments[1];
  CHECK(png.kind == "image");
  CHECK(png.file_name == "parcel.png");
  CHECK(png.mime_type == "image/png");
  CHECK(png.size == std::uint64_t{69});
  CHECK(png.sha256 == "b1ff9c8ea3a780bad09b346c423d2d0e46815926879b18e841d928376a946640");
}

TEST_CASE("a bounce for a sent message becomes a failed status naming that message", "[email]") {
  const auto e = fixture_event("bounce.txt");
  CHECK(e.type == "status");
  REQUIRE(e.status);
  CHECK(e.status->state == "failed");
  CHECK(e.status->message_id == "sb.01JE3Q7R8S9T0V1W2X3Y4Z5A6B@example.com");
  CHECK(e.status->error_code == "5.1.1");
  CHECK(e.status->error_title ==
        "smtp; 550 5.1.1 <nobody@example.org>: Recipient address "
        "rejected: User unknown in virtual mailbox table");
  CHECK(e.status->recipient == "nobody@example.org");
  CHECK_FALSE(e.sender);
  CHECK(e.subject_source.empty());
  CHECK(e.conversation.empty());
  CHECK(e.content.empty());
  CHECK(e.platform_event_id == "20241203151705.9C1B2E0123@mx.example.org");
  CHECK(e.dedupe_key == "m:20241203151705.9C1B2E0123@mx.example.org");
}

TEST_CASE("a multipart delivery report names the message of its message/rfc822 part", "[email]") {
  const std::string b = "rpt";
  auto part = [&](const std::string& name, const std::string& value, const std::string& type) {
    std::string p = "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!type.empty()) {
      p += "; filename=\"" + name + "\"\r\nContent-Type: " + type;
    }
    return p + "\r\n\r\n" + value + "\r\n";
  };
  const std::string body =
      part("recipient", "support@example.com", "") +
      part("from", "Mail Delivery Subsystem <postmaster@mx.example.org>", "") +
      part("subject", "Delivery Status Notification (Failure)", "") +
      part("body-plain", "Your message wasn't delivered. Message-ID: <wrong@x>", "") +
      part("message-headers",
           R"([["Content-Type","multipart/report; report-type=delivery-status; boundary=z"],)"
           R"(["Message-Id","<dsn-7@mx.example.org>"]])",
           "") +
      part("attachment-1",
           "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; Gone@Example.org\r\n"
           "Action: failed\r\nStatus: 5.2.2 (mailbox full)\r\nDiagnostic-Code: smtp; 552 5.2.2 "
           "Mailbox full\r\n",
           "message/delivery-status") +
      part("attachment-2",
           "From: support@example.com\r\nMessage-ID: <sb.sent-42@example.com>\r\n\r\nBody with "
           "Message-ID: <not-this@x>\r\n",
           "text/rfc822-headers") +
      "--" + b + "--\r\n";
  const auto e = one_event(signed_post(body));
  CHECK(e.type == "status");
  CHECK(e.status->message_id == "sb.sent-42@example.com");
  CHECK(e.status->error_code == "5.2.2");
  CHECK(e.status->error_title == "smtp; 552 5.2.2 Mailbox full");
  CHECK(e.status->recipient == "gone@example.org");
  CHECK(e.content.attachments.empty());
}

TEST_CASE("a report naming no message is a system event, a postmaster's id line a status",
          "[email]") {
  const auto unknown = one_event(signed_post(
      "recipient=support%40example.com&from=MAILER-DAEMON%40mx.example.org&subject=Undeliverable"
      "&body-plain=Something+went+wrong&message-headers=%5B%5D"));
  CHECK(unknown.type == "system");
  CHECK(unknown.kind == "delivery-status");
  CHECK_FALSE(unknown.sender);
  CHECK(unknown.subject_source.empty());
  CHECK_FALSE(unknown.dedupe_key.empty());

  const auto original = one_event(signed_post(
      "recipient=support%40example.com&from=postmaster%40example.org&subject=Failed&body-plain=" +
      enc("Original-Message-ID: <sb.orig@example.com>\nMessage-ID: <other@x>\n") +
      "&message-headers=%5B%5D"));
  CHECK(original.type == "status");
  CHECK(original.status->message_id == "sb.orig@example.com");
  CHECK(original.status->error_code.empty());
}

TEST_CASE("a card number in subject and text is left to the gateway's redaction", "[email]") {
  const auto e = fixture_event("card_number.txt");
  CHECK(e.type == "message");
  CHECK(e.content.subject == "Please charge 4111 1111 1111 1111 for order #1002");
  CHECK(e.content.text.find("4111 1111 1111 1111") != std::string::npos);
  CHECK(e.sender->name == "Okafor, Chidi");
  CHECK(e.sender->platform_id == "chidi.okafor@example.net");
}

TEST_CASE("text falls back to body-plain, thread to In-Reply-To, time to timestamp, id to a hash",
          "[email]") {
  const auto e = one_event(signed_post(small_form(
      "&stripped-text=", R"([["In-Reply-To","<parent@example.com>"],["Date","not a date"]])")));
  CHECK(e.content.text == "Hello");
  CHECK(e.content.thread == "parent@example.com");
  CHECK(e.content.reply_to == "parent@example.com");
  CHECK(e.occurred_at.unix_ms == k_signed_at.unix_ms);  // the form's timestamp
  CHECK(e.platform_event_id.empty());
  REQUIRE(e.dedupe_key.rfind("h:", 0) == 0);
  CHECK(e.dedupe_key.size() == 2 + 64);
  // The same message again (Mailgun's retry, signed anew) has the same key.
  auto again = signed_post(small_form(
      "&stripped-text=", R"([["In-Reply-To","<parent@example.com>"],["Date","not a date"]])"));
  again.now.unix_ms += 1000;
  CHECK(one_event(again).dedupe_key == e.dedupe_key);
  // Message-Id as its own field counts when message-headers lacks it.
  const auto own = one_event(signed_post(small_form("&Message-Id=%3Cown%40x%3E", "[]")));
  CHECK(own.platform_event_id == "own@x");
}

TEST_CASE("urlencoded posts take the attachments a stored message describes", "[email]") {
  const auto e = one_event(signed_post(small_form(
      "&attachment-count=999999999&attachments=" +
      enc(R"([{"url":"https://storage.eu.mailgun.net/v3/domains/x/messages/AbC/attachments/0",)"
          R"("content-type":"video/mp4","name":"clip.mp4","size":1048576}])"))));
  REQUIRE(e.content.attachments.size() == 1);
  const auto& a = e.content.attachments[0];
  CHECK(a.kind == "video");
  CHECK(a.file_name == "clip.mp4");
  CHECK(a.size == std::uint64_t{1048576});
  CHECK(a.url.find("attachments/0") != std::string::npos);
  CHECK(a.sha256.empty());
  CHECK(code_of(parse_status(signed_post(small_form("&attachments=%7B")))) ==
        sb::errc::malformed_body);
}

TEST_CASE("the signature is checked on timestamp and token with the signing key", "[email]") {
  auto a = make();
  const auto good = signed_post(small_form());
  CHECK(a->verify(good.req()).ok());
  const auto sig = field_of(good.body, "signature");
  REQUIRE(sig.size() == 64);
  CHECK(sig == sb::crypto::to_hex(sb::crypto::hmac_sha256(
                   k_key, field_of(good.body, "timestamp") + field_of(good.body, "token"))));

  SECTION("a changed signature is refused") {
    auto tampered = good;
    const auto at = tampered.body.find("signature=") + 10;
    tampered.body[at] = tampered.body[at] == '0' ? '1' : '0';
    CHECK(code_of(a->verify(tampered.req())) == sb::errc::bad_signature);
  }
  SECTION("a changed token is refused") {
    auto tampered = good;
    const auto at = tampered.body.find("token=") + 6;
    tampered.body[at] = tampered.body[at] == 'a' ? 'b' : 'a';
    CHECK(code_of(a->verify(tampered.req())) == sb::errc::bad_signature);
  }
  SECTION("upper-case hex is the same signature") {
    auto upper = good;
    const auto at = upper.body.find("signature=") + 10;
    for (std::size_t i = at; i < at + 64; ++i) {
      upper.body[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper.body[i])));
    }
    CHECK(a->verify(upper.req()).ok());
  }
  SECTION("a signature that is not hex of 32 bytes is refused") {
    auto w = good;
    w.body = small_form("&timestamp=1732856400&token=abc&signature=xyz");
    CHECK(code_of(a->verify(w.req())) == sb::errc::bad_signature);
  }
  SECTION("another key's signature is refused") {
    auto settings = k_settings;
    settings["inbound_signing_key"] = "key-another";
    auto other = sb::test::signed_post("email", settings, small_form());
    CHECK(code_of(a->verify(other.req())) == sb::errc::bad_signature);
  }
  SECTION("missing fields or no readable form are a missing signature") {
    auto w = good;
    w.body = small_form();
    CHECK(code_of(a->verify(w.req())) == sb::errc::missing_signature);
    w.body = small_form("&timestamp=1732856400&token=abc");
    CHECK(code_of(a->verify(w.req())) == sb::errc::missing_signature);
    auto no_type = good;
    no_type.headers.clear();
    auto st = a->verify(no_type.req());
    CHECK(code_of(st) == sb::errc::missing_signature);
    CHECK(st.err().message.find("Content-Type") != std::string::npos);
    auto json = good;
    json.headers = {{"content-type", "application/json"}};
    CHECK(code_of(a->verify(json.req())) == sb::errc::missing_signature);
  }
}

TEST_CASE("a timestamp older than 8 hours or more than 5 minutes ahead is a replay", "[email]") {
  auto a = make();
  auto w = signed_post(small_form());
  w.now.unix_ms = k_signed_at.unix_ms + 9 * k_hour_ms;
  auto stale = a->verify(w.req());
  CHECK(code_of(stale) == sb::errc::replayed_request);
  CHECK(stale.err().message.find("stale") != std::string::npos);
  w.now.unix_ms = k_signed_at.unix_ms + 8 * k_hour_ms - 1000;  // Mailgun's last retry
  CHECK(a->verify(w.req()).ok());
  w.now.unix_ms = k_signed_at.unix_ms - 10 * 60 * 1000;
  CHECK(code_of(a->verify(w.req())) == sb::errc::replayed_request);
  w.now.unix_ms = k_signed_at.unix_ms - 4 * 60 * 1000;
  CHECK(a->verify(w.req()).ok());
  // A forged request is refused as forged, however old.
  auto forged = sb::test::signed_post(
      "email", {{"address", "support@example.com"}, {"inbound_signing_key", "x"}}, small_form());
  forged.now.unix_ms = k_signed_at.unix_ms + 9 * k_hour_ms;
  CHECK(code_of(a->verify(forged.req())) == sb::errc::bad_signature);
}

TEST_CASE("the replay token is the form's token, remembered for 8 hours", "[email]") {
  auto a = make();
  const auto w = signed_post(small_form());
  auto token = a->replay_token(w.req());
  REQUIRE(token);
  CHECK(token->value == field_of(w.body, "token"));
  CHECK(token->value.size() == 50);
  CHECK(token->expires.unix_ms == k_signed_at.unix_ms + 8 * k_hour_ms);
  // Another body signed at the same time has another token.
  CHECK(a->replay_token(signed_post(small_form("&x=1")).req())->value != token->value);
}

TEST_CASE(
    "a message for another address is misrouted: forbidden and the address is compared "
    "case-insensitively",
    "[email]") {
  auto other = signed_post(
      "recipient=sales%40example.com&from=jane%40example.org"
      "&message-headers=%5B%5D");
  auto a = make();
  REQUIRE(a->verify(other.req()).ok());  // validly signed: one key signs every route
  CHECK(code_of(parse_status(other)) == sb::errc::forbidden);
  auto substring = signed_post(
      "recipient=xsupport%40example.com&from=jane%40example.org"
      "&message-headers=%5B%5D");
  CHECK(code_of(parse_status(substring)) == sb::errc::forbidden);
  auto upper = signed_post(
      "recipient=SUPPORT%40EXAMPLE.COM&from=jane%40example.org"
      "&message-headers=%5B%5D");
  CHECK(parse_status(upper).ok());
}

TEST_CASE("forms that are not Mailgun's messages are malformed, naming the problem", "[email]") {
  auto message_of = [](const std::string& body) {
    auto st = parse_status(signed_post(body));
    REQUIRE(code_of(st) == sb::errc::malformed_body);
    return st.err().message;
  };
  CHECK(message_of("recipient=support%40example.com&from=jane%40example.org")
            .find("no message-headers") != std::string::npos);
  CHECK(message_of("recipient=support%40example.com&from=jane%40example.org&message-headers=%5B")
            .find("not valid JSON") != std::string::npos);
  CHECK(message_of("recipient=support%40example.com&from=jane%40example.org"
                   "&message-headers=%5B%5B1%2C2%5D%5D")
            .find("[name, value] pairs") != std::string::npos);
  CHECK(message_of("recipient=support%40example.com&message-headers=%5B%5D").find("from field") !=
        std::string::npos);
  CHECK(message_of("from=jane%40example.org&message-headers=%5B%5D").find("recipient") !=
        std::string::npos);
  auto broken = signed_post(small_form());
  broken.headers = {{"content-type", "multipart/form-data; boundary=zz"}};
  CHECK(code_of(parse_status(broken)) == sb::errc::malformed_body);
}

TEST_CASE("sign_body replaces the signature fields and keeps a multipart body a form", "[email]") {
  const auto once = sb::test::signed_body_for("email", k_settings, small_form());
  const auto twice = sb::test::signed_body_for("email", k_settings, once);
  CHECK(twice == once);  // deterministic, the old fields replaced
  auto fields = sb::adapters::email::form::parse("application/x-www-form-urlencoded", twice);
  REQUIRE(fields.ok());
  int signatures = 0;
  for (const auto& f : *fields) {
    signatures += f.name == "signature" ? 1 : 0;
  }
  CHECK(signatures == 1);

  const auto multipart = sb::test::fixture("email/new_message_multipart.txt");
  const auto signed_once = sb::test::signed_body_for("email", k_settings, multipart);
  CHECK(sb::test::signed_body_for("email", k_settings, signed_once) == signed_once);
  const auto e = one_event(signed_post(multipart));
  CHECK(e.content.attachments.size() == 2);

  // A boundary a token cannot hold is quoted in the Content-Type `sign` gives.
  const std::string b = "----=_Part_0_1.2";
  const std::string quoted_body =
      "--" + b +
      "\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\nsupport@example.com" +
      "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\njane@example.org" +
      "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"message-headers\"\r\n\r\n[]" +
      "\r\n--" + b + "--\r\n";
  const auto w = signed_post(quoted_body);
  REQUIRE(w.headers.size() == 1);
  CHECK(w.headers[0].value == "multipart/form-data; boundary=\"" + b + "\"");
  CHECK(one_event(w).sender->platform_id == "jane@example.org");
}

TEST_CASE("synthetic webhooks verify and parse and cut in half and re-signed, they are malformed",
          "[email]") {
  const auto& info = sb::adapters::email::info();
  sb::adapters::synthetic_spec spec;
  spec.account = "support@example.com";
  spec.person = 17;
  spec.run = 4242;
  spec.n = 3;
  spec.text = "hello when is my package arriving.";
  const auto w = info.synthesize(spec);
  REQUIRE(w.platform_ids.size() == 1);
  const auto e = one_event(signed_post(w.body));
  CHECK(e.platform_event_id == w.platform_ids[0]);
  CHECK(e.content.text == spec.text);
  CHECK(e.sender->platform_id == "customer17@example.net");
  spec.n = 4;
  CHECK(info.synthesize(spec).platform_ids[0] != w.platform_ids[0]);

  for (const std::string text : {"a", "hello when is my package arriving today please help."}) {
    spec.text = text;
    auto full = sb::test::signed_body_for("email", k_settings, info.synthesize(spec).body);
    full.resize(full.size() / 2);  // loadtest/generator.cpp's malformed case
    auto cut = signed_post(full);
    auto a = make();
    CHECK(a->verify(cut.req()).ok());
    CHECK(code_of(parse_status(cut)) == sb::errc::malformed_body);
  }
}

TEST_CASE("the channel's account is its address in lower case and it reads Content-Type", "[email]") {
  const auto& info = sb::adapters::email::info();
  CHECK(info.account(channel()) == "support@example.com");
  CHECK(std::find(info.headers.begin(), info.headers.end(), "content-type") != info.headers.end());
}

TEST_CASE("the channel's address must be one e-mail address", "[email]") {
  const auto* info = sb::adapters::find("email");
  REQUIRE(info != nullptr);
  REQUIRE(info->schema.check);
  auto problems_of = [&](const std::string& address) {
    sb::config::channel_config cfg;
    cfg.name = "mail";
    cfg.type = "email";
    cfg.settings = {{"address", address}, {"inbound_signing_key", "k"}};
    std::vector<std::string> keys;
    for (const auto& p : info->schema.check(cfg)) {
      keys.push_back(p.key);
    }
    return keys;
  };
  CHECK(problems_of("support@acme.example").empty());
  CHECK(problems_of("support-at-acme.example") == std::vector<std::string>{"address"});
  CHECK(problems_of("Support <support@acme.example>") == std::vector<std::string>{"address"});
}

// E-mail through SMTP: the message a reply becomes (the headers a mail client threads by, the
// subject and body encodings), the injections it refuses, the channel's settings, and how SMTP
// reply codes are classified. The sender is built with `email::make_sender`, as `info()` does.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "adapters/email/outbound.hpp"
#include "core/crypto.hpp"
#include "support/mail_message.hpp"

using sb::adapters::outbound_message;
using sb::adapters::platform_request;
using sb::adapters::send_outcome;
using sb::test::decode_quoted_printable;
using sb::test::decode_words;
using sb::test::parse_mail;
namespace email = sb::adapters::email;

namespace {

const std::string k_id = "out_01JE5ZK3W8Q4T9N2B7C6D1F0GH";

sb::config::channel_config channel(std::map<std::string, std::string> extra = {}) {
  sb::config::channel_config c;
  c.name = "support-mail";
  c.type = "email";
  c.settings = {{"smtp_url", "smtp://127.0.0.1:2525"},
                {"smtp_user", "support@acme.example"},
                {"smtp_password", "dev-smtp-password-change-me"},
                {"from", "Acme Support <support@acme.example>"}};
  for (auto& [k, v] : extra) {
    c.settings[k] = v;
  }
  return c;
}

std::shared_ptr<const sb::adapters::outbound_channel> sender_of(
    const sb::config::channel_config& cfg) {
  auto s = email::make_sender(cfg);
  REQUIRE(s != nullptr);
  return s;
}

outbound_message reply() {
  outbound_message m;
  m.id = k_id;
  m.channel = "support-mail";
  m.channel_type = "email";
  m.to = "customer@example.net";
  m.text = "Your order shipped today.\nTracking: 1Z999AA10123456784";
  m.subject = "Order 1001";
  m.reply_to = "CAF=xyz.2@mail.example.net";
  m.thread = "root.456@mail.example.net";
  m.created_at = sb::timestamp::from_millis(1733230345000);
  return m;
}

platform_request encode(const outbound_message& m,
                        const sb::config::channel_config& cfg = channel()) {
  auto r = sender_of(cfg)->encode(m);
  if (!r) {
    INFO(r.err().message);
    REQUIRE(r.ok());
  }
  return *r;
}

/// The 400 message `check` (and `encode`) give for `m`.
std::string refused(const outbound_message& m) {
  auto s = sender_of(channel());
  auto st = s->check(m);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == sb::errc::bad_request);
  auto enc = s->encode(m);
  REQUIRE_FALSE(enc.ok());
  return st.err().message;
}

std::string subject_of(const outbound_message& m) {
  return decode_words(*parse_mail(encode(m).body).header("Subject"));
}

}  // namespace

TEST_CASE("an e-mail reply carries the headers a mail client threads by", "[email]") {
  auto req = encode(reply());
  CHECK(req.url == "smtp://127.0.0.1:2525");
  CHECK(req.operation == "email smtp");
  CHECK(req.mail_from == "support@acme.example");
  CHECK(req.mail_rcpt == std::vector<std::string>{"customer@example.net"});
  CHECK(req.user == "support@acme.example");
  CHECK(req.password == "dev-smtp-password-change-me");
  CHECK(req.message_id == k_id + "@acme.example");  // bare: as inbound events name ids
  CHECK(req.headers.empty());

  auto mail = parse_mail(req.body);
  CHECK(mail.crlf_only);
  CHECK(mail.longest_line <= 78);
  CHECK(mail.header("From") == "Acme Support <support@acme.example>");
  CHECK(mail.header("To") == "customer@example.net");
  CHECK(mail.header("Subject") == "Re: Order 1001");
  CHECK(mail.header("Date") == "Tue, 03 Dec 2024 12:52:25 +0000");
  CHECK(mail.header("Message-ID") == "<" + k_id + "@acme.example>");
  CHECK(mail.header("In-Reply-To") == "<CAF=xyz.2@mail.example.net>");
  // Root first, then the message replied to.
  CHECK(mail.header("References") == "<root.456@mail.example.net> <CAF=xyz.2@mail.example.net>");
  CHECK(mail.header("MIME-Version") == "1.0");
  CHECK(mail.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(mail.header("Content-Transfer-Encoding") == "quoted-printable");
  for (const char* once : {"From", "To", "Subject", "Message-ID", "In-Reply-To", "References"}) {
    CHECK(mail.count(once) == 1);
  }
  CHECK(decode_quoted_printable(mail.body) ==
        "Your order shipped today.\r\nTracking: 1Z999AA10123456784\r\n");
}

TEST_CASE("the Message-ID is the same on every encode of a message and differs between messages",
          "[email]") {
  auto m = reply();
  const auto first = encode(m);
  const auto again = encode(m);
  CHECK(first.message_id == again.message_id);
  CHECK(parse_mail(first.body).header("Message-ID") == parse_mail(again.body).header("Message-ID"));
  m.id = "out_01JE5ZK3W8Q4T9N2B7C6D1F0GJ";
  CHECK(encode(m).message_id != first.message_id);
}

TEST_CASE("References names each id once, and only the ids given", "[email]") {
  auto m = reply();
  m.thread = m.reply_to;  // a reply to the thread's first message
  auto mail = parse_mail(encode(m).body);
  CHECK(mail.header("References") == "<CAF=xyz.2@mail.example.net>");
  CHECK(mail.header("In-Reply-To") == "<CAF=xyz.2@mail.example.net>");

  m.thread = "<root.456@mail.example.net>";  // angle brackets are taken too
  m.reply_to.clear();
  mail = parse_mail(encode(m).body);
  CHECK(mail.header("References") == "<root.456@mail.example.net>");
  CHECK_FALSE(mail.header("In-Reply-To"));

  m.thread.clear();
  mail = parse_mail(encode(m).body);
  CHECK_FALSE(mail.header("References"));
  CHECK_FALSE(mail.header("In-Reply-To"));
}

TEST_CASE("the subject gets one Re: prefix, and a default when there is none", "[email]") {
  auto m = reply();
  m.subject = "Order 1001";
  CHECK(subject_of(m) == "Re: Order 1001");
  m.subject = "Re: Order 1001";
  CHECK(subject_of(m) == "Re: Order 1001");
  m.subject = "RE: Order 1001";
  CHECK(subject_of(m) == "RE: Order 1001");
  m.subject = "re:Order 1001";
  CHECK(subject_of(m) == "re:Order 1001");
  m.subject = "Reply needed";
  CHECK(subject_of(m) == "Re: Reply needed");
  m.subject.clear();
  CHECK(subject_of(m) == "Re: your message");
  CHECK(email::reply_subject("") == "Re: your message");
}

TEST_CASE("a subject that is not plain ASCII is RFC 2047-encoded", "[email]") {
  auto m = reply();
  m.subject =
      "Commande n\xc2\xb0 1001 \xe2\x80\x94 livr\xc3\xa9"
      "e";
  auto raw = parse_mail(encode(m).body).header("Subject");
  REQUIRE(raw);
  CHECK(raw->rfind("=?UTF-8?B?", 0) == 0);
  CHECK(decode_words(*raw) == "Re: " + m.subject);

  // A long one is folded into several words, each within 75 characters, never splitting a
  // character.
  m.subject.clear();
  for (int i = 0; i < 30; ++i) {
    m.subject += "\xc3\xa9t\xc3\xa9 ";
  }
  auto req = encode(m);
  auto mail = parse_mail(req.body);
  CHECK(mail.longest_line <= 78);
  CHECK(decode_words(*mail.header("Subject")) == "Re: " + m.subject);

  // Controls other than line breaks, and text that looks like an encoded word, are encoded.
  m.subject = "tab\there =?UTF-8?B?eA==?=";
  CHECK(parse_mail(encode(m).body).header("Subject")->rfind("=?UTF-8?B?", 0) == 0);
  CHECK(subject_of(m) == "Re: " + m.subject);
}

TEST_CASE("the body is quoted-printable UTF-8 with CRLF line breaks", "[email]") {
  auto m = reply();
  const std::string long_line(200, 'x');
  m.text =
      "Gr\xc3\xbc\xc3\x9f"
      "e = 100%\r\n.\n..two dots\rtrailing space \nlast\t\n" +
      long_line;
  auto req = encode(m);
  auto mail = parse_mail(req.body);
  CHECK(mail.crlf_only);
  CHECK(mail.longest_line <= 76);
  CHECK(mail.body.find("=3D 100%") != std::string::npos);
  CHECK(mail.body.find("Gr=C3=BC=C3=9Fe") != std::string::npos);
  CHECK(mail.body.find("space=20\r\n") != std::string::npos);
  CHECK(mail.body.find("last=09\r\n") != std::string::npos);
  // Leading dots are left to the SMTP client's dot-stuffing (tests/integration: smtp_client).
  CHECK(mail.body.find("\r\n.\r\n..two dots\r\n") != std::string::npos);
  CHECK(decode_quoted_printable(mail.body) ==
        "Gr\xc3\xbc\xc3\x9f"
        "e = 100%\r\n.\r\n..two dots\r\ntrailing space \r\nlast\t\r\n" +
            long_line + "\r\n");
}

TEST_CASE("the From header takes the display name's form into account", "[email]") {
  auto from = [](const std::string& f) {
    return *parse_mail(encode(reply(), channel({{"from", f}})).body).header("From");
  };
  CHECK(from("support@acme.example") == "support@acme.example");
  CHECK(from("Acme Support <support@acme.example>") == "Acme Support <support@acme.example>");
  CHECK(from("\"Acme, Inc.\" <support@acme.example>") == "\"Acme, Inc.\" <support@acme.example>");
  CHECK(from("Acme, Inc. <support@acme.example>") == "\"Acme, Inc.\" <support@acme.example>");
  const auto encoded = from("Caf\xc3\xa9 Acme <support@acme.example>");
  CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(decode_words(encoded) == "Caf\xc3\xa9 Acme <support@acme.example>");
  CHECK(encode(reply(), channel({{"from", "support@acme.example"}})).mail_from ==
        "support@acme.example");
}

TEST_CASE("header injection is refused in every field", "[email]") {
  auto m = reply();
  for (const std::string to :
       {"customer@example.net\r\nBcc: victim@example.org", "customer@example.net\nBcc: x@y.z",
        "Customer <customer@example.net>", "customer@example.net, other@example.org",
        "customer@example.net other@example.org", "customer", "@example.net", "customer@",
        "customer@exa_mple.net", "cust\"omer@example.net", "customer@example..net",
        "kund\xc3\xa9@example.net"}) {
    m = reply();
    m.to = to;
    INFO(to);
    CHECK(refused(m).find("field 'to' must be one e-mail address") != std::string::npos);
  }
  for (const std::string subject :
       {"Order\r\nBcc: victim@example.org", "Order\nBcc: x@y.z", "Order\rBcc: x@y.z"}) {
    m = reply();
    m.subject = subject;
    CHECK(refused(m) == "field 'subject' must not contain line breaks");
  }
  for (const std::string id :
       {"a@b\r\nBcc: victim@example.org", "a@b\nX: y", "a@b> <c@d", "a@b c@d", "<>", "a@b\x01"}) {
    m = reply();
    m.reply_to = id;
    INFO(id);
    CHECK(refused(m).find("field 'reply_to' must be the Message-Id") != std::string::npos);
    m = reply();
    m.thread = id;
    CHECK(refused(m).find("field 'thread' must be the Message-Id") != std::string::npos);
  }
  // The From address is checked where it is configured (see the settings test); a channel built
  // with a bad one anyway cannot send.
  auto s = sender_of(channel({{"from", "Acme <support@acme.example>\r\nBcc: victim@example.org"}}));
  auto enc = s->encode(reply());
  REQUIRE_FALSE(enc.ok());
  CHECK(enc.err().code == sb::errc::unavailable);
  CHECK(enc.err().message.find("'from'") != std::string::npos);
}

TEST_CASE("attachments are refused, text is required and bounded", "[email]") {
  auto m = reply();
  m.media = sb::adapters::outbound_media{};
  m.media->kind = sb::adapters::media_kind::document;
  m.media->url = "https://acme.example/invoice.pdf";
  CHECK(refused(m).find("attachments are not sent") != std::string::npos);
  m = reply();
  m.text.clear();
  CHECK(refused(m) == "field 'text' is required on email");
  m.text = std::string(1000 * 1000, 'a');
  CHECK(sender_of(channel())->check(m).ok());
  m.text += "a";
  CHECK(refused(m) == "field 'text' is longer than 1 MB");
  m = reply();
  m.subject = std::string(901, 's');
  CHECK(refused(m) == "field 'subject' is longer than 900 bytes");
}

TEST_CASE("the e-mail channel's settings: receive only without smtp_url, from required with it",
          "[email]") {
  sb::config::channel_schema schema;
  schema.type = "email";
  email::add_smtp_settings(schema);
  auto spec = [&](const std::string& key) -> const sb::config::setting_spec& {
    for (const auto& s : schema.settings) {
      if (s.key == key) {
        return s;
      }
    }
    FAIL("no setting " << key);
    return schema.settings.front();
  };
  CHECK(spec("smtp_password").secret);
  CHECK_FALSE(spec("smtp_url").required);
  CHECK_FALSE(spec("from").required);
  CHECK(spec("rate_per_second").default_value == "5");
  REQUIRE(schema.check);

  auto problems = [&](std::map<std::string, std::string> settings) {
    auto cfg = channel();
    cfg.settings = std::move(settings);
    std::vector<std::string> out;
    for (const auto& p : schema.check(cfg)) {
      out.push_back(p.key + ": " + p.problem);
    }
    return out;
  };
  CHECK(problems({}).empty());  // receives only
  CHECK(problems(channel().settings).empty());
  CHECK(problems({{"smtp_url", "smtps://smtp.acme.example:465"}, {"from", "support@acme.example"}})
            .empty());

  auto missing = problems({{"smtp_url", "smtp://smtp.acme.example:587"}});
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].rfind("from: required when smtp_url is set", 0) == 0);
  auto bad_from = problems({{"smtp_url", "smtp://x:25"}, {"from", "Acme <support@acme>"}});
  // "acme" alone is a valid domain (a host name): only the form is checked.
  CHECK(bad_from.empty());
  bad_from = problems({{"smtp_url", "smtp://x:25"}, {"from", "Acme <support>"}});
  REQUIRE(bad_from.size() == 1);
  CHECK(bad_from[0].rfind("from: must be an address", 0) == 0);
  auto injected = problems({{"smtp_url", "smtp://x:25"}, {"from", "a@b.c\r\nBcc: v@x.y"}});
  REQUIRE(injected.size() == 1);
  CHECK(injected[0].rfind("from: must be", 0) == 0);
  auto scheme = problems({{"smtp_url", "https://smtp.acme.example"}, {"from", "a@b.c"}});
  REQUIRE(scheme.size() == 1);
  CHECK(scheme[0].rfind("smtp_url: must be smtp://host:port", 0) == 0);
  auto login = problems({{"smtp_url", "smtp://x:25"}, {"from", "a@b.c"}, {"smtp_password", "p"}});
  REQUIRE(login.size() == 1);
  CHECK(login[0] == "smtp_user: required when smtp_password is set");
  // The common outbound check still runs (chained).
  auto rate = problems({{"rate_per_second", "-1"}});
  REQUIRE(rate.size() == 1);
  CHECK(rate[0].rfind("rate_per_second:", 0) == 0);

  auto receive_only = channel();
  receive_only.settings.erase("smtp_url");
  CHECK(email::make_sender(receive_only) == nullptr);
}

TEST_CASE("an e-mail channel has no window and conservative limits", "[email]") {
  auto s = sender_of(channel());
  CHECK(s->window().window_hours == 0);
  CHECK(s->window().platform == "E-mail");
  CHECK(s->limits().per_channel_rps == 5);
  CHECK(s->limits().per_recipient_rps == 1);
  CHECK(s->limits().per_recipient_burst >= 1);
  CHECK_FALSE(s->is_group_recipient("customer@example.net"));
}

TEST_CASE("SMTP reply codes: 2xx sent, 4xx and no answer retried, 5xx failed", "[email]") {
  auto s = sender_of(channel());
  auto sent = s->interpret(250, "250 2.0.0 Ok: queued as 1", std::nullopt);
  CHECK(sent.outcome == send_outcome::sent);
  CHECK(sent.platform_message_id.empty());  // the sender records the Message-ID
  CHECK(sent.error_code.empty());

  auto none = s->interpret(0, "", std::nullopt);
  CHECK(none.outcome == send_outcome::transient);

  for (int code : {421, 450, 451, 452, 454, 499}) {
    auto r = s->interpret(code, std::to_string(code) + " 4.3.0 Try again later", std::nullopt);
    INFO(code);
    CHECK(r.outcome == send_outcome::transient);
    CHECK(r.error_code == std::to_string(code));
    CHECK_FALSE(r.error_title.empty());
    CHECK(r.retry_after_ms == 0);  // the engine's backoff
  }
  auto gone = s->interpret(550, "550 5.1.1 <customer@example.net>: Recipient address rejected",
                           std::nullopt);
  CHECK(gone.outcome == send_outcome::permanent);
  CHECK(gone.error_code == "550");
  CHECK(gone.error_title == "the recipient's mailbox does not exist or refuses mail (550) [5.1.1]");
  // The server's free text (which may quote the address) is not kept.
  CHECK(gone.error_title.find("customer") == std::string::npos);
  for (int code : {500, 530, 535, 552, 553, 554, 571}) {
    auto r = s->interpret(code, "", std::nullopt);
    INFO(code);
    CHECK(r.outcome == send_outcome::permanent);
    CHECK(r.error_code == std::to_string(code));
    CHECK(r.error_title.find(std::to_string(code)) != std::string::npos);
  }
  auto odd = s->interpret(354, "354 go ahead", std::nullopt);
  CHECK(odd.outcome == send_outcome::transient);
  CHECK(odd.error_code == "354");
}

// End-to-end: e-mail replies from the real binary to an SMTP server on 127.0.0.1
// (tests/support/smtp_sink): the message a mail client threads, its Message-ID recorded as the
// platform id, a temporary rejection retried, a permanent one failed at once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "adapters/adapter.hpp"
#include "adapters/email/form.hpp"
#include "e2e/checks.hpp"
#include "e2e/outbound_support.hpp"
#include "e2e/yaml_config.hpp"
#include "support/http_client.hpp"
#include "support/mail_message.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/smtp_sink.hpp"

using namespace sb::test;
using e2e_checks::require_status;

namespace {

const test_tenant acme{"acme", "sbt_e2e_email_outbound_acme_41c9e07b5d"};

/// Channel "support-mail" of acme sending through `sink`, a subscriber "backend" that may send.
/// The inbound side's settings: the channel's address and signing key; any other required one a
/// placeholder.
std::string email_config(const smtp_sink& sink) {
  const auto* info = sb::adapters::find("email");
  REQUIRE(info != nullptr);
  std::vector<std::pair<std::string, std::string>> settings{
      {"smtp_url", sink.url()},
      {"from", "Acme Support <support@acme.example>"},
      {"address", "support@acme.example"},
      {"inbound_signing_key", "dev-e2e-email-outbound-signing-key-change-me"}};
  for (const auto& spec : info->schema.settings) {
    const bool given = std::any_of(settings.begin(), settings.end(),
                                   [&](const auto& s) { return s.first == spec.key; });
    if (spec.required && !given) {
      settings.emplace_back(spec.key, "e2e-email-" + spec.key + "-7f3a19c2d84b");
    }
  }
  yaml_config y;
  y.server("io_threads: 2");
  y.tenant(acme.id);
  y.channel("support-mail", "email", settings);
  y.subscriber("backend", acme.token, "[stream, send]");
  return y.str();
}

/// POST /v1/messages that must be accepted; the out_ id.
std::string send_ok(const gateway_process& gw, const std::string& body) {
  auto r = outbound_e2e::send_message(gw, acme.token, body);
  require_status(r, 202);
  return json::parse(r.body)["id"].str();
}

const std::string k_reply =
    R"({"channel":"support-mail","to":"customer@example.net","text":"Your order shipped today.\n.\nTracking: 1Z999AA10123456784",)"
    R"("subject":"Order 1001","reply_to":"CAF=xyz.2@mail.example.net","thread":"root.456@mail.example.net"})";

/// The e-mail type can send only once its `info()` (adapters/email/email.cpp) wires
/// `email::make_sender`: say so instead of failing obscurely.
void require_email_outbound() {
  const auto* info = sb::adapters::find("email");
  REQUIRE(info != nullptr);
  INFO(
      "adapters/email/email.cpp: info() must set outbound = make_sender, features.threads and "
      "features.subject");
  REQUIRE(info->outbound != nullptr);
  REQUIRE(info->features.threads);
  REQUIRE(info->features.subject);
}

}  // namespace

TEST_CASE("an e-mail reply reaches the SMTP server threaded, and its Message-ID is recorded",
          "[e2e][email]") {
  require_email_outbound();
  smtp_sink sink;
  gateway_process gw(email_config(sink));
  const auto id = send_ok(gw, k_reply);
  REQUIRE(sink.wait_for(1));
  const auto got = sink.messages().at(0);
  CHECK(got.mail_from == "support@acme.example");
  CHECK(got.rcpt == std::vector<std::string>{"customer@example.net"});
  auto mail = parse_mail(got.data);
  CHECK(mail.crlf_only);
  CHECK(mail.header("From") == "Acme Support <support@acme.example>");
  CHECK(mail.header("To") == "customer@example.net");
  CHECK(mail.header("Subject") == "Re: Order 1001");
  CHECK(mail.header("Message-ID") == "<" + id + "@acme.example>");
  CHECK(mail.header("In-Reply-To") == "<CAF=xyz.2@mail.example.net>");
  CHECK(mail.header("References") == "<root.456@mail.example.net> <CAF=xyz.2@mail.example.net>");
  CHECK(mail.header("Date").has_value());
  CHECK(decode_quoted_printable(mail.body) ==
        "Your order shipped today.\r\n.\r\nTracking: 1Z999AA10123456784\r\n");

  auto sent = json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, "sent").body);
  CHECK(sent["platform_message_id"].str() == id + "@acme.example");  // bare, as events name it
  CHECK(sent["attempts"].u64() == 1);
  auto event = outbound_e2e::wait_sent_event(gw, acme.token, id);
  CHECK(event["outbound"]["platform_message_id"].str() == id + "@acme.example");
}

TEST_CASE("an e-mail the server answers 451 once is sent on the retry, with the same Message-ID",
          "[e2e][email]") {
  require_email_outbound();
  smtp_sink sink;
  sink.reject_rcpt("451 4.3.0 Try again later");
  gateway_process gw(email_config(sink));
  const auto id = send_ok(gw, k_reply);
  auto sent = json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, "sent").body);
  CHECK(sent["attempts"].u64() == 2);
  CHECK(sent["platform_message_id"].str() == id + "@acme.example");
  REQUIRE(sink.messages().size() == 1);
  CHECK(parse_mail(sink.messages()[0].data).header("Message-ID") == "<" + id + "@acme.example>");
}

TEST_CASE("an e-mail the server refuses with 550 fails at once with that code", "[e2e][email]") {
  require_email_outbound();
  smtp_sink sink;
  sink.reject_rcpt("550 5.1.1 No such user", -1);
  gateway_process gw(email_config(sink));
  const auto id = send_ok(gw, k_reply);
  auto failed = json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, "failed").body);
  CHECK(failed["attempts"].u64() == 1);
  CHECK(failed["error"]["code"].str() == "550");
  CHECK(failed["error"]["title"].str().find("5.1.1") != std::string::npos);
  CHECK(failed["platform_message_id"].is_null());
  CHECK(sink.messages().empty());
}

TEST_CASE("an e-mail with an injected header or an attachment is refused with 400",
          "[e2e][email]") {
  require_email_outbound();
  smtp_sink sink;
  gateway_process gw(email_config(sink));
  auto injected = outbound_e2e::send_message(
      gw, acme.token,
      R"({"channel":"support-mail","to":"customer@example.net","text":"x",)"
      R"("subject":"Order\r\nBcc: victim@example.org"})");
  require_status(injected, 400);
  CHECK(json::parse(injected.body)["message"].str().find("subject") != std::string::npos);
  auto media = outbound_e2e::send_message(
      gw, acme.token,
      R"({"channel":"support-mail","to":"customer@example.net",)"
      R"("media":{"kind":"document","url":"https://acme.example/invoice.pdf"}})");
  require_status(media, 400);
  INFO(media.body);
  CHECK(json::parse(media.body)["message"].str().find("attachments") != std::string::npos);
  CHECK(sink.messages().empty());
}

TEST_CASE("a bounce arriving on the inbound route turns the sent e-mail failed", "[e2e][email]") {
  require_email_outbound();
  smtp_sink sink;
  gateway_process gw(email_config(sink));
  const auto id = send_ok(gw, k_reply);
  outbound_e2e::wait_message_state(gw, acme.token, id, "sent");
  const std::string message_id = id + "@acme.example";

  // The recipient's server took the message, then returned it: a Postfix-style delivery status
  // notification, forwarded by the Mailgun route like any inbound message.
  namespace form = sb::adapters::email::form;
  const std::string report =
      "This is the mail system at host mx.example.net.\r\n\r\nI'm sorry to have to inform you "
      "that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
      "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; customer@example.net\r\n"
      "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <customer@example.net>: "
      "Recipient address rejected: User unknown\r\n\r\nFrom: Acme Support <support@acme.example>\r\n"
      "To: customer@example.net\r\nSubject: Re: Order 1001\r\nMessage-ID: <" +
      message_id + ">\r\n";
  const std::string headers =
      R"([["Message-Id","<20241203151705.9C1B2E0123@mx.example.net>"],)"
      R"(["Content-Type","multipart/report; report-type=delivery-status; boundary=\"9C1B2E0123.1733239025/mx.example.net\""]])";
  const std::string unsigned_body =
      "recipient=" + form::url_encode("support@acme.example") +
      "&sender=" + form::url_encode("MAILER-DAEMON@mx.example.net") +
      "&from=" + form::url_encode("MAILER-DAEMON@mx.example.net (Mail Delivery System)") +
      "&subject=" + form::url_encode("Undelivered Mail Returned to Sender") +
      "&body-plain=" + form::url_encode(report) +
      "&message-headers=" + form::url_encode(headers);
  const std::map<std::string, std::string> inbound{
      {"address", "support@acme.example"},
      {"inbound_signing_key", "dev-e2e-email-outbound-signing-key-change-me"}};
  const auto body = signing::platform_body("email", inbound, unsigned_body);
  auto posted = request("POST", gw.base_url() + "/webhooks/acme/support-mail",
                        signing::platform("email", inbound, body), body);
  require_status(posted, 200);

  auto failed = json::parse(outbound_e2e::wait_message_state(gw, acme.token, id, "failed").body);
  CHECK(failed["platform_message_id"].str() == message_id);
  CHECK(failed["error"]["code"].str().find("5.1.1") != std::string::npos);
}

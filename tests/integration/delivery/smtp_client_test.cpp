// The curl-multi client submitting e-mail to a real local SMTP server (tests/support/smtp_sink):
// the envelope and message arrive intact (dot-stuffing is libcurl's), the login is used, and a
// rejection comes back as the server's reply code, a complete answer, for the sender to classify.
#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>

#include "delivery/http_client.hpp"
#include "support/smtp_sink.hpp"

using namespace sb;
using namespace std::chrono_literals;
using client = delivery::http_client;

namespace {

std::unique_ptr<client> start() {
  auto c = client::start({});
  REQUIRE(c.ok());
  return std::move(c).value();
}

client::response call(client& c, client::request req) {
  auto p = std::make_shared<std::promise<client::response>>();
  auto f = p->get_future();
  auto st = c.submit(std::move(req), [p](client::response r) { p->set_value(std::move(r)); });
  REQUIRE(st.ok());
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

const std::string k_message =
    "From: Acme Support <support@acme.example>\r\n"
    "To: customer@example.net\r\n"
    "Subject: Re: Order 1001\r\n"
    "Message-ID: <out_1@acme.example>\r\n"
    "\r\n"
    "Line one\r\n"
    ".\r\n"
    "..two dots\r\n"
    ".leading dot\r\n"
    "last\r\n";

client::request mail(const std::string& url, std::string body = k_message) {
  client::request r;
  r.url = url;
  r.mail_from = "support@acme.example";
  r.mail_rcpt = {"customer@example.net"};
  r.body = std::move(body);
  r.timeout = 10s;
  return r;
}

}  // namespace

TEST_CASE("an SMTP submission delivers the envelope and the message byte for byte",
          "[email][smtp]") {
  test::smtp_sink sink;
  auto c = start();
  auto res = call(*c, mail(sink.url()));
  INFO(res.error);
  CHECK(res.fail == client::failure::none);
  CHECK(res.status == 250);
  CHECK(res.body.rfind("250 2.0.0 Ok: queued as 1", 0) == 0);  // the last reply line
  REQUIRE(sink.wait_for(1));
  auto got = sink.messages();
  REQUIRE(got.size() == 1);
  CHECK(got[0].mail_from == "support@acme.example");
  CHECK(got[0].rcpt == std::vector<std::string>{"customer@example.net"});
  // A line of one dot did not end the message early, and no dot was lost or added: libcurl
  // dot-stuffed what the sink unstuffed.
  CHECK(got[0].data == k_message);
  CHECK(got[0].auth_user.empty());
  for (const auto& cmd : sink.commands()) {
    CHECK(cmd.rfind("STARTTLS", 0) != 0);  // not offered: plain text goes on
  }
}

TEST_CASE("an SMTP submission without a final line break is completed by the client",
          "[email][smtp]") {
  test::smtp_sink sink;
  auto c = start();
  auto res = call(*c, mail(sink.url(), "Subject: x\r\n\r\nno line break at the end"));
  CHECK(res.status == 250);
  REQUIRE(sink.wait_for(1));
  CHECK(sink.messages()[0].data == "Subject: x\r\n\r\nno line break at the end\r\n");
}

TEST_CASE("an SMTP login is sent when set, and a refused login is its reply code",
          "[email][smtp]") {
  test::smtp_sink sink;
  sink.require_auth("support@acme.example", "dev-smtp-password-change-me");
  auto c = start();
  auto req = mail(sink.url());
  req.user = "support@acme.example";
  req.password = "dev-smtp-password-change-me";
  auto ok = call(*c, req);
  INFO(ok.error);
  CHECK(ok.status == 250);
  REQUIRE(sink.wait_for(1));
  CHECK(sink.messages()[0].auth_user == "support@acme.example");

  req.password = "wrong";
  auto refused = call(*c, req);
  CHECK(refused.fail == client::failure::none);
  CHECK(refused.status == 535);

  auto anonymous = call(*c, mail(sink.url()));  // no login where one is required
  CHECK(anonymous.fail == client::failure::none);
  CHECK(anonymous.status == 530);
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("a 550 to RCPT TO is status 550 without a transport failure", "[email][smtp]") {
  test::smtp_sink sink;
  sink.reject_rcpt("550 5.1.1 No such user");
  auto c = start();
  auto res = call(*c, mail(sink.url()));
  CHECK(res.fail == client::failure::none);
  CHECK(res.status == 550);
  CHECK(res.body == "550 5.1.1 No such user");
  CHECK(sink.messages().empty());
  // The next submission (a new transaction) is taken.
  CHECK(call(*c, mail(sink.url())).status == 250);
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("a 451 to RCPT TO or to the DATA is status 451", "[email][smtp]") {
  test::smtp_sink sink;
  auto c = start();
  sink.reject_rcpt("451 4.3.0 Try again later");
  auto rcpt = call(*c, mail(sink.url()));
  CHECK(rcpt.fail == client::failure::none);
  CHECK(rcpt.status == 451);
  sink.reject_data("451 4.3.0 Try again later");
  auto data = call(*c, mail(sink.url()));
  CHECK(data.fail == client::failure::none);
  CHECK(data.status == 451);
  sink.reject_data("554 5.6.0 Message refused");
  auto refused = call(*c, mail(sink.url()));
  CHECK(refused.status == 554);
  CHECK(sink.messages().empty());
  CHECK(call(*c, mail(sink.url())).status == 250);
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("an SMTP server that is down is a connect failure", "[email][smtp]") {
  std::string url;
  {
    test::smtp_sink sink;
    url = sink.url();
    sink.stop();
  }
  auto c = start();
  auto res = call(*c, mail(url));
  CHECK(res.fail == client::failure::connect);
  CHECK(res.status == 0);
  CHECK_FALSE(res.error.empty());
}

TEST_CASE("a URL that is neither HTTP nor SMTP is refused, not attempted", "[email][smtp]") {
  auto c = start();
  auto ftp = call(*c, mail("ftp://127.0.0.1:1/"));
  CHECK(ftp.fail == client::failure::other);
  CHECK(ftp.status == 0);
}

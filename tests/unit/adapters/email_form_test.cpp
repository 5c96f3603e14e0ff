// The e-mail channel's readers of untrusted text: HTML form bodies (adapters/email/form.hpp) and
// RFC 5322 header values (adapters/email/rfc5322.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "adapters/email/form.hpp"
#include "adapters/email/rfc5322.hpp"
#include "core/time.hpp"
#include "support/fixtures.hpp"

namespace form = sb::adapters::email::form;
namespace rfc = sb::adapters::email::rfc5322;

namespace {

const std::string k_urlencoded = "application/x-www-form-urlencoded";

sb::errc code_of(const sb::result<std::vector<form::field>>& r) {
  return r.ok() ? sb::errc::ok : r.err().code;
}

std::string multipart_type(const std::string& boundary) {
  return "multipart/form-data; boundary=" + boundary;
}

}  // namespace

TEST_CASE("an urlencoded form decodes names and values, '+' and %XX, a lone % as itself",
          "[email][form]") {
  auto r = form::parse(k_urlencoded,
                       "subject=Re%3A+Order+%231001&&body-plain=50%+off%2&flag&empty=&"
                       "na%6De=v");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 5);
  CHECK((*r)[0].name == "subject");
  CHECK((*r)[0].value() == "Re: Order #1001");
  CHECK((*r)[0].data == "Re%3A+Order+%231001");
  CHECK((*r)[0].span == "subject=Re%3A+Order+%231001");
  CHECK((*r)[1].value() == "50% off%2");
  CHECK((*r)[2].name == "flag");
  CHECK((*r)[2].value().empty());
  CHECK((*r)[3].name == "empty");
  CHECK((*r)[4].name == "name");
  CHECK_FALSE((*r)[0].file);
  CHECK(form::find(*r, "empty") == &(*r)[3]);
  CHECK(form::find(*r, "Subject") == nullptr);  // names are case-sensitive
}

TEST_CASE("url_encode and url_decode round-trip any bytes", "[email][form]") {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  const auto encoded = form::url_encode(all);
  CHECK(encoded.find('&') == std::string::npos);
  CHECK(encoded.find('=') == std::string::npos);
  CHECK(form::url_decode(encoded) == all);
  CHECK(form::url_encode("a b<c>") == "a+b%3Cc%3E");
}

TEST_CASE("a multipart form yields its fields and file parts, binary-safe", "[email][form]") {
  const std::string b = "XyZ123";
  std::string body = "preamble to ignore\r\n--" + b +
                     "\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHello\r\n"
                     "there\r\n--" +
                     b +
                     "  \r\ncontent-disposition: Form-Data; name=\"attachment-1\"; "
                     "filename=\"a;b \\\"c\\\".bin\"\r\nContent-Type: application/octet-stream"
                     "\r\n\r\n";
  body += std::string("\0\r\n-\x01\xff", 6);
  body += "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--" + b +
          "--\r\nepilogue --" + b;
  auto r = form::parse(multipart_type(b), body);
  INFO((r.ok() ? "" : r.err().message));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].name == "subject");
  CHECK((*r)[0].value() == "Hello\r\nthere");
  CHECK((*r)[0].span == "--" + b +
                            "\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n"
                            "Hello\r\nthere");
  CHECK_FALSE((*r)[0].file);
  CHECK((*r)[1].name == "attachment-1");
  CHECK((*r)[1].file);
  CHECK((*r)[1].file_name == "a;b \"c\".bin");
  CHECK((*r)[1].content_type == "application/octet-stream");
  CHECK((*r)[1].data == std::string("\0\r\n-\x01\xff", 6));
  CHECK((*r)[2].name == "empty");
  CHECK((*r)[2].data.empty());
}

TEST_CASE("a quoted boundary is unquoted and parameters and types are case-insensitive",
          "[email][form]") {
  const std::string b = "----=_Part_7; \"x\"";
  auto t =
      form::type_of("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"----=_Part_7; \\\"x\\\"\"");
  REQUIRE(t.ok());
  CHECK(t->enc == form::encoding::multipart);
  CHECK(t->boundary == b);
  const std::string body =
      "--" + b + "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + b + "--";
  auto r = form::parse("multipart/form-data; boundary=\"----=_Part_7; \\\"x\\\"\"", body);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].name == "a");
  CHECK((*r)[0].value() == "1");
  CHECK(form::header_param("form-data; name=\"x\"; filename*=UTF-8''na%C3%AFve.pdf", "FILENAME*") ==
        "UTF-8''na%C3%AFve.pdf");
  CHECK(form::header_param("form-data; name=\"x\"", "filename").empty());
}

TEST_CASE("bodies that are not forms, or lack a usable boundary, are refused by name",
          "[email][form]") {
  CHECK(code_of(form::parse("application/json", "{}")) == sb::errc::malformed_body);
  CHECK(code_of(form::parse("", "a=b")) == sb::errc::malformed_body);
  auto no_boundary = form::parse("multipart/form-data", "--x\r\n");
  REQUIRE_FALSE(no_boundary.ok());
  CHECK(no_boundary.err().message.find("no boundary") != std::string::npos);
  CHECK(code_of(form::parse("multipart/form-data; boundary=\"\"", "--\r\n")) ==
        sb::errc::malformed_body);
  CHECK(code_of(form::parse(multipart_type(std::string(71, 'b')), "")) == sb::errc::malformed_body);
  auto absent = form::parse(multipart_type("abc"), "a=b&c=d");
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.err().message.find("no delimiter line") != std::string::npos);
}

TEST_CASE("truncated or broken multipart parts are malformed, never read past the body",
          "[email][form]") {
  const std::string t = multipart_type("b");
  const std::string part = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue";
  auto cut = form::parse(t, part);
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.err().message.find("part 1 (\"x\") is cut off") != std::string::npos);
  auto headers_cut = form::parse(t, "--b\r\nContent-Disposition: form-data; name=\"x\"");
  REQUIRE_FALSE(headers_cut.ok());
  CHECK(headers_cut.err().message.find("headers of part 1 are cut off") != std::string::npos);
  auto no_close = form::parse(t, part + "\r\n--b");
  REQUIRE_FALSE(no_close.ok());
  CHECK(no_close.err().message.find("without the closing one") != std::string::npos);
  CHECK(code_of(form::parse(t, "--bX\r\n\r\n")) == sb::errc::malformed_body);
  CHECK(code_of(form::parse(t, "--b\r\nno colon here\r\n\r\nv\r\n--b--")) ==
        sb::errc::malformed_body);
  CHECK(code_of(form::parse(t, "--b\r\n folded first\r\n\r\nv\r\n--b--")) ==
        sb::errc::malformed_body);
  CHECK(code_of(form::parse(t, "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--")) ==
        sb::errc::malformed_body);
  CHECK(
      code_of(form::parse(t, "--b\r\nContent-Disposition: attachment; name=x\r\n\r\nv\r\n--b--")) ==
      sb::errc::malformed_body);
  // A folded Content-Disposition is one header.
  auto folded =
      form::parse(t, "--b\r\nContent-Disposition: form-data;\r\n name=\"x\"\r\n\r\nv\r\n--b--");
  REQUIRE(folded.ok());
  CHECK((*folded)[0].name == "x");
}

TEST_CASE("every prefix of the fixtures parses or fails cleanly", "[email][form]") {
  const auto multipart = sb::test::fixture("email/new_message_multipart.txt");
  const auto type = multipart_type(multipart.substr(2, multipart.find("\r\n") - 2));
  REQUIRE(form::parse(type, multipart).ok());
  std::size_t failures = 0;
  for (std::size_t n = 0; n < multipart.size(); ++n) {
    // A copy of exactly n bytes: a read past it is caught by the sanitized build.
    const std::string prefix = multipart.substr(0, n);
    auto r = form::parse(type, prefix);
    failures += r.ok() ? 0 : 1;
    if (r.ok()) {
      for (const auto& f : *r) {
        CHECK(f.data.data() >= prefix.data());
        CHECK(f.data.data() + f.data.size() <= prefix.data() + prefix.size());
      }
    }
  }
  // Only the prefixes that end in the close delimiter "--b--" (without its CRLF) are complete.
  CHECK(failures == multipart.size() - 2);
  const auto urlencoded = sb::test::fixture("email/reply_urlencoded.txt");
  for (std::size_t n = 0; n < urlencoded.size(); n += 7) {
    CHECK(form::parse(k_urlencoded, urlencoded.substr(0, n)).ok());
  }
}

TEST_CASE("field and header counts are bounded", "[email][form]") {
  std::string many;
  for (int i = 0; i < 5000; ++i) {
    many += "a=1&";
  }
  auto r = form::parse(k_urlencoded, many);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("more than 4096 fields") != std::string::npos);
  form::limits small;
  small.max_fields = 3;
  CHECK(code_of(form::parse(k_urlencoded, "a=1&b=2&c=3", small)) == sb::errc::ok);
  CHECK(code_of(form::parse(k_urlencoded, "a=1&b=2&c=3&d=4", small)) == sb::errc::malformed_body);
  std::string parts;
  for (int i = 0; i < 4; ++i) {
    parts += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  }
  CHECK(code_of(form::parse(multipart_type("b"), parts + "--b--", small)) ==
        sb::errc::malformed_body);
  std::string headers = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n";
  for (int i = 0; i < 40; ++i) {
    headers += "X-Extra: " + std::to_string(i) + "\r\n";
  }
  auto too_many = form::parse(multipart_type("b"), headers + "\r\nv\r\n--b--");
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.err().message.find("more than 32 header lines") != std::string::npos);
}

TEST_CASE("a From mailbox gives its lower-case address and display name", "[email][rfc5322]") {
  auto m = rfc::parse_mailbox("Jane Doe <Jane.Doe@Example.org>");
  CHECK(m.address == "jane.doe@example.org");
  CHECK(m.name == "Jane Doe");
  m = rfc::parse_mailbox("\"Okafor, Chidi \\\"C\\\"\" <chidi@example.net>");
  CHECK(m.address == "chidi@example.net");
  CHECK(m.name == "Okafor, Chidi \"C\"");
  m = rfc::parse_mailbox("  bare@example.com ");
  CHECK(m.address == "bare@example.com");
  CHECK(m.name.empty());
  m = rfc::parse_mailbox("MAILER-DAEMON@mx.example.org (Mail Delivery System)");
  CHECK(m.address == "mailer-daemon@mx.example.org");
  CHECK(m.name == "Mail Delivery System");
  CHECK(rfc::parse_mailbox("").address.empty());
  CHECK(rfc::parse_mailbox("Jane Doe").address.empty());
  CHECK(rfc::parse_mailbox("a@b.c, d@e.f").address.empty());
  CHECK(rfc::parse_mailbox("Broken <x@y").address == "x@y");
}

TEST_CASE("message ids are read bare, the first of a list", "[email][rfc5322]") {
  CHECK(rfc::first_message_id("<abc@mail.example.com>") == "abc@mail.example.com");
  CHECK(rfc::first_message_id(" <root@x> <parent@y>") == "root@x");
  CHECK(rfc::first_message_id("bare@id.example") == "bare@id.example");
  CHECK(rfc::first_message_id("  ").empty());
  CHECK(rfc::first_message_id("<unclosed@x") == "unclosed@x");
}

TEST_CASE("RFC 5322 dates are read with their zone and other text is not a date", "[email][rfc5322]") {
  // 2024-12-03T15:14:05Z
  const std::int64_t want = 1733238845;
  CHECK(rfc::parse_date("Tue, 3 Dec 2024 10:14:05 -0500")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("3 Dec 2024 15:14:05 +0000")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("Tue, 03 Dec 2024 15:14:05 +0000 (UTC)")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("Tue, 3 Dec 2024 07:14:05 PST")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("Tue, 3 Dec 2024 15:14:05 GMT")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("Tue, 3 Dec 2024 16:14 +0100")->unix_ms == (want - 5) * 1000);
  CHECK(rfc::parse_date("Tue, 3 Dec 24 15:14:05 +0000")->unix_ms == want * 1000);
  CHECK(rfc::parse_date("Tue,  3 Dec 2024 15:14:05")->unix_ms == want * 1000);
  CHECK_FALSE(rfc::parse_date(""));
  CHECK_FALSE(rfc::parse_date("yesterday"));
  CHECK_FALSE(rfc::parse_date("Tue, 3 Foo 2024 15:14:05 +0000"));
  CHECK_FALSE(rfc::parse_date("Tue, 32 Dec 2024 15:14:05 +0000"));
  CHECK_FALSE(rfc::parse_date("Tue, 3 Dec 2024 25:14:05 +0000"));
  CHECK_FALSE(rfc::parse_date("Tue, 3 Dec 2024 15:14:05 +9900"));
  CHECK_FALSE(rfc::parse_date("2024-12-03T15:14:05Z"));
}

TEST_CASE("header lines are found in text, folded lines joined", "[email][rfc5322]") {
  const std::string text =
      "Reporting-MTA: dns; mx\r\nstatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n"
      "    unknown user\r\n\r\nMessage-ID: <after@blank>\n";
  CHECK(rfc::line_field(text, "Status", false) == "5.1.1");
  CHECK(rfc::line_field(text, "Diagnostic-Code", false) == "smtp; 550 5.1.1 unknown user");
  CHECK(rfc::line_field(text, "Message-ID", false) == "<after@blank>");
  CHECK(rfc::line_field(text, "Message-ID", true).empty());  // past the header block
  CHECK(rfc::line_field(text, "Missing", false).empty());
}

#include "adapters/email/email.hpp"

#include <simdjson.h>

#include "adapters/email/form.hpp"
#include "adapters/email/outbound.hpp"
#include "adapters/email/rfc5322.hpp"
#include "adapters/json_reader.hpp"
#include "adapters/signed_time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

// A named namespace around the unnamed one: adapters/ is compiled in unity groups, and the
// outbound side of this platform lives in the same namespace.
namespace sb::adapters::email::inbound_impl {

namespace {

namespace dom = simdjson::dom;

constexpr const char* k_content_type = "content-type";
/// Mailgun retries a route's POST for 8 hours: a retry signed at the first attempt is that old.
constexpr std::int64_t k_max_age_s = 8 * 3600;
/// Clocks differ a little; a timestamp further ahead is not Mailgun's.
constexpr std::int64_t k_max_ahead_s = 5 * 60;
constexpr std::string_view k_signed_fields[] = {"timestamp", "token", "signature"};

using fields = std::vector<form::field>;
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Unix seconds written as 1 to 12 decimal digits; nullopt otherwise.
std::optional<std::int64_t> unix_seconds(std::string_view s) {
  if (s.empty() || s.size() > 12) {
    return std::nullopt;
  }
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  return n;
}

/// The decoded value of the first field `name`; "" when absent.
std::string text_of(const fields& f, std::string_view name) {
  const auto* found = form::find(f, name);
  return found == nullptr ? std::string() : found->value();
}

struct signed_fields {
  std::string timestamp;
  std::string token;
  std::string signature;
};

/// The three signed fields of the request's form, located by the form parser (no event is
/// read): `errc::missing_signature` when the body is not a form or one of them is absent.
result<signed_fields> signed_fields_of(const request& req) {
  const auto type = req.header_value(k_content_type);
  if (type.empty()) {
    return error{errc::missing_signature,
                 "no Content-Type header: the Mailgun form's signature fields cannot be found"};
  }
  auto parsed = form::parse(type, req.body);
  if (!parsed) {
    return error{errc::missing_signature, "the body is not a readable form (" +
                                              parsed.err().message +
                                              "): its signature fields cannot be found"};
  }
  signed_fields s{text_of(*parsed, "timestamp"), text_of(*parsed, "token"),
                  text_of(*parsed, "signature")};
  if (s.timestamp.empty() || s.token.empty() || s.signature.empty()) {
    return error{errc::missing_signature,
                 "the form lacks Mailgun's timestamp, token or signature field"};
  }
  return s;
}

/// Whether `recipient` (Mailgun's envelope recipient; a comma-separated list to be safe) names
/// `address` (lower-case).
bool names_address(std::string_view recipient, const std::string& address) {
  std::size_t start = 0;
  while (start <= recipient.size()) {
    auto comma = recipient.find(',', start);
    if (comma == std::string_view::npos) {
      comma = recipient.size();
    }
    if (rfc5322::parse_mailbox(recipient.substr(start, comma - start)).address == address) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

/// The MIME type of a Content-Type value: "image/png" of "image/png; name=x.png", lower-case.
std::string mime_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  auto t = form::lower(content_type.substr(0, semi));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
    t.pop_back();
  }
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
    t.erase(0, 1);
  }
  return t;
}

std::string kind_of(const std::string& mime) {
  for (const char* k : {"image", "video", "audio"}) {
    if (mime.rfind(std::string(k) + "/", 0) == 0) {
      return k;
    }
  }
  return "file";
}

/// One inbound post: the form and the message headers, with lookups.
class inbound_form {
 public:
  inbound_form(fields f, header_list h) : fields_(std::move(f)), headers_(std::move(h)) {}

  const fields& all() const { return fields_; }
  std::string field(std::string_view name) const { return text_of(fields_, name); }
  bool has(std::string_view name) const { return form::find(fields_, name) != nullptr; }

  /// A MIME header: from `message-headers`, else a form field of that name (Mailgun posts some
  /// headers as their own fields too); names compared case-insensitively.
  std::string header(std::string_view name) const {
    const auto l = form::lower(name);
    for (const auto& [n, v] : headers_) {
      if (form::lower(n) == l) {
        return v;
      }
    }
    for (const auto& f : fields_) {
      if (form::lower(f.name) == l) {
        return f.value();
      }
    }
    return {};
  }

 private:
  fields fields_;
  header_list headers_;
};

/// The parts of a delivery status report that the `status` event carries.
struct delivery_report {
  std::string original_id;  ///< bare Message-ID of the returned message
  std::string status;       ///< "5.1.1"
  std::string diagnostic;   ///< "smtp; 550 5.1.1 <x@y>: Recipient address rejected"
  std::string recipient;    ///< Final-Recipient's address
};

/// A DSN Status value: class.subject.detail ("5.1.1"), digits and two dots.
bool is_dsn_status(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 2 && !s.empty() && s.front() != '.' && s.back() != '.';
}

class email_adapter final : public adapter {
 public:
  explicit email_adapter(const config::channel_config& cfg)
      : signing_key_(cfg.get("inbound_signing_key")) {
    channel_.name = cfg.name;
    channel_.type = "email";
    channel_.account = form::lower(cfg.get("address"));
  }

  status verify(const request& req) const override {
    auto s = signed_fields_of(req);
    if (!s) {
      return s.err();
    }
    const auto given = crypto::from_hex(s->signature);
    if (!given || given->size() != 32) {
      return {errc::bad_signature, "the form's signature is not a hex HMAC-SHA256"};
    }
    const auto expected = crypto::hmac_sha256(signing_key_, s->timestamp + s->token);
    if (!same_digest(*given, expected)) {
      return {errc::bad_signature,
              "the form's signature does not match its timestamp and token signed with the "
              "channel's inbound_signing_key"};
    }
    const auto at = unix_seconds(s->timestamp);
    if (!at) {
      return {errc::bad_signature, "the form's timestamp is not Unix seconds"};
    }
    // Mailgun retries for 8 hours: older is a replay.
    return check_signed_time(*at * 1000, req.now,
                             {k_max_age_s * 1000, k_max_ahead_s * 1000, "Mailgun"},
                             "the form's timestamp");
  }

  std::optional<one_time_token> replay_token(const request& req) const override {
    auto s = signed_fields_of(req);
    if (!s) {
      return std::nullopt;
    }
    const auto at = unix_seconds(s->timestamp);
    if (!at) {
      return std::nullopt;
    }
    return one_time_token{s->token, timestamp::from_seconds(*at + k_max_age_s)};
  }

  status parse(const request& req, std::vector<event>& out) override {
    auto parsed = form::parse(req.header_value(k_content_type), req.body);
    if (!parsed) {
      return malformed(parsed.err().message);
    }
    auto headers = message_headers(*parsed);
    if (!headers) {
      return headers.err();
    }
    const inbound_form in(std::move(*parsed), std::move(*headers));

    if (!in.has("recipient")) {
      return malformed("the form has no recipient field");
    }
    if (!names_address(in.field("recipient"), channel_.account)) {
      return {errc::forbidden,
              "the message's recipient is not this channel's address: a Mailgun route of "
              "another address points at this channel; nothing was stored"};
    }
    auto from_text = in.field("from");
    if (from_text.empty()) {
      from_text = in.header("From");
    }
    const auto from = rfc5322::parse_mailbox(from_text);
    if (from.address.empty()) {
      return malformed("the form's from field names no e-mail address");
    }

    event e;
    e.channel = channel_;
    e.platform_event_id = rfc5322::first_message_id(in.header("Message-Id"));
    auto subject = in.field("subject");
    if (!in.has("subject")) {
      subject = in.header("Subject");
    }
    const auto body_plain = in.field("body-plain");
    if (!e.platform_event_id.empty()) {
      e.dedupe_key = "m:" + e.platform_event_id;
    } else {
      e.dedupe_key =
          "h:" + crypto::to_hex(crypto::sha256(from.address + "\n" + subject + "\n" + body_plain));
    }
    if (auto date = rfc5322::parse_date(in.header("Date"))) {
      e.occurred_at = *date;
    } else if (auto ts = unix_seconds(in.field("timestamp"))) {
      e.occurred_at = timestamp::from_seconds(*ts);
    }

    if (is_report(in, from)) {
      report(in, body_plain, subject, e);
      out.push_back(std::move(e));
      return {};
    }

    e.type = event_type::message;
    sender_info s;
    s.platform_id = from.address;
    s.name = from.name;
    e.sender = std::move(s);
    e.peer = from.address;
    e.subject_source = from.address;
    e.conversation = conversation_key::format(channel_.name, e.peer);
    e.content.subject = std::move(subject);
    auto stripped = in.field("stripped-text");
    e.content.text = stripped.empty() ? body_plain : std::move(stripped);
    e.content.reply_to = rfc5322::first_message_id(in.header("In-Reply-To"));
    e.content.thread = rfc5322::first_message_id(in.header("References"));
    if (e.content.thread.empty()) {
      e.content.thread = e.content.reply_to;
    }
    if (auto st = attachments(in, e.content.attachments); !st) {
      return st;
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  static error malformed(std::string why) {
    return {errc::malformed_body, "Mailgun form: " + std::move(why)};
  }

  /// `message-headers`: a JSON array of [name, value] pairs, required (Mailgun always posts it;
  /// a form without it is not one of Mailgun's, or was cut off).
  result<header_list> message_headers(const fields& f) {
    const auto* mh = form::find(f, "message-headers");
    if (mh == nullptr) {
      return malformed("the form has no message-headers field");
    }
    const auto json = mh->value();
    dom::element root;
    if (parser_.parse(json).get(root) != simdjson::SUCCESS) {
      return malformed("message-headers is not valid JSON");
    }
    dom::array pairs;
    if (root.get_array().get(pairs) != simdjson::SUCCESS) {
      return malformed("message-headers is not a JSON array of [name, value] pairs");
    }
    header_list out;
    for (dom::element pair : pairs) {
      dom::array nv;
      std::string_view name;
      std::string_view value;
      if (pair.get_array().get(nv) != simdjson::SUCCESS || nv.size() != 2 ||
          nv.at(0).get_string().get(name) != simdjson::SUCCESS ||
          nv.at(1).get_string().get(value) != simdjson::SUCCESS) {
        return malformed("message-headers is not a JSON array of [name, value] pairs");
      }
      out.emplace_back(std::string(name), std::string(value));
    }
    return out;
  }

  /// Attachment metadata: each file part (multipart posts), else the `attachments` JSON of a
  /// stored message (urlencoded posts carry no bytes).
  status attachments(const inbound_form& in, std::vector<attachment>& out) {
    for (const auto& f : in.all()) {
      if (!f.file) {
        continue;
      }
      attachment a;
      a.mime_type = mime_of(f.content_type);
      if (a.mime_type.empty()) {
        a.mime_type = "application/octet-stream";
      }
      a.kind = kind_of(a.mime_type);
      a.file_name = f.file_name;
      a.size = f.data.size();
      a.sha256 = crypto::to_hex(crypto::sha256(f.data));
      out.push_back(std::move(a));
    }
    if (!out.empty() || !in.has("attachments")) {
      return {};
    }
    const auto json = in.field("attachments");
    dom::element root;
    dom::array items;
    if (parser_.parse(json).get(root) != simdjson::SUCCESS ||
        root.get_array().get(items) != simdjson::SUCCESS) {
      return malformed("attachments is not a JSON array");
    }
    for (dom::element item : items) {
      dom::object o;
      if (item.get_object().get(o) != simdjson::SUCCESS) {
        return malformed("attachments is not a JSON array of objects");
      }
      attachment a;
      a.mime_type = mime_of(lenient::text(o, "content-type"));
      if (a.mime_type.empty()) {
        a.mime_type = "application/octet-stream";
      }
      a.kind = kind_of(a.mime_type);
      a.file_name = lenient::text(o, "name");
      a.url = lenient::text(o, "url");
      if (auto size = lenient::number(o, "size"); size && *size >= 0) {
        a.size = static_cast<std::uint64_t>(*size);
      }
      out.push_back(std::move(a));
    }
    return {};
  }

  /// Whether the message is a delivery status report (a bounce).
  static bool is_report(const inbound_form& in, const rfc5322::mailbox& from) {
    const auto local = from.address.substr(0, from.address.find('@'));
    if (local == "mailer-daemon" || local == "postmaster") {
      return true;
    }
    const auto type = in.header("Content-Type");
    if (mime_of(type) == "multipart/report" &&
        form::lower(form::header_param(type, "report-type")) == "delivery-status") {
      return true;
    }
    for (const auto& f : in.all()) {
      if (f.file && mime_of(f.content_type) == "message/delivery-status") {
        return true;
      }
    }
    return false;
  }

  /// A delivery status report as a `status` event (or `system` when it names no message).
  static void report(const inbound_form& in, const std::string& body_plain, std::string subject,
                     event& e) {
    delivery_report r;
    std::string_view dsn = body_plain;
    for (const auto& f : in.all()) {
      const auto mime = mime_of(f.content_type);
      if (mime == "message/delivery-status") {
        dsn = f.data;
      } else if ((mime == "message/rfc822" || mime == "text/rfc822-headers") &&
                 r.original_id.empty()) {
        r.original_id = rfc5322::first_message_id(rfc5322::line_field(f.data, "Message-ID", true));
      }
    }
    if (r.original_id.empty()) {
      r.original_id =
          rfc5322::first_message_id(rfc5322::line_field(body_plain, "Original-Message-ID", false));
    }
    if (r.original_id.empty()) {
      r.original_id =
          rfc5322::first_message_id(rfc5322::line_field(body_plain, "Message-ID", false));
    }
    if (r.original_id == e.platform_event_id) {
      r.original_id.clear();  // the report's own id (a header copied into its text): not it
    }
    const auto status = rfc5322::line_field(dsn, "Status", false);
    const auto code = status.substr(0, status.find_first_of(" \t("));
    if (is_dsn_status(code)) {
      r.status = code;
    }
    r.diagnostic = rfc5322::line_field(dsn, "Diagnostic-Code", false);
    const auto final_recipient = rfc5322::line_field(dsn, "Final-Recipient", false);
    // "rfc822; jane@example.com": the address after the type.
    const auto semi = final_recipient.find(';');
    r.recipient =
        rfc5322::parse_mailbox(semi == std::string::npos ? final_recipient
                                                         : final_recipient.substr(semi + 1))
            .address;

    if (r.original_id.empty()) {
      e.type = event_type::system;
      e.kind = "delivery-status";
      e.content.subject = std::move(subject);
      e.content.text = r.diagnostic;
      return;
    }
    e.type = event_type::status;
    status_info s;
    s.state = "failed";
    s.message_id = std::move(r.original_id);
    s.recipient = std::move(r.recipient);
    s.error_code = std::move(r.status);
    s.error_title = std::move(r.diagnostic);
    e.status = std::move(s);
  }

  channel_ref channel_;
  std::string signing_key_;
  dom::parser parser_;  // reused: its buffers grow to the largest JSON seen
};

/// The body's Content-Type, told from the body itself: multipart bodies start with their
/// delimiter line ("--<boundary>").
std::string content_type_of(std::string_view body) {
  if (body.substr(0, 2) == "--") {
    const auto eol = body.find("\r\n");
    if (eol != std::string_view::npos && eol > 2) {
      const auto boundary = body.substr(2, eol - 2);
      // A boundary with characters a token may not hold (RFC 2045 tspecials, space) is quoted.
      if (boundary.find_first_of("()<>@,;:\\\"/[]?= ") == std::string_view::npos) {
        return "multipart/form-data; boundary=" + std::string(boundary);
      }
      std::string quoted = "\"";
      for (char c : boundary) {
        if (c == '"' || c == '\\') {
          quoted += '\\';
        }
        quoted += c;
      }
      return "multipart/form-data; boundary=" + quoted + "\"";
    }
  }
  return "application/x-www-form-urlencoded";
}

std::vector<header> sign(const config::channel_config&, const signing_input& in) {
  // The signature is inside the body (`sign_body`): the header is the form's type.
  return {{k_content_type, content_type_of(in.body)}};
}

std::string sign_body(const config::channel_config& cfg, const signing_input& in) {
  const std::string type = content_type_of(in.body);
  const auto at = in.at.empty() ? now() : in.at;
  const std::string ts = std::to_string(at.unix_ms / 1000);
  // The body without the fields about to be set.
  std::string kept;
  std::string boundary;
  auto parsed = form::parse(type, in.body);
  const bool multipart = type.rfind("multipart/", 0) == 0;
  if (multipart) {
    boundary = form::header_param(type, "boundary");
  }
  if (parsed) {
    for (const auto& f : *parsed) {
      bool is_signed = false;
      for (auto name : k_signed_fields) {
        is_signed = is_signed || f.name == name;
      }
      if (is_signed) {
        continue;
      }
      if (!kept.empty()) {
        kept += multipart ? "\r\n" : "&";
      }
      kept += f.span;
    }
  } else {
    // Not a whole form (the load tester's truncated bodies): signed as it is.
    kept = std::string(in.body);
    if (multipart) {
      const auto close = kept.rfind("\r\n--" + boundary + "--");
      if (close != std::string::npos) {
        kept.resize(close);
      }
    }
  }
  const std::string token =
      crypto::to_hex(crypto::sha256("token\n" + ts + "\n" + kept)).substr(0, 50);
  const std::string signature =
      crypto::to_hex(crypto::hmac_sha256(cfg.get("inbound_signing_key"), ts + token));
  const std::pair<std::string_view, const std::string*> values[] = {
      {"timestamp", &ts}, {"token", &token}, {"signature", &signature}};
  std::string out = std::move(kept);
  for (const auto& [name, value] : values) {
    if (multipart) {
      out += (out.empty() ? "--" : "\r\n--") + boundary +
             "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n" +
             *value;
    } else {
      if (!out.empty()) {
        out += '&';
      }
      out.append(name).append("=").append(*value);
    }
  }
  if (multipart) {
    out += "\r\n--" + boundary + "--\r\n";
  }
  return out;
}

/// A JSON string literal of plain text (the synthetic values: letters, digits, spaces, <@.>).
std::string json_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

/// The load tester's webhook: a new message from one person, posted urlencoded as a route
/// forwards it. `message-headers` comes last (before the signature fields), so that a body cut
/// in half (the load tester's malformed case, re-signed) lacks it or holds it as broken JSON,
/// and is refused 400.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  const auto person = std::to_string(spec.person);
  const std::string address = "customer" + person + "@example.net";
  const std::string message_id = "lt" + std::to_string(spec.run) + "x" + std::to_string(spec.n) +
                                 "." + person + "@mail.example.net";
  const std::string from = "Load Tester " + person + " <" + address + ">";
  const std::string subject = "Order question " + std::to_string(spec.n);
  const std::string date = "Tue, 03 Dec 2024 10:14:05 +0000";
  std::string headers = "[";
  const std::pair<const char*, std::string> list[] = {
      {"Received", "by mail.example.net with SMTP id " + std::to_string(spec.n)},
      {"Mime-Version", "1.0"},
      {"Date", date},
      {"Message-Id", "<" + message_id + ">"},
      {"From", from},
      {"To", spec.account},
      {"Subject", subject},
      {"Content-Type", "text/plain; charset=\"us-ascii\""}};
  for (const auto& [name, value] : list) {
    headers += (headers.size() > 1 ? "," : "") + std::string("[") + json_quoted(name) + "," +
               json_quoted(value) + "]";
  }
  headers += "]";
  const std::pair<const char*, std::string> fields_in_order[] = {
      {"recipient", spec.account}, {"sender", address},       {"from", from},
      {"subject", subject},        {"body-plain", spec.text}, {"stripped-text", spec.text},
      {"message-headers", headers}};
  for (const auto& [name, value] : fields_in_order) {
    if (!w.body.empty()) {
      w.body += '&';
    }
    w.body += std::string(name) + "=" + form::url_encode(value);
  }
  w.platform_ids.push_back(message_id);
  return w;
}

}  // namespace

}  // namespace sb::adapters::email::inbound_impl

namespace sb::adapters::email {

adapter_info info() {
  namespace impl = inbound_impl;
  adapter_info i;
  i.type = "email";
  i.display_name = "E-mail";
  i.schema.type = "email";
  i.schema.settings = {
      {"address", true, false, "",
       "The channel's e-mail address (channel.account), which the Mailgun route forwards: a "
       "message for another recipient is refused (compared case-insensitively)."},
      {"inbound_signing_key", true, true, "",
       "Mailgun's HTTP webhook signing key: verifies the signature field of each forwarded "
       "message."},
  };
  add_smtp_settings(i.schema);
  // The address decides which forwarded messages are this channel's: a typo would refuse all.
  i.schema.check = [smtp = std::move(i.schema.check)](const config::channel_config& cfg) {
    auto problems = smtp ? smtp(cfg) : std::vector<config::setting_problem>{};
    if (!valid_address(cfg.get("address"))) {
      problems.insert(problems.begin(),
                      {"address", "must be one e-mail address, e.g. support@example.com"});
    }
    return problems;
  };
  i.headers = {impl::k_content_type};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<impl::email_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return form::lower(cfg.get("address")); };
  i.sign = impl::sign;
  i.sign_body = impl::sign_body;
  i.features.threads = true;
  i.features.subject = true;
  i.outbound = make_sender;
  i.synthesize = impl::synthesize;
  return i;
}

}  // namespace sb::adapters::email

#include "adapters/email/outbound.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::adapters::email {

namespace {

constexpr std::size_t k_max_text_bytes = 1000 * 1000;
// RFC 5322 §2.1.1: a line is at most 998 characters; "Subject: Re: " leaves this for the rest.
constexpr std::size_t k_max_subject_bytes = 900;
// RFC 5321 §4.5.3.1: a Message-Id (as its local part and domain) stays well within this.
constexpr std::size_t k_max_id_bytes = 900;
constexpr const char* k_no_subject = "Re: your message";

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

bool has_cr_or_lf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

/// A Message-Id as the API takes it ("abc@example.com" or "<abc@example.com>"), bare; nullopt
/// when it cannot go between angle brackets in a header: empty, too long, not printable ASCII,
/// or holding a space or an angle bracket (which would end the id early: header injection).
std::optional<std::string> bare_id(std::string_view id) {
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') {
    id = id.substr(1, id.size() - 2);
  }
  if (id.empty() || id.size() > k_max_id_bytes) {
    return std::nullopt;
  }
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>') {
      return std::nullopt;
    }
  }
  return std::string(id);
}

/// RFC 2047 encoded-words (=?UTF-8?B?...?=) for `text`, folded one word per line: each word 64
/// characters at most (39 bytes of text), so even the first line ("Subject: " + word) stays
/// within 78; never splitting a UTF-8 sequence.
std::string encoded_words(std::string_view text) {
  constexpr std::size_t k_chunk = 39;
  std::string out;
  while (!text.empty()) {
    std::size_t n = std::min(k_chunk, text.size());
    // Back off to a character boundary (a continuation byte is 10xxxxxx).
    while (n < text.size() && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
      --n;
    }
    if (n == 0) {
      n = std::min(k_chunk, text.size());  // not UTF-8 at all: cut anywhere
    }
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?UTF-8?B?" + crypto::base64_encode(text.substr(0, n)) + "?=";
    text.remove_prefix(n);
  }
  return out;
}

/// A header value of free text (Subject, a display name): as it is when it is plain printable
/// ASCII that cannot be mistaken for an encoded-word, else RFC 2047-encoded.
std::string header_text(std::string_view text) {
  if (is_ascii(text) && !has_control(text) && text.find("=?") == std::string_view::npos) {
    return std::string(text);
  }
  return encoded_words(text);
}

/// A display name for From: as it is when it is a plain phrase (atoms and spaces), quoted when
/// it holds a special such as ',' or '.', RFC 2047-encoded when it is not ASCII.
std::string display_name(std::string_view name) {
  if (!is_ascii(name) || name.find("=?") != std::string_view::npos) {
    return encoded_words(name);
  }
  bool phrase = true;
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == ' ' ||
          std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
              std::string_view::npos)) {
      phrase = false;
    }
  }
  if (phrase) {
    return std::string(name);
  }
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

/// RFC 5322 §3.3: "Tue, 03 Dec 2024 12:45:45 +0000" (UTC).
std::string rfc5322_date(timestamp t) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = static_cast<std::time_t>(t.unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/// RFC 2045 §6.7 quoted-printable of UTF-8 text: each line break of `text` (LF, CRLF or CR) a
/// CRLF, encoded lines at most 76 characters (soft breaks "=" CRLF), '=', non-ASCII and
/// controls as =XX, a space or tab at a line's end encoded so no relay strips it. A '.' at a
/// line's start is left to libcurl's dot-stuffing.
std::string quoted_printable(std::string_view text) {
  static const char* const hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 16);
  std::size_t line = 0;  // characters on the current output line
  auto put = [&](std::string_view piece) {
    if (line + piece.size() > 75) {  // 75 + the soft break's '=' = 76
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      const char enc[3] = {'=', hex[c >> 4], hex[c & 0xF]};
      put(std::string_view(enc, 3));
    }
  }
  out += "\r\n";
  return out;
}

bool starts_with_re(std::string_view s) {
  return s.size() >= 3 && (s[0] == 'R' || s[0] == 'r') && (s[1] == 'E' || s[1] == 'e') &&
         s[2] == ':';
}

std::vector<config::setting_problem> smtp_setting_problems(const config::channel_config& cfg) {
  std::vector<config::setting_problem> out;
  const auto& url = cfg.get("smtp_url");
  if (url.empty()) {
    return out;  // receive only: the SMTP keys are not used
  }
  std::string scheme = url.substr(0, url.find("://"));
  for (auto& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (url.find("://") == std::string::npos || (scheme != "smtp" && scheme != "smtps") ||
      url.size() == scheme.size() + 3) {
    out.push_back({"smtp_url",
                   "must be smtp://host:port (STARTTLS when the server offers it) or "
                   "smtps://host:port (TLS)"});
  } else if (has_control(url)) {
    out.push_back({"smtp_url", "must not contain control characters"});
  }
  const auto& from = cfg.get("from");
  if (from.empty()) {
    out.push_back({"from",
                   "required when smtp_url is set: the From address, e.g. "
                   "\"Acme Support <support@acme.example>\""});
  } else if (!parse_mailbox(from)) {
    out.push_back({"from",
                   "must be an address (support@acme.example) or a name and an address "
                   "(Acme Support <support@acme.example>), on one line"});
  }
  if (!cfg.get("smtp_password").empty() && cfg.get("smtp_user").empty()) {
    out.push_back({"smtp_user", "required when smtp_password is set"});
  }
  return out;
}

}  // namespace

bool valid_address(std::string_view s) {
  const auto at = s.rfind('@');
  if (s.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 == s.size()) {
    return false;
  }
  const auto local = s.substr(0, at);
  const auto domain = s.substr(at + 1);
  if (local.size() > 64) {
    return false;
  }
  for (unsigned char c : local) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("()<>[]\\,;:@\"").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  // Labels of letters, digits and '-', not starting or ending with '-', none empty.
  std::size_t label = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || domain[i - 1] == '-' || domain[i - label] == '-') {
        return false;
      }
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(domain[i]);
    if (!std::isalnum(c) && c != '-') {
      return false;
    }
    ++label;
  }
  return true;
}

std::optional<mailbox> parse_mailbox(std::string_view from) {
  if (has_control(from)) {
    return std::nullopt;
  }
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') {
      v.remove_prefix(1);
    }
    while (!v.empty() && v.back() == ' ') {
      v.remove_suffix(1);
    }
    return v;
  };
  from = trim(from);
  mailbox m;
  const auto open = from.find('<');
  if (open == std::string_view::npos) {
    m.address = std::string(from);
  } else {
    if (from.back() != '>' || from.find('<', open + 1) != std::string_view::npos) {
      return std::nullopt;
    }
    m.address = std::string(from.substr(open + 1, from.size() - open - 2));
    auto name = trim(from.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    if (name.find('"') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
      return std::nullopt;  // quotes inside a name: write it without them
    }
    m.name = std::string(name);
  }
  if (!valid_address(m.address)) {
    return std::nullopt;
  }
  return m;
}

std::string reply_subject(std::string_view subject) {
  if (subject.empty()) {
    return k_no_subject;
  }
  if (starts_with_re(subject)) {
    return std::string(subject);
  }
  return "Re: " + std::string(subject);
}

void add_smtp_settings(config::channel_schema& schema) {
  schema.settings.push_back(
      {"smtp_url", false, false, "",
       "The SMTP server that sends this channel's messages: smtp://host:port (STARTTLS when the "
       "server offers it; port 587 for submission) or smtps://host:port (TLS, port 465); a path "
       "(smtp://host:587/acme.example) is the name given in EHLO. Empty: the channel only "
       "receives."});
  schema.settings.push_back(
      {"smtp_user", false, false, "", "The login on the SMTP server; empty = no AUTH."});
  schema.settings.push_back({"smtp_password", false, true, "", "The password of smtp_user."});
  schema.settings.push_back(
      {"from", false, false, "",
       "The From of sent messages, e.g. \"Acme Support <support@acme.example>\"; its address "
       "is the envelope sender (where bounces go) and its domain ends each Message-ID. Required "
       "when smtp_url is set."});
  add_outbound_settings(schema, default_limits(), false, false);
  // Chained after the outbound check: both are reported at start-up, at the key's line.
  schema.check = [previous = std::move(schema.check)](const config::channel_config& cfg) {
    auto out = previous ? previous(cfg) : std::vector<config::setting_problem>{};
    auto mine = smtp_setting_problems(cfg);
    out.insert(out.end(), mine.begin(), mine.end());
    return out;
  };
}

std::shared_ptr<const outbound_channel> make_sender(const config::channel_config& cfg) {
  if (cfg.get("smtp_url").empty()) {
    return nullptr;
  }
  return std::make_shared<const sender>(cfg);
}

rate_limits default_limits() {
  rate_limits l;
  l.per_channel_rps = 5;
  l.per_channel_burst = 10;
  l.per_recipient_rps = 1;
  l.per_recipient_burst = 3;
  return l;
}

sender::sender(const config::channel_config& cfg)
    : outbound_channel(cfg, default_limits(), type_window()),
      url_(cfg.get("smtp_url")),
      user_(cfg.get("smtp_user")),
      password_(cfg.get("smtp_password")) {
  // A `from` the schema's check refused leaves these empty: `encode` then says so.
  if (auto m = parse_mailbox(cfg.get("from"))) {
    from_address_ = m->address;
    from_domain_ = m->address.substr(m->address.rfind('@') + 1);
    from_header_ = m->name.empty() ? m->address : display_name(m->name) + " <" + m->address + ">";
  }
}

window_policy sender::type_window() {
  window_policy w;  // no conversation window on e-mail
  w.platform = "E-mail";
  return w;
}

status sender::check(const outbound_message& m) const {
  if (!valid_address(m.to)) {
    return bad(
        "field 'to' must be one e-mail address (customer@example.net), without a display name");
  }
  if (m.media) {
    return bad(
        "field 'media' is not supported on email: attachments are not sent in this version; "
        "send a link in 'text'");
  }
  if (m.text.empty()) {
    return bad("field 'text' is required on email");
  }
  if (m.text.size() > k_max_text_bytes) {
    return bad("field 'text' is longer than 1 MB");
  }
  if (has_cr_or_lf(m.subject)) {
    return bad("field 'subject' must not contain line breaks");
  }
  if (m.subject.size() > k_max_subject_bytes) {
    return bad("field 'subject' is longer than 900 bytes");
  }
  if (!m.reply_to.empty() && !bare_id(m.reply_to)) {
    return bad(
        "field 'reply_to' must be the Message-Id of the message replied to "
        "(abc@example.net, angle brackets optional), without spaces or line breaks");
  }
  if (!m.thread.empty() && !bare_id(m.thread)) {
    return bad(
        "field 'thread' must be the Message-Id of the thread's first message "
        "(abc@example.net, angle brackets optional), without spaces or line breaks");
  }
  return {};
}

result<platform_request> sender::encode(const outbound_message& m) const {
  if (auto s = check(m); !s) {
    return s.err();
  }
  if (from_address_.empty()) {
    return error{errc::unavailable,
                 "channel " + name() + " has no valid 'from' address: set it to send messages"};
  }
  // The gateway's id ("out_" + ULID) makes the Message-ID: the same on every attempt.
  const auto id = bare_id(m.id);
  if (!id || m.id.find('@') != std::string::npos) {
    return bad("the message has no id to derive its Message-ID from");
  }
  const std::string message_id = *id + "@" + from_domain_;

  std::string h;
  auto header = [&h](std::string_view name, std::string_view value) {
    h.append(name).append(": ").append(value).append("\r\n");
  };
  header("From", from_header_);
  header("To", m.to);
  header("Subject", header_text(reply_subject(m.subject)));
  if (!m.created_at.empty()) {
    header("Date", rfc5322_date(m.created_at));
  }
  header("Message-ID", "<" + message_id + ">");
  const auto parent = m.reply_to.empty() ? std::nullopt : bare_id(m.reply_to);
  const auto root = m.thread.empty() ? std::nullopt : bare_id(m.thread);
  if (parent) {
    header("In-Reply-To", "<" + *parent + ">");
  }
  // The thread's root first, then the message replied to (RFC 5322 §3.6.4), each once.
  std::string references;
  if (root) {
    references = "<" + *root + ">";
  }
  if (parent && parent != root) {
    references += (references.empty() ? "<" : "\r\n <") + *parent + ">";
  }
  if (!references.empty()) {
    header("References", references);
  }
  header("MIME-Version", "1.0");
  header("Content-Type", "text/plain; charset=utf-8");
  header("Content-Transfer-Encoding", "quoted-printable");

  platform_request req;
  req.url = url_;
  req.operation = "email smtp";
  req.mail_from = from_address_;
  req.mail_rcpt = {m.to};
  req.user = user_;
  req.password = password_;
  req.message_id = message_id;
  req.body = std::move(h) + "\r\n" + quoted_printable(m.text);
  return req;
}

send_result sender::interpret(int http_status, std::string_view body,
                              std::optional<std::string_view>) const {
  send_result r;
  if (http_status >= 200 && http_status < 300) {
    r.outcome = send_outcome::sent;  // no id in the answer: the sender records the Message-ID
    return r;
  }
  if (http_status == 0) {
    r.outcome = send_outcome::transient;  // the sender records the transport's error
    return r;
  }
  r.error_code = std::to_string(http_status);
  const char* what = nullptr;
  switch (http_status) {
    case 421:
      what = "the SMTP server is not available now (421); will retry";
      break;
    case 450:
      what = "the recipient's mailbox is not available now (450); will retry";
      break;
    case 451:
      what = "the SMTP server had a local error (451); will retry";
      break;
    case 452:
      what = "the SMTP server is out of storage (452); will retry";
      break;
    case 454:
      what = "the SMTP server cannot secure or authenticate the session now (454); will retry";
      break;
    case 530:
      what = "the SMTP server requires authentication (530): set smtp_user and smtp_password";
      break;
    case 534:
      what = "the SMTP server requires a stronger login mechanism or TLS (534)";
      break;
    case 535:
      what = "the SMTP server refused the login (535): check smtp_user and smtp_password";
      break;
    case 550:
      what = "the recipient's mailbox does not exist or refuses mail (550)";
      break;
    case 551:
      what = "the recipient is not local to the SMTP server (551)";
      break;
    case 552:
      what = "the message exceeds the recipient's storage or size limit (552)";
      break;
    case 553:
      what = "the SMTP server refused an address as malformed or not allowed (553)";
      break;
    case 554:
      what = "the SMTP server refused the message (554)";
      break;
    default:
      break;
  }
  if (what != nullptr) {
    r.error_title = what;
  } else if (http_status >= 500 && http_status < 600) {
    r.error_title = "the SMTP server refused the message (" + r.error_code + ")";
  } else if (http_status >= 400 && http_status < 500) {
    r.error_title = "the SMTP server asked to try later (" + r.error_code + ")";
  } else {
    r.error_title = "unexpected SMTP reply (" + r.error_code + ")";
  }
  // The enhanced status code (RFC 3463), e.g. "550 5.1.1 ...": precise, and names nobody.
  if (body.size() > 4 && body.substr(0, 3) == r.error_code.substr(0, 3)) {
    auto rest = body.substr(4);
    const auto end = rest.find(' ');
    auto code = rest.substr(0, end);
    const bool enhanced = code.size() >= 5 && code.size() <= 9 &&
                          (code[0] >= '2' && code[0] <= '5') && code[1] == '.' &&
                          code.find_first_not_of("0123456789.") == std::string_view::npos;
    if (enhanced) {
      r.error_title += " [" + std::string(code) + "]";
    }
  }
  r.outcome =
      http_status >= 500 && http_status < 600 ? send_outcome::permanent : send_outcome::transient;
  return r;
}

}  // namespace sb::adapters::email

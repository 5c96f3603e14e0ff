#include "adapters/email/form.hpp"

#include <optional>
#include <utility>

#include "core/crypto.hpp"

namespace sb::adapters::email::form {

namespace {

constexpr std::string_view k_crlf = "\r\n";

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

/// Parameter `name` of a header value; nullopt when absent (a present but empty one is "").
/// One pass over the value: quoted strings may hold ';' and '\'-escapes.
std::optional<std::string> find_param(std::string_view v, std::string_view name) {
  std::size_t i = v.find(';');
  while (i != std::string_view::npos && i < v.size()) {
    ++i;  // past ';'
    while (i < v.size() && is_space(v[i])) {
      ++i;
    }
    const std::size_t key_start = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') {
      ++i;
    }
    const auto key = trim(v.substr(key_start, i - key_start));
    std::string value;
    if (i < v.size() && v[i] == '=') {
      ++i;
      while (i < v.size() && is_space(v[i])) {
        ++i;
      }
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size()) {
            ++i;
          }
          value += v[i];
          ++i;
        }
        if (i < v.size()) {
          ++i;  // the closing quote
        }
        i = v.find(';', i);
      } else {
        const std::size_t value_start = i;
        i = v.find(';', i);
        value = std::string(
            trim(v.substr(value_start, i == std::string_view::npos ? v.npos : i - value_start)));
      }
    } else if (i >= v.size()) {
      i = std::string_view::npos;
    }
    if (iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

/// RFC 5987 `filename*=UTF-8''na%C3%AFve.pdf`: the percent-decoded value after the language.
std::string ext_value(std::string_view v) {
  const auto quote = v.find("''");
  return quote == std::string_view::npos ? std::string(v) : url_decode(v.substr(quote + 2));
}

error malformed(std::string why) {
  return {errc::malformed_body, std::move(why)};
}

result<std::vector<field>> parse_urlencoded(std::string_view body, const limits& lim) {
  std::vector<field> out;
  std::size_t i = 0;
  while (i <= body.size()) {
    auto amp = body.find('&', i);
    if (amp == std::string_view::npos) {
      amp = body.size();
    }
    const auto pair = body.substr(i, amp - i);
    i = amp + 1;
    if (trim(pair).empty()) {
      continue;
    }
    if (out.size() >= lim.max_fields) {
      return malformed("the form has more than " + std::to_string(lim.max_fields) + " fields");
    }
    field f;
    f.urlencoded = true;
    f.span = pair;
    const auto eq = pair.find('=');
    f.name = url_decode(pair.substr(0, eq));
    f.data = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    out.push_back(std::move(f));
  }
  return out;
}

/// The name of part `n` (1-based) for messages.
std::string part_name(std::size_t n, const std::string& name) {
  std::string s = "part " + std::to_string(n);
  if (!name.empty()) {
    s += " (\"" + name.substr(0, 64) + "\")";
  }
  return s;
}

result<std::vector<field>> parse_multipart(std::string_view body, const std::string& boundary,
                                           const limits& lim) {
  const std::string delim = "--" + boundary;
  const std::string next_delim = std::string(k_crlf) + delim;
  std::size_t pos = 0;
  if (body.substr(0, delim.size()) != delim) {
    pos = body.find(next_delim);
    if (pos == std::string_view::npos) {
      return malformed("the multipart body has no delimiter line of its boundary");
    }
    pos += k_crlf.size();  // past the preamble's CRLF
  }
  std::vector<field> out;
  for (;;) {
    const std::size_t part_start = pos;
    std::size_t p = pos + delim.size();
    if (body.substr(p, 2) == "--") {
      return out;  // the close delimiter; what follows is the epilogue
    }
    const auto n = out.size() + 1;
    if (out.size() >= lim.max_fields) {
      return malformed("the form has more than " + std::to_string(lim.max_fields) + " fields");
    }
    while (p < body.size() && is_space(body[p])) {
      ++p;  // transport padding
    }
    if (p >= body.size()) {
      return malformed(
          "the multipart body is cut off: it ends after a delimiter, without the "
          "closing one");
    }
    if (body.substr(p, 2) != k_crlf) {
      return malformed("the delimiter line of " + part_name(n, "") + " does not end with CRLF");
    }
    p += 2;

    // The part's header lines, up to the empty line.
    std::vector<std::pair<std::string, std::string>> headers;
    for (;;) {
      const auto eol = body.find(k_crlf, p);
      if (eol == std::string_view::npos) {
        return malformed("the headers of " + part_name(n, "") + " are cut off");
      }
      const auto line = body.substr(p, eol - p);
      p = eol + 2;
      if (line.empty()) {
        break;
      }
      if (is_space(line.front())) {  // folded: continues the previous header
        if (headers.empty()) {
          return malformed("the headers of " + part_name(n, "") + " start with a folded line");
        }
        headers.back().second += ' ';
        headers.back().second += trim(line);
        continue;
      }
      if (headers.size() >= lim.max_part_headers) {
        return malformed(part_name(n, "") + " has more than " +
                         std::to_string(lim.max_part_headers) + " header lines");
      }
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        return malformed("a header line of " + part_name(n, "") + " has no ':'");
      }
      headers.emplace_back(lower(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
    }

    field f;
    bool form_data = false;
    for (const auto& [name, value] : headers) {
      if (name == "content-disposition") {
        const auto semi = value.find(';');
        form_data = iequals(trim(std::string_view(value).substr(0, semi)), "form-data");
        f.name = find_param(value, "name").value_or("");
        if (auto file = find_param(value, "filename")) {
          f.file = true;
          f.file_name = std::move(*file);
        } else if (auto ext = find_param(value, "filename*")) {
          f.file = true;
          f.file_name = ext_value(*ext);
        }
      } else if (name == "content-type") {
        f.content_type = value;
      }
    }
    if (!form_data || f.name.empty()) {
      return malformed(part_name(n, f.name) + " has no Content-Disposition: form-data with a name");
    }
    const auto end = body.find(next_delim, p);
    if (end == std::string_view::npos) {
      return malformed(part_name(n, f.name) + " is cut off: no delimiter follows its bytes");
    }
    f.data = body.substr(p, end - p);
    f.span = body.substr(part_start, end - part_start);
    out.push_back(std::move(f));
    pos = end + k_crlf.size();
  }
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string header_param(std::string_view value, std::string_view name) {
  return find_param(value, name).value_or("");
}

result<body_type> type_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  const auto mime = lower(trim(content_type.substr(0, semi)));
  body_type t;
  if (mime == "application/x-www-form-urlencoded") {
    return t;
  }
  if (mime != "multipart/form-data") {
    return malformed("Content-Type \"" + std::string(content_type.substr(0, 100)) +
                     "\" is not a form: Mailgun posts application/x-www-form-urlencoded or "
                     "multipart/form-data");
  }
  t.enc = encoding::multipart;
  t.boundary = header_param(content_type, "boundary");
  if (t.boundary.empty()) {
    return malformed("Content-Type multipart/form-data has no boundary parameter");
  }
  if (t.boundary.size() > 70) {
    return malformed("the multipart boundary is longer than 70 characters (RFC 2046)");
  }
  return t;
}

result<std::vector<field>> parse(std::string_view content_type, std::string_view body,
                                 const limits& lim) {
  auto t = type_of(content_type);
  if (!t) {
    return t.err();
  }
  if (t->enc == encoding::urlencoded) {
    return parse_urlencoded(body, lim);
  }
  return parse_multipart(body, t->boundary, lim);
}

const field* find(const std::vector<field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

std::string field::value() const {
  return urlencoded ? url_decode(data) : std::string(data);
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && crypto::hex_digit(s[i + 1]) >= 0 &&
               crypto::hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(crypto::hex_digit(s[i + 1]) * 16 + crypto::hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* const hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '*') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0f];
    }
  }
  return out;
}

}  // namespace sb::adapters::email::form

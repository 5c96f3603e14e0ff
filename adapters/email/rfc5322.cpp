#include "adapters/email/rfc5322.hpp"

#include <cstdint>
#include <vector>

#include "adapters/email/form.hpp"

namespace sb::adapters::email::rfc5322 {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

int to_int(std::string_view digits) {
  int n = 0;
  for (char c : digits) {
    n = n * 10 + (c - '0');
  }
  return n;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month_of(std::string_view s) {
  static const char* const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};
  const auto l = form::lower(s);
  for (int i = 0; i < 12; ++i) {
    if (l == names[i]) {
      return i + 1;
    }
  }
  return 0;
}

/// A zone as minutes east of UTC; nullopt when unknown. Obsolete names per RFC 5322 §4.3;
/// military letters and unknown names are "-0000" (no information) there, read as UTC.
std::optional<int> zone_of(std::string_view z) {
  if (z.size() == 5 && (z[0] == '+' || z[0] == '-') && all_digits(z.substr(1))) {
    const int h = to_int(z.substr(1, 2));
    const int m = to_int(z.substr(3, 2));
    if (h > 23 || m > 59) {
      return std::nullopt;
    }
    return (z[0] == '-' ? -1 : 1) * (h * 60 + m);
  }
  const auto l = form::lower(z);
  if (l == "ut" || l == "utc" || l == "gmt" || l == "z") {
    return 0;
  }
  static const struct {
    const char* name;
    int hours;
  } named[] = {{"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6},
               {"mdt", -6}, {"mst", -7}, {"pdt", -7}, {"pst", -8}};
  for (const auto& n : named) {
    if (l == n.name) {
      return n.hours * 60;
    }
  }
  if (l.size() == 1 && l[0] >= 'a' && l[0] <= 'z') {
    return 0;
  }
  return std::nullopt;
}

}  // namespace

mailbox parse_mailbox(std::string_view value) {
  mailbox m;
  value = trim(value);
  std::string_view addr;
  std::string_view name;
  const auto lt = value.rfind('<');
  if (lt != std::string_view::npos) {
    const auto gt = value.find('>', lt);
    addr = value.substr(lt + 1, gt == std::string_view::npos ? value.npos : gt - lt - 1);
    name = trim(value.substr(0, lt));
  } else if (const auto paren = value.find('('); paren != std::string_view::npos) {
    addr = value.substr(0, paren);
    const auto close = value.find(')', paren);
    name = trim(
        value.substr(paren + 1, close == std::string_view::npos ? value.npos : close - paren - 1));
  } else {
    addr = value;
  }
  addr = trim(addr);
  bool ok = !addr.empty();
  for (char c : addr) {
    ok = ok && !is_space(c) && c != '<' && c != '>' && c != ',' && c != '"';
  }
  if (ok) {
    m.address = form::lower(addr);
  }
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '\\' && i + 1 < name.size()) {
        ++i;
      }
      m.name += name[i];
    }
  } else {
    m.name = std::string(name);
  }
  return m;
}

std::string first_message_id(std::string_view value) {
  const auto lt = value.find('<');
  if (lt != std::string_view::npos) {
    const auto gt = value.find('>', lt);
    if (gt != std::string_view::npos) {
      return std::string(trim(value.substr(lt + 1, gt - lt - 1)));
    }
  }
  value = trim(value);
  std::size_t end = 0;
  while (end < value.size() && !is_space(value[end])) {
    ++end;
  }
  auto word = value.substr(0, end);
  while (!word.empty() && (word.front() == '<' || word.front() == '>')) {
    word.remove_prefix(1);
  }
  while (!word.empty() && (word.back() == '<' || word.back() == '>')) {
    word.remove_suffix(1);
  }
  return std::string(word);
}

std::optional<timestamp> parse_date(std::string_view value) {
  // Words, with comments "(...)" and commas dropped: [day-name] day month year time [zone].
  std::vector<std::string_view> words;
  int depth = 0;
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    const char c = i < value.size() ? value[i] : ' ';
    const bool separator = is_space(c) || c == ',' || c == '(' || c == ')' || depth > 0;
    if (separator && start != std::string_view::npos) {
      words.push_back(value.substr(start, i - start));
      start = std::string_view::npos;
      if (words.size() > 8) {
        return std::nullopt;
      }
    }
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (!separator && start == std::string_view::npos) {
      start = i;
    }
  }
  std::size_t w = 0;
  if (w < words.size() && !words[w].empty() && !is_digit(words[w][0])) {
    ++w;  // the day name
  }
  if (words.size() < w + 4) {
    return std::nullopt;
  }
  const auto day = words[w];
  const int month = month_of(words[w + 1]);
  const auto year_text = words[w + 2];
  const auto time = words[w + 3];
  if (!all_digits(day) || day.size() > 2 || month == 0 || !all_digits(year_text) ||
      year_text.size() < 2 || year_text.size() > 4) {
    return std::nullopt;
  }
  int year = to_int(year_text);
  if (year_text.size() == 2) {
    year += year < 50 ? 2000 : 1900;
  } else if (year_text.size() == 3) {
    year += 1900;
  }
  // hh:mm or hh:mm:ss
  if (!(time.size() == 5 || time.size() == 8) || time[2] != ':' ||
      (time.size() == 8 && time[5] != ':') || !all_digits(time.substr(0, 2)) ||
      !all_digits(time.substr(3, 2)) || (time.size() == 8 && !all_digits(time.substr(6, 2)))) {
    return std::nullopt;
  }
  const int hour = to_int(time.substr(0, 2));
  const int minute = to_int(time.substr(3, 2));
  const int second = time.size() == 8 ? to_int(time.substr(6, 2)) : 0;
  const int d = to_int(day);
  if (d < 1 || d > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) {
    return std::nullopt;
  }
  int zone = 0;
  if (words.size() > w + 4) {
    auto z = zone_of(words[w + 4]);
    if (!z) {
      return std::nullopt;
    }
    zone = *z;
  }
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - zone * 60LL;
  return timestamp::from_seconds(secs);
}

std::string line_field(std::string_view text, std::string_view name, bool header_block) {
  std::string found;
  bool in_field = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = text.size();
    }
    auto line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (in_field) {
      if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        found += ' ';
        found += trim(line);
        continue;
      }
      return found;
    }
    if (line.empty() && header_block) {
      break;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && colon == name.size() &&
        form::lower(line.substr(0, colon)) == form::lower(name)) {
      found = std::string(trim(line.substr(colon + 1)));
      in_field = true;
    }
  }
  return found;
}

}  // namespace sb::adapters::email::rfc5322

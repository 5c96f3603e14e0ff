#include "privacy/redact.hpp"

#include <algorithm>
#include <vector>

#include "core/ids.hpp"

namespace sb::privacy {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) noexcept {
  return is_digit(c) || is_alpha(c);
}
// Any byte of a multi-byte UTF-8 sequence counts as a letter for boundaries ("Tel.№123…" aside,
// a digit glued to a non-ASCII letter is part of a word).
bool is_word(char c) noexcept {
  return is_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

/// A run of digits [begin, end) inside the text.
struct group {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};

/// Replaces the spans (sorted, disjoint) with `mask`.
void replace_spans(std::string& text, const std::vector<std::pair<std::size_t, std::size_t>>& spans,
                   std::string_view mask) {
  if (spans.empty()) {
    return;
  }
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  for (const auto& [b, e] : spans) {
    out.append(text, at, b - at);
    out.append(mask);
    at = e;
  }
  out.append(text, at, std::string::npos);
  text = std::move(out);
}

bool card_shape(const std::vector<group>& g, std::size_t i, std::size_t j) {
  if (i == j) {
    return true;  // one unbroken run (its length is checked by the caller)
  }
  const std::size_t n = j - i + 1;
  if (n == 3 && g[i].size() == 4 && g[i + 1].size() == 6 &&
      (g[j].size() == 5 || g[j].size() == 4)) {
    return true;  // Amex 4-6-5, Diners 4-6-4
  }
  for (std::size_t k = i; k < j; ++k) {
    if (g[k].size() != 4) {
      return false;
    }
  }
  return n >= 4 && g[j].size() >= 1 && g[j].size() <= 4;  // 4-4-4-4, 4-4-4-4-3, 4-4-4-1
}

std::string digits_of(const std::string& text, const std::vector<group>& g, std::size_t i,
                      std::size_t j) {
  std::string d;
  for (std::size_t k = i; k <= j; ++k) {
    d.append(text, g[k].begin, g[k].size());
  }
  return d;
}

}  // namespace

bool luhn_valid(std::string_view digits) noexcept {
  if (digits.size() < 2) {
    return false;
  }
  unsigned sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (!is_digit(*it)) {
      return false;
    }
    unsigned d = static_cast<unsigned>(*it - '0');
    if (twice) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

std::size_t redact_card_numbers(std::string& text) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    // A maximal run: digit groups joined by single spaces or dashes.
    const bool phone = i > 0 && text[i - 1] == '+';
    std::vector<group> groups;
    std::size_t p = i;
    while (true) {
      group g{p, p};
      while (g.end < n && is_digit(text[g.end])) {
        ++g.end;
      }
      groups.push_back(g);
      p = g.end;
      if (p + 1 < n && (text[p] == ' ' || text[p] == '-') && is_digit(text[p + 1])) {
        ++p;
        continue;
      }
      break;
    }
    i = p;
    if (phone) {
      continue;
    }
    // The longest card-shaped, Luhn-valid span of whole groups, from each group on.
    for (std::size_t a = 0; a < groups.size();) {
      bool found = false;
      std::size_t total = 0;
      for (std::size_t b = a; b < groups.size(); ++b) {
        total += groups[b].size();
      }
      for (std::size_t b = groups.size(); b-- > a;) {
        if (total >= 13 && total <= 19 && card_shape(groups, a, b) &&
            luhn_valid(digits_of(text, groups, a, b))) {
          spans.emplace_back(groups[a].begin, groups[b].end);
          a = b + 1;
          found = true;
          break;
        }
        total -= groups[b].size();
      }
      if (!found) {
        ++a;
      }
    }
  }
  replace_spans(text, spans, k_card_mask);
  return spans.size();
}

std::size_t mask_emails(std::string& text) {
  auto local_char = [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
  };
  auto domain_char = [](char c) { return is_alnum(c) || c == '-' || c == '.'; };
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t from = 0;
  const std::size_t n = text.size();
  while (true) {
    const std::size_t at = text.find('@', from);
    if (at == std::string::npos) {
      break;
    }
    from = at + 1;
    std::size_t b = at;
    while (b > 0 && local_char(text[b - 1])) {
      --b;
    }
    while (b < at && text[b] == '.') {  // "…end of sentence.john@x.com"
      ++b;
    }
    std::size_t e = at + 1;
    while (e < n && domain_char(text[e])) {
      ++e;
    }
    while (e > at + 1 && (text[e - 1] == '.' || text[e - 1] == '-')) {  // sentence end
      --e;
    }
    if (b == at || e == at + 1 || (!spans.empty() && b < spans.back().second)) {
      continue;
    }
    // The domain: at least two labels, none empty, a top-level label of 2+ letters.
    std::string_view domain(text.data() + at + 1, e - at - 1);
    const auto dot = domain.rfind('.');
    if (dot == std::string_view::npos || domain.find("..") != std::string_view::npos ||
        domain.front() == '.' || domain.front() == '-') {
      continue;
    }
    auto tld = domain.substr(dot + 1);
    if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), is_alpha)) {
      continue;
    }
    spans.emplace_back(b, e);
    from = e;
  }
  replace_spans(text, spans, k_email_mask);
  return spans.size();
}

std::size_t mask_phone_numbers(std::string& text) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = text[i];
    const bool starts = c == '+' || c == '(' || is_digit(c);
    const bool glued = i > 0 && (is_word(text[i - 1]) || text[i - 1] == '#' || text[i - 1] == '+' ||
                                 text[i - 1] == '.' || text[i - 1] == '/' || text[i - 1] == '@');
    if (!starts || glued) {
      ++i;
      continue;
    }
    std::size_t p = i;
    const bool plus = text[p] == '+';
    if (plus) {
      ++p;
    }
    std::size_t digits = 0;
    bool parens = false;
    bool ok = true;
    while (p < n) {
      if (text[p] == '(' && !parens) {
        std::size_t q = p + 1;
        while (q < n && is_digit(text[q])) {
          ++q;
        }
        if (q == p + 1 || q - p - 1 > 5 || q >= n || text[q] != ')') {
          ok = digits > 0;  // "(" not closing a short digit group: end here
          break;
        }
        digits += q - p - 1;
        parens = true;
        p = q + 1;
        if (p < n && text[p] == ' ' && p + 1 < n && (is_digit(text[p + 1]))) {
          ++p;
        }
        continue;
      }
      if (!is_digit(text[p])) {
        ok = digits > 0;
        break;
      }
      while (p < n && is_digit(text[p])) {
        ++p;
        ++digits;
      }
      if (p + 1 < n && (text[p] == ' ' || text[p] == '-' || text[p] == '.') &&
          (is_digit(text[p + 1]) || (text[p + 1] == '(' && !parens))) {
        ++p;
        continue;
      }
      break;
    }
    std::size_t end = p;
    // Glued to a word on the right: part of something else ("123456789abc").
    const bool glued_right = end < n && (is_word(text[end]) || text[end] == '@');
    const std::size_t min_digits = plus ? 7 : 9;
    if (ok && !glued_right && digits >= min_digits && digits <= 15) {
      spans.emplace_back(i, end);
      i = end;
    } else {
      // Skip the whole token so that its tail is not taken as a number of its own.
      i = std::max(end, i + 1);
      while (i < n && is_digit(text[i])) {
        ++i;
      }
    }
  }
  replace_spans(text, spans, k_phone_mask);
  return spans.size();
}

std::string pseudonymous_peer(std::string_view tenant_key, std::string_view channel_type,
                              std::string_view account, std::string_view peer) {
  std::string type = "peer:";
  type.append(channel_type);
  auto id = ids::subject_id(tenant_key, type, account, peer);  // "sub_" + 16
  return "anon_" + id.substr(4);
}

namespace {

void note(event& e, const char* what) {
  if (std::find(e.redactions.begin(), e.redactions.end(), what) == e.redactions.end()) {
    e.redactions.emplace_back(what);
  }
}

void mask_contacts(event& e, std::string& s) {
  if (s.empty()) {
    return;
  }
  // E-mails first: an address may hold digits that would otherwise read as a phone number.
  if (mask_emails(s) > 0) {
    note(e, redaction::email_address);
  }
  if (mask_phone_numbers(s) > 0) {
    note(e, redaction::phone_number);
  }
}

}  // namespace

void redact_event(event& e, const config::privacy_config& p, std::string_view tenant_key) {
  if (p.redact_card_numbers) {
    std::size_t n = redact_card_numbers(e.content.text) + redact_card_numbers(e.content.subject);
    for (auto& a : e.content.attachments) {
      n += redact_card_numbers(a.caption);
    }
    if (n > 0) {
      note(e, redaction::card_number);
    }
  }
  if (!p.pseudonymize) {
    return;
  }
  e.sender.reset();
  mask_contacts(e, e.content.text);
  mask_contacts(e, e.content.subject);
  for (auto& a : e.content.attachments) {
    mask_contacts(e, a.caption);
    mask_contacts(e, a.address);
    if (a.kind == "contact") {
      a.name.clear();
      if (!a.phone.empty()) {
        a.phone = std::string(k_phone_mask);
        note(e, redaction::phone_number);
      }
    } else {
      mask_contacts(e, a.name);
    }
  }
  if (e.status) {
    e.status->recipient.clear();
  }
  if (!e.peer.empty() && !e.conversation.empty()) {
    e.conversation = conversation_key::format(
        e.channel.name, pseudonymous_peer(tenant_key, e.channel.type, e.channel.account, e.peer));
  }
}

}  // namespace sb::privacy

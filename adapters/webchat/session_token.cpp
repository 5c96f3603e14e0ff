#include "adapters/webchat/session_token.hpp"

#include <charconv>
#include <cstdint>

#include "core/crypto.hpp"

namespace sb::adapters::webchat {

namespace {

constexpr std::string_view k_prefix = "wct1.";
constexpr std::size_t k_visitor_size = 4 + 26;

std::string base64url(std::string_view bytes) {
  std::string s = crypto::base64_encode(bytes);
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  for (auto& c : s) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return s;
}

std::string mac_of(std::string_view key, std::string_view payload) {
  std::string input;
  input.reserve(5 + payload.size());
  input.append("wct1\n").append(payload);
  const auto d = crypto::hmac_sha256(key, input);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

error refused(std::string why) {
  return error{errc::unauthorized, std::move(why)};
}

}  // namespace

bool is_visitor_id(std::string_view v) noexcept {
  if (v.size() != k_visitor_size || v.substr(0, 4) != "vis_") {
    return false;
  }
  for (char c : v.substr(4)) {
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
    if (!digit && !upper) {
      return false;
    }
  }
  return true;
}

std::string mint_token(std::string_view key, std::string_view visitor, timestamp expires) {
  std::string payload(visitor);
  payload.append(".").append(std::to_string(expires.unix_ms / 1000));
  std::string token(k_prefix);
  token.append(base64url(payload)).append(".").append(base64url(mac_of(key, payload)));
  return token;
}

result<visitor_session> check_token(std::string_view key, std::string_view token,
                                    timestamp now) {
  // Bounded before any decoding: a token is about 100 characters.
  if (token.size() > 256 || token.substr(0, k_prefix.size()) != k_prefix) {
    return refused("not a session token of this channel; start a session first");
  }
  token.remove_prefix(k_prefix.size());
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) {
    return refused("not a session token of this channel; start a session first");
  }
  auto payload = crypto::base64url_decode(token.substr(0, dot));
  auto mac = crypto::base64url_decode(token.substr(dot + 1));
  if (!payload || !mac) {
    return refused("not a session token of this channel; start a session first");
  }
  if (!crypto::constant_time_equal(*mac, mac_of(key, *payload))) {
    return refused("the session token is not valid for this channel");
  }
  // Signed by this channel: the payload is one we wrote.
  const auto sep = payload->rfind('.');
  std::int64_t expires_s = 0;
  if (sep == std::string::npos) {
    return refused("the session token is not valid for this channel");
  }
  const char* first = payload->data() + sep + 1;
  const char* last = payload->data() + payload->size();
  auto [end, ec] = std::from_chars(first, last, expires_s);
  if (ec != std::errc{} || end != last || !is_visitor_id(std::string_view(*payload).substr(0, sep))) {
    return refused("the session token is not valid for this channel");
  }
  visitor_session s;
  s.visitor = payload->substr(0, sep);
  s.expires = timestamp::from_seconds(expires_s);
  if (now.unix_ms != 0 && now.unix_ms >= s.expires.unix_ms) {
    return refused("the session expired; start a new one");
  }
  return s;
}

}  // namespace sb::adapters::webchat

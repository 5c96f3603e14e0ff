#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"

/// E-mail sends through SMTP (libcurl's smtp:// and smtps://, docs/outbound.md "E-mail"): each
/// message is one RFC 5322 text/plain message, threaded as a reply (In-Reply-To, References) and
/// submitted to the channel's `smtp_url` from its `from` address. Reached through
/// `email::info()`.
namespace sb::adapters::email {

/// The channel's SMTP settings (`smtp_url`, `smtp_user`, `smtp_password`, `from`) and the
/// outbound keys every sending type declares (`add_outbound_settings` with `default_limits`),
/// added to `schema`; its `check` then also reports a bad `smtp_url` scheme, a missing or
/// malformed `from` while `smtp_url` is set, and a password without a user.
void add_smtp_settings(config::channel_schema& schema);

/// A channel's sending side; nullptr while the channel has no `smtp_url` (receive only).
std::shared_ptr<const outbound_channel> make_sender(const config::channel_config& cfg);

/// An e-mail channel's sending side: its SMTP server, login and From address, read once.
///
/// The message (`encode`): From = the channel's `from`; To = `to` (one bare address); Subject =
/// "Re: " + `subject` unless it already starts with "Re:" (any case), "Re: your message" when
/// `subject` is empty, RFC 2047-encoded when not plain ASCII; Date from `created_at`;
/// Message-ID `<{id}@{from's domain}>` (the same message always gets the same one, so a retry
/// does not make a second message); In-Reply-To `<reply_to>`; References `<thread> <reply_to>`;
/// text/plain UTF-8 in quoted-printable (7-bit clean through any relay, lines within 76
/// characters); CRLF line endings; not dot-stuffed (libcurl does it).
class sender final : public outbound_channel {
 public:
  explicit sender(const config::channel_config& cfg);

  /// `to` one address (no display name); text required, at most 1 MB; no media (attachments
  /// are not sent in this version); no CR or LF in `subject`, `reply_to`, `thread`, whose ids
  /// must be Message-Ids (with or without angle brackets).
  status check(const outbound_message& m) const override;
  /// The SMTP submission (`platform_request::message_id` = the Message-ID without brackets, as
  /// inbound events carry them). `errc::unavailable` when `from` is missing or malformed.
  result<platform_request> encode(const outbound_message& m) const override;
  /// `http_status` is the SMTP reply code: 2xx sent; 0 (no answer) and 4xx (421, 450, 451, 452:
  /// try later) transient; 5xx permanent, `error_code` the code; anything else transient.
  /// `body` is the server's last reply line; only its enhanced status code ("5.1.1") is kept in
  /// `error_title` (the rest may quote the recipient).
  send_result interpret(int http_status, std::string_view body,
                        std::optional<std::string_view> retry_after) const override;

  /// No conversation window on e-mail.
  static window_policy type_window();

 private:
  std::string url_;
  std::string user_;
  std::string password_;
  std::string from_header_;   // the From header's value, display name encoded as needed
  std::string from_address_;  // the bare address: MAIL FROM
  std::string from_domain_;   // the right side of Message-IDs
};

/// Conservative for shared mail servers: 5 messages/s from a channel (burst 10); 1/s to one
/// recipient (burst 3).
rate_limits default_limits();

/// `"Name <local@domain>"`, `"\"Name\" <local@domain>"` or `"local@domain"` split into the
/// display name (unquoted; "" when none) and the bare address; nullopt when `from` is not one of
/// these with a valid address (`valid_address`) or holds a control character.
struct mailbox {
  std::string name;
  std::string address;
};
std::optional<mailbox> parse_mailbox(std::string_view from);

/// A bare e-mail address as the gateway sends to: ASCII `local@domain`, at most 254 characters;
/// the local part printable characters without spaces, quotes or the specials `()<>[]\,;:@`;
/// the domain dot-separated labels of letters, digits and '-'.
bool valid_address(std::string_view s);

/// `Subject` for a reply: "Re: " + `subject` unless it starts with "Re:" (any case);
/// "Re: your message" when `subject` is empty. Not encoded.
std::string reply_subject(std::string_view subject);

}  // namespace sb::adapters::email

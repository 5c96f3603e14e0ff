#pragma once

#include "adapters/adapter.hpp"

/// E-mail received through Mailgun Routes: a route's `forward("<public_url>/webhooks/<tenant>/
/// <channel>")` posts each received message, parsed, as an HTML form (`application/x-www-form-
/// urlencoded`, or `multipart/form-data` with the attachments as file parts `attachment-1` ..
/// `attachment-N`). Sending is SMTP (adapters/email/outbound.hpp).
///
/// - Authenticity: the form fields `signature` = hex HMAC-SHA256(`inbound_signing_key`,
///   `timestamp` + `token`), found in the raw body with the form parser (adapters/email/
///   form.hpp) and compared in constant time on the decoded bytes. `timestamp` (Unix seconds)
///   must be at most 8 hours before `request::now` (Mailgun retries for 8 hours) and at most 5
///   minutes after it, else `errc::replayed_request`. No Content-Type, a body that is not a form,
///   or one of the three fields absent: `errc::missing_signature`.
/// - Replay: the signature covers `timestamp + token`, not the body, so `replay_token` gives the
///   edge the token (until timestamp + 8 h): the same token with another body is refused.
/// - Recipient: one Mailgun signing key signs every route of the account, so a message whose
///   `recipient` is not the channel's `address` (case-insensitive) is misrouted: `parse` answers
///   `errc::forbidden`.
/// - Mapping: one message → one `message` event. The sender is the From header's mailbox (the
///   form's `from`), not the envelope `sender` (which differs for lists and bounces): its
///   lower-case address is `sender.platform_id`, `peer` and `subject_source`, its display name
///   `sender.name`. `content.subject` = `subject`; `content.text` = `stripped-text` (the reply
///   without the quoted history and signature) when not empty, else `body-plain`. Attachments are
///   metadata only: kind image / video / audio by MIME type, else file; `file_name`, `mime_type`,
///   `size` and `sha256` of the bytes of each file part (urlencoded posts carry no bytes: the
///   `attachments` JSON of a stored message gives name, type, size and url).
/// - Message ids are kept bare, without angle brackets, everywhere: `platform_event_id` = the
///   Message-Id, `content.reply_to` = In-Reply-To, `content.thread` = the thread's root (the
///   first id of References, else In-Reply-To, else ""). The outbound side records the
///   Message-ID it generates the same way, so replies and bounces correlate.
/// - Dedupe: "m:<Message-Id>"; without a Message-Id, "h:" + the SHA-256 of from, subject and
///   body-plain. `occurred_at`: the Date header when it is an RFC 5322 date, else `timestamp`.
/// - Bounces: a delivery status report (From MAILER-DAEMON or postmaster, Content-Type
///   multipart/report; report-type=delivery-status, or a message/delivery-status part) becomes a
///   `status` event, state "failed", for the message it reports on: `status.message_id` = the
///   bare Message-ID of the returned message (its message/rfc822 or text/rfc822-headers part,
///   else an Original-Message-ID: or Message-ID: line of body-plain), `error_code` = the DSN
///   Status ("5.1.1"), `error_title` = the Diagnostic-Code, `recipient` = the Final-Recipient.
///   No sender and no subject. A report that names no message becomes `system`, kind
///   "delivery-status".
namespace sb::adapters::email {

/// The email platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::email

#pragma once

#include "adapters/adapter.hpp"

/// Slack Events API webhooks (one envelope per POST: `event_callback`, `url_verification` or
/// `app_rate_limited`).
///
/// - Authenticity: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, "v0:" +
///   X-Slack-Request-Timestamp + ":" + raw body)>`, the 32 decoded bytes compared in constant
///   time; then the timestamp (Unix seconds) must be within 300 s of `request::now`, either way,
///   else `errc::replayed_request`: a correctly signed request may be replayed only that long, and
///   the store dedupes it meanwhile.
/// - Workspace: one app's signing secret signs the events of every workspace it is installed in,
///   so a verified envelope whose `team_id` is not the channel's `team_id` (and whose
///   `authorizations` do not name it either: a Slack Connect channel's event seen by this
///   workspace's installation) is refused by `parse` with `errc::forbidden`.
/// - Setup: the signed `url_verification` (sent when the Request URL is saved) is answered by
///   `setup_request` with its `challenge` as text/plain; it stores nothing, and `parse` yields no
///   event for it.
/// - Dedupe: `event_id` ("Ev…", also `platform_event_id`); Slack's retries (`X-Slack-Retry-Num`)
///   carry the same one.
/// - Mapping: `message` events without subtype or with subtype thread_broadcast, file_share,
///   bot_message → `message` (conversation "<channel>:<Slack channel id>", sender `user` or
///   `bot_id`, `content.thread` = `thread_ts` when it is not the message's own `ts`, `files` as
///   attachments, `content.echo` when the message is this app's own); message_changed →
///   `message.edited`; other subtypes → `system` with kind "message.<subtype>"; reaction_added /
///   reaction_removed → `reaction` (emoji empty when removed); any other event type, and the
///   `app_rate_limited` envelope, → `system` with kind = Slack's type.
namespace sb::adapters::slack {

/// The slack platform: its config schema, the headers it reads, and its factory.
adapter_info info();

/// How far `X-Slack-Request-Timestamp` may be from `request::now`, either way (Slack's
/// recommendation: five minutes).
inline constexpr std::int64_t k_max_clock_skew_s = 300;

}  // namespace sb::adapters::slack

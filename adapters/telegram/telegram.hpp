#pragma once

#include "adapters/adapter.hpp"

/// Telegram Bot API webhooks (one `Update` object per POST).
///
/// - Authenticity: `X-Telegram-Bot-Api-Secret-Token` equals the channel's `secret_token` (the
///   value given to `setWebhook`), compared in constant time.
/// - Dedupe: `update_id` (`dedupe_key` "u:<update_id>", `platform_event_id` "<update_id>").
/// - Mapping: message / channel_post / business_message → `message`; their edited_* twins →
///   `message.edited`; callback_query → `postback`; message_reaction → `reaction`;
///   my_chat_member → `system` (kind "my_chat_member", text = the bot's new status); any other
///   update kind, and messages with no content the schema can carry (service messages, polls,
///   dice …), → `system` with `kind` = Telegram's field name.
/// - Ids are read as 64-bit integers and rendered exactly: Switchboard does not rely on Telegram
///   ids fitting 52 bits.
namespace sb::adapters::telegram {

/// The telegram platform: its config schema, the headers it reads, and its factory.
adapter_info info();

}  // namespace sb::adapters::telegram

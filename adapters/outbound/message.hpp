#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

/// The outbound message (POST /v1/messages, docs/outbound.md): the owned model the gateway
/// accepts, stores in its outbox (adapters/outbound/record.hpp) and hands to a platform's encoder
/// (`outbound_channel::encode`, adapters/outbound.hpp). Platform-neutral: which platform takes
/// which member is the platforms' business (`adapter_info::features`, `outbound_channel::check`).
namespace sb::adapters {

/// What a media message carries. Some platforms send `video`, `audio`, `sticker` with their own
/// methods; others have no sticker by URL (their `check` says so).
enum class media_kind { image, video, audio, document, sticker };

/// "image", "video", "audio", "document", "sticker".
const char* to_string(media_kind k) noexcept;

/// The kind `to_string` names; nullopt for any other text.
std::optional<media_kind> media_kind_from(std::string_view s);

/// A media attachment, by public URL or by an id the platform gave for an upload (a media id, a
/// file_id, an attachment_id). Exactly one of `url` and `media_id`.
struct outbound_media {
  media_kind kind = media_kind::image;
  std::string url;
  std::string media_id;
  std::string caption;   ///< "" = none; platforms without captions refuse one
  std::string filename;  ///< documents; "" = none
};

/// A message template (on platforms with `outbound_features::templates`, the only way to open
/// a conversation outside the window). `components` is the platform's `components` array as raw
/// JSON text, passed verbatim; "" = the template has no parameters.
struct outbound_template {
  std::string name;
  std::string language;  ///< e.g. "en_US": the template's `language.code`
  std::string components;
};

/// One inline keyboard button (`outbound_features::keyboard`): `text` plus exactly one of
/// `callback_data` (1-64 bytes, comes back as a `postback` event) and `url`.
struct keyboard_button {
  std::string text;
  std::string callback_data;
  std::string url;
};

/// One quick reply (`outbound_features::quick_replies`). `content_type` is "text" (then `title`
/// is required, `payload` comes back as a `postback` event), "user_phone_number" or
/// "user_email".
struct quick_reply {
  std::string content_type = "text";
  std::string title;
  std::string payload;
};

/// One outbound message, as accepted, stored in the outbox and handed to the encoder.
struct outbound_message {
  std::string id;            ///< "out_" + ULID; set by the gateway when it accepts the message
  std::string tenant;        ///< set by the gateway
  std::string channel;       ///< the channel's name in the config
  std::string channel_type;  ///< set by the gateway from the channel's config
  /// The platform's recipient, in the platform's form (`outbound_channel::check` says which):
  /// a phone number's digits, an integer chat id (may exceed 2^53) or @username, a page-scoped id.
  std::string to;
  std::string conversation;         ///< "<channel>:<to>", as events name it
  std::string purpose = "support";  ///< "support" or "marketing" (docs/DESIGN.md §7)
  std::string text;                 ///< "" = none (a media-only, template or keyboard-less message)
  std::optional<outbound_media> media;
  std::optional<outbound_template> template_message;   ///< `outbound_features::templates`
  std::vector<std::vector<keyboard_button>> keyboard;  ///< `outbound_features::keyboard` rows
  std::vector<quick_reply> quick_replies;              ///< `outbound_features::quick_replies`
  /// `messaging_type` (`outbound_features::quick_replies` platforms): RESPONSE, UPDATE or
  /// MESSAGE_TAG. Empty on other platforms; such a channel's `apply_defaults` sets RESPONSE.
  std::string messaging_type;
  std::string tag;              ///< with MESSAGE_TAG, e.g. "HUMAN_AGENT"
  std::string reply_to;         ///< platform message id this replies to; "" = none
  /// The thread to post into (`outbound_features::threads`): Slack's `thread_ts`, the root
  /// Message-Id of an e-mail thread (the event's `content.thread`); "" = none.
  std::string thread;
  std::string subject;  ///< e-mail Subject (`outbound_features::subject`); "" = none
  std::string idempotency_key;  ///< the caller's Idempotency-Key header; "" = none
  timestamp created_at;         ///< set by the gateway when it accepts the message
};

}  // namespace sb::adapters

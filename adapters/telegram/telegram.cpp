#include "adapters/telegram/telegram.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"
#include "adapters/telegram/outbound.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::adapters::telegram {

namespace {

namespace dom = simdjson::dom;

constexpr const char* k_secret_header = "x-telegram-bot-api-secret-token";

timestamp seconds(std::optional<std::int64_t> s) {
  // Telegram uses date 0 for messages it no longer has (InaccessibleMessage): no time. Nor is
  // there one past the year 5138 (1e11 s, the bound `parse_unix_auto` uses too), where the
  // milliseconds would soon overflow (fuzz/regressions/adapter-telegram/).
  return s && *s > 0 && *s < 100000000000LL ? timestamp::from_seconds(*s) : timestamp{};
}

/// Builds one event from one Update.
class update_reader {
 public:
  update_reader(const channel_ref& channel, event& e) : channel_(channel), e_(e) {}

  shape_reader& reader() { return r_; }

  /// A Telegram `User` as the sender; it is a person, so it is also the subject.
  void person(dom::object user) {
    sender_info s;
    s.platform_id = r_.id(user, "id");
    r_.require(!s.platform_id.empty(), "User.id");
    s.name = join_name(r_.string(user, "first_name"), r_.string(user, "last_name"));
    s.username = r_.string(user, "username");
    e_.subject_source = s.platform_id;
    e_.sender = std::move(s);
  }

  /// A `Chat` speaking for itself (channel posts, anonymous admins): a sender, not a person.
  void chat_as_sender(dom::object chat) {
    sender_info s;
    s.platform_id = r_.id(chat, "id");
    r_.require(!s.platform_id.empty(), "Chat.id");
    s.name = r_.string(chat, "title");
    if (s.name.empty()) {
      s.name = join_name(r_.string(chat, "first_name"), r_.string(chat, "last_name"));
    }
    s.username = r_.string(chat, "username");
    e_.sender = std::move(s);
  }

  void peer(std::string id) {
    e_.peer = std::move(id);
    e_.conversation = conversation_key::format(channel_.name, e_.peer);
  }

  /// The `chat` member of `parent` as the conversation; required.
  void chat_of(dom::object parent) {
    auto chat = r_.object(parent, "chat");
    r_.require(chat.has_value(), "chat");
    if (chat) {
      auto id = r_.id(*chat, "id");
      r_.require(!id.empty(), "chat.id");
      peer(std::move(id));
    }
  }

  /// message, channel_post, business_message and their edited_* twins.
  void message(dom::object m, bool edited) {
    chat_of(m);
    // On behalf of a chat (channel posts, anonymous group admins) `from` is absent or a
    // placeholder user shared by all such messages: the chat is the sender, and no person is.
    if (auto sender_chat = r_.object(m, "sender_chat")) {
      chat_as_sender(*sender_chat);
    } else if (auto from = r_.object(m, "from")) {
      person(*from);
    }
    const auto date = r_.int64(m, "date");
    const auto edit_date = r_.int64(m, "edit_date");
    e_.occurred_at = seconds(edited && edit_date ? edit_date : date);
    content(m, e_.content);
    if (auto reply = r_.object(m, "reply_to_message")) {
      e_.content.reply_to = r_.id(*reply, "message_id");
    }
    if (e_.content.text.empty() && e_.content.attachments.empty()) {
      e_.type = event_type::system;
      e_.kind = service_kind(m);
    } else {
      e_.type = edited ? event_type::message_edited : event_type::message;
    }
  }

  void callback_query(dom::object q) {
    e_.type = event_type::postback;
    r_.require(!r_.string(q, "id").empty(), "callback_query.id");
    auto from = r_.object(q, "from");
    r_.require(from.has_value(), "callback_query.from");
    if (from) {
      person(*from);
    }
    e_.content.payload = r_.string(q, "data");
    if (e_.content.payload.empty()) {
      e_.content.payload = r_.string(q, "game_short_name");
    }
    if (auto m = r_.object(q, "message")) {
      chat_of(*m);
      e_.content.text = r_.string(*m, "text");
      if (e_.content.text.empty()) {
        e_.content.text = r_.string(*m, "caption");
      }
    } else if (e_.sender) {
      // A button under an inline-mode message: no chat is given; a user's private chat with the
      // bot has the user's id.
      peer(e_.sender->platform_id);
    }
    // A callback query carries no time of its own (the message's date is the message's).
  }

  void message_reaction(dom::object r) {
    e_.type = event_type::reaction;
    chat_of(r);
    if (auto user = r_.object(r, "user")) {
      person(*user);
    } else if (auto actor = r_.object(r, "actor_chat")) {
      chat_as_sender(*actor);
    }
    e_.occurred_at = seconds(r_.int64(r, "date"));
    reaction_info info;
    info.message_id = r_.id(r, "message_id");
    r_.require(!info.message_id.empty(), "message_reaction.message_id");
    auto next = r_.array(r, "new_reaction");
    r_.require(next.has_value(), "message_reaction.new_reaction");
    if (next) {
      for (auto el : *next) {
        dom::object type;
        if (el.get_object().get(type) != simdjson::SUCCESS) {
          r_.wrong_type("new_reaction", "an array of ReactionType objects");
          break;
        }
        info.emoji = reaction_text(type);
        break;  // the first reaction is the one reported
      }
    }
    e_.content.reaction = std::move(info);
  }

  void my_chat_member(dom::object u) {
    e_.type = event_type::system;
    e_.kind = "my_chat_member";
    chat_of(u);
    auto from = r_.object(u, "from");
    r_.require(from.has_value(), "my_chat_member.from");
    if (from) {
      person(*from);
    }
    e_.occurred_at = seconds(r_.int64(u, "date"));
    auto member = r_.object(u, "new_chat_member");
    r_.require(member.has_value(), "my_chat_member.new_chat_member");
    if (member) {
      e_.content.text = r_.string(*member, "status");
      r_.require(!e_.content.text.empty(), "new_chat_member.status");
    }
  }

  /// An update kind this adapter does not model: kept as `system`, with chat, person and time
  /// when its usual members are there and well-formed (the shape of a kind we do not know cannot
  /// be wrong, so nothing here makes the body malformed).
  void other(std::string_view kind, dom::element value) {
    e_.type = event_type::system;
    e_.kind = std::string(kind);
    dom::object o;
    if (value.get_object().get(o) != simdjson::SUCCESS) {
      return;
    }
    event scratch;
    update_reader lenient(channel_, scratch);
    if (auto chat = lenient.r_.object(o, "chat")) {
      if (auto id = lenient.r_.id(*chat, "id"); !id.empty()) {
        lenient.peer(std::move(id));
      }
    }
    auto user = lenient.r_.object(o, "from");
    if (!user) {
      user = lenient.r_.object(o, "user");
    }
    if (user) {
      lenient.person(*user);
    }
    scratch.occurred_at = seconds(lenient.r_.int64(o, "date"));
    if (lenient.r_.ok()) {
      e_.peer = std::move(scratch.peer);
      e_.conversation = std::move(scratch.conversation);
      e_.sender = std::move(scratch.sender);
      e_.subject_source = std::move(scratch.subject_source);
      e_.occurred_at = scratch.occurred_at;
    }
  }

 private:
  void content(dom::object m, content_info& c) {
    c.text = r_.string(m, "text");
    if (c.text.empty()) {
      c.text = r_.string(m, "caption");
    }
    if (auto sizes = r_.array(m, "photo")) {
      largest_photo(*sizes, c);
    }
    // A GIF arrives as both `animation` and `document` (backward compatibility): report it once.
    if (auto a = r_.object(m, "animation")) {
      c.attachments.push_back(file(*a, "video"));
    } else if (auto d = r_.object(m, "document")) {
      c.attachments.push_back(file(*d, "file"));
    }
    if (auto v = r_.object(m, "video")) {
      c.attachments.push_back(file(*v, "video"));
    }
    if (auto v = r_.object(m, "video_note")) {
      c.attachments.push_back(file(*v, "video"));
    }
    if (auto a = r_.object(m, "audio")) {
      c.attachments.push_back(file(*a, "audio"));
    }
    if (auto v = r_.object(m, "voice")) {
      c.attachments.push_back(file(*v, "voice"));
    }
    if (auto s = r_.object(m, "sticker")) {
      c.attachments.push_back(file(*s, "sticker"));
    }
    // A venue comes with its `location` repeated (backward compatibility): report it once.
    if (auto venue = r_.object(m, "venue")) {
      attachment a;
      a.kind = "location";
      if (auto loc = r_.object(*venue, "location")) {
        coordinates(*loc, a);
      }
      r_.require(a.latitude.has_value(), "venue.location");
      a.name = r_.string(*venue, "title");
      a.address = r_.string(*venue, "address");
      c.attachments.push_back(std::move(a));
    } else if (auto loc = r_.object(m, "location")) {
      attachment a;
      a.kind = "location";
      coordinates(*loc, a);
      c.attachments.push_back(std::move(a));
    }
    if (auto contact = r_.object(m, "contact")) {
      attachment a;
      a.kind = "contact";
      a.name = join_name(r_.string(*contact, "first_name"), r_.string(*contact, "last_name"));
      a.phone = r_.string(*contact, "phone_number");
      c.attachments.push_back(std::move(a));
    }
  }

  attachment file(dom::object f, const char* kind) {
    attachment a;
    a.kind = kind;
    a.media_id = r_.string(f, "file_id");
    r_.require(!a.media_id.empty(), std::string(kind) + ".file_id");
    a.mime_type = r_.string(f, "mime_type");
    a.file_name = r_.string(f, "file_name");
    return a;
  }

  void coordinates(dom::object loc, attachment& a) {
    a.latitude = r_.number(loc, "latitude");
    a.longitude = r_.number(loc, "longitude");
    r_.require(a.latitude && a.longitude, "location.latitude/longitude");
  }

  /// Telegram lists a photo's sizes smallest first; pick by area to not depend on it.
  void largest_photo(dom::array sizes, content_info& c) {
    std::optional<attachment> best;
    double best_area = -1;
    for (auto el : sizes) {
      dom::object size;
      if (el.get_object().get(size) != simdjson::SUCCESS) {
        r_.wrong_type("photo", "an array of PhotoSize objects");
        return;
      }
      // In doubles: two int64 sides can overflow an int64 product (undefined behaviour:
      // fuzz/regressions/adapter-telegram/); the area only ranks the sizes.
      const double area = static_cast<double>(r_.int64(size, "width").value_or(0)) *
                          static_cast<double>(r_.int64(size, "height").value_or(0));
      if (area >= best_area) {
        best_area = area;
        best = file(size, "image");
      }
    }
    if (best) {
      c.attachments.push_back(std::move(*best));
    }
  }

  std::string reaction_text(dom::object type) {
    const auto kind = r_.string(type, "type");
    if (kind == "emoji") {
      return r_.string(type, "emoji");
    }
    if (kind == "custom_emoji") {
      return "custom_emoji:" + r_.string(type, "custom_emoji_id");
    }
    return kind;  // "paid", or a type Telegram adds later
  }

  /// The name of what a content-less message carries (new_chat_members, poll, dice, …): its
  /// first member that is not part of every message's envelope.
  static std::string service_kind(dom::object m) {
    static constexpr std::string_view envelope[] = {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "sender_business_bot",
        "date",
        "business_connection_id",
        "chat",
        "forward_origin",
        "forward_from",
        "forward_from_chat",
        "forward_from_message_id",
        "forward_signature",
        "forward_sender_name",
        "forward_date",
        "is_topic_message",
        "is_automatic_forward",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "via_bot",
        "edit_date",
        "has_protected_content",
        "is_from_offline",
        "media_group_id",
        "author_signature",
        "text",
        "entities",
        "link_preview_options",
        "effect_id",
        "caption",
        "caption_entities",
        "show_caption_above_media",
        "has_media_spoiler",
        "reply_markup",
        // Legacy duplicates Telegram still sends before new_chat_members / left_chat_member.
        "new_chat_participant",
        "new_chat_member",
        "left_chat_participant",
    };
    for (auto field : m) {
      bool in_envelope = false;
      for (auto name : envelope) {
        if (field.key == name) {
          in_envelope = true;
          break;
        }
      }
      if (!in_envelope) {
        return std::string(field.key);
      }
    }
    return "unsupported";
  }

  const channel_ref& channel_;
  event& e_;
  shape_reader r_;
};

class telegram_adapter final : public adapter {
 public:
  explicit telegram_adapter(const config::channel_config& cfg)
      : secret_digest_(crypto::sha256(cfg.get("secret_token"))) {
    channel_.name = cfg.name;
    channel_.type = "telegram";
    channel_.account = bot_id(cfg);
  }

  status verify(const request& req) const override {
    const auto given = req.header_value(k_secret_header);
    if (given.empty()) {
      return {errc::missing_signature, "missing X-Telegram-Bot-Api-Secret-Token header"};
    }
    // Comparing digests keeps even the secret's length out of the timing.
    const auto digest = crypto::sha256(given);
    if (!crypto::constant_time_equal(view(digest), view(secret_digest_))) {
      return {errc::bad_signature,
              "X-Telegram-Bot-Api-Secret-Token does not match the channel's secret_token"};
    }
    return {};
  }

  status parse(const request& req, std::vector<event>& out) override {
    auto root = parse_body(parser_, req);
    if (!root) {
      return malformed(root.err().message);
    }
    dom::object update;
    if (root->get_object().get(update) != simdjson::SUCCESS) {
      return malformed("a Telegram Update must be a JSON object");
    }
    event e;
    e.channel = channel_;
    update_reader u(channel_, e);
    const auto update_id = u.reader().id(update, "update_id");
    if (!u.reader().ok() || update_id.empty()) {
      return malformed("update_id must be an integer");
    }
    e.platform_event_id = update_id;
    e.dedupe_key = "u:" + update_id;

    // An Update carries update_id and at most one other member: its kind.
    std::string_view kind;
    dom::element value;
    for (auto field : update) {
      if (field.key != "update_id") {
        kind = field.key;
        value = field.value;
        break;
      }
    }
    if (kind.empty()) {
      return malformed("the Update carries nothing besides update_id");
    }
    auto as_object = [&](dom::object& o) {
      if (value.get_object().get(o) != simdjson::SUCCESS) {
        u.reader().wrong_type(kind, "an object");
        return false;
      }
      return true;
    };
    dom::object o;
    if (kind == "message" || kind == "channel_post" || kind == "business_message") {
      if (as_object(o)) {
        u.message(o, false);
      }
    } else if (kind == "edited_message" || kind == "edited_channel_post" ||
               kind == "edited_business_message") {
      if (as_object(o)) {
        u.message(o, true);
      }
    } else if (kind == "callback_query") {
      if (as_object(o)) {
        u.callback_query(o);
      }
    } else if (kind == "message_reaction") {
      if (as_object(o)) {
        u.message_reaction(o);
      }
    } else if (kind == "my_chat_member") {
      if (as_object(o)) {
        u.my_chat_member(o);
      }
    } else {
      u.other(kind, value);
    }
    if (!u.reader().ok()) {
      return malformed(std::string(kind) + ": " + u.reader().problem());
    }
    out.push_back(std::move(e));
    return {};
  }

  /// The digits of the bot token before ':' (the bot's user id), or "".
  static std::string bot_id(const config::channel_config& cfg) {
    const auto& token = cfg.get("bot_token");
    const auto colon = token.find(':');
    if (colon == std::string::npos || colon == 0) {
      return {};
    }
    for (std::size_t i = 0; i < colon; ++i) {
      if (token[i] < '0' || token[i] > '9') {
        return {};
      }
    }
    return token.substr(0, colon);
  }

 private:
  static std::string_view view(const crypto::digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
  }

  static status malformed(std::string why) {
    return {errc::malformed_body, "Telegram webhook: " + std::move(why)};
  }

  channel_ref channel_;
  crypto::digest secret_digest_;
  dom::parser parser_;  // reused: its buffers grow to the largest body seen
};

/// The load tester's webhook: one private-chat text message.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  // update_id is an integer: the run id in the high digits keeps runs apart (< 2^53).
  const auto update_id = std::to_string(spec.run * 10000000000ULL + spec.n);
  w.platform_ids.push_back(update_id);
  const auto chat = std::to_string(500000000 + spec.person);
  w.body = R"({"update_id":)" + update_id + R"(,"message":{"message_id":)" +
           std::to_string(spec.n % 1000000000) + R"(,"from":{"id":)" + chat +
           R"(,"is_bot":false,"first_name":"Load","last_name":"Tester","language_code":"en"},)"
           R"("chat":{"id":)" +
           chat +
           R"(,"first_name":"Load","last_name":"Tester","type":"private"},"date":1733230345,)"
           R"("text":")" +
           spec.text + R"("}})";
  return w;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "telegram";
  i.display_name = "Telegram";
  i.schema.type = "telegram";
  i.schema.settings = {
      {"secret_token", true, true, "",
       "Compared with X-Telegram-Bot-Api-Secret-Token; the secret_token given to setWebhook "
       "(1-256 characters A-Z a-z 0-9 _ -)."},
      {"bot_token", false, true, "",
       "Bot API token for outbound messages; its numeric prefix is the bot id."},
      {"api_base", false, false, "https://api.telegram.org",
       "Bot API base URL; tests point it at a local fake."},
  };
  i.headers = {k_secret_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<telegram_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return telegram_adapter::bot_id(cfg); };
  i.sign = [](const config::channel_config& cfg, const signing_input&) {
    // Telegram signs nothing: it sends the secret_token given to setWebhook verbatim.
    return std::vector<header>{{k_secret_header, cfg.get("secret_token")}};
  };
  i.features.keyboard = true;
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<sender>(cfg);
  };
  add_outbound_settings(i.schema, default_limits(), true, false);
  i.synthesize = synthesize;
  return i;
}

}  // namespace sb::adapters::telegram

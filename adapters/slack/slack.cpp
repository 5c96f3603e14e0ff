#include "adapters/slack/slack.hpp"

#include <simdjson.h>

#include "adapters/json_reader.hpp"
#include "adapters/signed_time.hpp"
#include "adapters/slack/outbound.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.hpp"

namespace sb::adapters::slack {

namespace {

namespace dom = simdjson::dom;

constexpr const char* k_signature_header = "x-slack-signature";
constexpr const char* k_timestamp_header = "x-slack-request-timestamp";
constexpr std::string_view k_version = "v0";

/// Unix seconds as Slack sends them in X-Slack-Request-Timestamp: ASCII digits only, and few
/// enough of them that the milliseconds cannot overflow.
std::optional<std::int64_t> unix_seconds(std::string_view s) {
  if (s.empty() || s.size() > 12) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

/// A Slack message timestamp ("1733230345.000200": seconds, '.', microseconds) as a time with
/// milliseconds; empty when it is not one.
timestamp slack_time(std::string_view ts) {
  const auto dot = ts.find('.');
  const auto seconds = unix_seconds(ts.substr(0, dot));
  if (!seconds || *seconds == 0) {
    return {};
  }
  std::int64_t ms = 0;
  if (dot != std::string_view::npos) {
    const auto fraction = ts.substr(dot + 1);
    for (std::size_t i = 0; i < 3; ++i) {
      const char c = i < fraction.size() ? fraction[i] : '0';
      if (c < '0' || c > '9') {
        return {};
      }
      ms = ms * 10 + (c - '0');
    }
  }
  return timestamp::from_millis(*seconds * 1000 + ms);
}

/// The "v0:<timestamp>:<body>" base string Slack signs.
std::string signed_base(std::string_view stamp, std::string_view body) {
  std::string base;
  base.reserve(k_version.size() + stamp.size() + body.size() + 2);
  base.append(k_version).append(":").append(stamp).append(":").append(body);
  return base;
}

/// Attachment kind of a Slack file from its MIME type.
const char* file_kind(std::string_view mime) {
  for (const char* kind : {"image", "video", "audio"}) {
    const std::string_view k(kind);
    if (mime.size() > k.size() && mime.substr(0, k.size()) == k && mime[k.size()] == '/') {
      return kind;
    }
  }
  return "file";
}

/// Builds the one event of an `event_callback` envelope.
class event_reader {
 public:
  event_reader(const channel_ref& channel, std::string app_id, event& e)
      : channel_(channel), app_id_(std::move(app_id)), e_(e) {}

  shape_reader& reader() { return r_; }

  /// A `message` event; `subtype` is "" for a plain one.
  void message(dom::object ev, std::string_view subtype) {
    if (subtype.empty() || subtype == "thread_broadcast" || subtype == "file_share" ||
        subtype == "bot_message") {
      e_.type = event_type::message;
      conversation(ev, true);
      message_body(ev);
    } else if (subtype == "message_changed") {
      e_.type = event_type::message_edited;
      conversation(ev, true);
      auto changed = r_.object(ev, "message");
      r_.require(changed.has_value(), "event.message (the changed message)");
      if (changed) {
        message_body(*changed);
      }
    } else {
      // message_deleted, channel_join, channel_topic, message_replied …: what happened in the
      // conversation, not a message someone wrote.
      e_.type = event_type::system;
      e_.kind = "message." + std::string(subtype);
      conversation(ev, false);
      author(ev);
    }
  }

  /// reaction_added (`added`) or reaction_removed: the emoji's name without colons.
  void reaction(dom::object ev, bool added) {
    e_.type = event_type::reaction;
    const auto user = r_.string(ev, "user");
    r_.require(!user.empty(), "event.user");
    person(user, {});
    reaction_info info;
    const auto name = r_.string(ev, "reaction");
    r_.require(!name.empty(), "event.reaction");
    if (added) {
      info.emoji = name;
    }
    auto item = r_.object(ev, "item");
    r_.require(item.has_value(), "event.item");
    if (item) {
      if (const auto channel = r_.string(*item, "channel"); !channel.empty()) {
        peer(channel);
      }
      // A message's `ts` is its id; reactions to files name the file instead.
      info.message_id = r_.string(*item, "ts");
      if (info.message_id.empty()) {
        info.message_id = r_.string(*item, "file");
      }
      r_.require(!info.message_id.empty(), "event.item.ts");
    }
    e_.content.reaction = std::move(info);
  }

  /// An event type this adapter does not model: kept as `system` with its conversation and
  /// person where they are plain ids (their shape varies by type, so nothing here is malformed).
  void other(dom::object ev, std::string_view type) {
    e_.type = event_type::system;
    e_.kind = std::string(type);
    if (const auto channel = lenient::text(ev, "channel"); !channel.empty()) {
      peer(channel);
    }
    if (const auto user = lenient::text(ev, "user"); !user.empty()) {
      person(user, {});
    }
  }

 private:
  void message_body(dom::object m) {
    author(m);
    e_.content.text = r_.string(m, "text");
    const auto ts = r_.string(m, "ts");
    const auto thread = r_.string(m, "thread_ts");
    if (!thread.empty() && thread != ts) {
      e_.content.thread = thread;
    }
    if (auto files = r_.array(m, "files")) {
      for (auto el : *files) {
        auto f = r_.as_object(el, "files[]");
        if (!f) {
          break;
        }
        e_.content.attachments.push_back(file(*f));
      }
    }
    e_.content.echo = own(m);
  }

  attachment file(dom::object f) {
    attachment a;
    a.media_id = r_.string(f, "id");
    r_.require(!a.media_id.empty(), "files[].id");
    a.mime_type = r_.string(f, "mimetype");
    a.kind = file_kind(a.mime_type);
    a.url = r_.string(f, "url_private");
    a.file_name = r_.string(f, "name");
    if (auto size = r_.int64(f, "size"); size && *size >= 0) {
      a.size = static_cast<std::uint64_t>(*size);
    }
    return a;
  }

  /// Whether this app wrote the message: its `app_id` (or its bot profile's) is the envelope's
  /// `api_app_id`.
  bool own(dom::object m) {
    if (app_id_.empty()) {
      return false;
    }
    if (r_.string(m, "app_id") == app_id_) {
      return true;
    }
    auto profile = r_.object(m, "bot_profile");
    return profile && r_.string(*profile, "app_id") == app_id_;
  }

  /// The message's author: a person (`user`), else a bot (`bot_id`, named by `username`).
  void author(dom::object m) {
    const auto user = r_.string(m, "user");
    const auto bot = r_.string(m, "bot_id");
    if (!user.empty()) {
      person(user, r_.string(m, "username"));
    } else if (!bot.empty()) {
      sender_info s;
      s.platform_id = bot;
      s.name = r_.string(m, "username");
      e_.sender = std::move(s);  // a bot is not a person: no subject
    }
  }

  void person(const std::string& user, std::string name) {
    sender_info s;
    s.platform_id = user;
    s.name = std::move(name);
    e_.sender = std::move(s);
    e_.subject_source = user;
  }

  void conversation(dom::object ev, bool required) {
    const auto channel = r_.string(ev, "channel");
    if (required) {
      r_.require(!channel.empty(), "event.channel");
    }
    if (!channel.empty()) {
      peer(channel);
    }
  }

  void peer(const std::string& channel) {
    e_.peer = channel;
    e_.conversation = conversation_key::format(channel_.name, channel);
  }

  const channel_ref& channel_;
  std::string app_id_;
  event& e_;
  shape_reader r_;
};

class slack_adapter final : public adapter {
 public:
  explicit slack_adapter(const config::channel_config& cfg)
      : signing_secret_(cfg.get("signing_secret")) {
    channel_.name = cfg.name;
    channel_.type = "slack";
    channel_.account = cfg.get("team_id");
  }

  status verify(const request& req) const override {
    const auto signature = req.header_value(k_signature_header);
    const auto stamp = req.header_value(k_timestamp_header);
    if (signature.empty()) {
      return {errc::missing_signature, "missing X-Slack-Signature header"};
    }
    if (stamp.empty()) {
      return {errc::missing_signature,
              "missing X-Slack-Request-Timestamp header (Slack signs it with the body)"};
    }
    const std::string prefix = std::string(k_version) + "=";
    std::optional<std::string> given;
    if (signature.substr(0, prefix.size()) == prefix) {
      given = crypto::from_hex(signature.substr(prefix.size()));
    }
    if (!given || given->size() != 32) {
      return {errc::bad_signature, "X-Slack-Signature is not v0=<hex HMAC-SHA256>"};
    }
    const auto seconds = unix_seconds(stamp);
    if (!seconds) {
      return {errc::bad_signature, "X-Slack-Request-Timestamp is not Unix seconds"};
    }
    const auto expected = crypto::hmac_sha256(signing_secret_, signed_base(stamp, req.body));
    if (!same_digest(*given, expected)) {
      return {errc::bad_signature,
              "X-Slack-Signature does not match the body and X-Slack-Request-Timestamp signed "
              "with the channel's signing_secret"};
    }
    // Slack signs the time, not a nonce: a captured request verifies forever unless its time is
    // bounded. Within the bound a replay is a duplicate event_id, which the store drops.
    return check_signed_time(*seconds * 1000, req.now,
                             {k_max_clock_skew_s * 1000, k_max_clock_skew_s * 1000, "Slack"},
                             "X-Slack-Request-Timestamp");
  }

  std::optional<edge_reply> setup_request(const request& req, bool verified) const override {
    // Only a verified url_verification is answered: the challenge proves the endpoint knows the
    // signing secret. The byte search keeps ordinary events from being parsed twice.
    if (!verified || req.body.find("url_verification") == std::string_view::npos) {
      return std::nullopt;
    }
    dom::parser parser;  // a local one: this member is const and runs on every I/O thread
    auto root = parse_body(parser, req);
    dom::object body;
    if (!root || root->get_object().get(body) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    std::string_view type;
    std::string_view challenge;
    if (auto t = member(body, "type");
        !t || t->get_string().get(type) != simdjson::SUCCESS || type != "url_verification") {
      return std::nullopt;
    }
    if (auto c = member(body, "challenge");
        !c || c->get_string().get(challenge) != simdjson::SUCCESS || challenge.empty()) {
      return std::nullopt;  // parse calls it malformed
    }
    edge_reply reply;
    reply.content_type = "text/plain";
    reply.body = std::string(challenge);
    return reply;
  }

  status parse(const request& req, std::vector<event>& out) override {
    auto root = parse_body(parser_, req);
    if (!root) {
      return malformed(root.err().message);
    }
    dom::object body;
    if (root->get_object().get(body) != simdjson::SUCCESS) {
      return malformed("the body must be a JSON object (an Events API envelope)");
    }
    shape_reader envelope;
    const auto type = envelope.string(body, "type");
    if (!envelope.ok()) {
      return malformed(envelope.problem());
    }
    if (type == "url_verification") {
      if (envelope.string(body, "challenge").empty() || !envelope.ok()) {
        return malformed("url_verification without a \"challenge\" string");
      }
      return {};  // answered at the edge (setup_request): nothing to store
    }
    if (type != "event_callback" && type != "app_rate_limited") {
      return malformed(type.empty() ? std::string("the body has no \"type\": not an Events API "
                                                  "envelope")
                                    : "envelope type \"" + type +
                                          "\" is not event_callback, url_verification or "
                                          "app_rate_limited");
    }
    if (auto st = check_team(body); !st) {
      return st;
    }

    event e;
    e.channel = channel_;
    if (type == "app_rate_limited") {
      // Slack drops this workspace's events for the rest of the minute: the operator should know.
      e.type = event_type::system;
      e.kind = "app_rate_limited";
      const auto minute = envelope.int64(body, "minute_rate_limited");
      if (!envelope.ok() || !minute) {
        return malformed("app_rate_limited: \"minute_rate_limited\" must be Unix seconds");
      }
      e.dedupe_key = "app_rate_limited:" + std::to_string(*minute);
      e.occurred_at = timestamp::from_seconds(*minute);
      out.push_back(std::move(e));
      return {};
    }

    e.platform_event_id = envelope.string(body, "event_id");
    if (!envelope.ok() || e.platform_event_id.empty()) {
      return malformed("event_callback: \"event_id\" must be a non-empty string");
    }
    e.dedupe_key = e.platform_event_id;
    const auto event_time = envelope.int64(body, "event_time");
    const auto app_id = envelope.string(body, "api_app_id");
    auto ev = envelope.object(body, "event");
    if (!envelope.ok() || !ev) {
      return malformed(envelope.ok() ? "event_callback without an \"event\" object"
                                     : "event_callback: " + envelope.problem());
    }
    event_reader reader(channel_, app_id, e);
    auto& r = reader.reader();
    const auto event_type = r.string(*ev, "type");
    if (!r.ok() || event_type.empty()) {
      return malformed("event_callback: \"event.type\" must be a non-empty string");
    }
    if (event_time && *event_time > 0 && *event_time < 100000000000LL) {
      e.occurred_at = timestamp::from_seconds(*event_time);
    } else {
      e.occurred_at = slack_time(lenient::text(*ev, "ts"));
      if (e.occurred_at.empty()) {
        e.occurred_at = slack_time(lenient::text(*ev, "event_ts"));
      }
    }
    if (event_type == "message") {
      reader.message(*ev, r.string(*ev, "subtype"));
    } else if (event_type == "reaction_added" || event_type == "reaction_removed") {
      reader.reaction(*ev, event_type == "reaction_added");
    } else {
      reader.other(*ev, event_type);
    }
    if (!r.ok()) {
      return malformed(event_type + ": " + r.problem());
    }
    out.push_back(std::move(e));
    return {};
  }

 private:
  /// One app's signing secret signs every workspace's events: an envelope of another workspace
  /// is misrouted, not this channel's. A Slack Connect channel's event may name the workspace it
  /// happened in; its `authorizations` then name this workspace's installation.
  status check_team(dom::object body) const {
    shape_reader r;
    const auto team = r.string(body, "team_id");
    if (r.ok() && !team.empty() && team == channel_.account) {
      return {};
    }
    if (auto auths = r.array(body, "authorizations")) {
      for (auto el : *auths) {
        dom::object a;
        if (el.get_object().get(a) == simdjson::SUCCESS &&
            lenient::text(a, "team_id") == channel_.account) {
          return {};
        }
      }
    }
    return {errc::forbidden,
            "Slack event of workspace " + (team.empty() ? std::string("(none named)") : team) +
                " sent to channel " + channel_.name + ", whose team_id is " + channel_.account +
                ": the app's signing secret signs every workspace's events; configure a channel "
                "per workspace"};
  }

  static status malformed(std::string why) {
    return {errc::malformed_body, "Slack webhook: " + std::move(why)};
  }

  channel_ref channel_;
  std::string signing_secret_;
  dom::parser parser_;  // reused by parse: its buffers grow to the largest body seen
};

std::vector<header> sign(const config::channel_config& cfg, const signing_input& in) {
  const auto at = in.at.empty() ? sb::now() : in.at;
  const auto stamp = std::to_string(at.unix_ms / 1000);
  const auto mac = crypto::hmac_sha256(cfg.get("signing_secret"), signed_base(stamp, in.body));
  return {{k_signature_header, std::string(k_version) + "=" + crypto::to_hex(mac)},
          {k_timestamp_header, stamp}};
}

/// The load tester's webhook: one direct message from one person to the app.
synthetic_webhook synthesize(const synthetic_spec& spec) {
  synthetic_webhook w;
  const auto event_id = "Ev" + std::to_string(spec.run) + "L" + std::to_string(spec.n);
  w.platform_ids.push_back(event_id);
  const auto person = std::to_string(100000000 + spec.person);
  const auto user = "U" + person;
  const auto channel = "D" + person;
  const auto seconds = std::to_string(1733230345 + spec.n % 1000000);
  const auto ts = seconds + "." + std::to_string(100000 + spec.n % 900000);
  w.body = R"({"token":"ZZZZZZWSxiZZZ2yIvs3peJ","team_id":")" + spec.account +
           R"(","api_app_id":"A0LOADTEST1","event":{"user":")" + user +
           R"(","type":"message","ts":")" + ts + R"(","client_msg_id":"loadtest-)" + event_id +
           R"(","text":")" + spec.text + R"(","team":")" + spec.account + R"(","channel":")" +
           channel + R"(","event_ts":")" + ts +
           R"(","channel_type":"im"},"type":"event_callback","event_id":")" + event_id +
           R"(","event_time":)" + seconds +
           R"(,"authorizations":[{"enterprise_id":null,)"
           R"("team_id":")" +
           spec.account +
           R"(","user_id":"U0LOADBOT1","is_bot":true,"is_enterprise_install":false}],)"
           R"("is_ext_shared_channel":false,"event_context":"4-loadtest"})";
  return w;
}

}  // namespace

adapter_info info() {
  adapter_info i;
  i.type = "slack";
  i.display_name = "Slack";
  i.schema.type = "slack";
  i.schema.settings = {
      {"signing_secret", true, true, "",
       "The app's Signing Secret (Basic Information): verifies X-Slack-Signature."},
      {"bot_token", false, true, "",
       "Bot User OAuth Token (xoxb-…, scope chat:write) for outbound messages."},
      {"team_id", true, false, "",
       "The workspace id (T…) whose events this channel takes (channel.account); events of "
       "other workspaces are refused."},
      {"api_base", false, false, "https://slack.com/api",
       "Web API base URL; tests point it at a local fake."},
  };
  i.headers = {k_signature_header, k_timestamp_header};
  i.make = [](const config::channel_config& cfg) -> std::unique_ptr<adapter> {
    return std::make_unique<slack_adapter>(cfg);
  };
  i.account = [](const config::channel_config& cfg) { return cfg.get("team_id"); };
  i.sign = sign;
  i.features.threads = true;
  i.outbound = [](const config::channel_config& cfg) -> std::shared_ptr<const outbound_channel> {
    return std::make_shared<sender>(cfg);
  };
  add_outbound_settings(i.schema, default_limits(), false, false);
  i.synthesize = synthesize;
  return i;
}

}  // namespace sb::adapters::slack

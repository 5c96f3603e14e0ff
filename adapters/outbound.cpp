#include "adapters/outbound.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "adapters/adapter.hpp"

namespace sb::adapters {

namespace {

error bad(std::string message) {
  return error{errc::bad_request, std::move(message)};
}

/// A non-negative number setting, or nullopt when unset; `bad` is set when it is not one.
std::optional<double> number_setting(const config::channel_config& cfg, const std::string& key,
                                     bool& bad) {
  const auto& text = cfg.get(key);
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v) || v < 0) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

}  // namespace

const char* to_string(send_outcome o) noexcept {
  switch (o) {
    case send_outcome::sent:
      return "sent";
    case send_outcome::rate_limited:
      return "rate_limited";
    case send_outcome::transient:
      return "transient";
    case send_outcome::permanent:
      return "permanent";
  }
  return "transient";
}

std::shared_ptr<const outbound_channel> outbound_for(const config::channel_config& cfg) {
  const auto* info = find(cfg.type);
  return info != nullptr && info->outbound != nullptr ? info->outbound(cfg) : nullptr;
}

void apply_defaults(const config::channel_config& cfg, const outbound_channel* out,
                    outbound_message& m) {
  m.channel_type = cfg.type;
  if (out != nullptr) {
    out->apply_defaults(m);
  }
}

void apply_defaults(const config::channel_config& cfg, outbound_message& m) {
  const auto out = outbound_for(cfg);
  apply_defaults(cfg, out.get(), m);
}

status validate(const config::channel_config& cfg, const outbound_channel* out,
                const outbound_message& m) {
  const auto* info = out == nullptr ? nullptr : find(cfg.type);
  if (info == nullptr) {
    return bad("field 'channel': channel " + cfg.name + " (type " + cfg.type +
               ") cannot send messages");
  }
  if (m.to.empty()) {
    return bad("field 'to' is required");
  }
  // A member the channel's type does not take names the types that do (from the registry).
  auto only_for = [](std::string_view member, bool outbound_features::*feature) {
    return bad("field '" + std::string(member) + "' is only for " +
               types_where([feature](const adapter_info& a) {
                 return a.outbound != nullptr && a.features.*feature;
               }) +
               " channels");
  };
  const auto& f = info->features;
  if (m.template_message && !f.templates) {
    return only_for("template", &outbound_features::templates);
  }
  if (!m.keyboard.empty() && !f.keyboard) {
    return only_for("keyboard", &outbound_features::keyboard);
  }
  if (!m.quick_replies.empty() && !f.quick_replies) {
    return only_for("quick_replies", &outbound_features::quick_replies);
  }
  if (!f.quick_replies && (!m.messaging_type.empty() || !m.tag.empty())) {
    return only_for(m.tag.empty() ? "messaging_type" : "tag", &outbound_features::quick_replies);
  }
  if (!m.thread.empty() && !f.threads) {
    return only_for("thread", &outbound_features::threads);
  }
  if (!m.subject.empty() && !f.subject) {
    return only_for("subject", &outbound_features::subject);
  }
  return out->check(m);
}

status validate(const config::channel_config& cfg, const outbound_message& m) {
  const auto out = outbound_for(cfg);
  return validate(cfg, out.get(), m);
}

// ---------------------------------------------------------------------------------------------
// Rate limits, settings, window.

namespace {

/// The type's `defaults` overridden by the channel's rate settings; all zero when one is bad.
rate_limits read_limits(const config::channel_config& cfg, const rate_limits& defaults) {
  rate_limits l = defaults;
  bool bad_value = false;
  auto apply = [&](const char* key, double& target, double scale) {
    if (auto v = number_setting(cfg, key, bad_value)) {
      target = *v * scale;
    }
  };
  apply("rate_per_second", l.per_channel_rps, 1);
  apply("rate_burst", l.per_channel_burst, 1);
  apply("recipient_per_minute", l.per_recipient_rps, 1.0 / 60);
  apply("recipient_burst", l.per_recipient_burst, 1);
  apply("group_per_minute", l.per_group_per_minute, 1);
  if (bad_value || !check_outbound_settings(cfg)) {
    return {};
  }
  return l;
}

}  // namespace

outbound_channel::outbound_channel(const config::channel_config& cfg,
                                   const rate_limits& default_limits, window_policy window)
    : name_(cfg.name), type_(cfg.type), window_(std::move(window)) {
  if (const auto* info = find(cfg.type); info != nullptr && info->account != nullptr) {
    account_ = info->account(cfg);
  }
  settings_.limits = read_limits(cfg, default_limits);
  settings_.human_agent_tag = cfg.get("human_agent_tag") == "true";
  if (!settings_.human_agent_tag) {
    window_.human_agent_hours = 0;
  }
}

rate_limits limits_for(const config::channel_config& cfg) {
  const auto out = outbound_for(cfg);
  return out == nullptr ? rate_limits{} : out->limits();
}

std::vector<config::setting_problem> outbound_setting_problems(const config::channel_config& cfg) {
  std::vector<config::setting_problem> out;
  static const char* number_keys[] = {"rate_per_second", "rate_burst", "recipient_per_minute",
                                      "recipient_burst", "group_per_minute"};
  for (const char* key : number_keys) {
    bool bad_value = false;
    number_setting(cfg, key, bad_value);
    if (bad_value) {
      out.push_back({key, "must be a non-negative number"});
    }
  }
  auto pair = [&](const char* rate, const char* burst) {
    bool ignored = false;
    const auto r = number_setting(cfg, rate, ignored);
    const auto b = number_setting(cfg, burst, ignored);
    if (r && *r > 0 && b && *b < 1) {
      out.push_back({burst, std::string("must be at least 1 when ") + rate +
                                " is set (a bucket smaller than one message never sends)"});
    }
  };
  pair("rate_per_second", "rate_burst");
  pair("recipient_per_minute", "recipient_burst");
  const auto& tag = cfg.get("human_agent_tag");
  if (!tag.empty() && tag != "true" && tag != "false") {
    out.push_back({"human_agent_tag", "must be true or false"});
  }
  return out;
}

status check_outbound_settings(const config::channel_config& cfg) {
  auto problems = outbound_setting_problems(cfg);
  if (problems.empty()) {
    return {};
  }
  return bad(cfg.name + "." + problems.front().key + " " + problems.front().problem);
}

bool is_group_recipient(const config::channel_config& cfg, std::string_view to) {
  const auto out = outbound_for(cfg);
  return out != nullptr && out->is_group_recipient(to);
}

window_policy window_for(const config::channel_config& cfg) {
  const auto out = outbound_for(cfg);
  return out == nullptr ? window_policy{} : out->window();
}

// ---------------------------------------------------------------------------------------------
// Helpers of the adapters.

std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string api_base(const config::channel_config& cfg, std::string_view default_base) {
  std::string base = cfg.get("api_base");
  if (base.empty()) {
    base = std::string(default_base);
  }
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base;
}

std::string api_url(std::string_view base, std::string_view path) {
  while (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  return std::string(base) + "/" + std::string(path);
}

std::optional<std::int64_t> parse_retry_after(std::optional<std::string_view> header) {
  if (!header) {
    return std::nullopt;
  }
  auto v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  if (!all_digits(v) || v.size() > 9) {
    return std::nullopt;
  }
  return std::stoll(std::string(v)) * 1000;
}

send_result classify_status(int http_status, std::optional<std::string_view> retry_after,
                            std::int64_t default_wait_ms) {
  send_result r;
  if (http_status >= 200 && http_status < 300) {
    r.outcome = send_outcome::sent;
    return r;
  }
  r.error_code = http_status == 0 ? "" : std::to_string(http_status);
  r.error_title = http_status == 0 ? "no response" : "HTTP " + std::to_string(http_status);
  const auto wait = parse_retry_after(retry_after);
  if (http_status == 429) {
    r.outcome = send_outcome::rate_limited;
    r.retry_after_ms = wait && *wait > 0 ? *wait : default_wait_ms;
  } else if (http_status >= 400 && http_status < 500 && http_status != 408) {
    r.outcome = send_outcome::permanent;
  } else {
    r.outcome = send_outcome::transient;
    r.retry_after_ms = wait.value_or(0);
  }
  return r;
}

void add_outbound_settings(config::channel_schema& schema, const rate_limits& defaults,
                           bool group_key, bool human_agent_key) {
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  auto add = [&](const char* key, double v, const char* description) {
    schema.settings.push_back({key, false, false, number(v), description});
  };
  add("rate_per_second", defaults.per_channel_rps,
      "Outbound messages per second from this channel (token bucket; 0 = no limit).");
  add("rate_burst", defaults.per_channel_burst, "Bucket size of rate_per_second.");
  add("recipient_per_minute", defaults.per_recipient_rps * 60,
      "Outbound messages per minute to one recipient (0 = no limit).");
  add("recipient_burst", defaults.per_recipient_burst, "Bucket size of recipient_per_minute.");
  if (group_key) {
    add("group_per_minute", defaults.per_group_per_minute,
        "Outbound messages per minute to one group chat (0 = no limit).");
  }
  // The loader reports bad values at start-up (`switchboard --check-config` too), at the key's
  // line: a bad rate must never silently become "no limit".
  schema.check = [previous = std::move(schema.check)](const config::channel_config& cfg) {
    auto out = previous ? previous(cfg) : std::vector<config::setting_problem>{};
    auto mine = outbound_setting_problems(cfg);
    out.insert(out.end(), mine.begin(), mine.end());
    return out;
  };
  if (human_agent_key) {
    schema.settings.push_back(
        {"human_agent_tag", false, false, "false",
         "true when the app has Meta's Human Agent permission: MESSAGE_TAG HUMAN_AGENT replies "
         "are then allowed up to 7 days after the person's last message."});
  }
}

}  // namespace sb::adapters

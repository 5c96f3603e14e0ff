#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"

/// Helpers shared by the config tests.
namespace sb::test::config {

/// Web chat's keys: a derived key and a list of origins (the loader's two special kinds).
inline sb::config::channel_schema webchat_schema() {
  sb::config::setting_spec key{"session_key", true, true, "", ""};
  key.derived = true;
  sb::config::setting_spec origins{"allowed_origins", false, false, "", ""};
  origins.list = true;
  return {"webchat",
          {key,
           origins,
           {"allow_no_origin", false, false, "false", ""},
           {"title", false, false, "Chat with us", ""},
           {"consent_notice", false, false, "", ""},
           {"session_ttl_hours", false, false, "720", ""},
           {"sessions_per_ip_per_minute", false, false, "10", ""},
           {"messages_per_visitor_per_minute", false, false, "30", ""},
           {"max_message_bytes", false, false, "4096", ""}}};
}

/// The channel types as DESIGN.md §8 documents them, independent of the adapters' progress, so
/// that loader tests pin the loader's behaviour and not an adapter's choices.
inline std::vector<sb::config::channel_schema> documented_schemas() {
  using sb::config::channel_schema;
  using sb::config::setting_spec;
  auto meta = [](const std::string& type) {
    return channel_schema{type,
                          {{"app_secret", true, true, "", ""},
                           {"verify_token", true, true, "", ""},
                           {"page_id", true, false, "", ""},
                           {"access_token", false, true, "", ""},
                           {"api_base", false, false, "https://graph.facebook.com/v21.0", ""}}};
  };
  return {
      channel_schema{"whatsapp",
                     {{"app_secret", true, true, "", ""},
                      {"verify_token", true, true, "", ""},
                      {"phone_number_id", true, false, "", ""},
                      {"access_token", false, true, "", ""},
                      {"waba_id", false, false, "", ""},
                      {"api_base", false, false, "https://graph.facebook.com/v21.0", ""}}},
      channel_schema{"telegram",
                     {{"secret_token", true, true, "", ""},
                      {"bot_token", false, true, "", ""},
                      {"api_base", false, false, "https://api.telegram.org", ""}}},
      meta("messenger"),
      meta("instagram"),
      channel_schema{"shopify",
                     {{"client_secret", true, true, "", ""},
                      {"shop_domain", true, false, "", ""},
                      {"api_version", false, false, "2024-10", ""}}},
      channel_schema{"slack",
                     {{"signing_secret", true, true, "", ""},
                      {"bot_token", false, true, "", ""},
                      {"team_id", true, false, "", ""},
                      {"api_base", false, false, "https://slack.com/api", ""}}},
      channel_schema{"woocommerce",
                     {{"secret", true, true, "", ""}, {"store_url", true, false, "", ""}}},
      channel_schema{"hubspot",
                     {{"client_secret", true, true, "", ""},
                      {"app_id", true, false, "", ""},
                      {"portal_id", true, false, "", ""},
                      {"public_url", true, false, "", ""}}},
      channel_schema{"email",
                     {{"address", true, false, "", ""},
                      {"inbound_signing_key", true, true, "", ""},
                      {"smtp_url", false, false, "", ""},
                      {"smtp_user", false, false, "", ""},
                      {"smtp_password", false, true, "", ""},
                      {"from", false, false, "", ""}}},
      webchat_schema(),
  };
}

/// Loads `yaml` as "test.yaml" with the documented schemas.
inline sb::config::load_result load(const std::string& yaml) {
  return sb::config::load_string(yaml, "test.yaml", documented_schemas());
}

/// The problems `yaml` yields (empty when it loads).
inline std::vector<std::string> problems(const std::string& yaml) {
  return load(yaml).errors.problems;
}

/// Sets (or unsets, with nullopt) an environment variable for one scope.
class scoped_env {
 public:
  scoped_env(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) {
      old_ = old;
    }
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace sb::test::config

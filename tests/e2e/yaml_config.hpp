#pragma once

// A switchboard.yaml written piece by piece, for the end-to-end tests whose config is not the
// standard one (`test_config` in support/process.hpp): the server on 127.0.0.1:0, storage in
// memory or SQLite, the test master key, then tenants with their channels and subscribers.

#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace sb::test {

/// `"<value>"`: a YAML double-quoted scalar (the values the tests use need no escapes).
inline std::string yaml_quoted(const std::string& value) {
  return "\"" + value + "\"";
}

class yaml_config {
 public:
  /// A setting line of `server:`, e.g. "io_threads: 2".
  yaml_config& server(const std::string& line) {
    server_ += "  " + line + "\n";
    return *this;
  }

  /// The store in `dir` on SQLite with `durability: fsync` (the default is in memory).
  yaml_config& sqlite(const std::string& dir) {
    storage_ = "  backend: sqlite\n  path: " + yaml_quoted(dir) + "\n  durability: fsync\n";
    return *this;
  }

  /// The store on the PostgreSQL database `dsn`, shared with other replicas (`pool` connections).
  yaml_config& postgres(const std::string& dsn, int pool = 4) {
    storage_ = "  backend: postgres\n  postgres:\n    dsn: " + yaml_quoted(dsn) +
               "\n    pool: " + std::to_string(pool) + "\n";
    return *this;
  }

  /// A top-level section written after `storage:` as it is, e.g. "limits:\n  x: 1\n".
  yaml_config& section(const std::string& yaml) {
    sections_ += yaml;
    return *this;
  }

  /// Starts tenant `id`; `lines` are its own settings as they are (indented by four spaces).
  yaml_config& tenant(const std::string& id, const std::string& lines = "") {
    tenants_.push_back({"  - id: " + id + "\n" + lines, "", ""});
    return *this;
  }

  /// A channel of the last tenant; each setting's value is quoted, `lines` are more settings as
  /// they are (indented by eight spaces).
  yaml_config& channel(const std::string& name, const std::string& type,
                       const std::vector<std::pair<std::string, std::string>>& settings,
                       const std::string& lines = "") {
    std::string& out = tenants_.back().channels;
    out += "      - name: " + name + "\n        type: " + type + "\n";
    for (const auto& [key, value] : settings) {
      out += "        " + key + ": " + yaml_quoted(value) + "\n";
    }
    out += lines;
    return *this;
  }

  /// Channel "tg" of `t` (its secret token), with `settings` more.
  yaml_config& telegram(const test_tenant& t,
                        std::vector<std::pair<std::string, std::string>> settings = {}) {
    settings.insert(settings.begin(), {"secret_token", t.tg_secret_token()});
    return channel("tg", "telegram", settings);
  }

  /// Channel "wa-main" of `t` (app secret, verify token, phone number id), with `settings` more.
  yaml_config& whatsapp(const test_tenant& t,
                        std::vector<std::pair<std::string, std::string>> settings = {}) {
    settings.insert(settings.begin(), {{"app_secret", t.wa_app_secret()},
                                       {"verify_token", t.wa_verify_token()},
                                       {"phone_number_id", t.wa_phone_number_id()}});
    return channel("wa-main", "whatsapp", settings);
  }

  /// Channel "fb" of `t` (app secret, verify token, page id), with `settings` and `lines` more.
  yaml_config& messenger(const test_tenant& t,
                         std::vector<std::pair<std::string, std::string>> settings = {},
                         const std::string& lines = "") {
    settings.insert(settings.begin(), {{"app_secret", t.fb_app_secret()},
                                       {"verify_token", t.fb_verify_token()},
                                       {"page_id", t.fb_page_id()}});
    return channel("fb", "messenger", settings, lines);
  }

  /// A subscriber of the last tenant: holding `token` ("" = none) with `scopes` (e.g.
  /// "[stream, admin]"; "" = none); `lines` are more settings as they are (indented by eight
  /// spaces), e.g. `push_settings(...)`.
  yaml_config& subscriber(const std::string& name, const std::string& token,
                          const std::string& scopes, const std::string& lines = "") {
    std::string& out = tenants_.back().subscribers;
    out += "      - name: " + name + "\n";
    if (!token.empty()) {
      out += "        token_sha256: " + yaml_quoted(token_sha256(token)) + "\n";
    }
    if (!scopes.empty()) {
      out += "        scopes: " + scopes + "\n";
    }
    out += lines;
    return *this;
  }

  std::string str() const {
    std::string y = "server:\n  listen: \"127.0.0.1:0\"\n" + server_ + "storage:\n" + storage_ +
                    "  master_key: " + yaml_quoted(test_master_key) + "\n" + sections_ +
                    "tenants:\n";
    for (const auto& t : tenants_) {
      y += t.head;
      if (!t.channels.empty()) {
        y += "    channels:\n" + t.channels;
      }
      if (!t.subscribers.empty()) {
        y += "    subscribers:\n" + t.subscribers;
      }
    }
    return y;
  }

 private:
  struct tenant_yaml {
    std::string head, channels, subscribers;
  };
  std::string server_;
  std::string storage_ = "  backend: memory\n";
  std::string sections_;
  std::vector<tenant_yaml> tenants_;
};

/// The `push:` settings of a subscriber posting to `url` signed with `secret`; `lines` are more
/// push settings as they are (indented by ten spaces).
inline std::string push_settings(const std::string& url, const std::string& secret,
                                 const std::string& lines = "") {
  return "        push:\n          url: " + yaml_quoted(url) + "\n          secret: " +
         yaml_quoted(secret) + "\n" + lines;
}

}  // namespace sb::test

// What a reload changes (config/diff.hpp): restart-only keys, tenants, channels, subscribers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "config/diff.hpp"
#include "config/loader.hpp"

using sb::config::channel_config;
using sb::config::config;
using sb::config::subscriber_config;
using sb::config::tenant_config;

namespace {

channel_config channel(const std::string& name, const std::string& secret) {
  channel_config ch;
  ch.name = name;
  ch.type = "telegram";
  ch.settings["secret_token"] = secret;
  return ch;
}

subscriber_config subscriber(const std::string& name, const std::string& token) {
  subscriber_config s;
  s.name = name;
  s.token_sha256 = token;
  s.scopes = static_cast<unsigned>(sb::config::scope::stream);
  return s;
}

/// Two tenants: acme (channels tg, wa; subscribers backend, ops) and globex (channel tg).
config base() {
  config c;
  c.server.listen = "127.0.0.1:8080";
  c.storage.master_key = std::string(32, 'k');
  c.storage.root_key = c.storage.master_key;
  tenant_config acme;
  acme.id = "acme";
  acme.channels = {channel("tg", "s1"), channel("wa", "s2")};
  acme.subscribers = {subscriber("backend", "aa"), subscriber("ops", "bb")};
  tenant_config globex;
  globex.id = "globex";
  globex.channels = {channel("tg", "s3")};
  c.tenants = {acme, globex};
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("the same config twice is no change", "[config][reload]") {
  auto d = sb::config::diff(base(), base());
  CHECK(d.empty());
  CHECK(d.summary() == "no change");
}

TEST_CASE("moving a channel in the file is no change", "[config][reload]") {
  auto next = base();
  next.tenants[0].channels[0].source = "other.yaml:99";
  CHECK(sb::config::diff(base(), next).empty());
}

TEST_CASE("tenants added and removed are named", "[config][reload]") {
  auto next = base();
  next.tenants.erase(next.tenants.begin() + 1);  // globex
  tenant_config initech;
  initech.id = "initech";
  next.tenants.push_back(initech);
  auto d = sb::config::diff(base(), next);
  CHECK(d.tenants_added == std::vector<std::string>{"initech"});
  CHECK(d.tenants_removed == std::vector<std::string>{"globex"});
  CHECK(d.tenants_changed.empty());
  CHECK(d.restart_keys.empty());
}

TEST_CASE("channels added removed and changed are named per tenant", "[config][reload]") {
  auto next = base();
  auto& acme = next.tenants[0];
  acme.channels[0].settings["secret_token"] = "rotated";  // tg changed
  acme.channels.erase(acme.channels.begin() + 1);         // wa removed
  acme.channels.push_back(channel("sms", "s9"));          // sms added
  auto d = sb::config::diff(base(), next);
  REQUIRE(d.tenants_changed.size() == 1);
  const auto& t = d.tenants_changed[0];
  CHECK(t.id == "acme");
  CHECK(t.channels_added == std::vector<std::string>{"sms"});
  CHECK(t.channels_removed == std::vector<std::string>{"wa"});
  CHECK(t.channels_changed == std::vector<std::string>{"tg"});
  CHECK(t.subscribers_changed.empty());
  CHECK(t.changed());
  CHECK(d.summary().find("channels +1 -1 ~1") != std::string::npos);
  // A secret's value never reaches the summary (it goes to the log).
  CHECK(d.summary().find("rotated") == std::string::npos);
}

TEST_CASE("a changed channel type is a changed channel", "[config][reload]") {
  auto next = base();
  next.tenants[1].channels[0].type = "whatsapp";
  auto d = sb::config::diff(base(), next);
  REQUIRE(d.tenants_changed.size() == 1);
  CHECK(d.tenants_changed[0].channels_changed == std::vector<std::string>{"tg"});
}

TEST_CASE("subscribers and their tokens are compared", "[config][reload]") {
  auto next = base();
  auto& acme = next.tenants[0];
  acme.subscribers[0].token_sha256 = "cc";                  // backend: token changed
  acme.subscribers[1].purposes = {"support", "marketing"};  // ops: changed, token not
  acme.subscribers.push_back(subscriber("crm", "dd"));
  auto d = sb::config::diff(base(), next);
  REQUIRE(d.tenants_changed.size() == 1);
  const auto& t = d.tenants_changed[0];
  CHECK(t.subscribers_added == std::vector<std::string>{"crm"});
  CHECK(t.subscribers_changed == std::vector<std::string>{"backend", "ops"});
  CHECK(t.tokens_changed == std::vector<std::string>{"backend"});

  auto removed = base();
  removed.tenants[0].subscribers.pop_back();
  auto r = sb::config::diff(base(), removed);
  REQUIRE(r.tenants_changed.size() == 1);
  CHECK(r.tenants_changed[0].subscribers_removed == std::vector<std::string>{"ops"});
}

TEST_CASE("a push endpoint change is a changed subscriber", "[config][reload]") {
  auto running = base();
  running.tenants[0].subscribers[0].push = sb::config::push_config{"http://a/", "whsec_x"};
  auto next = running;
  next.tenants[0].subscribers[0].push->timeout_ms = 500;
  auto d = sb::config::diff(running, next);
  REQUIRE(d.tenants_changed.size() == 1);
  CHECK(d.tenants_changed[0].subscribers_changed == std::vector<std::string>{"backend"});
  CHECK(d.tenants_changed[0].tokens_changed.empty());
}

TEST_CASE("tenant limits and privacy are reported", "[config][reload]") {
  auto next = base();
  next.tenants[0].rate_limit.rps = 10;
  next.tenants[1].privacy.opt_out_keywords.push_back("HALT");
  auto d = sb::config::diff(base(), next);
  REQUIRE(d.tenants_changed.size() == 2);
  CHECK(d.tenants_changed[0].rate_limit_changed);
  CHECK_FALSE(d.tenants_changed[0].privacy_changed);
  CHECK(d.tenants_changed[1].privacy_changed);
}

TEST_CASE("restart-only keys are named and keep their running value", "[config][reload]") {
  auto next = base();
  next.server.listen = "0.0.0.0:9090";
  next.server.io_threads = 8;
  next.server.scheduler.max_threads = 6;
  next.storage.path = "/elsewhere";
  next.storage.master_key = std::string(32, 'n');
  next.storage.root_key = next.storage.master_key;
  next.server.metrics.listen = "127.0.0.1:9100";
  next.tenants[0].channels.push_back(channel("sms", "s9"));  // applies
  next.operators.push_back({"alice", "ee"});
  auto d = sb::config::diff(base(), next);
  for (const char* k : {"server.listen", "server.io_threads", "server.scheduler.max_threads",
                        "storage.path", "storage.master_key", "server.metrics.listen"}) {
    CAPTURE(k);
    CHECK(has(d.restart_keys, k));
  }
  CHECK(d.restart_keys.size() == 6);
  CHECK(d.operators_changed);
  CHECK(d.tenants_changed.size() == 1);

  auto kept = sb::config::keep_restart_keys(base(), next, {});
  CHECK(kept->server.listen == "127.0.0.1:8080");
  CHECK(kept->server.io_threads == base().server.io_threads);
  CHECK(kept->server.scheduler.max_threads == base().server.scheduler.max_threads);
  CHECK(kept->storage.path == base().storage.path);
  CHECK(kept->storage.master_key == std::string(32, 'k'));
  CHECK(kept->server.metrics.listen.empty());
  // Everything else is the new config's.
  CHECK(kept->tenants[0].channels.size() == 3);
  CHECK(kept->operators.size() == 1);
  CHECK(sb::config::diff(base(), *kept).restart_keys.empty());
}

TEST_CASE("reloadable top-level keys are reported as global", "[config][reload]") {
  auto next = base();
  next.server.trusted_proxies = {"10.0.0.0/8"};
  next.limits.auth_failures_per_source.rps = 1;
  next.limits.events_per_webhook = 5;
  auto d = sb::config::diff(base(), next);
  CHECK(d.restart_keys.empty());
  CHECK(has(d.global_keys, "server.trusted_proxies"));
  CHECK(has(d.global_keys, "limits.auth_failures_per_source"));
  CHECK(has(d.global_keys, "limits.events_per_webhook"));
  CHECK_FALSE(has(d.global_keys, "limits.auth_failures_per_channel"));
}

TEST_CASE("derived channel keys come from the running root key whatever the file's master key",
          "[config][reload]") {
  sb::config::setting_spec derived{"session_key", true, true, "", ""};
  derived.derived = true;
  std::vector<sb::config::channel_schema> schemas{{"webchat", {derived}}};
  auto running = base();
  channel_config chat;
  chat.name = "chat";
  chat.type = "webchat";
  running.tenants[0].channels.push_back(chat);
  // As main starts a rotated store: the root key is the store's, not the file's master key.
  sb::config::set_root_key(running, std::string(32, 'r'), schemas);
  const std::string running_value = running.tenants[0].find_channel("chat")->get("session_key");
  CHECK(running_value.size() == 64);

  // A reloaded file: a new master key, the loader's keys derived from it, and a new channel.
  auto next = running;
  next.storage.master_key = std::string(32, 'n');
  auto chat2 = chat;
  chat2.name = "chat2";
  next.tenants[0].channels.push_back(chat2);
  sb::config::set_root_key(next, next.storage.master_key, schemas);
  CHECK(next.tenants[0].find_channel("chat")->get("session_key") != running_value);

  auto kept = sb::config::keep_restart_keys(running, next, schemas);
  CHECK(kept->storage.root_key == std::string(32, 'r'));
  CHECK(kept->storage.master_key == running.storage.master_key);
  CHECK(kept->tenants[0].find_channel("chat")->get("session_key") == running_value);
  // The new channel's key is the one it has after a restart on the same store.
  auto restarted = next;
  sb::config::set_root_key(restarted, std::string(32, 'r'), schemas);
  CHECK(kept->tenants[0].find_channel("chat2")->get("session_key") ==
        restarted.tenants[0].find_channel("chat2")->get("session_key"));
  auto with_chat2 = running;
  with_chat2.tenants[0].channels.push_back(chat2);
  sb::config::set_root_key(with_chat2, std::string(32, 'r'), schemas);
  CHECK(sb::config::diff(with_chat2, *kept).empty());
}

TEST_CASE("every restart-only key is a key of the file", "[config][reload]") {
  // A typo in the table would silently never match: each path must be declared by the loader.
  const auto& declared = sb::config::declared_keys();
  for (const auto& k : sb::config::restart_only_keys()) {
    CAPTURE(k);
    CHECK(std::any_of(declared.begin(), declared.end(),
                      [&](const sb::config::key_info& i) { return i.path == k; }));
  }
}

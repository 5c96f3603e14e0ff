// End-to-end: `switchboard rotate-master-key` (docs/operations.md, "Rotating the master key").
// The real binary takes webhooks on SQLite under key A; the rotation is refused while it runs;
// stopped, the store is rotated to B. Afterwards A does not start the gateway, B does and serves
// the same events under the same subjects (the root key did not change), an update acknowledged
// before is still a duplicate, consent is kept, and a backup under B works. A second rotation
// (B to C) then refuses B. What the command refuses: a key on the command line, a bad key file,
// the current key, a wrong current key: each with nothing changed.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/telegram_updates.hpp"
#include "e2e/yaml_config.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_rotate_9d2e4b7a1c35"};

const std::string key_b = "b1c2d3e4f5a60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8e9f";
const std::string key_c = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";

/// The standard test config on SQLite in `dir`, its master key replaced by `key` (hex).
std::string config_with(const std::string& dir, const std::string& key) {
  std::string yaml = yaml_config()
                         .sqlite(dir)
                         .tenant("acme")
                         .telegram(acme)
                         .subscriber("backend", acme.token, "[stream, privacy, admin]")
                         .str();
  yaml.replace(yaml.find(test_master_key), 64, key);
  return yaml;
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0600);
  return path;
}

json post_update(const std::string& base, std::uint64_t update_id, std::uint64_t chat) {
  return post_telegram_update(base, acme, update_id, chat, "Rota");
}

struct stored {
  std::uint64_t seq = 0;
  std::string id;
  std::string subject;
  std::string text;
  bool operator==(const stored& o) const {
    return seq == o.seq && id == o.id && subject == o.subject && text == o.text;
  }
};

std::vector<stored> all_events(const std::string& base) {
  json j = get_events(base, acme.token, "after=0&limit=1000");
  std::vector<stored> out;
  for (const auto& e : j["events"].items()) {
    out.push_back({e["seq"].u64(), e["id"].str(), e["subject"].str(), e["content"]["text"].str()});
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

finished_run rotate(const std::string& config, const std::string& key_file) {
  return run_switchboard({"rotate-master-key", "--config", config, "--new-key-file", key_file});
}

/// Starting a gateway on `config`, which must be refused at start-up.
finished_run start_refused(const std::string& config) {
  return run_switchboard({"--config", config}, seconds(20));
}

}  // namespace

TEST_CASE("rotate-master-key re-wraps the store's keys and only the new key opens it",
          "[e2e][rotate]") {
  temp_dir store{"sb-e2e-rotate-store"};
  temp_dir work{"sb-e2e-rotate-work"};
  const std::string yaml_a = config_with(store.path, test_master_key);
  const std::string config_a = write_file(work.path + "/a.yaml", yaml_a);
  const std::string config_b = write_file(work.path + "/b.yaml", config_with(store.path, key_b));
  const std::string config_c = write_file(work.path + "/c.yaml", config_with(store.path, key_c));
  const std::string key_b_file = write_file(work.path + "/b.key", key_b + "\n");
  const std::string key_c_file = write_file(work.path + "/c.key", key_c);

  std::vector<stored> before;
  {
    gateway_process gw(yaml_a);
    for (std::uint64_t id = 9001; id <= 9004; ++id) {
      CHECK(post_update(gw.base_url(), id, 700000 + id % 2)["events"].u64() == 1);
    }
    const auto messages = all_events(gw.base_url());
    REQUIRE(messages.size() == 4);
    REQUIRE(messages[0].subject != messages[1].subject);
    auto granted =
        request("PUT", gw.base_url() + "/v1/subjects/" + messages[0].subject + "/consent",
                bearer(acme.token), R"({"purpose":"marketing","granted":true})");
    REQUIRE(granted.status == 200);
    before = all_events(gw.base_url());  // the messages and the consent change
    REQUIRE(before.size() >= 4);

    // Not while the gateway has the store open.
    auto busy = rotate(config_a, key_b_file);
    INFO(busy.output);
    CHECK(busy.code == 1);
    CHECK(contains(busy.output, "is in use"));
    CHECK(contains(busy.output, "nothing was changed"));
    auto stopped = gw.terminate(seconds(10));
    REQUIRE(stopped.exited);
  }

  // What is refused before anything changes.
  {
    auto on_argv = run_switchboard({"rotate-master-key", "--config", config_a, "--new-key", key_b});
    CHECK(on_argv.code == 1);
    CHECK(contains(on_argv.output, "not taken on the command line"));
    auto bad_file = rotate(config_a, write_file(work.path + "/bad.key", "not-a-key\n"));
    CHECK(bad_file.code == 1);
    CHECK(contains(bad_file.output, "must hold the new key as 64 hex characters"));
    auto same = rotate(config_a, write_file(work.path + "/a.key", test_master_key));
    CHECK(same.code == 1);
    CHECK(contains(same.output, "is the current one"));
    auto wrong_current = rotate(config_c, key_b_file);  // C is not the store's key
    INFO(wrong_current.output);
    CHECK(wrong_current.code == 1);
    CHECK(contains(wrong_current.output, "does not open this store"));
    CHECK(contains(wrong_current.output, "nothing was changed"));
  }

  auto rotated = rotate(config_a, key_b_file);
  INFO(rotated.output);
  REQUIRE(rotated.code == 0);
  CHECK(contains(rotated.output, "re-wrapped"));
  CHECK(contains(rotated.output, "first rotation"));
  CHECK_FALSE(contains(rotated.output, key_b));
  CHECK_FALSE(contains(rotated.output, test_master_key));

  // The old key no longer opens the store: the gateway refuses to start on it.
  auto old_key = start_refused(config_a);
  INFO(old_key.output);
  CHECK(old_key.code == 2);
  CHECK(contains(old_key.output, "does not open this store"));

  {
    gateway_process gw(config_with(store.path, key_b));
    // The same events under the same subjects: the data keys open, the root key is the same.
    CHECK(all_events(gw.base_url()) == before);
    auto consent =
        request("GET", gw.base_url() + "/v1/subjects/" + before[0].subject, bearer(acme.token));
    REQUIRE(consent.status == 200);
    CHECK(json::parse(consent.body)["consent"]["purposes"]["marketing"].boolean());
    // A platform retry of an update acknowledged under the old key is still a duplicate, and the
    // same person is still the same subject.
    CHECK(post_update(gw.base_url(), 9002, 700000)["duplicates"].u64() == 1);
    CHECK(post_update(gw.base_url(), 9005, 700001)["events"].u64() == 1);
    const auto after = all_events(gw.base_url());
    REQUIRE(after.size() == before.size() + 1);
    CHECK(after.back().text == "update 9005");
    CHECK(after.back().subject == before[0].subject);  // chat 700001, as update 9001
    CHECK(after.back().seq == before.back().seq + 1);
    auto stopped = gw.terminate(seconds(10));
    REQUIRE(stopped.exited);
  }

  // A backup under the new key works (the outbox's keys are the root key's).
  auto backed_up = run_switchboard({"backup", "--config", config_b, work.path + "/backup"});
  INFO(backed_up.output);
  CHECK(backed_up.code == 0);

  // A second rotation: B is refused afterwards, C opens the store.
  auto again = rotate(config_b, key_c_file);
  INFO(again.output);
  REQUIRE(again.code == 0);
  CHECK_FALSE(contains(again.output, "first rotation"));
  auto old_b = start_refused(config_b);
  CHECK(old_b.code == 2);
  CHECK(contains(old_b.output, "does not open this store"));
  {
    gateway_process gw(config_with(store.path, key_c));
    CHECK(all_events(gw.base_url()).size() == before.size() + 1);
  }
}

// End-to-end: moving from one machine to several replicas (docs/operations.md). The real binary
// runs on SQLite and takes webhooks, stops, `switchboard migrate` copies its store into a
// throwaway PostgreSQL (support/pg_cluster.hpp), and the binary started on PostgreSQL with the
// same master key serves the same events with the same seqs, and takes a platform's retry of an
// old update as a duplicate.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/telegram_updates.hpp"
#include "e2e/yaml_config.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "support/signing.hpp"
#include "support/temp_dir.hpp"

using namespace sb::test;
using std::chrono::seconds;

namespace {

const test_tenant acme{"acme", "sbt_e2e_migrate_3b7f20c94d1e"};

/// The gateway's config on `storage` (yaml_config's `.sqlite(dir)` or `.postgres(dsn)`): one
/// Telegram channel, one API subscriber.
std::string config_on(yaml_config storage) {
  return storage.tenant("acme")
      .telegram(acme)
      .subscriber("backend", acme.token, "[stream, admin]")
      .str();
}

json post_update(const std::string& base, std::uint64_t update_id, std::uint64_t chat) {
  return post_telegram_update(base, acme, update_id, chat, "Mig");
}

struct stored {
  std::uint64_t seq = 0;
  std::string platform_event_id;
  std::string conversation;
  std::string text;
};

std::vector<stored> all_events(const std::string& base) {
  std::vector<stored> out;
  std::uint64_t after = 0;
  for (int page = 0; page < 1000; ++page) {
    json j = get_events(base, acme.token, "after=" + std::to_string(after) + "&limit=1000");
    for (const auto& e : j["events"].items()) {
      out.push_back({e["seq"].u64(), e["platform_event_id"].str(), e["conversation"].str(),
                     e["content"]["text"].str()});
    }
    const std::uint64_t next = j["next"].u64();
    if (j["events"].size() == 0 && next == after) {
      return out;
    }
    after = next;
  }
  FAIL("paging /v1/events did not end");
  return out;
}

/// The row count `switchboard migrate` printed for `table` (its line "  <table>   <rows>"), or ""
/// when it printed none.
std::string rows_copied(const std::string& output, const std::string& table) {
  const auto at = output.find("\n  " + table + " ");
  if (at == std::string::npos) {
    return "";
  }
  const auto end = output.find('\n', at + 1);
  const std::string line = output.substr(at + 1, end == std::string::npos ? end : end - at - 1);
  return line.substr(line.find_last_of(' ') + 1);
}

}  // namespace

TEST_CASE(
    "a single gateway's store moved to PostgreSQL by switchboard migrate serves the same events, "
    "and an old update retried there is a duplicate",
    "[e2e][migrate]") {
  temp_dir store{"sb-e2e-migrate"};
  std::vector<stored> before;
  {
    gateway_process single(config_on(yaml_config().sqlite(store.path)));
    for (std::uint64_t id = 9001; id <= 9006; ++id) {
      CHECK(post_update(single.base_url(), id, 700000 + id % 2)["events"].u64() == 1);
    }
    CHECK(post_update(single.base_url(), 9002, 700000)["duplicates"].u64() == 1);
    before = all_events(single.base_url());
    REQUIRE(before.size() == 6);
    auto stopped = single.terminate(seconds(10));
    REQUIRE(stopped.exited);
    REQUIRE(stopped.code == 0);
  }

  pg_cluster db;
  const std::string replicas_yaml = config_on(yaml_config().postgres(db.dsn()));
  const std::string config_file = store.path + "/replicas.yaml";
  std::ofstream(config_file) << replicas_yaml;
  const std::vector<std::string> migrate{
      "migrate", "--from", "sqlite:" + store.path, "--to", "postgres", "--config", config_file};
  auto copied = run_switchboard(migrate);
  INFO(copied.output);
  REQUIRE(copied.code == 0);
  CHECK(copied.output.find("copied the SQLite store in " + store.path) != std::string::npos);
  CHECK(copied.output.find("password") == std::string::npos);
  CHECK(rows_copied(copied.output, "events") == "6");
  CHECK(rows_copied(copied.output, "tenant_heads") == "1");
  CHECK(rows_copied(copied.output, "dedupe") == "6");
  CHECK(rows_copied(copied.output, "outbox_meta") == "1");

  gateway_process replica(replicas_yaml);
  const auto after = all_events(replica.base_url());
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    INFO("event " << i);
    CHECK(after[i].seq == before[i].seq);
    CHECK(after[i].platform_event_id == before[i].platform_event_id);
    CHECK(after[i].conversation == before[i].conversation);
    CHECK(after[i].text == before[i].text);
  }
  // Telegram retries an update acknowledged before the move: a duplicate, not a new event.
  auto retried = post_update(replica.base_url(), 9004, 700000);
  CHECK(retried["events"].u64() == 0);
  CHECK(retried["duplicates"].u64() == 1);
  CHECK(post_update(replica.base_url(), 9007, 700001)["events"].u64() == 1);
  const auto now = all_events(replica.base_url());
  REQUIRE(now.size() == 7);
  CHECK(now.back().seq == 7);
  CHECK(now.back().platform_event_id == "9007");

  // The database holds the store now: running the move again is refused, exit 1.
  auto again = run_switchboard(migrate);
  INFO(again.output);
  CHECK(again.code == 1);
  CHECK(again.output.find("not empty") != std::string::npos);
  CHECK(again.output.find("nothing was copied") != std::string::npos);
}

// End-to-end: backup and restore (docs/operations.md, "Backup and restore"). The real binary runs
// on SQLite and takes webhooks, consent and an erasure; `switchboard backup` copies its store while
// webhooks keep arriving; `switchboard restore` puts the copy into a fresh directory; the binary
// started there serves the same events with the same seqs, the same consent, the same audit log,
// the erased subject stays erased, and the next webhook gets the next seq. Then what restore
// refuses (a running gateway, a present store, another master key, a damaged backup), what
// `--force` prints (the erasures newer than the backup), and what backup says of PostgreSQL.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
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

const test_tenant acme{"acme", "sbt_e2e_backup_6c1d8e2f4a90"};

std::string config_on(yaml_config storage) {
  return storage.tenant("acme")
      .telegram(acme)
      .subscriber("backend", acme.token, "[stream, privacy, admin]")
      .str();
}

std::string write_config(const std::string& dir, const std::string& name, const std::string& yaml) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << yaml;
  return path;
}

json post_update(const std::string& base, std::uint64_t update_id, std::uint64_t chat) {
  return post_telegram_update(base, acme, update_id, chat, "Back");
}

struct stored {
  std::uint64_t seq = 0;
  std::string id;
  std::string type;
  std::string subject;
  std::string text;
};

std::vector<stored> all_events(const std::string& base) {
  std::vector<stored> out;
  std::uint64_t after = 0;
  for (int page = 0; page < 1000; ++page) {
    json j = get_events(base, acme.token, "after=" + std::to_string(after) + "&limit=1000");
    for (const auto& e : j["events"].items()) {
      out.push_back({e["seq"].u64(), e["id"].str(), e["type"].str(), e["subject"].str(),
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

std::string subject_of(const std::vector<stored>& events, const std::string& text) {
  for (const auto& e : events) {
    if (e.text == text) {
      return e.subject;
    }
  }
  FAIL("no event with text " << text);
  return "";
}

/// The audit log as "id action subject outcome" lines.
std::vector<std::string> audit_lines(const std::string& base) {
  auto r = request("GET", base + "/v1/audit?after=0&limit=1000", bearer(acme.token));
  REQUIRE(r.status == 200);
  std::vector<std::string> out;
  const json page = json::parse(r.body);
  for (const auto& e : page["entries"].items()) {
    out.push_back(e["id"].number_text() + " " + e["action"].str() + " " + e["subject"].str() + " " +
                  e["outcome"].str());
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The seq `backup` printed for the tenant ("  tenant acme: seqs up to N").
std::uint64_t printed_head(const std::string& output) {
  const std::string marker = "tenant acme: seqs up to ";
  const auto at = output.find(marker);
  REQUIRE(at != std::string::npos);
  return std::stoull(output.substr(at + marker.size()));
}

}  // namespace

TEST_CASE(
    "a backup taken while the gateway takes webhooks restores the same seqs and consent and audit "
    "and the erasure",
    "[e2e][backup]") {
  temp_dir store{"sb-e2e-backup-store"};
  temp_dir restored{"sb-e2e-backup-restored"};
  temp_dir work{"sb-e2e-backup-work"};
  const std::string source_config =
      write_config(work.path, "source.yaml", config_on(yaml_config().sqlite(store.path)));
  const std::string restored_yaml = config_on(yaml_config().sqlite(restored.path));
  const std::string restored_config = write_config(work.path, "restored.yaml", restored_yaml);
  const std::string backup_dir = work.path + "/backup";

  std::vector<stored> source_events;
  std::vector<std::string> source_audit;
  std::string erased;
  std::string consenting;
  std::uint64_t head = 0;
  {
    gateway_process gw(config_on(yaml_config().sqlite(store.path)));
    for (std::uint64_t id = 5001; id <= 5006; ++id) {
      CHECK(post_update(gw.base_url(), id, 800000 + id % 3)["events"].u64() == 1);
    }
    auto before = all_events(gw.base_url());
    erased = subject_of(before, "update 5001");      // chat 800000 (also update 5004)
    consenting = subject_of(before, "update 5002");  // chat 800001 (also update 5005)
    REQUIRE(erased != consenting);
    auto granted = request("PUT", gw.base_url() + "/v1/subjects/" + consenting + "/consent",
                           bearer(acme.token), R"({"purpose":"marketing","granted":true})");
    INFO(granted.body);
    REQUIRE(granted.status == 200);
    auto erasure = request("DELETE", gw.base_url() + "/v1/subjects/" + erased, bearer(acme.token));
    INFO(erasure.body);
    REQUIRE(erasure.status == 200);
    const auto settled = all_events(gw.base_url());
    source_audit = audit_lines(gw.base_url());
    REQUIRE(source_audit.size() >= 2);

    // Webhooks keep arriving while the backup runs, and a few after it.
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    std::thread writer([&] {
      int after_done = 0;
      for (std::uint64_t id = 6001; after_done < 2 && failures.load() == 0; ++id) {
        if (done.load()) {
          ++after_done;
        }
        try {
          auto r = request("POST", gw.base_url() + "/webhooks/acme/tg",
                           signing::telegram(acme.tg_secret_token()),
                           telegram_update(id, 800005, "Back"), seconds(10));
          if (r.status != 200) {
            failures.fetch_add(1);
          }
        } catch (const std::exception&) {
          failures.fetch_add(1);
        }
      }
    });
    auto taken = run_switchboard({"backup", "--config", source_config, backup_dir});
    done.store(true);
    writer.join();
    CHECK(failures.load() == 0);
    INFO(taken.output);
    REQUIRE(taken.code == 0);
    CHECK(contains(taken.output, "copied the store in"));
    CHECK(contains(taken.output, "switchboard.db"));
    CHECK(contains(taken.output, "outbox.db"));
    CHECK_FALSE(contains(taken.output, test_master_key));
    head = printed_head(taken.output);
    CHECK(head >= settled.back().seq);

    source_events = all_events(gw.base_url());
    CHECK(source_events.back().seq > head);  // writes went on after the snapshot
    auto stopped = gw.terminate(seconds(10));
    REQUIRE(stopped.exited);
    REQUIRE(stopped.code == 0);
  }

  // The manifest: files with sizes and digests, the key's fingerprint, never the key.
  std::string manifest_text;
  {
    std::ifstream in(backup_dir + "/manifest.json");
    manifest_text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto manifest = json::parse(manifest_text);
  CHECK(manifest["version"].u64() == 1);
  CHECK(manifest["files"].size() == 2);
  CHECK(manifest["master_key_fingerprint"].str().size() == 32);
  CHECK_FALSE(contains(manifest_text, test_master_key));
  CHECK(manifest["heads"]["acme"].u64() == head);

  auto put_back = run_switchboard({"restore", "--config", restored_config, backup_dir});
  INFO(put_back.output);
  REQUIRE(put_back.code == 0);
  CHECK(contains(put_back.output, "restored the backup in " + backup_dir));
  CHECK(contains(put_back.output, "are not in this backup"));

  const std::string dead_subject_text = "update 5001";
  std::string second_erased;
  {
    gateway_process gw(restored_yaml);
    // The same events with the same seqs: everything committed up to the snapshot.
    auto events = all_events(gw.base_url());
    std::vector<stored> expected;
    for (const auto& e : source_events) {
      if (e.seq <= head) {
        expected.push_back(e);
      }
    }
    REQUIRE(events.size() == expected.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      INFO("event " << i);
      CHECK(events[i].seq == expected[i].seq);
      CHECK(events[i].id == expected[i].id);
      CHECK(events[i].type == expected[i].type);
      CHECK(events[i].text == expected[i].text);
      CHECK(events[i].subject != erased);
      CHECK(events[i].text != dead_subject_text);
    }
    // The audit log as it was (nothing audited happened during the backup).
    CHECK(audit_lines(gw.base_url()) == source_audit);

    // Consent kept; the erased subject holds nothing.
    auto consent = request("GET", gw.base_url() + "/v1/subjects/" + consenting, bearer(acme.token));
    REQUIRE(consent.status == 200);
    CHECK(json::parse(consent.body)["consent"]["purposes"]["marketing"].boolean());
    auto gone = request("GET", gw.base_url() + "/v1/subjects/" + erased, bearer(acme.token));
    REQUIRE(gone.status == 200);
    CHECK(json::parse(gone.body)["events"].size() == 0);
    CHECK(json::parse(gone.body)["identifiers"].size() == 0);

    // The next webhook gets the next seq; an update acknowledged before the backup stays a
    // duplicate (the dedupe keys came along).
    CHECK(post_update(gw.base_url(), 7001, 800004)["events"].u64() == 1);
    CHECK(all_events(gw.base_url()).back().seq == head + 1);
    CHECK(post_update(gw.base_url(), 5003, 800002)["duplicates"].u64() == 1);

    // Refused while a gateway runs on the target.
    auto busy = run_switchboard({"restore", "--config", restored_config, "--force", backup_dir});
    INFO(busy.output);
    CHECK(busy.code == 1);
    CHECK(contains(busy.output, "stop the gateway running on it first"));

    // An erasure after the backup: what a restore of the older backup must carry out again.
    second_erased = subject_of(events, "update 5002");
    auto erasure =
        request("DELETE", gw.base_url() + "/v1/subjects/" + second_erased, bearer(acme.token));
    REQUIRE(erasure.status == 200);
    auto stopped = gw.terminate(seconds(10));
    REQUIRE(stopped.exited);
  }

  // A present store is not replaced without --force.
  auto over = run_switchboard({"restore", "--config", restored_config, backup_dir});
  INFO(over.output);
  CHECK(over.code == 1);
  CHECK(contains(over.output, "already holds a store"));
  CHECK(contains(over.output, "nothing was restored"));

  // Another master key is refused before anything changes.
  std::string other_key_yaml = restored_yaml;
  other_key_yaml.replace(other_key_yaml.find(test_master_key), 64, std::string(64, 'a'));
  const std::string other_key_config = write_config(work.path, "other-key.yaml", other_key_yaml);
  auto wrong_key =
      run_switchboard({"restore", "--config", other_key_config, "--force", backup_dir});
  INFO(wrong_key.output);
  CHECK(wrong_key.code == 1);
  CHECK(contains(wrong_key.output, "another storage.master_key"));

  // A damaged backup is refused.
  const std::string damaged = work.path + "/damaged";
  std::filesystem::copy(backup_dir, damaged);
  {
    std::fstream f(damaged + "/switchboard.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4096 + 100);
    const char was = static_cast<char>(f.get());
    f.seekp(4096 + 100);
    f.put(static_cast<char>(~was));
  }
  auto torn = run_switchboard({"restore", "--config", restored_config, "--force", damaged});
  INFO(torn.output);
  CHECK(torn.code == 1);
  CHECK(contains(torn.output, "does not match the manifest"));

  // --force moves the present store aside and lists the erasure it recorded after the backup.
  auto forced = run_switchboard({"restore", "--config", restored_config, "--force", backup_dir});
  INFO(forced.output);
  REQUIRE(forced.code == 0);
  CHECK(contains(forced.output, "pre-restore-"));
  CHECK(contains(forced.output, "1 erasure(s) recorded after"));
  CHECK(contains(forced.output, "DELETE /v1/subjects/" + second_erased));
  CHECK_FALSE(contains(forced.output, "DELETE /v1/subjects/" + erased));
  bool moved = false;
  for (const auto& entry : std::filesystem::directory_iterator(restored.path)) {
    if (entry.path().filename().string().rfind("pre-restore-", 0) == 0) {
      moved = std::filesystem::exists(entry.path() / "switchboard.db");
    }
  }
  CHECK(moved);
}

TEST_CASE("backup of a PostgreSQL store points to pg_dump and copies nothing", "[e2e][backup]") {
  temp_dir work{"sb-e2e-backup-pg"};
  const std::string config = write_config(
      work.path, "pg.yaml",
      config_on(yaml_config().postgres("host=127.0.0.1 port=1 dbname=none user=none")));
  auto r = run_switchboard({"backup", "--config", config, work.path + "/out"});
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(contains(r.output, "pg_dump"));
  CHECK(contains(r.output, "nothing was copied"));
  CHECK_FALSE(std::filesystem::exists(work.path + "/out"));

  auto usage = run_switchboard({"backup", "--config", config});
  CHECK(usage.code == 1);
  CHECK(contains(usage.output, "DIR is required"));
}

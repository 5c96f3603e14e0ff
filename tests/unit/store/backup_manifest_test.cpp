// The manifest of a backup (store/sqlite/backup.hpp): written and read back unchanged; a manifest
// that is not one, of another version, or that names a file outside the store is refused; the
// master key is named by a fingerprint that reveals nothing of it; the files' digests.
// The round trip with the real binary is tests/e2e/backup_test.cpp.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "core/crypto.hpp"
#include "store/sqlite/backup.hpp"
#include "support/temp_dir.hpp"

namespace backup = sb::store::backup;
using sb::errc;

namespace {

const std::string k_key(32, '\x42');

backup::manifest sample() {
  backup::manifest m;
  m.created_at_ms = 1796400000123;
  m.created_at = "2026-12-04T17:20:00.123Z";
  m.source = "/var/lib/switchboard";
  m.key_fingerprint = backup::key_fingerprint(k_key);
  m.files.push_back({"switchboard.db", 1234567, std::string(64, 'a'), 9});
  m.files.push_back({"outbox.db", 4096, std::string(64, 'b'), 4});
  m.heads = {{"acme", 42}, {"globex \"quoted\"", 7}};
  m.audit_last_id = 17;
  return m;
}

/// `text` with the first occurrence of `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

void require_refused(const std::string& text, const std::string& why) {
  auto parsed = backup::parse_manifest(text);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.err().code == errc::bad_request);
  INFO(parsed.err().message);
  CHECK(parsed.err().message.find(why) != std::string::npos);
}

}  // namespace

TEST_CASE("a manifest reads back as it was written", "[store][backup]") {
  const auto m = sample();
  const auto text = backup::to_json(m);
  auto parsed = backup::parse_manifest(text);
  REQUIRE(parsed);
  CHECK(parsed->version == backup::k_manifest_version);
  CHECK(parsed->created_at_ms == m.created_at_ms);
  CHECK(parsed->created_at == m.created_at);
  CHECK(parsed->source == m.source);
  CHECK(parsed->key_fingerprint == m.key_fingerprint);
  REQUIRE(parsed->files.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(parsed->files[i].name == m.files[i].name);
    CHECK(parsed->files[i].bytes == m.files[i].bytes);
    CHECK(parsed->files[i].sha256 == m.files[i].sha256);
    CHECK(parsed->files[i].schema_version == m.files[i].schema_version);
  }
  CHECK(parsed->heads == m.heads);
  CHECK(parsed->audit_last_id == 17);
  CHECK(backup::to_json(*parsed) == text);
}

TEST_CASE("a manifest that is not one or that names another file is refused", "[store][backup]") {
  const auto text = backup::to_json(sample());
  require_refused("{not json", "not JSON");
  require_refused("[]", "no format");
  require_refused(replaced(text, "\"version\":1", "\"version\":2"), "version is 2");
  require_refused(replaced(text, "switchboard-backup", "something-else"), "format");
  require_refused(replaced(text, "\"backend\":\"sqlite\"", "\"backend\":\"postgres\""), "backend");
  require_refused(replaced(text, "\"outbox.db\"", "\"../../etc/passwd\""), "../../etc/passwd");
  require_refused(replaced(text, "\"outbox.db\"", "\"switchboard.db\""), "twice");
  require_refused(replaced(text, "\"switchboard.db\"", "\"outbox.db\""), "twice");
  require_refused(replaced(text, std::string(64, 'b'), "abc"), "64 hex");
  require_refused(replaced(text, "\"bytes\":4096", "\"bytes\":\"4096\""), "bytes is text");
  require_refused(replaced(text, "\"bytes\":4096", "\"bytes\":-1"), "negative");
  require_refused(replaced(text, "\"audit_last_id\":17", "\"x\":17"), "no audit_last_id");
  require_refused(replaced(text, ",\"master_key_fingerprint\"", ",\"fingerprint\""),
                  "no master_key_fingerprint");
}

TEST_CASE("the master key's fingerprint names the key and reveals nothing of it",
          "[store][backup]") {
  const auto a = backup::key_fingerprint(k_key);
  CHECK(a.size() == 32);
  CHECK(sb::crypto::from_hex(a).has_value());
  CHECK(backup::key_fingerprint(k_key) == a);
  CHECK(backup::key_fingerprint(std::string(32, '\x43')) != a);
  const auto key_hex =
      sb::crypto::to_hex(reinterpret_cast<const std::uint8_t*>(k_key.data()), k_key.size());
  CHECK(key_hex.find(a) == std::string::npos);
  CHECK(a.find(key_hex.substr(0, 8)) == std::string::npos);
}

TEST_CASE("a backed-up file's digest is its SHA-256", "[store][backup]") {
  sb::test::temp_dir dir{"sb-unit-backup"};
  const std::string path = dir.path + "/f";
  std::ofstream(path) << "abc";
  auto d = backup::file_sha256(path);
  REQUIRE(d);
  CHECK(*d == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_FALSE(backup::file_sha256(dir.path + "/missing"));
}

TEST_CASE("backup and restore say what is missing", "[store][backup]") {
  sb::test::temp_dir dir{"sb-unit-backup"};
  auto taken = backup::take_backup(dir.path + "/no-store", dir.path + "/out", k_key);
  REQUIRE_FALSE(taken);
  CHECK(taken.err().code == errc::not_found);
  CHECK(taken.err().message.find("no SQLite store") != std::string::npos);

  auto restored = backup::restore_backup(dir.path + "/out", dir.path + "/store", k_key, false);
  REQUIRE_FALSE(restored);
  CHECK(restored.err().code == errc::not_found);
  CHECK(restored.err().message.find("manifest.json") != std::string::npos);
}

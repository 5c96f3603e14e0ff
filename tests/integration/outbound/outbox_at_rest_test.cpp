// Nothing that names a person in clear in the outbox's files (store/outbox.hpp, docs/outbound.md
// "At rest"): recipients, conversations, subjects, platform message ids, idempotency keys and
// error titles are sealed, lookups go by keyed digests and still work; an erasure or a retention
// delete leaves no copy of the deleted rows in any file, not even in the WAL, at once (before any
// clean shutdown); files of schema v1 and v2 (identifiers in clear) are migrated and their
// plaintext is gone. Real SQLite files in a fresh temporary directory.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/aead.hpp"
#include "integration/outbound/outbox_support.hpp"
#include "store/outbox.hpp"

using namespace sb;
using store::outbound_state;

namespace {

using test::temp_dir;
using test::outbox::all_file_bytes;
using test::outbox::blob;
using test::outbox::k_master_key;
using test::outbox::null;
using test::outbox::open_sqlite;
using test::outbox::raw_db;
using test::outbox::text;

const std::string k_phone = "16505551234";
const std::string k_phone_b64 = "MTY1MDU1NTEyMzQ";  // how a wamid carries it
const std::string k_wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
const std::string k_idempotency_key = "reply-Quokka-2291";
const std::string k_error_title = "Recipient 16505559999 is not a WhatsApp user";
const std::string k_subject = "sub_5KQ2C7WZ3N4B6Y8T";
const std::string k_pseudonym = "wa-main:anon_7K2Q9D4M1X8T6R3B";
const std::string k_peer = "16505550000";

/// Every identifier the records below hold, none of which may be in the files in clear.
const std::vector<std::string> k_identifiers{
    k_phone, k_phone_b64,          "Quokka-2291", "16505559999", k_subject, "anon_7K2Q9D4M1X8T6R3B",
    k_peer,  "Marzipan-lighthouse"};

store::outbound_record record(const std::string& id, const std::string& peer,
                              const std::string& subject) {
  store::outbound_record r;
  r.id = id;
  r.tenant = "acme";
  r.channel = "wa-main";
  r.recipient = peer;
  r.conversation = "wa-main:" + peer;
  r.subject = subject;
  r.purpose = "support";
  r.message = R"({"id":")" + id + R"(","to":")" + peer + R"(","text":"Marzipan-lighthouse"})";
  r.caller = "helpdesk";
  r.created_at = timestamp::from_millis(1700000000000);
  r.updated_at = r.created_at;
  return r;
}

store::outbound_update sent(const std::string& id, const std::string& platform_message_id,
                            std::int64_t at_ms = 1700000001000) {
  store::outbound_update u;
  u.tenant = "acme";
  u.id = id;
  u.state = outbound_state::sent;
  u.attempts = 1;
  u.platform_message_id = platform_message_id;
  u.updated_at = timestamp::from_millis(at_ms);
  return u;
}

/// The identifiers of `bytes` that are there in clear.
std::vector<std::string> found_in(const std::string& bytes,
                                  const std::vector<std::string>& identifiers = k_identifiers) {
  std::vector<std::string> out;
  for (const auto& id : identifiers) {
    if (bytes.find(id) != std::string::npos) {
      out.push_back(id);
    }
  }
  return out;
}

/// The stored (sealed or digested) bytes of one column of message `id`.
std::string stored(const std::string& dir, const std::string& column, const std::string& id) {
  raw_db raw(dir);
  return raw.scalar("SELECT " + column + " FROM outbox WHERE id = '" + id + "'");
}

std::uintmax_t wal_size(const std::string& dir) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(dir + "/outbox.db-wal", ec);
  return ec ? 0 : n;
}

std::string user_version(const std::string& dir) {
  raw_db raw(dir);
  return raw.scalar("PRAGMA user_version");
}

}  // namespace

TEST_CASE("the SQLite outbox keeps no identifier in clear and still finds messages by each of them",
          "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    auto box = open_sqlite(dir.path);
    auto r = record("out_1", k_phone, k_subject);
    r.idempotency_key = k_idempotency_key;
    REQUIRE(box->put(r).ok());
    REQUIRE(box->update(sent("out_1", k_wamid)).value());
    auto failed = record("out_2", "16505559999", "sub_other");
    REQUIRE(box->put(failed).ok());
    store::outbound_update u;
    u.tenant = "acme";
    u.id = "out_2";
    u.state = outbound_state::failed;
    u.error_code = "131026";
    u.error_title = k_error_title;
    u.updated_at = timestamp::from_millis(1700000002000);
    REQUIRE(box->update(u).value());
    REQUIRE(box->set_last_inbound("acme", "wa-main:" + k_phone, 5000, k_subject).ok());
    REQUIRE(box->set_last_inbound("acme", k_pseudonym, 6000, k_subject, k_peer).ok());
    // Open: what a crash or a backup would find now.
    INFO("files of the open outbox");
    CHECK(found_in(all_file_bytes(dir.path)).empty());
  }
  INFO("files after a clean close");
  CHECK(found_in(all_file_bytes(dir.path)).empty());
  CHECK(all_file_bytes(dir.path).find("out_1") != std::string::npos);  // ids are not secret

  auto box = open_sqlite(dir.path);
  auto got = box->get("acme", "out_1");
  REQUIRE(got.ok());
  CHECK(got->recipient == k_phone);
  CHECK(got->conversation == "wa-main:" + k_phone);
  CHECK(got->subject == k_subject);
  CHECK(got->idempotency_key == k_idempotency_key);
  CHECK(got->platform_message_id == k_wamid);
  CHECK(got->message == record("out_1", k_phone, k_subject).message);
  CHECK(box->get("acme", "out_2")->error_title == k_error_title);
  CHECK(box->get("acme", "out_2")->error_code == "131026");
  CHECK(box->find_by_platform_id("acme", "wa-main", k_wamid)->id == "out_1");
  // The digest names tenant and channel too.
  CHECK(box->find_by_platform_id("acme", "tg", k_wamid).err().code == errc::not_found);
  CHECK(box->find_by_platform_id("globex", "wa-main", k_wamid).err().code == errc::not_found);
  CHECK(box->find_by_idempotency_key("acme", "helpdesk", k_idempotency_key)->id == "out_1");
  CHECK(box->find_by_idempotency_key("acme", "crm", k_idempotency_key).err().code ==
        errc::not_found);
  CHECK(box->last_inbound("acme", "wa-main:" + k_phone).value() == 5000);
  CHECK(box->last_inbound("globex", "wa-main:" + k_phone).value() == 0);
  CHECK(box->peer_of("acme", k_pseudonym).value() == k_peer);
  // A replay of the key is still recognised.
  auto replay = record("out_3", k_phone, k_subject);
  replay.idempotency_key = k_idempotency_key;
  auto again = box->put(replay);
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
  CHECK(again->record.id == "out_1");
  // Erasure finds the subject's rows by its digest.
  CHECK(box->erase_subject("acme", k_subject).value() == 1);
  CHECK(box->last_inbound("acme", "wa-main:" + k_phone).value() == 0);
  CHECK(box->peer_of("acme", k_pseudonym).err().code == errc::not_found);
  CHECK(box->get("acme", "out_2").ok());
}

TEST_CASE("a sealed value moved to another row or column of the outbox does not open",
          "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->put(record("out_1", k_phone, k_subject)).ok());
    REQUIRE(box->put(record("out_2", "16505552222", "sub_b")).ok());
    REQUIRE(box->update(sent("out_1", k_wamid)).value());
    REQUIRE(box->update(sent("out_2", "wamid.other")).value());
  }
  SECTION("a record moved to another message") {
    raw_db raw(dir.path);
    raw.exec(
        "UPDATE outbox SET record = (SELECT record FROM outbox WHERE id = 'out_1') "
        "WHERE id = 'out_2'");
  }
  SECTION("a platform message id moved to another message") {
    raw_db raw(dir.path);
    raw.exec(
        "UPDATE outbox SET platform_message_id = (SELECT platform_message_id FROM outbox "
        "WHERE id = 'out_1') WHERE id = 'out_2'");
  }
  SECTION("a platform message id moved into the error title") {
    raw_db raw(dir.path);
    raw.exec("UPDATE outbox SET error_title = platform_message_id WHERE id = 'out_2'");
  }
  auto box = open_sqlite(dir.path);
  auto got = box->get("acme", "out_2");
  REQUIRE_FALSE(got.ok());
  CHECK(got.err().code == errc::internal);
  CHECK(box->get("acme", "out_1")->platform_message_id == k_wamid);
}

TEST_CASE("a lookup digest moved to another row finds no message rather than the wrong one",
          "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->put(record("out_1", k_phone, k_subject)).ok());
    REQUIRE(box->put(record("out_2", "16505552222", "sub_b")).ok());
    REQUIRE(box->update(sent("out_1", k_wamid)).value());
    REQUIRE(box->update(sent("out_2", "wamid.other")).value());
  }
  {
    raw_db raw(dir.path);
    raw.exec(
        "UPDATE outbox SET platform_digest = (SELECT platform_digest FROM outbox "
        "WHERE id = 'out_1') WHERE id = 'out_2'");
    raw.exec("UPDATE outbox SET platform_digest = NULL WHERE id = 'out_1'");
  }
  auto box = open_sqlite(dir.path);
  // out_2's digest now says k_wamid, its sealed platform id does not.
  CHECK(box->find_by_platform_id("acme", "wa-main", k_wamid).err().code == errc::not_found);
  CHECK(box->find_by_platform_id("acme", "wa-main", "wamid.other").err().code == errc::not_found);
  CHECK(box->get("acme", "out_2")->platform_message_id == "wamid.other");
}

TEST_CASE(
    "an erasure leaves no copy of the subject's outbox rows in any file, WAL included, "
    "before any clean shutdown",
    "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  auto box = open_sqlite(dir.path);
  auto r = record("out_1", k_phone, k_subject);
  r.idempotency_key = k_idempotency_key;
  REQUIRE(box->put(r).ok());
  REQUIRE(box->put(record("out_2", "16505552222", "sub_b")).ok());
  REQUIRE(box->update(sent("out_1", k_wamid)).value());
  REQUIRE(box->set_last_inbound("acme", k_pseudonym, 6000, k_subject, k_peer).ok());
  // The sealed and digested forms of the subject's data: the master key opens the sealed ones,
  // so no copy may survive the erasure.
  std::vector<std::string> copies{stored(dir.path, "record", "out_1"),
                                  stored(dir.path, "platform_message_id", "out_1"),
                                  stored(dir.path, "platform_digest", "out_1"),
                                  stored(dir.path, "idempotency_digest", "out_1")};
  {
    raw_db raw(dir.path);
    copies.push_back(raw.scalar("SELECT peer FROM last_inbound WHERE peer IS NOT NULL"));
  }
  for (const auto& c : copies) {
    REQUIRE(c.size() >= 16);
  }
  REQUIRE(found_in(all_file_bytes(dir.path), copies).size() == copies.size());
  const std::string kept = stored(dir.path, "record", "out_2");

  REQUIRE(box->erase_subject("acme", k_subject).value() == 1);
  // The outbox is still open (no clean checkpoint): the files are what a kill would leave.
  const auto bytes = all_file_bytes(dir.path);
  CHECK(found_in(bytes, copies).empty());
  CHECK(bytes.find(kept) != std::string::npos);
  CHECK(wal_size(dir.path) == 0);
  CHECK(box->get("acme", "out_2").ok());
  // Erasing again (nothing left) still truncates what later writes put in the WAL.
  REQUIRE(box->put(record("out_3", "16505553333", "sub_b")).ok());
  REQUIRE(box->erase_subject("acme", k_subject).value() == 0);
  CHECK(wal_size(dir.path) == 0);
}

TEST_CASE("a retention delete leaves no copy of the expired outbox rows in any file",
          "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  auto box = open_sqlite(dir.path);
  REQUIRE(box->put(record("out_old", k_phone, k_subject)).ok());
  REQUIRE(box->update(sent("out_old", k_wamid, 1700000001000)).value());
  REQUIRE(box->put(record("out_new", "16505552222", "sub_b")).ok());
  REQUIRE(box->update(sent("out_new", "wamid.new", 1800000000000)).value());
  const std::vector<std::string> copies{stored(dir.path, "record", "out_old"),
                                        stored(dir.path, "platform_message_id", "out_old")};
  REQUIRE(found_in(all_file_bytes(dir.path), copies).size() == copies.size());

  REQUIRE(box->expire("acme", timestamp::from_millis(1750000000000)).value() == 1);
  CHECK(found_in(all_file_bytes(dir.path), copies).empty());
  CHECK(wal_size(dir.path) == 0);
  CHECK(box->get("acme", "out_new")->platform_message_id == "wamid.new");
}

// -- migrations -------------------------------------------------------------------------------

// The schema of the first release (v1) and the change of the second (v2), verbatim: the
// migration tests build files as those releases left them.
constexpr const char* k_v1_schema = R"sql(
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  conversation TEXT NOT NULL,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  purpose TEXT NOT NULL,
  message BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  platform_message_id TEXT,
  error_code TEXT NOT NULL,
  error_title TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  caller TEXT NOT NULL,
  idempotency_key TEXT
);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (tenant, caller, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX outbox_unfinished ON outbox (tenant, channel, seq)
  WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_platform_id ON outbox (tenant, channel, platform_message_id)
  WHERE platform_message_id IS NOT NULL;
CREATE INDEX outbox_subject ON outbox (tenant, subject);
CREATE INDEX outbox_updated ON outbox (tenant, updated_at_ms);
CREATE TABLE last_inbound (
  tenant TEXT NOT NULL,
  conversation TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  subject TEXT NOT NULL,
  PRIMARY KEY (tenant, conversation)
) WITHOUT ROWID;
CREATE INDEX last_inbound_subject ON last_inbound (tenant, subject);
PRAGMA user_version = 1;
)sql";

constexpr const char* k_v2_change = R"sql(
ALTER TABLE last_inbound ADD COLUMN peer BLOB;
PRAGMA user_version = 2;
)sql";

namespace {

/// A message row as v1 and v2 stored it: identifiers in clear, the message JSON sealed under
/// HMAC-SHA256(master key, "outbox") bound to tenant and id.
void insert_old_message(raw_db& raw, const store::outbound_record& r) {
  const std::string key = store::outbox_key(k_master_key);
  auto sealed = crypto::seal(key, r.message, r.tenant + std::string(1, '\0') + r.id);
  REQUIRE(sealed.ok());
  auto or_null = [](const std::string& v) { return v.empty() ? null() : text(v); };
  raw.run(
      "INSERT INTO outbox (id, tenant, channel, conversation, recipient, subject, purpose, "
      "message, state, attempts, platform_message_id, error_code, error_title, "
      "created_at_ms, updated_at_ms, caller, idempotency_key) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
      {text(r.id), text(r.tenant), text(r.channel), text(r.conversation), text(r.recipient),
       text(r.subject), text(r.purpose), blob(sealed.value()), text(store::to_string(r.state)),
       text(std::to_string(r.attempts)), or_null(r.platform_message_id), text(r.error_code),
       text(r.error_title), text(std::to_string(r.created_at.unix_ms)),
       text(std::to_string(r.updated_at.unix_ms)), text(r.caller), or_null(r.idempotency_key)});
}

/// The records of the migration tests, in the order they were put (ids out of order on purpose:
/// resume order is put order).
std::vector<store::outbound_record> old_records() {
  auto a = record("out_9", k_phone, k_subject);
  a.state = outbound_state::sent;
  a.attempts = 1;
  a.platform_message_id = k_wamid;
  a.idempotency_key = k_idempotency_key;
  auto b = record("out_3", "16505559999", "sub_other");
  b.state = outbound_state::failed;
  b.error_code = "131026";
  b.error_title = k_error_title;
  auto c = record("out_7", "16505557777", "sub_other");  // queued
  auto d = record("out_1", "16505556666", "sub_other");  // queued
  return {a, b, c, d};
}

/// The migrated outbox answers as the old one did, finds by every lookup, and puts after the
/// migrated messages.
void check_migrated(store::outbox& box, bool has_peer) {
  const auto old = old_records();
  for (const auto& r : old) {
    auto got = box.get("acme", r.id);
    REQUIRE(got.ok());
    CHECK(got->recipient == r.recipient);
    CHECK(got->conversation == r.conversation);
    CHECK(got->subject == r.subject);
    CHECK(got->message == r.message);
    CHECK(got->state == r.state);
    CHECK(got->attempts == r.attempts);
    CHECK(got->platform_message_id == r.platform_message_id);
    CHECK(got->error_code == r.error_code);
    CHECK(got->error_title == r.error_title);
    CHECK(got->idempotency_key == r.idempotency_key);
    CHECK(got->caller == r.caller);
    CHECK(got->created_at.unix_ms == r.created_at.unix_ms);
  }
  CHECK(box.find_by_platform_id("acme", "wa-main", k_wamid)->id == "out_9");
  CHECK(box.find_by_idempotency_key("acme", "helpdesk", k_idempotency_key)->id == "out_9");
  CHECK(box.last_inbound("acme", "wa-main:" + k_phone).value() == 5000);
  if (has_peer) {
    CHECK(box.peer_of("acme", k_pseudonym).value() == k_peer);
  }
  REQUIRE(box.put(record("out_0", "16505555555", "sub_other")).ok());
  auto left = box.unfinished("acme", "wa-main", 10).value();
  REQUIRE(left.size() == 3);
  CHECK(left[0].id == "out_7");
  CHECK(left[1].id == "out_1");
  CHECK(left[2].id == "out_0");
  CHECK(box.erase_subject("acme", k_subject).value() == 1);
  CHECK(box.last_inbound("acme", "wa-main:" + k_phone).value() == 0);
  CHECK(box.peer_of("acme", k_pseudonym).err().code == errc::not_found);
}

}  // namespace

TEST_CASE(
    "a schema v2 outbox is migrated: identifiers sealed and digested, none left in clear "
    "in any file, every lookup kept",
    "[outbox][integration][privacy]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    raw_db raw(dir.path);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(k_v1_schema);
    raw.exec(k_v2_change);
    for (const auto& r : old_records()) {
      insert_old_message(raw, r);
    }
    raw.run(
        "INSERT INTO last_inbound (tenant, conversation, at_ms, subject, peer) VALUES "
        "(?1, ?2, ?3, ?4, ?5)",
        {text("acme"), text("wa-main:" + k_phone), text("5000"), text(k_subject), null()});
    auto peer =
        crypto::seal(store::outbox_key(k_master_key), k_peer,
                     "peer" + std::string(1, '\0') + "acme" + std::string(1, '\0') + k_pseudonym);
    REQUIRE(peer.ok());
    raw.run(
        "INSERT INTO last_inbound (tenant, conversation, at_ms, subject, peer) VALUES "
        "(?1, ?2, ?3, ?4, ?5)",
        {text("acme"), text(k_pseudonym), text("6000"), text(k_subject), blob(peer.value())});
  }
  // In clear before (the test is not vacuous); not the message text, which v2 sealed already.
  REQUIRE(found_in(all_file_bytes(dir.path)) ==
          std::vector<std::string>{k_phone, k_phone_b64, "Quokka-2291", "16505559999", k_subject,
                                   "anon_7K2Q9D4M1X8T6R3B"});

  {
    auto box = open_sqlite(dir.path);
    INFO("files of the open outbox, right after the migration");
    CHECK(found_in(all_file_bytes(dir.path)).empty());
    CHECK(user_version(dir.path) == "4");
    check_migrated(*box, true);
  }
  CHECK(found_in(all_file_bytes(dir.path)).empty());
  // Bound to the key it was migrated with.
  auto wrong = store::make_sqlite_outbox(dir.path, config::durability::fsync, std::string(32, 'x'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().message ==
        "storage.master_key does not match the key this outbox was created with");
}

TEST_CASE("a schema v1 outbox is migrated through v2 and v3 to v4 and keeps its data",
          "[outbox][integration]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    raw_db raw(dir.path);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(k_v1_schema);
    for (const auto& r : old_records()) {
      insert_old_message(raw, r);
    }
    raw.run(
        "INSERT INTO last_inbound (tenant, conversation, at_ms, subject) VALUES "
        "(?1, ?2, ?3, ?4)",
        {text("acme"), text("wa-main:" + k_phone), text("5000"), text(k_subject)});
  }
  auto box = open_sqlite(dir.path);
  CHECK(user_version(dir.path) == "4");
  CHECK(found_in(all_file_bytes(dir.path)).empty());
  check_migrated(*box, false);
}

TEST_CASE("a schema v3 outbox gains the window heads and keeps its rows", "[outbox][integration]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->set_last_inbound("acme", "wa-main:" + k_phone, 5000, k_subject).ok());
  }
  {
    raw_db raw(dir.path);  // as version 3 left it
    raw.exec("DROP TABLE window_heads");
    raw.exec("PRAGMA user_version = 3");
  }
  auto box = open_sqlite(dir.path);
  CHECK(user_version(dir.path) == "4");
  CHECK(box->last_inbound("acme", "wa-main:" + k_phone).value() == 5000);
  CHECK_FALSE(box->window_head("acme").value().has_value());  // the start-up repair records it
  std::vector<store::outbox_write> head(1);
  head[0].what = store::outbox_write::kind::window_head;
  head[0].tenant = "acme";
  head[0].seq = 12;
  REQUIRE(box->apply(head).ok());
  CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{12});
}

TEST_CASE("a v2 outbox opened with another master key is not migrated and stays as it was",
          "[outbox][integration]") {
  temp_dir dir{"sb-outbox-rest"};
  {
    raw_db raw(dir.path);
    raw.exec(k_v1_schema);
    raw.exec(k_v2_change);
    insert_old_message(raw, old_records().front());
  }
  auto wrong = store::make_sqlite_outbox(dir.path, config::durability::fsync, std::string(32, 'x'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().code == errc::internal);
  CHECK(wrong.err().message.find("cannot be decrypted") != std::string::npos);
  CHECK(user_version(dir.path) == "2");
  auto box = open_sqlite(dir.path);
  CHECK(box->get("acme", "out_9")->recipient == k_phone);
}

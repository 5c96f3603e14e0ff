// The privacy-store contract (consent, export, erasure, retention, audit, deletion requests), run
// against the in-memory log and the SQLite log; then what only the SQLite log promises: nothing
// readable at rest, a store bound to its master key, and the migration of a v1 (plaintext) store.
// Real database files in fresh temporary directories.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/delivery_store.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"
#include "support/fixtures.hpp"

using namespace sb;

namespace {

using test::all_file_bytes;
using test::raw_db;
using test::store_support::append;
using test::store_support::erase;
using test::store_support::export_of;
using test::store_support::make_event;
using test::store_support::memory_backend;
using test::store_support::pg_backend;
using test::store_support::open_sqlite;
using test::store_support::privacy;
using test::store_support::read_all;
using test::store_support::seqs;
using test::store_support::sqlite_backend;

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("sb-privacy") {}
};

store::dead_letter letter(const std::string& tenant, std::uint64_t seq,
                          std::int64_t failed_ms = 1764392400500) {
  store::dead_letter d;
  d.tenant = tenant;
  d.subscriber = "hook";
  d.seq = seq;
  d.event_id = "evt_" + std::to_string(seq);
  d.attempts = 8;
  d.last_error = "HTTP 500";
  d.failed_at = timestamp::from_millis(failed_ms);
  return d;
}

store::consent_record consent(const std::string& tenant, const std::string& subject, bool marketing,
                              std::int64_t at_ms = 1000) {
  store::consent_record r;
  r.tenant = tenant;
  r.subject = subject;
  r.granted["marketing"] = marketing;
  r.updated_at = timestamp::from_millis(at_ms);
  return r;
}

std::set<std::string> file_names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out.insert(entry.path().filename().string());
  }
  return out;
}

}  // namespace

// -- both backends ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a consent record is stored, replaced and listed per tenant", "[privacy]",
                   memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto p = privacy(stores);
  CHECK(p->consents("acme").empty());

  auto a = consent("acme", "sub_a", false);
  a.granted["ai"] = true;
  REQUIRE(p->put_consent(a).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_b", true)).ok());
  REQUIRE(p->put_consent(consent("globex", "sub_a", true)).ok());
  auto replaced = consent("acme", "sub_b", false, 2000);
  replaced.restricted = true;
  REQUIRE(p->put_consent(replaced).ok());

  auto all = p->consents("acme");
  REQUIRE(all.size() == 2);
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.subject < y.subject; });
  CHECK(all[0].tenant == "acme");
  CHECK(all[0].subject == "sub_a");
  CHECK(all[0].granted == std::map<std::string, bool>{{"ai", true}, {"marketing", false}});
  CHECK_FALSE(all[0].restricted);
  CHECK(all[1].subject == "sub_b");
  CHECK(all[1].granted == std::map<std::string, bool>{{"marketing", false}});
  CHECK(all[1].restricted);
  CHECK(all[1].updated_at.unix_ms == 2000);
  REQUIRE(p->consents("globex").size() == 1);
  CHECK(p->consents("globex")[0].granted.at("marketing"));

  auto bad = consent("acme", "sub_c", true);
  bad.granted["Marketing, or not"] = true;
  auto st = p->put_consent(bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == errc::bad_request);
  CHECK(p->put_consent(consent("acme", "", true)).err().code == errc::bad_request);
  CHECK(p->consents("acme").size() == 2);
}

TEMPLATE_TEST_CASE("a subject's export lists its events in seq order, decrypted, up to a limit",
                   "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme",
                 {make_event("acme", "wa", "m1", "sub_a"), make_event("acme", "wa", "m2", "sub_b"),
                  make_event("acme", "wa", "m3", "")}},
                {"globex", {make_event("globex", "wa", "g1", "sub_a")}}});
  append(*log, {{"acme", {make_event("acme", "tg", "m4", "sub_a")}}});

  auto a = export_of(*p, "acme", "sub_a");
  CHECK(seqs(a) == std::vector<std::uint64_t>{1, 4});
  CHECK(a[0].subject == "sub_a");
  CHECK(a[0].type == "message");
  CHECK(a[0].conversation == "wa:peer-sub_a");
  CHECK(a[0].json.find("\"text\":\"text of m1\"") != std::string::npos);
  CHECK(a[1].json.find("\"text\":\"text of m4\"") != std::string::npos);
  CHECK(seqs(export_of(*p, "acme", "sub_a", 1)) == std::vector<std::uint64_t>{1});
  CHECK(seqs(export_of(*p, "globex", "sub_a")) == std::vector<std::uint64_t>{1});
  CHECK(export_of(*p, "acme", "sub_nobody").empty());
  CHECK(export_of(*p, "acme", "").empty());  // "" is "no subject", never a person

  // The stream's reads carry the subject too (readers check consent by it).
  auto events = read_all(*log, "acme");
  REQUIRE(events.size() == 4);
  CHECK(events[0].subject == "sub_a");
  CHECK(events[1].subject == "sub_b");
  CHECK(events[2].subject.empty());
  CHECK(events[2].json.find("\"text\":\"text of m3\"") != std::string::npos);
}

TEMPLATE_TEST_CASE(
    "erasing a subject removes its events, dead letters and consent, and keeps its dedupe keys as "
    "tombstones",
    "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = privacy(stores);
  auto delivery = stores.delivery;
  append(*log,
         {{"acme",
           {make_event("acme", "wa", "a1", "sub_a"), make_event("acme", "wa", "b1", "sub_b"),
            make_event("acme", "wa", "a2", "sub_a"),
            make_event("acme", "wa", "r1", "sub_a", 1764392400123, event_type::consent_changed)}},
          {"globex", {make_event("globex", "wa", "a1", "sub_a")}}});
  for (std::uint64_t seq : {1, 2, 3}) {
    REQUIRE(delivery->add_dead_letter(letter("acme", seq)).ok());
  }
  REQUIRE(delivery->add_dead_letter(letter("globex", 1)).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_a", true)).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_b", true)).ok());

  auto out = erase(*p, "acme", "sub_a");
  CHECK(out.events == 3);       // the consent.changed receipt goes too (privacy_store.hpp)
  CHECK(out.dedupe_keys == 3);  // kept, as tombstones
  CHECK(out.dead_letters == 2);
  CHECK(out.key_destroyed);
  CHECK(out.subjects == std::vector<std::string>{"sub_a"});

  CHECK(export_of(*p, "acme", "sub_a").empty());
  CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{2});
  CHECK(log->head("acme") == 4);  // a seq is never issued twice
  auto letters = delivery->dead_letters("acme", "hook", 0, 100);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].seq == 2);
  auto consents = p->consents("acme");
  REQUIRE(consents.size() == 1);
  CHECK(consents[0].subject == "sub_b");
  // Another tenant's subject of the same id is another person.
  CHECK(export_of(*p, "globex", "sub_a").size() == 1);
  CHECK(delivery->dead_letters("globex", "hook", 0, 100).size() == 1);

  // Idempotent: nothing is left to find.
  auto again = erase(*p, "acme", "sub_a");
  CHECK(again.events == 0);
  CHECK(again.dedupe_keys == 0);
  CHECK(again.dead_letters == 0);
  CHECK_FALSE(again.key_destroyed);

  // An erased person stays erased: a platform retry or a replay of an erased event is still a
  // duplicate (of the erased seq), stored nowhere.
  for (const char* key : {"a1", "a2", "r1"}) {
    auto retry = append(*log, {{"acme", {make_event("acme", "wa", key, "sub_a")}}});
    CHECK(retry[0][0].duplicate);
  }
  CHECK(export_of(*p, "acme", "sub_a").empty());
  CHECK(log->head("acme") == 4);
  // A new message of the person is stored as usual.
  auto fresh = append(*log, {{"acme", {make_event("acme", "wa", "a9", "sub_a")}}});
  CHECK_FALSE(fresh[0][0].duplicate);
  CHECK(fresh[0][0].seq == 5);
  CHECK(seqs(export_of(*p, "acme", "sub_a")) == std::vector<std::uint64_t>{5});

  auto empty = p->erase_subject("acme", "");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.err().code == errc::bad_request);
  CHECK(read_all(*log, "acme").size() == 2);
}

TEMPLATE_TEST_CASE(
    "erasing a channel erases its subjects, its other events and its quarantine, and keeps its "
    "privacy receipts and dedupe tombstones",
    "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = privacy(stores);
  auto delivery = stores.delivery;
  append(*log, {{"acme",
                 {make_event("acme", "shop", "o1", "sub_c"), make_event("acme", "shop", "o2", ""),
                  make_event("acme", "wa", "w1", "sub_e"),
                  make_event("acme", "shop", "o3", "sub_d"), make_event("acme", "wa", "w2", "")}},
                {"globex", {make_event("globex", "shop", "o1", "sub_c")}}});
  // An earlier customers/redact's receipt (no subject: it outlives every later request).
  append(
      *log,
      {{"acme",
        {make_event("acme", "shop", "redact-1", "", 1764392400123, event_type::privacy_redact)}}});
  REQUIRE(delivery->add_dead_letter(letter("acme", 2)).ok());
  REQUIRE(delivery->add_dead_letter(letter("acme", 3)).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_d", true)).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_e", true)).ok());
  REQUIRE(log->quarantine({0, "acme", "shop", "bad json", timestamp::from_millis(5), "{"}).ok());
  REQUIRE(log->quarantine({0, "acme", "wa", "bad json", timestamp::from_millis(6), "["}).ok());

  auto r = p->erase_channel("acme", "shop");
  INFO((r ? std::string() : r.err().message));
  REQUIRE(r.ok());
  CHECK(r->events == 3);
  CHECK(r->dedupe_keys == 3);
  CHECK(r->dead_letters == 1);
  CHECK(r->key_destroyed);
  CHECK(std::set<std::string>(r->subjects.begin(), r->subjects.end()) ==
        std::set<std::string>{"sub_c", "sub_d"});

  CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{3, 5, 6});
  CHECK(read_all(*log, "acme")[2].type == "privacy.redact");
  CHECK(export_of(*p, "acme", "sub_c").empty());
  // Retries and replays of what the channel held stay duplicates.
  for (const char* key : {"o1", "o2", "o3"}) {
    CHECK(append(*log, {{"acme", {make_event("acme", "shop", key, "")}}})[0][0].duplicate);
  }
  CHECK(log->head("acme") == 6);
  CHECK(export_of(*p, "acme", "sub_e").size() == 1);
  auto consents = p->consents("acme");
  REQUIRE(consents.size() == 1);
  CHECK(consents[0].subject == "sub_e");
  auto letters = delivery->dead_letters("acme", "hook", 0, 100);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].seq == 3);
  auto quarantined = log->quarantined("acme");
  REQUIRE(quarantined.size() == 1);
  CHECK(quarantined[0].channel == "wa");
  CHECK(read_all(*log, "globex").size() == 1);

  auto again = p->erase_channel("acme", "shop");
  REQUIRE(again.ok());
  CHECK(again->events == 0);
  CHECK(again->subjects.empty());
  CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{3, 5, 6});
  CHECK(p->erase_channel("acme", "").err().code == errc::bad_request);
}

TEMPLATE_TEST_CASE("retention deletes what is older than the cutoff and never reuses a seq",
                   "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = privacy(stores);
  auto delivery = stores.delivery;
  append(*log, {{"acme",
                 {make_event("acme", "wa", "k1", "sub_a", 1000),
                  make_event("acme", "wa", "k2", "sub_b", 2000),
                  make_event("acme", "wa", "k3", "", 3000)}},
                {"globex", {make_event("globex", "wa", "k1", "sub_a", 1000)}}});
  REQUIRE(delivery->add_dead_letter(letter("acme", 1, 1500)).ok());
  REQUIRE(delivery->add_dead_letter(letter("acme", 2, 2500)).ok());
  REQUIRE(delivery->add_dead_letter(letter("globex", 1, 1500)).ok());
  REQUIRE(log->quarantine({0, "acme", "wa", "bad", timestamp::from_millis(1200), "{"}).ok());
  REQUIRE(log->quarantine({0, "acme", "wa", "bad", timestamp::from_millis(2600), "["}).ok());
  REQUIRE(p->put_consent(consent("acme", "sub_a", false)).ok());

  auto none = p->expire("acme", timestamp::from_millis(1000));  // strictly before
  REQUIRE(none.ok());
  CHECK(none->events == 0);
  CHECK(none->dead_letters == 0);
  CHECK(none->quarantined == 0);

  auto swept = p->expire("acme", timestamp::from_millis(2500));
  INFO((swept ? std::string() : swept.err().message));
  REQUIRE(swept.ok());
  CHECK(swept->events == 2);
  CHECK(swept->dedupe_keys == 0);  // created now, long after the cutoff
  CHECK(swept->dead_letters == 1);
  CHECK(swept->quarantined == 1);
  CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{3});
  CHECK(export_of(*p, "acme", "sub_a").empty());
  CHECK(delivery->dead_letters("acme", "hook", 0, 100).size() == 1);
  CHECK(log->quarantined("acme").size() == 1);
  CHECK(p->consents("acme").size() == 1);  // a choice outlives the events
  CHECK(read_all(*log, "globex").size() == 1);
  CHECK(delivery->dead_letters("globex", "hook", 0, 100).size() == 1);

  // The dedupe keys are still there: a late retry of an expired event is still a duplicate.
  auto retry = append(*log, {{"acme", {make_event("acme", "wa", "k1", "sub_a", 4000)}}});
  CHECK(retry[0][0].duplicate);
  CHECK(retry[0][0].seq == 1);

  // Keys created before a cutoff in the future go; the head stays, so seqs continue.
  auto later = p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000));
  REQUIRE(later.ok());
  CHECK(later->events == 1);
  CHECK(later->dedupe_keys == 3);
  CHECK(read_all(*log, "acme").empty());
  CHECK(log->head("acme") == 3);
  auto next = append(*log, {{"acme", {make_event("acme", "wa", "k1", "sub_a", 5000)}}});
  CHECK_FALSE(next[0][0].duplicate);
  CHECK(next[0][0].seq == 4);
}

TEMPLATE_TEST_CASE("the audit log lists a tenant's entries after an id, oldest first, bounded",
                   "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto p = privacy(stores);
  std::vector<std::uint64_t> acme_ids;
  for (int i = 0; i < 5; ++i) {
    for (const char* tenant : {"acme", "globex"}) {
      store::audit_entry e;
      e.id = 999;  // ignored
      e.at = timestamp::from_millis(1000 + i);
      e.tenant = tenant;
      e.actor = "subscriber:helpdesk";
      e.action = i % 2 == 0 ? "erase" : "export";
      e.subject = "sub_" + std::to_string(i);
      e.outcome = "ok";
      e.detail = "events=" + std::to_string(i);
      auto id = p->audit(e);
      REQUIRE(id.ok());
      if (std::string(tenant) == "acme") {
        acme_ids.push_back(id.value());
      }
    }
  }
  REQUIRE(std::is_sorted(acme_ids.begin(), acme_ids.end()));
  CHECK(std::set<std::uint64_t>(acme_ids.begin(), acme_ids.end()).size() == 5);

  auto first = p->audit_log("acme", 0, 3);
  REQUIRE(first.size() == 3);
  CHECK(first[0].id == acme_ids[0]);
  CHECK(first[0].tenant == "acme");
  CHECK(first[0].actor == "subscriber:helpdesk");
  CHECK(first[0].action == "erase");
  CHECK(first[0].subject == "sub_0");
  CHECK(first[0].outcome == "ok");
  CHECK(first[0].detail == "events=0");
  CHECK(first[0].at.unix_ms == 1000);
  CHECK(first[2].id == acme_ids[2]);
  auto rest = p->audit_log("acme", first.back().id, 100);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].id == acme_ids[3]);
  CHECK(rest[1].id == acme_ids[4]);
  CHECK(p->audit_log("acme", acme_ids[4], 100).empty());
  CHECK(p->audit_log("acme", 0, 0).empty());
  for (const auto& e : p->audit_log("globex", 0, 100)) {
    CHECK(e.tenant == "globex");
  }
  CHECK(p->audit_log("globex", 0, 100).size() == 5);
  CHECK(p->audit_log("initech", 0, 100).empty());

  // Erasure keeps the audit trail: it is the proof of what was done.
  erase(*p, "acme", "sub_0");
  CHECK(p->audit_log("acme", 0, 100).size() == 5);
}

TEMPLATE_TEST_CASE("a deletion request is found by its code from any tenant, and updated",
                   "[privacy]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto p = privacy(stores);
  store::deletion_request r;
  r.code = "del_5KQ2C7WZ3N4B6Y8T";
  r.tenant = "acme";
  r.channel = "fb";
  r.subject = "sub_a";
  r.state = "failed";
  r.requested_at = timestamp::from_millis(1000);
  REQUIRE(p->put_deletion_request(r).ok());
  r.state = "completed";
  r.completed_at = timestamp::from_millis(2000);
  REQUIRE(p->put_deletion_request(r).ok());

  auto found = p->find_deletion_request("del_5KQ2C7WZ3N4B6Y8T");
  REQUIRE(found.ok());
  CHECK(found->tenant == "acme");
  CHECK(found->channel == "fb");
  CHECK(found->subject == "sub_a");
  CHECK(found->state == "completed");
  CHECK(found->requested_at.unix_ms == 1000);
  CHECK(found->completed_at.unix_ms == 2000);

  auto missing = p->find_deletion_request("del_nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == errc::not_found);
  r.code.clear();
  CHECK(p->put_deletion_request(r).err().code == errc::bad_request);

  // The status stays answerable after the subject is erased.
  erase(*p, "acme", "sub_a");
  CHECK(p->find_deletion_request("del_5KQ2C7WZ3N4B6Y8T").ok());
}

// -- SQLite only --------------------------------------------------------------------------------

// Also the peer id (a WhatsApp phone number, in the conversation) and the dedupe key (a WhatsApp
// message id encodes the phone number).
TEST_CASE("no message text or quarantined body is readable in the store's files", "[privacy]") {
  temp_dir dir;
  const std::string text = "Zanzibar periwinkle umbrella 7781";
  const std::string conversation = "wa:16505559876";
  const std::string wamid = "wamid.HBgLMTY1MDU1NTk4NzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
  const std::string body = "{\"quarantined\":\"Xylophone-marmalade-4417\"";
  const std::string subject_text = "Quetzal ochre lantern 2290";
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto e = make_event("acme", "wa", wamid, "sub_a");
    e.content.text = text;
    e.conversation = conversation;
    e.id = "evt_m1";  // the gateway's own id (a ULID), not the platform's
    e.platform_event_id = "m1";
    auto f = make_event("acme", "wa", "m2", "");
    f.content.text = subject_text;
    append(*log, {{"acme", {e, f}}});
    REQUIRE(log->quarantine({0, "acme", "wa", "bad json", timestamp::from_millis(5), body}).ok());
    // Readable through the store...
    auto events = read_all(*log, "acme");
    REQUIRE(events.size() == 2);
    CHECK(events[0].json.find(text) != std::string::npos);
    CHECK(events[0].conversation == conversation);
    CHECK(events[1].json.find(subject_text) != std::string::npos);
    REQUIRE(log->quarantined("acme").size() == 1);
    CHECK(log->quarantined("acme")[0].body == body);
    // ...but not in the files, with the WAL not yet checkpointed.
    CHECK(file_names(dir.path).count("switchboard.db-wal") == 1);
    auto bytes = all_file_bytes(dir.path);
    CHECK(bytes.find(text) == std::string::npos);
    CHECK(bytes.find(subject_text) == std::string::npos);
    CHECK(bytes.find("Xylophone-marmalade") == std::string::npos);
    CHECK(bytes.find("16505559876") == std::string::npos);
    CHECK(bytes.find("HBgLMTY1MDU1NTk4NzY") == std::string::npos);
  }
  // Nor after the last connection checkpointed into the database file.
  auto bytes = all_file_bytes(dir.path);
  CHECK(bytes.find(text) == std::string::npos);
  CHECK(bytes.find(subject_text) == std::string::npos);
  CHECK(bytes.find("Xylophone-marmalade") == std::string::npos);
  CHECK(bytes.find("16505559876") == std::string::npos);
  CHECK(bytes.find("HBgLMTY1MDU1NTk4NzY") == std::string::npos);
  // And everything reads back after a restart; the message id still dedupes.
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  CHECK(read_all(*log, "acme")[0].json.find(text) != std::string::npos);
  CHECK(read_all(*log, "acme")[0].conversation == conversation);
  auto retry = append(*log, {{"acme", {make_event("acme", "wa", wamid, "sub_a")}}});
  CHECK(retry[0][0].duplicate);
  CHECK(retry[0][0].seq == 1);
  CHECK(log->quarantined("acme")[0].body == body);
}

TEST_CASE("a store opened with another master key is refused and left unchanged", "[privacy]") {
  temp_dir dir;
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    append(*log, {{"acme", {make_event("acme", "wa", "m1", "sub_a")}}});
  }
  auto wrong = store::make_sqlite_stores(dir.path, config::durability::none, std::string(32, 'x'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().code == errc::internal);
  CHECK(wrong.err().message ==
        "storage.master_key does not match the key this store was created with");

  auto short_key =
      store::make_sqlite_stores(dir.path, config::durability::none, "0123456789abcdef");
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.err().message.find("32 bytes") != std::string::npos);

  auto stores = open_sqlite(dir.path);

  auto& log = stores.log;
  auto events = read_all(*log, "acme");
  REQUIRE(events.size() == 1);
  CHECK(events[0].json.find("text of m1") != std::string::npos);
}

TEST_CASE("after an erasure the files hold neither the subject's rows nor its wrapped key",
          "[privacy]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme",
                 {make_event("acme", "wa", "m1", "sub_a"), make_event("acme", "wa", "m2", "sub_b"),
                  make_event("acme", "wa", "m3", "sub_a")}}});
  std::string wrapped;
  std::string sealed;
  {
    raw_db raw(dir.path);
    wrapped = raw.scalar(
        "SELECT wrapped_key FROM subject_keys WHERE tenant = 'acme' AND subject = 'sub_a'");
    sealed = raw.scalar("SELECT json FROM events WHERE tenant = 'acme' AND seq = 3");
  }
  REQUIRE(wrapped.size() == 60);
  REQUIRE(sealed.size() > 60);
  REQUIRE(all_file_bytes(dir.path).find(wrapped) != std::string::npos);

  auto out = erase(*p, "acme", "sub_a");
  CHECK(out.key_destroyed);
  auto bytes = all_file_bytes(dir.path);  // the store is still open
  CHECK(bytes.find(wrapped) == std::string::npos);
  CHECK(bytes.find(sealed) == std::string::npos);
  raw_db raw(dir.path);
  CHECK(raw.scalar("SELECT COUNT(*) FROM subject_keys WHERE subject = 'sub_a'") == "0");
  CHECK(raw.scalar("SELECT COUNT(*) FROM subject_keys WHERE subject = 'sub_b'") == "1");
}

TEST_CASE("a subject seen again after its erasure gets a new key that survives a restart",
          "[privacy]") {
  temp_dir dir;
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto p = privacy(stores);
    append(*log, {{"acme", {make_event("acme", "wa", "m1", "sub_a")}}});
    CHECK(read_all(*log, "acme").size() == 1);  // the reader caches the key
    erase(*p, "acme", "sub_a");
    // A stale cached key would seal this event under a key the store no longer has.
    append(*log, {{"acme", {make_event("acme", "wa", "m2", "sub_a")}}});
    auto events = read_all(*log, "acme");
    REQUIRE(events.size() == 1);
    CHECK(events[0].json.find("text of m2") != std::string::npos);
  }
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto events = read_all(*log, "acme");
  REQUIRE(events.size() == 1);
  CHECK(events[0].seq == 2);
  CHECK(events[0].json.find("text of m2") != std::string::npos);
}

TEST_CASE("readers decrypt every event while the same subject is erased and seen again",
          "[privacy]") {
  // Readers cache keys; an erasure evicts them and the next event of the subject gets a new key,
  // while a reader may still hold a snapshot with the old rows and the old key. A stress test:
  // the interleavings are whatever the scheduler makes of two readers and a writer.
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto r = log->read("acme", 0, 1000, {});
        if (!r.ok()) {
          failures.fetch_add(1);
          continue;
        }
        for (const auto& e : r->events) {
          if (e.json.find("text of ") == std::string::npos) {
            failures.fetch_add(1);
          }
        }
        auto x = p->subject_events("acme", "sub_a", 1000);
        if (!x.ok()) {
          failures.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    const std::string n = std::to_string(round);
    append(*log, {{"acme",
                   {make_event("acme", "wa", "a" + n, "sub_a"),
                    make_event("acme", "wa", "b" + n, "sub_b")}}});
    if (round % 2 == 1) {
      erase(*p, "acme", "sub_a");
    }
  }
  // Let the readers see the final state too (bounded: a guard, not a timing assertion).
  const int seen = reads.load();
  for (int i = 0; i < 2000 && reads.load() < seen + 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  done.store(true);
  for (auto& t : readers) {
    t.join();
  }
  CHECK(failures.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(read_all(*log, "acme").size() == 200);  // every sub_b event; sub_a's all erased
}

TEST_CASE("a row moved to another seq or tenant does not decrypt", "[privacy]") {
  temp_dir dir;
  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    append(*log,
           {{"acme", {make_event("acme", "wa", "m1", ""), make_event("acme", "wa", "m2", "")}}});
  }
  {
    raw_db raw(dir.path);
    raw.exec("UPDATE events SET json = (SELECT json FROM events WHERE seq = 1) WHERE seq = 2");
  }
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto r = log->read("acme", 0, 10, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::internal);
  CHECK(r.err().message.find("event 2 of tenant acme cannot be decrypted") != std::string::npos);
  auto first = log->read("acme", 0, 1, {});
  REQUIRE(first.ok());
  CHECK(first->events.size() == 1);
}

// The schema of the previous release, verbatim: the migration test builds a store as it left it.
constexpr const char* k_v1_schema = R"sql(
CREATE TABLE events (
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  channel TEXT NOT NULL,
  dedupe_key TEXT,
  type TEXT NOT NULL,
  conversation TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX events_received_at ON events (received_at_ms);
CREATE TABLE tenant_heads (
  tenant TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE dedupe (
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, channel, key)
) WITHOUT ROWID;
CREATE INDEX dedupe_created_at ON dedupe (created_at_ms);
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  body BLOB
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, id);
CREATE TABLE cursors (
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tenant, subscriber)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  subscriber TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at_ms INTEGER NOT NULL
);
CREATE INDEX dead_letters_subscriber ON dead_letters (tenant, subscriber, id);
PRAGMA user_version = 1;
)sql";

TEST_CASE("a version 1 store is migrated: rows sealed per subject, subjects filled, plaintext gone",
          "[privacy]") {
  temp_dir dir;
  const std::string secret_text = "Bergamot velvet harmonica 5531";
  const std::string wamid = "wamid.HBgLMTY1MDU1NTk4NzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
  std::vector<event> events{
      make_event("acme", "wa", "k1", "sub_a"), make_event("acme", "wa", "k2", ""),
      make_event("acme", "wa", "k3", "sub_a"), make_event("globex", "tg", "k1", "sub_g")};
  events[0].content.text = secret_text;
  events[1].dedupe_key = wamid;
  events[1].id = "evt_k2";
  events[1].conversation = "wa:16505559876";
  std::vector<std::string> v1_json;
  {
    raw_db raw(dir.path);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(k_v1_schema);
    std::map<std::string, std::uint64_t> heads;
    for (auto& e : events) {
      e.seq = ++heads[e.tenant];
      v1_json.push_back(to_json(e));
      raw.insert(
          "INSERT INTO events (tenant, seq, channel, dedupe_key, type, conversation, event_id, "
          "received_at_ms, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
          {e.tenant, std::to_string(e.seq), e.channel.name, e.dedupe_key, e.type, e.conversation,
           e.id, std::to_string(e.received_at.unix_ms), v1_json.back()});
      raw.insert(
          "INSERT INTO dedupe (tenant, channel, key, seq, created_at_ms) VALUES (?1, ?2, ?3, ?4, "
          "?5)",
          {e.tenant, e.channel.name, e.dedupe_key, std::to_string(e.seq), "1764392400000"});
    }
    for (const auto& [tenant, seq] : heads) {
      raw.insert("INSERT INTO tenant_heads (tenant, seq) VALUES (?1, ?2)",
                 {tenant, std::to_string(seq)});
    }
    raw.insert(
        "INSERT INTO quarantine (tenant, channel, reason, received_at_ms, body) VALUES (?1, ?2, "
        "?3, ?4, CAST(?5 AS BLOB))",
        {"acme", "wa", "bad json", "5", "{\"Quince-saffron-0042\""});
    raw.insert(
        "INSERT INTO dead_letters (tenant, subscriber, seq, event_id, attempts, last_error, "
        "failed_at_ms) VALUES (?1, 'hook', ?2, ?3, 8, 'HTTP 500', 1764392400500)",
        {"acme", "3", "evt_3"});
    raw.insert("INSERT INTO cursors (tenant, subscriber, seq) VALUES (?1, 'hook', ?2)",
               {"acme", "2"});
  }
  REQUIRE(all_file_bytes(dir.path).find(secret_text) != std::string::npos);

  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto p = privacy(stores);
    auto acme = read_all(*log, "acme");
    REQUIRE(acme.size() == 3);
    CHECK(acme[0].json == v1_json[0]);
    CHECK(acme[1].json == v1_json[1]);
    CHECK(acme[2].json == v1_json[2]);
    CHECK(acme[0].subject == "sub_a");
    CHECK(acme[1].subject.empty());
    CHECK(acme[1].conversation == "wa:16505559876");
    auto globex = read_all(*log, "globex");
    REQUIRE(globex.size() == 1);
    CHECK(globex[0].json == v1_json[3]);
    CHECK(globex[0].subject == "sub_g");
    CHECK(log->head("acme") == 3);
    REQUIRE(log->quarantined("acme").size() == 1);
    CHECK(log->quarantined("acme")[0].body == "{\"Quince-saffron-0042\"");
    CHECK(stores.delivery->cursor("acme", "hook") == 2);

    // Nothing of the plaintext is left in the files, not even in free pages or the WAL.
    auto bytes = all_file_bytes(dir.path);
    CHECK(bytes.find(secret_text) == std::string::npos);
    CHECK(bytes.find("Quince-saffron") == std::string::npos);
    CHECK(bytes.find("16505559876") == std::string::npos);
    CHECK(bytes.find("HBgLMTY1MDU1NTk4NzY") == std::string::npos);

    // Dedupe keys survived; the migrated subject is erasable with its dedupe keys and letters.
    auto dup = append(*log, {{"acme", {make_event("acme", "wa", wamid, "")}}});
    CHECK(dup[0][0].duplicate);
    CHECK(dup[0][0].seq == 2);
    auto out = erase(*p, "acme", "sub_a");
    CHECK(out.events == 2);
    CHECK(out.dedupe_keys == 2);
    CHECK(out.dead_letters == 1);
    CHECK(out.key_destroyed);
    CHECK(seqs(read_all(*log, "acme")) == std::vector<std::uint64_t>{2});
    auto next = append(*log, {{"acme", {make_event("acme", "wa", "k9", "sub_b")}}});
    CHECK(next[0][0].seq == 4);
  }
  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == test::store_support::k_schema_version);  // and on to the current version
  // Bound to the key it was migrated with.
  auto wrong = store::make_sqlite_stores(dir.path, config::durability::none, std::string(32, 'x'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().message ==
        "storage.master_key does not match the key this store was created with");
}

TEST_CASE("a retention sweep that deleted rows truncates the SQLite WAL, so no frame keeps them",
          "[privacy]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme",
                 {make_event("acme", "wa", "k1", "sub_a", 1000),
                  make_event("acme", "wa", "k2", "sub_b", 5000)}}});
  const std::string wal = dir.path + "/switchboard.db-wal";
  REQUIRE(std::filesystem::exists(wal));
  REQUIRE(std::filesystem::file_size(wal) > 0);
  auto swept = p->expire("acme", timestamp::from_millis(2000));
  REQUIRE(swept.ok());
  CHECK(swept->events == 1);
  CHECK(std::filesystem::file_size(wal) == 0);
}

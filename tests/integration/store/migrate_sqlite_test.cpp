// `switchboard migrate` (store/pg/migrate_sqlite.hpp): a single-node store, written through the
// stores a gateway opens, copied into an empty PostgreSQL database, reads back the same through
// the PostgreSQL stores, and the replicas carry on from it (seqs, dedupe, ids). A copy is all or
// nothing, and refused into a database that holds data, with another master key, or from a
// store in use.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/outbox.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/migrate_sqlite.hpp"
#include "store/pg/outbox.hpp"
#include "store/pg/pool.hpp"

using namespace sb;
using namespace sb::test::store_support;
using store::outbound_state;
using test::pg_cluster;
using test::temp_dir;

namespace {

const std::string k_peer = "16505550000";
const std::string k_pseudonym = "wa:anon_7K2Q9D4M1X8T6R3B";
/// A control-plane document (its form is the control plane's; the store keeps it sealed).
const std::string k_definition =
    R"({"v":1,"id":"kiosk","body":{"id":"kiosk"},"channels":[{"name":"tg","body":{"name":"tg",)"
    R"("type":"telegram","secret_token":"kiosk-secret-token-1"}}],"subscribers":[]})";

/// A connection of the test's own to `cluster`'s database.
store::pg::connection connect(const pg_cluster& cluster) {
  auto c = store::pg::connection::open(cluster.dsn());
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c);
  return std::move(c).value();
}

/// A one-value query of the test's own, as text.
std::string scalar(store::pg::connection& c, const char* sql) {
  auto q = c.exec(sql);
  INFO((q ? std::string() : q.err().message));
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  return std::string(q->text(0, 0));
}

std::shared_ptr<store::outbox> open_sqlite_outbox(const std::string& dir) {
  auto box = store::make_sqlite_outbox(dir, config::durability::none, k_master_key);
  INFO((box ? std::string() : box.err().message));
  REQUIRE(box);
  return box.value();
}

std::shared_ptr<store::outbox> open_pg_outbox(const pg_cluster& cluster) {
  auto box = store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), 2), k_master_key);
  INFO((box ? std::string() : box.err().message));
  REQUIRE(box);
  return box.value();
}

store::quarantined_body quarantined(const std::string& body) {
  store::quarantined_body b;
  b.tenant = "acme";
  b.channel = "shop";
  b.reason = "not JSON";
  b.received_at = timestamp::from_millis(1764392400000);
  b.body = body;
  b.headers = {{"X-Shopify-Topic", "orders/create"}};
  return b;
}

store::dead_letter letter(std::uint64_t seq) {
  store::dead_letter d;
  d.tenant = "acme";
  d.subscriber = "hook";
  d.seq = seq;
  d.event_id = "evt_" + std::to_string(seq);
  d.attempts = 8;
  d.last_error = "HTTP 500";
  d.failed_at = timestamp::from_millis(1764392401000);
  return d;
}

store::audit_entry audit_of(const std::string& action, const std::string& subject) {
  store::audit_entry e;
  e.tenant = "acme";
  e.at = timestamp::from_millis(1764392402000);
  e.actor = "subscriber:backend";
  e.action = action;
  e.subject = subject;
  e.outcome = "ok";
  e.detail = "events=3";
  return e;
}

/// Events of `tenant` with dedupe keys `<prefix>1..n`, subjects rotating over five people and
/// "" (none), channels over "tg" and "wa".
std::vector<event> events_of(const std::string& tenant, const std::string& prefix, int n) {
  std::vector<event> out;
  for (int i = 1; i <= n; ++i) {
    const std::string subject = i % 6 == 0 ? "" : "sub-" + std::to_string(i % 5);
    out.push_back(make_event(tenant, i % 2 == 0 ? "tg" : "wa", prefix + std::to_string(i), subject,
                             1764392400000 + i));
  }
  return out;
}

void require_same(const std::vector<store::stored_event>& got,
                  const std::vector<store::stored_event>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].seq == want[i].seq);
    CHECK(got[i].type == want[i].type);
    CHECK(got[i].subject == want[i].subject);
    CHECK(got[i].conversation == want[i].conversation);
    CHECK(got[i].json == want[i].json);
  }
}

/// What the test reads back from the SQLite stores before the copy, to compare with PostgreSQL.
struct snapshot {
  std::map<std::string, std::vector<store::stored_event>> events;  // by tenant
  std::map<std::string, std::uint64_t> heads;
  std::vector<store::stored_event> export_sub1;
  std::vector<store::consent_record> consents;
  std::vector<store::audit_entry> audit;
  std::vector<store::dead_letter> dead_letters;
  std::vector<store::quarantined_body> quarantined;
  std::uint64_t quarantine_used = 0;
  store::outbound_record out_1;
  store::outbound_record out_2;
};

/// Writes a store through the stores a gateway opens (two tenants, five people and events
/// without one, an erased person, quarantine, consent, audit, delivery state, privacy requests,
/// outbound messages and window rows) into `dir`, and reads back what it holds.
snapshot write_store(const std::string& dir) {
  snapshot s;
  auto lite = open_sqlite(dir);
  auto box = open_sqlite_outbox(dir);
  append(*lite.log,
         {{"acme", events_of("acme", "a", 40)}, {"globex", events_of("globex", "g", 25)}});
  // A person's events, then their erasure: the events and the key go, the dedupe keys stay (the
  // erasure merges the keys claimed so far into the dedupe table).
  append(*lite.log, {{"acme",
                      {make_event("acme", "tg", "erased-1", "sub-erased"),
                       make_event("acme", "tg", "erased-2", "sub-erased")}}});
  CHECK(erase(*privacy(lite), "acme", "sub-erased").events == 2);
  // Appended after the erasure: their dedupe keys are claims held by the SQLite writer, not
  // merged into its table yet.
  append(*lite.log, {{"acme", events_of("acme", "late", 12)}});

  REQUIRE(lite.log->quarantine(quarantined("{not json"), 1 << 20).value() == 1);
  REQUIRE(lite.log->quarantine(quarantined("{dropped"), 1 << 20).value() == 2);
  REQUIRE(lite.log->drop_quarantined("acme", 2).ok());  // SQLite never issues id 2 again

  store::consent_record c;
  c.tenant = "acme";
  c.subject = "sub-1";
  c.granted = {{"marketing", true}, {"analytics", false}};
  c.updated_at = timestamp::from_millis(1764392403000);
  REQUIRE(lite.privacy->put_consent(c).ok());
  c.tenant = "globex";
  c.subject = "sub-2";
  c.granted = {};
  c.restricted = true;
  REQUIRE(lite.privacy->put_consent(c).ok());
  // A tenant the control plane defines, its document sealed (a secret inside);
  // its audit entry comes first, so acme's last id is the highest.
  auto created = audit_of("tenant_create", "");
  created.tenant = "kiosk";
  created.actor = "operator:ops";
  REQUIRE(
      lite.definitions->put({"kiosk", k_definition, 1764392407000}, created, std::nullopt).ok());

  for (const auto& [action, subject] : {std::pair<std::string, std::string>{"export", "sub-1"},
                                        {"erase", "sub-erased"},
                                        {"consent", "sub-1"}}) {
    REQUIRE(lite.privacy->audit(audit_of(action, subject)).ok());
  }

  REQUIRE(lite.delivery->save_cursor("acme", "hook", 30).ok());
  REQUIRE(lite.delivery->save_cursor("globex", "hook", 7).ok());
  REQUIRE(lite.delivery->add_dead_letter(letter(3)).value() == 1);
  REQUIRE(lite.delivery->add_dead_letter(letter(4)).value() == 2);
  REQUIRE(lite.delivery->take_dead_letter("acme", "hook", 2).ok());  // redriven
  REQUIRE(
      lite.delivery->disable("acme", "gone", {"HTTP 410", timestamp::from_millis(17643924)}).ok());
  store::deletion_request d;
  d.code = "del_7Q2K";
  d.tenant = "acme";
  d.channel = "fb";
  d.subject = "sub-erased";
  d.state = "completed";
  d.requested_at = timestamp::from_millis(1764392404000);
  d.completed_at = timestamp::from_millis(1764392405000);
  REQUIRE(lite.privacy->put_deletion_request(d).ok());
  auto claim = lite.privacy->claim_privacy_request("acme", "shop", "customers/redact", "{req}");
  REQUIRE(claim);
  store::privacy_request done;
  done.tenant = "acme";
  done.channel = "shop";
  done.kind = "customers/redact";
  done.code = "era_1";
  done.done_at = timestamp::from_millis(1764392406000);
  REQUIRE(lite.privacy->finish_privacy_request(*claim, done).ok());

  REQUIRE(box->put(outbound("out_1", "idem-1")).ok());
  REQUIRE(box->put(outbound("out_2", "")).ok());
  store::outbound_update sent;
  sent.tenant = "acme";
  sent.id = "out_1";
  sent.state = outbound_state::sent;
  sent.attempts = 1;
  sent.platform_message_id = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTND";
  sent.updated_at = timestamp::from_millis(1700000001000);
  REQUIRE(box->update(sent).value());
  REQUIRE(box->set_last_inbound("acme", k_pseudonym, 1000, "sub-1", k_peer).ok());
  std::vector<store::outbox_write> head(1);
  head[0].what = store::outbox_write::kind::window_head;
  head[0].tenant = "acme";
  head[0].seq = 54;
  REQUIRE(box->apply(head).ok());

  for (const std::string tenant : {"acme", "globex"}) {
    s.events[tenant] = read_all(*lite.log, tenant);
    s.heads[tenant] = lite.log->head(tenant);
  }
  s.export_sub1 = export_of(*lite.privacy, "acme", "sub-1");
  s.consents = lite.privacy->consents("acme");
  s.audit = lite.privacy->audit_log("acme", 0, 100);
  s.dead_letters = lite.delivery->dead_letters("acme", "hook", 0, 100);
  s.quarantined = lite.log->quarantined("acme");
  s.quarantine_used = lite.log->quarantine_used("acme", "shop").value();
  s.out_1 = box->get("acme", "out_1").value();
  s.out_2 = box->get("acme", "out_2").value();
  return s;
}

}  // namespace

TEST_CASE(
    "a single-node store copied into PostgreSQL reads back the same, and the replicas carry on "
    "from it",
    "[migrate][integration][pg]") {
  temp_dir dir{"sb-migrate"};
  const snapshot want = write_store(dir.path);
  REQUIRE(want.events.at("acme").size() == 52);
  REQUIRE(want.heads.at("acme") == 54);  // two seqs erased

  pg_cluster cluster;
  auto target = connect(cluster);
  auto report = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
  INFO((report ? std::string() : report.err().message));
  REQUIRE(report);
  CHECK(report->outbox);
  CHECK(report->rows("events") == 52 + 25);
  CHECK(report->rows("tenant_heads") == 2);
  CHECK(report->rows("dedupe") == 54 + 25);  // the erased person's keys too
  CHECK(report->rows("quarantine") == 1);
  CHECK(report->rows("audit") == 3 + 1);  // acme's, and kiosk's creation
  CHECK(report->rows("dead_letters") == 1);
  CHECK(report->rows("outbox") == 2);
  CHECK(report->rows("outbox_meta") == 1);
  CHECK(report->rows("control_tenants") == 1);

  auto pg = open_pg(cluster, 4);
  auto box = open_pg_outbox(cluster);

  // The control plane's tenants: the same document, opened with the key the copy carried over.
  auto defs = pg.definitions->load_all();
  REQUIRE(defs);
  REQUIRE(defs->size() == 1);
  CHECK(defs->at(0).tenant == "kiosk");
  CHECK(defs->at(0).document == k_definition);
  CHECK(defs->at(0).updated_at_ms == 1764392407000);

  // Every event, its seq, type, subject and JSON; the heads.
  for (const std::string tenant : {"acme", "globex"}) {
    INFO(tenant);
    require_same(read_all(*pg.log, tenant), want.events.at(tenant));
    CHECK(pg.log->head(tenant) == want.heads.at(tenant));
  }
  require_same(export_of(*pg.privacy, "acme", "sub-1"), want.export_sub1);
  CHECK(export_of(*pg.privacy, "acme", "sub-erased").empty());
  // The erasure's record goes along: the person's web chat sessions stay revoked.
  CHECK(pg.privacy->erased_subjects("acme") == std::vector<std::string>{"sub-erased"});

  // Dedupe holds: a key merged on SQLite, one still claimed in its writer's memory, and one of
  // the erased person's events (a tombstone) are duplicates; new events continue at head + 1,
  // a new person's key gets a row of its own.
  auto outcomes = append(
      *pg.log,
      {{"acme",
        {make_event("acme", "wa", "a1", "sub-1"), make_event("acme", "tg", "late2", ""),
         make_event("acme", "tg", "erased-1", "sub-erased"),
         make_event("acme", "tg", "new-1", "sub-new"), make_event("acme", "wa", "new-2", "")}}});
  REQUIRE(outcomes[0].size() == 5);
  CHECK(outcomes[0][0].duplicate);
  CHECK(outcomes[0][0].seq == 1);
  CHECK(outcomes[0][1].duplicate);
  CHECK(outcomes[0][2].duplicate);
  CHECK_FALSE(outcomes[0][3].duplicate);
  CHECK(outcomes[0][3].seq == 55);
  CHECK(outcomes[0][4].seq == 56);
  CHECK(read_all(*pg.log, "acme").back().json.find("new-2") != std::string::npos);
  CHECK(export_of(*pg.privacy, "acme", "sub-new").size() == 1);

  // Consent and the audit log, equal; a new audit entry after the copied ones.
  const auto consents = pg.privacy->consents("acme");
  REQUIRE(consents.size() == want.consents.size());
  for (std::size_t i = 0; i < consents.size(); ++i) {
    CHECK(consents[i].subject == want.consents[i].subject);
    CHECK(consents[i].granted == want.consents[i].granted);
    CHECK(consents[i].restricted == want.consents[i].restricted);
    CHECK(consents[i].updated_at.unix_ms == want.consents[i].updated_at.unix_ms);
  }
  const auto restricted = pg.privacy->consents("globex");
  REQUIRE(restricted.size() == 1);
  CHECK(restricted[0].restricted);
  const auto audit = pg.privacy->audit_log("acme", 0, 100);
  REQUIRE(audit.size() == want.audit.size());
  for (std::size_t i = 0; i < audit.size(); ++i) {
    CHECK(audit[i].id == want.audit[i].id);
    CHECK(audit[i].at.unix_ms == want.audit[i].at.unix_ms);
    CHECK(audit[i].actor == want.audit[i].actor);
    CHECK(audit[i].action == want.audit[i].action);
    CHECK(audit[i].subject == want.audit[i].subject);
    CHECK(audit[i].outcome == want.audit[i].outcome);
    CHECK(audit[i].detail == want.audit[i].detail);
  }
  CHECK(pg.privacy->audit(audit_of("export", "sub-2")).value() == want.audit.back().id + 1);
  CHECK(pg.privacy->find_deletion_request("del_7Q2K").value().state == "completed");
  auto replay = pg.privacy->claim_privacy_request("acme", "shop", "customers/redact", "{req}");
  REQUIRE(replay);
  CHECK(replay->st == store::privacy_request_claim::state::done);
  CHECK(replay->done.code == "era_1");

  // Delivery: cursors, the dead letter left, the disabled subscriber; a new dead letter's id is
  // past every id SQLite issued (2 was redriven, never to be reused).
  CHECK(pg.delivery->cursor("acme", "hook") == 30);
  CHECK(pg.delivery->cursor("globex", "hook") == 7);
  const auto letters = pg.delivery->dead_letters("acme", "hook", 0, 100);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == want.dead_letters[0].id);
  CHECK(letters[0].seq == 3);
  CHECK(letters[0].event_id == "evt_3");
  CHECK(letters[0].attempts == 8);
  CHECK(letters[0].last_error == "HTTP 500");
  CHECK(letters[0].failed_at.unix_ms == 1764392401000);
  CHECK(pg.delivery->add_dead_letter(letter(5)).value() == 3);
  auto disabled = pg.delivery->disabled("acme", "gone");
  REQUIRE(disabled);
  REQUIRE(disabled->has_value());
  CHECK((*disabled)->reason == "HTTP 410");

  // Quarantine: the body and its headers open, the usage is the channel's, a new body's id is 3.
  const auto bodies = pg.log->quarantined("acme");
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].id == 1);
  CHECK(bodies[0].body == want.quarantined[0].body);
  REQUIRE(bodies[0].headers.size() == 1);
  CHECK(bodies[0].headers[0].value == "orders/create");
  CHECK(pg.log->quarantine_used("acme", "shop").value() == want.quarantine_used);
  CHECK(pg.log->quarantine(quarantined("{again"), 1 << 20).value() == 3);

  // The outbox: messages by id and by idempotency key, the window rows and head, the real peer.
  for (const auto* r : {&want.out_1, &want.out_2}) {
    auto got = box->get("acme", r->id);
    INFO((got ? std::string() : got.err().message));
    REQUIRE(got);
    CHECK(got->message == r->message);
    CHECK(got->state == r->state);
    CHECK(got->platform_message_id == r->platform_message_id);
    CHECK(got->idempotency_key == r->idempotency_key);
  }
  CHECK(box->find_by_idempotency_key("acme", "helpdesk", "idem-1").value().id == "out_1");
  CHECK(box->find_by_platform_id("acme", "wa", want.out_1.platform_message_id).value().id ==
        "out_1");
  CHECK(box->last_inbound("acme", k_pseudonym).value() == 1000);
  CHECK(box->peer_of("acme", k_pseudonym).value() == k_peer);
  CHECK(box->window_head("acme").value() == std::optional<std::uint64_t>{54});
  auto again = box->put(outbound("out_3", "idem-1"));  // a replay of the copied key
  REQUIRE(again);
  CHECK_FALSE(again->created);
  CHECK(again->record.id == "out_1");
  auto fresh = box->put(outbound("out_4", "idem-4"));
  INFO((fresh ? std::string() : fresh.err().message));
  REQUIRE(fresh);
  CHECK(fresh->created);
  CHECK(box->unfinished("acme", "wa", 10).value().back().id == "out_4");  // put order kept

  // The database holds a store now: a second copy is refused, and changes nothing.
  auto second = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
  REQUIRE_FALSE(second);
  CHECK(second.err().code == errc::bad_request);
  CHECK(second.err().message.find("not empty") != std::string::npos);
  CHECK(second.err().message.find("events") != std::string::npos);
  CHECK(scalar(target, "SELECT COUNT(*) FROM events") == std::to_string(52 + 25 + 2));
}

TEST_CASE(
    "a copy is refused with another master key, from a store in use, or from a directory "
    "without one, before anything is written",
    "[migrate][integration][pg]") {
  temp_dir dir{"sb-migrate"};
  {
    auto lite = open_sqlite(dir.path);
    append(*lite.log, {{"acme", events_of("acme", "a", 5)}});
  }
  pg_cluster cluster;
  auto target = connect(cluster);
  const char* no_tables = "SELECT to_regclass('switchboard_schema') IS NULL";

  auto wrong = store::pg::copy_sqlite_store(dir.path, target, std::string(32, 'w'));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().message.find("storage.master_key does not match") != std::string::npos);
  CHECK(wrong.err().message.find(dir.path) != std::string::npos);
  CHECK(scalar(target, no_tables) == "t");

  {
    auto running = open_sqlite(dir.path);  // a gateway still on it
    auto busy = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
    REQUIRE_FALSE(busy);
    CHECK(busy.err().code == errc::unavailable);
    CHECK(busy.err().message.find("stop the gateway") != std::string::npos);
    CHECK(scalar(target, no_tables) == "t");
  }

  const std::string nowhere = dir.path + "/nothing-here";
  auto missing = store::pg::copy_sqlite_store(nowhere, target, k_master_key);
  REQUIRE_FALSE(missing);
  CHECK(missing.err().code == errc::not_found);
  CHECK_FALSE(std::filesystem::exists(nowhere));  // no store made on the way
  CHECK(scalar(target, no_tables) == "t");

  // The same store with its own key: copied (no outbox.db: the key check is written afresh).
  auto copied = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
  INFO((copied ? std::string() : copied.err().message));
  REQUIRE(copied);
  CHECK_FALSE(copied->outbox);
  CHECK(copied->rows("events") == 5);
  CHECK(scalar(target, "SELECT COUNT(*) FROM outbox_meta") == "1");
  CHECK(store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), 1), std::string(32, 'w'))
            .err()
            .message.find("master_key") != std::string::npos);
}

TEST_CASE("a copy that fails halfway leaves the database without any of the store's rows",
          "[migrate][integration][pg]") {
  temp_dir dir{"sb-migrate"};
  {
    auto lite = open_sqlite(dir.path);
    append(*lite.log, {{"acme", events_of("acme", "a", 30)}});
    REQUIRE(lite.privacy->audit(audit_of("export", "sub-1")).ok());
  }
  pg_cluster cluster;
  auto target = connect(cluster);
  REQUIRE(store::pg::migrate(target, store::pg::schema_versions(), "test"));
  // The audit log is copied after the events: a constraint that refuses its row fails the copy
  // there.
  REQUIRE(target.exec("ALTER TABLE audit ADD CONSTRAINT no_exports CHECK (action <> 'export')"));
  auto failed = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
  REQUIRE_FALSE(failed);
  CHECK(failed.err().message.find("audit") != std::string::npos);
  for (const char* sql : {"SELECT COUNT(*) FROM events", "SELECT COUNT(*) FROM subject_keys",
                          "SELECT COUNT(*) FROM tenant_heads", "SELECT COUNT(*) FROM dedupe"}) {
    INFO(sql);
    CHECK(scalar(target, sql) == "0");
  }
  // Without the obstacle, the same copy goes through.
  REQUIRE(target.exec("ALTER TABLE audit DROP CONSTRAINT no_exports"));
  auto copied = store::pg::copy_sqlite_store(dir.path, target, k_master_key);
  INFO((copied ? std::string() : copied.err().message));
  REQUIRE(copied);
  CHECK(copied->rows("events") == 30);
}

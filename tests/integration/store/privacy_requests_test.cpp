// What the store keeps so that an erased person stays erased and a platform's privacy request
// is carried out once: dedupe tombstones (keyed digests only, removed by retention) and the
// privacy requests carried out (keyed digests, kept for good), on the in-memory and the SQLite
// log; and the migration of a version 3 store, built here byte for byte as that version wrote
// it, to version 4. Real database files in fresh temporary directories.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "integration/store/store_test_support.hpp"
#include "store/event_log.hpp"
#include "store/privacy_store.hpp"
#include "support/fixtures.hpp"

using namespace sb;
using claim_state = store::privacy_request_claim::state;

namespace {

using test::all_file_bytes;
using test::raw_db;
using test::store_support::append;
using test::store_support::build_old_store;
using test::store_support::k_v3_schema;
using test::store_support::memory_backend;
using test::store_support::pg_backend;
using test::store_support::old_store_writer;
using test::store_support::open_sqlite;
using test::store_support::privacy;
using test::store_support::read_all;
using test::store_support::sqlite_backend;

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("sb-requests") {}
};

// A WhatsApp message id: base64 of a structure that holds the sender's phone number.
const std::string k_wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdFQjZCNEU2MDJGNTM1RTFGNQA=";
const std::string k_phone = "16505551234";

/// A WhatsApp message of `subject` in the conversation with k_phone.
event make_event(const std::string& tenant, const std::string& channel, const std::string& key,
                 const std::string& subject) {
  event e = test::store_support::make_event(tenant, channel, key, subject);
  e.channel = {channel, "whatsapp", "106540352242922"};
  e.conversation = channel + ":" + k_phone;
  return e;
}

bool stored_as_duplicate(store::event_log& log, event e) {
  const auto tenant = e.tenant;
  return append(log, {{tenant, {std::move(e)}}})[0][0].duplicate;
}

store::privacy_request_claim claim(store::privacy_store& p, const std::string& request,
                                   const std::string& kind = "customers/redact",
                                   const std::string& tenant = "acme",
                                   const std::string& channel = "shop") {
  auto c = p.claim_privacy_request(tenant, channel, kind, request);
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c.ok());
  return c.value();
}

void finish(store::privacy_store& p, const store::privacy_request_claim& c, const std::string& code,
            const std::string& kind = "customers/redact", const std::string& tenant = "acme",
            const std::string& channel = "shop") {
  store::privacy_request r;
  r.tenant = tenant;
  r.channel = channel;
  r.kind = kind;
  r.code = code;
  r.done_at = timestamp::from_millis(1764392400999);
  auto st = p.finish_privacy_request(c, r);
  INFO((st ? std::string() : st.err().message));
  REQUIRE(st.ok());
}

}  // namespace

// -- dedupe tombstones --------------------------------------------------------------------------

TEMPLATE_TEST_CASE(
    "an erased event's retry or replay stays a duplicate until retention removes "
    "its tombstone",
    "[privacy][tombstone]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme",
                 {make_event("acme", "wa", k_wamid, "sub_a"),
                  make_event("acme", "wa", "wamid.other", "sub_b")}}});
  auto out = p->erase_subject("acme", "sub_a");
  REQUIRE(out.ok());
  CHECK(out->events == 1);
  CHECK(out->dedupe_keys == 1);

  // The platform's retry, or an attacker's replay of the signed webhook: a duplicate of the
  // erased seq, nothing stored, nothing to export.
  auto retry = append(*log, {{"acme", {make_event("acme", "wa", k_wamid, "sub_a")}}});
  CHECK(retry[0][0].duplicate);
  CHECK(retry[0][0].seq == 1);
  CHECK(read_all(*log, "acme").size() == 1);
  auto exported = p->subject_events("acme", "sub_a", 100);
  REQUIRE(exported.ok());
  CHECK(exported->empty());
  // The same key on another channel or tenant is another event.
  CHECK_FALSE(stored_as_duplicate(*log, make_event("acme", "wa2", k_wamid, "sub_a")));
  CHECK_FALSE(stored_as_duplicate(*log, make_event("globex", "wa", k_wamid, "sub_a")));

  // Retention removes tombstones with the other dedupe keys (by when the key was first seen):
  // from then on the event is new.
  auto swept = p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000));
  REQUIRE(swept.ok());
  CHECK(swept->dedupe_keys == 3);
  CHECK_FALSE(stored_as_duplicate(*log, make_event("acme", "wa", k_wamid, "sub_a")));
}

TEST_CASE("a tombstone holds only a keyed digest of the dedupe key, tenant, channel and a seq",
          "[privacy][tombstone]") {
  temp_dir dir;
  auto stores = open_sqlite(dir.path);
  auto& log = stores.log;
  auto p = privacy(stores);
  append(*log, {{"acme", {make_event("acme", "wa", k_wamid, "sub_a")}}});
  REQUIRE(p->erase_subject("acme", "sub_a").ok());
  raw_db raw(dir.path);
  auto rows = raw.rows("SELECT key, tenant, channel, seq, created_at_ms FROM dedupe");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].size() == 16);  // HMAC-SHA256 under a key of the master key, cut to 16
  CHECK(rows[0][1] == "acme");
  CHECK(rows[0][2] == "wa");
  CHECK(rows[0][3] == "1");
  CHECK(raw.scalar("SELECT COUNT(*) FROM events") == "0");
  // Not the key, the phone number or the base64 run that encodes it, anywhere in the files.
  const auto bytes = all_file_bytes(dir.path);
  CHECK(bytes.find(k_wamid) == std::string::npos);
  CHECK(bytes.find("HBgLMTY1MDU1NTEyMzQ") == std::string::npos);
  CHECK(bytes.find(k_phone) == std::string::npos);
}

// -- privacy requests ---------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a privacy request is carried out once: claimed, in progress, then done",
                   "[privacy][requests]", memory_backend, sqlite_backend, pg_backend) {
  TestType backend;
  auto stores = backend.open();
  auto p = privacy(stores);
  const std::string body = R"({"shop_id":1,"shop_domain":"acme.myshopify.com"})";

  auto first = claim(*p, body, "shop/redact");
  CHECK(first.st == claim_state::claimed);
  // The same request while the first is carried out: in progress (the platform retries).
  CHECK(claim(*p, body, "shop/redact").st == claim_state::in_progress);
  // Abandoned (the erasure failed): the retry claims it again.
  p->abandon_privacy_request(first);
  auto second = claim(*p, body, "shop/redact");
  REQUIRE(second.st == claim_state::claimed);
  finish(*p, second, "era_01JDX3V7Q4K9M2T8R6W5Y0ZB1C", "shop/redact");

  // Replayed later, under any webhook id: done, with what the first answer named.
  auto replay = claim(*p, body, "shop/redact");
  REQUIRE(replay.st == claim_state::done);
  CHECK(replay.done.tenant == "acme");
  CHECK(replay.done.channel == "shop");
  CHECK(replay.done.kind == "shop/redact");
  CHECK(replay.done.code == "era_01JDX3V7Q4K9M2T8R6W5Y0ZB1C");
  CHECK(replay.done.done_at.unix_ms == 1764392400999);

  // The same bytes as another kind, on another channel or tenant, are another request.
  CHECK(claim(*p, body, "customers/redact").st == claim_state::claimed);
  CHECK(claim(*p, body, "shop/redact", "acme", "shop2").st == claim_state::claimed);
  CHECK(claim(*p, body, "shop/redact", "globex").st == claim_state::claimed);
  CHECK(claim(*p, body + " ", "shop/redact").st == claim_state::claimed);

  // Nothing else the store does forgets it: retention, erasures.
  REQUIRE(p->expire("acme", timestamp::from_millis(now().unix_ms + 3600 * 1000)).ok());
  REQUIRE(p->erase_channel("acme", "shop").ok());
  CHECK(claim(*p, body, "shop/redact").st == claim_state::done);

  for (auto [tenant, channel, kind] :
       {std::make_tuple("", "shop", "shop/redact"), std::make_tuple("acme", "", "shop/redact"),
        std::make_tuple("acme", "shop", "")}) {
    auto bad = p->claim_privacy_request(tenant, channel, kind, body);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().code == errc::bad_request);
  }
}

TEST_CASE(
    "a privacy request carried out is recognised after a restart, and only its digest is "
    "stored",
    "[privacy][requests]") {
  temp_dir dir;
  const std::string signed_request = "c2lnbmF0dXJlX29mX2FfcmVxdWVzdA.eyJ1c2VyX2lkIjoiNzAwMDAwIn0";
  {
    auto stores = open_sqlite(dir.path);
    auto p = privacy(stores);
    auto c = claim(*p, signed_request, "data_deletion", "acme", "fb");
    REQUIRE(c.st == claim_state::claimed);
    finish(*p, c, "del_01JDX3V7Q4K9M2T8R6W5Y0ZB1CABCDEFGHJKMNPQRS", "data_deletion", "acme", "fb");
    // A claim held when the process ends is gone with it.
    REQUIRE(claim(*p, "another request", "data_deletion", "acme", "fb").st == claim_state::claimed);
  }
  auto stores = open_sqlite(dir.path);
  auto p = privacy(stores);
  auto replay = claim(*p, signed_request, "data_deletion", "acme", "fb");
  REQUIRE(replay.st == claim_state::done);
  CHECK(replay.done.code == "del_01JDX3V7Q4K9M2T8R6W5Y0ZB1CABCDEFGHJKMNPQRS");
  CHECK(claim(*p, "another request", "data_deletion", "acme", "fb").st == claim_state::claimed);

  raw_db raw(dir.path);
  auto rows = raw.rows("SELECT digest, tenant, channel, kind FROM privacy_requests");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].size() == 32);
  CHECK(rows[0][1] == "acme");
  CHECK(rows[0][2] == "fb");
  CHECK(rows[0][3] == "data_deletion");
  CHECK(all_file_bytes(dir.path).find(signed_request) == std::string::npos);
}

// -- migration from version 3 -------------------------------------------------------------------

TEST_CASE(
    "a version 3 store is migrated to the current version: privacy requests added, its "
    "data and its other tables kept",
    "[privacy][requests]") {
  temp_dir dir;
  std::vector<event> events{
      make_event("acme", "wa", k_wamid, "sub_a"), make_event("acme", "wa", "wamid.two", "sub_b"),
      make_event("acme", "shop", "w:1", ""), make_event("globex", "wa", k_wamid, "sub_a")};
  std::vector<std::string> json;
  build_old_store(dir.path, 3, k_v3_schema, [&](old_store_writer& w, raw_db& raw) {
    w.key_of("acme", "", "wa");  // the tenant's own key
    for (auto& e : events) {
      json.push_back(w.put(e));
    }
    raw.insert(
        "INSERT INTO audit (tenant, at_ms, actor, action, subject, outcome, detail) "
        "VALUES ('acme', 5, 'subscriber:dpo', 'erase', 'sub_z', 'ok', 'events=0')",
        {});
  });
  std::vector<std::vector<std::string>> schema_before =
      raw_db(dir.path).rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");

  {
    auto stores = open_sqlite(dir.path);
    auto& log = stores.log;
    auto p = privacy(stores);
    auto acme = read_all(*log, "acme");
    REQUIRE(acme.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(acme[i].seq == i + 1);
      CHECK(acme[i].json == json[i]);
    }
    CHECK(read_all(*log, "globex").at(0).json == json[3]);
    CHECK(log->head("acme") == 3);
    auto exported = p->subject_events("acme", "sub_a", 100);
    REQUIRE(exported.ok());
    REQUIRE(exported->size() == 1);
    CHECK(exported->at(0).json == json[0]);
    REQUIRE(p->audit_log("acme", 0, 10).size() == 1);

    // The new table works; the old dedupe keys still dedupe, and become tombstones on erasure.
    auto c = claim(*p, "body of a shop/redact", "shop/redact");
    REQUIRE(c.st == claim_state::claimed);
    finish(*p, c, "era_1", "shop/redact");
    CHECK(stored_as_duplicate(*log, make_event("acme", "wa", "wamid.two", "sub_b")));
    auto out = p->erase_subject("acme", "sub_a");
    REQUIRE(out.ok());
    CHECK(out->events == 1);
    CHECK(out->dedupe_keys == 1);
    CHECK(stored_as_duplicate(*log, make_event("acme", "wa", k_wamid, "sub_a")));
  }

  raw_db raw(dir.path);
  CHECK(raw.scalar("PRAGMA user_version") == test::store_support::k_schema_version);
  // Additive: every object of version 3 is as it was, but the quarantine table (which version 5
  // gives columns), and what is new belongs to the new tables.
  auto after = raw.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name");
  std::vector<std::vector<std::string>> kept;
  std::vector<std::vector<std::string>> added;
  // ALTERed by version 5 (quarantine) and 6 (tenant_heads); made again: the subject index and its
  // trigger by version 7, the dedupe keys and their index by version 8.
  static const auto rewritten = [](const std::string& name) {
    return name == "quarantine" || name == "tenant_heads" || name == "subject_events" ||
           name == "events_unindex" || name == "dedupe" || name == "dedupe_created_at";
  };
  schema_before.erase(std::remove_if(schema_before.begin(), schema_before.end(),
                                     [](const std::vector<std::string>& row) {
                                       return rewritten(row[1]);
                                     }),
                      schema_before.end());
  for (auto& row : after) {
    if (rewritten(row[1])) {
      continue;
    }
    if (std::find(schema_before.begin(), schema_before.end(), row) != schema_before.end()) {
      kept.push_back(row);
    } else {
      added.push_back(row);
    }
  }
  CHECK(kept == schema_before);
  REQUIRE_FALSE(added.empty());
  for (const auto& row : added) {
    CAPTURE(row[1]);
    // privacy_requests (and its primary key's automatic index), version 5's objects,
    // version 9's record of erased subjects (web chat revocations), or version 10's control
    // plane's tenants.
    const std::vector<std::string> new_tables{"privacy_requests", "quarantine",
                                              "quarantine_usage", "subscriber_disabled",
                                              "erased_subjects",  "control_tenants"};
    CHECK(std::find(new_tables.begin(), new_tables.end(), row[2]) != new_tables.end());
  }
  CHECK(std::any_of(added.begin(), added.end(), [](const std::vector<std::string>& row) {
    return row[0] == "table" && row[1] == "privacy_requests";
  }));
  // Opened again (already current): nothing to migrate, the request is still known.
  auto stores = open_sqlite(dir.path);
  CHECK(claim(*privacy(stores), "body of a shop/redact", "shop/redact").st == claim_state::done);
}

// The outbox (store/outbox.hpp): the same behaviour from the in-memory and the SQLite outbox,
// and what only the durable one promises (restarts, sealing at rest, one process per file).
// Real database files in a fresh temporary directory.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/outbound/outbox_support.hpp"
#include "store/outbox.hpp"

using namespace sb;
using store::outbound_state;

namespace {

using test::temp_dir;
using test::outbox::both;
using test::outbox::file_bytes;
using test::outbox::k_master_key;
using test::outbox::open_sqlite;

store::outbound_record record(const std::string& id, const std::string& peer = "1001",
                              const std::string& tenant = "acme",
                              const std::string& channel = "tg") {
  store::outbound_record r;
  r.id = id;
  r.tenant = tenant;
  r.channel = channel;
  r.recipient = peer;
  r.conversation = channel + ":" + peer;
  r.subject = "sub_" + peer;
  r.purpose = "support";
  r.message = R"({"id":")" + id + R"(","text":"secret words for )" + peer + R"("})";
  r.caller = "helpdesk";
  r.created_at = timestamp::from_millis(1700000000000);
  r.updated_at = r.created_at;
  return r;
}

store::outbound_update change(const std::string& id, outbound_state s, bool forward_only = false) {
  store::outbound_update u;
  u.tenant = "acme";
  u.id = id;
  u.state = s;
  u.forward_only = forward_only;
  u.updated_at = timestamp::from_millis(1700000001000);
  return u;
}

std::vector<std::string> ids_of(const std::vector<store::outbound_record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    out.push_back(r.id);
  }
  return out;
}

}  // namespace

TEST_CASE("an outbox stores a message and answers it by id within its tenant",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    auto put = box->put(record("out_1"));
    REQUIRE(put.ok());
    CHECK(put->created);
    auto got = box->get("acme", "out_1");
    REQUIRE(got.ok());
    CHECK(got->message == record("out_1").message);
    CHECK(got->state == outbound_state::queued);
    CHECK(got->conversation == "tg:1001");
    CHECK(got->subject == "sub_1001");
    CHECK(got->created_at.unix_ms == 1700000000000);
    CHECK(box->get("other", "out_1").err().code == errc::not_found);
    CHECK(box->get("acme", "out_2").err().code == errc::not_found);
  });
}

TEST_CASE("an idempotent replay answers the earlier message and stores nothing",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    auto a = record("out_a");
    a.idempotency_key = "key-1";
    REQUIRE(box->put(a).ok());
    REQUIRE(box->update(change("out_a", outbound_state::sent)).value());
    auto b = record("out_b");
    b.idempotency_key = "key-1";
    auto replay = box->put(b);
    REQUIRE(replay.ok());
    CHECK_FALSE(replay->created);
    CHECK(replay->record.id == "out_a");
    CHECK(replay->record.state == outbound_state::sent);
    CHECK(box->get("acme", "out_b").err().code == errc::not_found);
    // The key is the caller's own: another caller (or tenant) may use the same text.
    auto c = record("out_c");
    c.idempotency_key = "key-1";
    c.caller = "assistant";
    CHECK(box->put(c)->created);
    auto d = record("out_d", "1001", "globex");
    d.idempotency_key = "key-1";
    CHECK(box->put(d)->created);
    // In one batch, the second of two equal keys is the replay.
    std::vector<store::outbox_write> batch(2);
    for (int i = 0; i < 2; ++i) {
      batch[i].record = record(i == 0 ? "out_e" : "out_f");
      batch[i].record.idempotency_key = "key-2";
    }
    REQUIRE(box->apply(batch).ok());
    CHECK(batch[0].created);
    CHECK_FALSE(batch[1].created);
    CHECK(batch[1].record.id == "out_e");
  });
}

TEST_CASE("updates change state, attempts, platform id and errors, receipts only move forward",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    REQUIRE(box->put(record("out_1")).ok());
    auto u = change("out_1", outbound_state::sending);
    u.attempts = 2;
    u.error_code = "500";
    u.error_title = "Internal Server Error";
    REQUIRE(box->update(u).value());
    auto r = box->get("acme", "out_1").value();
    CHECK(r.state == outbound_state::sending);
    CHECK(r.attempts == 2);
    CHECK(r.error_code == "500");
    CHECK(r.updated_at.unix_ms == 1700000001000);

    auto sent = change("out_1", outbound_state::sent, true);
    sent.platform_message_id = "4711";
    sent.error_code = "";
    sent.error_title = "";
    REQUIRE(box->update(sent).value());
    CHECK(box->update(change("out_1", outbound_state::read, true)).value());
    // A late "delivered" after "read" is ignored; so is a repeat.
    CHECK_FALSE(box->update(change("out_1", outbound_state::delivered, true)).value());
    CHECK_FALSE(box->update(change("out_1", outbound_state::read, true)).value());
    r = box->get("acme", "out_1").value();
    CHECK(r.state == outbound_state::read);
    CHECK(r.platform_message_id == "4711");
    CHECK(r.attempts == 2);  // not given: unchanged
    CHECK(r.error_code.empty());

    auto found = box->find_by_platform_id("acme", "tg", "4711");
    REQUIRE(found.ok());
    CHECK(found->id == "out_1");
    CHECK(box->find_by_platform_id("acme", "wa", "4711").err().code == errc::not_found);
    CHECK(box->find_by_platform_id("acme", "tg", "").err().code == errc::not_found);
    // Unknown ids and other tenants' ids are not applied.
    CHECK_FALSE(box->update(change("out_x", outbound_state::sent)).value());
    auto other = change("out_1", outbound_state::failed);
    other.tenant = "globex";
    CHECK_FALSE(box->update(other).value());
  });
}

TEST_CASE("unfinished messages come back per channel, in the order they were put, page by page",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    // Ids that do not sort in put order: resume order is put order, not id order.
    for (const char* id : {"out_9", "out_3", "out_7", "out_1", "out_5"}) {
      REQUIRE(box->put(record(id)).ok());
    }
    REQUIRE(box->put(record("out_wa", "1001", "acme", "wa")).ok());
    REQUIRE(box->put(record("out_other", "1001", "globex", "tg")).ok());
    REQUIRE(box->update(change("out_7", outbound_state::sent)).value());
    REQUIRE(box->update(change("out_1", outbound_state::sending)).value());
    REQUIRE(box->update(change("out_5", outbound_state::failed)).value());
    auto all = box->unfinished("acme", "tg", 100);
    REQUIRE(all.ok());
    CHECK(ids_of(*all) == std::vector<std::string>{"out_9", "out_3", "out_1"});
    auto first = box->unfinished("acme", "tg", 2).value();
    CHECK(ids_of(first) == std::vector<std::string>{"out_9", "out_3"});
    auto rest = box->unfinished("acme", "tg", 2, first.back().id).value();
    CHECK(ids_of(rest) == std::vector<std::string>{"out_1"});
    CHECK(ids_of(box->unfinished("acme", "wa", 10).value()) == std::vector<std::string>{"out_wa"});
  });
}

TEST_CASE("the 24-hour window table keeps each conversation's latest inbound time",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    CHECK(box->last_inbound("acme", "tg:1").value() == 0);
    REQUIRE(box->set_last_inbound("acme", "tg:1", 5000, "sub_1").ok());
    REQUIRE(box->set_last_inbound("acme", "tg:1", 3000).ok());  // older: ignored
    CHECK(box->last_inbound("acme", "tg:1").value() == 5000);
    REQUIRE(box->set_last_inbound("acme", "tg:1", 9000).ok());
    CHECK(box->last_inbound("acme", "tg:1").value() == 9000);
    CHECK(box->last_inbound("globex", "tg:1").value() == 0);
  });
}

TEST_CASE(
    "erasing a subject deletes its messages and window rows, retention deletes finished "
    "messages",
    "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    REQUIRE(box->put(record("out_1", "1")).ok());
    REQUIRE(box->put(record("out_2", "1")).ok());
    REQUIRE(box->put(record("out_3", "2")).ok());
    REQUIRE(box->set_last_inbound("acme", "tg:1", 5000, "sub_1").ok());
    REQUIRE(box->set_last_inbound("acme", "tg:2", 5000, "sub_2").ok());
    CHECK(box->erase_subject("acme", "sub_1").value() == 2);
    CHECK(box->erase_subject("acme", "sub_1").value() == 0);
    CHECK(box->erase_subject("acme", "").value() == 0);
    CHECK(box->get("acme", "out_1").err().code == errc::not_found);
    CHECK(box->get("acme", "out_3").ok());
    CHECK(box->last_inbound("acme", "tg:1").value() == 0);
    CHECK(box->last_inbound("acme", "tg:2").value() == 5000);

    REQUIRE(box->put(record("out_4", "2")).ok());
    REQUIRE(box->update(change("out_3", outbound_state::delivered)).value());
    // Retention: finished and older than the cutoff only; window rows older than it too.
    CHECK(box->expire("acme", timestamp::from_millis(1700000000500)).value() == 0);
    CHECK(box->expire("acme", timestamp::from_millis(1700000002000)).value() == 1);
    CHECK(box->get("acme", "out_3").err().code == errc::not_found);
    CHECK(box->get("acme", "out_4").ok());  // queued: kept however old
    CHECK(box->last_inbound("acme", "tg:2").value() == 0);
  });
}

TEST_CASE("a batch is all or nothing", "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    REQUIRE(box->put(record("out_1")).ok());
    std::vector<store::outbox_write> batch(3);
    batch[0].record = record("out_2");
    batch[1].what = store::outbox_write::kind::update;
    batch[1].update = change("out_1", outbound_state::sent);
    batch[2].record = record("out_1");  // stored already: the batch fails
    CHECK_FALSE(box->apply(batch).ok());
    CHECK(box->get("acme", "out_2").err().code == errc::not_found);
    CHECK(box->get("acme", "out_1")->state == outbound_state::queued);
  });
}

TEST_CASE("the SQLite outbox keeps messages across a restart", "[outbox][integration]") {
  temp_dir dir{"sb-outbox"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->put(record("out_1")).ok());
    REQUIRE(box->put(record("out_2")).ok());
    REQUIRE(box->update(change("out_2", outbound_state::sending)).value());
    REQUIRE(box->set_last_inbound("acme", "tg:1001", 1234, "sub_1001").ok());
    // One process per outbox: a second open of the same directory fails while this one lives.
    auto second = store::make_sqlite_outbox(dir.path, config::durability::fsync, k_master_key);
    CHECK_FALSE(second.ok());
  }
  auto box = open_sqlite(dir.path);
  auto left = box->unfinished("acme", "tg", 10).value();
  CHECK(ids_of(left) == std::vector<std::string>{"out_1", "out_2"});
  CHECK(left[1].state == outbound_state::sending);
  CHECK(left[0].message == record("out_1").message);
  CHECK(box->last_inbound("acme", "tg:1001").value() == 1234);
}

TEST_CASE("the SQLite outbox seals message text at rest and refuses another master key",
          "[outbox][integration]") {
  temp_dir dir{"sb-outbox"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->put(record("out_1")).ok());
  }
  std::string bytes = file_bytes(dir.path + "/outbox.db") + file_bytes(dir.path + "/outbox.db-wal");
  CHECK(bytes.find("out_1") != std::string::npos);  // ids are not secret
  CHECK(bytes.find("secret words") == std::string::npos);
  // Another key cannot open it (and says so at once, rather than finding nothing or garbage).
  auto other = store::make_sqlite_outbox(dir.path, config::durability::fsync, std::string(32, 'x'));
  REQUIRE_FALSE(other.ok());
  CHECK(other.err().code == errc::internal);
  CHECK(other.err().message ==
        "storage.master_key does not match the key this outbox was created with");
  // A row moved to another id does not open either: the seal is bound to tenant and id.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path + "/outbox.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE outbox SET id = 'out_2' WHERE id = 'out_1'", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto box = open_sqlite(dir.path);
  CHECK_FALSE(box->get("acme", "out_2").ok());
  CHECK(store::make_sqlite_outbox(dir.path + "/k", config::durability::fsync, "short").err().code ==
        errc::bad_request);
}

TEST_CASE("outbox write cost: one commit per message against group commit",
          "[.bench][outbox_bench]") {
  for (auto d : {config::durability::fsync, config::durability::os, config::durability::none}) {
    // Syncs dominate with fsync; without them more messages give steadier figures.
    const int messages = d == config::durability::fsync ? 400 : 4000;
    temp_dir dir{"sb-outbox"};
    auto box = open_sqlite(dir.path, d);
    auto t = std::chrono::steady_clock::now();
    for (int i = 0; i < messages; ++i) {
      REQUIRE(box->put(record("out_s" + std::to_string(i))).ok());
    }
    const double single =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count() /
        messages;
    t = std::chrono::steady_clock::now();
    for (int b = 0; b < messages / 100; ++b) {
      std::vector<store::outbox_write> batch(100);
      for (int i = 0; i < 100; ++i) {
        batch[i].record = record("out_b" + std::to_string(b * 100 + i));
      }
      REQUIRE(box->apply(batch).ok());
    }
    const double grouped =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count() /
        messages;
    // What a send's answer writes: the state, the attempt and the platform's message id.
    t = std::chrono::steady_clock::now();
    for (int b = 0; b < messages / 100; ++b) {
      std::vector<store::outbox_write> batch(100);
      for (int i = 0; i < 100; ++i) {
        const std::string id = "out_b" + std::to_string(b * 100 + i);
        batch[i].what = store::outbox_write::kind::update;
        batch[i].update = change(id, outbound_state::sent);
        batch[i].update.attempts = 1;
        batch[i].update.platform_message_id = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI" + id;
      }
      REQUIRE(box->apply(batch).ok());
    }
    const double updated =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count() /
        messages;
    const char* name = d == config::durability::fsync ? "fsync"
                       : d == config::durability::os  ? "os"
                                                      : "none";
    std::printf(
        "outbox (%s): put %.1f us per message alone, %.1f us per message in batches of 100; "
        "update to sent with a platform id %.1f us in batches of 100\n",
        name, single, grouped, updated);
  }
}

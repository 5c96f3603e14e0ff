// What the PostgreSQL outbox promises beyond the contract every outbox keeps (outbox_test.cpp,
// outbox_lookup_test.cpp, which run on it too): several replicas on one database, nothing that
// names a person in clear in its tables, and rows that are the SQLite outbox's byte for byte.
// Two outboxes over two connection pools stand for two replicas.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/outbound/outbox_support.hpp"
#include "store/pg/connection.hpp"
#include "store/pg/outbox.hpp"

using namespace sb;
using store::outbound_state;

namespace {

using test::pg_cluster;
using test::temp_dir;
using test::outbox::k_master_key;
using test::outbox::open_pg;
using test::outbox::open_sqlite;

const std::string k_phone = "16505551234";
const std::string k_peer = "16505550000";
const std::string k_pseudonym = "wa-main:anon_7K2Q9D4M1X8T6R3B";
const std::string k_text = "Marzipan-lighthouse";
const std::string k_wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
const std::string k_idempotency_key = "reply-Quokka-2291";
const std::string k_error_title = "Recipient 16505559999 is not a WhatsApp user";
const std::string k_subject = "sub_5KQ2C7WZ3N4B6Y8T";

store::outbound_record record(const std::string& id, const std::string& key = {}) {
  store::outbound_record r;
  r.id = id;
  r.tenant = "acme";
  r.channel = "wa-main";
  r.recipient = k_phone;
  r.conversation = "wa-main:" + k_phone;
  r.subject = k_subject;
  r.purpose = "support";
  r.message = R"({"id":")" + id + R"(","to":")" + k_phone + R"(","text":")" + k_text + R"("})";
  r.caller = "helpdesk";
  r.idempotency_key = key;
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

/// A connection of the test's own to `cluster`'s database.
store::pg::connection raw(const pg_cluster& cluster) {
  auto c = store::pg::connection::open(cluster.dsn());
  INFO((c ? std::string() : c.err().message));
  REQUIRE(c);
  return std::move(c).value();
}

std::int64_t count(store::pg::connection& c, const char* sql) {
  auto q = c.exec(sql);
  INFO((q ? std::string() : q.err().message));
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  return q->int64(0, 0).value();
}

/// Every value of every row of `sql`, as stored: `bytea` columns (the first `binary` ones)
/// decoded to their bytes, the others as text; NULLs left out.
std::string stored_bytes(store::pg::connection& c, const char* sql, int binary) {
  auto q = c.exec(sql);
  INFO((q ? std::string() : q.err().message));
  REQUIRE(q);
  std::string out;
  for (int i = 0; i < q->size(); ++i) {
    for (int col = 0; col < q->columns(); ++col) {
      if (q->is_null(i, col)) {
        continue;
      }
      if (col < binary) {
        auto b = q->bytes(i, col);
        REQUIRE(b);
        out += *b;
      } else {
        out += q->text(i, col);
      }
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the same idempotent put sent through two replicas at once is stored once",
          "[outbox][integration][pg]") {
  pg_cluster cluster;
  std::vector<std::shared_ptr<store::outbox>> replicas = {open_pg(cluster, 3), open_pg(cluster, 3)};

  // Six senders, three per replica, put the same keys (each with an id of its own, as two
  // gateways accepting one request's retry would), starting together.
  constexpr int k_senders = 6;
  constexpr int k_keys = 30;
  std::mutex m;
  std::condition_variable go;
  int ready = 0;
  std::map<std::string, std::set<std::string>> ids_of_key;  // every answer's id per key
  std::map<std::string, int> created_of_key;
  std::atomic<int> failures{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < k_senders; ++s) {
    senders.emplace_back([&, s] {
      {
        std::unique_lock lock(m);
        ++ready;
        go.notify_all();
        go.wait(lock, [&] { return ready == k_senders; });
      }
      auto& box = *replicas[s % 2];
      for (int i = 0; i < k_keys; ++i) {
        // Half the senders go through the keys backwards: claims cross in both orders.
        const int k = s < k_senders / 2 ? i : k_keys - 1 - i;
        const std::string key = "key-" + std::to_string(k);
        auto put = box.put(record("out_" + std::to_string(s) + "_" + std::to_string(k), key));
        if (!put) {
          ++failures;
          continue;
        }
        std::lock_guard lock(m);
        ids_of_key[key].insert(put->record.id);
        created_of_key[key] += put->created ? 1 : 0;
        if (put->record.idempotency_key != key) {
          ++failures;  // Catch's assertions are for the test's own thread
        }
      }
    });
  }
  for (auto& t : senders) {
    t.join();
  }
  CHECK(failures == 0);
  REQUIRE(ids_of_key.size() == static_cast<std::size_t>(k_keys));
  for (const auto& [key, ids] : ids_of_key) {
    INFO(key);
    CHECK(ids.size() == 1);  // every sender was answered with the same message
    CHECK(created_of_key[key] == 1);
    // And both replicas find it by its key.
    for (auto& box : replicas) {
      auto found = box->find_by_idempotency_key("acme", "helpdesk", key);
      REQUIRE(found);
      CHECK(found->id == *ids.begin());
    }
  }
  auto c = raw(cluster);
  CHECK(count(c, "SELECT COUNT(*) FROM outbox") == k_keys);
}

TEST_CASE("a message put through one replica is seen and updated through the other",
          "[outbox][integration][pg]") {
  pg_cluster cluster;
  auto a = open_pg(cluster);
  auto b = open_pg(cluster);
  REQUIRE(a->put(record("out_1")).ok());
  REQUIRE(a->put(record("out_2")).ok());

  auto got = b->get("acme", "out_1");
  REQUIRE(got);
  CHECK(got->message == record("out_1").message);
  CHECK(got->recipient == k_phone);
  CHECK(got->subject == k_subject);
  auto left = b->unfinished("acme", "wa-main", 10);
  REQUIRE(left);
  REQUIRE(left->size() == 2);
  CHECK((*left)[0].id == "out_1");
  CHECK((*left)[1].id == "out_2");

  // Sent through A: B finds it by the platform's id (a receipt landing on B), and no longer as
  // unfinished.
  auto sent = change("out_1", outbound_state::sent);
  sent.attempts = 1;
  sent.platform_message_id = k_wamid;
  REQUIRE(a->update(sent).value());
  auto found = b->find_by_platform_id("acme", "wa-main", k_wamid);
  REQUIRE(found);
  CHECK(found->id == "out_1");
  CHECK(found->state == outbound_state::sent);
  CHECK(found->attempts == 1);
  CHECK(b->unfinished("acme", "wa-main", 10)->size() == 1);
  // Receipts out of order on the two replicas: "read" through B, then a late "delivered"
  // through A is refused.
  REQUIRE(b->update(change("out_1", outbound_state::read, true)).value());
  CHECK_FALSE(a->update(change("out_1", outbound_state::delivered, true)).value());
  CHECK(a->get("acme", "out_1")->state == outbound_state::read);

  // The window rows too.
  REQUIRE(a->set_last_inbound("acme", k_pseudonym, 1000, k_subject, k_peer).ok());
  REQUIRE(b->set_last_inbound("acme", k_pseudonym, 900).ok());  // older: ignored
  CHECK(a->last_inbound("acme", k_pseudonym).value() == 1000);
  CHECK(b->peer_of("acme", k_pseudonym).value() == k_peer);
  std::vector<store::outbox_write> head(1);
  head[0].what = store::outbox_write::kind::window_head;
  head[0].tenant = "acme";
  head[0].seq = 42;
  REQUIRE(b->apply(head).ok());  // window rows only: committed without waiting for the disk
  CHECK(a->window_head("acme").value() == std::optional<std::uint64_t>{42});
  CHECK(a->window_head("globex").value() == std::nullopt);

  // An erasure through B leaves A nothing of the person.
  CHECK(b->erase_subject("acme", k_subject).value() == 2);
  CHECK(a->get("acme", "out_2").err().code == errc::not_found);
  CHECK(a->peer_of("acme", k_pseudonym).err().code == errc::not_found);
}

TEST_CASE("replicas opening a PostgreSQL outbox together agree on its key, another key is refused",
          "[outbox][integration][pg]") {
  pg_cluster cluster;
  test::outbox::migrate_pg(cluster);
  // Two replicas open the new outbox at the same moment: one key check is written, both pass it.
  std::vector<std::string> errors(2);
  {
    std::vector<std::thread> openers;
    for (int i = 0; i < 2; ++i) {
      openers.emplace_back([&, i] {
        auto box = store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), 1), k_master_key);
        if (!box) {
          errors[i] = box.err().message;
        }
      });
    }
    for (auto& t : openers) {
      t.join();
    }
  }
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  auto c = raw(cluster);
  CHECK(count(c, "SELECT COUNT(*) FROM outbox_meta") == 1);

  auto other =
      store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), 1), std::string(32, 'x'));
  REQUIRE_FALSE(other.ok());
  CHECK(other.err().code == errc::internal);
  CHECK(other.err().message ==
        "storage.master_key does not match the key this outbox was created with");
  auto short_key = store::pg::make_outbox(store::pg::pool::make(cluster.dsn(), 1), "short");
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.err().code == errc::bad_request);
}

TEST_CASE("the PostgreSQL outbox keeps no message text or identifier in clear in its tables",
          "[outbox][integration][pg][privacy]") {
  pg_cluster cluster;
  auto box = open_pg(cluster);
  REQUIRE(box->put(record("out_1", k_idempotency_key)).ok());
  auto sent = change("out_1", outbound_state::failed);
  sent.platform_message_id = k_wamid;
  sent.error_code = "131026";
  sent.error_title = k_error_title;
  REQUIRE(box->update(sent).value());
  REQUIRE(box->set_last_inbound("acme", k_pseudonym, 1000, k_subject, k_peer).ok());

  auto c = raw(cluster);
  const std::string bytes =
      stored_bytes(c,
                   "SELECT record, platform_message_id, error_title, subject_digest, "
                   "idempotency_digest, platform_digest, id, tenant, channel, purpose, state, "
                   "error_code, caller FROM outbox",
                   6) +
      stored_bytes(c, "SELECT conversation_digest, subject_digest, peer, tenant FROM last_inbound",
                   3);
  CHECK(bytes.find("out_1") != std::string::npos);  // ids are not secret
  for (const auto& secret :
       {k_text, k_phone, k_peer, k_subject, std::string("Quokka-2291"), std::string("16505559999"),
        std::string("anon_7K2Q9D4M1X8T6R3B"), std::string("MTY1MDU1NTEyMzQ")}) {
    INFO(secret);
    CHECK(bytes.find(secret) == std::string::npos);
  }
  // And every lookup still finds it.
  CHECK(box->find_by_platform_id("acme", "wa-main", k_wamid)->id == "out_1");
  CHECK(box->find_by_idempotency_key("acme", "helpdesk", k_idempotency_key)->id == "out_1");
  auto got = box->get("acme", "out_1");
  REQUIRE(got);
  CHECK(got->error_title == k_error_title);
  CHECK(got->message == record("out_1").message);
  CHECK(box->peer_of("acme", k_pseudonym).value() == k_peer);
}

TEST_CASE("rows copied from the SQLite outbox as they are open in the PostgreSQL outbox",
          "[outbox][integration][pg]") {
  // What `switchboard migrate` will do: the same master key, the same sealed bytes.
  temp_dir dir{"sb-outbox-copy"};
  {
    auto lite = open_sqlite(dir.path);
    REQUIRE(lite->put(record("out_1", k_idempotency_key)).ok());
    auto sent = change("out_1", outbound_state::sent);
    sent.attempts = 2;
    sent.platform_message_id = k_wamid;
    sent.error_title = k_error_title;
    REQUIRE(lite->update(sent).value());
    REQUIRE(lite->set_last_inbound("acme", k_pseudonym, 1000, k_subject, k_peer).ok());
  }
  test::outbox::raw_db lite(dir.path);
  pg_cluster cluster;
  test::outbox::migrate_pg(cluster);
  auto c = raw(cluster);
  auto bytes_or_null = [](const std::string& v) {
    return v.empty() ? store::pg::param::null_value() : store::pg::param::bytes(v);
  };
  // The SQLite outbox's key check, too: the PostgreSQL outbox then opens with no check of its own.
  const std::string check = lite.scalar("SELECT value FROM meta WHERE name = 'key_check'");
  REQUIRE(c.exec("INSERT INTO outbox_meta (name, value) VALUES ('key_check', $1)",
                 {store::pg::param::bytes(check)}));
  for (const auto& r :
       lite.rows("SELECT id, tenant, channel, purpose, state, attempts, error_code, "
                 "created_at_ms, updated_at_ms, caller, record, platform_message_id, error_title, "
                 "subject_digest, idempotency_digest, platform_digest FROM outbox")) {
    REQUIRE(r.size() == 16);
    auto ins = c.exec(
        "INSERT INTO outbox (id, tenant, channel, purpose, state, attempts, error_code, "
        "created_at_ms, updated_at_ms, caller, record, platform_message_id, error_title, "
        "subject_digest, idempotency_digest, platform_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11, $12, $13, $14, $15, $16)",
        {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], store::pg::param::bytes(r[10]),
         bytes_or_null(r[11]), bytes_or_null(r[12]), bytes_or_null(r[13]), bytes_or_null(r[14]),
         bytes_or_null(r[15])});
    INFO((ins ? std::string() : ins.err().message));
    REQUIRE(ins);
  }
  for (const auto& r : lite.rows("SELECT tenant, conversation_digest, at_ms, subject_digest, peer "
                                 "FROM last_inbound")) {
    REQUIRE(r.size() == 5);
    auto ins = c.exec(
        "INSERT INTO last_inbound (tenant, conversation_digest, at_ms, subject_digest, peer) "
        "VALUES ($1, $2, $3, $4, $5)",
        {r[0], store::pg::param::bytes(r[1]), r[2], bytes_or_null(r[3]), bytes_or_null(r[4])});
    INFO((ins ? std::string() : ins.err().message));
    REQUIRE(ins);
  }

  auto box = open_pg(cluster);
  auto got = box->get("acme", "out_1");
  INFO((got ? std::string() : got.err().message));
  REQUIRE(got);
  const auto want = record("out_1", k_idempotency_key);
  CHECK(got->message == want.message);
  CHECK(got->conversation == want.conversation);
  CHECK(got->recipient == k_phone);
  CHECK(got->subject == k_subject);
  CHECK(got->state == outbound_state::sent);
  CHECK(got->attempts == 2);
  CHECK(got->platform_message_id == k_wamid);
  CHECK(got->error_title == k_error_title);
  CHECK(box->find_by_platform_id("acme", "wa-main", k_wamid)->id == "out_1");
  CHECK(box->find_by_idempotency_key("acme", "helpdesk", k_idempotency_key)->id == "out_1");
  CHECK(box->peer_of("acme", k_pseudonym).value() == k_peer);
  CHECK(box->last_inbound("acme", k_pseudonym).value() == 1000);
  // A replay of the key on PostgreSQL answers the copied message.
  auto replay = box->put(record("out_2", k_idempotency_key));
  REQUIRE(replay);
  CHECK_FALSE(replay->created);
  CHECK(replay->record.id == "out_1");
  CHECK(box->erase_subject("acme", k_subject).value() == 1);
}

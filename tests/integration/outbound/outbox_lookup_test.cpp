// The outbox's lookups for POST /v1/messages (store/outbox.hpp): a message by its Idempotency-Key
// (a replay after a restart is recognised before it is judged again), and the real peer of a
// pseudonymizing tenant's conversation (sealed at rest, bound to its row). Both outboxes, real
// SQLite files in a fresh temporary directory.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "integration/outbound/outbox_support.hpp"
#include "store/outbox.hpp"

using namespace sb;

namespace {

using test::temp_dir;
using test::outbox::both;
using test::outbox::file_bytes;
using test::outbox::k_master_key;
using test::outbox::open_sqlite;

const std::string k_phone = "16505551234";
const std::string k_conversation = "wa-main:anon_7K2Q9D4M1X8T6R3B";

store::outbound_record record(const std::string& id, const std::string& caller,
                              const std::string& key, const std::string& tenant = "acme") {
  store::outbound_record r;
  r.id = id;
  r.tenant = tenant;
  r.channel = "tg";
  r.recipient = "1001";
  r.conversation = "tg:1001";
  r.subject = "sub_1001";
  r.purpose = "support";
  r.message = R"({"id":")" + id + R"(","text":"hello"})";
  r.caller = caller;
  r.idempotency_key = key;
  r.created_at = timestamp::from_millis(1700000000000);
  r.updated_at = r.created_at;
  return r;
}

}  // namespace

TEST_CASE("a message is found by its tenant, caller and idempotency key", "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    REQUIRE(box->put(record("out_1", "helpdesk", "order-42")).ok());
    REQUIRE(box->put(record("out_2", "helpdesk", "")).ok());
    REQUIRE(box->put(record("out_3", "helpdesk", "order-42", "globex")).ok());

    auto found = box->find_by_idempotency_key("acme", "helpdesk", "order-42");
    REQUIRE(found.ok());
    CHECK(found->id == "out_1");
    CHECK(found->message == record("out_1", "helpdesk", "order-42").message);
    CHECK(box->find_by_idempotency_key("globex", "helpdesk", "order-42")->id == "out_3");
    // Another caller's key, an unknown key and no key at all are not found.
    CHECK(box->find_by_idempotency_key("acme", "crm", "order-42").err().code == errc::not_found);
    CHECK(box->find_by_idempotency_key("acme", "helpdesk", "order-43").err().code ==
          errc::not_found);
    CHECK(box->find_by_idempotency_key("acme", "helpdesk", "").err().code == errc::not_found);

    // The key lives as long as its message: retention takes both.
    store::outbound_update sent;
    sent.tenant = "acme";
    sent.id = "out_1";
    sent.state = store::outbound_state::sent;
    sent.updated_at = timestamp::from_millis(1700000001000);
    REQUIRE(box->update(sent).value());
    REQUIRE(box->expire("acme", timestamp::from_millis(1700000002000)).value() == 1);
    CHECK(box->find_by_idempotency_key("acme", "helpdesk", "order-42").err().code ==
          errc::not_found);
  });
}

TEST_CASE("the window table keeps the real peer of a pseudonymous conversation",
          "[outbox][integration]") {
  both([](std::shared_ptr<store::outbox> box) {
    CHECK(box->peer_of("acme", k_conversation).err().code == errc::not_found);
    REQUIRE(box->set_last_inbound("acme", k_conversation, 1000, "sub_a", k_phone).ok());
    CHECK(box->peer_of("acme", k_conversation).value() == k_phone);
    CHECK(box->last_inbound("acme", k_conversation).value() == 1000);
    // Later messages move the window and keep the peer; another tenant knows nothing of it.
    REQUIRE(box->set_last_inbound("acme", k_conversation, 2000, "sub_a").ok());
    CHECK(box->peer_of("acme", k_conversation).value() == k_phone);
    CHECK(box->last_inbound("acme", k_conversation).value() == 2000);
    CHECK(box->peer_of("globex", k_conversation).err().code == errc::not_found);
    // A conversation without a peer (a tenant that does not pseudonymize) has none to give.
    REQUIRE(box->set_last_inbound("acme", "tg:1001", 1000, "sub_b").ok());
    CHECK(box->peer_of("acme", "tg:1001").err().code == errc::not_found);

    // Erasure and retention take the peer with the window row.
    REQUIRE(box->erase_subject("acme", "sub_a").ok());
    CHECK(box->peer_of("acme", k_conversation).err().code == errc::not_found);
    REQUIRE(box->set_last_inbound("acme", k_conversation, 3000, "sub_a", k_phone).ok());
    REQUIRE(box->expire("acme", timestamp::from_millis(2999)).ok());
    CHECK(box->peer_of("acme", k_conversation).value() == k_phone);
    REQUIRE(box->expire("acme", timestamp::from_millis(3001)).ok());
    CHECK(box->peer_of("acme", k_conversation).err().code == errc::not_found);
  });
}

TEST_CASE("the SQLite outbox seals the peer, bound to its conversation, across restarts",
          "[outbox][integration]") {
  temp_dir dir{"sb-lookup"};
  {
    auto box = open_sqlite(dir.path);
    REQUIRE(box->set_last_inbound("acme", k_conversation, 1000, "sub_a", k_phone).ok());
    REQUIRE(box->set_last_inbound("acme", "wa-main:anon_0000000000000000", 1000, "sub_b").ok());
  }
  const std::string bytes =
      file_bytes(dir.path + "/outbox.db") + file_bytes(dir.path + "/outbox.db-wal");
  // Neither the pseudonym nor the number: the conversation is a keyed digest, the peer sealed.
  CHECK(bytes.find("anon_7K2Q9D4M1X8T6R3B") == std::string::npos);
  CHECK(bytes.find(k_phone) == std::string::npos);
  CHECK(open_sqlite(dir.path)->peer_of("acme", k_conversation).value() == k_phone);

  // A sealed peer copied to another conversation's row does not open there.
  {
    test::outbox::raw_db raw(dir.path);
    raw.exec(
        "UPDATE last_inbound SET peer = (SELECT peer FROM last_inbound WHERE peer IS NOT NULL) "
        "WHERE peer IS NULL");
  }
  auto box = open_sqlite(dir.path);
  CHECK(box->peer_of("acme", "wa-main:anon_0000000000000000").err().code == errc::internal);
  CHECK(box->peer_of("acme", k_conversation).value() == k_phone);
}

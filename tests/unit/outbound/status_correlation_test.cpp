// Linking platform receipts to outbound messages (src/outbound/status_correlation.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "outbound/status_correlation.hpp"

using sb::event;
using sb::timestamp;
using sb::outbound::receipt;
using sb::outbound::status_correlator;
using sb::outbound::watermark_of;
using sb::store::outbound_state;

namespace {

constexpr std::int64_t k_t0 = 1'800'000'000'000;

event sent(const std::string& channel_type, const std::string& conversation, const std::string& id,
           std::int64_t at_ms) {
  event e;
  e.type = sb::event_type::outbound_status;
  e.channel = {conversation.substr(0, conversation.find(':')), channel_type, "1"};
  e.conversation = conversation;
  e.occurred_at = timestamp::from_millis(at_ms);
  e.outbound = sb::outbound_info{};
  e.outbound->id = id;
  e.outbound->state = "sent";
  e.outbound->platform_message_id = "mid." + id;
  return e;
}

event whatsapp_status(const std::string& wamid, const std::string& state) {
  event e;
  e.type = sb::event_type::status;
  e.channel = {"wa-main", "whatsapp", "106540352242922"};
  e.conversation = "wa-main:16505551234";
  e.status = sb::status_info{state, wamid, "16505551234", {}, {}};
  e.dedupe_key = "s:" + wamid + ":" + state;
  return e;
}

/// A Messenger `read` (watermark only) or `delivery` (first mid + watermark) receipt.
event messenger_receipt(const std::string& state, std::int64_t watermark,
                        const std::string& first_mid = {}) {
  event e;
  e.type = sb::event_type::status;
  e.channel = {"fb", "messenger", "106540352242923"};
  e.conversation = "fb:psid1";
  e.status = sb::status_info{state, first_mid, "psid1", {}, {}};
  e.dedupe_key = (state == "read" ? "read:psid1:" : "dlv:psid1:") + std::to_string(watermark);
  e.occurred_at = timestamp::from_millis(watermark + 50);
  return e;
}

}  // namespace

TEST_CASE("a WhatsApp status names its message: one receipt by platform id",
          "[outbound][correlation]") {
  status_correlator c;
  auto failed = whatsapp_status("wamid.A", "failed");
  failed.status->error_code = "131047";
  failed.status->error_title = "Re-engagement message";
  auto r = c.on_committed(
      {whatsapp_status("wamid.A", "delivered"), whatsapp_status("wamid.A", "read"), failed});
  REQUIRE(r.size() == 3);
  CHECK(r[0].channel == "wa-main");
  CHECK(r[0].platform_message_id == "wamid.A");
  CHECK(r[0].state == outbound_state::delivered);
  CHECK(r[1].state == outbound_state::read);
  CHECK(r[2].state == outbound_state::failed);
  CHECK(r[2].error_code == "131047");
  CHECK(r[2].error_title == "Re-engagement message");
  CHECK(r[0].ids.empty());
}

TEST_CASE("'sent' receipts and unknown states move nothing", "[outbound][correlation]") {
  status_correlator c;
  CHECK(c.on_committed({whatsapp_status("wamid.A", "sent"), whatsapp_status("wamid.A", "deleted"),
                        whatsapp_status("wamid.A", "warning")})
            .empty());
}

TEST_CASE("a Messenger read watermark covers every message sent up to it",
          "[outbound][correlation]") {
  status_correlator c;
  REQUIRE(c.on_committed({sent("messenger", "fb:psid1", "out_1", k_t0),
                          sent("messenger", "fb:psid1", "out_2", k_t0 + 1000),
                          sent("messenger", "fb:psid1", "out_3", k_t0 + 60000),
                          sent("messenger", "fb:other", "out_9", k_t0)})
              .empty());
  // The platform stamps a message a little before our record of its answer: out_2 is covered.
  auto r = c.on_committed({messenger_receipt("read", k_t0 + 500)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].state == outbound_state::read);
  CHECK(r[0].platform_message_id.empty());
  CHECK(r[0].ids == std::vector<std::string>{"out_1", "out_2"});

  // Read is final: the same watermark again resolves to nothing; a later one takes the rest.
  CHECK(c.on_committed({messenger_receipt("read", k_t0 + 500)}).empty());
  r = c.on_committed({messenger_receipt("read", k_t0 + 60000)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].ids == std::vector<std::string>{"out_3"});
  CHECK(c.conversations() == 1);  // fb:other is untouched
}

TEST_CASE("a Messenger delivery names its first mid and covers the rest by watermark",
          "[outbound][correlation]") {
  status_correlator c;
  c.on_committed({sent("messenger", "fb:psid1", "out_1", k_t0),
                  sent("messenger", "fb:psid1", "out_2", k_t0 + 10)});
  auto r = c.on_committed({messenger_receipt("delivered", k_t0 + 10, "mid.out_1")});
  REQUIRE(r.size() == 2);
  CHECK(r[0].platform_message_id == "mid.out_1");
  CHECK(r[1].ids == std::vector<std::string>{"out_1", "out_2"});
  // Delivered once is enough; read still follows.
  CHECK(c.on_committed({messenger_receipt("delivered", k_t0 + 20)}).empty());
  r = c.on_committed({messenger_receipt("read", k_t0 + 20)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].ids == std::vector<std::string>{"out_1", "out_2"});
}

TEST_CASE("a watermark that overtakes the 'sent' announcement still resolves it",
          "[outbound][correlation]") {
  status_correlator c;
  CHECK(c.on_committed({messenger_receipt("delivered", k_t0 + 100)}).empty());
  CHECK(c.on_committed({messenger_receipt("read", k_t0 + 50)}).empty());
  // Sent before the read watermark: read at once, and not remembered.
  auto r = c.on_committed({sent("messenger", "fb:psid1", "out_1", k_t0)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].state == outbound_state::read);
  CHECK(r[0].ids == std::vector<std::string>{"out_1"});
  CHECK(c.conversations() == 0);
  // Sent after the read but before the delivery watermark: delivered now, read later.
  r = c.on_committed({sent("messenger", "fb:psid1", "out_2", k_t0 + 3000)});
  CHECK(r.empty());
  r = c.on_committed({sent("messenger", "fb:psid1", "out_3", k_t0 + 2100)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].state == outbound_state::delivered);
  CHECK(r[0].ids == std::vector<std::string>{"out_3"});
  r = c.on_committed({messenger_receipt("delivered", k_t0 + 2200)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].ids == std::vector<std::string>{"out_2"});  // out_3 was delivered already
}

TEST_CASE("watermarks come from the adapter's dedupe key, else the receipt's time",
          "[outbound][correlation]") {
  CHECK(watermark_of(messenger_receipt("read", 1458668856253)) == 1458668856253);
  auto instagram_style = messenger_receipt("read", 0, "mid.x");
  instagram_style.dedupe_key = "read:psid1:mid.x";
  CHECK_FALSE(watermark_of(instagram_style));
  auto bare = messenger_receipt("read", 0);
  bare.dedupe_key = "h:abc";
  bare.occurred_at = timestamp::from_millis(k_t0);
  CHECK(watermark_of(bare) == k_t0);
  CHECK_FALSE(watermark_of(whatsapp_status("wamid.A", "read")));
}

TEST_CASE("only Messenger sends are remembered, and only for a bounded time",
          "[outbound][correlation]") {
  status_correlator c;
  c.on_committed(
      {sent("whatsapp", "wa-main:1", "out_w", k_t0), sent("instagram", "ig:1", "out_i", k_t0)});
  CHECK(c.conversations() == 0);

  c.on_committed({sent("messenger", "fb:psid1", "out_old", k_t0)});
  CHECK(c.conversations() == 1);
  const auto later = k_t0 + status_correlator::k_max_age_ms + 1;
  c.on_committed({sent("messenger", "fb:psid2", "out_new", later)});
  CHECK(c.conversations() == 1);  // the week-old send was forgotten
  CHECK(c.on_committed({messenger_receipt("read", later)}).empty());

  // At most k_per_conversation per conversation: the oldest go first.
  status_correlator many;
  for (std::size_t i = 0; i < status_correlator::k_per_conversation + 5; ++i) {
    many.on_committed({sent("messenger", "fb:psid1", "out_" + std::to_string(i), k_t0)});
  }
  auto r = many.on_committed({messenger_receipt("read", k_t0)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].ids.size() == status_correlator::k_per_conversation);
  CHECK(r[0].ids.front() == "out_5");
}

// The conversation's window bookkeeping (src/outbound/conversation_state.hpp): what moves it, which
// time counts, and its restore from the outbox's durable copy.
#include <catch2/catch.hpp>

#include "outbound/conversation_state.hpp"

using sb::event;
using sb::timestamp;
using sb::outbound::conversation_state;
using sb::outbound::opens_window;
using sb::outbound::window_time;

namespace {

event of_type(const char* type) {
  event e;
  e.type = type;
  e.conversation = "wa-main:16505551234";
  return e;
}

}  // namespace

TEST_CASE("only the person's own messages open the window", "[outbound][window]") {
  CHECK(opens_window(of_type(sb::event_type::message)));
  CHECK(opens_window(of_type(sb::event_type::message_edited)));
  CHECK(opens_window(of_type(sb::event_type::postback)));
  CHECK(opens_window(of_type(sb::event_type::reaction)));
  CHECK_FALSE(opens_window(of_type(sb::event_type::status)));
  CHECK_FALSE(opens_window(of_type(sb::event_type::outbound_status)));
  CHECK_FALSE(opens_window(of_type(sb::event_type::system)));
  CHECK_FALSE(opens_window(of_type(sb::event_type::consent_changed)));
  auto echo = of_type(sb::event_type::message);
  echo.content.echo = true;  // the page's own message, echoed by Messenger
  CHECK_FALSE(opens_window(echo));
}

TEST_CASE("the window's time is the platform's, never later than our receipt",
          "[outbound][window]") {
  auto e = of_type(sb::event_type::message);
  e.occurred_at = timestamp::from_seconds(1000);
  e.received_at = timestamp::from_millis(1'000'500);
  CHECK(window_time(e).unix_ms == 1'000'000);
  e.occurred_at = timestamp::from_seconds(5000);  // the sender's clock runs ahead
  CHECK(window_time(e).unix_ms == 1'000'500);
  e.occurred_at = {};
  CHECK(window_time(e).unix_ms == 1'000'500);
}

TEST_CASE("a restore raises the last inbound time, never lowers it", "[outbound][window]") {
  conversation_state c;
  CHECK_FALSE(c.restored());
  c.on_event(true, timestamp::from_millis(5000));
  c.restore(3000);  // the store had an older message: the actor's newer one stands
  CHECK(c.restored());
  CHECK(c.last_inbound_ms() == 5000);
  conversation_state fresh;
  fresh.restore(7000);  // after idle expiry or a restart: the stored time comes back
  CHECK(fresh.last_inbound_ms() == 7000);
  CHECK(fresh.window_open(timestamp::from_millis(7000 + 3600 * 1000)));
  fresh.restore(0);  // nothing stored
  CHECK(fresh.last_inbound_ms() == 7000);
}

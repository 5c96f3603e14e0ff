// The outbound metrics of the catalog (docs/operations.md "Metrics"): registered up front, with
// labels bounded by configuration and fixed state / reason sets (never a recipient or a
// conversation), and every actor kind the supervisors restart.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "core/metrics.hpp"

using namespace sb::metrics;

TEST_CASE("outbound families are registered up front", "[metrics][outbound]") {
  catalog::register_all();
  const std::string out = global().render();
  for (const char* family :
       {"# TYPE switchboard_outbound_messages_total counter\n",
        "# TYPE switchboard_outbound_refusals_total counter\n",
        "# TYPE switchboard_outbound_retries_total counter\n",
        "# TYPE switchboard_outbound_rate_limited_total counter\n",
        "# TYPE switchboard_outbound_queue gauge\n"}) {
    CAPTURE(family);
    CHECK(out.find(family) != std::string::npos);
  }
}

TEST_CASE("outbound message counters take a known state, refusals a policy reason",
          "[metrics][outbound]") {
  auto& sent = catalog::outbound_messages("t-metrics", "wa", "sent");
  CHECK(&sent == &catalog::outbound_messages("t-metrics", "wa", "sent"));
  CHECK(&sent != &catalog::outbound_messages("t-metrics", "wa", "failed"));
  const auto before = sent.value();
  sent.inc();
  CHECK(sent.value() == before + 1);
  CHECK(global().render().find("switchboard_outbound_messages_total{tenant=\"t-metrics\","
                               "channel=\"wa\",state=\"sent\"}") != std::string::npos);
  for (auto state : catalog::k_outbound_states) {
    CHECK_NOTHROW(catalog::outbound_messages("t-metrics", "wa", state));
  }
  CHECK_THROWS_AS(catalog::outbound_messages("t-metrics", "wa", "16505551234"), std::logic_error);

  CHECK_NOTHROW(catalog::outbound_refusals("t-metrics", sb::errc::window_closed));
  CHECK_NOTHROW(catalog::outbound_refusals("t-metrics", sb::errc::opted_out));
  CHECK_THROWS_AS(catalog::outbound_refusals("t-metrics", sb::errc::bad_request),
                  std::logic_error);
}

TEST_CASE("every actor kind a supervisor restarts has its counter", "[metrics]") {
  // tenant.cpp and gateway.cpp count these on a crash; an unknown kind would throw there.
  for (const char* kind : {"store_writer", "tenant", "channel", "conversation", "subscriber",
                           "sender", "outbox_writer", "sweeper"}) {
    CAPTURE(kind);
    CHECK_NOTHROW(catalog::actor_restarts(kind));
  }
  CHECK(global().render().find("switchboard_actor_restarts_total{kind=\"outbox_writer\"}") !=
        std::string::npos);
}

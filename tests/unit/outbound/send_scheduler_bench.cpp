// Throughput of the send engine's bookkeeping (not a pass/fail test: run it by its tag,
// `unit_tests "[.bench][engine_bench]"`, to get the figure docs/outbound.md quotes).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "outbound/send_scheduler.hpp"

TEST_CASE("send scheduler throughput", "[.bench][engine_bench]") {
  using namespace std::chrono_literals;
  constexpr int k_conversations = 20000;
  constexpr int k_per_conversation = 10;
  for (bool limited : {false, true}) {
    sb::outbound::scheduler_options o;
    o.max_queued = k_conversations * k_per_conversation;
    o.max_in_flight = 256;
    if (limited) {
      // WhatsApp's buckets (45 per recipient at once): every message is checked against and
      // takes from two buckets.
      sb::config::channel_config wa;
      wa.name = "wa";
      wa.type = "whatsapp";
      o.limits = sb::outbound::limits_from(sb::adapters::limits_for(wa));
      o.limits.channel.reset();  // so the run is not 2500 s of simulated time
    }
    sb::outbound::send_scheduler s(o);
    std::vector<std::string> ids;
    for (int i = 0; i < k_conversations * k_per_conversation; ++i) {
      ids.push_back("out_" + std::to_string(i));
    }
    auto now = sb::outbound::time_point{} + 1h;
    sb::adapters::send_result ok;
    ok.outcome = sb::adapters::send_outcome::sent;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < k_conversations * k_per_conversation; ++i) {
      sb::outbound::send_item item;
      item.id = ids[i];
      item.recipient = std::to_string(i % k_conversations);
      item.conversation = "wa:" + item.recipient;
      REQUIRE(s.enqueue(std::move(item), now).ok());
    }
    std::size_t done = 0;
    while (s.held() > 0) {
      auto d = s.due(now);
      for (const auto& x : d) {
        s.on_result(x.ticket, ok, now);
        ++done;
      }
      if (d.empty()) {
        auto next = s.next_wakeup(now);
        REQUIRE(next);
        now = *next;
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("send_scheduler (%s): %zu messages over %d conversations in %.3f s = %.0f msg/s\n",
                limited ? "whatsapp buckets" : "no buckets", done, k_conversations, secs,
                static_cast<double>(done) / secs);
    CHECK(done == static_cast<std::size_t>(k_conversations * k_per_conversation));
  }
}

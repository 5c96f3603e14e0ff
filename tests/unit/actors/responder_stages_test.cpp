// The stages of a stored webhook (`switchboard_webhook_stage_seconds`): observed from the moments
// the actors mark on its responder, once every moment is marked, and only then.
#include <catch2/catch.hpp>

#include <chrono>

#include "actors/gateway.hpp"
#include "core/metrics.hpp"

using sb::actors::responder;
using sb::metrics::catalog::webhook_stage;
namespace catalog = sb::metrics::catalog;

namespace {

std::uint64_t count(webhook_stage s) { return catalog::webhook_stage_seconds(s).count(); }
double sum(webhook_stage s) { return catalog::webhook_stage_seconds(s).sum(); }

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("a responder observes each stage between the moments marked on it", "[actors][metrics]") {
  int answers = 0;
  responder r([&](sb::http::response) { ++answers; });
  // Moments 10, 30, 60, 100, 150 and 210 µs apart, ending well before the answer.
  const auto t0 = now_ns() - 10'000'000;
  const std::int64_t at[] = {t0, t0 + 10'000, t0 + 40'000, t0 + 100'000, t0 + 200'000,
                             t0 + 350'000, t0 + 560'000};
  using m = responder::moment;
  const m moments[] = {m::made, m::at_tenant, m::at_channel, m::sent, m::commit_start,
                       m::commit_end, m::replied};
  for (int i = 0; i < 7; ++i) {
    r.mark(moments[i], at[i]);
  }
  const webhook_stage stages[] = {webhook_stage::to_tenant, webhook_stage::to_channel,
                                  webhook_stage::channel,   webhook_stage::to_commit,
                                  webhook_stage::commit,    webhook_stage::to_reply,
                                  webhook_stage::reply};
  std::uint64_t counts[7];
  double sums[7];
  for (int i = 0; i < 7; ++i) {
    counts[i] = count(stages[i]);
    sums[i] = sum(stages[i]);
  }
  r.answer(sb::http::response{});
  r.answer(sb::http::response{});  // answered once, observed once
  CHECK(answers == 1);
  for (int i = 0; i < 6; ++i) {
    INFO("stage " << i);
    CHECK(count(stages[i]) == counts[i] + 1);
    CHECK(sum(stages[i]) - sums[i] == Approx((at[i + 1] - at[i]) * 1e-9).epsilon(1e-6));
  }
  // The last stage ends with the answer, at least 9.44 ms after the last moment (t0 + 0.56 ms).
  CHECK(count(webhook_stage::reply) == counts[6] + 1);
  CHECK(sum(webhook_stage::reply) - sums[6] >= 0.00944);
}

TEST_CASE("a responder whose request never reached a commit observes no stage", "[actors][metrics]") {
  responder r([](sb::http::response) {});
  r.mark(responder::moment::at_tenant);
  r.mark(responder::moment::at_channel);  // e.g. a bad signature answered by the channel
  const auto before = count(webhook_stage::to_tenant);
  r.answer(sb::http::response{});
  CHECK(count(webhook_stage::to_tenant) == before);
}

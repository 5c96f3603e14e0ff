// The send engine on an injected clock: no sleeps, every time below is exact.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "outbound/clock.hpp"
#include "outbound/send_scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using sb::adapters::limit_scope;
using sb::adapters::send_outcome;
using sb::adapters::send_result;
using sb::outbound::dispatch;
using sb::outbound::duration;
using sb::outbound::scheduler_options;
using sb::outbound::send_item;
using sb::outbound::send_scheduler;
using sb::outbound::time_point;
using sb::outbound::verdict;

const time_point t0 = time_point{} + 1000h;  // any fixed origin

send_result answer(send_outcome o, std::int64_t retry_after_ms = 0,
                   limit_scope scope = limit_scope::recipient) {
  send_result r;
  r.outcome = o;
  r.retry_after_ms = retry_after_ms;
  r.scope = scope;
  if (o != send_outcome::sent) {
    r.error_code = o == send_outcome::permanent ? "400" : "500";
  }
  return r;
}

send_item item(std::string id, std::string peer, bool group = false) {
  send_item i;
  i.id = std::move(id);
  i.conversation = "tg:" + peer;
  i.recipient = std::move(peer);
  i.group = group;
  return i;
}

sb::outbound::limits limits_of(const char* type) {
  REQUIRE(sb::adapters::find(type) != nullptr);
  sb::config::channel_config c;  // no overrides: the type's defaults
  c.name = "c";
  c.type = type;
  return sb::outbound::limits_from(sb::adapters::limits_for(c));
}

/// Drives a scheduler as the sender actor does, with a simulated platform that answers each
/// attempt after `latency` with what `platform` says. Records every dispatch and decision.
struct simulation {
  struct sent_at {
    std::string id;
    time_point at;
    std::uint32_t attempt;
  };
  struct pending {
    time_point done;
    dispatch d;
  };

  send_scheduler s;
  time_point now = t0;
  duration latency = 0ms;
  std::function<send_result(const dispatch&)> platform = [](const dispatch&) {
    return answer(send_outcome::sent);
  };
  std::vector<sent_at> dispatched;
  std::vector<sb::outbound::decision> decisions;
  std::vector<pending> in_flight;

  explicit simulation(scheduler_options o) : s(std::move(o)) {}

  void enqueue(send_item i) { REQUIRE(s.enqueue(std::move(i), now).ok()); }

  /// Runs until nothing is left to do or `until` is reached.
  void run(time_point until = t0 + 24h) {
    for (int steps = 0; steps < 1000000; ++steps) {
      for (auto& d : s.due(now)) {
        dispatched.push_back({d.id, now, d.attempt});
        in_flight.push_back({now + latency, d});
      }
      std::optional<time_point> next = s.next_wakeup(now);
      for (const auto& p : in_flight) {
        next = next ? std::min(*next, p.done) : p.done;
      }
      if (!next || *next > until) {
        return;
      }
      REQUIRE(*next >= now);
      now = *next;
      std::stable_sort(in_flight.begin(), in_flight.end(),
                       [](const pending& a, const pending& b) { return a.done < b.done; });
      while (!in_flight.empty() && in_flight.front().done <= now) {
        auto p = in_flight.front();
        in_flight.erase(in_flight.begin());
        auto dec = s.on_result(p.d.ticket, platform(p.d), now);
        REQUIRE(dec);
        decisions.push_back(*dec);
      }
    }
    FAIL("the simulation did not settle");
  }

  std::vector<time_point> times_of(const std::string& prefix) const {
    std::vector<time_point> out;
    for (const auto& d : dispatched) {
      if (d.id.rfind(prefix, 0) == 0) {
        out.push_back(d.at);
      }
    }
    return out;
  }
  std::vector<std::string> order_of(verdict v) const {
    std::vector<std::string> out;
    for (const auto& d : decisions) {
      if (d.what == v) {
        out.push_back(d.id);
      }
    }
    return out;
  }
};

std::string id(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%03d", prefix, i);
  return buf;
}

}  // namespace

TEST_CASE(
    "100 messages to one Telegram chat leave at most one per second while other chats "
    "proceed",
    "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("telegram");
  simulation sim(o);
  sim.latency = 150ms;
  for (int i = 0; i < 100; ++i) {
    sim.enqueue(item(id("a", i), "1001"));
  }
  for (int i = 0; i < 10; ++i) {
    sim.enqueue(item(id("b", i), std::to_string(2000 + i)));  // ten other chats
  }
  for (int i = 0; i < 3; ++i) {
    sim.enqueue(item(id("c", i), "3000"));  // one more chat with a short burst of its own
  }
  sim.run();

  const auto a = sim.times_of("a");
  REQUIRE(a.size() == 100);
  for (std::size_t i = 1; i < a.size(); ++i) {
    CHECK(a[i] - a[i - 1] >= 1s);
  }
  CHECK(a.front() == t0);
  CHECK(a.back() - a.front() < 100s);  // and not slower than the limit needs (plus latency)
  const auto b = sim.times_of("b");
  REQUIRE(b.size() == 10);
  for (auto t : b) {
    CHECK(t < t0 + 1s);  // all within the first second
  }
  const auto c = sim.times_of("c");
  REQUIRE(c.size() == 3);
  CHECK(c[0] == t0);
  CHECK(c[1] == t0 + 1s);  // its own bucket, not behind chat 1001's queue
  CHECK(c[2] == t0 + 2s);
  // Every message went, in order per conversation.
  const auto sent = sim.order_of(verdict::sent);
  REQUIRE(sent.size() == 113);
  std::vector<std::string> only_a;
  std::copy_if(sent.begin(), sent.end(), std::back_inserter(only_a),
               [](const std::string& s) { return s[0] == 'a'; });
  CHECK(std::is_sorted(only_a.begin(), only_a.end()));
}

TEST_CASE("the channel bucket bounds the whole channel: Telegram's 30 per second",
          "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("telegram");
  simulation sim(o);
  for (int i = 0; i < 120; ++i) {
    sim.enqueue(item(id("m", i), std::to_string(5000 + i)));  // 120 chats, one message each
  }
  sim.run();
  auto t = sim.times_of("m");
  REQUIRE(t.size() == 120);
  std::sort(t.begin(), t.end());
  // Burst of 30, then one per 1/30 s: in any window of one second at most 30 + 30.
  CHECK(std::count(t.begin(), t.end(), t0) == 30);
  for (std::size_t i = 0; i + 60 < t.size(); ++i) {
    CHECK(t[i + 60] - t[i] > 1s);
  }
  CHECK(t.back() - t0 <= 3s + 100ms);
}

TEST_CASE("a Telegram group gets at most 20 messages in any minute", "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("telegram");
  simulation sim(o);
  for (int i = 0; i < 50; ++i) {
    sim.enqueue(item(id("g", i), "-1001234567890", true));
  }
  sim.run();
  const auto t = sim.times_of("g");
  REQUIRE(t.size() == 50);
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i > 0) {
      CHECK(t[i] - t[i - 1] >= 1s);  // the chat's own limit holds too
    }
    const auto in_minute = std::count_if(t.begin(), t.end(),
                                         [&](time_point x) { return x >= t[i] && x < t[i] + 60s; });
    CHECK(in_minute <= 20);
  }
  CHECK(t[1] == t0 + 1s);  // a short reply is not held back by the group limit
}

TEST_CASE("WhatsApp lets 45 messages to one recipient go at once, then one per 6 s",
          "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("whatsapp");
  simulation sim(o);
  for (int i = 0; i < 50; ++i) {
    sim.enqueue(item(id("w", i), "16505551234"));
  }
  sim.run();
  const auto t = sim.times_of("w");
  REQUIRE(t.size() == 50);
  for (int i = 0; i < 45; ++i) {
    CHECK(t[i] == t0);
  }
  for (int i = 45; i < 50; ++i) {
    CHECK(t[i] == t0 + 6s * (i - 44));
  }
}

TEST_CASE("a 429's retry_after is honoured exactly and slows only that chat",
          "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("telegram");
  simulation sim(o);
  sim.latency = 100ms;
  bool limited = false;
  sim.platform = [&](const dispatch& d) {
    if (d.id == "a001" && !limited) {
      limited = true;
      return answer(send_outcome::rate_limited, 7000, limit_scope::recipient);
    }
    return answer(send_outcome::sent);
  };
  for (int i = 0; i < 3; ++i) {
    sim.enqueue(item(id("a", i), "1001"));
    sim.enqueue(item(id("b", i), "2002"));
  }
  sim.run();
  const auto a = sim.times_of("a");
  REQUIRE(a.size() == 4);  // a001 twice
  CHECK(a[0] == t0);
  CHECK(a[1] == t0 + 1s);               // a001, answered 429 at t0 + 1.1 s
  CHECK(a[2] == t0 + 1100ms + 7000ms);  // retried exactly when told
  CHECK(a[3] == a[2] + 1s);             // a002 after it: order kept
  const auto b = sim.times_of("b");
  REQUIRE(b.size() == 3);
  CHECK(b[2] == t0 + 2s);  // the other chat never waited
  CHECK(sim.order_of(verdict::sent) ==
        std::vector<std::string>{"a000", "b000", "b001", "b002", "a001", "a002"});
  const auto& retry = sim.decisions[2];
  CHECK(retry.id == "a001");
  CHECK(retry.what == verdict::retry);
  CHECK(retry.rate_limited);
  CHECK(retry.retry_at == t0 + 8100ms);
}

TEST_CASE("a channel-wide rate limit holds every conversation until the time given",
          "[engine][scheduler]") {
  scheduler_options o;  // no buckets at all: only the penalty holds them
  simulation sim(o);
  bool limited = false;
  sim.platform = [&](const dispatch& d) {
    if (!limited) {
      limited = true;
      return answer(send_outcome::rate_limited, 5000, limit_scope::channel);
    }
    return answer(send_outcome::sent);
  };
  sim.enqueue(item("x", "1"));
  sim.run(t0);  // the first attempt, answered at once: a 429 for the whole channel
  sim.enqueue(item("y", "2"));
  sim.enqueue(item("z", "3"));
  sim.run();
  const auto& d = sim.dispatched;
  REQUIRE(d.size() == 4);
  for (std::size_t i = 1; i < d.size(); ++i) {
    CHECK(d[i].at == t0 + 5s);
  }
}

TEST_CASE("5xx answers are retried with exponential backoff, then fail", "[engine][scheduler]") {
  scheduler_options o;
  o.jitter = 0;
  o.max_attempts = 4;
  o.backoff_initial = 1s;
  simulation sim(o);
  sim.platform = [](const dispatch&) { return answer(send_outcome::transient); };
  sim.enqueue(item("m", "1"));
  sim.run();
  const auto t = sim.times_of("m");
  REQUIRE(t.size() == 4);
  CHECK(t[1] - t[0] == 1s);
  CHECK(t[2] - t[1] == 2s);
  CHECK(t[3] - t[2] == 4s);
  REQUIRE(sim.decisions.size() == 4);
  CHECK(sim.decisions.back().what == verdict::failed);
  CHECK(sim.decisions.back().reason == "attempts_exhausted");
  CHECK(sim.decisions.back().attempts == 4);
  CHECK(sim.s.held() == 0);
}

TEST_CASE("a transient answer's Retry-After wins over a shorter backoff", "[engine][scheduler]") {
  scheduler_options o;
  o.jitter = 0;
  simulation sim(o);
  int n = 0;
  sim.platform = [&](const dispatch&) {
    return ++n == 1 ? answer(send_outcome::transient, 30000) : answer(send_outcome::sent);
  };
  sim.enqueue(item("m", "1"));
  sim.run();
  const auto t = sim.times_of("m");
  REQUIRE(t.size() == 2);
  CHECK(t[1] - t[0] == 30s);
}

TEST_CASE("backoff doubles up to its cap and spreads by the jitter", "[engine][scheduler]") {
  scheduler_options o;
  o.backoff_initial = 1s;
  o.backoff_max = 60s;
  o.jitter = 0.2;
  send_scheduler s(o);
  CHECK(s.backoff(1, 0.5) == 1s);
  CHECK(s.backoff(3, 0.5) == 4s);
  CHECK(s.backoff(20, 0.5) == 60s);
  CHECK(s.backoff(1, 0.0) == 800ms);
  CHECK(s.backoff(1, 0.999999) > 1199ms);
}

TEST_CASE("order per conversation holds across retries", "[engine][scheduler]") {
  scheduler_options o;
  o.jitter = 0.5;
  o.seed = 42;
  o.backoff_initial = 100ms;
  simulation sim(o);
  sim.latency = 30ms;
  std::map<std::string, int> tries;
  sim.platform = [&](const dispatch& d) {
    // Every third message fails twice before it goes through.
    const int n = ++tries[d.id];
    const int index = std::stoi(d.id.substr(1));
    return index % 3 == 0 && n <= 2 ? answer(send_outcome::transient) : answer(send_outcome::sent);
  };
  for (int i = 0; i < 30; ++i) {
    sim.enqueue(item(id("p", i), "1"));
    sim.enqueue(item(id("q", i), "2"));
  }
  sim.run();
  std::vector<std::string> p, q;
  for (const auto& id : sim.order_of(verdict::sent)) {
    (id[0] == 'p' ? p : q).push_back(id);
  }
  REQUIRE(p.size() == 30);
  REQUIRE(q.size() == 30);
  CHECK(std::is_sorted(p.begin(), p.end()));
  CHECK(std::is_sorted(q.begin(), q.end()));
  // Never two of one conversation in flight: dispatches of a conversation follow its answers.
  for (std::size_t i = 1; i < sim.dispatched.size(); ++i) {
    const auto& cur = sim.dispatched[i];
    for (std::size_t j = 0; j < i; ++j) {
      const auto& prev = sim.dispatched[j];
      if (prev.id[0] == cur.id[0]) {
        CHECK(cur.at >= prev.at + sim.latency);
      }
    }
  }
}

TEST_CASE("a permanent failure does not block the next message of the conversation",
          "[engine][scheduler]") {
  scheduler_options o;
  simulation sim(o);
  sim.platform = [](const dispatch& d) {
    return d.id == "m1" ? answer(send_outcome::permanent) : answer(send_outcome::sent);
  };
  sim.enqueue(item("m1", "1"));
  sim.enqueue(item("m2", "1"));
  sim.run();
  REQUIRE(sim.decisions.size() == 2);
  CHECK(sim.decisions[0].id == "m1");
  CHECK(sim.decisions[0].what == verdict::failed);
  CHECK(sim.decisions[0].reason.empty());
  CHECK(sim.decisions[0].attempts == 1);
  CHECK(sim.decisions[1].id == "m2");
  CHECK(sim.decisions[1].what == verdict::sent);
  CHECK(sim.dispatched[1].at == t0);  // at once
}

TEST_CASE("rate-limited answers are retried without counting as failures, but not forever",
          "[engine][scheduler]") {
  scheduler_options o;
  o.max_attempts = 2;
  o.max_rate_limited = 5;
  simulation sim(o);
  sim.platform = [](const dispatch&) { return answer(send_outcome::rate_limited, 1000); };
  sim.enqueue(item("m", "1"));
  sim.run();
  REQUIRE(sim.dispatched.size() == 5);  // more than max_attempts
  CHECK(sim.decisions.back().what == verdict::failed);
  CHECK(sim.decisions.back().reason == "rate_limited_exhausted");
}

TEST_CASE("the queue is bounded and ids are unique", "[engine][scheduler]") {
  scheduler_options o;
  o.max_queued = 3;
  send_scheduler s(o);
  CHECK(s.enqueue(item("a", "1"), t0).ok());
  CHECK(s.enqueue(item("b", "1"), t0).ok());
  CHECK(s.enqueue(item("a", "2"), t0).err().code == sb::errc::bad_request);
  CHECK(s.enqueue(item("c", "2"), t0).ok());
  CHECK(s.full());
  CHECK(s.enqueue(item("d", "3"), t0).err().code == sb::errc::overloaded);
  CHECK(s.held() == 3);
}

TEST_CASE("the in-flight bound holds and frees as answers arrive", "[engine][scheduler]") {
  scheduler_options o;
  o.max_in_flight = 2;
  send_scheduler s(o);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(s.enqueue(item(id("m", i), std::to_string(i)), t0).ok());
  }
  auto d = s.due(t0);
  REQUIRE(d.size() == 2);
  CHECK_FALSE(s.next_wakeup(t0));  // nothing until an answer comes
  CHECK(s.due(t0).empty());
  REQUIRE(s.on_result(d[0].ticket, answer(send_outcome::sent), t0));
  CHECK_FALSE(s.on_result(d[0].ticket, answer(send_outcome::sent), t0));  // answered already
  CHECK(s.next_wakeup(t0) == t0);
  CHECK(s.due(t0).size() == 1);
}

TEST_CASE("a requeued attempt is not counted and goes again later", "[engine][scheduler]") {
  scheduler_options o;
  send_scheduler s(o);
  REQUIRE(s.enqueue(item("m", "1"), t0).ok());
  auto d = s.due(t0);
  REQUIRE(d.size() == 1);
  CHECK(d[0].attempt == 1);
  s.requeue(d[0].ticket, t0 + 50ms);
  CHECK(s.due(t0 + 49ms).empty());
  CHECK(s.next_wakeup(t0) == t0 + 50ms);
  auto again = s.due(t0 + 50ms);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 1);
}

TEST_CASE("a resumed message continues its attempt count", "[engine][scheduler]") {
  send_scheduler s(scheduler_options{});
  auto i = item("m", "1");
  i.attempts = 3;
  REQUIRE(s.enqueue(i, t0).ok());
  auto d = s.due(t0);
  REQUIRE(d.size() == 1);
  CHECK(d[0].attempt == 4);
}

TEST_CASE("removing queued messages keeps the rest in order", "[engine][scheduler]") {
  send_scheduler s(scheduler_options{});
  for (const char* m : {"a", "b", "c"}) {
    REQUIRE(s.enqueue(item(m, "1"), t0).ok());
  }
  auto d = s.due(t0);
  REQUIRE(d.size() == 1);
  CHECK_FALSE(s.remove("a"));  // in flight
  CHECK(s.remove("b"));
  CHECK_FALSE(s.remove("b"));
  REQUIRE(s.on_result(d[0].ticket, answer(send_outcome::sent), t0));
  auto next = s.due(t0);
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == "c");
  CHECK(s.remove("zzz") == false);
  REQUIRE(s.enqueue(item("d", "2"), t0).ok());
  CHECK(s.remove("d"));
  CHECK(s.conversations() == 1);
}

TEST_CASE("recipient buckets are bounded in number and dropped once full", "[engine][scheduler]") {
  scheduler_options o;
  o.limits = limits_of("telegram");
  o.limits.channel.reset();
  o.max_buckets = 1500;
  o.max_in_flight = 64;
  simulation sim(o);
  for (int i = 0; i < 5000; ++i) {
    sim.enqueue(item(id("r", i), std::to_string(100000 + i)));
  }
  sim.run(t0);
  REQUIRE(sim.dispatched.size() == 5000);
  // Swept at the start of each `due`, which adds at most `max_in_flight` buckets.
  CHECK(sim.s.buckets() <= 1500 + 64);
  sim.now = t0 + 1h;
  sim.enqueue(item("late", "1"));
  sim.run();
  CHECK(sim.s.buckets() <= 64);  // every full bucket is gone
}

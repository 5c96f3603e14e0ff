// The privacy workers (actors/privacy_jobs.hpp): every privacy job of every tenant runs on
// `limits.privacy_workers` threads with at most `limits.privacy_queue` jobs waiting; past it a
// call is answered 503 with Retry-After, nothing is started for it, and the jobs already queued
// still run. Real actors and a real in-memory store, whose export is held at a gate so that the
// one worker is busy for as long as the test needs (no sleeps).
#include <catch2/catch.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

#include "integration/delivery/push_support.hpp"
#include "integration/privacy/privacy_store_doubles.hpp"
#include "store/privacy_store.hpp"
#include "store/stores.hpp"

using namespace sb;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

/// The in-memory privacy store, whose `subject_events` (an export) waits at a gate until it is
/// opened.
class gated_privacy_store final : public test::forwarding_privacy_store {
 public:
  explicit gated_privacy_store(std::shared_ptr<store::privacy_store> inner)
      : forwarding_privacy_store(std::move(inner)) {}

  /// Waits (up to 10 s) until `n` exports have reached the gate.
  bool wait_entered(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return entered_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

  result<std::vector<store::stored_event>> subject_events(const std::string& tenant,
                                                          const std::string& subject,
                                                          std::size_t limit) override {
    {
      std::unique_lock lock(mutex_);
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    }
    return inner_->subject_events(tenant, subject, limit);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

/// Sends a privacy API call of tenant acme; the answer arrives in the future.
std::future<actors::http_response> send_call(harness& h, std::string op, std::string subject,
                                             std::string body = {}) {
  auto p = std::make_shared<std::promise<actors::http_response>>();
  auto c = test::make_api_call(
      "acme", std::move(op), "ops",
      static_cast<unsigned>(config::scope::privacy) | static_cast<unsigned>(config::scope::admin),
      {std::move(subject)}, std::move(body));
  c.reply = test::promised(p);
  h.gw->call(std::move(c));
  return p->get_future();
}

}  // namespace

TEST_CASE(
    "privacy jobs past limits.privacy_queue are answered 503 with Retry-After, and the "
    "queued ones still run",
    "[integration][privacy][jobs]") {
  auto cfg = make_config({});
  cfg->limits.privacy_workers = 1;
  cfg->limits.privacy_queue = 2;
  auto stores = store::make_memory_stores();
  auto gated = std::make_shared<gated_privacy_store>(stores.privacy);
  stores.privacy = gated;
  harness h(cfg, fast_settings({0ms}), stores);
  REQUIRE(h.post("alice:a1:hello").status == 200);
  const auto alice = subject_of(*cfg, "alice");

  // The one worker runs the first export and is held at the gate.
  auto running = send_call(h, "subject.export", alice);
  REQUIRE(gated->wait_entered(1));
  // Two more wait for it: the queue is full.
  auto queued_1 = send_call(h, "subject.export", alice);
  auto queued_2 = send_call(h, "subject.erase", alice);
  // Any privacy job beyond it is refused at once, whatever its kind; nothing runs for it.
  for (const char* op : {"subject.export", "subject.erase", "subject.consent", "audit.list"}) {
    CAPTURE(op);
    auto refused = send_call(h, op, alice, R"({"purpose":"marketing","granted":true})");
    auto r = test::await_answer(refused);
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(r.code == errc::overloaded);
    CHECK(test::header_of(r, "Retry-After") == "1");
    CHECK(r.body.find("too many privacy requests") != std::string::npos);
  }
  CHECK(running.wait_for(0ms) != std::future_status::ready);

  // Once the worker is free, the queued jobs run in order: the export, then the erasure.
  gated->open();
  auto first = test::await_answer(running);
  CHECK(first.status == 200);
  CHECK(first.body.find("hello") != std::string::npos);
  auto second = test::await_answer(queued_1);
  CHECK(second.status == 200);
  CHECK(second.body.find("hello") != std::string::npos);
  auto erased = test::await_answer(queued_2);
  INFO(erased.body);
  CHECK(erased.status == 200);
  CHECK(erased.body.find(R"("events":1)") != std::string::npos);
  // The refused erasure did nothing: one erase in the audit log.
  auto audit = send_call(h, "audit.list", "");
  auto a = test::await_answer(audit);
  REQUIRE(a.status == 200);
  std::size_t erasures = 0;
  for (auto at = a.body.find(R"("action":"erase")"); at != std::string::npos;
       at = a.body.find(R"("action":"erase")", at + 1)) {
    ++erasures;
  }
  CHECK(erasures == 1);
  // And the queue takes jobs again.
  auto later = send_call(h, "subject.export", alice);
  CHECK(test::await_answer(later).status == 200);
}

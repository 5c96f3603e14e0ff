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

#include "actors/channel_logic.hpp"
#include "core/ids.hpp"
#include "integration/delivery/push_support.hpp"
#include "store/privacy_store.hpp"

using namespace sb;
using namespace sb::test::push;
using namespace std::chrono_literals;

namespace {

/// The in-memory log, whose `subject_events` (an export) waits at a gate until it is opened.
class gated_log final : public store::event_log, public store::privacy_store {
 public:
  gated_log() : inner_(store::make_memory_log()), ps_(store::privacy_store_of(inner_)) {}

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

  // -- event_log
  status append(std::vector<store::append_request>& requests,
                std::vector<std::vector<store::append_outcome>>& outcomes) override {
    return inner_->append(requests, outcomes);
  }
  result<store::read_result> read(const std::string& tenant, std::uint64_t after, std::size_t limit,
                                  const std::vector<std::string>& types,
                                  std::uint64_t upto) override {
    return inner_->read(tenant, after, limit, types, upto);
  }
  std::uint64_t head(const std::string& tenant) override { return inner_->head(tenant); }
  result<std::uint64_t> quarantine(store::quarantined_body body,
                                   std::uint64_t quota_bytes) override {
    return inner_->quarantine(std::move(body), quota_bytes);
  }
  std::vector<store::quarantined_body> quarantined(const std::string& tenant) override {
    return inner_->quarantined(tenant);
  }
  result<std::vector<store::quarantine_entry>> quarantine_list(const std::string& tenant,
                                                               const std::string& channel,
                                                               std::uint64_t after_id,
                                                               std::size_t limit) override {
    return inner_->quarantine_list(tenant, channel, after_id, limit);
  }
  result<store::quarantined_body> quarantined_one(const std::string& tenant,
                                                  std::uint64_t id) override {
    return inner_->quarantined_one(tenant, id);
  }
  result<store::quarantine_entry> drop_quarantined(const std::string& tenant,
                                                   std::uint64_t id) override {
    return inner_->drop_quarantined(tenant, id);
  }
  result<store::quarantine_purge> drop_quarantine_of(const std::string& tenant,
                                                     const std::string& channel) override {
    return inner_->drop_quarantine_of(tenant, channel);
  }
  result<std::uint64_t> quarantine_used(const std::string& tenant,
                                        const std::string& channel) override {
    return inner_->quarantine_used(tenant, channel);
  }

  // -- privacy_store
  result<std::vector<store::stored_event>> subject_events(const std::string& tenant,
                                                          const std::string& subject,
                                                          std::size_t limit) override {
    {
      std::unique_lock lock(mutex_);
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    }
    return ps_->subject_events(tenant, subject, limit);
  }
  status put_consent(const store::consent_record& r) override { return ps_->put_consent(r); }
  std::vector<store::consent_record> consents(const std::string& tenant) override {
    return ps_->consents(tenant);
  }
  result<store::erase_outcome> erase_subject(const std::string& tenant,
                                             const std::string& subject) override {
    return ps_->erase_subject(tenant, subject);
  }
  result<store::erase_outcome> erase_channel(const std::string& tenant,
                                             const std::string& channel) override {
    return ps_->erase_channel(tenant, channel);
  }
  result<store::sweep_outcome> expire(const std::string& tenant, timestamp cutoff) override {
    return ps_->expire(tenant, cutoff);
  }
  result<std::uint64_t> audit(store::audit_entry e) override { return ps_->audit(std::move(e)); }
  std::vector<store::audit_entry> audit_log(const std::string& tenant, std::uint64_t after_id,
                                            std::size_t limit) override {
    return ps_->audit_log(tenant, after_id, limit);
  }
  status put_deletion_request(const store::deletion_request& r) override {
    return ps_->put_deletion_request(r);
  }
  result<store::deletion_request> find_deletion_request(const std::string& code) override {
    return ps_->find_deletion_request(code);
  }
  result<store::privacy_request_claim> claim_privacy_request(const std::string& tenant,
                                                             const std::string& channel,
                                                             const std::string& kind,
                                                             std::string_view request) override {
    return ps_->claim_privacy_request(tenant, channel, kind, request);
  }
  status finish_privacy_request(const store::privacy_request_claim& claim,
                                const store::privacy_request& r) override {
    return ps_->finish_privacy_request(claim, r);
  }
  void abandon_privacy_request(const store::privacy_request_claim& claim) override {
    ps_->abandon_privacy_request(claim);
  }

 private:
  std::shared_ptr<store::event_log> inner_;
  std::shared_ptr<store::privacy_store> ps_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

std::string subject_of(const config::config& cfg, const std::string& peer) {
  return ids::subject_id(actors::derive_subject_key(cfg.storage.master_key, "acme"), "test", "acct",
                         peer);
}

/// Sends a privacy API call of tenant acme; the answer arrives in the future.
std::future<actors::http_response> send_call(harness& h, std::string op, std::string subject,
                                             std::string body = {}) {
  auto p = std::make_shared<std::promise<actors::http_response>>();
  auto f = p->get_future();
  actors::api_call c;
  c.op = std::move(op);
  c.tenant = "acme";
  c.caller = "ops";
  c.scopes =
      static_cast<unsigned>(config::scope::privacy) | static_cast<unsigned>(config::scope::admin);
  c.params = {std::move(subject)};
  c.body = std::move(body);
  c.reply = std::make_shared<actors::responder>(
      [p](actors::http_response r) { p->set_value(std::move(r)); });
  h.gw->call(std::move(c));
  return f;
}

actors::http_response answer_of(std::future<actors::http_response>& f) {
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

std::string header_of(const actors::http_response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) {
      return v;
    }
  }
  return {};
}

}  // namespace

TEST_CASE(
    "privacy jobs past limits.privacy_queue are answered 503 with Retry-After, and the "
    "queued ones still run",
    "[integration][privacy][jobs]") {
  auto cfg = make_config({});
  cfg->limits.privacy_workers = 1;
  cfg->limits.privacy_queue = 2;
  auto log = std::make_shared<gated_log>();
  harness h(cfg, fast_settings({0ms}), log);
  REQUIRE(h.post("alice:a1:hello").status == 200);
  const auto alice = subject_of(*cfg, "alice");

  // The one worker runs the first export and is held at the gate.
  auto running = send_call(h, "subject.export", alice);
  REQUIRE(log->wait_entered(1));
  // Two more wait for it: the queue is full.
  auto queued_1 = send_call(h, "subject.export", alice);
  auto queued_2 = send_call(h, "subject.erase", alice);
  // Any privacy job beyond it is refused at once, whatever its kind; nothing runs for it.
  for (const char* op : {"subject.export", "subject.erase", "subject.consent", "audit.list"}) {
    CAPTURE(op);
    auto refused = send_call(h, op, alice, R"({"purpose":"marketing","granted":true})");
    auto r = answer_of(refused);
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(r.code == errc::overloaded);
    CHECK(header_of(r, "Retry-After") == "1");
    CHECK(r.body.find("too many privacy requests") != std::string::npos);
  }
  CHECK(running.wait_for(0ms) != std::future_status::ready);

  // Once the worker is free, the queued jobs run in order: the export, then the erasure.
  log->open();
  auto first = answer_of(running);
  CHECK(first.status == 200);
  CHECK(first.body.find("hello") != std::string::npos);
  auto second = answer_of(queued_1);
  CHECK(second.status == 200);
  CHECK(second.body.find("hello") != std::string::npos);
  auto erased = answer_of(queued_2);
  INFO(erased.body);
  CHECK(erased.status == 200);
  CHECK(erased.body.find(R"("events":1)") != std::string::npos);
  // The refused erasure did nothing: one erase in the audit log.
  auto audit = send_call(h, "audit.list", "");
  auto a = answer_of(audit);
  REQUIRE(a.status == 200);
  std::size_t erasures = 0;
  for (auto at = a.body.find(R"("action":"erase")"); at != std::string::npos;
       at = a.body.find(R"("action":"erase")", at + 1)) {
    ++erasures;
  }
  CHECK(erasures == 1);
  // And the queue takes jobs again.
  auto later = send_call(h, "subject.export", alice);
  CHECK(answer_of(later).status == 200);
}

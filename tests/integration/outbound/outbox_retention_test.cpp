// Retention of outbound messages (DESIGN §7, docs/outbound.md "Erasure and retention"): the
// sweeper actor expires each tenant's finished outbound messages and window rows by the tenant's
// own retention_days, against the real SQLite outbox, with an injected clock instead of waiting
// days; what it deleted is counted in the sweep's audit entry.
#include <catch2/catch.hpp>

#include <string>

#include "actors/sweeper.hpp"
#include "integration/privacy/privacy_store_doubles.hpp"
#include "integration/privacy/retention_support.hpp"
#include "store/outbox.hpp"
#include "store/privacy_store.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

using test::retention::k_day_ms;
using test::retention::make_config;

store::outbound_record record(const std::string& id, const std::string& tenant,
                              store::outbound_state state) {
  store::outbound_record r;
  r.id = id;
  r.tenant = tenant;
  r.channel = "chat";
  r.recipient = "1001";
  r.conversation = "chat:1001";
  r.subject = "sub_1001";
  r.purpose = "support";
  r.message = R"({"text":"hello"})";
  r.state = state;
  r.caller = "backend";
  r.idempotency_key = id + "-key";
  r.created_at = sb::now();
  r.updated_at = r.created_at;
  return r;
}

/// The retention gateway with a real SQLite outbox.
struct harness : test::retention::gateway {
  harness() : gateway("sb-ob-retention", true) {}

  bool has(const std::string& tenant, const std::string& id) {
    return outbox->get(tenant, id).ok();
  }
};

}  // namespace

TEST_CASE("the sweeper expires finished outbound messages and window rows by each tenant's "
          "retention",
          "[integration][outbound][retention]") {
  harness h;
  using s = store::outbound_state;
  for (auto [id, state] : {std::pair<const char*, s>{"out_sent", s::sent}, {"out_read", s::read},
                           {"out_failed", s::failed}, {"out_queued", s::queued},
                           {"out_sending", s::sending}}) {
    REQUIRE(h.outbox->put(record(id, "acme", state)).ok());
  }
  REQUIRE(h.outbox->put(record("out_globex", "globex", s::sent)).ok());
  const std::int64_t wrote = sb::now().unix_ms;
  REQUIRE(h.outbox->set_last_inbound("acme", "chat:1001", wrote, "sub_1001", "1001").ok());
  REQUIRE(h.outbox->set_last_inbound("globex", "chat:1001", wrote, "sub_1001").ok());
  auto ps = h.stores.privacy;
  REQUIRE(ps);

  // Today nothing is old enough.
  auto today = h.sweep();
  CHECK(today.outbound == 0);
  CHECK(today.failures == 0);
  CHECK(h.has("acme", "out_sent"));
  CHECK(ps->audit_log("acme", 0, 10).empty());

  // 31 days on: acme's finished messages go, with its window row (and the peer in it); what is
  // still to be sent stays whatever its age; globex keeps 90 days.
  h.offset_ms->store(31 * k_day_ms);
  auto later = h.sweep();
  CHECK(later.outbound == 3);
  CHECK(later.failures == 0);
  for (const char* gone : {"out_sent", "out_read", "out_failed"}) {
    CAPTURE(gone);
    CHECK_FALSE(h.has("acme", gone));
  }
  CHECK(h.has("acme", "out_queued"));
  CHECK(h.has("acme", "out_sending"));
  CHECK(h.outbox->find_by_idempotency_key("acme", "backend", "out_sent-key").err().code ==
        errc::not_found);
  CHECK(h.outbox->last_inbound("acme", "chat:1001").value() == 0);
  CHECK(h.outbox->peer_of("acme", "chat:1001").err().code == errc::not_found);
  CHECK(h.has("globex", "out_globex"));
  CHECK(h.outbox->last_inbound("globex", "chat:1001").value() == wrote);
  auto entries = ps->audit_log("acme", 0, 10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].actor == "system:retention");
  CHECK(entries[0].outcome == "ok");
  CHECK(entries[0].detail.find("outbound=3") != std::string::npos);
  CHECK(ps->audit_log("globex", 0, 10).empty());

  // 91 days on: globex's message goes too; a second sweep finds nothing more.
  h.offset_ms->store(91 * k_day_ms);
  CHECK(h.sweep().outbound == 1);
  CHECK_FALSE(h.has("globex", "out_globex"));
  CHECK(h.outbox->last_inbound("globex", "chat:1001").value() == 0);
  CHECK(h.sweep().outbound == 0);
  CHECK(h.has("acme", "out_queued"));
}

TEST_CASE("a failing outbox expiry is reported and audited beside the event log's",
          "[integration][outbound][retention]") {
  // The event log expires fine; the outbox fails for acme only.
  test::quiet_privacy_store events;
  class failing_outbox final : public store::outbox {
   public:
    status apply(std::vector<store::outbox_write>&) override { return {}; }
    result<store::outbound_record> get(const std::string&, const std::string&) override {
      return error{errc::not_found, "none"};
    }
    result<std::vector<store::outbound_record>> unfinished(const std::string&, const std::string&,
                                                           std::size_t,
                                                           const std::string&) override {
      return std::vector<store::outbound_record>{};
    }
    result<store::outbound_record> find_by_platform_id(const std::string&, const std::string&,
                                                       const std::string&) override {
      return error{errc::not_found, "none"};
    }
    result<std::uint64_t> erase_subject(const std::string&, const std::string&) override {
      return std::uint64_t{0};
    }
    result<std::uint64_t> expire(const std::string& tenant, timestamp) override {
      if (tenant == "acme") {
        return error{errc::unavailable, "database is locked"};
      }
      return std::uint64_t{4};
    }
    result<std::optional<std::uint64_t>> window_head(const std::string&) override {
      return std::optional<std::uint64_t>{};
    }
    result<std::int64_t> last_inbound(const std::string&, const std::string&) override {
      return std::int64_t{0};
    }
    result<store::outbound_record> find_by_idempotency_key(const std::string&, const std::string&,
                                                           const std::string&) override {
      return error{errc::not_found, "none"};
    }
    result<std::string> peer_of(const std::string&, const std::string&) override {
      return error{errc::not_found, "none"};
    }
  } box;
  auto cfg = make_config();
  auto report =
      actors::sweep_retention(*cfg, events, timestamp::from_millis(400 * k_day_ms), &box);
  CHECK(report.failures == 1);
  CHECK(report.tenants_swept == 1);
  CHECK(report.outbound == 4);
  REQUIRE(events.entries.size() == 2);
  CHECK(events.entries[0].tenant == "acme");
  CHECK(events.entries[0].outcome == "error");
  CHECK(events.entries[0].detail == "outbox: database is locked");
  CHECK(events.entries[1].tenant == "globex");
  CHECK(events.entries[1].detail.find("outbound=4") != std::string::npos);
}

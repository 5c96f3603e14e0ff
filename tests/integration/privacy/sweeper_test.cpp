// Retention (DESIGN §7): the sweeper actor expires each tenant's events by its own
// retention_days, against the real SQLite store, with an injected clock instead of waiting
// days; each sweep that deleted something is audited as system:retention.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>

#include "actors/gateway_impl.hpp"
#include "actors/sweeper.hpp"
#include "integration/delivery/push_support.hpp"
#include "store/privacy_store.hpp"
#include "store/sqlite_log.hpp"

using namespace sb;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t k_day_ms = 24LL * 3600 * 1000;

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/sb-sweeper-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// Tenants "acme" (retention 30 days) and "globex" (90 days), one test channel each.
std::shared_ptr<config::config> make_config() {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x07');
  for (auto [id, days] : {std::pair<const char*, int>{"acme", 30}, {"globex", 90}}) {
    config::tenant_config t;
    t.id = id;
    t.privacy.retention_days = days;
    config::channel_config ch;
    ch.name = "chat";
    ch.type = "test";
    t.channels.push_back(ch);
    cfg->tenants.push_back(t);
  }
  return cfg;
}

/// The gateway on a real SQLite store, with a clock the test moves and no periodic sweep.
struct harness {
  temp_dir dir;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<std::atomic<std::int64_t>> offset_ms =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::unique_ptr<actors::gateway_with_actors> gw;

  harness() {
    auto cfg = make_config();
    auto l = store::make_sqlite_log(dir.path.string(), config::durability::none,
                                    cfg->storage.master_key);
    INFO((l ? std::string() : l.err().message));
    REQUIRE(l.ok());
    log = l.value();
    actors::gateway_options opts;
    opts.cfg = cfg;
    opts.log = log;
    opts.store_blocks = true;
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &test::push::multi_info() : nullptr;
    };
    opts.clock = [offset = offset_ms] {
      return timestamp::from_millis(sb::now().unix_ms + offset->load());
    };
    opts.retention_sweep_interval = 0ms;
    gw = actors::start_gateway(std::move(opts));
  }
  ~harness() { gw->shutdown(); }

  void post(const std::string& tenant, const std::string& body) {
    auto p = std::make_shared<std::promise<actors::http_response>>();
    auto f = p->get_future();
    actors::webhook_submission w;
    w.tenant = tenant;
    w.channel = "chat";
    w.method = "POST";
    w.body = body;
    w.body.reserve(body.size() + 64);
    w.reply = std::make_shared<actors::responder>(
        [p](actors::http_response r) { p->set_value(std::move(r)); });
    gw->submit(std::move(w));
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    REQUIRE(f.get().status == 200);
  }

  actors::sweep_report sweep() {
    caf::scoped_actor self{gw->system()};
    caf::actor sweeper;
    self->request(gw->root_actor(), 5s, actors::lookup_atom::value, std::string("sweeper"))
        .receive([&](caf::actor a) { sweeper = a; }, [&](caf::error&) {});
    REQUIRE(sweeper);
    actors::sweep_report out;
    bool answered = false;
    self->request(sweeper, 10s, actors::sweep_atom::value)
        .receive(
            [&](actors::sweep_report r) {
              out = r;
              answered = true;
            },
            [&](caf::error&) {});
    REQUIRE(answered);
    return out;
  }

  std::size_t stored(const std::string& tenant) {
    auto r = log->read(tenant, 0, 1000, {});
    REQUIRE(r.ok());
    return r->events.size();
  }
};

}  // namespace

TEST_CASE("the sweeper expires each tenant's events by its own retention, and audits it",
          "[integration][privacy][retention]") {
  harness h;
  h.post("acme", "p1:m1:old news|p2:m2:more old news");
  h.post("globex", "p3:m3:kept for 90 days");
  auto ps = store::privacy_store_of(h.log);
  REQUIRE(ps);

  // Today nothing is old enough: nothing deleted, no audit row.
  auto today = h.sweep();
  CHECK(today.events == 0);
  CHECK(today.tenants_swept == 2);
  CHECK(h.stored("acme") == 2);
  CHECK(ps->audit_log("acme", 0, 10).empty());

  // 31 days on: acme's 30-day retention has passed, globex's 90 days have not.
  h.offset_ms->store(31 * k_day_ms);
  auto later = h.sweep();
  CHECK(later.events == 2);
  CHECK(later.failures == 0);
  CHECK(h.stored("acme") == 0);
  CHECK(h.stored("globex") == 1);
  auto entries = ps->audit_log("acme", 0, 10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].actor == "system:retention");
  CHECK(entries[0].action == "retention");
  CHECK(entries[0].outcome == "ok");
  CHECK(entries[0].subject.empty());
  CHECK(entries[0].detail.find("events=2") == 0);
  CHECK(entries[0].detail.find("old news") == std::string::npos);
  CHECK(ps->audit_log("globex", 0, 10).empty());

  // Expired dedupe keys go too: the platform's retry of an expired message is stored anew.
  h.post("acme", "p1:m1:old news");
  CHECK(h.stored("acme") == 1);

  // 91 days on: globex's event goes as well; a second sweep finds nothing more.
  h.offset_ms->store(91 * k_day_ms + 31 * k_day_ms);
  CHECK(h.sweep().events == 2);
  CHECK(h.stored("globex") == 0);
  CHECK(h.sweep().events == 0);
  CHECK(ps->audit_log("globex", 0, 10).size() == 1);
}

TEST_CASE("a sweep of a store that fails is reported and audited, not fatal",
          "[integration][privacy][retention]") {
  // A store whose expiry fails: the sweep goes on with the next tenant and audits the failure.
  class failing final : public store::privacy_store {
   public:
    status put_consent(const store::consent_record&) override { return {}; }
    std::vector<store::consent_record> consents(const std::string&) override { return {}; }
    result<std::vector<store::stored_event>> subject_events(const std::string&, const std::string&,
                                                            std::size_t) override {
      return std::vector<store::stored_event>{};
    }
    result<store::erase_outcome> erase_subject(const std::string&, const std::string&) override {
      return store::erase_outcome{};
    }
    result<store::erase_outcome> erase_channel(const std::string&, const std::string&) override {
      return store::erase_outcome{};
    }
    result<store::sweep_outcome> expire(const std::string& tenant, timestamp) override {
      if (tenant == "acme") {
        return error{errc::unavailable, "disk full"};
      }
      store::sweep_outcome o;
      o.events = 3;
      return o;
    }
    result<std::uint64_t> audit(store::audit_entry e) override {
      entries.push_back(std::move(e));
      return entries.size();
    }
    std::vector<store::audit_entry> audit_log(const std::string&, std::uint64_t,
                                              std::size_t) override {
      return entries;
    }
    status put_deletion_request(const store::deletion_request&) override { return {}; }
    result<store::deletion_request> find_deletion_request(const std::string&) override {
      return error{errc::not_found, "none"};
    }
    std::vector<store::audit_entry> entries;
  } store;
  auto cfg = make_config();
  auto report = actors::sweep_retention(*cfg, store, timestamp::from_millis(400 * k_day_ms));
  CHECK(report.failures == 1);
  CHECK(report.tenants_swept == 1);
  CHECK(report.events == 3);
  REQUIRE(store.entries.size() == 2);
  CHECK(store.entries[0].tenant == "acme");
  CHECK(store.entries[0].outcome == "error");
  CHECK(store.entries[0].detail == "disk full");
  CHECK(store.entries[1].tenant == "globex");
  CHECK(store.entries[1].outcome == "ok");
  // The cutoff is the clock minus the tenant's own retention.
  CHECK(store.entries[1].detail.find(
            "cutoff=" + to_rfc3339(timestamp::from_millis(310 * k_day_ms))) != std::string::npos);
}

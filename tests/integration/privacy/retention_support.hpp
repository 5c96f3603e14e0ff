#pragma once

// The gateway of the retention tests (privacy/sweeper_test.cpp, outbound/outbox_retention_test.cpp):
// two tenants with different retention_days on real SQLite files, a clock the test moves instead
// of waiting days, no periodic sweep, and a call that runs one sweep now.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "actors/gateway_impl.hpp"
#include "actors/sweeper.hpp"
#include "integration/delivery/push_support.hpp"
#include "store/outbox.hpp"
#include "store/sqlite_log.hpp"
#include "store/stores.hpp"
#include "support/temp_dir.hpp"

namespace sb::test::retention {

constexpr std::int64_t k_day_ms = 24LL * 3600 * 1000;

/// Tenants "acme" (retention 30 days) and "globex" (90 days), one test channel each.
inline std::shared_ptr<config::config> make_config() {
  auto cfg = std::make_shared<config::config>();
  cfg->source = "<test>";
  cfg->storage.master_key = std::string(32, '\x07');
  cfg->storage.root_key = cfg->storage.master_key;
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

/// The gateway on a real SQLite event log (and, `with_outbox`, a real SQLite outbox) in a fresh
/// directory named after `dir_prefix`. `offset_ms` moves the gateway's clock.
struct gateway {
  temp_dir dir;
  store::stores stores;
  std::shared_ptr<store::event_log> log;
  std::shared_ptr<store::outbox> outbox;  ///< null unless `with_outbox`
  std::shared_ptr<std::atomic<std::int64_t>> offset_ms =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::unique_ptr<actors::gateway_with_actors> gw;

  gateway(const std::string& dir_prefix, bool with_outbox) : dir(dir_prefix) {
    auto cfg = make_config();
    auto s = store::make_sqlite_stores(dir.path, config::durability::none, cfg->storage.master_key);
    INFO((s ? std::string() : s.err().message));
    REQUIRE(s.ok());
    stores = s.value();
    log = stores.log;
    actors::gateway_options opts;
    if (with_outbox) {
      auto box =
          store::make_sqlite_outbox(dir.path, config::durability::none, cfg->storage.root_key);
      REQUIRE(box.ok());
      outbox = box.value();
      opts.outbox = outbox;
      opts.outbox_blocks = true;
    }
    opts.cfg = cfg;
    opts.stores = stores;
    opts.store_blocks = true;
    opts.adapters = [](std::string_view type) -> const adapters::adapter_info* {
      return type == "test" ? &push::multi_info() : nullptr;
    };
    opts.clock = [offset = offset_ms] {
      return timestamp::from_millis(sb::now().unix_ms + offset->load());
    };
    opts.retention_sweep_interval = std::chrono::milliseconds{0};
    gw = actors::start_gateway(std::move(opts));
  }
  ~gateway() { gw->shutdown(); }

  /// Runs one sweep of every tenant now and returns its report.
  actors::sweep_report sweep() {
    caf::scoped_actor self{gw->system()};
    actors::sweeper_actor sweeper;
    self->request(gw->root_actor(), std::chrono::seconds{5}, actors::find_sweep_atom::value)
        .receive([&](actors::sweeper_actor a) { sweeper = a; }, [&](caf::error&) {});
    REQUIRE(sweeper);
    actors::sweep_report out;
    bool answered = false;
    self->request(sweeper, std::chrono::seconds{10}, actors::sweep_atom::value)
        .receive(
            [&](actors::sweep_report r) {
              out = r;
              answered = true;
            },
            [&](caf::error&) {});
    REQUIRE(answered);
    return out;
  }
};

}  // namespace sb::test::retention
